"""Build the analytics warehouse (DuckDB) from the store (docs/contracts.md §6).

Method
------
Store tables are read into Arrow (PostgreSQL: ADBC; SQLite: the standard ``sqlite3`` driver,
the same SQLite library as the store's engine), registered in DuckDB and denormalized there by
SQL into one fact table per counting unit with period keys, the area path and the ICCS path.

- Period keys come from ``occurred_from`` (custody: ``admitted_at``): ``occurred_date``,
  ``year``, ``quarter``, ``month``, ``period_month`` (first of month), ``iso_year``,
  ``iso_week``, ``dow`` (ISO, 1 = Monday), ``hour`` (only when precision is ``minute``).
- The area path (``area_l1..l3``) follows ``area.parent_code`` (an area's own code at its own
  level; NULL below it).
- The ICCS path (``iccs_l1..l4``) is the code's prefix of 2, 4, 5 and 6 characters at and above
  its level, taken from :meth:`talaia.classification.iccs.Iccs.to_arrow`; a code that is not an
  ICCS v1.0 category keeps its ``iccs_code`` but gets a NULL path (nothing invented).
- Only *current* batches are shown: status not ``superseded`` / ``rejected``.
- ``source_month``: every month from a source's ``expected_from`` to ``expected_to`` (open:
  the latest delivered month), plus delivered months outside that range (``expected`` false).
  A month expected but not delivered has ``delivered`` false and ``rows`` NULL, never 0.

``refresh`` is incremental per batch: it deletes the fact rows of batches that are no longer
current (superseded, rejected, deleted) and of the batches asked for, and inserts the facts of
new current batches; reference tables (``dim_area``, ``population``) and ``source_month`` are
recomputed each time (small), and so is ``dim_area_geometry`` (each area's polygon as the
GeoJSON geometry text kept in ``area.geometry``; areas without one have no row). Facts already
loaded keep the area path they were built with, so after a change of the area hierarchy run
``rebuild``. ``rebuild`` recreates every table. Both run the same SQL, so they give identical
tables (tested). Each runs in one DuckDB transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from talaia.classification.iccs import load_iccs

NOT_CURRENT = ("superseded", "rejected")

FACTS: tuple[str, ...] = (
    "fact_incident",
    "fact_offence",
    "fact_victim",
    "fact_perpetrator",
    "fact_custody",
)
TABLES: tuple[str, ...] = (
    "dim_area",
    "dim_area_geometry",
    "population",
    *FACTS,
    "source_month",
)

Progress = Callable[[int, int, str], None]

_COMMON = """
    batch_id BIGINT, source_code VARCHAR, agency_code VARCHAR, source_kind VARCHAR,
    occurred_date DATE, year INTEGER, quarter INTEGER, month INTEGER, period_month DATE,
    iso_year INTEGER, iso_week INTEGER, dow INTEGER, hour INTEGER,
    occurred_from TIMESTAMP, occurred_to TIMESTAMP, occurred_precision VARCHAR,
    area_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR,
    lon DOUBLE, lat DOUBLE,
    national_code VARCHAR, iccs_code VARCHAR, iccs_l1 VARCHAR, iccs_l2 VARCHAR,
    iccs_l3 VARCHAR, iccs_l4 VARCHAR, crosswalk_version INTEGER, mapping_type VARCHAR,
    location_type VARCHAR, attempted VARCHAR, weapon VARCHAR, situational_context VARCHAR,
    motive VARCHAR, cyber_related BOOLEAN,
    incident_id BIGINT"""

_PERSON = "sex VARCHAR, age SMALLINT, age_group VARCHAR, relationship VARCHAR, citizenship VARCHAR"

DDL: dict[str, str] = {
    "dim_area": "area_code VARCHAR, name VARCHAR, level INTEGER, parent_code VARCHAR, "
    "area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR",
    "dim_area_geometry": "area_code VARCHAR, level INTEGER, geometry VARCHAR",
    "population": "area_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR, "
    "year INTEGER, sex VARCHAR, age_group VARCHAR, population BIGINT",
    "fact_incident": _COMMON,
    "fact_offence": _COMMON + ", offence_id BIGINT",
    "fact_victim": _COMMON + f", offence_id BIGINT, victim_id BIGINT, {_PERSON}, outcome VARCHAR",
    "fact_perpetrator": _COMMON
    + f", offence_id BIGINT, perpetrator_id BIGINT, {_PERSON}, person_key VARCHAR, "
    "recidivist BOOLEAN",
    "fact_custody": _COMMON
    + ", custody_id BIGINT, person_key VARCHAR, facility_code VARCHAR, custody_status VARCHAR, "
    "sex VARCHAR, age SMALLINT, age_group VARCHAR, citizenship VARCHAR, released_at TIMESTAMP",
    "source_month": "source_code VARCHAR, agency_code VARCHAR, source_kind VARCHAR, "
    "period_month DATE, expected BOOLEAN, delivered BOOLEAN, batch_id BIGINT, rows BIGINT",
}


@dataclass(frozen=True)
class WarehouseResult:
    """What :func:`refresh` / :func:`rebuild` did.

    Attributes
    ----------
    mode
        ``"rebuild"`` or ``"refresh"``.
    added, removed
        Batch ids whose facts were inserted / deleted.
    rows
        Rows per warehouse table afterwards.
    """

    path: Path
    mode: str
    added: tuple[int, ...]
    removed: tuple[int, ...]
    rows: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))


# --- reading the store ---------------------------------------------------------------------------


class StoreReader:
    """One connection to the store for Arrow reads (ADBC on PostgreSQL; ``sqlite3`` on SQLite,
    the same SQLite library as the store's engine: mixing two copies of SQLite in one process
    breaks its locking)."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        self.sqlite = url.get_backend_name() == "sqlite"
        if self.sqlite:
            import sqlite3

            self.conn: Any = sqlite3.connect(url.database or ":memory:")
        else:
            import adbc_driver_postgresql.dbapi as pg_dbapi

            uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = pg_dbapi.connect(uri)

    def read(self, sql: str) -> pa.Table:
        """One SELECT as an Arrow table (SQLite: :func:`talaia.store.staging.read_sqlite`, types
        inferred from the values)."""
        if not self.sqlite:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetch_arrow_table()
        from talaia.store.staging import read_sqlite

        return read_sqlite(self.conn, sql)

    def close(self) -> None:
        self.conn.close()


