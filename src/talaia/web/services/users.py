"""Accounts: people who log in, API clients, roles and agencies, their audit trail.

A machine client that is not a person has an account named ``api:<name>`` with no password: it
cannot log in through the form and acts only through its tokens (:mod:`.tokens`, table
``api_token``). Deactivating an account refuses all of its tokens.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from talaia.errors import NotFoundError, UserInputError
from talaia.store.models import Agency, AppUser, Role
from talaia.web.security import hash_password, verify_password
from talaia.web.services.common import ROLES, Principal, audit, now

API_PREFIX = "api:"
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,100}$")
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An account as the portal shows it (never the password hash)."""

    id: int
    username: str
    full_name: str | None
    role: str
    agency_code: str | None
    active: bool
    created_at: dt.datetime | None

    @property
    def is_api_client(self) -> bool:
        return self.username.startswith(API_PREFIX)

    def principal(self, via: str) -> Principal:
        return Principal(self.id, self.username, self.full_name, self.role, self.agency_code, via)


@dataclass(frozen=True, slots=True)
class RoleInfo:
    code: str
    name_en: str
    name_es: str


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    code: str
    name: str
    kind: str


_COLS = (
    AppUser.id,
    AppUser.username,
    AppUser.full_name,
    AppUser.role_code,
    AppUser.agency_code,
    AppUser.active,
    AppUser.created_at,
)


def _info(row) -> UserInfo:
    return UserInfo(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])


def get_user(engine: Engine, user_id: int) -> UserInfo | None:
    with engine.connect() as conn:
        row = conn.execute(select(*_COLS).where(AppUser.id == user_id)).first()
    return _info(row) if row else None


@dataclass(frozen=True, slots=True)
class LoginCheck:
    """The outcome of a login attempt: the user when it succeeded; else the account the
    username names (None for an unknown one) and why it failed."""

    user: UserInfo | None
    account_id: int | None = None
    account_username: str | None = None
    reason: str | None = None  # unknown account | wrong password | deactivated | api client


def check_login(engine: Engine, username: str, password: str) -> LoginCheck:
    """Check a login attempt (Argon2id; an unknown username costs the same as a known one)."""
    username = username.strip()
    with engine.connect() as conn:
        row = conn.execute(
            select(*_COLS, AppUser.password_hash).where(AppUser.username == username)
        ).first()
    if row is None:
        verify_password(None, password)  # same cost as a real check
        return LoginCheck(None, reason="unknown account")
    if username.startswith(API_PREFIX):
        verify_password(None, password)
        return LoginCheck(None, row[0], row[1], "api client")
    if not verify_password(row[7], password):
        return LoginCheck(None, row[0], row[1], "wrong password")
    if not row[5]:
        return LoginCheck(None, row[0], row[1], "deactivated")
    return LoginCheck(_info(row), row[0], row[1])


def authenticate(engine: Engine, username: str, password: str) -> UserInfo | None:
    """The active human account matching ``username`` and ``password``, else None."""
    return check_login(engine, username, password).user


def list_users(engine: Engine) -> list[UserInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(*_COLS).order_by(AppUser.username)).all()
    return [_info(r) for r in rows]


def list_roles(engine: Engine) -> list[RoleInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(Role.code, Role.name_en, Role.name_es)).all()
    order = {c: i for i, c in enumerate(ROLES)}
    return sorted((RoleInfo(*r) for r in rows), key=lambda r: order.get(r.code, 99))


def list_agencies(engine: Engine) -> list[AgencyInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(Agency.code, Agency.name, Agency.kind).order_by(Agency.code))
        return [AgencyInfo(*r) for r in rows]


def check_new(engine: Engine, username: str, role: str, agency_code: str | None) -> None:
    bare = username.removeprefix(API_PREFIX)
    if not _USERNAME.match(bare):
        raise UserInputError(
            f"username {username!r}: use 2-100 letters, digits and . _ @ - (no spaces)"
        )
    if role not in ROLES:
        raise UserInputError(f"role {role!r}: must be one of {', '.join(ROLES)}")
    if role == "steward" and not agency_code:
        raise UserInputError("a data steward needs an agency (agency_code)")
    with engine.connect() as conn:
        if conn.execute(select(AppUser.id).where(AppUser.username == username)).first():
            raise UserInputError(f"username {username!r} is already taken")
        if (
            agency_code
            and not conn.execute(select(Agency.code).where(Agency.code == agency_code)).first()
        ):
            raise NotFoundError(f"agency {agency_code!r} does not exist")


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    *,
    agency_code: str | None = None,
    full_name: str | None = None,
    actor: str | None = None,
) -> UserInfo:
    """Create a person's account (Argon2id password hash); recorded in the audit log."""
    username = username.strip()
    agency_code = agency_code or None
    check_new(engine, username, role, agency_code)
    if len(password) < MIN_PASSWORD:
        raise UserInputError(f"password: at least {MIN_PASSWORD} characters")
    with engine.begin() as conn:
        uid = conn.execute(
            insert(AppUser)
            .values(
                username=username,
                full_name=full_name or None,
                password_hash=hash_password(password),
                role_code=role,
                agency_code=agency_code,
                active=True,
                created_at=now(),
            )
            .returning(AppUser.id)
        ).scalar_one()
        audit(
            conn,
            actor,
            "user.create",
            "app_user",
            uid,
            {"username": username, "role": role, "agency_code": agency_code},
        )
    user = get_user(engine, uid)
    assert user is not None
    return user


