"""Every catalogue indicator on the demo country equals an independent recomputation from the
generator's ground truth (``truth/*.parquet``, aggregated from the generator's event arrays: a
different code path from the canonical files, the store, the warehouse and the SQL engine) for
every area (national, region, province, municipality) and year, and along each of its allowed
disaggregations; the month the metropolitan police never delivered shows as no data / partial,
never as a fall.

The recomputation here is plain Python over the truth's group-by counts: the definition's
numerator (and, for shares, denominator) filter is evaluated row by row (ICCS prefix, ``where``
AND, ``any_of`` OR-groups, source kind), counts are rolled up along ``reference/areas``'
parent chain, and rates use the population of ``reference/population.parquet`` restricted by
``population_where`` and by the breakdown's sex / age group.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose

from talaia.indicators import catalogue, compute, get_indicator

YEARS = (2022, 2023)
PERIODS = [str(y) for y in YEARS]
LEVELS = (0, 1, 2, 3)
SOURCES = {
    "police": {"policia_nacional", "policia_metropolitana"},
    "forensic": {"medicina_legal"},
    "prison": {"penitenciario"},
}
POP_VARS = ("sex", "age_group")  # breakdowns that also split the population
TRUTH_FILE = {"fact_victim": "victims", "fact_offence": "offences", "fact_custody": "custody"}
#: Indicators the generator's truth cannot recompute, with the reason. Empty: the truth carries
#: every variable the catalogue filters on or breaks down by (see talaia.demo.generator._Truth).
NOT_RECOMPUTABLE: dict[str, str] = {}


@dataclass(frozen=True)
class Truth:
    """The demo's truth tables and reference data, read independently of the engine."""

    rows: dict[str, list[dict]]  # fact table -> truth rows (with "count")
    population: dict[tuple, int]  # (municipality, year, sex, age_group) -> population
    ancestors: dict[str, dict[int, str]]  # municipality -> {level: area code}
    areas: dict[int, set[str]]  # level -> area codes


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from talaia.demo import generate
    from talaia.store.canonical import load_canonical_tree, load_reference
    from talaia.store.database import get_engine, upgrade
    from talaia.warehouse import rebuild

    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "out"
    generate(out, seed=11, scale=0.02, years=YEARS)
    engine = get_engine(f"sqlite:///{tmp / 'store.sqlite'}")
    upgrade(engine)
    load_reference(engine, out)
    load_canonical_tree(engine, out)
    wh = tmp / "warehouse.duckdb"
    rebuild(engine, wh)
    engine.dispose()
    return out, wh


@pytest.fixture(scope="module")
def truth(demo) -> Truth:
    out, _ = demo
    rows = {
        table: pq.read_table(out / f"truth/{name}.parquet").to_pylist()
        for table, name in TRUTH_FILE.items()
    }
    for r in rows["fact_custody"]:
        r["source_code"] = "penitenciario"  # the prison service is the only custody source
    pop: dict[tuple, int] = defaultdict(int)
    for r in pq.read_table(out / "reference/population.parquet").to_pylist():
        pop[(r["area_code"], str(r["year"]), r["sex"], r["age_group"])] += r["population"]
    areas = pq.read_table(out / "reference/areas.parquet").to_pylist()
    parent = {a["code"]: a["parent_code"] for a in areas}
    level = {a["code"]: a["level"] for a in areas}
    ancestors = {}
    for a in areas:
        if a["level"] == 3:
            chain, code = {0: "national"}, a["code"]
            while code is not None:
                chain[level[code]] = code
                code = parent[code]
            ancestors[a["code"]] = chain
    by_level: dict[int, set[str]] = defaultdict(set)
    for chain in ancestors.values():
        for lvl, code in chain.items():
            by_level[lvl].add(code)
    return Truth(rows, dict(pop), ancestors, dict(by_level))


def _passes(flt, r: dict) -> bool:
    """Whether one truth row satisfies a definition's filter (evaluated here in Python)."""
    if r["source_code"] not in set().union(*(SOURCES[k] for k in flt.source_kind)):
        return False
    code = r["iccs_code"] or ""
    if flt.iccs and not any(code.startswith(c) for c in flt.iccs):
        return False
    if flt.iccs_exclude and any(code.startswith(c) for c in flt.iccs_exclude):
        return False
    if not all(r[col] in vals for col, vals in flt.where.items()):
        return False
    return all(any(r[col] in vals for col, vals in g.items()) for g in flt.any_of)


def _counts(truth: Truth, flt, level: int, by: tuple[str, ...]) -> Counter:
    """Count of the filter per (area of ``level``, year, *breakdown values) from the truth."""
    assert flt.count_distinct is None, "truth is aggregated: no distinct counts (list it)"
    c: Counter = Counter()
    for r in truth.rows[flt.table]:
        if _passes(flt, r):
            area = truth.ancestors[r["area_code"]][level]
            c[(area, r["month"][:4], *(r[b] for b in by))] += r["count"]
    return c


def _population(truth: Truth, ind, level: int, by: tuple[str, ...]) -> Counter:
    """Population per (area, year, *breakdown values): restricted by ``population_where`` and,
    for a breakdown by sex or age group, to that sex / age group (other breakdowns: all)."""
    pw = ind.denominator.population_where
    c: Counter = Counter()
    for (muni, year, sex, age), n in truth.population.items():
        vals = {"sex": sex, "age_group": age}
        if any(vals[k] not in v for k, v in pw.items()):
            continue
        c[(truth.ancestors[muni][level], year, *(vals[b] for b in by if b in vals))] += n
    return c


