"""The catalogue on the demo country equals an independent recomputation from the generator's
ground truth (``truth/*.parquet``, aggregated from the generator's event arrays: a different
code path) for every municipality and year, and the month the metropolitan police never
delivered shows as no data / partial, never as a fall."""

from __future__ import annotations

from collections import defaultdict

import pyarrow.parquet as pq
import pytest
from numpy.testing import assert_allclose

from talaia.indicators import catalogue, compute, get_indicator

YEARS = (2022, 2023)
POLICE = {"policia_nacional", "policia_metropolitana"}


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


def _population(out):
    pop = defaultdict(float)
    for r in pq.read_table(out / "reference/population.parquet").to_pylist():
        pop[(r["area_code"], str(r["year"]))] += r["population"]
        pop[(r["area_code"], str(r["year"]), r["sex"])] += r["population"]
    return pop


def _under(code: str, prefixes) -> bool:
    return any(code.startswith(p) for p in prefixes)


def _truth_counts(out, ind):
    """Numerator per (area, year) recomputed from the truth files for simple definitions."""
    n = ind.numerator
    sources = (
        POLICE
        if n.source_kind == ("police",)
        else ({"medicina_legal"} if n.source_kind == ("forensic",) else {"penitenciario"})
    )
    name = {"fact_victim": "victims", "fact_offence": "offences", "fact_custody": "custody"}[
        n.table
    ]
    counts = defaultdict(int)
    for r in pq.read_table(out / f"truth/{name}.parquet").to_pylist():
        if "source_code" in r and r["source_code"] not in sources:
            continue
        if n.iccs and not _under(r["iccs_code"] or "", n.iccs):
            continue
        if n.iccs_exclude and _under(r["iccs_code"] or "", n.iccs_exclude):
            continue
        ok = all(r.get(col) in vals for col, vals in n.where.items())
        if ok:
            counts[(r["area_code"], r["month"][:4])] += r["count"]
    return counts


def _checkable(ind) -> bool:
    n = ind.numerator
    truth_cols = {
        "fact_victim": {"sex"},
        "fact_offence": set(),
        "fact_custody": {"custody_status", "sex"},
    }.get(n.table)
    return (
        truth_cols is not None
        and not n.any_of
        and set(n.where) <= truth_cols
        and n.count_distinct is None
        and ind.denominator.kind != "count"
    )


CHECKABLE = [i.id for i in catalogue() if _checkable(i)]


@pytest.mark.slow
@pytest.mark.parametrize("ind_id", CHECKABLE)
def test_indicator_equals_truth_every_area_and_year(demo, ind_id):
    out, wh = demo
    ind = get_indicator(ind_id)
    truth = _truth_counts(out, ind)
    pop = _population(out)
    t = compute(ind, period=[str(y) for y in YEARS], level=3, warehouse=wh)
    assert t.num_rows > 0
    checked = 0
    for r in t.to_pylist():
        key = (r["area_code"], r["period"])
        want = truth.get(key, 0)
        if r["coverage"] == "no_data":
            assert r["value"] is None and want == 0
            continue
        assert r["numerator"] == want, (ind_id, key)
        if ind.unit == "rate_per_100k":
            sex = ind.denominator.population_where.get("sex")
            p = pop[(*key, sex[0])] if sex else pop[key]
            assert_allclose(r["value"], want / p * 1e5, rtol=1e-9)
        checked += 1
    assert checked > 0


@pytest.mark.slow
def test_unsentenced_share_equals_truth(demo):
    out, wh = demo
    tr = defaultdict(lambda: [0, 0])
    for r in pq.read_table(out / "truth/custody.parquet").to_pylist():
        if r["custody_status"] in ("pretrial", "sentenced"):
            tr[r["month"][:4]][1] += r["count"]
            tr[r["month"][:4]][0] += r["custody_status"] == "pretrial" and r["count"]
    t = compute("unsentenced_detainee_share", period=[str(y) for y in YEARS], warehouse=wh)
    for r in t.to_pylist():
        num, den = tr[r["period"]]
        assert (r["numerator"], r["denominator"]) == (num, den)
        assert_allclose(r["value"], 100 * num / den)


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
