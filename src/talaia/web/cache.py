"""The public response cache: whole rendered responses for the anonymous visitor.

Under load the portal answers the same public pages and API queries over and over; the
computation cache (:func:`talaia.web.services.indicators._cached`) already keeps the indicator
tables, but every request still pays routing, the template or JSON serialization and the
dependencies. :class:`ResponseCacheMiddleware` keeps the finished body (HTML or JSON bytes) of
public ``GET`` requests and answers later identical requests from the event loop, without a
thread, a template or a warehouse connection.

Role boundary: only requests with **no credentials at all** (no ``Authorization`` header, no
session cookie, valid or not) are looked up or stored, so a logged-in user's view (unpublished
values, unsuppressed counts, the data/analysis menus) is never stored, and a logged-in user is
never served the public view from the cache. Only ``200`` answers without ``Set-Cookie`` are
kept.

Key: the ``Host`` (one of the allowed hosts: others are refused before this), path, query
string, the resolved language (``?lang=``, the language cookie, ``Accept-Language``, resolved
by :func:`resolve_lang`, the very function the pages use), the warehouse file's path and
modification time, and the set of published batch ids read from the store on each request
(one small query; a publication or a new load, made in this process or another one, changes
the key at once, as for the computation cache).
Entries also expire after :data:`RESPONSE_TTL_S`.

The CSRF token that every page carries (the language and logout forms) is per visitor: pages
are rendered with :data:`CSRF_PLACEHOLDER` in its place and each answer gets the visitor's own
token substituted (``bytes.replace``), so a cached page never hands one visitor another's token.

State is per process: with ``talaia serve --workers N`` each worker keeps its own cache.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talaia.web.i18n import LANGUAGES, negotiate
from talaia.web.security import LANG_COOKIE, SESSION_COOKIE, request_cookies

if TYPE_CHECKING:
    from talaia.web.portal import Portal

#: Seconds a stored response is reused at most (the key already changes with the data).
RESPONSE_TTL_S = 300.0
#: Entries kept at most (the cache is emptied when full; ~30 KB each for the demo pages).
MAX_ENTRIES = 1024
#: Bodies larger than this are not stored (downloads are not cached).
MAX_BODY = 2_000_000
#: Stand-in for the visitor's CSRF token in stored pages.
CSRF_PLACEHOLDER = "__talaia_csrf_placeholder_7f3a__"
_PLACEHOLDER = CSRF_PLACEHOLDER.encode()
#: Public paths whose answers depend only on the warehouse, the publications and the language.
CACHEABLE = re.compile(
    r"^/$|^/indicators(/[A-Za-z0-9_]+)?$|^/api/v1/indicators(/[A-Za-z0-9_]+(/values)?)?$"
)
_DROP = frozenset({b"content-length", b"etag"})


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored answer: status, headers (without length), body, ETag, when it was stored."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    has_token: bool
    etag: bytes | None
    stored_at: float


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return value
    return None


def is_anonymous(scope: Scope, cookies: dict[str, str]) -> bool:
    """No credentials at all: no ``Authorization`` header and no session cookie."""
    return _header(scope, b"authorization") is None and SESSION_COOKIE not in cookies


def resolve_lang(scope: Scope, cookies: dict[str, str], default: str) -> str:
    """The language of a request: ``?lang=`` (first occurrence), else the language cookie
    (:func:`talaia.web.security.request_cookies`: first occurrence), else ``Accept-Language``,
    else ``default``. :func:`talaia.web.portal.get_lang` calls this very function."""
    qs = scope.get("query_string", b"")
    if b"lang=" in qs:
        q = parse_qs(qs.decode("latin-1")).get("lang")
        if q and q[0] in LANGUAGES:
            return q[0]
    c = cookies.get(LANG_COOKIE)
    if c in LANGUAGES:
        return c
    al = _header(scope, b"accept-language")
    return negotiate(al.decode("latin-1") if al else None, default)


def data_stamp(portal: Portal) -> tuple:
    """Warehouse file (path, mtime) and the published batch ids: what public answers show."""
    from talaia.web.services.common import ANONYMOUS
    from talaia.web.services.indicators import _stamp, disclosure_for

    return _stamp(portal), disclosure_for(portal, ANONYMOUS).published


class ResponseCacheMiddleware:
    """Pure ASGI middleware: the public response cache (see the module docstring).

    Sits inside :class:`talaia.web.app.PortalMiddleware`, which adds the security headers and
    the CSRF cookie to every answer, cached or not. (``/static`` assets carry their own
    caching headers: :class:`talaia.web.app.StaticAssets`.)
    """

    def __init__(self, app: ASGIApp, portal: Portal) -> None:
        self.app = app
        self.portal = portal
        self.entries: dict[tuple, CachedResponse] = {}
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if not CACHEABLE.match(path):
            await self.app(scope, receive, send)
            return
        cookies = request_cookies(scope)
        if not is_anonymous(scope, cookies):
            await self.app(scope, receive, send)
            return
        try:
            stamp = data_stamp(self.portal)
        except Exception:  # no store yet: let the application answer (and report) it
            await self.app(scope, receive, send)
            return
        lang = resolve_lang(scope, cookies, self.portal.web.default_language)
        host = (_header(scope, b"host") or b"").lower()
        key = (host, path, scope.get("query_string", b""), lang, stamp)
        hit = self.entries.get(key)
        if hit is not None and time.monotonic() - hit.stored_at < RESPONSE_TTL_S:
            self.hits += 1
            await _send(hit, scope, send, self.portal)
            return
        self.misses += 1
        scope["talaia_cache_fill"] = True
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        assert start is not None
        body = b"".join(chunks)
        headers = tuple((k, v) for k, v in start.get("headers", ()) if k not in _DROP)
        has_token = _PLACEHOLDER in body
        entry = CachedResponse(
            status=start["status"],
            headers=headers,
            body=body,
            has_token=has_token,
            etag=None if has_token else b'"' + hashlib.sha1(body).hexdigest().encode() + b'"',
            stored_at=time.monotonic(),
        )
        storable = (
            entry.status == 200
            and len(body) <= MAX_BODY
            and not any(k == b"set-cookie" for k, _ in headers)
        )
        if storable:
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = entry
        await _send(entry, scope, send, self.portal)


async def _send(entry: CachedResponse, scope: Scope, send: Send, portal: Portal) -> None:
    body = entry.body
    if entry.has_token:
        from talaia.web.portal import csrf_token_for_scope

        body = body.replace(_PLACEHOLDER, csrf_token_for_scope(scope, portal).encode())
    headers = list(entry.headers)
    if entry.etag is not None:
        headers.append((b"etag", entry.etag))
        if entry.status == 200 and _header(scope, b"if-none-match") == entry.etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
