"""API tokens for machine clients, kept in the store's ``api_token`` table.

A token reads ``tla_<43 url-safe characters>`` (32 random bytes); it is shown once and only its
SHA-256 digest is stored (``token_hash``, unique), so a request's token is found by one indexed
lookup of its digest — no per-request password hashing is needed for a 256-bit random secret.
A token acts as its user (role and agency). It is refused when revoked, past ``expires_at``, or
when its user is deactivated; ``last_used_at`` is refreshed at most once a minute per token.
Creating and revoking tokens are recorded in the audit log.

A machine client that is not a person gets its own account, named ``api:<name>`` with no
password (it cannot log in through the form), created by :func:`create_api_client`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from talaia.errors import NotFoundError, UserInputError
from talaia.store.models import ApiToken, AppUser
from talaia.web.security import TOKEN_PREFIX, new_api_token, token_digest
from talaia.web.services import users
from talaia.web.services.common import audit, now

#: ``last_used_at`` is written at most this often per token (seconds).
TOUCH_EVERY_S = 60


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the portal shows it (never the token nor its digest)."""

    id: int
    user_id: int
    username: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, at: dt.datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (at or now()):
            return "expired"
        return "active"


_COLS = (
    ApiToken.id,
    ApiToken.user_id,
    AppUser.username,
    ApiToken.name,
    ApiToken.created_at,
    ApiToken.expires_at,
    ApiToken.last_used_at,
    ApiToken.revoked_at,
)


def _select():
    return select(*_COLS).join(AppUser, AppUser.id == ApiToken.user_id)


def get_token(engine: Engine, token_id: int) -> TokenInfo:
    with engine.connect() as conn:
        row = conn.execute(_select().where(ApiToken.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"API token {token_id} does not exist")
    return TokenInfo(*row)


def list_tokens(engine: Engine, user_id: int | None = None) -> list[TokenInfo]:
    """Every token (newest first), or those of one user."""
    q = _select().order_by(ApiToken.id.desc())
    if user_id is not None:
        q = q.where(ApiToken.user_id == user_id)
    with engine.connect() as conn:
        return [TokenInfo(*r) for r in conn.execute(q)]


def _expiry(expires_in_days: int | None) -> dt.datetime | None:
    if expires_in_days is None:
        return None
    if expires_in_days < 1:
        raise UserInputError(f"expires_in_days {expires_in_days}: must be at least 1")
    return now() + dt.timedelta(days=expires_in_days)


def create_token(
    engine: Engine,
    user_id: int,
    name: str,
    *,
    actor: str | None,
    expires_in_days: int | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[str, TokenInfo]:
    """A new token for an existing, active user; returns ``(token, info)``. Show it once."""
    name = name.strip()
    if not name or len(name) > 100:
        raise UserInputError("token name: 1-100 characters")
    user = users.get_user(engine, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    if not user.active:
        raise UserInputError(f"user {user.username!r} is deactivated")
    when = expires_at if expires_at is not None else _expiry(expires_in_days)
    token, digest = new_api_token()
    with engine.begin() as conn:
        tid = conn.execute(
            insert(ApiToken)
            .values(
                user_id=user_id,
                name=name,
                token_hash=digest,
                created_at=now(),
                expires_at=when,
            )
            .returning(ApiToken.id)
        ).scalar_one()
        audit(
            conn,
            actor,
            "token.create",
            "api_token",
            tid,
            {"user": user.username, "name": name, "expires_at": when},
        )
    return token, get_token(engine, tid)


def create_api_client(
    engine: Engine,
    name: str,
    role: str,
    *,
    agency_code: str | None = None,
    actor: str | None,
    expires_in_days: int | None = None,
) -> tuple[str, users.UserInfo]:
    """A machine client's own account ``api:<name>`` (no password) and its first token."""
    username = users.API_PREFIX + name.strip()
    users.check_new(engine, username, role, agency_code or None)
    _expiry(expires_in_days)  # validate before writing anything
    with engine.begin() as conn:
        uid = conn.execute(
            insert(AppUser)
            .values(
                username=username,
                full_name=f"API client {name.strip()}",
                password_hash=None,
                role_code=role,
                agency_code=agency_code or None,
                active=True,
                created_at=now(),
            )
            .returning(AppUser.id)
        ).scalar_one()
        audit(conn, actor, "user.create", "app_user", uid, {"username": username, "role": role})
    token, _ = create_token(engine, uid, name, actor=actor, expires_in_days=expires_in_days)
    user = users.get_user(engine, uid)
    assert user is not None
    return token, user


def revoke_token(engine: Engine, token_id: int, *, actor: str | None) -> TokenInfo:
    """Revoke a token (kept, with its ``revoked_at``); recorded in the audit log."""
    info = get_token(engine, token_id)
    if info.revoked_at is not None:
        return info
    with engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=now()))
        audit(conn, actor, "token.revoke", "api_token", token_id, {"name": info.name})
    return get_token(engine, token_id)


def resolve_token(engine: Engine, token: str) -> users.UserInfo | None:
    """The active user a valid bearer token acts as, else None (unknown, revoked, expired)."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or not 20 <= len(token) <= 200:
        return None
    at = now()
    with engine.connect() as conn:
        row = conn.execute(
            select(
                ApiToken.id,
                ApiToken.user_id,
                ApiToken.expires_at,
                ApiToken.revoked_at,
                ApiToken.last_used_at,
            ).where(ApiToken.token_hash == token_digest(token))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= at:
        return None
    user = users.get_user(engine, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_used_at is None or (at - row.last_used_at).total_seconds() >= TOUCH_EVERY_S:
        with engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=at))
    return user
