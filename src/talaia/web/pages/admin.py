"""Administration: users, API clients, agencies, roles, the audit log (administrators only)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from markupsafe import Markup

from talaia.errors import TalaiaError, UserInputError
from talaia.web.i18n import Translator
from talaia.web.pages.render import redirect, render, require
from talaia.web.portal import PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import audit as audit_log
from talaia.web.services import tokens, users

router = APIRouter(prefix="/admin")
TOKEN_SHOWN_ONCE = "API client created. Copy its token now: it is not shown again."
AGENCY_KINDS = (
    "police",
    "forensic",
    "health",
    "prosecution",
    "court",
    "prison",
    "emergency",
    "survey",
)


AUDIT_PAGE = 50
#: The least privileged role: what the new-user form starts with.
DEFAULT_ROLE = "viewer"


def utc_time(value: dt.datetime | None) -> Markup:
    """A stored (naive UTC) time as ``2024-03-05 10:00:00 UTC``: the same, unambiguous
    digits in every language, in a ``<time>`` element with its ISO 8601 value."""
    if value is None:
        return Markup("")
    value = value.replace(microsecond=0)
    return Markup('<time datetime="{}Z">{} UTC</time>').format(
        value.isoformat(), value.isoformat(sep=" ")
    )


def _plain(t: Translator, value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    if isinstance(value, list):
        return ", ".join(_plain(t, v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(t, v)}" for k, v in value.items())
    return str(value)


def audit_detail(t: Translator, detail: str | None) -> list[tuple[str, str]]:
    """An audit event's detail (JSON) as (what, value) lines: a change ``{"from", "to"}``
    reads ``old → new``, lists are joined, nested values spelled out."""
    if not detail:
        return []
    try:
        data = json.loads(detail)
    except ValueError:
        return [("", detail)]
    if not isinstance(data, dict):
        return [("", _plain(t, data))]
    if set(data) == {"from", "to"}:
        return [("", f"{_plain(t, data['from'])} → {_plain(t, data['to'])}")]
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            lines.append((key, f"{_plain(t, value['from'])} → {_plain(t, value['to'])}"))
        else:
            lines.append((key, _plain(t, value)))
    return lines


def _date(text: str | None, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserInputError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def audit_filter(request: Request) -> audit_log.AuditFilter:
    q = request.query_params
    date_from, date_to = _date(q.get("date_from"), "date_from"), _date(q.get("date_to"), "date_to")
    if date_from and date_to and date_to < date_from:
        date_from, date_to = date_to, date_from
    return audit_log.AuditFilter(
        username=q.get("user") or None,
        action=q.get("action") or None,
        object_type=q.get("object") or None,
        object_id=(q.get("object_id") or "").strip() or None,
        date_from=date_from,
        date_to=date_to,
    )


def _offset(request: Request) -> int:
    try:
        return max(int(request.query_params.get("offset") or 0), 0)
    except ValueError:
        return 0


def _page(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    status_code: int = 200,
    **extra: object,
) -> Response:
    flt = audit_filter(request) if request.method == "GET" else audit_log.AuditFilter()
    offset = _offset(request) if request.method == "GET" else 0
    audit = audit_log.list_audit(portal.engine, flt, offset=offset, limit=AUDIT_PAGE)
    return render(
        request,
        portal,
        principal,
        t,
        "admin.html",
        active="admin",
        title=t.gettext("Administration"),
        status_code=status_code,
        users=users.list_users(portal.engine),
        roles=users.list_roles(portal.engine),
        agencies=users.list_agencies(portal.engine),
        audit=audit,
        audit_filter=flt,
        audit_choices=audit_log.audit_choices(portal.engine),
        audit_detail=lambda d: audit_detail(t, d),
        utc_time=utc_time,
        default_role=DEFAULT_ROLE,
        agency_kinds=AGENCY_KINDS,
        tokens=tokens.list_tokens(portal.engine),
        **extra,
    )


@router.get("")
def admin(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    require(principal.is_admin)
    msg = {"user": "User saved.", "agency": "Agency saved.", "token": "Token revoked."}.get(
        request.query_params.get("saved", "")
    )
    return _page(
        request, portal, principal, t, flash=t.gettext(msg) if msg else None, flash_kind="ok"
    )


@router.post("/users")
def create_user(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    username: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form()] = DEFAULT_ROLE,
    password: Annotated[str, Form(max_length=1000)] = "",
    full_name: Annotated[str, Form(max_length=200)] = "",
    agency_code: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "person",
) -> Response:
    require(principal.is_admin)
    try:
        if kind == "api":
            token, _ = tokens.create_api_client(
                portal.engine,
                username,
                role,
                agency_code=agency_code or None,
                actor=principal.username,
            )
            return _page(
                request,
                portal,
                principal,
                t,
                new_token=token,
                flash=t.gettext(TOKEN_SHOWN_ONCE),
                flash_kind="ok",
            )
        users.create_user(
            portal.engine,
            username,
            password,
            role,
            agency_code=agency_code or None,
            full_name=full_name or None,
            actor=principal.username,
        )
    except TalaiaError as exc:
        return _page(
            request, portal, principal, t, status_code=422, flash=str(exc), flash_kind="error"
        )
    return redirect("/admin?saved=user")


@router.post("/users/{user_id}")
def update_user(
    user_id: int,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    role: Annotated[str, Form()],
    agency_code: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    require(principal.is_admin)
    if user_id == principal.user_id and (role != "administrator" or not active):
        return _page(
            request,
            portal,
            principal,
            t,
            status_code=422,
            flash_kind="error",
            flash=t.gettext("You cannot remove your own administrator access."),
        )
    try:
        users.update_user(
            portal.engine,
            user_id,
            actor=principal.username or "",
            role=role,
            agency_code=agency_code,
            active=bool(active),
            password=password or None,
        )
    except TalaiaError as exc:
        return _page(
            request, portal, principal, t, status_code=422, flash=str(exc), flash_kind="error"
        )
    return redirect("/admin?saved=user")


@router.post("/agencies")
def create_agency(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    code: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form()],
) -> Response:
    require(principal.is_admin)
    try:
        if kind not in AGENCY_KINDS:
            raise TalaiaError(f"kind {kind!r}: must be one of {', '.join(AGENCY_KINDS)}")
        users.create_agency(portal.engine, code, name, kind, actor=principal.username or "")
    except TalaiaError as exc:
        return _page(
            request, portal, principal, t, status_code=422, flash=str(exc), flash_kind="error"
        )
    return redirect("/admin?saved=agency")


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
) -> Response:
    require(principal.is_admin)
    tokens.revoke_token(portal.engine, token_id, actor=principal.username)
    return redirect("/admin?saved=token")
