"""Data: sources, batches and their reports, quarantine review, upload."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from starlette.datastructures import UploadFile

from talaia.errors import UserInputError
from talaia.web.i18n import Translator
from talaia.web.pages.render import redirect, render, require
from talaia.web.portal import PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import data as data_service
from talaia.web.services import uploads
from talaia.web.services.uploads import ingest_available

router = APIRouter()
PAGE = 50


def _(message: str) -> str:
    """Marks a message for the catalogue; translated when shown (``Translator.gettext``)."""
    return message


#: A quarantine reason's rule (as ingestion records it) -> a sentence; ``{field}`` is the
#: highlighted column of the delivered file, ``{value}`` the value found there.
REASON_SENTENCES: dict[str, str] = {
    "required": _("{field} is required but empty."),
    "invalid_date": _("{field} is not a valid date: {value}."),
    "invalid_number": _("{field} is not a number: {value}."),
    "invalid_integer": _("{field} is not a whole number: {value}."),
    "invalid_boolean": _("{field} is not yes or no: {value}."),
    "value_not_in_map": _("{field} has a value the source's profile does not know: {value}."),
    "age_out_of_range": _("{field} is outside the ages 0 to 120: {value}."),
    "date_in_future": _("{field} is a date in the future: {value}."),
    "date_outside_period": _("{field} falls outside the delivered period: {value}."),
    "range_reversed": _("{field} ends before it starts: {value}."),
    "coordinates_incomplete": _("{field} has only one of the two coordinates: {value}."),
    "coordinates_swapped": _("{field} looks like longitude and latitude swapped: {value}."),
    "coordinates_outside_country": _("{field} is a point outside the country: {value}."),
    "area_not_found": _("{field} is a point in no known area: {value}."),
    "area_unknown": _("{field} names an unknown area: {value}."),
    "area_ambiguous": _("{field} matches several areas: {value}."),
    "missing_code": _("{field} is empty: the record has no offence code."),
    "unknown_code": _("{field} holds an offence code that is not in the crosswalk: {value}."),
    "code_unmapped": _("{field} holds an offence code that is not in the crosswalk: {value}."),
    "not_valid_on_date": _(
        "{field}: no crosswalk row of the code {value} is valid on the record's date."
    ),
    "no_condition_matched": _("{field}: no crosswalk condition matches the code {value}."),
    "malformed_row": _("The row cannot be split into the header's columns: {value}."),
}
OTHER_REASON = _("{field} was refused ({rule}): {value}.")
_LEGACY = re.compile(r"^([\w.]+): (.+)$", re.S)


def _mark(name: object) -> Markup:
    return Markup('<mark class="field">{}</mark>').format(name)


def reason_html(t: Translator, reason: object) -> Markup:
    """One quarantine reason as a sentence in the user's language, its field highlighted.

    Ingestion records ``{"field", "column", "value", "rule"}`` (the column as named in the
    delivered file, the canonical field it feeds); older or hand-written reasons may be plain
    text (``"field: message"``), shown as they are with the field highlighted."""
    if isinstance(reason, str):
        m = _LEGACY.match(reason)
        if m:
            return Markup("{}: {}").format(_mark(m.group(1)), m.group(2))
        return Markup("{}").format(reason)
    if not isinstance(reason, dict):
        return Markup("{}").format(reason)
    rule = str(reason.get("rule") or "")
    column, field = reason.get("column"), reason.get("field")
    if column and field and column != field:
        where = Markup('{} <span class="small muted">({})</span>').format(_mark(column), field)
    elif column or field:
        where = _mark(column or field)
    else:
        where = Markup(escape(t.gettext("The row")))
    value = reason.get("value")
    shown = (
        Markup('<span class="muted">{}</span>').format(t.gettext("empty"))
        if value is None or value == "NULL" or value == ""
        else Markup("<q>{}</q>").format(value)
    )
    template = REASON_SENTENCES.get(rule, OTHER_REASON)
    return Markup(escape(t.gettext(template))).format(field=where, value=shown, rule=rule)


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
    stale = request.query_params.get("stale")
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
        reason_text=lambda r: reason_html(t, r),
        pending=(
            uploads.pending_corrections(portal.engine, principal, batch_id)
            if principal.can_upload() and batch.status not in ("superseded", "rejected")
            else {}
        ),
        flash=t.gettext(STALE_WAREHOUSE)
        if stale
        else (request.query_params.get("saved") and t.gettext("Saved.")),
        flash_kind="warn" if stale else "ok",
    )


STALE_WAREHOUSE = _(
    "The status is saved, but the warehouse could not be refreshed: indicators still count this batch as before. An administrator must run talaia warehouse refresh (the error is in the audit log)."  # noqa: E501
)


def _status_change(portal: PortalDep, principal: PrincipalDep, batch_id: int, status: str):
    try:
        data_service.set_batch_status(
            portal.engine,
            principal,
            batch_id,
            status,
            warehouse_path=portal.settings.resolved_warehouse_path(),
        )
    except data_service.WarehouseStaleError:
        return redirect(f"/data/batches/{batch_id}?stale=1")
    return redirect(f"/data/batches/{batch_id}?saved=1")


@router.post("/data/batches/{batch_id}/status")
def batch_status(
    batch_id: int,
    portal: PortalDep,
    principal: PrincipalDep,
    status: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """A status button. Rejecting needs ``confirm=yes`` (the confirmation page's checkbox);
    without it nothing changes and the confirmation page follows."""
    if status == "rejected" and confirm != "yes":
        data_service.get_batch(portal.engine, principal, batch_id)  # not found as usual
        return redirect(f"/data/batches/{batch_id}/reject")
    return _status_change(portal, principal, batch_id, status)


@router.get("/data/batches/{batch_id}/reject")
def reject_confirm(
    batch_id: int,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
) -> Response:
    """The confirmation step before rejecting a batch (a plain form: no script needed)."""
    require(principal.can_read_data())
    batch = data_service.get_batch(portal.engine, principal, batch_id)
    needs_publish = data_service.TRANSITIONS.get((batch.status, "rejected"))
    if needs_publish is None:
        raise UserInputError(f"batch {batch_id}: cannot go from {batch.status} to rejected")
    require(principal.can_upload() and (principal.can_publish() or not needs_publish))
    return render(
        request,
        portal,
        principal,
        t,
        "batch_reject.html",
        active="data",
        title=t.gettext("Reject batch {id}", id=batch_id),
        batch=batch,
    )


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
