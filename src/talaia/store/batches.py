"""Write one delivery (a batch) of canonical records into the store, in one transaction.

Method
------
1. The records come as one set of Arrow tables or as *parts* (an iterable of self-contained
   sets, each read when its turn comes: a batch larger than memory streams through). Each part
   is conformed to the canonical schemas (:func:`talaia.records.schema.conform`) and validated
   column-wise with ``pyarrow.compute``: required fields present, ``external_id`` unique,
   ``incident_ref`` / ``offence_ref`` resolve inside the part (and a victim's offence belongs to
   the victim's incident), area codes exist. The first violation raises
   :class:`talaia.errors.DataError` naming table, row (1-based over the batch, with its
   ``external_id``) and field. References are mapped to ids *relative to the batch* with
   ``pyarrow.compute.index_in`` (no Python loop per row). ``external_id`` uniqueness across
   parts is checked once all are in (or when the store's unique index meets a repeat first).
   A payload's ``complete`` callable, when given, is called then and gives its final counts,
   period and report.
2. The transaction comes first: SQLite ``BEGIN IMMEDIATE`` (the store's single write lock;
   readers go on, WAL; a batch waits for another batch's lock up to
   :data:`SQLITE_WRITER_WAIT_S`, then :class:`talaia.errors.StoreBusyError`), PostgreSQL
   ``BEGIN`` + ``LOCK TABLE ... IN EXCLUSIVE MODE`` on the batch and record tables (other
   writers of those tables wait, readers do not). The source and the area codes are read under
   the lock, the surrogate id ranges are reserved (``max(id) + 1 ...``) and a provisional
   batch row is written. Then each part is written as it comes: PostgreSQL ``COPY``'s it (ADBC
   ``adbc_ingest``); SQLite stages it (:class:`talaia.store.staging.StagedCopy`: a scratch
   SQLite file written by the ADBC driver, closed, attached, copied with one
   ``INSERT ... SELECT`` per table adding the id bases; parts are grouped, at most
   :data:`talaia.store.staging.MAX_STAGES` files per batch). The batch row gets its final
   values at the end. On SQLite this holds the write lock for the whole ingestion (the
   preparation of the file included), where staging everything before the lock held it only
   for the copy; in exchange the copy runs while the rest of the file is prepared (a 1M-row
   police file: about 19 s instead of 24 s end to end, ``benchmarks/ingest_speed.py``).
3. SQLite's per-row foreign-key checks are switched off *on this connection only* for the
   copy (everything they would check was validated in step 1 against what was read under the
   write lock), with a larger page cache (:data:`SQLITE_LOAD_PRAGMAS`); they are switched back on
   afterwards. On PostgreSQL, when the store's role is a superuser, ``SET LOCAL
   session_replication_role = replica`` does the same for the transaction (``area`` and
   ``source`` locked in ``SHARE`` mode so that what was validated cannot change before the
   commit); other roles keep the per-row checks. Batch rows and quarantine rows (few) go
   through ``executemany`` on SQLite (:data:`SQLITE_CHUNK_ROWS` rows converted at a time) and
   ``COPY`` on PostgreSQL.
4. Audit events (``audit_action``) are written in the same transaction. Any failure rolls
   everything back: after a crash nothing is half-written.
5. Supersession: a batch for the same source and the same period (``period_start``,
   ``period_end``) supersedes the current one. The earlier batch's status becomes
   ``superseded`` and its records are **kept** (traceability: a published figure can still be
   traced to the batch that produced it), but they are no longer *current*: everything that
   reads records (warehouse, status) only reads batches whose status is not ``superseded`` or
   ``rejected`` (:data:`talaia.store.models.NOT_CURRENT`). The same ``file_hash`` for the same
   source and period as the current batch is a no-op, reported as ``outcome="unchanged"``. A
   ``rejected`` batch (counts, report, quarantine rows, no records) supersedes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from talaia.errors import DataError, NotFoundError, StoreBusyError, UserInputError
from talaia.records.schema import TABLES, conform
from talaia.store.database import bulk_connect, is_sqlite
from talaia.store.models import BATCH_STATUSES, NOT_CURRENT
from talaia.store.staging import StagedCopy, StagedInsert, for_sqlite

#: Record tables in insertion order (parents first).
RECORD_TABLES: tuple[str, ...] = ("incident", "offence", "victim", "perpetrator", "custody")
LOCKED_TABLES: tuple[str, ...] = ("batch", *RECORD_TABLES, "quarantine_row")

#: Seconds a batch waits for SQLite's write lock (held by another batch from its first part to
#: its commit) before giving up with :class:`talaia.errors.StoreBusyError`.
SQLITE_WRITER_WAIT_S = 3600.0

#: Rows converted to Python objects at a time for SQLite's ``executemany``.
SQLITE_CHUNK_ROWS = 100_000

#: PRAGMAs of the bulk SQLite connection while it writes a batch (page cache in KiB when
#: negative; temporary b-trees in memory). ``synchronous=NORMAL`` is already set: WAL-safe.
SQLITE_LOAD_PRAGMAS: tuple[str, ...] = ("cache_size=-131072",)

_EMPTY: Mapping[str, pa.Table] = MappingProxyType({})


@dataclass(frozen=True)
class BatchPayload:
    """One delivery of one source for one period, in canonical form.

    Attributes
    ----------
    source_code
        Code of a source in the ``source`` table.
    period_start, period_end
        Period the delivery covers (inclusive dates).
    tables
        Canonical Arrow tables by name (``incident``, ``offence``, ``victim``, ``perpetrator``,
        ``custody``); absent tables are empty.
    file_name, file_hash
        The delivered file and its hash (sha256 hex); the same hash for the same source and
        period as the current batch makes :func:`write_batch` a no-op.
    quarantine
        Rejected input rows: Arrow table with ``row_number`` (int), ``raw`` and ``reasons``
        (JSON text; other types are serialized to JSON).
    rows_read, rows_accepted, rows_quarantined, rows_duplicate
        Counts of the ingestion; ``None`` derives them: accepted = incident rows (else custody
        rows), quarantined = quarantine rows, read = accepted + quarantined + duplicate.
    status
        Status of the new batch (default ``validated``). ``rejected`` records a delivery that
        was refused: the batch row (counts, report) and its quarantine rows, no records; it
        supersedes nothing and is never current.
    parts
        Instead of ``tables``, for a batch too large to hold in memory: the records as an
        iterable (consumed once) of self-contained parts, each a mapping of canonical tables
        whose ``incident_ref`` / ``offence_ref`` resolve inside the same part. Parts are
        validated and inserted one at a time inside the batch's transaction; ``external_id``
        uniqueness is checked across parts before the commit.
    complete
        With ``parts``: called once every part is written; returns the payload's final form
        (counts, period, quarantine, report, audit; its ``parts`` are ignored). Lets the
        caller write parts while it is still producing them (see :func:`write_batch`).
    expected_parts
        With ``parts``: about how many there will be (a guess; on SQLite it sets how parts
        are grouped into staging files, :class:`talaia.store.staging.StagedCopy`).
    audit_action, audit_detail
        When ``audit_action`` is given, an ``audit_event`` (user ``loaded_by``, object the new
        batch, detail = ``audit_detail`` plus ``supersedes``: the superseded batch ids) is
        written in the batch's own transaction, and one ``batch.superseded`` event (detail
        ``{"by": new id}``) per superseded batch: the audit trail and the store cannot
        disagree after a crash.
    """

    source_code: str
    period_start: dt.date
    period_end: dt.date
    tables: Mapping[str, pa.Table] = field(default_factory=lambda: _EMPTY)
    file_name: str | None = None
    file_hash: str | None = None
    quarantine: pa.Table | None = None
    rows_read: int | None = None
    rows_accepted: int | None = None
    rows_quarantined: int | None = None
    rows_duplicate: int = 0
    status: str = "validated"
    loaded_by: str | None = None
    received_at: dt.datetime | None = None
    report: str | None = None
    audit_action: str | None = None
    audit_detail: Mapping[str, Any] | None = None
    parts: Iterable[Mapping[str, pa.Table]] | None = None
    complete: Callable[[], BatchPayload] | None = None
    expected_parts: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """What :func:`write_batch` did.

    Attributes
    ----------
    batch_id
        Id of the new batch, or of the existing identical one when ``outcome="unchanged"``.
    outcome
        ``"loaded"`` or ``"unchanged"`` (same file hash already current: nothing written).
    superseded_ids
        Batches this one superseded (empty when none).
    rows
        Rows written per table (``quarantine_row`` included).
    """

    batch_id: int
    source_code: str
    period_start: dt.date
    period_end: dt.date
    outcome: str
    status: str
    superseded_ids: tuple[int, ...] = ()
    rows: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


# --- validation (pure Arrow) -------------------------------------------------------------------


def _row_label(table: pa.Table, i: int, base: int = 0) -> str:
    """``row N (external_id X)``; ``base`` = rows of the table in earlier parts of the batch."""
    ext = table.column("external_id")[i].as_py() if "external_id" in table.column_names else None
    return f"row {base + i + 1}" + (f" (external_id {ext!r})" if ext is not None else "")


def _first_true(mask: pa.ChunkedArray | pa.Array) -> int | None:
    arr = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    hits = np.flatnonzero(arr)
    return int(hits[0]) if hits.size else None


def _conform_tables(part: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {}
    for name, table in part.items():
        if name not in TABLES:
            raise UserInputError(f"batch: unknown table {name!r} (expected one of {list(TABLES)})")
        try:
            out[name] = conform(table, name)
        except KeyError as exc:
            raise DataError(str(exc.args[0])) from None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{name}: cannot convert to the canonical schema: {exc}") from None
    return out


def _check_required(name: str, table: pa.Table, base: int = 0) -> None:
    for f in TABLES[name]:
        if f.nullable:
            continue
        i = _first_true(pc.is_null(table.column(f.name)))
        if i is not None:
            raise DataError(f"{name} {_row_label(table, i, base)}: field {f.name!r} is empty")


def _check_unique(name: str, table: pa.Table, base: int = 0) -> None:
    if table.num_rows == 0:
        return
    counts = table.group_by("external_id").aggregate([("external_id", "count")])
    dups = counts.filter(pc.greater(counts.column("external_id_count"), 1))
    if dups.num_rows:
        value = dups.column("external_id")[0]
        i = _first_true(pc.equal(table.column("external_id"), value))
        rows = np.flatnonzero(
            pc.equal(table.column("external_id"), value).to_numpy(zero_copy_only=False)
        )
        raise DataError(
            f"{name} row {base + int(rows[1]) + 1}: field 'external_id' {value.as_py()!r} "
            f"repeats row {base + (i or 0) + 1}"
        )


def _resolve(
    name: str,
    table: pa.Table,
    fieldname: str,
    keys: pa.ChunkedArray | pa.Array,
    target: str,
    base: int = 0,
) -> pa.Array:
    """Indices into ``keys`` of ``table[fieldname]``; DataError on the first unresolved ref."""
    refs = table.column(fieldname)
    idx = pc.index_in(refs, value_set=pa.chunked_array(keys).combine_chunks())
    bad = pc.and_(pc.is_valid(refs), pc.is_null(idx))
    i = _first_true(bad)
    if i is not None:
        raise DataError(
            f"{name} {_row_label(table, i, base)}: field {fieldname!r} {refs[i].as_py()!r} "
            f"does not match any {target} external_id in this batch"
        )
    return idx.combine_chunks() if isinstance(idx, pa.ChunkedArray) else idx


def _check_areas(name: str, table: pa.Table, areas: pa.Array, base: int = 0) -> None:
    col = table.column("area_code")
    i = _first_true(pc.invert(pc.is_in(col, value_set=areas)))
    if i is not None:
        raise DataError(
            f"{name} {_row_label(table, i, base)}: field 'area_code' {col[i].as_py()!r} is not a "
            "known area"
        )


# --- store form ----------------------------------------------------------------------------------


def _ids(start: int, n: int) -> pa.Array:
    return pa.array(np.arange(start, start + n, dtype=np.int64))


def _const(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    return pa.array([value] * 1, typ).take(pa.array(np.zeros(n, dtype=np.int64)))


def _pylist(col: pa.Array | pa.ChunkedArray) -> list[Any]:
    """One column as Python values for ``executemany``: numbers without nulls go through
    NumPy's ``tolist`` (several times faster than Arrow's ``to_pylist``)."""
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return col.to_numpy().tolist()
    return col.to_pylist()


def _sqlite_rows(table: pa.Table, chunk_rows: int) -> Iterator[tuple[Any, ...]]:
    """Rows of ``table`` as tuples, converted one chunk of ``chunk_rows`` at a time (only one
    chunk is ever held as Python objects)."""
    for chunk in table.to_batches(max_chunksize=chunk_rows):
        yield from zip(*(_pylist(c) for c in for_sqlite(chunk)), strict=True)


def _json_text(col: pa.ChunkedArray) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col.cast(pa.string()).combine_chunks()
    # quarantine rows are few: serialize non-text values one by one
    return pa.array(
        [None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string()
    )


def _quarantine(q: pa.Table, batch_id: int, start: int) -> pa.Table:
    n = q.num_rows
    for col in ("row_number", "raw", "reasons"):
        if col not in q.column_names:
            raise DataError(f"quarantine: required column {col!r} is missing")
    return pa.table(
        {
            "id": _ids(start, n),
            "batch_id": _const(batch_id, n, pa.int64()),
            "row_number": q.column("row_number").cast(pa.int64()),
            "raw": _json_text(q.column("raw")),
            "reasons": _json_text(q.column("reasons")),
            "status": _const("open", n, pa.string()),
        }
    )


# --- the transaction ----------------------------------------------------------------------------


class _Tx:
    """Small helper over a bulk cursor (ADBC or sqlite3): placeholders, queries."""

    def __init__(self, conn: Any, sqlite: bool) -> None:
        self.conn = conn
        self.cur = conn.cursor()
        self.sqlite = sqlite

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        if not self.sqlite:
            for k in range(1, len(params) + 1):
                sql = sql.replace("?", f"${k}", 1)
        self.cur.execute(sql, params or None)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return list(self.cur.fetchall())

    def max_id(self, table: str) -> int:
        return int(self.rows(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0])


def _ingest(tx: _Tx, name: str, table: pa.Table | StagedInsert) -> int:
    """Bulk-insert into table ``name``: an Arrow table (ADBC ``COPY`` on PostgreSQL,
    ``executemany`` on SQLite), or on SQLite a staged table's ``INSERT ... SELECT``
    (:meth:`talaia.store.staging.StagedTable.insert`)."""
    if isinstance(table, StagedInsert):
        tx.execute(table.sql)
        return table.num_rows
    if table.num_rows == 0:
        return 0
    if not tx.sqlite:
        tx.cur.adbc_ingest(name, table, mode="append")
        return table.num_rows
    # all-null columns are left to their default (NULL): nothing to convert or bind
    table = table.select([c for c in table.column_names if table[c].null_count < table.num_rows])
    cols = ", ".join(table.column_names)
    marks = ", ".join("?" * table.num_columns)
    tx.cur.executemany(
        f"INSERT INTO {name} ({cols}) VALUES ({marks})", _sqlite_rows(table, SQLITE_CHUNK_ROWS)
    )
    return table.num_rows


def _batch_row(
    payload: BatchPayload, batch_id: int, supersedes: int | None, counts: dict
) -> pa.Table:
    now = dt.datetime.now().replace(microsecond=0)
    ts = pa.timestamp("s")
    return pa.table(
        {
            "id": pa.array([batch_id], pa.int64()),
            "source_code": pa.array([payload.source_code], pa.string()),
            "file_name": pa.array([payload.file_name], pa.string()),
            "file_hash": pa.array([payload.file_hash], pa.string()),
            "period_start": pa.array([payload.period_start], pa.date32()),
            "period_end": pa.array([payload.period_end], pa.date32()),
            "status": pa.array([payload.status], pa.string()),
            "rows_read": pa.array([counts["read"]], pa.int64()),
            "rows_accepted": pa.array([counts["accepted"]], pa.int64()),
            "rows_quarantined": pa.array([counts["quarantined"]], pa.int64()),
            "rows_duplicate": pa.array([counts["duplicate"]], pa.int64()),
            "received_at": pa.array([payload.received_at or now], ts),
            "loaded_at": pa.array([now], ts),
            "loaded_by": pa.array([payload.loaded_by], pa.string()),
            "supersedes_id": pa.array([supersedes], pa.int64()),
            "report": pa.array([payload.report], pa.string()),
        }
    )


def _counts(payload: BatchPayload, written: Mapping[str, int] | None) -> dict[str, int]:
    """The batch's counts: the payload's, else derived from the rows ``written`` per table
    (accepted = incident rows, else custody rows; 0 while nothing is written yet)."""
    accepted = payload.rows_accepted
    if accepted is None:
        written = written or {}
        accepted = written.get("incident", written.get("custody", 0))
    quarantined = payload.rows_quarantined
    if quarantined is None:
        quarantined = payload.quarantine.num_rows if payload.quarantine is not None else 0
    read = payload.rows_read
    if read is None:
        read = accepted + quarantined + payload.rows_duplicate
    return {
        "read": read,
        "accepted": accepted,
        "quarantined": quarantined,
        "duplicate": payload.rows_duplicate,
    }


def _begin_immediate(tx: _Tx, wait_s: float | None = None) -> None:
    """``BEGIN IMMEDIATE``, waiting for another batch's write lock up to ``wait_s`` seconds
    (:data:`SQLITE_WRITER_WAIT_S`; each try waits the connection's busy timeout)."""
    deadline = time.monotonic() + (SQLITE_WRITER_WAIT_S if wait_s is None else wait_s)
    while True:
        try:
            tx.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    "the store is busy writing another batch; try again later / el almacén "
                    "está ocupado escribiendo otro lote; inténtelo más tarde"
                ) from exc


