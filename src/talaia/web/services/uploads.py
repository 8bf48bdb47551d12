"""File uploads through the ingestion pipeline (:func:`talaia.ingest.service.ingest_file`),
and re-submission of corrected quarantined rows (:func:`talaia.ingest.service.resubmit`).

An upload runs in a background thread so that the page can show its progress (rows and bytes
read); jobs are kept in process memory (one server process) and visible only to the account
that started them and to administrators. The uploaded file is written to
``<data_dir>/uploads/<random>/`` under a safe name (letters, digits, ``._-``, at most
:data:`MAX_NAME` characters: a longer name keeps its start and its end, where dates and the
extension are) and removed with its folder once ingested (the pipeline archives what it
loads), or as soon as anything fails.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, select, update

from talaia.errors import NotFoundError, TalaiaError, UserInputError
from talaia.store.models import AuditEvent, QuarantineRow, Source
from talaia.web.services.common import Principal, audit
from talaia.web.services.data import get_batch

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
#: Longest stored file name (file systems allow 255 bytes; the store keeps 500 characters).
MAX_NAME = 120


def safe_file_name(file_name: str) -> str:
    """The name an upload is stored under: the base name with characters other than letters,
    digits and ``._-`` replaced, at most :data:`MAX_NAME` characters (the middle of a longer
    name is dropped: its start and its end, with the period and the extension, are kept)."""
    base = re.split(r"[\\/]", file_name)[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip(".") or "upload"
    if len(safe) > MAX_NAME:
        head = (MAX_NAME - 1) // 2
        safe = safe[:head] + "_" + safe[-(MAX_NAME - 1 - head) :]
    return safe


def ingest_available() -> bool:
    """True when the ingestion pipeline is installed."""
    try:
        from talaia.ingest.service import ingest_file  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


@dataclass(frozen=True, slots=True)
class UploadJob:
    """The state of one upload."""

    id: str
    owner_id: int
    source_code: str
    file_name: str
    size: int
    state: str  # running | done | failed
    rows_done: int = 0
    bytes_done: int = 0
    outcome: str | None = None  # loaded | unchanged | rejected
    batch_id: int | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    error: str | None = None

    @property
    def fraction(self) -> float:
        if self.state != "running":
            return 1.0
        return min(self.bytes_done / self.size, 0.99) if self.size else 0.0


_jobs: dict[str, UploadJob] = {}
_lock = threading.Lock()


def _set(job_id: str, **changes: object) -> None:
    with _lock:
        _jobs[job_id] = replace(_jobs[job_id], **changes)


def uploadable_sources(engine: Engine, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of the sources the principal may upload to."""
    if not principal.can_upload():
        raise PermissionError("upload")
    stmt = select(Source.code, Source.name).order_by(Source.code)
    if principal.agency_scope() is not None:
        stmt = stmt.where(Source.agency_code == principal.agency_scope())
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(stmt)]


