"""Ingestion with the store: what the CLI and the web upload page call.

:func:`ingest_file` runs the whole pipeline for one delivered file: profile → (same file already
loaded? say so, change nothing) → source, areas and crosswalk version made known to the store →
:func:`talaia.ingest.pipeline.prepare` → rejected when nothing or too much is acceptable (nothing
written) → :func:`talaia.store.batches.write_batch` (one transaction; a delivery for the same
source and period supersedes the earlier batch, kept as a revision; its audit events are written in
the same transaction) → warehouse
refresh (when the warehouse is available). The delivered file is archived under
``<data_dir>/deliveries/`` so that quarantined rows can later be corrected and re-submitted
(:func:`resubmit`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Date, Engine, bindparam, text

from talaia.errors import DataError, NotFoundError, UserInputError
from talaia.ingest.areas import AreaLookup, read_area_geojson
from talaia.ingest.pipeline import (
    CrosswalkRef,
    PreparedBatch,
    Progress,
    file_sha256,
    prepare,
)
from talaia.ingest.profile import SourceProfile, load_profile
from talaia.ingest.readers import expected_chunks
from talaia.ingest.report import build_report
from talaia.settings import get_settings
from talaia.store.scratch import remove_stale, scratch


@dataclass(frozen=True)
class IngestResult:
    """What happened to one delivered file.

    ``outcome``: ``loaded`` (a new batch), ``unchanged`` (the same file was already loaded:
    nothing changed) or ``rejected`` (nothing written; see ``report``).
    """

    outcome: str
    source: str
    file_name: str
    file_hash: str
    batch_id: int | None
    period_start: dt.date | None
    period_end: dt.date | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    near_duplicates: int
    superseded_ids: tuple[int, ...] = ()
    report: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def parse_period(text_: str | None) -> tuple[dt.date, dt.date] | None:
    """``YYYY-MM`` (a month) or ``YYYY`` (a year) -> inclusive (first day, last day)."""
    if not text_:
        return None
    try:
        if len(text_) == 4:
            y = int(text_)
            return dt.date(y, 1, 1), dt.date(y, 12, 31)
        y, m = (int(p) for p in text_.split("-"))
        first = dt.date(y, m, 1)
    except ValueError:
        raise UserInputError(
            f"period {text_!r}: use YYYY-MM or YYYY / use AAAA-MM o AAAA"
        ) from None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def _resolve_profile(
    engine: Engine, source: str | None, profile: str | Path | SourceProfile | None
):  # type: ignore[no-untyped-def]
    if isinstance(profile, SourceProfile):
        return profile, Path.cwd()
    if profile is not None:
        prof, folder = load_profile(profile)
    else:
        if source is None:
            raise UserInputError("give --source or --profile / indique --source o --profile")
        from talaia.ingest.profiles import find_profile

        path = find_profile(source)
        if path is None:
            with engine.connect() as c:
                row = c.execute(
                    text("SELECT profile FROM source WHERE code = :s"), {"s": source}
                ).first()
            if row is None or not row[0]:
                raise NotFoundError(f"source {source!r}: no profile / sin perfil; use --profile")
            import yaml

            return SourceProfile.model_validate(yaml.safe_load(row[0])), Path.cwd()
        prof, folder = load_profile(path)
    if source is not None and source != prof.source:
        raise UserInputError(
            f"profile is for source {prof.source!r}, not {source!r} / el perfil es de otra fuente"
        )
    return prof, folder


def _ensure_source(engine: Engine, prof: SourceProfile) -> None:
    with engine.begin() as c:
        if c.execute(text("SELECT 1 FROM source WHERE code = :s"), {"s": prof.source}).first():
            c.execute(
                text("UPDATE source SET profile = :p WHERE code = :s"),
                {"p": json.dumps(prof.model_dump(mode="json")), "s": prof.source},
            )
            return
        info = prof.source_info
        if info is None:
            raise NotFoundError(
                f"source {prof.source!r} is not registered and the profile has no source_info / "
                "la fuente no está registrada"
            )
        if not c.execute(
            text("SELECT 1 FROM agency WHERE code = :a"), {"a": info.agency_code}
        ).first():
            c.execute(
                text("INSERT INTO agency(code, name, kind) VALUES (:a, :n, :k)"),
                {"a": info.agency_code, "n": info.agency_name, "k": info.kind},
            )
        c.execute(
            text(
                "INSERT INTO source(code, agency_code, kind, name, profile, crosswalk_code) "
                "VALUES (:s, :a, :k, :n, :p, :c)"
            ),
            {
                "s": prof.source,
                "a": info.agency_code,
                "k": info.kind,
                "n": info.name,
                "p": json.dumps(prof.model_dump(mode="json")),
                "c": prof.source,
            },
        )


def _areas(engine: Engine, prof: SourceProfile, folder: Path) -> AreaLookup:
    spec = prof.area
    if spec.file:
        lookup, rows = read_area_geojson(
            (folder / spec.file).resolve(),
            spec.code_property,
            spec.name_property,
            spec.level,
            spec.code_prefix,
        )
        with engine.begin() as c:
            have = {r[0] for r in c.execute(text("SELECT code FROM area"))}
            new = [r for r in rows if r["code"] not in have]
            if new:
                c.execute(
                    text(
                        "INSERT INTO area(code, name, level, parent_code, geometry) "
                        "VALUES (:code, :name, :level, :parent_code, :geometry)"
                    ),
                    new,
                )
        return lookup
    with engine.connect() as c:
        rows = c.execute(text("SELECT code, name, level, geometry FROM area")).all()
    return AreaLookup.from_rows(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]
    )


def _crosswalk(
    engine: Engine, prof: SourceProfile, folder: Path, user: str | None
) -> CrosswalkRef | None:
    if not prof.crosswalk:
        return None
    from talaia.classification.validation import validate_file
    from talaia.store.crosswalks import get_version, save_version

    path = folder / prof.crosswalk
    if path.suffix.lower() in (".csv", ".xlsx"):
        rep = validate_file(path, code=prof.source)
        if rep.crosswalk is None:
            errs = "; ".join(str(i) for i in rep.issues if i.severity == "error")[:500]
            raise DataError(f"{path}: crosswalk has errors / tabla con errores: {errs}")
        version = save_version(
            engine, prof.source, rep.crosswalk.rows, path.name, rep.file_hash, loaded_by=user
        )
        return CrosswalkRef(rep.crosswalk, version)
    stored = get_version(engine, prof.crosswalk)
    return CrosswalkRef(stored.crosswalk, stored.version)


def _prior_keys(engine: Engine, prof: SourceProfile, period) -> pa.Table | None:  # type: ignore[no-untyped-def]
    """md5 keys of the source's current records in other periods (natural key = external id)."""
    if tuple(prof.natural_key) not in (("incident.external_id",), ("custody.external_id",)):
        return None
    table = prof.natural_key[0].split(".")[0]
    sql = (
        f"SELECT r.external_id, r.batch_id FROM {table} r JOIN batch b ON b.id = r.batch_id "
        "WHERE b.source_code = :s AND b.status NOT IN ('superseded', 'rejected')"
    )
    params: dict = {"s": prof.source}
    if period is not None:
        sql += " AND NOT (b.period_start = :a AND b.period_end = :b)"
        params.update(a=period[0], b=period[1])
    with engine.connect() as c:
        rows = c.execute(text(sql), params).all()
    if not rows:
        return None
    return pa.table(
        {
            "e": pa.array([r[0] for r in rows], pa.string()),
            "batch_id": pa.array([r[1] for r in rows], pa.int64()),
        }
    )


