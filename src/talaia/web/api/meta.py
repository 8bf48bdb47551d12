"""Who am I."""

from __future__ import annotations

from fastapi import APIRouter

from talaia.web.api.schemas import MeOut
from talaia.web.portal import PrincipalDep

router = APIRouter(tags=["session"])


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    """The caller as the server sees it (anonymous callers are the ``public`` role)."""
    return MeOut(
        authenticated=principal.authenticated,
        username=principal.username,
        role=principal.role,
        agency_code=principal.agency_code,
        via=principal.via,
    )
