"""The release: every indicator value an audience may be shown, computed ahead and protected.

A :class:`Release` is what one audience sees of one state of the warehouse: the facts of the
published batches only (:func:`talaia.warehouse.views.open_views`), and, for the public,
small counts withheld with their complements so that none can be recomputed by difference
(:func:`talaia.disclosure.suppress`).

For each indicator and breakdown (a *partition*), the release computes once, for every area of
every level and every year, quarter and month of the data's span, the values the engine gives
on the published data; marks a cell ``unpublished`` when the warehouse holds deliveries for it
that are not published yet; and, with a threshold, applies primary and complementary
suppression over the relations a visitor can combine:

- the area hierarchy (the country is the sum of its regions, a region of its provinces...);
- the calendar (a year is the sum of its quarters, a quarter of its months);
- the breakdown (the total is the sum of its categories; the total's own status is fixed by
  the partition without breakdown, which is protected first);
- for shares, the denominator is a count in its own right: it is protected as the numerator of
  a count indicator with the same filter, and a share is shown only when both are.

Every answer is then read from the partitions (calendar periods) or is a sum of their cells
(rolling 12 months), shown only when every cell it adds up is shown: nothing published is more
than a linear combination of published cells, so the audit of :func:`talaia.disclosure.
feasible_ranges` over the partitions covers everything the release gives out. Reference values
(``compare``) are the reference period's cell and follow its status.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from talaia import stats
from talaia.disclosure import Relations, Suppression, primary_mask, suppress
from talaia.errors import NotFoundError, UserInputError
from talaia.indicators.definitions import Denominator, Indicator, get_indicator
from talaia.indicators.engine import compute, parse_periods
from talaia.indicators.sql import NATIONAL
from talaia.periods import Period

__all__ = [
    "FIGURES",
    "REF_FIGURES",
    "Partition",
    "Release",
    "withhold",
]

#: Columns withheld when a value is not shown.
FIGURES = (
    "numerator",
    "value",
    "ci_low",
    "ci_high",
    "raw_value",
    "ref_value",
    "ref_numerator",
    "change_abs",
    "change_pct",
    "rate_ratio",
    "p_value",
    "significant",
)
#: Columns withheld when only the reference period is not shown.
REF_FIGURES = (
    "ref_value",
    "ref_numerator",
    "change_abs",
    "change_pct",
    "rate_ratio",
    "p_value",
    "significant",
)
_PROVENANCE = ("batch_ids", "sources", "crosswalk_versions")
_GRAINS = ("year", "quarter", "month")
#: Partitions with a breakdown kept in memory per release (the oldest are recomputed on use).
MAX_BREAKDOWNS = 24
_NULL = "\x00"  # key of a NULL breakdown value


def _cat(v: object) -> object:
    return _NULL if v is None else v


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    level: int
    parent: str  # NATIONAL for level 1


@dataclass(slots=True)
class Partition:
    """One indicator and breakdown, every area, level and calendar period of the span.

    Attributes
    ----------
    table
        The engine's columns for every cell, plus ``disclosure`` (``ok``, ``unpublished``,
        ``suppressed``); figures are still present (the release withholds them on the way out).
    index
        ``(period, area_code, category)`` -> row of :attr:`table`.
    suppression
        The suppression result over the partition's cells (None without a threshold).
    relations
        The relations used (cells of :attr:`table`, then the fixed totals appended).
    counts
        The count of every cell the relations refer to (the table's numerators, then the
        totals appended), NaN for no data.
    """

    table: pa.Table
    index: dict[tuple[str, str, object], int]
    status: np.ndarray
    #: breakdown values in the order the engine gives them (one NULL key without breakdown)
    categories: tuple[object, ...] = ()
    suppression: Suppression | None = None
    relations: Relations | None = None
    counts: np.ndarray | None = None
    withheld: np.ndarray | None = field(default=None)
    #: rows of the partition without breakdown behind the totals appended to :attr:`counts`
    totals: np.ndarray | None = field(default=None)


def withhold(table: pa.Table, status: Sequence[str], ref_status: Sequence[str] | None) -> pa.Table:
    """NULL figures where ``status`` is not ``ok`` (and reference figures where
    ``ref_status`` is not ``ok``); provenance of unpublished rows; add ``disclosure``."""
    n = table.num_rows
    st = np.asarray(status, dtype=object)
    hidden = pa.array(st != "ok") if n else pa.array([], pa.bool_())
    ref_hidden = None
    if ref_status is not None and n:
        ref_hidden = pa.array(np.asarray(ref_status, dtype=object) != "ok")
    for name in FIGURES:
        if name not in table.column_names:
            continue
        mask = hidden
        if ref_hidden is not None and name in REF_FIGURES:
            mask = pc.or_(hidden, ref_hidden)
        col = table.column(name)
        i = table.column_names.index(name)
        table = table.set_column(i, name, pc.if_else(mask, pa.nulls(n, col.type), col))
    if "denominator" in table.column_names and table.column("unit")[0:1].to_pylist() == ["percent"]:
        # a share's denominator is itself a count
        col = table.column("denominator")
        i = table.column_names.index("denominator")
        table = table.set_column(i, "denominator", pc.if_else(hidden, pa.nulls(n, col.type), col))
    unpub = pa.array(st == "unpublished") if n else pa.array([], pa.bool_())
    for name in _PROVENANCE:
        if name in table.column_names:
            col = table.column(name)
            i = table.column_names.index(name)
            table = table.set_column(i, name, pc.if_else(unpub, pa.nulls(n, col.type), col))
    if "disclosure" in table.column_names:
        table = table.drop_columns(["disclosure"])
    return table.append_column("disclosure", pa.array(st.tolist(), pa.string()))


def _denominator_indicator(ind: Indicator) -> Indicator:
    """A count indicator of a share's denominator (same filter, same breakdowns)."""
    assert ind.denominator.filter is not None
    return ind.model_copy(
        update={
            "id": f"{ind.id}.denominator",
            "numerator": ind.denominator.filter,
            "denominator": Denominator(kind="none"),
            "unit": "count",
        }
    )