def _known(tx: _Tx, payload: BatchPayload) -> pa.Array:
    """The known area codes (NotFoundError for an unknown source); run under the write lock so
    that what was validated is what the records reference at commit."""
    if not tx.rows("SELECT 1 FROM source WHERE code = ?", (payload.source_code,)):
        raise NotFoundError(f"source {payload.source_code!r} is not registered")
    return pa.array([r[0] for r in tx.rows("SELECT code FROM area")], pa.string())


def _audit(tx: _Tx, payload: BatchPayload, batch_id: int, earlier: tuple[int, ...]) -> None:
    """The batch's audit events, inside its transaction."""
    now = dt.datetime.now().replace(microsecond=0)
    at = now.isoformat(sep=" ") + ".000000" if tx.sqlite else now
    detail = {**(payload.audit_detail or {}), "supersedes": list(earlier)}
    events = [(payload.audit_action, batch_id, detail)]
    events += [("batch.superseded", old, {"by": batch_id}) for old in earlier]
    for action, obj, det in events:
        tx.execute(
            "INSERT INTO audit_event(at, username, action, object_type, object_id, detail) "
            "VALUES (?, ?, ?, 'batch', ?, ?)",
            (at, payload.loaded_by, action, str(obj), json.dumps(det, default=str)),
        )


