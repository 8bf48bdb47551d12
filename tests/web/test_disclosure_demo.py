"""The disclosure gate, attacked on the demo country (scale 0.02, 2022-2023, two police
batches left unpublished).

- A linear programme over everything the public may be shown of an indicator (every area of
  every level, every year, quarter and month, every breakdown, linked by the area hierarchy,
  the calendar and the breakdown totals) finds, for every withheld cell, a feasible range wider
  than the threshold.
- A property-based sweep over the public API's parameters compares every anonymous answer with
  the analyst's view of the same warehouse: no withheld number, no unpublished batch, no small
  count (current or reference period) appears.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talaia.disclosure import Relations, feasible_ranges
from talaia.indicators import compute, get_indicator
from talaia.indicators.release import Release

pytestmark = pytest.mark.slow

THRESHOLD = 5
INDICATORS = ("homicide_rate", "femicide_rate", "firearm_homicide_share", "robbery_rate")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    from sqlalchemy import select, update

    from talaia.settings import Settings
    from talaia.store.database import get_engine
    from talaia.store.models import Batch

    data = tmp_path_factory.mktemp("disclosure") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALAIA_")}
    env["TALAIA_DATA_DIR"] = str(data)
    args = ["demo", "--no-serve", "--scale", "0.02", "--seed", "11", "--years", "2022-2023"]
    res = subprocess.run(
        [sys.executable, "-c", "from talaia.cli.main import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    s = Settings(data_dir=data, secret_key="test-secret-" + "d" * 20)
    engine = get_engine(s.resolved_database_url())
    with engine.begin() as conn:
        ids = conn.execute(
            select(Batch.id)
            .where(Batch.source_code == "policia_nacional", Batch.status == "published")
            .order_by(Batch.period_start.desc())
            .limit(2)
        ).scalars()
        held = [int(i) for i in ids]
        conn.execute(update(Batch).where(Batch.id.in_(held)).values(status="approved"))
        published = frozenset(
            int(i)
            for i in conn.execute(select(Batch.id).where(Batch.status == "published")).scalars()
        )
    yield s, engine, published, held
    engine.dispose()


@pytest.fixture(scope="module")
def release(demo):  # type: ignore[no-untyped-def]
    s, _, published, _ = demo
    return Release(s.resolved_warehouse_path(), published, THRESHOLD)


@pytest.fixture(scope="module")
def client(demo):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from talaia.web.app import create_app
    from talaia.web.config import WebSettings

    s, engine, _, _ = demo
    app = create_app(s, WebSettings(suppression_threshold=THRESHOLD), engine)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def _joint(release: Release, indicator: str, bys):  # type: ignore[no-untyped-def]
    """Counts, withheld mask and relations of the partitions of ``indicator`` together (the
    breakdown totals appended to each partition are the cells of the one without breakdown)."""
    ind = get_indicator(indicator)
    top = release.partition(ind, None)
    n0 = top.table.num_rows
    counts = [top.counts[:n0]]
    withheld = [top.status[:n0] != "ok"]
    rels = [top.relations]
    offset = n0
    for by in bys:
        p = release.partition(ind, by)
        n = p.table.num_rows
        remap = np.concatenate([np.arange(offset, offset + n), p.totals]).astype(np.int64)
        counts.append(p.counts[:n])
        withheld.append(p.status != "ok")
        r = p.relations
        rels.append(Relations(remap[r.totals], r.offsets, remap[r.parts]))
        offset += n
    return np.concatenate(counts), np.concatenate(withheld), Relations.concat(rels)


def _suppressed_mask(release: Release, indicator: str, bys) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Cells withheld as suppressed (the unpublished ones are hidden too, not audited)."""
    ind = get_indicator(indicator)
    parts = [release.partition(ind, None), *(release.partition(ind, b) for b in bys)]
    return np.concatenate([p.status[: p.table.num_rows] == "suppressed" for p in parts])


