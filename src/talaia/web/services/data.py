"""Sources, batches and quarantined rows, scoped to what the principal may see.

A steward sees only its own agency's sources, batches and rows: every query here joins the
batch to its source and filters on the source's agency, so that asking for another agency's
batch by id answers "not found" exactly as a batch that does not exist (no existence leak).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, Select, func, select, update

from talaia.errors import NotFoundError, StoreBusyError, UserInputError
from talaia.store.models import NOT_CURRENT, Agency, Batch, QuarantineRow, Source
from talaia.web.services.common import Page, Principal, audit

#: Batch status changes people may make, and who: (from, to) -> needs can_publish().
TRANSITIONS: dict[tuple[str, str], bool] = {
    ("received", "validated"): False,
    ("validated", "approved"): False,
    ("received", "rejected"): False,
    ("validated", "rejected"): False,
    ("approved", "published"): True,
    ("approved", "rejected"): True,
    ("published", "approved"): True,  # withdraw from publication
}


@dataclass(frozen=True, slots=True)
class SourceInfo:
    code: str
    agency_code: str
    agency_name: str
    kind: str
    name: str
    crosswalk_code: str | None
    expected_from: dt.date | None
    expected_to: dt.date | None
    batches: int  # current batches (not superseded or rejected)
    last_period: dt.date | None  # of the latest current batch


@dataclass(frozen=True, slots=True)
class BatchInfo:
    id: int
    source_code: str
    agency_code: str
    file_name: str | None
    file_hash: str | None
    period_start: dt.date
    period_end: dt.date
    status: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    received_at: dt.datetime | None
    loaded_at: dt.datetime | None
    loaded_by: str | None
    supersedes_id: int | None
    report: dict | None


@dataclass(frozen=True, slots=True)
class QuarantineInfo:
    id: int
    batch_id: int
    row_number: int | None
    raw: dict | list | str | None
    reasons: list | dict | str | None
    status: str


#: The one answer for a batch, quarantined row or source that does not exist *or* belongs to
#: another agency: the same status and the same words, so that an id or a code tells a
#: steward nothing about other agencies' data (translated on the portal's pages).
BATCH_NOT_FOUND = "Batch not found."
ROW_NOT_FOUND = "Quarantined row not found."
SOURCE_NOT_FOUND = "Source not found."


def _json(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _scope(stmt: Select, principal: Principal) -> Select:
    agency = principal.agency_scope()
    if agency is not None:
        stmt = stmt.where(Source.agency_code == agency)
    return stmt


def _require_data(principal: Principal) -> None:
    if not principal.can_read_data():
        raise PermissionError("data")


def list_sources(engine: Engine, principal: Principal) -> list[SourceInfo]:
    _require_data(principal)
    counts = (
        select(Batch.source_code, func.count().label("n"), func.max(Batch.period_start).label("p"))
        .where(Batch.status.not_in(NOT_CURRENT))
        .group_by(Batch.source_code)
        .subquery()
    )
    stmt = (
        select(
            Source.code,
            Source.agency_code,
            Agency.name,
            Source.kind,
            Source.name,
            Source.crosswalk_code,
            Source.expected_from,
            Source.expected_to,
            func.coalesce(counts.c.n, 0),
            counts.c.p,
        )
        .join(Agency, Agency.code == Source.agency_code)
        .outerjoin(counts, counts.c.source_code == Source.code)
        .order_by(Source.code)
    )
    with engine.connect() as conn:
        rows = conn.execute(_scope(stmt, principal)).all()
    return [SourceInfo(*r) for r in rows]


_BATCH_COLS = (
    Batch.id,
    Batch.source_code,
    Source.agency_code,
    Batch.file_name,
    Batch.file_hash,
    Batch.period_start,
    Batch.period_end,
    Batch.status,
    Batch.rows_read,
    Batch.rows_accepted,
    Batch.rows_quarantined,
    Batch.rows_duplicate,
    Batch.received_at,
    Batch.loaded_at,
    Batch.loaded_by,
    Batch.supersedes_id,
    Batch.report,
)


def _batch(row) -> BatchInfo:
    vals = list(row)
    vals[16] = _json(vals[16])
    for i in (8, 9, 10, 11):
        vals[i] = int(vals[i] or 0)
    return BatchInfo(*vals)


def list_batches(
    engine: Engine,
    principal: Principal,
    *,
    source_code: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[BatchInfo]:
    """Batches newest first, restricted to the principal's agency for a steward."""
    _require_data(principal)
    base = select(*_BATCH_COLS).join(Source, Source.code == Batch.source_code)
    if source_code:
        base = base.where(Batch.source_code == source_code)
    if status:
        base = base.where(Batch.status == status)
    base = _scope(base, principal)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = conn.execute(base.order_by(Batch.id.desc()).offset(offset).limit(limit)).all()
    return Page([_batch(r) for r in rows], int(total), offset, limit)


