import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from talaia.geography import AreaHierarchy, areas_from_feature_collection, assign_points


@pytest.fixture(scope="module")
def areas(out):
    t = pq.read_table(out / "reference" / "areas.parquet").to_pylist()
    for r in t:
        r["geom"] = shapely.from_geojson(r["geometry"])
    return {r["code"]: r for r in t}


def test_codes_and_hierarchy(areas):
    h = AreaHierarchy.from_records((c, r["level"], r["parent_code"]) for c, r in areas.items())
    l1, l2, l3 = h.at_level(1), h.at_level(2), h.at_level(3)
    assert 6 <= len(l1) <= 8 and 30 <= len(l2) <= 50 and 150 <= len(l3) <= 260
    assert all(len(c) == 3 and c.startswith("R") for c in l1)
    assert all(len(c) == 9 and h.path(c)[1] == c[:6] and h.path(c)[0] == c[:3] for c in l3)


def test_polygons_valid_nested_and_tiling(areas):
    geoms = {c: r["geom"] for c, r in areas.items()}
    assert all(g.is_valid and not g.is_empty for g in geoms.values())
    country_area = sum(g.area for c, g in geoms.items() if areas[c]["level"] == 1)
    country = shapely.union_all([g for c, g in geoms.items() if areas[c]["level"] == 1])
    # no overlaps: the union's area equals the sum of the parts, at every level
    for level in (1, 2, 3):
        parts = [g for c, g in geoms.items() if areas[c]["level"] == level]
        assert sum(p.area for p in parts) == pytest.approx(country_area, rel=1e-9)
        assert shapely.union_all(parts).area == pytest.approx(country_area, rel=1e-6)
    for c, r in areas.items():
        if r["parent_code"]:
            child, parent = geoms[c], geoms[r["parent_code"]]
            inter = shapely.intersection(child, parent).area
            assert inter == pytest.approx(child.area, rel=1e-9), c
    # children tile their parent
    for c, r in areas.items():
        if r["level"] < 3:
            kids = [g for k, g in geoms.items() if areas[k]["parent_code"] == c]
            assert sum(k.area for k in kids) == pytest.approx(r["geom"].area, rel=1e-9)
    assert country.is_valid


def test_geojson_file_matches_parquet(out, areas):
    fc = json.loads((out / "reference" / "areas.geojson").read_text(encoding="utf-8"))
    back = areas_from_feature_collection(fc)
    assert [a.code for a in back] == sorted(areas)
    for a in back:
        assert a.geometry.equals(areas[a.code]["geom"])


def test_population_consistent_and_pyramid(out, areas):
    pop = pq.read_table(out / "reference" / "population.parquet")
    codes = set(pop.column("area_code").to_pylist())
    assert codes == {c for c, r in areas.items() if r["level"] == 3}
    h = AreaHierarchy.from_records((c, r["level"], r["parent_code"]) for c, r in areas.items())
    year = pop.column("year").to_numpy()
    n = pop.column("population").to_numpy()
    a = np.asarray(pop.column("area_code").to_pylist(), dtype=object)
    assert (n >= 0).all()
    per_area = {}
    for code, v in zip(a[year == 2019], n[year == 2019], strict=True):
        per_area[code] = per_area.get(code, 0) + v
    assert min(per_area.values()) > 0
    for y in (2019, 2024):
        m = year == y
        total = n[m].sum()
        for level in (1, 2):
            up = h.rollup(a[m], level)
            by = {k: n[m][up == k].sum() for k in set(up)}
            assert sum(by.values()) == total
        # capital region is dense: most population per km² of all regions
        r1 = h.rollup(a[m], 1)
        dens = {k: n[m][r1 == k].sum() / areas[k]["geom"].area for k in set(r1)}
        assert max(dens, key=dens.get) == "R01"
    assert n[year == 2024].sum() > n[year == 2019].sum() * 1.03  # growth
    sex = np.asarray(pop.column("sex").to_pylist())
    age = np.asarray(pop.column("age_group").to_pylist())
    m = year == 2024
    young = n[m & (age == "00-04")].sum()
    old = n[m & (age == "75-79")].sum()
    assert young > 2 * old
    fem_old = n[m & (age == "80+") & (sex == "female")].sum()
    male_old = n[m & (age == "80+") & (sex == "male")].sum()
    assert fem_old > male_old


def test_event_points_fall_in_their_municipality(out, areas):
    inc = pq.read_table(out / "canonical" / "policia_nacional" / "2022-03" / "incident.parquet")
    codes = sorted(c for c, r in areas.items() if r["level"] == 3)
    got = assign_points(
        inc.column("lon").to_numpy(),
        inc.column("lat").to_numpy(),
        codes,
        [areas[c]["geom"] for c in codes],
    )
    assert list(got) == inc.column("area_code").to_pylist()
