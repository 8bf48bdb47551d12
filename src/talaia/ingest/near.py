"""Near duplicates: accepted records of one batch that may be the same event, flagged for review.

Two accepted records are near duplicates when they have the same national code and times
within Y minutes, and are either both located (distance within X metres, equirectangular
approximation) or, when one of them has no coordinates (forensic and custody files have none),
in the same area with the same person attributes (victim sex and age; custody: person key,
sex and age; NULL equals NULL). X and Y are the profile's ``near_duplicates`` tolerances.
Both are found with DuckDB grid hash joins (no quadratic band join), in slices of time cells
so that memory is bounded by the slice, not by the file. They are only flagged (kept, listed
in the batch report), never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from talaia.ingest.profile import SourceProfile

#: Candidate rows per slice of the near-duplicate search (memory bound), and pairs kept at most.
NEAR_SLICE_ROWS = 2_000_000
NEAR_PAIRS_MAX = 100_000

#: Person attributes that must match for a near duplicate without coordinates.
NEAR_ATTRIBUTES = {
    "incident": ("victim.sex", "victim.age"),
    "custody": ("custody.person_key", "custody.sex", "custody.age"),
}


def near_candidates(new: pa.Table, profile: SourceProfile) -> pa.Table | None:
    """The columns the near-duplicate search needs, in one schema for every profile: ``r`` (row),
    ``x``/``y`` (lon/lat or NULL), ``t`` (time), ``c`` (national code), ``a`` (area) and
    ``p1``..``p3`` (person attributes as text, NULL where not mapped); ``None`` when the profile
    maps no time or no national code (nothing can be compared)."""
    custody = profile.record == "custody"
    t_col = "v:custody.admitted_at" if custody else "v:incident.occurred_from"
    c_col = "v:custody.national_code" if custody else "v:offence.national_code"
    if t_col not in new.column_names or c_col not in new.column_names:
        return None
    n = new.num_rows

    def get(name: str, typ: pa.DataType) -> pa.ChunkedArray | pa.Array:
        if name in new.column_names:
            return pc.cast(new[name], typ)
        return pa.nulls(n, typ)

    cols = {
        "r": get("__row", pa.int64()),
        "x": get("v:incident.lon", pa.float64()),
        "y": get("v:incident.lat", pa.float64()),
        "t": get(t_col, pa.timestamp("us")),
        "c": get(c_col, pa.string()),
        "a": get("__area", pa.string()),
    }
    attrs = NEAR_ATTRIBUTES["custody" if custody else "incident"]
    for i in range(3):
        cols[f"p{i + 1}"] = (
            get("v:" + attrs[i], pa.string()) if i < len(attrs) else pa.nulls(n, pa.string())
        )
    return pa.table(cols)


def near_duplicates(
    con: duckdb.DuckDBPyConnection,
    parts: list,  # type: ignore[type-arg]
    profile: SourceProfile,
    renumber: Callable[[pa.Table, tuple[str, ...]], pa.Table],
) -> pa.Table:
    """Pairs of accepted rows flagged as near duplicates (see the module docstring):
    ``row_a < row_b``, ``metres`` (NULL for a pair matched by area) and ``minutes``."""
    empty = pa.table(
        {
            "row_a": pa.array([], pa.int64()),
            "row_b": pa.array([], pa.int64()),
            "metres": pa.array([], pa.float64()),
            "minutes": pa.array([], pa.float64()),
        }
    )
    if not parts or not profile.near_duplicates:
        return empty
    if isinstance(parts[0], Path):
        con.execute(
            f"CREATE TEMP VIEW nd AS SELECT * FROM read_parquet({[str(p) for p in parts]!r})"
        )
    else:
        con.register("nd", pa.concat_tables(parts))
    tol = profile.near_duplicates
    # the pairs are sorted at the end: the joins need not keep insertion order (and can spill)
    con.execute("SET preserve_insertion_order = false")
    lat_max = con.execute("SELECT max(abs(y)) FROM nd").fetchall()[0][0] or 0.0
    cell_y = max(2 * tol.metres / 111_000.0, 1e-7)
    cos = max(float(np.cos(np.radians(min(lat_max, 89.0)))), 1e-3)
    cell_x = max(2 * tol.metres / (111_320.0 * cos), 1e-7)
    cell_t = max(2 * tol.minutes * 60.0, 1.0)
    secs = tol.minutes * 60.0
    dist = (
        "6371008.8 * sqrt(power(radians(b.x - a.x) * cos(radians((a.y + b.y) / 2)), 2) "
        "+ power(radians(b.y - a.y), 2))"
    )
    nul = "chr(0)"
    same_person = " AND ".join(
        f"coalesce(a.{p}, {nul}) = coalesce(b.{p}, {nul})" for p in ("p1", "p2", "p3")
    )
    # grid hash joins: cells twice the tolerance wide, so that a point's tolerance window
    # touches only its own cell and the neighbour on the side of the half it lies in; each
    # point is expanded to those neighbour cells and joined on equality, then the exact
    # tolerances are applied (no quadratic band join). Located pairs: 2 x 2 x 2 (time, x, y)
    # cells; pairs where one record has no coordinates: same area and person, 2 time cells.
    sql = f"""
        WITH p AS (SELECT r, x, y, epoch(t) AS t, c, a, p1, p2, p3 FROM nd
                   WHERE t IS NOT NULL AND c IS NOT NULL
                     AND floor(epoch(t) / {cell_t}) BETWEEN $lo - 1 AND $hi + 1),
        g AS (SELECT *, CAST(floor(t / {cell_t}) AS BIGINT) AS gt,
                     CAST(floor(x / {cell_x}) AS BIGINT) AS gx,
                     CAST(floor(y / {cell_y}) AS BIGINT) AS gy FROM p),
        h AS (SELECT *, CASE WHEN t / {cell_t} - gt < 0.5 THEN -1 ELSE 1 END AS ot,
                     CASE WHEN x / {cell_x} - gx < 0.5 THEN -1 ELSE 1 END AS ox,
                     CASE WHEN y / {cell_y} - gy < 0.5 THEN -1 ELSE 1 END AS oy FROM g),
        d AS (SELECT unnest([0, 1]) AS k),
        e AS (SELECT h.*, h.gt + d1.k * h.ot AS nt, h.gx + d2.k * h.ox AS nx,
                     h.gy + d3.k * h.oy AS ny FROM h, d d1, d d2, d d3
              WHERE h.x IS NOT NULL AND h.y IS NOT NULL),
        located AS (
            SELECT a.r AS row_a, b.r AS row_b, {dist} AS metres,
                   abs(b.t - a.t) / 60.0 AS minutes
            FROM g a JOIN e b ON a.c = b.c AND a.gt = b.nt AND a.gx = b.nx AND a.gy = b.ny
            WHERE a.gt BETWEEN $lo AND $hi AND a.r < b.r AND abs(b.t - a.t) <= {secs}
              AND {dist} <= {tol.metres}),
        et AS (SELECT h.*, h.gt + d.k * h.ot AS nt, h.x IS NULL OR h.y IS NULL AS nc
               FROM h, d WHERE h.a IS NOT NULL),
        ga AS (SELECT *, x IS NULL OR y IS NULL AS nc FROM g WHERE a IS NOT NULL),
        by_area AS (
            -- a pair with at least one unlocated record: either the first is unlocated (any
            -- second), or the first is located and the second is not (no pair twice; the
            -- located rows never meet each other here)
            SELECT a.r AS row_a, b.r AS row_b, CAST(NULL AS DOUBLE) AS metres,
                   abs(b.t - a.t) / 60.0 AS minutes
            FROM ga a JOIN et b ON a.c = b.c AND a.a = b.a AND a.gt = b.nt AND {same_person}
            WHERE a.gt BETWEEN $lo AND $hi AND a.nc AND a.r < b.r AND abs(b.t - a.t) <= {secs}
            UNION ALL
            SELECT b.r AS row_a, a.r AS row_b, CAST(NULL AS DOUBLE) AS metres,
                   abs(b.t - a.t) / 60.0 AS minutes
            FROM ga a JOIN et b ON a.c = b.c AND a.a = b.a AND a.gt = b.nt AND {same_person}
            WHERE a.gt BETWEEN $lo AND $hi AND a.nc AND NOT b.nc AND b.r < a.r
              AND abs(b.t - a.t) <= {secs})
        SELECT * FROM (SELECT * FROM located UNION ALL SELECT * FROM by_area)
        ORDER BY row_a, row_b LIMIT {NEAR_PAIRS_MAX}"""
    # the search runs over slices of time cells (with their neighbour cells), so that memory
    # is bounded by the slice, not the file: a pair is found in the slice of its first row's
    # cell, once
    lo_hi = con.execute(
        f"SELECT CAST(min(floor(epoch(t) / {cell_t})) AS BIGINT), "
        f"CAST(max(floor(epoch(t) / {cell_t})) AS BIGINT), count(*) FROM nd "
        "WHERE t IS NOT NULL AND c IS NOT NULL"
    ).fetchall()[0]
    found: list[pa.Table] = []
    if lo_hi[0] is not None:
        g0, g1, n = int(lo_hi[0]), int(lo_hi[1]), int(lo_hi[2])
        slices = max(1, -(-n // NEAR_SLICE_ROWS))
        width = max(1, -(-(g1 - g0 + 1) // slices))
        for lo in range(g0, g1 + 1, width):
            found.append(con.sql(sql, params={"lo": lo, "hi": lo + width - 1}).to_arrow_table())
    res = pa.concat_tables(found) if found else empty
    res = res.sort_by([("row_a", "ascending"), ("row_b", "ascending")]).slice(0, NEAR_PAIRS_MAX)
    if isinstance(parts[0], Path):
        con.execute("DROP VIEW nd")
    else:
        con.unregister("nd")
    return renumber(res, ("row_a", "row_b"))