@pytest.mark.parametrize(
    ("indicator", "bys"),
    [("femicide_rate", ("relationship",)), ("homicide_rate", ("sex",))],
)
def test_no_withheld_cell_can_be_narrowed_by_linear_programming(release, indicator, bys):
    counts, withheld, rel = _joint(release, indicator, bys)
    assert withheld.any()
    suppressed = _suppressed_mask(release, indicator, bys)
    r = feasible_ranges(counts, withheld, rel, cells=suppressed)
    assert len(r.cells) == suppressed.sum()
    narrow = r.width <= THRESHOLD
    assert not narrow.any(), list(zip(r.cells[narrow], r.low[narrow], r.high[narrow], strict=True))


def test_a_suppressed_cell_is_not_given_back_by_its_parent_and_siblings(release):
    # the attack of the report: a region minus its other provinces
    part = release.partition(get_indicator("homicide_rate"), None)
    sup = part.suppression
    assert sup is not None and sup.primary.any() and sup.complementary.any()
    assert sup.unprotected == ()


def _periods():  # type: ignore[no-untyped-def]
    years = st.sampled_from(["2022", "2023"])
    quarters = st.builds(lambda y, q: f"{y}-Q{q}", years, st.integers(1, 4))
    months = st.builds(lambda y, m: f"{y}-{m:02d}", years, st.integers(1, 12))
    rolling = st.builds(lambda m: f"R12:2023-{m:02d}", st.integers(1, 12))
    ranges = st.sampled_from(["2022..2023", "2023-Q1..2023-Q4", "2023-10..2023-12"])
    return st.one_of(years, quarters, months, rolling, ranges)


@st.composite
def queries(draw, areas):  # type: ignore[no-untyped-def]
    ind = get_indicator(draw(st.sampled_from(INDICATORS)))
    area = draw(st.sampled_from([None, *areas]))
    by = draw(st.sampled_from([None, *ind.disaggregations]))
    level = draw(st.sampled_from([None, 1, 2, 3]))
    compare = draw(st.sampled_from([None, "previous", "year_earlier"]))
    return ind.id, area, draw(_periods()), by, level, compare


def test_public_api_sweep(client, demo, release):
    s, _, published, held = demo
    areas = sorted(release.areas)[::9]

    @given(queries(areas))
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def sweep(q):  # type: ignore[no-untyped-def]
        ind_id, area, period, by, level, compare = q
        lvl_area = 0 if area is None else release.areas[area].level
        if level is not None and level < lvl_area:
            return
        params = {"period": period, "limit": 500}
        for k, v in (("area", area), ("by", by), ("level", level), ("compare", compare)):
            if v is not None:
                params[k] = v
        r = client.get(f"/api/v1/indicators/{ind_id}/values", params=params)
        assert r.status_code == 200, r.text
        anon = r.json()["items"]
        full = compute(
            ind_id,
            area=area,
            period=period,
            by=by,
            level=level,
            warehouse=s.resolved_warehouse_path(),
            compare=compare,
        ).to_pylist()
        key = ("period", "area_code", *((by,) if by else ()))
        truth = {tuple(str(row[k]) for k in key): row for row in full}
        for row in anon:
            t = truth[tuple(str(row[k]) for k in key)]
            if row["disclosure"] != "ok":
                for f in ("numerator", "value", "ci_low", "ci_high", "ref_numerator"):
                    assert row.get(f) is None, (q, row)
                continue
            num = row["numerator"]
            assert num is None or num == 0 or num >= THRESHOLD, (q, row)
            # a shown cell holds no unpublished batch: the analyst's count is the same
            assert num == t["numerator"] or (num is None and t["numerator"] is None), (q, row)
            assert set(row["batch_ids"] or ()) <= published, (q, row)
            assert not set(row["batch_ids"] or ()) & set(held)
            ref = row.get("ref_numerator")
            if ref is not None:
                assert ref == 0 or ref >= THRESHOLD, (q, row)
                assert ref == t["ref_numerator"], (q, row)

    sweep()


def test_reference_period_of_an_unpublished_month_is_withheld(client):
    # the month after the last published police month compared with it: both sides checked
    r = client.get(
        "/api/v1/indicators/homicide_rate/values",
        params={"period": "2023-12", "compare": "previous"},
    ).json()["items"][0]
    assert r["disclosure"] == "unpublished" and r["numerator"] is None
    r = client.get(
        "/api/v1/indicators/homicide_rate/values",
        params={"period": "2024-01", "compare": "previous"},
    ).json()["items"][0]
    assert r["ref_numerator"] is None and r["ref_value"] is None