def _already(
    engine: Engine, source: str, fhash: str, period: tuple[dt.date, dt.date] | None
) -> int | None:
    """The current batch that already holds this delivery, keyed on (source, period, file hash).

    A byte-identical file for another period (two header-only files for different months) is
    another delivery. When the period is not known before reading (inferred from the data),
    the same bytes infer the same period, so the hash alone identifies the delivery.
    """
    sql = (
        "SELECT id FROM batch WHERE source_code = :s AND file_hash = :h AND "
        "status NOT IN ('superseded', 'rejected')"
    )
    params: dict = {"s": source, "h": fhash}
    if period is not None:
        sql += " AND period_start = :a AND period_end = :b"
        params.update(a=period[0], b=period[1])
    stmt = text(sql + " ORDER BY id DESC")
    if period is not None:
        stmt = stmt.bindparams(bindparam("a", type_=Date), bindparam("b", type_=Date))
    with engine.connect() as c:
        r = c.execute(stmt, params).first()
    return int(r[0]) if r else None


def _audit(
    engine: Engine, user: str | None, action: str, batch_id: int | None, detail: dict
) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO audit_event(at, username, action, object_type, object_id, "
                "detail) VALUES (:at, :u, :a, 'batch', :o, :d)"
            ),
            {
                "at": dt.datetime.now().replace(microsecond=0),
                "u": user,
                "a": action,
                "o": None if batch_id is None else str(batch_id),
                "d": json.dumps(detail, default=str),
            },
        )