def _part_tables(
    part: Mapping[str, pa.Table], source_code: str, areas: pa.Array, done: dict[str, int]
) -> list[tuple[str, pa.Table]]:
    """Validate one self-contained part of a batch (its references resolve inside it) and return
    its tables in store form, parents first, with ids *relative to the batch* (``id``,
    ``incident_id``, ``offence_id``: 0-based over all parts so far) and no ``batch_id``;
    ``done`` (rows so far per table) advances."""
    tables = _conform_tables(part)
    for name, table in tables.items():
        _check_required(name, table, done.get(name, 0))
        _check_unique(name, table, done.get(name, 0))
    for name in ("incident", "custody"):
        if name in tables:
            _check_areas(name, tables[name], areas, done.get(name, 0))
    incident = tables.get("incident", TABLES["incident"].empty_table())
    offence = tables.get("offence", TABLES["offence"].empty_table())
    inc_keys = incident.column("external_id")
    off_inc = _resolve(
        "offence", offence, "incident_ref", inc_keys, "incident", done.get("offence", 0)
    )
    links: dict[str, tuple[pa.Array, pa.Array]] = {}
    for name in ("victim", "perpetrator"):
        if name not in tables:
            continue
        t, base = tables[name], done.get(name, 0)
        inc_idx = _resolve(name, t, "incident_ref", inc_keys, "incident", base)
        off_idx = _resolve(name, t, "offence_ref", offence.column("external_id"), "offence", base)
        i = _first_true(pc.not_equal(pc.take(off_inc, off_idx), inc_idx))
        if i is not None:
            raise DataError(
                f"{name} {_row_label(t, i, base)}: field 'offence_ref' "
                f"{t['offence_ref'][i].as_py()!r} belongs to another incident than its incident_ref"
            )
        links[name] = (inc_idx, off_idx)
    out: list[tuple[str, pa.Table]] = []

    def put(name: str, lead: list[tuple[str, pa.Array]], rest: pa.Table) -> None:
        n = rest.num_rows
        cols = [("id", _ids(done.get(name, 0), n)), *lead]
        out.append(
            (
                name,
                pa.Table.from_arrays(
                    [c for _, c in cols] + rest.columns,
                    names=[k for k, _ in cols] + rest.column_names,
                ),
            )
        )
        done[name] = done.get(name, 0) + n

    inc0, off0 = done.get("incident", 0), done.get("offence", 0)
    if "incident" in tables:
        n = incident.num_rows
        put("incident", [("source_code", _const(source_code, n, pa.string()))], incident)
    if "offence" in tables:
        put(
            "offence",
            [("incident_id", pc.add(off_inc.cast(pa.int64()), inc0))],
            offence.drop_columns(["incident_ref"]),
        )
    for name, (inc_idx, off_idx) in links.items():
        put(
            name,
            [
                ("incident_id", pc.add(inc_idx.cast(pa.int64()), inc0)),
                ("offence_id", pc.add(off_idx.cast(pa.int64()), off0)),
            ],
            tables[name].drop_columns(["incident_ref", "offence_ref"]),
        )
    if "custody" in tables:
        c = tables["custody"]
        put("custody", [("source_code", _const(source_code, c.num_rows, pa.string()))], c)
    return out


