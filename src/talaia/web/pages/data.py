"""Data: sources, batches and their reports, quarantine review, upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from talaia.errors import UserInputError
from talaia.web.pages.render import redirect, render, require
from talaia.web.portal import PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import data as data_service
from talaia.web.services import uploads
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
        pending=(
            uploads.pending_corrections(portal.engine, principal, batch_id)
            if principal.can_upload() and batch.status not in ("superseded", "rejected")
            else {}
        ),
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


@router.get("/data/upload")
def upload_form(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    require(principal.can_upload())
    return render(
        request,
        portal,
        principal,
        t,
        "upload.html",
        active="data",
        title=t.gettext("Upload a file"),
        sources=uploads.uploadable_sources(portal.engine, principal),
        ingest_available=ingest_available(),
    )


@router.post("/data/upload")
async def upload(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    require(principal.can_upload())
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise UserInputError("choose a file to upload")
    data = await file.read()
    job = uploads.start_upload(
        portal.engine,
        portal.settings.data_dir,
        principal,
        str(form.get("source") or ""),
        file.filename,
        data,
        str(form.get("period") or "") or None,
    )
    return redirect(f"/data/upload/{job.id}")


@router.get("/data/upload/{job_id}")
def upload_status(
    job_id: str, request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    job = uploads.get_job(principal, job_id)
    response = render(
        request,
        portal,
        principal,
        t,
        "upload_status.html",
        active="data",
        title=t.gettext("Upload"),
        job=job,
    )
    if job.state == "running":
        response.headers["Refresh"] = "1"
    return response


@router.post("/data/batches/{batch_id}/resubmit")
def resubmit(batch_id: int, portal: PortalDep, principal: PrincipalDep) -> Response:
    result = uploads.resubmit_corrections(portal.engine, principal, batch_id)
    target = result.batch_id or batch_id
    return redirect(f"/data/batches/{target}?saved=1")