def read_store(engine: Engine, sql: str) -> pa.Table:
    """One SELECT on the store as Arrow (see :class:`StoreReader`)."""
    reader = StoreReader(engine)
    try:
        return reader.read(sql)
    finally:
        reader.close()


def _ids_sql(ids: Iterable[int]) -> str:
    return "(" + ", ".join(str(int(i)) for i in ids) + ")" if ids else "(NULL)"


# --- SQL -----------------------------------------------------------------------------------------

_PERIOD = """
    CAST({t} AS DATE) AS occurred_date, year({t}) AS year, quarter({t}) AS quarter,
    month({t}) AS month, CAST(date_trunc('month', {t}) AS DATE) AS period_month,
    isoyear({t}) AS iso_year, weekofyear({t}) AS iso_week, isodow({t}) AS dow,
    CASE WHEN {p} = 'minute' THEN hour({t}) END AS hour"""

_AGE_GROUP = """CASE WHEN {a} IS NULL OR {a} < 0 THEN NULL WHEN {a} >= 80 THEN '80+'
    ELSE printf('%02d-%02d', ({a} // 5) * 5, ({a} // 5) * 5 + 4) END"""

_PROV = "i.batch_id, s.code AS source_code, s.agency_code, s.kind AS source_kind"
_AREA = "a.area_code, a.area_l1, a.area_l2, a.area_l3"
_ICCS = "p.l1 AS iccs_l1, p.l2 AS iccs_l2, p.l3 AS iccs_l3, p.l4 AS iccs_l4"
_EVENT = "i.location_type, i.attempted, i.weapon, i.situational_context, i.motive, i.cyber_related"


def _incident_cols() -> str:
    return (
        f"{_PROV}, {_PERIOD.format(t='i.occurred_from', p='i.occurred_precision')}, "
        "i.occurred_from, i.occurred_to, i.occurred_precision, "
        f"{_AREA}, i.lon, i.lat, o.national_code, o.iccs_code, {_ICCS}, o.crosswalk_version, "
        f"o.mapping_type, {_EVENT}, i.incident_id"
    )


_INC_JOINS = """
    JOIN w_source s ON s.code = i.source_code
    LEFT JOIN dim_area a ON a.area_code = i.area_code"""


