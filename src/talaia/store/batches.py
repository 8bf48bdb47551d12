"""Write one delivery (a batch) of canonical records into the store, in one transaction.

Method
------
1. The payload's Arrow tables are conformed to the canonical schemas
   (:func:`talaia.records.schema.conform`) and validated column-wise with ``pyarrow.compute``:
   required fields present, ``external_id`` unique per table, ``incident_ref`` / ``offence_ref``
   resolve inside the batch (and a victim's offence belongs to the victim's incident), area
   codes exist in ``area``. The first violation raises :class:`talaia.errors.DataError` naming
   table, row (1-based, with its ``external_id``) and field.
2. One ADBC connection does the whole batch in one transaction: on SQLite ``BEGIN IMMEDIATE``
   (the single writer lock), on PostgreSQL ``BEGIN`` + ``LOCK TABLE ... IN EXCLUSIVE MODE`` on
   the batch and record tables. Under that lock the surrogate id ranges are reserved
   (``max(id) + 1 ...``), references are mapped to ids with ``pyarrow.compute.index_in`` (no
   Python loop per row), and the batch row, every record table and the quarantine rows are
   bulk-inserted with ``adbc_ingest`` (``COPY`` on PostgreSQL). Any failure rolls everything
   back: after a crash nothing is half-written.
3. Supersession: a batch for the same source and the same period (``period_start``,
   ``period_end``) supersedes the current one. The earlier batch's status becomes
   ``superseded`` and its records are **kept** (traceability: a published figure can still be
   traced to the batch that produced it), but they are no longer *current*: everything that
   reads records (warehouse, status) only reads batches whose status is not ``superseded`` or
   ``rejected`` (:data:`talaia.store.models.NOT_CURRENT`). The same ``file_hash`` for the same
   source and period as the current batch is a no-op, reported as ``outcome="unchanged"``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, text

from talaia.errors import DataError, NotFoundError, UserInputError
from talaia.records.schema import TABLES, conform
from talaia.store.database import bulk_connect, is_sqlite
from talaia.store.models import BATCH_STATUSES, NOT_CURRENT

#: Record tables in insertion order (parents first).
RECORD_TABLES: tuple[str, ...] = ("incident", "offence", "victim", "perpetrator", "custody")
LOCKED_TABLES: tuple[str, ...] = ("batch", *RECORD_TABLES, "quarantine_row")

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
        Status of the new batch (default ``validated``).
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


def _row_label(table: pa.Table, i: int) -> str:
    ext = table.column("external_id")[i].as_py() if "external_id" in table.column_names else None
    return f"row {i + 1}" + (f" (external_id {ext!r})" if ext is not None else "")


def _first_true(mask: pa.ChunkedArray | pa.Array) -> int | None:
    arr = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    hits = np.flatnonzero(arr)
    return int(hits[0]) if hits.size else None


def _conform_tables(payload: BatchPayload) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {}
    for name, table in payload.tables.items():
        if name not in TABLES:
            raise UserInputError(f"batch: unknown table {name!r} (expected one of {list(TABLES)})")
        try:
            out[name] = conform(table, name)
        except KeyError as exc:
            raise DataError(str(exc.args[0])) from None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{name}: cannot convert to the canonical schema: {exc}") from None
    return out


def _check_required(name: str, table: pa.Table) -> None:
    for f in TABLES[name]:
        if f.nullable:
            continue
        i = _first_true(pc.is_null(table.column(f.name)))
        if i is not None:
            raise DataError(f"{name} {_row_label(table, i)}: field {f.name!r} is empty")


def _check_unique(name: str, table: pa.Table) -> None:
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
            f"{name} row {int(rows[1]) + 1}: field 'external_id' {value.as_py()!r} repeats "
            f"row {(i or 0) + 1}"
        )


def _resolve(
    name: str, table: pa.Table, fieldname: str, keys: pa.ChunkedArray | pa.Array, target: str
) -> pa.Array:
    """Indices into ``keys`` of ``table[fieldname]``; DataError on the first unresolved ref."""
    refs = table.column(fieldname)
    idx = pc.index_in(refs, value_set=pa.chunked_array(keys).combine_chunks())
    bad = pc.and_(pc.is_valid(refs), pc.is_null(idx))
    i = _first_true(bad)
    if i is not None:
        raise DataError(
            f"{name} {_row_label(table, i)}: field {fieldname!r} {refs[i].as_py()!r} does not "
            f"match any {target} external_id in this batch"
        )
    return idx.combine_chunks() if isinstance(idx, pa.ChunkedArray) else idx


def _check_areas(name: str, table: pa.Table, areas: pa.Array) -> None:
    col = table.column("area_code")
    i = _first_true(pc.invert(pc.is_in(col, value_set=areas)))
    if i is not None:
        raise DataError(
            f"{name} {_row_label(table, i)}: field 'area_code' {col[i].as_py()!r} is not a "
            "known area"
        )


# --- store form ----------------------------------------------------------------------------------


def _ids(start: int, n: int) -> pa.Array:
    return pa.array(np.arange(start, start + n, dtype=np.int64))


def _const(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    return pa.array([value] * 1, typ).take(pa.array(np.zeros(n, dtype=np.int64)))


def _for_sqlite(table: pa.Table) -> pa.Table:
    """SQLAlchemy's SQLite text forms: datetimes ``YYYY-MM-DD HH:MM:SS.ffffff``, dates ISO."""
    cols = []
    for f, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(f.type):
            col = pc.binary_join_element_wise(
                pc.strftime(col, format="%Y-%m-%d %H:%M:%S"), ".000000", ""
            )
        elif pa.types.is_date(f.type):
            col = col.cast(pa.string())
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


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


