"""Administration: users, API clients, agencies, roles, the audit log (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from talaia.errors import TalaiaError
from talaia.web.pages.render import redirect, render, require
from talaia.web.portal import PortalDep, PrincipalDep, TranslatorDep
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


def _page(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    status_code: int = 200,
    **extra: object,
) -> Response:
    audit = users.list_audit(portal.engine, offset=0, limit=30)
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
    role: Annotated[str, Form()],
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