def _fact_sql(name: str) -> str:
    if name == "fact_incident":
        return f"""SELECT {_incident_cols()} FROM w_incident i {_INC_JOINS}
            LEFT JOIN w_first_offence f ON f.incident_id = i.incident_id
            LEFT JOIN w_offence o ON o.offence_id = f.offence_id
            LEFT JOIN w_iccs p ON p.code = o.iccs_code"""
    if name == "fact_offence":
        return f"""SELECT {_incident_cols()}, o.offence_id FROM w_offence o
            JOIN w_incident i ON i.incident_id = o.incident_id {_INC_JOINS}
            LEFT JOIN w_iccs p ON p.code = o.iccs_code"""
    if name in ("fact_victim", "fact_perpetrator"):
        tbl = "w_victim" if name == "fact_victim" else "w_perpetrator"
        key = "victim_id" if name == "fact_victim" else "perpetrator_id"
        extra = "v.outcome" if name == "fact_victim" else "v.person_key, v.recidivist"
        return f"""SELECT {_incident_cols()}, o.offence_id, v.{key}, v.sex, v.age,
                {_AGE_GROUP.format(a="v.age")} AS age_group, v.relationship, v.citizenship,
                {extra}
            FROM {tbl} v JOIN w_incident i ON i.incident_id = v.incident_id {_INC_JOINS}
            LEFT JOIN w_first_offence f ON f.incident_id = v.incident_id
            LEFT JOIN w_offence o ON o.offence_id = COALESCE(v.offence_id, f.offence_id)
            LEFT JOIN w_iccs p ON p.code = o.iccs_code"""
    assert name == "fact_custody"
    return f"""SELECT c.batch_id, s.code, s.agency_code, s.kind,
            {_PERIOD.format(t="c.admitted_at", p="NULL")},
            c.admitted_at, NULL, NULL, {_AREA}, NULL, NULL,
            c.national_code, c.iccs_code, {_ICCS}, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            c.custody_id, c.person_key, c.facility_code, c.custody_status, c.sex, c.age,
            {_AGE_GROUP.format(a="c.age")}, c.citizenship, c.released_at
        FROM w_custody c JOIN w_source s ON s.code = c.source_code
        LEFT JOIN dim_area a ON a.area_code = c.area_code
        LEFT JOIN w_iccs p ON p.code = c.iccs_code"""


_STAGE = {
    "w_incident": """SELECT CAST(id AS BIGINT) AS incident_id, CAST(batch_id AS BIGINT) AS batch_id,
        CAST(source_code AS VARCHAR) AS source_code,
        CAST(occurred_from AS TIMESTAMP) AS occurred_from,
        CAST(occurred_to AS TIMESTAMP) AS occurred_to,
        CAST(occurred_precision AS VARCHAR) AS occurred_precision,
        CAST(area_code AS VARCHAR) AS area_code, CAST(lon AS DOUBLE) AS lon,
        CAST(lat AS DOUBLE) AS lat, CAST(location_type AS VARCHAR) AS location_type,
        CAST(attempted AS VARCHAR) AS attempted, CAST(weapon AS VARCHAR) AS weapon,
        CAST(situational_context AS VARCHAR) AS situational_context,
        CAST(motive AS VARCHAR) AS motive, CAST(cyber_related AS BOOLEAN) AS cyber_related
        FROM r_incident""",
    "w_offence": """SELECT CAST(id AS BIGINT) AS offence_id,
        CAST(incident_id AS BIGINT) AS incident_id, CAST(national_code AS VARCHAR) AS national_code,
        CAST(iccs_code AS VARCHAR) AS iccs_code,
        CAST(crosswalk_version AS INTEGER) AS crosswalk_version,
        CAST(mapping_type AS VARCHAR) AS mapping_type FROM r_offence""",
    "w_victim": """SELECT CAST(id AS BIGINT) AS victim_id,
        CAST(incident_id AS BIGINT) AS incident_id,
        CAST(offence_id AS BIGINT) AS offence_id, CAST(sex AS VARCHAR) AS sex,
        CAST(age AS SMALLINT) AS age, CAST(relationship AS VARCHAR) AS relationship,
        CAST(citizenship AS VARCHAR) AS citizenship, CAST(outcome AS VARCHAR) AS outcome
        FROM r_victim""",
    "w_perpetrator": """SELECT CAST(id AS BIGINT) AS perpetrator_id,
        CAST(incident_id AS BIGINT) AS incident_id, CAST(offence_id AS BIGINT) AS offence_id,
        CAST(person_key AS VARCHAR) AS person_key, CAST(sex AS VARCHAR) AS sex,
        CAST(age AS SMALLINT) AS age, CAST(relationship AS VARCHAR) AS relationship,
        CAST(citizenship AS VARCHAR) AS citizenship, CAST(recidivist AS BOOLEAN) AS recidivist
        FROM r_perpetrator""",
    "w_custody": """SELECT CAST(id AS BIGINT) AS custody_id, CAST(batch_id AS BIGINT) AS batch_id,
        CAST(source_code AS VARCHAR) AS source_code, CAST(person_key AS VARCHAR) AS person_key,
        CAST(facility_code AS VARCHAR) AS facility_code, CAST(area_code AS VARCHAR) AS area_code,
        CAST(admitted_at AS TIMESTAMP) AS admitted_at,
        CAST(released_at AS TIMESTAMP) AS released_at,
        CAST(custody_status AS VARCHAR) AS custody_status, CAST(sex AS VARCHAR) AS sex,
        CAST(age AS SMALLINT) AS age, CAST(citizenship AS VARCHAR) AS citizenship,
        CAST(national_code AS VARCHAR) AS national_code, CAST(iccs_code AS VARCHAR) AS iccs_code
        FROM r_custody""",
}