def _completed(payload: BatchPayload) -> BatchPayload:
    """The payload's final form (its ``complete`` callable's result), checked."""
    if payload.complete is None:
        return payload
    final = replace(payload.complete(), parts=None, complete=None)
    _check_payload(final)
    return final


def _update_batch_row(tx: _Tx, row: pa.Table) -> None:
    """Give the provisional batch row its final values."""
    if tx.sqlite:
        row = pa.Table.from_arrays(for_sqlite(row), names=row.column_names)
    values = {k: row.column(k)[0].as_py() for k in row.column_names if k != "id"}
    sets = ", ".join(f"{k} = ?" for k in values)
    tx.execute(
        f"UPDATE batch SET {sets} WHERE id = ?", (*values.values(), row.column("id")[0].as_py())
    )


def _shift(name: str, table: pa.Table, batch_id: int, bases: Mapping[str, int]) -> pa.Table:
    """Relative ids (see :func:`_part_tables`) to store ids; ``batch_id`` added after ``id``."""
    shift = {
        "id": bases[name],
        "incident_id": bases.get("incident", 0),
        "offence_id": bases.get("offence", 0),
    }
    for col, base in shift.items():
        if col in table.column_names:
            i = table.column_names.index(col)
            table = table.set_column(i, col, pc.add(table.column(col), base))
    return table.add_column(1, "batch_id", _const(batch_id, table.num_rows, pa.int64()))


