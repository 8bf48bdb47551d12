"""Load a canonical output folder (docs/contracts.md §3) into the store.

``load_reference`` upserts areas, population, agencies and sources from ``OUT/reference``
(idempotent: loading twice leaves the same rows). ``load_canonical_tree`` loads every
``OUT/canonical/<source>/<YYYY-MM>/`` folder as one batch whose period is that month, through
:func:`talaia.store.batches.write_batch`; the batch's file hash is the SHA-256 of the folder's
Parquet files, so loading the same tree again is a no-op (``outcome="unchanged"``) and a changed
month supersedes the earlier batch.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from talaia.errors import DataError, NotFoundError
from talaia.records.schema import TABLES
from talaia.store.batches import BatchPayload, BatchResult, write_batch
from talaia.store.database import bulk_connect
from talaia.store.models import Agency, Area, Population, Source

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: ``progress(done, total, label)``; called after each batch.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ReferenceResult:
    """Rows upserted by :func:`load_reference`, per table."""

    areas: int
    population: int
    agencies: int
    sources: int


def month_start(text: str, where: str) -> dt.date:
    """``"2024-03"`` -> ``date(2024, 3, 1)``; DataError naming ``where`` otherwise."""
    if not isinstance(text, str) or not MONTH.match(text):
        raise DataError(f"{where}: {text!r} is not a month YYYY-MM")
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def month_end(start: dt.date) -> dt.date:
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def _upsert(conn: Any, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> int:
    if not rows:
        return 0
    ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)
    update = {c: ins.excluded[c] for c in rows[0] if c not in keys}
    stmt = (
        ins.on_conflict_do_update(index_elements=keys, set_=update)
        if update
        else (ins.on_conflict_do_nothing(index_elements=keys))
    )
    conn.execute(stmt, rows)
    return len(rows)


def _read_parquet(path: Path) -> pa.Table:
    if not path.exists():
        raise NotFoundError(f"{path}: file not found")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read Parquet: {exc}") from None


def _area_rows(path: Path) -> list[dict[str, Any]]:
    t = _read_parquet(path)
    for col in ("code", "name", "level"):
        if col not in t.column_names:
            raise DataError(f"{path}: column {col!r} is missing")
    rows = t.select(
        [
            c
            for c in ("code", "name", "level", "parent_code", "geometry", "valid_from", "valid_to")
            if c in t.column_names
        ]
    ).to_pylist()
    codes = {r["code"] for r in rows}
    for i, r in enumerate(rows):
        parent = r.get("parent_code")
        if parent is not None and parent not in codes:
            raise DataError(
                f"{path} row {i + 1}: field 'parent_code' {parent!r} is not an area of the file"
            )
    return sorted(rows, key=lambda r: (int(r["level"]), r["code"]))


def load_reference(engine: Engine, out_dir: Path | str) -> ReferenceResult:
    """Upsert areas, population, agencies and sources from ``out_dir/reference``.

    Parameters
    ----------
    engine
        The store (migrated).
    out_dir
        A folder laid out as docs/contracts.md §3 (``reference/areas.parquet``,
        ``reference/population.parquet``, ``reference/agencies.json``).

    Notes
    -----
    ``expected_from`` / ``expected_to`` (``YYYY-MM``) are stored as the first day of the month.
    The source's other descriptive keys (``raw_format``, ...) go to ``source.profile`` (JSON).
    One transaction; running it again updates rows in place (idempotent).
    """
    ref = Path(out_dir) / "reference"
    areas = _area_rows(ref / "areas.parquet")
    pop_path = ref / "population.parquet"
    population = _read_parquet(pop_path).to_pylist() if pop_path.exists() else []
    agencies_path = ref / "agencies.json"
    if not agencies_path.exists():
        raise NotFoundError(f"{agencies_path}: file not found")
    try:
        doc = json.loads(agencies_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{agencies_path}: invalid JSON: {exc}") from None
    agencies = [
        {"code": a["code"], "name": a["name"], "kind": a["kind"]} for a in doc.get("agencies", [])
    ]
    sources = []
    for i, s in enumerate(doc.get("sources", [])):
        where = f"{agencies_path} sources[{i}]"
        try:
            exp_from = s.get("expected_from")
            exp_to = s.get("expected_to")
            profile = {
                k: v
                for k, v in s.items()
                if k
                not in (
                    "code",
                    "agency_code",
                    "kind",
                    "name",
                    "expected_from",
                    "expected_to",
                    "crosswalk",
                )
            }
            sources.append(
                {
                    "code": s["code"],
                    "agency_code": s["agency_code"],
                    "kind": s["kind"],
                    "name": s.get("name") or s["code"],
                    "profile": json.dumps(profile, ensure_ascii=False, sort_keys=True),
                    "crosswalk_code": s.get("crosswalk"),
                    "expected_from": month_start(exp_from, f"{where}.expected_from")
                    if exp_from
                    else None,
                    "expected_to": month_start(exp_to, f"{where}.expected_to") if exp_to else None,
                }
            )
        except KeyError as exc:
            raise DataError(f"{where}: field {exc.args[0]!r} is missing") from None
    pop_rows = [
        {k: r[k] for k in ("area_code", "year", "sex", "age_group", "population")}
        for r in population
    ]
    with engine.begin() as conn:
        n_areas = _upsert(conn, Area.__table__, areas, ["code"])
        n_pop = _upsert(
            conn, Population.__table__, pop_rows, ["area_code", "year", "sex", "age_group"]
        )
        n_ag = _upsert(conn, Agency.__table__, agencies, ["code"])
        n_src = _upsert(conn, Source.__table__, sources, ["code"])
    return ReferenceResult(areas=n_areas, population=n_pop, agencies=n_ag, sources=n_src)


def month_folders(out_dir: Path | str) -> list[tuple[str, str, Path]]:
    """``(source_code, "YYYY-MM", folder)`` of every ``canonical/<source>/<YYYY-MM>`` folder."""
    root = Path(out_dir) / "canonical"
    if not root.is_dir():
        raise NotFoundError(f"{root}: folder not found")
    found = []
    for src in sorted(p for p in root.iterdir() if p.is_dir()):
        for month in sorted(p for p in src.iterdir() if p.is_dir()):
            if not MONTH.match(month.name):
                raise DataError(f"{month}: folder name is not a month YYYY-MM")
            found.append((src.name, month.name, month))
    return found


def folder_payload(source_code: str, month: str, folder: Path) -> BatchPayload:
    """The :class:`BatchPayload` of one canonical month folder (hash = its Parquet files)."""
    start = month_start(month, str(folder))
    digest = hashlib.sha256()
    tables: dict[str, pa.Table] = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
            tables[name] = _read_parquet(path)
    return BatchPayload(
        source_code=source_code,
        period_start=start,
        period_end=month_end(start),
        tables=tables,
        file_name=f"canonical/{source_code}/{month}",
        file_hash=digest.hexdigest(),
    )


def load_canonical_tree(
    engine: Engine, out_dir: Path | str, progress: Progress | None = None
) -> list[BatchResult]:
    """Load every ``OUT/canonical/<source>/<YYYY-MM>/`` folder as one batch (one month each).

    Returns the :class:`BatchResult` of each folder, in source then month order. A DataError
    from a folder names the folder.
    """
    folders = month_folders(out_dir)
    results = []
    conn = bulk_connect(engine)  # one connection for every batch (each its own transaction)
    try:
        for k, (source, month, folder) in enumerate(folders):
            try:
                payload = folder_payload(source, month, folder)
                results.append(write_batch(engine, payload, connection=conn))
            except DataError as exc:
                raise DataError(f"{folder}: {exc}") from None
            if progress is not None:
                progress(k + 1, len(folders), f"{source} {month}")
    finally:
        conn.close()
    return results