_STORE_COLS = {
    "incident": "id, batch_id, source_code, occurred_from, occurred_to, occurred_precision, "
    "area_code, lon, lat, location_type, attempted, weapon, situational_context, motive, "
    "cyber_related",
    "offence": "id, incident_id, national_code, iccs_code, crosswalk_version, mapping_type",
    "victim": "id, incident_id, offence_id, sex, age, relationship, citizenship, outcome",
    "perpetrator": "id, incident_id, offence_id, person_key, sex, age, relationship, citizenship, "
    "recidivist",
    "custody": "id, batch_id, source_code, person_key, facility_code, area_code, admitted_at, "
    "released_at, custody_status, sex, age, citizenship, national_code, iccs_code",
}

_DIM_AREA = """
    SELECT a.code, a.name, a.level, a.parent_code,
        CASE WHEN a.level = 1 THEN a.code WHEN p.level = 1 THEN p.code
             WHEN g.level = 1 THEN g.code END,
        CASE WHEN a.level = 2 THEN a.code WHEN p.level = 2 THEN p.code END,
        CASE WHEN a.level = 3 THEN a.code END
    FROM w_area a LEFT JOIN w_area p ON p.code = a.parent_code
    LEFT JOIN w_area g ON g.code = p.parent_code"""

_SOURCE_MONTH = """
    WITH cb AS (
        SELECT id, source_code, date_trunc('month', period_start) AS m0,
               date_trunc('month', period_end) AS m1, rows_accepted
        FROM w_batch WHERE status NOT IN ('superseded', 'rejected')),
    dm AS (
        SELECT source_code, CAST(unnest(generate_series(m0, m1, INTERVAL 1 MONTH)) AS DATE) AS pm,
               id, m0 = m1 AS single, rows_accepted FROM cb),
    dagg AS (
        SELECT source_code, pm, max(id) AS batch_id,
               CASE WHEN bool_and(single) THEN sum(rows_accepted) END AS rows
        FROM dm GROUP BY source_code, pm),
    em AS (
        SELECT s.code AS source_code, CAST(unnest(generate_series(
            date_trunc('month', s.expected_from),
            date_trunc('month', COALESCE(s.expected_to, greatest(s.expected_from,
                COALESCE((SELECT max(d.pm) FROM dagg d WHERE d.source_code = s.code),
                         s.expected_from)))),
            INTERVAL 1 MONTH)) AS DATE) AS pm
        FROM w_source s WHERE s.expected_from IS NOT NULL),
    allm AS (SELECT source_code, pm FROM em UNION SELECT source_code, pm FROM dagg)
    SELECT s.code, s.agency_code, s.kind, m.pm, e.pm IS NOT NULL, d.pm IS NOT NULL,
           d.batch_id, d.rows
    FROM allm m JOIN w_source s ON s.code = m.source_code
    LEFT JOIN em e ON e.source_code = m.source_code AND e.pm = m.pm
    LEFT JOIN dagg d ON d.source_code = m.source_code AND d.pm = m.pm"""


# --- building ------------------------------------------------------------------------------------


def _connect(path: Path | str | None) -> tuple[duckdb.DuckDBPyConnection, Path]:
    if path is None:
        from talaia.settings import get_settings

        path = get_settings().resolved_warehouse_path()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # bounded memory (DuckDB spills next to the warehouse beyond it); no progress bar on stdout
    con = duckdb.connect(str(path), config={"memory_limit": WAREHOUSE_MEMORY})
    con.execute("SET enable_progress_bar = false")
    return con, path


