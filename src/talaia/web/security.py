"""Passwords, session cookies, CSRF tokens, API tokens and the login rate limiter.

- Passwords are hashed with Argon2id (argon2-cffi defaults, RFC 9106 parameters).
- A session is a cookie signed with the deployment secret (itsdangerous, HMAC-SHA1 over a
  timestamped payload) holding the user id, a random session id and the issue time; it is refused
  once older than ``session_max_age_s``. The cookie is ``HttpOnly``, ``SameSite=Lax`` and
  ``Secure`` unless the settings allow plain HTTP.
- CSRF: the token is an HMAC of a random per-browser value kept in its own signed cookie
  (``talaia_csrf``) and of the session id of the logged-in user (empty for the public); every
  unsafe request must send the same token in the form field ``csrf_token`` or the
  ``X-CSRF-Token`` header (signed double-submit cookie bound to the session, OWASP CSRF cheat
  sheet). Logging in and out issue a new CSRF cookie, so a token never outlives its session.
  API clients that authenticate with a bearer token carry no cookies and are exempt.
- Cookies are read once per request by :func:`request_cookies`: when a name repeats, the first
  occurrence wins (the browser sends the most specific cookie first), for every reader alike.
- API tokens are 32 random bytes shown once; only their SHA-256 is stored.
- Login rate limit: a sliding window of failures per (username, client IP) in process memory;
  an attempt is reserved under the lock before the password is checked, so concurrent
  attempts cannot exceed the limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from http.cookies import _unquote  # type: ignore[attr-defined]
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "talaia_session"
CSRF_COOKIE = "talaia_csrf"
LANG_COOKIE = "talaia_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_PREFIX = "tla_"

_hasher = PasswordHasher()


def parse_cookie_header(headers: object) -> dict[str, str]:
    """Cookies of raw ASGI headers (every ``Cookie`` header, in order); first occurrence wins."""
    out: dict[str, str] = {}
    for name, value in headers:  # type: ignore[attr-defined]
        if name != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            key, sep, val = part.partition("=")
            if not sep:
                key, val = "", key
            key, val = key.strip(), val.strip()
            if key or val:
                out.setdefault(key, _unquote(val))
    return out


def request_cookies(scope: MutableMapping[str, Any] | Mapping[str, Any]) -> dict[str, str]:
    """The request's cookies, parsed once (kept in the scope) by :func:`parse_cookie_header`."""
    cached = scope.get("talaia_cookies")
    if cached is None:
        cached = parse_cookie_header(scope.get("headers", ()))
        if isinstance(scope, MutableMapping):
            scope["talaia_cookies"] = cached
    return cached


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (PHC string format, salt included)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a mismatch or a bad hash."""
    if not password_hash:
        # Spend the same time as a real check so that unknown usernames are not revealed by timing.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class SessionData:
    """What a session cookie carries."""

    user_id: int
    session_id: str
    issued_at: float


class SessionSigner:
    """Signs and checks session and CSRF cookies with the deployment secret."""

    def __init__(self, secret: bytes, max_age_s: int) -> None:
        self._secret = secret
        self._max_age_s = max_age_s
        self._sessions = URLSafeTimedSerializer(secret, salt="talaia.session")
        self._csrf = URLSafeTimedSerializer(secret, salt="talaia.csrf")

    @property
    def max_age_s(self) -> int:
        return self._max_age_s

    def issue(self, user_id: int) -> str:
        """A new signed session cookie value for ``user_id``."""
        return self._sessions.dumps({"u": int(user_id), "s": secrets.token_urlsafe(16)})

    def read(self, cookie: str | None) -> SessionData | None:
        """The session in ``cookie``, or None when absent, tampered with or expired."""
        if not cookie:
            return None
        try:
            data, ts = self._sessions.loads(cookie, max_age=self._max_age_s, return_timestamp=True)
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int):
            return None
        return SessionData(
            user_id=data["u"], session_id=str(data.get("s", "")), issued_at=ts.timestamp()
        )

    def new_csrf_cookie(self) -> str:
        """A signed random value for the CSRF cookie."""
        return self._csrf.dumps(secrets.token_urlsafe(24))

    def csrf_seed(self, cookie: str | None) -> str | None:
        """The random value inside a valid CSRF cookie, or None."""
        if not cookie:
            return None
        try:
            value = self._csrf.loads(cookie)
        except (BadSignature, ValueError, TypeError):
            return None
        return value if isinstance(value, str) else None

    def csrf_token(self, seed: str, session_id: str = "") -> str:
        """The token forms must echo: HMAC-SHA256 of the cookie's random value and of the
        session id (``""`` for a visitor who is not logged in)."""
        msg = b"csrf:" + seed.encode() + b"|" + session_id.encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def csrf_valid(self, cookie: str | None, token: str | None, session_id: str = "") -> bool:
        seed = self.csrf_seed(cookie)
        if seed is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(seed, session_id), token)

    def session_id(self, cookie: str | None) -> str:
        """The session id of a valid session cookie, else ``""`` (what CSRF tokens bind to)."""
        session = self.read(cookie)
        return session.session_id if session is not None else ""

    def keyed_digest(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` with the deployment secret (hex, 32 characters): names a
        value in logs without revealing it."""
        msg = purpose.encode() + b":" + value.encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:32]


def new_api_token() -> tuple[str, str]:
    """A new API token and the SHA-256 hex digest to store; the token itself is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRateLimiter:
    """Sliding-window limit on failed logins per (username, client IP), in process memory.

    Parameters
    ----------
    max_failures
        Failures allowed inside the window; the next attempt is refused.
    window_s
        Length of the window in seconds.
    clock
        Monotonic clock (injectable for tests).
    """

    def __init__(self, max_failures: int, window_s: float, clock=time.monotonic) -> None:
        self._max = max_failures
        self._window = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] >= self._window:
            q.popleft()
        return q

    def _wait(self, q: deque[float], now: float) -> int:
        if len(q) < self._max:
            return 0
        return max(1, int(self._window - (now - q[0]) + 0.999))

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        key = (username.strip().lower(), ip)
        with self._lock:
            now = self._clock()
            return self._wait(self._prune(key, now), now)

    def reserve(self, username: str, ip: str) -> tuple[int, float | None]:
        """Check and count an attempt in one step: ``(0, ticket)`` when it may go on (the
        attempt already counts as a failure), else ``(retry_after, None)``.

        After the check, call :meth:`succeeded` (forgets the failures) or nothing (the attempt
        stays a failure), or :meth:`release` with the ticket when the attempt could not be
        checked at all.
        """
        key = (username.strip().lower(), ip)
        with self._lock:
            now = self._clock()
            q = self._prune(key, now)
            wait = self._wait(q, now)
            if wait:
                return wait, None
            q.append(now)
            return 0, now

    def release(self, username: str, ip: str, ticket: float) -> None:
        """Give back a reserved attempt that was never checked."""
        key = (username.strip().lower(), ip)
        with self._lock:
            q = self._failures.get(key)
            if q is not None:
                with contextlib.suppress(ValueError):
                    q.remove(ticket)

    def failed(self, username: str, ip: str) -> None:
        key = (username.strip().lower(), ip)
        with self._lock:
            now = self._clock()
            self._prune(key, now).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((username.strip().lower(), ip), None)
