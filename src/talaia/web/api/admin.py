"""Users and API tokens (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from talaia.errors import NotFoundError
from talaia.web.api.schemas import TokenIn, TokenInfoOut, TokenOut, UserIn, UserOut
from talaia.web.portal import PortalDep, PrincipalDep
from talaia.web.services import tokens, users
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


@router.get("/tokens", response_model=list[TokenInfoOut])
def list_tokens(portal: PortalDep, principal: PrincipalDep) -> list:
    """Every API token (never the token itself)."""
    _admin(principal)
    return tokens.list_tokens(portal.engine)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, portal: PortalDep, principal: PrincipalDep) -> TokenOut:
    """A token, returned once. With ``role``: for a new client account ``api:<name>``;
    otherwise for the account ``username`` (default: the caller)."""
    _admin(principal)
    if body.role is not None:
        token, client = tokens.create_api_client(
            portal.engine,
            body.name,
            body.role,
            agency_code=body.agency_code,
            actor=principal.username,
            expires_in_days=body.expires_in_days,
        )
        info = tokens.list_tokens(portal.engine, client.id)[0]
    else:
        uid = principal.user_id
        if body.username:
            found = [u for u in users.list_users(portal.engine) if u.username == body.username]
            if not found:
                raise NotFoundError(f"user {body.username!r} does not exist")
            uid = found[0].id
        assert uid is not None
        token, info = tokens.create_token(
            portal.engine,
            uid,
            body.name,
            actor=principal.username,
            expires_in_days=body.expires_in_days,
        )
        client = users.get_user(portal.engine, uid)
    return TokenOut(
        token=token,
        info=TokenInfoOut.model_validate(info),
        client=UserOut.model_validate(client),
    )


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, portal: PortalDep, principal: PrincipalDep) -> Response:
    """Revoke a token: every later request with it gets 401."""
    _admin(principal)
    tokens.revoke_token(portal.engine, token_id, actor=principal.username)
    return Response(status_code=204)