def _store_folder(engine: Engine) -> Path:
    """The folder of an SQLite store's file (the staging file goes there: same disk)."""
    db = engine.url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return Path(tempfile.gettempdir())
    return Path(db).resolve().parent


def _own_copy(col: pa.ChunkedArray) -> pa.Array:
    """A compact copy of a string column (a slice would keep the whole part's buffers, e.g. a
    memory-mapped spill file, alive until the commit)."""
    return pc.binary_join_element_wise(col.combine_chunks(), "", "")


def _check_unique_across(keys: dict[str, list[pa.Array]]) -> None:
    """``external_id`` unique per table across the parts of a batch (DataError naming rows)."""
    for name, cols in keys.items():
        if len(cols) > 1:
            _check_unique(name, pa.table({"external_id": pa.chunked_array(cols)}))


def _check_payload(payload: BatchPayload) -> None:
    rejected = payload.status == "rejected"
    if payload.status not in BATCH_STATUSES or payload.status == "superseded":
        raise UserInputError(f"batch: status {payload.status!r} cannot be written")
    if rejected and (payload.parts is not None or any(t.num_rows for t in payload.tables.values())):
        raise UserInputError(
            "batch: a rejected batch holds no records / un lote rechazado no tiene registros"
        )
    if payload.period_end < payload.period_start:
        raise UserInputError(
            f"batch: period_end {payload.period_end} is before period_start {payload.period_start}"
        )


