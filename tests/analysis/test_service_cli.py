"""The analysis service and ``talaia analyze`` against a small DuckDB warehouse built here after
contracts §6, with planted patterns whose answers are known by construction."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from pyproj import Geod
from typer.testing import CliRunner

from talaia.analysis import service
from talaia.analysis.service import IncidentFilter
from talaia.cli.main import app
from talaia.warehouse.build import DDL

LON0, LAT0 = -60.0, -20.0
GEOD = Geod(ellps="WGS84")
L3 = ["010101", "010102", "010201", "010202", "010203"]  # 010203 never has an incident
N_SEEDS = 30


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    lon1, lat1, _ = GEOD.fwd(lon, lat, 90.0, east_m)
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, 0.0, north_m)
    return lon2, lat2


def _build(path: Path) -> dict[str, object]:
    """30 burglaries on a 6 km lattice, each followed 2 days later by one 50 m east (the only
    pairs within 1 km); 60 assaults; 5 incidents without location."""
    rng = np.random.default_rng(1)
    rows = []
    iid = 0

    def add(lon, lat, when, iccs, area, precision="minute", to=None):
        nonlocal iid
        iid += 1
        path_ = [iccs[:2], iccs[:4], iccs[:5] if len(iccs) >= 5 else None, None]
        rows.append(
            {
                "batch_id": 1,
                "source_code": "policia_nacional",
                "agency_code": "PN",
                "source_kind": "police",
                "occurred_date": when.date(),
                "year": when.year,
                "quarter": (when.month - 1) // 3 + 1,
                "month": when.month,
                "period_month": when.date().replace(day=1),
                "iso_year": when.isocalendar()[0],
                "iso_week": when.isocalendar()[1],
                "dow": when.isoweekday(),
                "hour": when.hour if precision == "minute" else None,
                "occurred_from": when,
                "occurred_to": to,
                "occurred_precision": precision,
                "area_code": area,
                "area_l1": area[:2],
                "area_l2": area[:4],
                "area_l3": area,
                "lon": lon,
                "lat": lat,
                "national_code": "X",
                "iccs_code": iccs,
                "iccs_l1": path_[0],
                "iccs_l2": path_[1],
                "iccs_l3": path_[2],
                "iccs_l4": None,
                "crosswalk_version": 1,
                "mapping_type": "exact",
                "location_type": None,
                "attempted": None,
                "weapon": None,
                "situational_context": None,
                "motive": None,
                "cyber_related": None,
                "incident_id": iid,
                "offence_id": 1000 + iid,
            }
        )

    start = datetime(2020, 1, 1, 10, 0)
    for k in range(N_SEEDS):
        lon, lat = _offset(LON0, LAT0, (k % 6) * 6000.0, (k // 6) * 6000.0)
        when = start + timedelta(days=int(rng.integers(0, 900)), hours=int(k % 24))
        area = L3[k % 2]
        add(lon, lat, when, "0501", area)
        lon2, lat2 = _offset(lon, lat, 50.0, 0.0)
        add(lon2, lat2, when + timedelta(days=2), "0501", area)
    for k in range(60):
        lon, lat = _offset(LON0, LAT0, float(rng.uniform(0, 30000)), float(rng.uniform(0, 30000)))
        when = start + timedelta(days=int(rng.integers(0, 1000)))
        if k % 3 == 0:
            add(lon, lat, when, "02011", L3[2], "range", when + timedelta(hours=4))
        else:
            add(lon, lat, when, "02011", L3[2 + k % 2], "day")
    for k in range(5):
        add(None, None, start + timedelta(days=40 * k), "0501", L3[3])
    table = pa.Table.from_pylist(rows)
    con = duckdb.connect(str(path))
    con.register("t", table)
    # The column types of the warehouse builder (contracts §6), so that both agree.
    for name in ("fact_incident", "fact_offence"):
        con.execute(f"CREATE TABLE {name} ({DDL[name]})")
    con.execute("INSERT INTO fact_incident BY NAME SELECT * EXCLUDE (offence_id) FROM t")
    con.execute("INSERT INTO fact_offence BY NAME SELECT * FROM t")
    areas = [("01", "Country", 1, None), ("0101", "North", 2, "01"), ("0102", "South", 2, "01")]
    areas += [(c, c, 3, c[:4]) for c in L3]
    con.execute(
        "CREATE TABLE dim_area (area_code VARCHAR, name VARCHAR, level INTEGER, "
        "parent_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR)"
    )
    for code, name, level, parent in areas:
        con.execute(
            "INSERT INTO dim_area VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                code,
                name,
                level,
                parent,
                code[:2],
                code[:4] if level >= 2 else None,
                code if level == 3 else None,
            ],
        )
    con.execute(
        "CREATE TABLE source_month (source_code VARCHAR, agency_code VARCHAR, "
        "source_kind VARCHAR, period_month DATE, expected BOOLEAN, delivered BOOLEAN, "
        "batch_id BIGINT, rows BIGINT)"
    )
    m = date(2020, 1, 1)
    while m <= date(2022, 12, 1):
        con.execute(
            "INSERT INTO source_month VALUES "
            "('policia_nacional', 'PN', 'police', ?, TRUE, ?, 1, 0)",
            [m, m != date(2021, 6, 1)],
        )
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    con.close()
    return {"rows": rows}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, list[dict]]:
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    info = _build(path)
    return path, info["rows"]  # type: ignore[return-value]


def test_filters_select_exactly(warehouse) -> None:
    path, rows = warehouse
    con = service.connect(path)
    inc = service.load_incidents(con, IncidentFilter(iccs="05"))
    assert inc.n == 2 * N_SEEDS + 5 and inc.n_without_location == 5
    assert service.load_incidents(con, IncidentFilter(iccs="02011")).n == 60
    assert service.load_incidents(con, IncidentFilter(iccs="0201")).n == 60
    assert service.load_incidents(con, IncidentFilter(area="0102")).n == sum(
        r["area_l2"] == "0102" for r in rows
    )
    d0, d1 = date(2021, 1, 1), date(2021, 6, 30)
    assert service.load_incidents(con, IncidentFilter(date_from=d0, date_to=d1)).n == sum(
        d0 <= r["occurred_date"] <= d1 for r in rows
    )
    off = service.load_incidents(con, IncidentFilter(iccs="05", table="offence"))
    assert off.n == 2 * N_SEEDS + 5
    # the local projection keeps distances: the planted pairs are 50 m apart
    ok = inc.located
    x, y = inc.x[ok], inc.y[ok]
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(d, np.inf)
    assert np.allclose(np.sort(d.min(axis=1)), 50.0, atol=0.05)


def test_near_repeat_finds_the_planted_pairs(warehouse) -> None:
    path, _ = warehouse
    con = service.connect(path)
    res = service.near_repeat(
        con,
        IncidentFilter(iccs="0501"),
        spatial_bands=[100, 1000],
        temporal_bands=[7],
        permutations=99,
        seed=1,
    )
    # rows: same, (0,100], (100,1000], >1000 ; cols: [0,7], >7
    assert res.observed[1, 0] == N_SEEDS
    assert res.observed[0].sum() == 0 and res.observed[2].sum() == 0
    assert res.observed.sum() == (2 * N_SEEDS) * (2 * N_SEEDS - 1) // 2
    assert res.p_value[1, 0] == pytest.approx(0.01)
    assert res.extra["n_without_location"] == 5


def test_concentration_over_areas_includes_empty_areas(warehouse) -> None:
    path, rows = warehouse
    con = service.connect(path)
    rep = service.concentration_report(con, IncidentFilter(), unit="area", repeat_days=7)
    counts = sorted((sum(r["area_l3"] == a for r in rows) for a in L3), reverse=True)
    assert rep.concentration.n_places == 5 and counts[-1] == 0
    assert rep.concentration.n_incidents == len(rows)
    # top 10 % of 5 places = 1 place
    assert rep.concentration.top_shares[10.0] == pytest.approx(counts[0] / len(rows))
    # repeats: same exact place within 7 days -> none (the near repeats are 50 m away)
    assert rep.repeats.n_repeats == 0
    cells = service.concentration_report(con, IncidentFilter(iccs="05"), unit="cell", cell=1000)
    assert cells.concentration.n_incidents == 2 * N_SEEDS


def test_time_report_marks_undelivered_month_as_no_data(warehouse) -> None:
    path, rows = warehouse
    con = service.connect(path)
    rep = service.time_report(con, IncidentFilter())
    assert rep.heatmap.weights.sum() == pytest.approx(len(rows))
    i = rep.months.index("2021-06")
    assert np.isnan(rep.monthly_counts[i])
    j = rep.months.index("2020-03")
    assert rep.monthly_counts[j] == sum(r["period_month"] == date(2020, 3, 1) for r in rows)
    assert len(rep.months) == 36
    # 17 complete months after the gap < 24: STL is not possible, and the report says why
    assert rep.series is None and "consecutive" in rep.note


def test_hotspots_gi_star_and_kde(warehouse) -> None:
    path, _ = warehouse
    con = service.connect(path)
    rep = service.hotspots(con, IncidentFilter(iccs="05"), cell=500, permutations=99)
    assert rep.local is not None
    assert sum(rep.local.value) == 2 * N_SEEDS
    gj = rep.to_geojson()
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and abs(ring[0][0] - LON0) < 0.5 and abs(ring[0][1] - LAT0) < 0.5
    kde = service.hotspots(con, IncidentFilter(iccs="05"), method="kde", cell=200, bandwidth=400)
    assert kde.density is not None and kde.density.bandwidth == 400
    assert len(kde.to_geojson()["features"]) > 0


def test_cli_commands_and_outputs(warehouse, tmp_path) -> None:
    path, _ = warehouse
    runner = CliRunner()
    out = tmp_path / "knox.json"
    r = runner.invoke(
        app,
        [
            "analyze",
            "near-repeat",
            "--warehouse",
            str(path),
            "--iccs",
            "0501",
            "--spatial",
            "100,1000",
            "--temporal",
            "7",
            "--permutations",
            "99",
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Knox" in r.output
    data = json.loads(out.read_text())
    assert data["observed"][1][0] == N_SEEDS
    gj = tmp_path / "hot.geojson"
    r = runner.invoke(
        app,
        [
            "analyze",
            "hotspots",
            "--warehouse",
            str(path),
            "--cell",
            "500",
            "--permutations",
            "99",
            "--output",
            str(gj),
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(gj.read_text())["type"] == "FeatureCollection"
    csv_out = tmp_path / "conc.csv"
    r = runner.invoke(
        app, ["analyze", "concentration", "--warehouse", str(path), "--output", str(csv_out)]
    )
    assert r.exit_code == 0, r.output
    assert csv_out.read_text().splitlines()[0] == "places_share,incidents_share"
    r = runner.invoke(app, ["analyze", "time", "--warehouse", str(path)])
    assert r.exit_code == 0, r.output
    assert "Monday" in r.output


def test_cli_errors_are_one_line(tmp_path) -> None:
    exe = Path(sys.executable).with_name("talaia")
    proc = subprocess.run(
        [str(exe), "analyze", "time", "--warehouse", str(tmp_path / "missing.duckdb")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    err = " ".join(proc.stderr.split())  # Rich wraps long lines
    assert "not found" in err and "Traceback" not in err


def test_every_result_serializes_to_strict_json(warehouse) -> None:
    path, _ = warehouse
    con = service.connect(path)
    flt = IncidentFilter(iccs="05")
    results = [
        service.hotspots(con, flt, cell=500, permutations=19),
        service.hotspots(con, flt, method="local_moran", cell=500, permutations=19),
        service.hotspots(con, flt, method="kde", cell=250, bandwidth=500),
        service.near_repeat(con, flt, permutations=19),
        service.concentration_report(con, flt),
        service.time_report(con, IncidentFilter()),
    ]
    for res in results:
        text = json.dumps(res.to_dict(), allow_nan=False)
        assert json.loads(text)
    for res in results[:3]:
        json.dumps(res.to_geojson(), allow_nan=False)


def _areas_geojson(path: Path) -> None:
    def box(x0: float, x1: float) -> dict:
        ring = [[x0, 0.0], [x1, 0.0], [x1, 1.0], [x0, 1.0], [x0, 0.0]]
        return {"type": "Polygon", "coordinates": [ring]}

    feats = [
        {"type": "Feature", "geometry": box(0, 5), "properties": {"code": "01", "level": 1}},
        {
            "type": "Feature",
            "geometry": box(0, 2),
            "properties": {"code": "0101", "level": 2, "parent_code": "01"},
        },
        {
            "type": "Feature",
            "geometry": box(2, 5),
            "properties": {"code": "0102", "level": 2, "parent_code": "01"},
        },
    ]
    for k, code in enumerate(L3):  # a row of five unit squares: a chain of neighbours
        feats.append(
            {
                "type": "Feature",
                "geometry": box(k, k + 1),
                "properties": {"code": code, "level": 3, "parent_code": code[:4]},
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))


def test_area_hotspots_over_polygons(warehouse, tmp_path) -> None:
    from talaia.analysis.hotspots import getis_ord_gi_star
    from talaia.analysis.weights import lattice_weights

    path, rows = warehouse
    gj = tmp_path / "areas.geojson"
    _areas_geojson(gj)
    con = service.connect(path)
    stat = service.area_hotspots(con, IncidentFilter(), gj, permutations=99, seed=3)
    counts = np.array([sum(r["area_l3"] == a for r in rows) for a in L3], float)
    truth = getis_ord_gi_star(counts, lattice_weights(1, 5, "rook"), permutations=99, seed=3)
    assert stat.unit_ids == tuple(L3)
    np.testing.assert_array_equal(stat.value, counts)
    np.testing.assert_allclose(stat.z, truth.z)
    np.testing.assert_allclose(stat.p_sim, truth.p_sim)
    assert len(stat.to_geojson()["features"]) == 5
    south = service.area_hotspots(con, IncidentFilter(area="0102"), gj, permutations=9)
    assert south.unit_ids == ("010201", "010202", "010203")
    out = tmp_path / "areas_gi.geojson"
    r = CliRunner().invoke(
        app,
        [
            "analyze",
            "hotspots",
            "--warehouse",
            str(path),
            "--areas",
            str(gj),
            "--permutations",
            "99",
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(json.loads(out.read_text())["features"]) == 5


def test_area_hotspots_read_polygons_from_the_warehouse(warehouse, tmp_path) -> None:
    import shutil

    path, _rows = warehouse
    gj = tmp_path / "areas.geojson"
    _areas_geojson(gj)
    copy = tmp_path / "with_geometry.duckdb"
    shutil.copy(path, copy)
    con = duckdb.connect(str(copy))
    with pytest.raises(Exception, match="dim_area_geometry"):
        service.area_features(con)
    con.execute(f"CREATE TABLE dim_area_geometry ({DDL['dim_area_geometry']})")
    for f in json.loads(gj.read_text())["features"]:
        p = f["properties"]
        con.execute(
            "INSERT INTO dim_area_geometry VALUES (?, ?, ?)",
            [p["code"], p["level"], json.dumps(f["geometry"])],
        )
    con.close()
    con = service.connect(copy)
    feats = service.area_features(con, level=3)
    assert [f["properties"]["code"] for f in feats] == L3
    assert len(service.area_features(con)) == 8
    assert feats[0]["properties"]["parent_code"] == "0101"
    from_file = service.area_hotspots(con, IncidentFilter(), gj, permutations=99, seed=3)
    from_wh = service.area_hotspots(con, IncidentFilter(), None, permutations=99, seed=3)
    assert from_wh.unit_ids == from_file.unit_ids
    np.testing.assert_array_equal(from_wh.value, from_file.value)
    np.testing.assert_array_equal(from_wh.z, from_file.z)
    np.testing.assert_array_equal(from_wh.p_sim, from_file.p_sim)
    south = service.area_hotspots(con, IncidentFilter(area="0102"), permutations=9)
    assert south.unit_ids == ("010201", "010202", "010203")


def test_cli_area_hotspots_over_the_warehouse_polygons(warehouse, tmp_path) -> None:
    """``talaia analyze hotspots --unit area`` runs Gi* over the warehouse's area polygons: the
    same z as Gi* over the counts per area on the chain of five neighbouring squares."""
    import csv as csv_
    import shutil

    from talaia.analysis.hotspots import getis_ord_gi_star
    from talaia.analysis.weights import lattice_weights

    path, rows = warehouse
    gj = tmp_path / "areas.geojson"
    _areas_geojson(gj)
    copy = tmp_path / "with_geometry.duckdb"
    shutil.copy(path, copy)
    con = duckdb.connect(str(copy))
    con.execute(f"CREATE TABLE dim_area_geometry ({DDL['dim_area_geometry']})")
    for f in json.loads(gj.read_text())["features"]:
        p = f["properties"]
        con.execute(
            "INSERT INTO dim_area_geometry VALUES (?, ?, ?)",
            [p["code"], p["level"], json.dumps(f["geometry"])],
        )
    con.close()
    out = tmp_path / "gi.csv"
    args = ["analyze", "hotspots", "--warehouse", str(copy), "--unit", "area"]
    r = CliRunner().invoke(
        app, [*args, "--level", "3", "--permutations", "99", "--seed", "3", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    got = {row["unit"]: float(row["z"]) for row in csv_.DictReader(out.open())}
    counts = np.array([sum(x["area_l3"] == a for x in rows) for a in L3], float)
    truth = getis_ord_gi_star(counts, lattice_weights(1, 5, "rook"), permutations=99, seed=3)
    assert list(got) == L3
    np.testing.assert_allclose([got[a] for a in L3], truth.z)
    # level 2 has two areas: too few for Gi*, one-line error; kde has no area form
    r = CliRunner().invoke(app, [*args, "--level", "2", "--permutations", "9"])
    assert r.exit_code != 0 and "fewer than 3 areas" in str(r.exception)
    r = CliRunner().invoke(app, [*args, "--method", "kde"])
    assert r.exit_code != 0 and "kde" in str(r.exception)
    r = CliRunner().invoke(app, [*args[:-1], "hexagon"])
    assert r.exit_code != 0 and "--unit" in str(r.exception)