#: Store rows (by id range) read into Arrow at a time when facts are built.
SLICE_IDS = 1_000_000

#: Memory limit of the warehouse build's DuckDB connection.
WAREHOUSE_MEMORY = "1GB"


def _create(con: duckdb.DuckDBPyConnection, replace: bool) -> None:
    for name in TABLES:
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
        con.execute(f"{verb} {name} ({DDL[name]})")


def _stage_reference(con: duckdb.DuckDBPyConnection, store: StoreReader) -> None:
    """Register reference tables and rebuild dim_area, dim_area_geometry, population,
    source_month."""
    src = store.read("SELECT code, agency_code, kind, expected_from, expected_to FROM source")
    bat = store.read(
        "SELECT id, source_code, status, period_start, period_end, rows_accepted FROM batch"
    )
    area = store.read("SELECT code, name, level, parent_code, geometry FROM area")
    pop = store.read("SELECT area_code, year, sex, age_group, population FROM population")
    con.register("r_source", src)
    con.register("r_batch", bat)
    con.register("r_area", area)
    con.register("r_population", pop)
    con.register("r_iccs", load_iccs().to_arrow().select(["code", "l1", "l2", "l3", "l4"]))
    con.execute("""CREATE OR REPLACE TEMP TABLE w_source AS SELECT CAST(code AS VARCHAR) AS code,
        CAST(agency_code AS VARCHAR) AS agency_code, CAST(kind AS VARCHAR) AS kind,
        CAST(expected_from AS DATE) AS expected_from, CAST(expected_to AS DATE) AS expected_to
        FROM r_source""")
    con.execute("""CREATE OR REPLACE TEMP TABLE w_batch AS SELECT CAST(id AS BIGINT) AS id,
        CAST(source_code AS VARCHAR) AS source_code, CAST(status AS VARCHAR) AS status,
        CAST(period_start AS DATE) AS period_start, CAST(period_end AS DATE) AS period_end,
        CAST(rows_accepted AS BIGINT) AS rows_accepted FROM r_batch""")
    con.execute("""CREATE OR REPLACE TEMP TABLE w_area AS SELECT CAST(code AS VARCHAR) AS code,
        CAST(name AS VARCHAR) AS name, CAST(level AS INTEGER) AS level,
        CAST(parent_code AS VARCHAR) AS parent_code, CAST(geometry AS VARCHAR) AS geometry
        FROM r_area""")
    con.execute("CREATE OR REPLACE TEMP TABLE w_iccs AS SELECT * FROM r_iccs")
    con.execute("DELETE FROM dim_area")
    con.execute(f"INSERT INTO dim_area {_DIM_AREA}")
    con.execute("DELETE FROM dim_area_geometry")
    con.execute("""INSERT INTO dim_area_geometry SELECT code, level, geometry FROM w_area
        WHERE geometry IS NOT NULL AND trim(geometry) <> ''""")
    con.execute("DELETE FROM population")
    con.execute("""INSERT INTO population SELECT CAST(p.area_code AS VARCHAR), a.area_l1,
        a.area_l2, a.area_l3, CAST(p.year AS INTEGER), CAST(p.sex AS VARCHAR),
        CAST(p.age_group AS VARCHAR), CAST(p.population AS BIGINT)
        FROM r_population p LEFT JOIN dim_area a ON a.area_code = CAST(p.area_code AS VARCHAR)""")
    con.execute("DELETE FROM source_month")
    con.execute(f"INSERT INTO source_month {_SOURCE_MONTH}")
    for name in ("r_source", "r_batch", "r_area", "r_population", "r_iccs"):
        con.unregister(name)