def write_batch(
    engine: Engine, payload: BatchPayload, *, connection: Any | None = None
) -> BatchResult:
    """Write one batch (batch row, records, quarantine rows) in one transaction.

    See the module docstring for the method. Raises :class:`DataError` (naming table, row and
    field) when the payload violates referential integrity or a required field, and
    :class:`NotFoundError` for an unknown source. Records come from ``payload.tables`` or,
    for a batch too large to hold in memory, from ``payload.parts`` (consumed one part at a
    time: each validated and staged, :mod:`talaia.store.staging`, before the transaction
    copies them all).

    When ``payload.complete`` is given, it is called once every part has been staged and its
    result (a payload without parts) gives the batch's counts, period, quarantine, report and
    audit: the caller may still be producing the parts while they are staged (ingestion
    prepares a file and stages its first chunks at the same time). An exception it raises
    stops the write: nothing is written, the staged tables are dropped.

    Parameters
    ----------
    engine
        The store.
    payload
        The batch.
    connection
        Optional open :func:`talaia.store.database.bulk_connect` connection to reuse (loading
        many batches); it must not be inside a transaction. Default: one is opened and closed.
    """
    if payload.complete is None:
        _check_payload(payload)
    parts: Iterable[Mapping[str, pa.Table]] = (
        payload.parts if payload.parts is not None else [payload.tables]
    )
    sqlite = is_sqlite(engine)
    conn = connection if connection is not None else bulk_connect(engine)
    tx = _Tx(conn, sqlite)
    copy: StagedCopy | None = None
    rows: dict[str, int] = {}
    keys: dict[str, list[pa.Array]] = {}
    present: set[str] = set()
    try:
        # the transaction first: the writer's lock (SQLite: the whole store's, other readers go
        # on; PostgreSQL: the batch and record tables', other readers and writers go on)
        if sqlite:
            # foreign keys: every reference is validated in Arrow (inside a part) and the
            # source and area codes are read under the write lock, so this connection skips
            # SQLite's per-row checks for the copy (a per-connection setting, restored below:
            # other connections keep enforcing them)
            tx.execute("PRAGMA foreign_keys=OFF")
            for pragma in SQLITE_LOAD_PRAGMAS:
                tx.execute(f"PRAGMA {pragma}")
            _begin_immediate(tx)
        else:
            tx.execute("BEGIN")
            tx.execute(f"LOCK TABLE {', '.join(LOCKED_TABLES)} IN EXCLUSIVE MODE")
            if tx.rows("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
                # foreign-key triggers off for this transaction only (SET LOCAL; needs a
                # superuser): the references are validated in Arrow, and the tables they
                # point to outside the batch are locked against writers until the commit
                tx.execute("LOCK TABLE area, source IN SHARE MODE")
                tx.execute("SET LOCAL session_replication_role = replica")
        areas = _known(tx, payload)
        next_id = {name: tx.max_id(name) + 1 for name in LOCKED_TABLES}
        batch_id = next_id["batch"]
        # a provisional batch row, completed at the end
        provisional = replace(payload, status="received", rows_read=0, rows_accepted=0)
        _ingest(tx, "batch", _batch_row(provisional, batch_id, None, _counts(provisional, {})))
        if sqlite:
            copy = StagedCopy(
                _store_folder(engine),
                lambda name, ins: _ingest(tx, name, ins),
                tx.cur,
                batch_id,
                next_id,
                expected_parts=payload.expected_parts,
            )
        # every part validated and written as it comes (SQLite: staged and copied by groups,
        # talaia.store.staging; PostgreSQL: COPY)
        done: dict[str, int] = {}
        try:
            for part in parts:
                present.update(part)
                if payload.parts is not None:
                    for name, t in part.items():
                        if t.num_rows:
                            keys.setdefault(name, []).append(_own_copy(t.column("external_id")))
                tables = _part_tables(part, payload.source_code, areas, done)
                if copy is not None:
                    copy.add(tables)
                    continue
                for name, t in tables:
                    rows[name] = rows.get(name, 0) + _ingest(
                        tx, name, _shift(name, t, batch_id, next_id)
                    )
            if copy is not None:
                copy.flush()
                rows.update(copy.rows)
        except Exception as exc:
            # sqlite3's or ADBC's IntegrityError: an external_id repeated across parts that
            # the store's unique index met first; say which rows (DataError), as below
            if type(exc).__name__ == "IntegrityError":
                _check_unique_across(keys)
            raise
        _check_unique_across(keys)
        payload = _completed(payload)
        rejected = payload.status == "rejected"
        if rejected and any(rows.values()):
            raise UserInputError(
                "batch: a rejected batch holds no records / un lote rechazado no tiene registros"
            )
        current = (
            []
            if rejected
            else tx.rows(
                "SELECT id, file_hash FROM batch WHERE source_code = ? AND period_start = ? "
                f"AND period_end = ? AND status NOT IN {NOT_CURRENT!r} AND id <> ? ORDER BY id",
                (
                    payload.source_code,
                    payload.period_start.isoformat(),
                    payload.period_end.isoformat(),
                    batch_id,
                )
                if sqlite
                else (payload.source_code, payload.period_start, payload.period_end, batch_id),
            )
        )
        if payload.file_hash is not None:
            same = [int(r[0]) for r in current if r[1] == payload.file_hash]
            if same:
                tx.execute("ROLLBACK")
                return BatchResult(
                    batch_id=same[-1],
                    source_code=payload.source_code,
                    period_start=payload.period_start,
                    period_end=payload.period_end,
                    outcome="unchanged",
                    status="unchanged",
                )
        earlier = tuple(int(r[0]) for r in current)
        if earlier:
            tx.execute(
                "UPDATE batch SET status = 'superseded' WHERE id IN "
                f"({', '.join(str(i) for i in earlier)})"
            )
        counts = _counts(payload, None)
        final = _batch_row(payload, batch_id, earlier[-1] if earlier else None, counts)
        _update_batch_row(tx, final)
        if payload.quarantine is not None:
            rows["quarantine_row"] = _ingest(
                tx,
                "quarantine_row",
                _quarantine(payload.quarantine, batch_id, next_id["quarantine_row"]),
            )
        derived = _counts(payload, {n: rows.get(n, 0) for n in present})
        if derived != counts:
            tx.execute(
                "UPDATE batch SET rows_read = ?, rows_accepted = ?, rows_quarantined = ? "
                "WHERE id = ?",
                (derived["read"], derived["accepted"], derived["quarantined"], batch_id),
            )
        if payload.audit_action:
            _audit(tx, payload, batch_id, earlier)
        if not sqlite:
            for name in LOCKED_TABLES:
                tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                )
        tx.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            tx.execute("ROLLBACK")
        raise
    finally:
        if copy is not None:
            copy.detach()
            copy.remove()
        if sqlite:
            with contextlib.suppress(Exception):
                tx.execute("PRAGMA foreign_keys=ON")
        tx.cur.close()
        if connection is None:
            conn.close()
    return BatchResult(
        batch_id=batch_id,
        source_code=payload.source_code,
        period_start=payload.period_start,
        period_end=payload.period_end,
        outcome="loaded",
        status=payload.status,
        superseded_ids=earlier,
        rows=MappingProxyType(rows),
    )