def get_batch(engine: Engine, principal: Principal, batch_id: int) -> BatchInfo:
    """One batch; NotFoundError both when it does not exist and when it is out of scope."""
    _require_data(principal)
    stmt = _scope(
        select(*_BATCH_COLS)
        .join(Source, Source.code == Batch.source_code)
        .where(Batch.id == batch_id),
        principal,
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        raise NotFoundError(BATCH_NOT_FOUND)
    return _batch(row)


def list_quarantine(
    engine: Engine,
    principal: Principal,
    batch_id: int,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[QuarantineInfo]:
    get_batch(engine, principal, batch_id)  # scope check
    base = select(
        QuarantineRow.id,
        QuarantineRow.batch_id,
        QuarantineRow.row_number,
        QuarantineRow.raw,
        QuarantineRow.reasons,
        QuarantineRow.status,
    ).where(QuarantineRow.batch_id == batch_id)
    if status:
        base = base.where(QuarantineRow.status == status)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = conn.execute(
            base.order_by(QuarantineRow.row_number, QuarantineRow.id).offset(offset).limit(limit)
        ).all()
    return Page(
        [QuarantineInfo(r[0], r[1], r[2], _json(r[3]), _json(r[4]), r[5]) for r in rows],
        int(total),
        offset,
        limit,
    )


def get_quarantine_row(engine: Engine, principal: Principal, row_id: int) -> QuarantineInfo:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                QuarantineRow.id,
                QuarantineRow.batch_id,
                QuarantineRow.row_number,
                QuarantineRow.raw,
                QuarantineRow.reasons,
                QuarantineRow.status,
            ).where(QuarantineRow.id == row_id)
        ).first()
    if row is None:
        raise NotFoundError(ROW_NOT_FOUND)
    try:
        get_batch(engine, principal, row[1])  # scope check: out of scope reads as not found
    except NotFoundError:
        raise NotFoundError(ROW_NOT_FOUND) from None
    return QuarantineInfo(row[0], row[1], row[2], _json(row[3]), _json(row[4]), row[5])


def correct_quarantine_row(
    engine: Engine, principal: Principal, row_id: int, fields: dict[str, str | None]
) -> QuarantineInfo:
    """Save a corrected version of a quarantined row's raw fields (kept ``open`` until it is
    re-submitted; the original is kept in the audit log)."""
    if not principal.can_upload():
        raise PermissionError("quarantine")
    row = get_quarantine_row(engine, principal, row_id)
    if row.status != "open":
        raise UserInputError(f"quarantined row {row_id} is {row.status}, not open")
    if not isinstance(row.raw, dict):
        raise UserInputError(f"quarantined row {row_id}: its raw record is not a set of fields")
    unknown = sorted(set(fields) - set(row.raw))
    if unknown:
        raise UserInputError(f"quarantined row {row_id}: unknown field(s) {', '.join(unknown)}")
    new_raw = {**row.raw, **fields}
    with engine.begin() as conn:
        conn.execute(
            update(QuarantineRow)
            .where(QuarantineRow.id == row_id)
            .values(raw=json.dumps(new_raw, ensure_ascii=False))
        )
        changed = {
            k: {"from": row.raw.get(k), "to": v} for k, v in fields.items() if row.raw.get(k) != v
        }
        audit(conn, principal.username, "quarantine.correct", "quarantine_row", row_id, changed)
    return get_quarantine_row(engine, principal, row_id)


def drop_quarantine_row(engine: Engine, principal: Principal, row_id: int, note: str) -> None:
    """Mark a quarantined row ``dropped`` (it will not be loaded); the reason is audited."""
    if not principal.can_upload():
        raise PermissionError("quarantine")
    row = get_quarantine_row(engine, principal, row_id)
    if row.status != "open":
        raise UserInputError(f"quarantined row {row_id} is {row.status}, not open")
    with engine.begin() as conn:
        conn.execute(
            update(QuarantineRow).where(QuarantineRow.id == row_id).values(status="dropped")
        )
        audit(conn, principal.username, "quarantine.drop", "quarantine_row", row_id, {"note": note})