def ingest_file(
    engine: Engine,
    path: str | Path,
    source: str | None = None,
    profile: str | Path | SourceProfile | None = None,
    user: str | None = None,
    progress: Progress | None = None,
    *,
    period: str | tuple[dt.date, dt.date] | None = None,
    now: dt.datetime | None = None,
    patches: dict[int, dict[str, str | None]] | None = None,
    file_hash: str | None = None,
    refresh_warehouse: bool = True,
) -> IngestResult:
    """Ingest one delivered file (see the module docstring).

    Raises
    ------
    UserInputError, NotFoundError, DataError
        Naming file, row and field; nothing is written then.
    """
    path = Path(path)
    prof, folder = _resolve_profile(engine, source, profile)
    per = parse_period(period) if isinstance(period, str) or period is None else period
    if per is None and prof.period_pattern:
        import re

        m = re.search(prof.period_pattern, path.name)
        if m:
            per = parse_period(f"{m['year']}-{m['month']}")
    fhash = file_hash or file_sha256(path)
    root = get_settings().data_dir
    remove_stale(root)  # what a killed ingestion left behind
    same = _already(engine, prof.source, fhash, per)
    if same is not None:
        return IngestResult(
            "unchanged",
            prof.source,
            path.name,
            fhash,
            same,
            None,
            None,
            0,
            0,
            0,
            0,
            0,
            report={"message": f"already loaded as batch {same}"},
        )
    _ensure_source(engine, prof)
    areas = _areas(engine, prof, folder)
    cw = _crosswalk(engine, prof, folder, user)
    secret = get_settings().resolved_secret_key()
    # accepted rows are handed chunk by chunk (in memory, through a bounded queue) to the
    # store's writer: memory is bounded by the chunk size, not the file size; the scratch
    # folder next to the store takes DuckDB's spill and the near-duplicate candidates
    with scratch("talaia-ingest-", root) as spill:
        t0 = time.perf_counter()
        producer = _Producer(
            lambda on_part: prepare(
                path,
                prof,
                areas=areas,
                crosswalk=cw,
                secret=secret,
                period=per,
                prior_keys=_prior_keys(engine, prof, per),
                now=now,
                patches=patches,
                progress=progress,
                spill_dir=spill,
                on_part=on_part,
                file_hash=fhash,
            )
        )
        timings: dict = {}
        state: dict = {}  # what complete() decided: the batch's report

        def complete():  # type: ignore[no-untyped-def]
            # every part is staged: the file is prepared; decide what the batch is
            prep = producer.result()
            timings["prepare_s"] = round(time.perf_counter() - t0, 3)
            timings["prepare"] = prep.extra.get("timings", {})
            report = build_report(prep, user)
            if patches:
                report["corrections"] = {str(k): v for k, v in patches.items()}
            state["report"] = report
            share = prep.rows_quarantined / prep.rows_read if prep.rows_read else 1.0
            empty_ok = prof.allow_empty and prep.rows_read == 0
            if prep.rows_read == 0:
                share = 0.0
            if (
                (prep.rows_accepted == 0 and not empty_ok)
                or share > prof.max_quarantined_share
                or prep.period is None
            ):
                raise _RejectedError(prep, report)
            return BatchPayload(
                source_code=prof.source,
                period_start=prep.period[0],
                period_end=prep.period[1],
                file_name=path.name,
                file_hash=fhash,
                quarantine=prep.quarantine,
                rows_read=prep.rows_read,
                rows_accepted=prep.rows_accepted,
                rows_quarantined=prep.rows_quarantined,
                rows_duplicate=prep.rows_duplicate,
                loaded_by=user,
                received_at=dt.datetime.now().replace(microsecond=0),
                report=json.dumps(report, default=str, ensure_ascii=False),
                audit_action="batch.loaded",
                audit_detail={
                    "source": prof.source,
                    "file": path.name,
                    "file_hash": fhash,
                    "period": [str(prep.period[0]), str(prep.period[1])],
                    "rows_accepted": prep.rows_accepted,
                    "profile_version": prof.profile_version,
                    "profile_hash": prof.profile_hash,
                },
            )

        from talaia.store.batches import BatchPayload, write_batch

        # the file is prepared in a thread while the main thread, inside the batch's
        # transaction, writes each part as soon as it is split (talaia.store.batches)
        placeholder = per or (dt.date(1, 1, 1), dt.date(1, 1, 1))
        payload = BatchPayload(
            source_code=prof.source,
            period_start=placeholder[0],
            period_end=placeholder[1],
            parts=producer.parts(),
            complete=complete,
            expected_parts=expected_chunks(path, prof.format),
        )
        try:
            res = write_batch(engine, payload)
        except _RejectedError as rej:
            prep, report = rej.prep, rej.report
            report["status"] = "rejected"
            report["message"] = (
                f"batch rejected, nothing written / lote rechazado, nada escrito: "
                f"{prep.rows_quarantined:,} of {prep.rows_read:,} rows quarantined (limit "
                f"{prof.max_quarantined_share:.0%}), {prep.rows_accepted:,} accepted"
                + ("" if prep.period else "; period unknown / periodo desconocido")
            )
            _audit(
                engine,
                user,
                "batch.rejected",
                None,
                {
                    "source": prof.source,
                    "file": path.name,
                    "file_hash": fhash,
                    "rows_read": prep.rows_read,
                    "rows_quarantined": prep.rows_quarantined,
                },
            )
            return _result("rejected", prep, None, (), report)
        finally:
            producer.stop()
        prep = producer.result()
        report = state["report"]
        t2 = time.perf_counter()
        timings["write_after_prepare_s"] = round(t2 - t0 - timings.get("prepare_s", 0.0), 3)
        if res.outcome == "unchanged":
            return _result("unchanged", prep, res.batch_id, (), report)
        _archive(path, fhash)  # the audit events were written in the batch's transaction
        if refresh_warehouse:
            report["warehouse"] = _refresh(engine, [res.batch_id, *res.superseded_ids])
            timings["refresh_s"] = round(time.perf_counter() - t2, 3)
        out = _result("loaded", prep, res.batch_id, tuple(res.superseded_ids), report)
        return IngestResult(**{**out.__dict__, "timings": timings})


