"""Data: sources, batches and their reports, quarantine review, upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from talaia.web.pages.render import redirect, render, require
from talaia.web.portal import PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import data as data_service
from talaia.web.services.uploads import ingest_available

router = APIRouter()
PAGE = 50


@router.get("/data")
def data_index(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    source: str | None = None,
    status: str | None = None,
    offset: int = 0,
) -> Response:
    require(principal.can_read_data())
    sources = data_service.list_sources(portal.engine, principal)
    batches = data_service.list_batches(
        portal.engine,
        principal,
        source_code=source or None,
        status=status or None,
        offset=max(offset, 0),
        limit=PAGE,
    )
    return render(
        request,
        portal,
        principal,
        t,
        "data.html",
        active="data",
        title=t.gettext("Data"),
        sources=sources,
        batches=batches,
        source=source or "",
        status=status or "",
        statuses=("received", "validated", "approved", "published", "superseded", "rejected"),
        ingest_available=ingest_available(),
    )


@router.get("/data/batches/{batch_id}")
def batch_page(
    batch_id: int,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    offset: int = 0,
    qstatus: str = "open",
) -> Response:
    require(principal.can_read_data())
    batch = data_service.get_batch(portal.engine, principal, batch_id)
    rows = data_service.list_quarantine(
        portal.engine,
        principal,
        batch_id,
        status=qstatus or None,
        offset=max(offset, 0),
        limit=PAGE,
    )
    transitions = [
        to
        for (frm, to), needs_publish in data_service.TRANSITIONS.items()
        if frm == batch.status and (principal.can_publish() or not needs_publish)
    ]
    return render(
        request,
        portal,
        principal,
        t,
        "batch.html",
        active="data",
        title=t.gettext("Batch {id}", id=batch_id),
        batch=batch,
        rows=rows,
        qstatus=qstatus,
        transitions=transitions,
        flash=request.query_params.get("saved") and t.gettext("Saved."),
        flash_kind="ok",
    )


@router.post("/data/batches/{batch_id}/status")
def batch_status(
    batch_id: int, portal: PortalDep, principal: PrincipalDep, status: Annotated[str, Form()]
) -> Response:
    data_service.set_batch_status(portal.engine, principal, batch_id, status)
    return redirect(f"/data/batches/{batch_id}?saved=1")


@router.post("/data/quarantine/{row_id}")
async def quarantine_correct(
    row_id: int, request: Request, portal: PortalDep, principal: PrincipalDep
) -> Response:
    """Inline correction: every ``field:<name>`` form value replaces that raw field."""
    form = await request.form()
    row = data_service.get_quarantine_row(portal.engine, principal, row_id)
    if form.get("action") == "drop":
        data_service.drop_quarantine_row(
            portal.engine, principal, row_id, str(form.get("note") or "")
        )
    else:
        fields = {
            k[6:]: (str(v) if str(v) != "" else None)
            for k, v in form.multi_items()
            if k.startswith("field:")
        }
        data_service.correct_quarantine_row(portal.engine, principal, row_id, fields)
    return redirect(f"/data/batches/{row.batch_id}?saved=1#q{row_id}")