_ES_STATUS = {
    "received": "recibido",
    "validated": "validado",
    "approved": "aprobado",
    "published": "publicado",
    "rejected": "rechazado",
}


class WarehouseStaleError(StoreBusyError):
    """A status change was saved but the warehouse could not be refreshed: its figures still
    count the batch as before, until a refresh (``talaia warehouse refresh``) succeeds."""

    def __init__(self, batch_id: int, status: str, cause: str) -> None:
        self.batch_id, self.status, self.cause = batch_id, status, cause
        super().__init__(
            f"batch {batch_id} is now {status}, but the warehouse could not be refreshed "
            f"({cause}): its figures still count the batch as before until "
            "`talaia warehouse refresh` succeeds / "
            f"el lote {batch_id} está ahora {_ES_STATUS.get(status, status)}, pero el almacén "
            "no pudo actualizarse: "
            "sus cifras siguen contando el lote hasta que `talaia warehouse refresh` funcione"
        )


def changes_facts(old: str, new: str) -> bool:
    """Whether moving a batch from ``old`` to ``new`` changes what the warehouse counts (it
    holds current batches only: status not superseded or rejected)."""
    return (old in NOT_CURRENT) != (new in NOT_CURRENT)


def refresh_warehouse(
    engine: Engine, principal: Principal, batch_id: int, status: str, path: Path | str | None
) -> bool:
    """Refresh the warehouse for one batch after a status change that added it to or removed
    it from the current batches. False when no warehouse has been built (its first build reads
    the current batches only: nothing to correct); :class:`WarehouseStaleError` (after an
    audit event ``warehouse.refresh_failed``) when the refresh fails."""
    from talaia.settings import get_settings
    from talaia.warehouse import refresh

    wpath = Path(path) if path else get_settings().resolved_warehouse_path()
    if not wpath.exists():
        return False
    try:
        _refresh_retrying(refresh, engine, wpath, batch_id)
    except Exception as exc:  # any failure: the store is committed, the warehouse is stale
        cause = f"{type(exc).__name__}: {exc}".strip()
        with engine.begin() as conn:
            audit(
                conn,
                principal.username,
                "warehouse.refresh_failed",
                "batch",
                batch_id,
                {"status": status, "error": cause[:500]},
            )
        raise WarehouseStaleError(batch_id, status, cause[:200]) from exc
    return True


#: Waits (seconds) before the next try when the warehouse file is busy: open for reading by a
#: request of this process (DuckDB refuses a writer then) or locked by another process.
REFRESH_WAITS: tuple[float, ...] = (0.1, 0.3, 0.6, 1.0, 2.0)


def _refresh_retrying(refresh, engine: Engine, path: Path, batch_id: int) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    for wait in (*REFRESH_WAITS, None):
        try:
            refresh(engine, path, batch_ids=[batch_id])
            return
        except (duckdb.ConnectionException, duckdb.IOException):
            if wait is None:
                raise
            time.sleep(wait)


def set_batch_status(
    engine: Engine,
    principal: Principal,
    batch_id: int,
    status: str,
    *,
    warehouse_path: Path | str | None = None,
) -> BatchInfo:
    """Move a batch along received → validated → approved → published (or rejected).

    A change that makes the batch non-current (rejected) or current again refreshes the
    warehouse (``warehouse_path``, default the settings' warehouse) in the same call, so that
    indicators stop (or start) counting it at once; if that refresh fails the status change
    stays saved and :class:`WarehouseStaleError` says so. Publishing and withdrawing change
    no fact (disclosure reads the batch status)."""
    batch = get_batch(engine, principal, batch_id)
    key = (batch.status, status)
    if key not in TRANSITIONS:
        raise UserInputError(f"batch {batch_id}: cannot go from {batch.status} to {status}")
    if not principal.can_upload() or (TRANSITIONS[key] and not principal.can_publish()):
        raise PermissionError("batch status")
    with engine.begin() as conn:
        changed = conn.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.status == batch.status)
            .values(status=status)
        ).rowcount
        if changed != 1:
            raise UserInputError(
                f"batch {batch_id} changed status meanwhile: reload it and try again"
            )
        audit(
            conn,
            principal.username,
            "batch.status",
            "batch",
            batch_id,
            {"from": batch.status, "to": status},
        )
    if changes_facts(batch.status, status):
        refresh_warehouse(engine, principal, batch_id, status, warehouse_path)
    return get_batch(engine, principal, batch_id)