class _RejectedError(Exception):
    """Raised from the batch's completion when the delivery is refused (nothing written)."""

    def __init__(self, prep: PreparedBatch, report: dict) -> None:
        super().__init__("rejected")
        self.prep, self.report = prep, report


_DONE = object()


class _Producer:
    """Runs ``run(on_part)`` (:func:`talaia.ingest.pipeline.prepare`) in a thread; the parts it
    hands over (a chunk's canonical tables, in memory) reach the consumer through a small
    queue, in order: two parts at most wait, and the producer blocks until there is room, so
    memory stays bounded by the chunk size. :meth:`stop` makes a producer that is still
    running fail at its next part (the consumer gave up) and waits for it."""

    def __init__(self, run: Callable[[Callable[[dict[str, pa.Table]], None]], PreparedBatch]):
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._out: dict = {}

        def target() -> None:
            try:
                self._out["prep"] = run(self._put)
            except BaseException as exc:  # handed to the consumer
                self._out["error"] = exc
            finally:
                with contextlib.suppress(_StoppedError):
                    self._put(_DONE)

        self._thread = threading.Thread(target=target, name="talaia-prepare", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> None:
        while True:
            if self._stop.is_set():
                raise _StoppedError
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def parts(self) -> Iterator[dict[str, pa.Table]]:
        """The parts, as they come (ends when the producer is done, failed or stopped). They
        are handed over in memory, never written to disk: at 10M rows writing them out and
        reading them back cost about 3% of the ingestion's CPU time."""
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            yield item

    def result(self) -> PreparedBatch:
        """Wait for the producer; its PreparedBatch, or its exception raised here."""
        self._thread.join()
        if "error" in self._out:
            raise self._out["error"]
        return self._out["prep"]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _StoppedError(Exception):
    """The consumer stopped: the producer ends at its next part."""


def _result(outcome, prep: PreparedBatch, batch_id, superseded, report) -> IngestResult:  # type: ignore[no-untyped-def]
    a, b = prep.period or (None, None)
    return IngestResult(
        outcome,
        prep.source,
        prep.file_name,
        prep.file_hash,
        batch_id,
        a,
        b,
        prep.rows_read,
        prep.rows_accepted,
        prep.rows_quarantined,
        prep.rows_duplicate,
        prep.near_duplicates.num_rows,
        superseded,
        report,
    )


def _archive(path: Path, fhash: str) -> None:
    dest = get_settings().data_dir / "deliveries"
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{fhash}{path.suffix.lower()}"
    if not target.exists():
        # copied in 16 MiB blocks through a temporary name: ``shutil.copyfile``'s sendfile
        # path was measured adding the file's size to the resident memory of the process
        tmp = target.with_name(target.name + ".part")
        with path.open("rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
        tmp.replace(target)


def _refresh(engine: Engine, batch_ids: list[int]) -> str:
    """Refresh the warehouse for the new and superseded batches; returns a status line (the
    batch is committed either way: a failed refresh is repaired by ``rebuild``)."""
    from talaia.warehouse import refresh

    try:
        refresh(engine, batch_ids=batch_ids)
    except Exception as exc:
        return f"warehouse refresh failed / falló la actualización del almacén: {exc}"
    return "refreshed"


def resubmit(
    engine: Engine,
    batch_id: int,
    patches: dict[int, dict[str, str | None]],
    user: str | None = None,
    profile: str | Path | None = None,
) -> IngestResult:
    """Re-submit a batch's delivered file with corrections of quarantined rows.

    The archived original plus the corrections are ingested again as a revision for the same
    source and period (the earlier batch is superseded, kept, and audited).
    """
    with engine.connect() as c:
        b = c.execute(
            text(
                "SELECT source_code, file_name, file_hash, period_start, period_end, report "
                "FROM batch WHERE id = :i"
            ),
            {"i": batch_id},
        ).first()
    if b is None:
        raise NotFoundError(f"batch {batch_id} not found / lote no encontrado")
    src = get_settings().data_dir / "deliveries"
    orig = next(iter(src.glob(f"{b[2]}.*")), None) if src.exists() else None
    if orig is None:
        raise NotFoundError(
            f"batch {batch_id}: the delivered file is not archived / "
            "el archivo entregado no está archivado"
        )
    ps, pe = b[3], b[4]
    ps = ps if isinstance(ps, dt.date) else dt.date.fromisoformat(str(ps))
    pe = pe if isinstance(pe, dt.date) else dt.date.fromisoformat(str(pe))
    import hashlib

    earlier = json.loads(b[5] or "{}").get("corrections") or {}
    merged: dict[int, dict[str, str | None]] = {int(k): dict(v) for k, v in earlier.items()}
    for r, edits in patches.items():
        merged.setdefault(int(r), {}).update(edits)
    patches = merged
    h = hashlib.sha256((b[2] + json.dumps(patches, sort_keys=True)).encode()).hexdigest()
    named = Path(get_settings().data_dir / "deliveries" / f"fix-{h[:12]}-{b[1]}")
    shutil.copyfile(orig, named)
    try:
        res = ingest_file(
            engine, named, b[0], profile, user, period=(ps, pe), patches=patches, file_hash=h
        )
    finally:
        named.unlink(missing_ok=True)
    if res.outcome == "loaded":
        with engine.begin() as c:
            still = {
                r[0]
                for r in c.execute(
                    text("SELECT row_number FROM quarantine_row WHERE batch_id = :b"),
                    {"b": res.batch_id},
                )
            }
            fixed = [r for r in patches if r not in still]
            for r in fixed:  # the corrected rows (a handful)
                c.execute(
                    text(
                        "UPDATE quarantine_row SET status = 'fixed' WHERE batch_id = :b "
                        "AND row_number = :r"
                    ),
                    {"b": batch_id, "r": r},
                )
    return res