def start_upload(
    engine: Engine,
    data_dir: Path,
    principal: Principal,
    source_code: str,
    file_name: str,
    data: bytes,
    period: str | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> UploadJob:
    """Save the file and ingest it in a background thread; returns the job."""
    if source_code not in {c for c, _ in uploadable_sources(engine, principal)}:
        raise NotFoundError(f"source {source_code!r} not found")
    safe = safe_file_name(file_name)
    if not data:
        raise UserInputError(f"{safe}: the file is empty")
    if len(data) > max_bytes:
        raise UserInputError(f"{safe}: larger than {max_bytes // 2**20} MiB")
    folder = data_dir / "uploads" / uuid.uuid4().hex
    path = folder / safe
    job = UploadJob(
        uuid.uuid4().hex, principal.user_id or 0, source_code, safe, len(data), "running"
    )
    try:
        folder.mkdir(parents=True)
        path.write_bytes(data)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise TalaiaError(
            f"{safe}: the upload could not be saved ({exc.strerror or type(exc).__name__})"
        ) from exc

    def _run() -> None:
        from talaia.ingest.service import ingest_file

        def progress(rows: int, nbytes: int) -> None:
            _set(job.id, rows_done=int(rows), bytes_done=int(nbytes))

        try:
            r = ingest_file(
                engine,
                path,
                source_code,
                user=principal.username,
                progress=progress,
                period=period or None,
            )
            _set(
                job.id,
                state="done",
                outcome=r.outcome,
                batch_id=r.batch_id,
                rows_read=r.rows_read,
                rows_accepted=r.rows_accepted,
                rows_quarantined=r.rows_quarantined,
                rows_duplicate=r.rows_duplicate,
                error=(r.report.get("message") if r.outcome != "loaded" else None),
            )
        except TalaiaError as exc:
            _set(job.id, state="failed", error=str(exc))
        except Exception as exc:
            _set(job.id, state="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    with _lock:
        _jobs[job.id] = job
    try:
        threading.Thread(target=_run, name=f"upload-{job.id[:8]}", daemon=True).start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        with _lock:
            _jobs.pop(job.id, None)
        raise
    return job


def get_job(principal: Principal, job_id: str) -> UploadJob:
    with _lock:
        job = _jobs.get(job_id)
    if job is None or (job.owner_id != principal.user_id and not principal.is_admin):
        raise NotFoundError("upload not found")
    return job


def pending_corrections(
    engine: Engine, principal: Principal, batch_id: int
) -> dict[int, dict[str, str | None]]:
    """Corrections saved on the batch's open quarantined rows: row number -> {field: value},
    from the audit log of ``quarantine.correct`` events (the latest value of each field)."""
    get_batch(engine, principal, batch_id)
    with engine.connect() as conn:
        rows = {
            str(r[0]): r[1]
            for r in conn.execute(
                select(QuarantineRow.id, QuarantineRow.row_number).where(
                    QuarantineRow.batch_id == batch_id, QuarantineRow.status == "open"
                )
            )
        }
        events = conn.execute(
            select(AuditEvent.object_id, AuditEvent.detail)
            .where(
                AuditEvent.action == "quarantine.correct",
                AuditEvent.object_type == "quarantine_row",
                AuditEvent.object_id.in_(list(rows)),
            )
            .order_by(AuditEvent.id)
        ).all()
    patches: dict[int, dict[str, str | None]] = {}
    for object_id, detail in events:
        changes = json.loads(detail or "{}")
        patch = patches.setdefault(int(rows[object_id]), {})
        for field, change in changes.items():
            patch[field] = change.get("to")
    return {k: v for k, v in patches.items() if v}


def resubmit_corrections(engine: Engine, principal: Principal, batch_id: int):
    """Re-ingest the batch's archived file with the saved corrections, as a revision that
    supersedes it; corrected rows that load are marked ``fixed`` in the old batch."""
    if not principal.can_upload():
        raise PermissionError("resubmit")
    patches = pending_corrections(engine, principal, batch_id)
    if not patches:
        raise UserInputError(f"batch {batch_id}: no corrections to re-submit")
    from talaia.ingest.service import resubmit

    result = resubmit(engine, batch_id, patches, user=principal.username)
    if result.outcome == "loaded" and result.batch_id is not None:
        with engine.begin() as conn:
            still = set(
                conn.execute(
                    select(QuarantineRow.row_number).where(
                        QuarantineRow.batch_id == result.batch_id
                    )
                ).scalars()
            )
            fixed = [n for n in patches if n not in still]
            if fixed:
                conn.execute(
                    update(QuarantineRow)
                    .where(QuarantineRow.batch_id == batch_id, QuarantineRow.row_number.in_(fixed))
                    .values(status="fixed")
                )
            audit(
                conn,
                principal.username,
                "quarantine.resubmit",
                "batch",
                batch_id,
                {"new_batch": result.batch_id, "rows_fixed": sorted(fixed)},
            )
    return result
