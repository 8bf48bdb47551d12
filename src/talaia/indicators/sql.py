"""Compile an indicator definition to one portable SQL statement with sqlglot builders.

The statement reads the warehouse tables of docs/contracts.md §6 and returns, for every
requested period x area (at the output level) x breakdown value, the numerator, the denominator
(person-years of population, or another count), and the coverage of the source-months that the
value expected. Statistics (intervals, smoothing, tests) are applied afterwards, in NumPy.

Every value from a definition or a caller enters the tree as a sqlglot literal (escaped by the
generator); identifiers come only from validated definitions. The tree is generated for DuckDB
and transpiles to PostgreSQL and Spark (``statement.sql(dialect="postgres")``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlglot import exp

from talaia.indicators.definitions import (
    POPULATION_DIMENSIONS,
    Filter,
    Indicator,
    tokens_of,
)
from talaia.periods import Period

#: Area code given to values for the whole country.
NATIONAL = "national"

_ICCS_COL = {2: "iccs_l1", 4: "iccs_l2", 5: "iccs_l3", 6: "iccs_l4"}


def _lit(v: object) -> exp.Expression:
    if v is None:
        return exp.Null()
    if isinstance(v, bool):
        return exp.Boolean(this=v)
    if isinstance(v, int | float):
        return exp.Literal.number(v)
    if isinstance(v, date):
        return exp.cast(exp.Literal.string(v.isoformat()), "DATE")
    return exp.Literal.string(str(v))


def _as(e: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(e, name, copy=False)


def _col(name: str, table: str | None = "f") -> exp.Column:
    return exp.column(name, table=table)


def _eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.EQ(this=a, expression=b)


def _any(parts: Sequence[exp.Expression]) -> exp.Expression:
    return exp.or_(*parts) if len(parts) > 1 else parts[0]


def _all(parts: Sequence[exp.Expression | None]) -> exp.Expression | None:
    kept = [p for p in parts if p is not None]
    if not kept:
        return None
    return exp.and_(*kept) if len(kept) > 1 else kept[0]


def _values_in(column: exp.Expression, values: Iterable[object]) -> exp.Expression:
    vals = list(values)
    known = [v for v in vals if v is not None]
    parts: list[exp.Expression] = []
    if len(known) == 1:
        parts.append(_eq(column.copy(), _lit(known[0])))
    elif known:
        parts.append(exp.In(this=column.copy(), expressions=[_lit(v) for v in known]))
    if len(known) < len(vals):
        parts.append(exp.Is(this=column.copy(), expression=exp.Null()))
    return exp.Paren(this=_any(parts)) if len(parts) > 1 else parts[0]


def iccs_column(code: str) -> str:
    """Warehouse column holding the ICCS path level of ``code`` (``"0101"`` -> ``iccs_l2``)."""
    try:
        return _ICCS_COL[len(code)]
    except KeyError:
        raise ValueError(f"not an ICCS code: {code!r}") from None


def filter_condition(
    flt: Filter, source_kinds: Sequence[str] | None = None, alias: str = "f"
) -> exp.Expression | None:
    """WHERE condition of a :class:`Filter` (``source_kinds`` overrides the filter's)."""
    parts: list[exp.Expression | None] = []
    if flt.iccs:
        parts.append(
            exp.Paren(this=_any([_eq(_col(iccs_column(c), alias), _lit(c)) for c in flt.iccs]))
        )
    for c in flt.iccs_exclude:
        col = _col(iccs_column(c), alias)
        parts.append(
            exp.Paren(
                this=exp.or_(
                    exp.Is(this=col, expression=exp.Null()),
                    exp.NEQ(this=col.copy(), expression=_lit(c)),
                )
            )
        )
    for name, values in flt.where.items():
        parts.append(_values_in(_col(name, alias), values))
    for group in flt.any_of:
        parts.append(
            exp.Paren(this=_any([_values_in(_col(n, alias), v) for n, v in group.items()]))
        )
    kinds = tuple(source_kinds) if source_kinds else flt.source_kind
    if kinds:
        parts.append(_values_in(_col("source_kind", alias), kinds))
    return _all(parts)


@dataclass(frozen=True, slots=True)
class Query:
    """What to compute.

    Attributes
    ----------
    indicator
        The definition.
    periods
        Periods wanted (any mix of kinds).
    area, area_level
        Restrict to this area (``None``/0 = the whole country).
    level
        Output level: 0 national, 1-3 every area of that level inside ``area``.
    by
        Breakdown variables (allowed by the definition).
    source_kinds
        Override of the numerator's source kinds (``()`` keeps the definition's).
    source_codes
        Restrict to these sources.
    region
        Level-1 area containing ``area`` (narrows the coverage footprint).
    footprint
        Precomputed ``(source_code, area_l1)`` pairs of :func:`footprint_select` (saves a
        scan of the fact table); ``None`` computes them inside the statement.
    """

    indicator: Indicator
    periods: tuple[Period, ...]
    area: str | None = None
    area_level: int = 0
    level: int = 0
    by: tuple[str, ...] = ()
    source_kinds: tuple[str, ...] = ()
    source_codes: tuple[str, ...] = ()
    region: str | None = None
    footprint: tuple[tuple[str, str | None], ...] | None = None

    def source_filter(self, alias: str) -> exp.Expression | None:
        """Restriction to the chosen source codes, if any."""
        if not self.source_codes:
            return None
        return _values_in(_col("source_code", alias), self.source_codes)

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.source_kinds or self.indicator.numerator.source_kind


def period_month_rows(periods: Sequence[Period]) -> list[tuple[str, date, int, float]]:
    """``(period, period_month, population year, weight)`` for every month each period touches.

    The weight is the share of a year that the period's days within that month represent
    (so that population x weight summed over the rows is the person-years of exposure).
    """
    rows = []
    for p in periods:
        for y, m in p.months():
            first = date(y, m, 1)
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            lo, hi = max(first, p.start), min(nxt, p.end)
            days_year = (date(y + 1, 1, 1) - date(y, 1, 1)).days
            rows.append((str(p), first, y, (hi - lo).days / days_year))
    return rows


def _sorted_set(column: exp.Expression) -> exp.Expression:
    """``ARRAY_AGG(DISTINCT column ORDER BY column)``."""
    return exp.ArrayAgg(
        this=exp.Order(
            this=exp.Distinct(expressions=[column]),
            expressions=[exp.Ordered(this=column.copy(), nulls_first=False)],
        )
    )


def _values_cte(name: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> exp.Select:
    """``SELECT <columns> FROM (VALUES ...) AS name(columns)``; dates travel as ISO text and
    are cast once per column (fewer nodes to generate than one CAST per value)."""
    dates = {i for i, v in enumerate(rows[0]) if isinstance(v, date)} if rows else set()
    vals = exp.values(
        [tuple(_lit(v.isoformat() if i in dates else v) for i, v in enumerate(r)) for r in rows],
        alias=name,
        columns=columns,
    )
    cols = [
        exp.cast(_col(c, name), "DATE") if i in dates else _col(c, name)
        for i, c in enumerate(columns)
    ]
    return exp.select(*[_as(c, n) for c, n in zip(cols, columns, strict=True)]).from_(
        vals, copy=False
    )


def _area_key(q: Query, alias: str) -> exp.Expression:
    return _lit(NATIONAL) if q.level == 0 else _col(f"area_l{q.level}", alias)


def _area_filter(q: Query, alias: str) -> exp.Expression | None:
    if q.area is None or q.area_level == 0:
        return None
    return _eq(_col(f"area_l{q.area_level}", alias), _lit(q.area))


def _count_select(q: Query, flt: Filter, out: str, by: Sequence[str]) -> exp.Select:
    weeks = any(p.kind == "week" for p in q.periods)
    key = "pw" if weeks else "pm"
    agg: exp.Expression = (
        exp.Count(this=exp.Distinct(expressions=[_col(flt.count_distinct)]))
        if flt.count_distinct
        else exp.Count(this=exp.Star())
    )
    sel = exp.select(
        _as(_col("period", key), "period"),
        _as(_area_key(q, "f"), "area_code"),
        *[_as(_col(b), b) for b in by],
        _as(agg, out),
        *(
            [_as(_sorted_set(_col("crosswalk_version")), "crosswalk_versions")]
            if out == "numerator"
            else []
        ),
    ).from_(_as(exp.to_table(flt.table), "f"), copy=False)
    if weeks:
        on = exp.and_(
            _eq(_col("iso_year"), _col("iso_year", "pw")),
            _eq(_col("iso_week"), _col("iso_week", "pw")),
        )
    else:
        on = _eq(_col("period_month"), _col("period_month", "pm"))
    sel = sel.join(exp.to_table(key), on=on, copy=False)
    cond = _all(
        [
            filter_condition(
                flt,
                q.kinds if flt is q.indicator.numerator else (q.source_kinds or flt.source_kind),
            ),
            _area_filter(q, "f"),
            q.source_filter("f"),
        ]
    )
    if cond is not None:
        sel = sel.where(cond, copy=False)
    groups = [_col("period", key)] + ([_col(f"area_l{q.level}")] if q.level else [])
    return sel.group_by(*groups, *[_col(b) for b in by])


def _population_select(q: Query, by: Sequence[str]) -> exp.Select:
    # aggregate the population to (area key, year, breakdown) first, then spread over months
    inner = exp.select(
        _as(_area_key(q, "p"), "area_code"),
        _as(_col("year", "p"), "year"),
        *[_as(_col(b, "p"), b) for b in by],
        _as(exp.Sum(this=_col("population", "p")), "population"),
    ).from_(_as(exp.to_table("population"), "p"), copy=False)
    conds = [_area_filter(q, "p")]
    for name, values in q.indicator.denominator.population_where.items():
        conds.append(_values_in(_col(name, "p"), values))
    cond = _all(conds)
    if cond is not None:
        inner = inner.where(cond, copy=False)
    inner = inner.group_by(
        *([_col(f"area_l{q.level}", "p")] if q.level else []),
        _col("year", "p"),
        *[_col(b, "p") for b in by],
        copy=False,
    )
    sel = exp.select(
        _as(_col("period", "pm"), "period"),
        _as(_col("area_code", "pa"), "area_code"),
        *[_as(_col(b, "pa"), b) for b in by],
        _as(
            exp.Sum(this=exp.Mul(this=_col("population", "pa"), expression=_col("w", "pm"))),
            "exposure",
        ),
        _as(exp.Count(this=exp.Distinct(expressions=[_col("period_month", "pm")])), "pop_months"),
    ).from_(_as(inner.subquery(copy=False), "pa"), copy=False)
    sel = sel.join(
        exp.to_table("pm"), on=_eq(_col("year", "pa"), _col("pop_year", "pm")), copy=False
    )
    return sel.group_by(
        _col("period", "pm"), _col("area_code", "pa"), *[_col(b, "pa") for b in by], copy=False
    )


def footprint_select(q: Query) -> exp.Select:
    """Distinct ``(source_code, area_l1)`` of the sources counted, from the fact table."""
    fp = (
        exp.select(_as(_col("source_code"), "source_code"), _as(_col("area_l1"), "area_l1"))
        .distinct()
        .from_(_as(exp.to_table(q.indicator.numerator.table), "f"), copy=False)
    )
    region = _eq(_col("area_l1"), _lit(q.region)) if q.region is not None else None
    cond = _all(
        [
            _values_in(_col("source_kind"), q.kinds) if q.kinds else None,
            region,
            q.source_filter("f"),
        ]
    )
    if cond is not None:
        fp = fp.where(cond, copy=False)
    return fp


def _coverage_selects(q: Query) -> tuple[exp.Select, exp.Select]:
    """Footprint and coverage.

    ``source_month`` has no area, so a source is taken to cover every area of each level-1
    region where it recorded at least one row in the indicator's fact table (a regional police
    force covers its region; a national one every region). A municipality without any record
    of its police is then still covered: its months are zeros, not "no data".
    """
    if q.footprint is not None:
        rows = sorted({(s, r if q.level else None) for s, r in q.footprint}) or [("", "")]
        fp = _values_cte("fp", ["source_code", "area_l1"], rows)
    else:
        fp = footprint_select(q)
    delivered = _col("delivered", "sm")
    expected = exp.or_(_col("expected", "sm"), delivered.copy())

    def _n(c: exp.Expression) -> exp.Expression:
        return exp.Sum(
            this=exp.Case(
                ifs=[exp.If(this=c, true=exp.Literal.number(1))], default=exp.Literal.number(0)
            )
        )

    def _agg_list(c: str) -> exp.Expression:
        return exp.Filter(
            this=_sorted_set(_col(c, "sm")),
            expression=exp.Where(this=delivered.copy()),
        )

    cov = exp.select(
        _as(_col("period", "pm"), "period"),
        _as(_col("area_code", "ar") if q.level else _lit(NATIONAL), "area_code"),
        _as(_n(expected), "expected_months"),
        _as(_n(delivered.copy()), "delivered_months"),
        _as(
            exp.Count(
                this=exp.Distinct(
                    expressions=[
                        exp.Case(
                            ifs=[exp.If(this=delivered.copy(), true=_col("period_month", "pm"))]
                        )
                    ]
                )
            ),
            "months_with_data",
        ),
        _as(_agg_list("batch_id"), "batch_ids"),
        _as(_agg_list("source_code"), "sources"),
    ).from_(_as(exp.to_table("source_month"), "sm"), copy=False)
    cov = cov.join(
        exp.to_table("pm"), on=_eq(_col("period_month", "sm"), _col("period_month", "pm"))
    )
    fp_table = exp.to_table("fp")
    if not q.level:  # national: each source once, whatever its regions
        fp_table = _as(
            exp.select(_col("source_code", None))
            .distinct()
            .from_("fp", copy=False)
            .subquery(copy=False),
            "fp",
        )
    cov = cov.join(
        fp_table, on=_eq(_col("source_code", "fp"), _col("source_code", "sm")), copy=False
    )
    if q.level:
        cov = cov.join(
            _as(exp.to_table("areas"), "ar"),
            on=_eq(_col("area_l1", "ar"), _col("area_l1", "fp")),
            copy=False,
        )
    cov_cond = _all(
        [_values_in(_col("source_kind", "sm"), q.kinds) if q.kinds else None, q.source_filter("sm")]
    )
    if cov_cond is not None:
        cov = cov.where(cov_cond, copy=False)
    groups = [_col("period", "pm")] + ([_col("area_code", "ar")] if q.level else [])
    return fp, cov.group_by(*groups, copy=False)


def build_statement(q: Query) -> exp.Select:
    """The whole statement for ``q`` (see the module docstring)."""
    ind = q.indicator
    by = list(q.by)
    if len({p.kind == "week" for p in q.periods}) > 1:
        raise ValueError("ISO weeks cannot be mixed with month-based periods in one query")
    pm_rows = period_month_rows(q.periods)
    ctes: list[tuple[str, exp.Expression]] = [
        ("pm", _values_cte("pm", ["period", "period_month", "pop_year", "w"], pm_rows)),
    ]
    if any(p.kind == "week" for p in q.periods):
        pw_rows = [(str(p), p.year, p.index) for p in q.periods if p.kind == "week"]
        ctes.append(("pw", _values_cte("pw", ["period", "iso_year", "iso_week"], pw_rows)))
    if q.level == 0:
        areas = exp.select(_as(_lit(NATIONAL), "area_code"))
    else:
        areas = exp.select(
            _as(_col("area_code", "a"), "area_code"), _as(_col("area_l1", "a"), "area_l1")
        ).from_(_as(exp.to_table("dim_area"), "a"), copy=False)
        cond = _all([_eq(_col("level", "a"), _lit(q.level)), _area_filter(q, "a")])
        areas = areas.where(cond, copy=False)
    ctes.append(("areas", areas))
    ctes.append(("num", _count_select(q, ind.numerator, "numerator", by)))
    den_kind = ind.denominator.kind
    den_by: list[str] = []
    if den_kind == "population":
        den_by = [b for b in by if b in POPULATION_DIMENSIONS]
        ctes.append(("den", _population_select(q, den_by)))
    elif den_kind == "count":
        assert ind.denominator.filter is not None
        den_by = by
        ctes.append(("den", _count_select(q, ind.denominator.filter, "denominator", by)))
    fp, cov = _coverage_selects(q)
    ctes += [("fp", fp), ("cov", cov)]

    # every period x area x known breakdown value, plus whatever values the data hold
    grid = exp.select(
        _as(_col("period", "pr"), "period"),
        _as(_col("area_code", "ar"), "area_code"),
        *[_as(_col("v", f"b{i}"), b) for i, b in enumerate(by)],
    ).from_(
        _as(
            exp.select(_col("period", None))
            .distinct()
            .from_("pm", copy=False)
            .subquery(copy=False),
            "pr",
        )
    )
    grid = grid.join(_as(exp.to_table("areas"), "ar"), join_type="cross", copy=False)
    for i, b in enumerate(by):
        toks = tokens_of(b)
        if toks:
            sub = _values_cte(f"b{i}", ["v"], [(t,) for t in toks])
            grid = grid.join(_as(sub.subquery(copy=False), f"b{i}"), join_type="cross", copy=False)
    if by and not all(tokens_of(b) for b in by):
        grid = None  # breakdown without a known value list: keys come from the data only
    key_cols = ["period", "area_code", *by]
    from_num = exp.select(*[_col(c, "num") for c in key_cols]).from_("num", copy=False)
    keys: exp.Expression = (
        from_num if grid is None else exp.union(grid, from_num, distinct=True, copy=False)
    )
    if den_kind == "count":
        keys = exp.union(
            keys,
            exp.select(*[_col(c, "den") for c in key_cols]).from_("den", copy=False),
            distinct=True,
        )
    ctes.append(("keys", keys))

    def _on(other: str, cols: Sequence[str]) -> exp.Expression:
        parts: list[exp.Expression] = [
            _eq(_col("period", "k"), _col("period", other)),
            _eq(_col("area_code", "k"), _col("area_code", other)),
        ]
        parts += [exp.NullSafeEQ(this=_col(c, "k"), expression=_col(c, other)) for c in cols]
        return exp.and_(*parts)

    final = exp.select(
        *[_col(c, "k") for c in key_cols],
        _as(_col("numerator", "num"), "numerator"),
        _col("crosswalk_versions", "num"),
        *(
            [_col("exposure", "den"), _col("pop_months", "den")]
            if den_kind == "population"
            else [_col("denominator", "den")]
            if den_kind == "count"
            else []
        ),
        _col("expected_months", "cov"),
        _col("delivered_months", "cov"),
        _col("months_with_data", "cov"),
        _col("batch_ids", "cov"),
        _col("sources", "cov"),
    ).from_(_as(exp.to_table("keys"), "k"), copy=False)
    final = final.join(exp.to_table("num"), on=_on("num", by), join_type="left", copy=False)
    if den_kind != "none":
        final = final.join(exp.to_table("den"), on=_on("den", den_by), join_type="left", copy=False)
    final = final.join(
        exp.to_table("cov"),
        on=exp.and_(
            _eq(_col("period", "k"), _col("period", "cov")),
            _eq(_col("area_code", "k"), _col("area_code", "cov")),
        ),
        join_type="left",
    )
    final = final.order_by(*[_col(c, "k") for c in key_cols], copy=False)
    for name, body in ctes:
        final = final.with_(name, as_=body, copy=False)
    return final
