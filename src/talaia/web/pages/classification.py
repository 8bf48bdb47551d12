"""Classification: the ICCS browser in both languages, crosswalk coverage per source."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from talaia.web.pages.render import render
from talaia.web.portal import PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import classification as cls

router = APIRouter()


@router.get("/classification")
def classification(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    code: str | None = None,
    q: str = "",
) -> Response:
    category = cls.iccs_category(code) if code else None
    results = cls.iccs_search(q)[:100] if q.strip() else None
    coverage = unmapped = None
    if principal.can_read_data():
        coverage = cls.crosswalk_coverage(portal.engine, principal)
        unmapped = cls.unmapped_codes(portal.engine, principal)
    return render(
        request,
        portal,
        principal,
        t,
        "classification.html",
        active="classification",
        title=t.gettext("Classification"),
        category=category,
        trail=cls.iccs_ancestors(code) if code else (),
        children=cls.iccs_children(code),
        q=q,
        results=results,
        coverage=coverage,
        unmapped=unmapped,
    )