def update_user(
    engine: Engine,
    user_id: int,
    *,
    actor: str,
    role: str | None = None,
    agency_code: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> UserInfo:
    """Change an account's role, agency, active flag or password; recorded in the audit log."""
    user = get_user(engine, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    values: dict[str, object] = {}
    if role is not None:
        if role not in ROLES:
            raise UserInputError(f"role {role!r}: must be one of {', '.join(ROLES)}")
        values["role_code"] = role
    if agency_code is not None:
        values["agency_code"] = agency_code or None
    new_role = values.get("role_code", user.role)
    new_agency = values.get("agency_code", user.agency_code)
    if new_role == "steward" and not new_agency:
        raise UserInputError("a data steward needs an agency (agency_code)")
    if active is not None:
        values["active"] = active
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise UserInputError(f"password: at least {MIN_PASSWORD} characters")
        values["password_hash"] = hash_password(password)
    if not values:
        return user
    with engine.begin() as conn:
        conn.execute(update(AppUser).where(AppUser.id == user_id).values(**values))
        detail = {k: v for k, v in values.items() if k != "password_hash"}
        if "password_hash" in values:
            detail["password"] = "changed"
        audit(conn, actor, "user.update", "app_user", user_id, detail)
    out = get_user(engine, user_id)
    assert out is not None
    return out


def create_agency(engine: Engine, code: str, name: str, kind: str, *, actor: str) -> AgencyInfo:
    code = code.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", code):
        raise UserInputError(f"agency code {code!r}: 1-32 letters, digits, _ or -")
    with engine.begin() as conn:
        if conn.execute(select(Agency.code).where(Agency.code == code)).first():
            raise UserInputError(f"agency {code!r} already exists")
        conn.execute(insert(Agency).values(code=code, name=name.strip(), kind=kind))
        audit(conn, actor, "agency.create", "agency", code, {"name": name, "kind": kind})
    return AgencyInfo(code, name.strip(), kind)


def record_login(engine: Engine, check: LoginCheck, ip: str, typed_digest: str) -> None:
    """Log a login attempt (security event) in the audit log, never the password.

    A success or a failure for an existing account names the account (its username and id);
    a failure for an unknown username records only ``typed_digest``, a keyed hash of what was
    typed (which may be a password typed in the wrong field), never the text itself.
    """
    detail: dict[str, object] = {"ip": ip}
    if check.user is not None:
        action, who, object_id = "login", check.user.username, check.user.id
    else:
        action, who, object_id = "login.failed", check.account_username, check.account_id
        detail["reason"] = check.reason
        if check.account_id is None:
            detail["username_hmac"] = typed_digest
    with engine.begin() as conn:
        audit(conn, who, action, "app_user", object_id, detail)


def record(
    engine: Engine,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: object,
    detail: dict | None = None,
) -> None:
    with engine.begin() as conn:
        audit(conn, principal.username, action, object_type, object_id, detail)


#: The demo installation's accounts: (username, role, agency, password). Demo only: the README
#: states these passwords; never use them on a real installation.
DEMO_USERS: tuple[tuple[str, str, str | None, str], ...] = (
    ("admin", "administrator", None, "talaia-admin"),
    ("analyst", "analyst", None, "talaia-analyst"),
    ("steward", "steward", "PN", "talaia-steward"),
    ("viewer", "viewer", None, "talaia-viewer"),
)


def create_demo_users(engine: Engine) -> list[UserInfo]:
    """Create the :data:`DEMO_USERS` that do not exist yet (the steward needs agency PN)."""
    made = []
    existing = {u.username for u in list_users(engine)}
    agencies = {a.code for a in list_agencies(engine)}
    for username, role, agency, password in DEMO_USERS:
        if username in existing or (agency is not None and agency not in agencies):
            continue
        made.append(
            create_user(
                engine,
                username,
                password,
                role,
                agency_code=agency,
                full_name=f"Demo {role}",
                actor="demo",
            )
        )
    return made
