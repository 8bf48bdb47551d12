"""Run indicator definitions on the DuckDB warehouse and attach statistics and coverage.

:func:`compute` is the entry point: it compiles the definition (:mod:`talaia.indicators.sql`),
runs it, then, vectorized over the result, decides coverage (``ok`` / ``partial`` / ``no_data``;
a value nobody reported is NULL, never 0), computes the value in its unit with its interval
(exact Poisson for counts and rates, Wilson for shares), optionally smooths small-area rates
(Marshall's empirical Bayes, flagged) and compares each value with the previous period or the
same period a year earlier (conditional binomial test).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa

from talaia import stats
from talaia.errors import NotFoundError, UserInputError
from talaia.indicators.definitions import Indicator, get_indicator
from talaia.indicators.sql import NATIONAL, Query, build_statement, footprint_select
from talaia.periods import Period, parse_period, period_range

Warehouse = str | Path | duckdb.DuckDBPyConnection | None
Compare = Literal["previous", "year_earlier"] | None


@contextmanager
def connect(warehouse: Warehouse = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection: the one given, or the file given (read-only), or the settings'."""
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        yield warehouse
        return
    if warehouse is None:
        from talaia.settings import get_settings

        warehouse = get_settings().resolved_warehouse_path()
    path = Path(warehouse)
    if not path.exists():
        raise NotFoundError(f"no warehouse at {path} / no hay almacén en {path}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Run ``sql`` and fetch the (small, aggregated) result as Arrow."""
    res = con.execute(sql)
    fetch = getattr(res, "to_arrow_table", None) or res.fetch_arrow_table
    with warnings.catch_warnings():
        # DuckDB 2 warns that a DB-API result is copied once more; results here are small
        warnings.simplefilter("ignore", UserWarning)
        return fetch()


def parse_periods(period: str | Period | Iterable[str | Period]) -> tuple[Period, ...]:
    """``"2023"``, ``"2014-01..2023-12"`` (a range), a :class:`Period` or a sequence of them."""
    items = [period] if isinstance(period, str | Period) else list(period)
    out: list[Period] = []
    try:
        for item in items:
            if isinstance(item, str) and ".." in item:
                a, b = item.split("..", 1)
                out.extend(period_range(a, b))
            else:
                out.append(parse_period(item))
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    if not out:
        raise UserInputError("no period given / no se indicó ningún periodo")
    return tuple(dict.fromkeys(out))


def area_level(con: duckdb.DuckDBPyConnection, area: str | None) -> tuple[int, str | None]:
    """Level of an area code in ``dim_area`` (0 for the country) and its level-1 region."""
    if area is None or area == NATIONAL:
        return 0, None
    rows = con.execute("SELECT level, area_l1 FROM dim_area WHERE area_code = ?", [area]).fetchall()
    if not rows:
        raise NotFoundError(f"no area {area!r} / no existe el área {area!r}")
    return int(rows[0][0]), rows[0][1]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a result comes from (also stored as JSON in the Arrow schema metadata)."""

    indicator_id: str
    indicator_version: int
    batch_ids: tuple[int, ...]
    crosswalk_versions: tuple[int, ...]
    sql: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "indicator_id": self.indicator_id,
                "indicator_version": self.indicator_version,
                "batch_ids": list(self.batch_ids),
                "crosswalk_versions": list(self.crosswalk_versions),
                "sql": self.sql,
            }
        )


def _num(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Numeric column as float64 with NaN for NULL."""
    return np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _flatten_ints(col: pa.ChunkedArray) -> tuple[int, ...]:
    vals = pa.compute.list_flatten(col).drop_null().to_pylist() if len(col) else []
    return tuple(sorted({int(v) for v in vals}))


_FOOTPRINTS: dict[tuple[object, ...], tuple[tuple[str, str | None], ...]] = {}


def _footprint(con: duckdb.DuckDBPyConnection, q: Query) -> tuple[tuple[str, str | None], ...]:
    """Footprint of the sources counted (see :func:`talaia.indicators.sql.footprint_select`),
    cached per warehouse state: the key holds the database file, the fact table's row count
    and a signature of ``source_month`` (batch ids, deliveries), which every load, refresh or
    rebuild changes."""
    table = q.indicator.numerator.table
    sig = con.execute(
        "SELECT (SELECT coalesce(max(path), '') FROM duckdb_databases() "
        "WHERE database_name = current_database()), current_database(), count(*), "
        "sum(coalesce(batch_id, 0)), sum(CASE WHEN delivered THEN 1 ELSE 0 END), "
        f"(SELECT count(*) FROM {table}) FROM source_month"
    ).fetchall()[0]
    key = (*sig, table, q.kinds, q.source_codes, q.region)
    if key not in _FOOTPRINTS:
        if len(_FOOTPRINTS) > 256:
            _FOOTPRINTS.clear()
        rows = con.sql(footprint_select(q).sql(dialect="duckdb")).fetchall()
        _FOOTPRINTS[key] = tuple((str(s), r) for s, r in rows)
    return _FOOTPRINTS[key]


_COMPILED: dict[tuple[object, ...], str] = {}


def _compiled(q: Query) -> str:
    """DuckDB SQL of ``q``, compiled once per distinct definition and query (like a prepared
    statement: dashboards ask the same questions again and again)."""
    key = (
        q.indicator.model_dump_json(),
        q.periods,
        q.area,
        q.area_level,
        q.level,
        q.by,
        q.source_kinds,
        q.source_codes,
        q.region,
        q.footprint,
    )
    sql = _COMPILED.get(key)
    if sql is None:
        if len(_COMPILED) > 512:
            _COMPILED.clear()
        sql = _COMPILED[key] = build_statement(q).sql(dialect="duckdb")
    return sql


def _run(con: duckdb.DuckDBPyConnection, q: Query) -> tuple[pa.Table, str]:
    try:
        q = replace(q, footprint=_footprint(con, q))
    except duckdb.CatalogException as exc:
        raise NotFoundError(f"warehouse is missing a table or column: {exc}") from None
    sql = _compiled(q)
    try:
        return _arrow(con, sql), sql
    except duckdb.CatalogException as exc:
        raise NotFoundError(f"warehouse is missing a table or column: {exc}") from None


def _assemble(ind: Indicator, q: Query, raw: pa.Table, annualize: bool) -> dict[str, Any]:
    """Coverage, value and interval for every row of the raw query result."""
    fractions = {str(p): p.year_fraction() for p in q.periods}
    months = {str(p): len(p.months()) for p in q.periods}
    periods = raw.column("period").to_pylist()
    frac = np.array([fractions[p] for p in periods], dtype=np.float64)
    nmonths = np.array([months[p] for p in periods], dtype=np.float64)
    expected = np.nan_to_num(_num(raw.column("expected_months")))
    delivered = np.nan_to_num(_num(raw.column("delivered_months")))
    with_data = np.nan_to_num(_num(raw.column("months_with_data")))
    no_data = delivered <= 0
    # partial: a due source-month did not arrive, or some month of the period had no source
    # at all (e.g. before the first source's expected_from)
    with np.errstate(divide="ignore", invalid="ignore"):
        completeness = 100.0 * np.minimum(
            np.where(expected > 0, delivered / expected, 0.0), with_data / nmonths
        )
    status = np.where(no_data, "no_data", np.where(completeness < 100.0, "partial", "ok"))
    numerator = np.where(no_data, np.nan, np.nan_to_num(_num(raw.column("numerator"))))

    out: dict[str, Any] = {"numerator": numerator}
    kind = ind.denominator.kind
    if kind == "population":
        exposure = _num(raw.column("exposure"))
        full = _num(raw.column("pop_months")) == nmonths  # population known for every month
        exposure = np.where(full, exposure, np.nan)
        denominator = exposure / frac  # average population
        est = stats.rate(numerator, denominator, frac if annualize else 1.0)
        value, low, high = est.rate, est.low, est.high
        out.update(denominator=denominator, exposure=exposure)
    elif kind == "count":
        denominator = np.where(no_data, np.nan, np.nan_to_num(_num(raw.column("denominator"))))
        ok = np.isfinite(denominator) & np.isfinite(numerator)
        n = np.where(ok, denominator, 0.0)
        x = np.where(ok, np.minimum(numerator, n), 0.0)
        if ind.unit == "percent":
            est_p = stats.wilson_interval(x, n)
            value, low, high = (
                np.where(ok, v * 100.0, np.nan) for v in (est_p.proportion, est_p.low, est_p.high)
            )
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(ok & (n > 0), numerator / n, np.nan)
            low = high = np.full(value.shape, np.nan)
        out.update(denominator=denominator, exposure=np.full(value.shape, np.nan))
    else:
        ci = stats.poisson_interval(np.nan_to_num(numerator))
        value = numerator
        low = np.where(no_data, np.nan, ci.low)
        high = np.where(no_data, np.nan, ci.high)
        out.update(denominator=np.full(value.shape, np.nan), exposure=frac.copy())
    out.update(
        value=value,
        ci_low=low,
        ci_high=high,
        coverage=status,
        completeness=completeness,
        expected_months=expected,
        delivered_months=delivered,
        year_fraction=frac,
    )
    return out


def _smooth(
    con: duckdb.DuckDBPyConnection, ind: Indicator, q: Query, raw: pa.Table, cols: dict[str, Any]
) -> None:
    """Marshall global EB among sibling areas (same parent), per period and breakdown."""
    n = len(cols["value"])
    cols["smoothed"] = np.zeros(n, dtype=bool)
    if ind.unit != "rate_per_100k" or q.level == 0:
        return
    parents = dict(
        con.execute(
            "SELECT area_code, coalesce(parent_code, '') FROM dim_area WHERE level = ?", [q.level]
        ).fetchall()
    )
    key_cols = ["period", *q.by]
    keys = [raw.column(c).to_pylist() for c in key_cols]
    area = raw.column("area_code").to_pylist()
    group = np.array(
        [
            "\x1f".join(map(str, t)) + "\x1f" + parents.get(a, "")
            for *t, a in zip(*keys, area, strict=True)
        ]
    )
    use = np.isfinite(cols["numerator"]) & np.isfinite(cols["exposure"]) & (cols["exposure"] > 0)
    if not use.any():
        return
    sm = stats.eb_global(cols["numerator"][use], cols["exposure"][use], groups=group[use])
    value = cols["value"].copy()
    value[use] = sm.smoothed * stats.PER_100K
    cols["value"] = value
    cols["smoothed"] = use


def _compare(
    con: duckdb.DuckDBPyConnection,
    ind: Indicator,
    q: Query,
    raw: pa.Table,
    cols: dict[str, Any],
    compare: str,
    annualize: bool,
) -> None:
    ref_of = {
        str(p): (p.previous() if compare == "previous" else p.year_earlier()) for p in q.periods
    }
    ref_periods = tuple(dict.fromkeys(ref_of.values()))
    rq = Query(
        q.indicator,
        ref_periods,
        q.area,
        q.area_level,
        q.level,
        q.by,
        q.source_kinds,
        q.source_codes,
        q.region,
    )
    rraw, _ = _run(con, rq)
    rcols = _assemble(ind, rq, rraw, annualize)
    key_cols = ["area_code", *q.by]
    rkeys = zip(
        rraw.column("period").to_pylist(),
        *[rraw.column(c).to_pylist() for c in key_cols],
        strict=True,
    )
    index = {k: i for i, k in enumerate(rkeys)}
    keys = zip(
        [str(ref_of[p]) for p in raw.column("period").to_pylist()],
        *[raw.column(c).to_pylist() for c in key_cols],
        strict=True,
    )
    pos = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
    n = len(pos)
    have = pos >= 0

    def pick(name: str) -> np.ndarray:
        arr = np.full(n, np.nan)
        arr[have] = rcols[name][pos[have]]
        return arr

    ref_value, ref_num = pick("value"), pick("numerator")
    exp1 = cols["exposure"] if ind.denominator.kind != "count" else cols["year_fraction"]
    exp2 = pick("exposure") if ind.denominator.kind != "count" else pick("year_fraction")
    ok = (
        np.isfinite(cols["numerator"])
        & np.isfinite(ref_num)
        & np.isfinite(exp1)
        & np.isfinite(exp2)
        & (exp1 > 0)
        & (exp2 > 0)
    )
    p_value = np.full(n, np.nan)
    ratio = np.full(n, np.nan)
    if ok.any() and ind.denominator.kind != "count":
        cmp = stats.compare_poisson(cols["numerator"][ok], exp1[ok], ref_num[ok], exp2[ok])
        p_value[ok], ratio[ok] = cmp.p_value, cmp.rate_ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(ref_value != 0, 100.0 * (cols["value"] - ref_value) / ref_value, np.nan)
    cols.update(
        ref_period=[str(ref_of[p]) for p in raw.column("period").to_pylist()],
        ref_value=ref_value,
        ref_numerator=ref_num,
        change_abs=cols["value"] - ref_value,
        change_pct=change,
        rate_ratio=ratio,
        p_value=p_value,
        significant=np.where(np.isfinite(p_value), p_value < 0.05, False),
        ref_coverage=np.array([rcols["coverage"][i] if i >= 0 else "no_data" for i in pos]),
    )


def _nan_to_null(a: np.ndarray) -> pa.Array:
    return pa.array(a, mask=~np.isfinite(a), type=pa.float64())


def compute(
    indicator_id: str | Indicator,
    area: str | None = None,
    period: str | Period | Iterable[str | Period] = "",
    by: str | Sequence[str] | None = None,
    level: int | None = None,
    warehouse: Warehouse = None,
    source_kind: str | Sequence[str] | None = None,
    source: str | Sequence[str] | None = None,
    compare: Compare = None,
    smooth: bool = False,
    annualize: bool = True,
) -> pa.Table:
    """Compute an indicator on the warehouse.

    Parameters
    ----------
    indicator_id
        Catalogue id (or a definition).
    area
        Area code (``None`` or ``"national"`` = the whole country).
    period
        ``"2023"``, ``"2023-Q2"``, ``"2023-05"``, ``"R12:2023-05"``, ``"2023-W07"``, a range
        ``"2014-01..2023-12"``, or a sequence of those. Defaults to the last complete year.
    by
        Breakdown variable(s), among the definition's ``disaggregations``.
    level
        Output area level: 0 national, 1-3 every area of that level within ``area``
        (roll-up along the hierarchy). Default: the level of ``area``.
    warehouse
        DuckDB connection or file (default: the settings' warehouse, read-only).
    source_kind
        Override the kinds of source counted (e.g. ``"forensic"`` for homicide).
    source
        Count only these source codes (coverage follows them too).
    compare
        ``"previous"`` or ``"year_earlier"``: adds the reference value, change and the
        conditional binomial test (Przyborowski & Wilenski 1940) of the change.
    smooth
        Replace rates by Marshall (1991) empirical-Bayes rates among sibling areas
        (flagged in ``smoothed``).
    annualize
        Express rates per 100,000 person-years (default) rather than per 100,000 population
        over the period.

    Returns
    -------
    pyarrow.Table
        One row per period x area x breakdown value with ``numerator``, ``denominator``,
        ``value``, ``ci_low``, ``ci_high``, ``coverage`` (ok | partial | no_data),
        ``completeness`` (%), ``smoothed``, ``batch_ids``, ``crosswalk_versions``,
        ``indicator_id``, ``indicator_version``; provenance as JSON in the schema metadata.
    """
    ind = indicator_id if isinstance(indicator_id, Indicator) else get_indicator(indicator_id)
    by_t = (by,) if isinstance(by, str) else tuple(by or ())
    bad = [b for b in by_t if b not in ind.disaggregations]
    if bad:
        raise UserInputError(
            f"{ind.id} cannot be broken down by {', '.join(bad)}; allowed: "
            f"{', '.join(ind.disaggregations) or '-'} / desagregaciones permitidas"
        )
    kinds = (source_kind,) if isinstance(source_kind, str) else tuple(source_kind or ())
    if not period:
        from datetime import date

        period = str(date.today().year - 1)
    periods = parse_periods(period)
    with connect(warehouse) as con:
        alevel, region = area_level(con, area)
        lvl = alevel if level is None else level
        if lvl < alevel or lvl > 3:
            raise UserInputError(f"level {lvl} is not within area {area} (level {alevel})")
        codes = (source,) if isinstance(source, str) else tuple(source or ())
        q = Query(
            ind, periods, None if alevel == 0 else area, alevel, lvl, by_t, kinds, codes, region
        )
        try:
            raw, sql = _run(con, q)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        cols = _assemble(ind, q, raw, annualize)
        raw_value = cols["value"].copy()
        if smooth:
            _smooth(con, ind, q, raw, cols)
        else:
            cols["smoothed"] = np.zeros(len(raw_value), dtype=bool)
        if compare:
            _compare(con, ind, q, raw, cols, compare, annualize)
    prov = Provenance(
        ind.id,
        ind.version,
        _flatten_ints(raw.column("batch_ids")),
        _flatten_ints(raw.column("crosswalk_versions")),
        sql,
    )
    n = raw.num_rows
    arrays: dict[str, pa.Array] = {
        "indicator_id": pa.array([ind.id] * n, pa.string()),
        "indicator_version": pa.array([ind.version] * n, pa.int32()),
        "period": raw.column("period").combine_chunks(),
        "area_code": raw.column("area_code").combine_chunks(),
        "area_level": pa.array([lvl] * n, pa.int8()),
    }
    for b in by_t:
        arrays[b] = raw.column(b).combine_chunks()
    arrays.update(
        {
            "numerator": _nan_to_null(cols["numerator"]),
            "denominator": _nan_to_null(cols["denominator"]),
            "value": _nan_to_null(cols["value"]),
            "ci_low": _nan_to_null(cols["ci_low"]),
            "ci_high": _nan_to_null(cols["ci_high"]),
            "unit": pa.array([ind.unit] * n, pa.string()),
            "annualized": pa.array([annualize and ind.unit == "rate_per_100k"] * n, pa.bool_()),
            "coverage": pa.array(cols["coverage"], pa.string()),
            "completeness": _nan_to_null(cols["completeness"]),
            "expected_source_months": pa.array(cols["expected_months"].astype(np.int64)),
            "delivered_source_months": pa.array(cols["delivered_months"].astype(np.int64)),
            "smoothed": pa.array(cols["smoothed"], pa.bool_()),
            "raw_value": _nan_to_null(raw_value),
        }
    )
    if compare:
        arrays["ref_period"] = pa.array(cols["ref_period"], pa.string())
        for name in (
            "ref_value",
            "ref_numerator",
            "change_abs",
            "change_pct",
            "rate_ratio",
            "p_value",
        ):
            arrays[name] = _nan_to_null(cols[name])
        arrays["significant"] = pa.array(cols["significant"], pa.bool_())
        arrays["ref_coverage"] = pa.array(cols["ref_coverage"], pa.string())
    arrays["batch_ids"] = raw.column("batch_ids").combine_chunks()
    arrays["sources"] = raw.column("sources").combine_chunks()
    arrays["crosswalk_versions"] = raw.column("crosswalk_versions").combine_chunks()
    table = pa.table(arrays)
    return table.replace_schema_metadata({"talaia.provenance": prov.to_json()})


def provenance(table: pa.Table) -> dict[str, Any]:
    """The provenance stored in a result's schema metadata."""
    meta = table.schema.metadata or {}
    return json.loads(meta.get(b"talaia.provenance", b"{}"))