def _blocks(p: Period) -> tuple[str, ...] | None:
    """Calendar periods that add up to ``p`` (years, then quarters, then months), or None."""
    if p.kind in _GRAINS:
        return (str(p),)
    if p.kind != "rolling12":
        return None
    months = [Period("month", y, m) for y, m in p.months()]
    out: list[str] = []
    i = 0
    while i < len(months):
        m = months[i]
        if m.index == 1 and i + 12 <= len(months):
            out.append(str(m.year))
            i += 12
        elif m.index % 3 == 1 and i + 3 <= len(months):
            out.append(f"{m.year}-Q{(m.index - 1) // 3 + 1}")
            i += 3
        else:
            out.append(str(m))
            i += 1
    return tuple(out)


class Release:
    """What one audience may see of one warehouse state (see the module docstring).

    Parameters
    ----------
    warehouse
        The warehouse file.
    published
        Ids of the published batches (the only ones counted).
    threshold
        Counts from 1 to ``threshold - 1`` are suppressed, with complements; None or 0 for
        none (logged-in viewers).
    exact
        Audit each partition's suppression by linear programming and add complements until
        every withheld cell keeps a range wider than the threshold (:func:`talaia.disclosure.
        suppress` with ``exact=True``); slower on large tables.
    """

    def __init__(
        self,
        warehouse: str | Path,
        published: frozenset[int],
        threshold: int | None,
        *,
        exact: bool = True,
    ) -> None:
        from talaia.warehouse.views import open_views

        self.warehouse = Path(warehouse)
        self.published = published
        self.threshold = threshold if threshold and threshold > 1 else None
        self.exact = exact
        self._open = open_views
        self._parts: dict[tuple[str, str | None], Partition] = {}
        self._locks: dict[tuple[str, str | None], threading.Lock] = {}
        self._lock = threading.Lock()
        self._scopes: dict[tuple[str | None, int], list[str]] = {}
        with self._open(self.warehouse, self.published) as v:
            row = v.full.execute(
                "SELECT min(period_month), max(period_month) FROM source_month WHERE delivered"
            ).fetchone()
            areas = v.full.execute(
                "SELECT area_code, level, parent_code FROM dim_area ORDER BY level, area_code"
            ).fetchall()
        self.span: tuple[date, date] | None = (row[0], row[1]) if row and row[0] else None
        self.areas: dict[str, Area] = {
            str(c): Area(str(c), int(lv), str(p) if p and int(lv) > 1 else NATIONAL)
            for c, lv, p in areas
        }
        self.levels = sorted({0, *(a.level for a in self.areas.values())})

    # --- periods -------------------------------------------------------------------------------

    def calendar(self) -> tuple[str, ...]:
        """Every year, quarter and month of the data's span (a year or quarter overlapping it)."""
        if self.span is None:
            return ()
        first, last = self.span
        out: list[str] = []
        for y in range(first.year, last.year + 1):
            out.append(str(y))
        for y in range(first.year, last.year + 1):
            for q in range(1, 5):
                qm0, qm1 = 3 * q - 2, 3 * q
                if (y, qm1) >= (first.year, first.month) and (y, qm0) <= (last.year, last.month):
                    out.append(f"{y}-Q{q}")
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            out.append(f"{y}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return tuple(out)

    # --- partitions ----------------------------------------------------------------------------

    def partition(self, ind: Indicator, by: str | None) -> Partition:
        """The partition of ``ind`` broken down by ``by`` (computed once, on first use)."""
        key = (ind.id, by)
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                return part
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            part = self._parts.get(key)
            if part is None:
                total = self.partition(ind, None) if by else None
                part = self._build(ind, by, total)
                with self._lock:
                    self._parts[key] = part
                    # bound memory: forget the oldest breakdowns (recomputed, identically, if
                    # asked again); partitions without breakdown are kept (the others use them)
                    broken = [k for k in self._parts if k[1] is not None]
                    for old in broken[: max(0, len(broken) - MAX_BREAKDOWNS)]:
                        del self._parts[old]
            return part

    def _compute_all(self, con, ind: Indicator, by: str | None) -> pa.Table:
        periods = self.calendar()
        tables = [
            compute(ind, period=list(periods), by=by, level=lvl, warehouse=con)
            for lvl in self.levels
        ]
        return pa.concat_tables(tables) if tables else pa.table({})

    def _build(self, ind: Indicator, by: str | None, total: Partition | None) -> Partition:
        if self.span is None:
            raise NotFoundError("the warehouse holds no delivered data yet")
        with self._open(self.warehouse, self.published) as v:
            table = self._compute_all(v.published, ind, by)
            if total is None:
                full = self._compute_all(v.full, ind, None)
                unpub_keys = _unpublished(table, full)
            else:
                unpub_keys = None
        periods = table.column("period").to_pylist()
        areas = table.column("area_code").to_pylist()
        cats = table.column(by).to_pylist() if by else [None] * table.num_rows
        index = {
            (p, a, _cat(c)): i for i, (p, a, c) in enumerate(zip(periods, areas, cats, strict=True))
        }
        if total is not None:
            tstat = total.status
            unpub = np.array(
                [
                    tstat[j] == "unpublished"
                    if (j := total.index.get((p, a, _NULL))) is not None
                    else False
                    for p, a in zip(periods, areas, strict=True)
                ],
                dtype=bool,
            )
        else:
            assert unpub_keys is not None
            unpub = np.array([(p, a) in unpub_keys for p, a in zip(periods, areas, strict=True)])
        status = np.where(unpub, "unpublished", "ok").astype(object)
        part = Partition(table, index, status, tuple(dict.fromkeys(_cat(c) for c in cats)))
        if self.threshold:
            self._protect(part, ind, by, total)
        return part

    def _protect(
        self, part: Partition, ind: Indicator, by: str | None, total: Partition | None
    ) -> None:
        t = part.table
        n = t.num_rows
        num = np.asarray(t.column("numerator").to_numpy(zero_copy_only=False), dtype=np.float64)
        primary = primary_mask(num, self.threshold)
        if ind.denominator.kind == "count":
            den = np.asarray(
                t.column("denominator").to_numpy(zero_copy_only=False), dtype=np.float64
            )
            primary |= primary_mask(den - num, self.threshold)
        periods = t.column("period").to_pylist()
        areas = t.column("area_code").to_pylist()
        cats = [_cat(c) for c in (t.column(by).to_pylist() if by else [None] * n)]
        # unpublished cells are not shown either: they hide like withheld ones, and stay so
        unpublished = part.status == "unpublished"
        counts = [num]
        prim = [primary | unpublished]
        fixed = [unpublished]
        groups: list[tuple[int, list[int]]] = []
        # area hierarchy: parent = sum of its children, per period and category
        children: dict[int, list[int]] = {}
        for i, (p, a, c) in enumerate(zip(periods, areas, cats, strict=True)):
            info = self.areas.get(a)
            if info is None:
                continue
            parent = part.index.get((p, info.parent, c))
            if parent is not None:
                children.setdefault(parent, []).append(i)
        groups.extend(children.items())
        # calendar: a year = its quarters, a quarter = its months
        for i, (p, a, c) in enumerate(zip(periods, areas, cats, strict=True)):
            per = Period("year", int(p)) if len(p) == 4 else None
            if per is not None:
                comp = [f"{p}-Q{q}" for q in range(1, 5)]
            elif "-Q" in p:
                y, q = p.split("-Q")
                comp = [f"{y}-{m:02d}" for m in range(3 * int(q) - 2, 3 * int(q) + 1)]
            else:
                continue
            members = [part.index.get((x, a, c)) for x in comp]
            if all(m is not None for m in members):
                groups.append((i, [int(m) for m in members if m is not None]))
        # breakdown: the total (fixed, from the partition without breakdown) = its categories
        if total is not None and total.withheld is not None:
            assert total.counts is not None
            tot_rows: dict[tuple[str, str], list[int]] = {}
            for i, (p, a) in enumerate(zip(periods, areas, strict=True)):
                tot_rows.setdefault((p, a), []).append(i)
            extra_idx: list[int] = []
            for (p, a), members in tot_rows.items():
                j = total.index.get((p, a, _NULL))
                if j is None:
                    continue
                groups.append((n + len(extra_idx), members))
                extra_idx.append(j)
            ej = np.asarray(extra_idx, dtype=np.int64)
            part.totals = ej
            counts.append(total.counts[ej])
            prim.append(total.withheld[ej])
            fixed.append(np.ones(len(ej), dtype=bool))
        rel = Relations.from_groups(groups)
        all_counts = np.concatenate(counts)
        res = suppress(
            all_counts,
            rel,
            self.threshold,
            primary=np.concatenate(prim),
            fixed=np.concatenate(fixed),
            protection=self.threshold + 1,
            exact=self.exact,
        )
        withheld = res.withheld[:n].copy()
        if ind.denominator.kind == "count":
            # a share is shown only when its denominator (a count) is
            den_part = self.partition(_denominator_indicator(ind), by)
            assert den_part.withheld is not None
            for i, (p, a, c) in enumerate(zip(periods, areas, cats, strict=True)):
                j = den_part.index.get((p, a, c))
                if j is not None and den_part.withheld[j]:
                    withheld[i] = True
        part.suppression = res
        part.relations = rel
        part.counts = all_counts
        part.withheld = withheld
        part.status = np.where(
            part.status == "unpublished", "unpublished", np.where(withheld, "suppressed", "ok")
        ).astype(object)

    # --- answers -------------------------------------------------------------------------------

    def values(
        self,
        indicator: str | Indicator,
        *,
        area: str | None = None,
        period: str | Sequence[str] = "",
        by: str | None = None,
        level: int | None = None,
        compare: str | None = None,
    ) -> pa.Table:
        """The answer to one query, as :func:`talaia.indicators.compute` shapes it, with the
        figures this audience may not see withheld (NULL) and ``disclosure`` saying why."""
        ind = indicator if isinstance(indicator, Indicator) else get_indicator(indicator)
        if by and by not in ind.disaggregations:
            raise UserInputError(
                f"{ind.id} cannot be broken down by {by}; allowed: "
                f"{', '.join(ind.disaggregations) or '-'} / desagregaciones permitidas"
            )
        if not period:
            period = str(date.today().year - 1)
        periods = parse_periods(period)
        if area in (None, "", NATIONAL):
            alevel = 0
            area = None
        else:
            info = self.areas.get(area)
            if info is None:
                raise NotFoundError(f"no area {area!r} / no existe el área {area!r}")
            alevel = info.level
        lvl = alevel if level is None else level
        if lvl < alevel or lvl > 3:
            raise UserInputError(f"level {lvl} is not within area {area} (level {alevel})")
        cal = set(self.calendar())
        if all(str(p) in cal for p in periods):
            return self._lookup(ind, area, periods, by, lvl, compare)
        return self._derived(ind, area, periods, by, lvl, compare)

    def _scope(self, area: str | None, lvl: int) -> list[str]:
        """Area codes of level ``lvl`` within ``area`` (sorted; cached)."""
        key = (area, lvl)
        hit = self._scopes.get(key)
        if hit is not None:
            return hit
        if lvl == 0:
            out = [NATIONAL]
        else:
            out = sorted(
                code
                for code, info in self.areas.items()
                if info.level == lvl
                and (area is None or code == area or area in self._ancestors(code))
            )
        self._scopes[key] = out
        return out

    def _ancestors(self, code: str) -> list[str]:
        out = []
        info = self.areas.get(code)
        while info is not None and info.parent != NATIONAL:
            out.append(info.parent)
            info = self.areas.get(info.parent)
        return out

    def _lookup(
        self,
        ind: Indicator,
        area: str | None,
        periods: Sequence[Period],
        by: str | None,
        lvl: int,
        compare: str | None,
    ) -> pa.Table:
        part = self.partition(ind, by)
        scope = self._scope(area, lvl)
        wanted = list(dict.fromkeys(str(p) for p in periods))
        index = part.index
        rows = [
            j
            for p in wanted
            for a in scope
            for c in part.categories
            if (j := index.get((p, a, c))) is not None
        ]
        t = part.table
        sub = t.take(pa.array(rows, pa.int64()))
        status = part.status[rows] if rows else np.array([], dtype=object)
        if compare:
            sub, ref_status = self._compare(ind, part, sub, by, compare)
        else:
            ref_status = None
        return withhold(sub, status, ref_status)

    def _compare(
        self, ind: Indicator, part: Partition, sub: pa.Table, by: str | None, compare: str
    ) -> tuple[pa.Table, np.ndarray]:
        """Reference columns as the engine adds them, read from the reference period's cell."""
        from talaia.periods import parse_period

        n = sub.num_rows
        periods = sub.column("period").to_pylist()
        ref_of = {}
        for p in set(periods):
            pp = parse_period(p)
            ref_of[p] = str(pp.previous() if compare == "previous" else pp.year_earlier())
        areas = sub.column("area_code").to_pylist()
        cats = sub.column(by).to_pylist() if by else [None] * n
        pos = np.array(
            [
                part.index.get((ref_of[p], a, _cat(c)), -1)
                for p, a, c in zip(periods, areas, cats, strict=True)
            ],
            dtype=np.int64,
        )
        have = pos >= 0
        t = part.table

        def col(table: pa.Table, name: str) -> np.ndarray:
            return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)

        def pick(name: str) -> np.ndarray:
            out = np.full(n, np.nan)
            out[have] = col(t, name)[pos[have]]
            return out

        frac = {p: parse_period(p).year_fraction() for p in set(periods) | set(ref_of.values())}
        num, value = col(sub, "numerator"), col(sub, "value")
        ref_num, ref_value = pick("numerator"), pick("value")
        if ind.denominator.kind == "population":
            exp1 = col(sub, "denominator") * np.array([frac[p] for p in periods])
            exp2 = pick("denominator") * np.array([frac[ref_of[p]] for p in periods])
        else:
            exp1 = np.array([frac[p] for p in periods])
            exp2 = np.array([frac[ref_of[p]] for p in periods])
        ok = np.isfinite(num) & np.isfinite(ref_num) & np.isfinite(exp1) & np.isfinite(exp2)
        ok &= (exp1 > 0) & (exp2 > 0)
        p_value = np.full(n, np.nan)
        ratio = np.full(n, np.nan)
        if ok.any() and ind.denominator.kind != "count":
            cmp = stats.compare_poisson(num[ok], exp1[ok], ref_num[ok], exp2[ok])
            p_value[ok], ratio[ok] = cmp.p_value, cmp.rate_ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(ref_value != 0, 100.0 * (value - ref_value) / ref_value, np.nan)
        ref_cov = t.column("coverage").to_pylist()
        ref_status = np.array([part.status[i] if i >= 0 else "ok" for i in pos], dtype=object)

        def arr(a: np.ndarray) -> pa.Array:
            return pa.array(a, mask=~np.isfinite(a), type=pa.float64())

        extra = {
            "ref_period": pa.array([ref_of[p] for p in periods], pa.string()),
            "ref_value": arr(ref_value),
            "ref_numerator": arr(ref_num),
            "change_abs": arr(value - ref_value),
            "change_pct": arr(change),
            "rate_ratio": arr(ratio),
            "p_value": arr(p_value),
            "significant": pa.array(
                np.where(np.isfinite(p_value), p_value < 0.05, False), pa.bool_()
            ),
            "ref_coverage": pa.array(
                [ref_cov[i] if i >= 0 else "no_data" for i in pos], pa.string()
            ),
        }
        at = sub.column_names.index("raw_value") + 1
        for k, (name, values) in enumerate(extra.items()):
            sub = sub.add_column(at + k, name, values)
        return sub, ref_status

    def _derived(
        self,
        ind: Indicator,
        area: str | None,
        periods: Sequence[Period],
        by: str | None,
        lvl: int,
        compare: str | None,
    ) -> pa.Table:
        """Periods that are not calendar cells: computed on the published data, shown only
        when every calendar cell they add up to (and, for ``compare``, every cell of the
        reference) is shown."""
        part = self.partition(ind, by)
        with self._open(self.warehouse, self.published) as v:
            table = compute(
                ind,
                area=area,
                period=[str(p) for p in periods],
                by=by,
                level=lvl,
                warehouse=v.published,
                compare=compare,  # type: ignore[arg-type]
            )
        n = table.num_rows
        per = table.column("period").to_pylist()
        ac = table.column("area_code").to_pylist()
        cats = table.column(by).to_pylist() if by else [None] * n
        num = table.column("numerator").to_pylist()

        def status_of(p: str, a: str, c: object, has_number: bool) -> str:
            from talaia.periods import parse_period

            blocks = _blocks(parse_period(p))
            if blocks is None:  # weeks: not part of the release
                return "suppressed" if (self.threshold and has_number) else "ok"
            worst = "ok"
            for b in blocks:
                j = part.index.get((b, a, _cat(c)))
                if j is None:
                    if has_number and self.threshold:
                        return "suppressed"
                    continue
                s = part.status[j]
                if s == "unpublished":
                    return "unpublished"
                if s == "suppressed":
                    worst = "suppressed"
            return worst

        status = np.array(
            [
                status_of(p, a, c, x is not None)
                for p, a, c, x in zip(per, ac, cats, num, strict=True)
            ],
            dtype=object,
        )
        ref_status = None
        if compare:
            refs = table.column("ref_period").to_pylist()
            ref_status = np.array(
                [status_of(r, a, c, True) for r, a, c in zip(refs, ac, cats, strict=True)],
                dtype=object,
            )
        return withhold(table, status, ref_status)


def _unpublished(pub: pa.Table, full: pa.Table) -> set[tuple[str, str]]:
    """(period, area) cells whose full warehouse has deliveries the published data lacks."""
    have = dict(
        zip(
            zip(
                pub.column("period").to_pylist(),
                pub.column("area_code").to_pylist(),
                strict=True,
            ),
            pub.column("delivered_source_months").to_pylist(),
            strict=True,
        )
    )
    out = set()
    for p, a, d in zip(
        full.column("period").to_pylist(),
        full.column("area_code").to_pylist(),
        full.column("delivered_source_months").to_pylist(),
        strict=True,
    ):
        if (d or 0) > (have.get((p, a)) or 0):
            out.add((p, a))
    return out
