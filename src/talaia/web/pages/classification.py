"""Classification: the ICCS browser in both languages, crosswalk coverage per source."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from talaia.errors import UserInputError
from talaia.web.pages.render import redirect, render
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
    assist_source: str = "",
    assist_code: str = "",
    assist_label: str = "",
) -> Response:
    """The ICCS browser; for data roles also the coverage, the unmapped codes, the codes held
    in quarantine as unknown, and the mapping assistant for one code (``assist_source`` and
    ``assist_code``, optionally ``assist_label``: a description to base the suggestions on)."""
    category = cls.iccs_category(code) if code else None
    results = cls.iccs_search(q)[:100] if q.strip() else None
    coverage = tasks = quarantined = assist = None
    if principal.can_read_data():
        coverage = cls.crosswalk_coverage(portal.engine, principal)
        tasks = cls.mapping_tasks(portal.engine, principal)
        quarantined = cls.quarantined_codes(portal.engine, principal)
        if assist_source and assist_code:
            assist = cls.mapping_task_for(
                portal.engine, principal, assist_source, assist_code, assist_label or None
            )
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
        tasks=tasks,
        quarantined=quarantined,
        assist=assist,
        flash=t.gettext("Mapping saved as crosswalk version {n}.", n=request.query_params["saved"])
        if request.query_params.get("saved", "").isdigit()
        else None,
        flash_kind="ok",
    )


@router.post("/classification/mappings")
def accept_mapping(
    portal: PortalDep,
    principal: PrincipalDep,
    source_code: Annotated[str, Form()],
    national_code: Annotated[str, Form()],
    national_label: Annotated[str, Form()] = "",
    choice: Annotated[str, Form()] = "",
    other: Annotated[str, Form()] = "",
    mapping_type: Annotated[str, Form()] = "exact",
) -> Response:
    """Accept a suggestion (``choice``) or correct it (``other``, an ICCS code)."""
    iccs_code = other.strip() or choice
    if not iccs_code:
        raise UserInputError("choose a suggestion or type an ICCS code")
    if mapping_type not in ("exact", "broader", "narrower", "partial"):
        raise UserInputError(f"mapping type {mapping_type!r}")
    number = cls.accept_mapping(
        portal.engine,
        principal,
        source_code,
        national_code,
        national_label or None,
        iccs_code,
        mapping_type,
    )
    return redirect(f"/classification?saved={number}#mappings")
