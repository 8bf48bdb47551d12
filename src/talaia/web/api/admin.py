"""Users and API tokens (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from talaia.web.api.schemas import TokenIn, TokenOut, UserIn, UserOut
from talaia.web.portal import PortalDep, PrincipalDep
from talaia.web.services import users
from talaia.web.services.common import Principal

router = APIRouter(tags=["administration"])


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionError("admin")


@router.get("/users", response_model=list[UserOut])
def list_users(portal: PortalDep, principal: PrincipalDep) -> list:
    _admin(principal)
    return users.list_users(portal.engine)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, portal: PortalDep, principal: PrincipalDep):
    _admin(principal)
    return users.create_user(
        portal.engine,
        body.username,
        body.password,
        body.role,
        agency_code=body.agency_code,
        full_name=body.full_name,
        actor=principal.username,
    )


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, portal: PortalDep, principal: PrincipalDep) -> TokenOut:
    """Create an API client with its own role; the token is returned once."""
    _admin(principal)
    token, client = users.create_api_client(
        portal.engine, body.name, body.role, agency_code=body.agency_code, actor=principal.username
    )
    return TokenOut(token=token, client=UserOut.model_validate(client))