def _ingest(tx: _Tx, name: str, table: pa.Table) -> int:
    """Bulk-insert one Arrow table: ADBC ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
    if table.num_rows == 0:
        return 0
    if not tx.sqlite:
        tx.cur.adbc_ingest(name, table, mode="append")
        return table.num_rows
    table = _for_sqlite(table)
    cols = ", ".join(table.column_names)
    marks = ", ".join("?" * table.num_columns)
    for chunk in table.to_batches(max_chunksize=50_000):
        tx.cur.executemany(
            f"INSERT INTO {name} ({cols}) VALUES ({marks})",
            zip(*(c.to_pylist() for c in chunk.columns), strict=True),
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


def _counts(payload: BatchPayload, tables: dict[str, pa.Table]) -> dict[str, int]:
    accepted = payload.rows_accepted
    if accepted is None:
        main = tables.get("incident", tables.get("custody"))
        accepted = main.num_rows if main is not None else 0
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


def _known(engine: Engine, payload: BatchPayload) -> pa.Array:
    with engine.connect() as conn:
        if (
            conn.execute(
                text("SELECT 1 FROM source WHERE code = :c"), {"c": payload.source_code}
            ).first()
            is None
        ):
            raise NotFoundError(f"source {payload.source_code!r} is not registered")
        codes = [r[0] for r in conn.execute(text("SELECT code FROM area"))]
    return pa.array(codes, pa.string())


def write_batch(
    engine: Engine, payload: BatchPayload, *, connection: Any | None = None
) -> BatchResult:
    """Write one batch (batch row, records, quarantine rows) in one transaction.

    See the module docstring for the method. Raises :class:`DataError` (naming table, row and
    field) when the payload violates referential integrity or a required field, and
    :class:`NotFoundError` for an unknown source.

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
    if payload.status not in BATCH_STATUSES or payload.status in NOT_CURRENT:
        raise UserInputError(f"batch: status {payload.status!r} cannot be written")
    if payload.period_end < payload.period_start:
        raise UserInputError(
            f"batch: period_end {payload.period_end} is before period_start {payload.period_start}"
        )
    tables = _conform_tables(payload)
    for name, table in tables.items():
        _check_required(name, table)
        _check_unique(name, table)
    areas = _known(engine, payload)
    for name in ("incident", "custody"):
        if name in tables:
            _check_areas(name, tables[name], areas)

    incident = tables.get("incident", pa.Table.from_pylist([], schema=TABLES["incident"]))
    offence = tables.get("offence", pa.Table.from_pylist([], schema=TABLES["offence"]))
    inc_keys = incident.column("external_id")
    off_inc = _resolve("offence", offence, "incident_ref", inc_keys, "incident")
    links: dict[str, tuple[pa.Array, pa.Array]] = {}
    for name in ("victim", "perpetrator"):
        if name not in tables:
            continue
        t = tables[name]
        inc_idx = _resolve(name, t, "incident_ref", inc_keys, "incident")
        off_idx = _resolve(name, t, "offence_ref", offence.column("external_id"), "offence")
        owner = pc.take(off_inc, off_idx)
        i = _first_true(pc.not_equal(owner, inc_idx))
        if i is not None:
            raise DataError(
                f"{name} {_row_label(t, i)}: field 'offence_ref' {t['offence_ref'][i].as_py()!r} "
                "belongs to another incident than its incident_ref"
            )
        links[name] = (inc_idx, off_idx)

    counts = _counts(payload, tables)
    sqlite = is_sqlite(engine)
    conn = connection if connection is not None else bulk_connect(engine)
    tx = _Tx(conn, sqlite)
    try:
        if sqlite:
            tx.execute("BEGIN IMMEDIATE")
        else:
            tx.execute("BEGIN")
            tx.execute(f"LOCK TABLE {', '.join(LOCKED_TABLES)} IN EXCLUSIVE MODE")
        current = tx.rows(
            "SELECT id, file_hash FROM batch WHERE source_code = ? AND period_start = ? "
            f"AND period_end = ? AND status NOT IN {NOT_CURRENT!r} ORDER BY id",
            (payload.source_code, payload.period_start.isoformat(), payload.period_end.isoformat())
            if sqlite
            else (payload.source_code, payload.period_start, payload.period_end),
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
        start = {name: tx.max_id(name) + 1 for name in LOCKED_TABLES}
        batch_id = start["batch"]
        rows: dict[str, int] = {}
        if earlier:
            tx.execute(
                "UPDATE batch SET status = 'superseded' WHERE id IN "
                f"({', '.join(str(i) for i in earlier)})"
            )
        _ingest(
            tx, "batch", _batch_row(payload, batch_id, earlier[-1] if earlier else None, counts)
        )

        n_inc = incident.num_rows
        rows["incident"] = _ingest(
            tx,
            "incident",
            pa.Table.from_arrays(
                [
                    _ids(start["incident"], n_inc),
                    _const(batch_id, n_inc, pa.int64()),
                    _const(payload.source_code, n_inc, pa.string()),
                    *incident.columns,
                ],
                names=["id", "batch_id", "source_code", *incident.column_names],
            ),
        )
        n_off = offence.num_rows
        off_cols = offence.drop_columns(["incident_ref"])
        rows["offence"] = _ingest(
            tx,
            "offence",
            pa.Table.from_arrays(
                [
                    _ids(start["offence"], n_off),
                    _const(batch_id, n_off, pa.int64()),
                    pc.add(off_inc.cast(pa.int64()), start["incident"]),
                    *off_cols.columns,
                ],
                names=["id", "batch_id", "incident_id", *off_cols.column_names],
            ),
        )
        for name, (inc_idx, off_idx) in links.items():
            t = tables[name]
            n = t.num_rows
            rest = t.drop_columns(["incident_ref", "offence_ref"])
            rows[name] = _ingest(
                tx,
                name,
                pa.Table.from_arrays(
                    [
                        _ids(start[name], n),
                        _const(batch_id, n, pa.int64()),
                        pc.add(inc_idx.cast(pa.int64()), start["incident"]),
                        pc.add(off_idx.cast(pa.int64()), start["offence"]),
                        *rest.columns,
                    ],
                    names=["id", "batch_id", "incident_id", "offence_id", *rest.column_names],
                ),
            )
        if "custody" in tables:
            c = tables["custody"]
            n = c.num_rows
            rows["custody"] = _ingest(
                tx,
                "custody",
                pa.Table.from_arrays(
                    [
                        _ids(start["custody"], n),
                        _const(batch_id, n, pa.int64()),
                        _const(payload.source_code, n, pa.string()),
                        *c.columns,
                    ],
                    names=["id", "batch_id", "source_code", *c.column_names],
                ),
            )
        if payload.quarantine is not None:
            rows["quarantine_row"] = _ingest(
                tx,
                "quarantine_row",
                _quarantine(payload.quarantine, batch_id, start["quarantine_row"]),
            )
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