def _check(truth: Truth, ind, table, level: int, by: tuple[str, ...]) -> int:
    """Compare every output row with the truth; returns the number of rows with data."""
    num = _counts(truth, ind.numerator, level, by)
    kind = ind.denominator.kind
    den = _counts(truth, ind.denominator.filter, level, by) if kind == "count" else Counter()
    pop = _population(truth, ind, level, by) if kind == "population" else Counter()
    checked, seen = 0, set()
    for r in table.to_pylist():
        key = (r["area_code"], r["period"], *(r[b] for b in by))
        where = (ind.id, level, key)
        assert key not in seen, where
        seen.add(key)
        want = num.get(key, 0)
        if r["coverage"] == "no_data":
            assert r["numerator"] is None and r["value"] is None and want == 0, where
            continue
        assert r["numerator"] == want, (*where, r["numerator"], want)
        if ind.unit == "rate_per_100k":
            p = pop.get((*key[:2], *(r[b] for b in by if b in POP_VARS)), 0)
            if p:
                assert_allclose(r["denominator"], p, rtol=1e-9, err_msg=str(where))
                assert_allclose(r["value"], want / p * 1e5, rtol=1e-9, err_msg=str(where))
            else:
                assert r["value"] is None, where
        elif ind.unit == "percent":
            d = den.get(key, 0)
            assert r["denominator"] == d, (*where, r["denominator"], d)
            if d:
                assert_allclose(r["value"], 100 * want / d, rtol=1e-9, err_msg=str(where))
            else:
                assert r["value"] is None, where
        else:
            assert ind.unit == "count", ind.unit
            assert r["value"] == want, where
        checked += 1
    lost = {k: v for k, v in (num + den).items() if v and k not in seen}
    assert not lost, (ind.id, level, "truth counts missing from the output", lost)
    return checked


ALL_IDS = sorted(i.id for i in catalogue())
CHECKED = [i for i in ALL_IDS if i not in NOT_RECOMPUTABLE]
BREAKDOWNS = [(i, b) for i in CHECKED for b in get_indicator(i).disaggregations]


def test_every_catalogue_indicator_is_checked():
    """No indicator is left out silently: checked + explicitly excluded = the catalogue."""
    assert set(CHECKED) | set(NOT_RECOMPUTABLE) == set(ALL_IDS)
    assert not set(CHECKED) & set(NOT_RECOMPUTABLE)
    assert len(ALL_IDS) >= 21
    # the checks cover the share, OR-group and non-population denominators of the catalogue
    inds = [get_indicator(i) for i in CHECKED]
    assert any(i.denominator.kind == "count" for i in inds)
    assert any(i.numerator.any_of for i in inds)
    assert any(i.denominator.population_where for i in inds)


@pytest.mark.slow
@pytest.mark.parametrize("ind_id", CHECKED)
def test_indicator_equals_truth_every_area_and_year(demo, truth, ind_id):
    _, wh = demo
    ind = get_indicator(ind_id)
    for level in LEVELS:
        t = compute(ind, period=PERIODS, level=level, warehouse=wh)
        # every area of the level and every year has a row (zero is a value, not a gap)
        assert {(r["area_code"], r["period"]) for r in t.to_pylist()} == {
            (a, y) for a in truth.areas[level] for y in PERIODS
        }, (ind_id, level)
        assert _check(truth, ind, t, level, ()) > 0


@pytest.mark.slow
@pytest.mark.parametrize(("ind_id", "by"), BREAKDOWNS)
def test_indicator_by_disaggregation_equals_truth(demo, truth, ind_id, by):
    _, wh = demo
    ind = get_indicator(ind_id)
    for level in (1, 3):
        t = compute(ind, period=PERIODS, level=level, by=by, warehouse=wh)
        assert _check(truth, ind, t, level, (by,)) > 0


@pytest.mark.slow
def test_truth_recount_is_not_vacuous(truth):
    """The filters the shares and OR-groups use select some, not all, of their rows."""
    for ind_id in ("firearm_homicide_share", "cyber_related_share", "femicide_rate"):
        ind = get_indicator(ind_id)
        num = sum(_counts(truth, ind.numerator, 0, ()).values())
        base = ind.denominator.filter or ind.numerator.model_copy(update={"any_of": ()})
        tot = sum(_counts(truth, base, 0, ()).values())
        assert 0 < num < tot, ind_id


@pytest.mark.slow
def test_missing_month_is_no_data_or_partial_in_demo(demo):
    import json

    out, wh = demo
    manifest = json.loads((out / "manifest.json").read_text())
    delivered = {p.name for p in (out / "canonical/policia_metropolitana").iterdir()}
    months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
    missing = [m for m in months if m not in delivered]
    assert len(missing) == 1 and manifest
    t = compute("homicide_count", period=missing[0], level=3, warehouse=wh).to_pylist()
    by_cov = defaultdict(list)
    for r in t:
        by_cov[r["coverage"]].append(r)
    # the capital's municipalities (served only by the metropolitan police) have no data
    assert by_cov["no_data"], "some municipality must lose its only police source"
    assert all(r["numerator"] is None for r in by_cov["no_data"])
    year = compute("homicide_count", period=missing[0][:4], level=3, warehouse=wh).to_pylist()
    capital = {r["area_code"] for r in by_cov["no_data"]}
    for r in year:
        if r["area_code"] in capital:
            assert r["coverage"] == "partial"
            assert_allclose(r["completeness"], 100 * 11 / 12)