def _insert_batches(
    con: duckdb.DuckDBPyConnection,
    store: StoreReader,
    batch_ids: list[int],
    progress: Progress | None,
) -> None:
    """Insert the facts of ``batch_ids`` (in chunks of batches, to bound memory)."""
    chunk = 24
    groups = [batch_ids[k : k + chunk] for k in range(0, len(batch_ids), chunk)]
    for g, ids in enumerate(groups):
        where = f"batch_id IN {_ids_sql(ids)}"
        for table, cols in _STORE_COLS.items():
            # read in slices of SLICE_IDS ids (a batch's ids are contiguous): a batch of ten
            # million rows never sits whole in memory as Arrow
            span = store.read(f"SELECT min(id) AS lo, max(id) AS hi FROM {table} WHERE {where}")
            lo, hi = span.column("lo")[0].as_py(), span.column("hi")[0].as_py()
            starts = range(int(lo), int(hi) + 1, SLICE_IDS) if lo is not None else [None]
            for k, start in enumerate(starts):
                rng = (
                    "" if start is None else f" AND id BETWEEN {start} AND {start + SLICE_IDS - 1}"
                )
                part = store.read(f"SELECT {cols} FROM {table} WHERE {where}{rng}")
                con.register(f"r_{table}", part)
                verb = (
                    f"CREATE OR REPLACE TEMP TABLE w_{table} AS"
                    if k == 0
                    else (f"INSERT INTO w_{table}")
                )
                con.execute(f"{verb} {_STAGE['w_' + table]}")
                con.unregister(f"r_{table}")
                del part
        con.execute("""CREATE OR REPLACE TEMP TABLE w_first_offence AS
            SELECT incident_id, min(offence_id) AS offence_id
            FROM w_offence GROUP BY incident_id""")
        for name in FACTS:
            con.execute(f"INSERT INTO {name} {_fact_sql(name)}")
        if progress is not None:
            progress(g + 1, len(groups), f"batches {ids[0]}..{ids[-1]}")


def _current_ids(store: StoreReader) -> list[int]:
    t = store.read(
        f"SELECT id FROM batch WHERE status NOT IN {NOT_CURRENT!r} ORDER BY id",
    )
    return [int(i) for i in t.column("id").to_pylist()]


def _loaded_ids(con: duckdb.DuckDBPyConnection) -> set[int]:
    union = " UNION ".join(f"SELECT DISTINCT batch_id FROM {f}" for f in FACTS)
    return {int(r[0]) for r in con.execute(union).fetchall() if r[0] is not None}


def _counts(con: duckdb.DuckDBPyConnection) -> MappingProxyType[str, int]:
    return MappingProxyType(
        {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES}  # type: ignore[index]
    )


def _run(
    engine: Engine,
    path: Path | str | None,
    mode: str,
    batch_ids: Iterable[int] | None,
    progress: Progress | None,
) -> WarehouseResult:
    con, wpath = _connect(path)
    store = StoreReader(engine)
    try:
        con.execute("BEGIN TRANSACTION")
        _create(con, replace=mode == "rebuild")
        _stage_reference(con, store)
        current = _current_ids(store)
        if mode == "rebuild":
            added, removed = current, []
        else:
            loaded = _loaded_ids(con)
            asked = {int(i) for i in batch_ids} if batch_ids is not None else set()
            cur = set(current)
            removed = sorted((loaded - cur) | (asked & loaded))
            added = sorted((cur - loaded) | (asked & cur))
            if removed:
                for name in FACTS:
                    con.execute(f"DELETE FROM {name} WHERE batch_id IN {_ids_sql(removed)}")
        _insert_batches(con, store, list(added), progress)
        con.execute("COMMIT")
        rows = _counts(con)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        store.close()
        con.close()
    return WarehouseResult(
        path=wpath, mode=mode, added=tuple(added), removed=tuple(removed), rows=rows
    )


def rebuild(
    engine: Engine, path: Path | str | None = None, progress: Progress | None = None
) -> WarehouseResult:
    """Recreate every warehouse table from the store's current batches.

    Parameters
    ----------
    engine
        The store.
    path
        DuckDB file (default ``settings.resolved_warehouse_path()``); created when missing.
    progress
        ``progress(done, total, label)`` after each group of batches.
    """
    return _run(engine, path, "rebuild", None, progress)


def refresh(
    engine: Engine,
    path: Path | str | None = None,
    batch_ids: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> WarehouseResult:
    """Bring the warehouse up to date incrementally, batch by batch.

    Deletes the facts of batches no longer current and inserts those of current batches not
    yet in the warehouse; ``batch_ids`` are reloaded in any case (deleted and, when current,
    inserted again). Equals :func:`rebuild` table by table (rows in any order).
    """
    return _run(engine, path, "refresh", batch_ids, progress)


def table(path: Path | str, name: str) -> pa.Table:
    """A warehouse table as Arrow (read-only connection)."""
    if name not in TABLES:
        raise KeyError(name)
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {name}").to_arrow_table()
    finally:
        con.close()
