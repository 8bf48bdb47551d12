"""Crime analysis in the API and the portal, over the hand-made incident warehouse of
tests/analysis (tests/web/conftest.py: build_analysis_warehouse): every endpoint's answer equals
the analysis service called directly on the same warehouse, and the planted truths hold
(30 near-repeat pairs 50 m and 2 days apart; 125 incidents; 5 without location)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.analysis.test_service_cli import L3, N_SEEDS
from tests.web.conftest import login

from talaia.analysis import service
from talaia.analysis.service import IncidentFilter
from talaia.web.config import WebSettings
from talaia.web.services import analysis as web_analysis

API = "/api/v1/analysis"
POLICE = IncidentFilter(source_kind="police")
POLICE_05 = IncidentFilter(iccs="05", source_kind="police")


def _con(an_portal):  # type: ignore[no-untyped-def]
    return service.connect(an_portal[1])


def _ok(client, url: str, **params):  # type: ignore[no-untyped-def]
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_hotspots_gi_star_and_kde_equal_the_service(an_client, an_portal):
    assert login(an_client, "ana").status_code == 303
    gj = _ok(an_client, f"{API}/hotspots", iccs="05", cell=500, permutations=99)
    # 61 × 61 cells of 500 m: 99 permutations cannot pass the FDR over them (a cluster of
    # 3,721 / (0.05 · 100) = 744 cells would be needed), so "auto" takes the normal p-values
    assert gj["talaia"]["fdr_basis"] == "norm" and gj["talaia"]["source_kind"] == "police"
    truth = service.hotspots(
        _con(an_portal), POLICE_05, cell=500, permutations=99, fdr_basis="norm"
    )
    want = truth.to_geojson()["features"]
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == len(want)
    for got, exp in zip(gj["features"], want, strict=True):
        assert got["properties"] == json.loads(json.dumps(exp["properties"]))
        assert got["geometry"] == exp["geometry"]
    meta = gj["talaia"]
    # 2 × 30 located burglaries, the 5 without location left out
    assert meta["n_incidents"] == 2 * N_SEEDS and meta["n_without_location"] == 5
    assert sum(f["properties"]["value"] for f in gj["features"]) == 2 * N_SEEDS
    assert meta["permutations"] == 99 and meta["filter"]["iccs"] == "05"
    kde = _ok(an_client, f"{API}/hotspots", iccs="05", method="kde", cell=200, bandwidth=400)
    k = service.hotspots(_con(an_portal), POLICE_05, method="kde", cell=200, bandwidth=400)
    assert kde["talaia"]["bandwidth_m"] == 400
    np.testing.assert_allclose(
        [f["properties"]["density"] for f in kde["features"]],
        [f["properties"]["density"] for f in k.to_geojson()["features"]],
    )


def test_near_repeat_knox_table(an_client, an_portal):
    assert login(an_client, "admin").status_code == 303
    got = _ok(
        an_client,
        f"{API}/near-repeat",
        iccs="0501",
        spatial_bands="100,1000",
        temporal_bands="7",
        permutations=99,
    )
    truth = service.near_repeat(
        _con(an_portal),
        IncidentFilter(iccs="0501", source_kind="police"),
        spatial_bands=[100, 1000],
        temporal_bands=[7],
        permutations=99,
        seed=web_analysis.KNOX_SEED,
    )
    assert got == json.loads(json.dumps(truth.to_dict()))
    # rows: same location, (0,100], (100,1000], >1000; the 30 planted pairs are exact counts
    assert got["observed"][1][0] == N_SEEDS
    assert sum(got["observed"][0]) == 0 and sum(got["observed"][2]) == 0
    assert got["p_value"][1][0] == pytest.approx(0.01)
    # permutations are capped for a web request
    capped = _ok(an_client, f"{API}/near-repeat", iccs="0501", permutations=5000)
    assert capped["permutations"] == WebSettings().analysis_max_permutations


def test_concentration_and_time(an_client, an_portal):
    rows = an_portal[2]
    assert login(an_client, "ana").status_code == 303
    got = _ok(an_client, f"{API}/concentration")
    truth = service.concentration_report(_con(an_portal), POLICE, unit="area")
    assert got == json.loads(json.dumps(truth.to_dict()))
    counts = sorted((sum(r["area_l3"] == a for r in rows) for a in L3), reverse=True)
    assert got["concentration"]["n_places"] == 5
    assert got["concentration"]["n_incidents"] == len(rows) == 125
    assert got["concentration"]["top_shares"]["10.0"] == pytest.approx(counts[0] / len(rows))
    tm = _ok(an_client, f"{API}/time", period="2020..2022")
    t_truth = service.time_report(_con(an_portal), POLICE)
    assert tm["heatmap"] == json.loads(json.dumps(t_truth.heatmap.to_dict()))
    assert sum(map(sum, tm["heatmap"]["weights"])) == pytest.approx(len(rows))
    assert len(tm["months"]) == 36 and tm["series"] is not None
    assert len(tm["series"]["series"]) == 36
    m = tm["months"].index("2020-03")
    assert tm["monthly_counts"][m] == sum(
        r["period_month"].isoformat() == "2020-03-01" for r in rows
    )
    # a period filter selects exactly
    got = _ok(an_client, f"{API}/concentration", period="2021-01..2021-06")
    n = sum("2021-01-01" <= r["occurred_date"].isoformat() <= "2021-06-30" for r in rows)
    assert got["concentration"]["n_incidents"] == n and 0 < n < len(rows)


def test_results_are_cached(an_portal):
    portal = an_portal[0].state.portal
    flt = web_analysis.make_filter("05", None, None, None)
    a = web_analysis.near_repeat(portal, flt, permutations=19)
    b = web_analysis.near_repeat(portal, flt, permutations=19)
    assert a is b


@pytest.mark.parametrize("who", [None, "viewer", "pn_steward"])
def test_only_analysts_and_administrators(an_client, who):
    if who:
        assert login(an_client, who).status_code == 303
    for ep in ("hotspots", "near-repeat", "concentration", "time"):
        r = an_client.get(f"{API}/{ep}")
        assert r.status_code == 403, ep
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == web_analysis.FORBIDDEN
    page = an_client.get("/analysis", follow_redirects=False)
    if who is None:
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    else:
        assert page.status_code == 403
        assert 'href="/analysis"' not in an_client.get("/").text


def test_bad_filters_and_too_many_events(an_client, an_portal, seeded, tmp_path):
    assert login(an_client, "ana").status_code == 303
    r = an_client.get(f"{API}/hotspots", params={"iccs": "5x"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert an_client.get(f"{API}/time", params={"period": "2021-13"}).status_code == 422
    assert an_client.get(f"{API}/hotspots", params={"cell": 10}).status_code == 422
    from fastapi.testclient import TestClient

    from talaia.settings import Settings
    from talaia.web.app import create_app

    settings = Settings(data_dir=tmp_path, secret_key="s" * 32, warehouse_path=str(an_portal[1]))
    small = create_app(settings, WebSettings(analysis_max_events=70), seeded[0])
    with TestClient(small, base_url="https://testserver") as c:
        assert login(c, "ana").status_code == 303
        r = c.get(f"{API}/near-repeat")
        assert r.status_code == 422
        assert "125 incidents" in r.json()["detail"] and "Narrow" in r.json()["detail"]
        assert c.get(f"{API}/near-repeat", params={"iccs": "0201"}).status_code == 200
        html = c.get("/analysis", params={"lang": "es", "area": ""}).text
        # one message for the whole page, not one per section, with a narrower selection
        assert html.count("Los filtros seleccionan 125 incidentes") == 1
        assert 'id="too-many"' in html and 'id="hotspot-map"' not in html
        assert "Analizar 2022, registros de tipo policía" in html


def test_analysis_page_in_english_and_spanish(an_client):
    assert login(an_client, "ana").status_code == 303
    html = an_client.get("/analysis", params={"iccs": "05", "cell": "500"}).text
    assert 'id="hotspot-map"' in html and "<svg" in html and 'class="layers"' in html
    assert 'id="knox-grid"' in html and "knox-cell sig" in html
    for fig in ("lorenz-data", "weekhours-data", "stl-data"):
        assert f'id="{fig}"' in html
    assert "Crime analysis" in html and 'href="/analysis"' in html
    es = an_client.get("/analysis", params={"iccs": "05", "lang": "es"}).text
    for text in (
        "Análisis delictivo",
        "Mapa de puntos calientes",
        "Casi repetición (prueba de Knox)",
        "Concentración",
        "Día de la semana × hora",
    ):
        assert text in es, text
    kde = an_client.get("/analysis", params={"method": "kde", "cell": "300"}).text
    assert "Kernel density, quartic kernel" in kde


def _hand_heatmap(rows) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Aoristic weights computed row by row: exact times weigh 1 in their hour, the 4-hour
    ranges (starting on the hour) 1/4 in each hour, day-only incidents 1/24 in each hour of
    their calendar day (their stamp says 10:00; the time is not known)."""
    w = np.zeros((7, 24))
    for r in rows:
        dow = r["occurred_from"].weekday()
        if r["occurred_precision"] == "minute":
            w[dow, r["occurred_from"].hour] += 1
        elif r["occurred_precision"] == "day":
            w[dow, :] += 1 / 24
        else:
            span = int((r["occurred_to"] - r["occurred_from"]).total_seconds() // 3600)
            for k in range(span):
                h = r["occurred_from"].hour + k
                w[(dow + h // 24) % 7, h % 24] += 1 / span
    return w


def test_time_heatmap_spreads_day_only_incidents_over_their_day(an_client, an_portal):
    rows = an_portal[2]
    assert login(an_client, "ana").status_code == 303
    tm = _ok(an_client, f"{API}/time")
    np.testing.assert_allclose(tm["heatmap"]["weights"], _hand_heatmap(rows), atol=1e-9)
    n_day = sum(r["occurred_precision"] == "day" for r in rows)
    assert tm["heatmap"]["n_day"] == n_day == 40


def _small_client(an_portal, seeded, tmp_path, limit: int):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from talaia.settings import Settings
    from talaia.web.app import create_app

    settings = Settings(data_dir=tmp_path, secret_key="s" * 32, warehouse_path=str(an_portal[1]))
    return TestClient(
        create_app(settings, WebSettings(analysis_max_events=limit), seeded[0]),
        base_url="https://testserver",
    )


def test_first_view_shows_a_workable_default_selection(an_portal, seeded, tmp_path):
    """125 incidents over the limit of 70: the first view selects the latest year (2022) and
    every section is computed; no error, one note saying it is a default."""
    rows = an_portal[2]
    n_2022 = sum(r["occurred_date"].year == 2022 for r in rows)
    assert 0 < n_2022 <= 70
    with _small_client(an_portal, seeded, tmp_path, 70) as c:
        assert login(c, "ana").status_code == 303
        html = c.get("/analysis").text
    assert 'id="default-note"' in html and 'role="alert"' not in html
    assert 'value="2022-01"' in html and 'value="2022-12"' in html
    assert f"{n_2022} incidents selected, police records only." in html
    for part in ('id="hotspot-map"', 'id="knox-grid"', 'id="lorenz-data"', 'id="weekhours-data"'):
        assert part in html, part


def test_iccs_picker_lists_the_packaged_iccs_in_the_language(an_client):
    from talaia.classification.iccs import load_iccs

    assert login(an_client, "ana").status_code == 303
    en = an_client.get("/analysis", params={"iccs": "0501"}).text
    es = an_client.get("/analysis", params={"iccs": "0501", "lang": "es"}).text
    iccs = load_iccs()
    assert en.count('<option value="0') + en.count('<option value="1') >= len(iccs)
    assert 'list="iccs-list"' in en and '<datalist id="iccs-list">' in en
    cat = iccs.lookup("0501")
    assert f"0501: {cat.label_en}" in en and f"0501: {cat.label_es}" in es
    # a code that is not an ICCS category: one clear message, 422 in the API
    bad = an_client.get("/analysis", params={"iccs": "0599"}).text
    assert "not an ICCS v1.0 category" in bad and 'id="hotspot-map"' not in bad
    assert an_client.get(f"{API}/time", params={"iccs": "0599"}).status_code == 422


def test_computing_notice_without_inline_script(an_client):
    assert login(an_client, "ana").status_code == 303
    html = an_client.get("/analysis", params={"iccs": "05"}).text
    assert 'data-busy="analysis-busy"' in html
    assert 'id="analysis-busy" role="status" aria-live="polite" hidden' in html
    # the form submits with GET and a real button (works without JavaScript)
    assert '<form method="get" class="filters analysis-filters"' in html
    js = an_client.get("/static/talaia.js").text
    assert "form[data-busy]" in js and 'addEventListener("submit"' in js
    assert "<script>" not in html.replace("<script type=", "")


def test_automatic_cell_from_the_extent_and_gi_legend_in_numbers(an_client, an_portal):
    """The burglaries span 30.06 km east-west: 30,059 m / 120 cells = 250.5 m, rounded up to
    the next of the sizes offered, 300 m."""
    rows = [r for r in an_portal[2] if r["lon"] is not None and r["iccs_code"] == "0501"]
    assert login(an_client, "ana").status_code == 303
    gj = _ok(an_client, f"{API}/hotspots", iccs="0501")
    import math

    lat = [r["lat"] for r in rows]
    lon = [r["lon"] for r in rows]
    w = (max(lon) - min(lon)) * 111_320 * math.cos(math.radians((max(lat) + min(lat)) / 2))
    h = (max(lat) - min(lat)) * 110_574
    assert 250 < max(w, h) / 120 < 251
    assert gj["talaia"]["grid"]["cell"] == 300 and gj["talaia"]["cell_auto"] is True
    html = an_client.get("/analysis", params={"iccs": "0501", "cell": ""}).text
    assert "Getis-Ord Gi* on 300 m cells" in html
    assert "Cell size chosen from the extent of the selection." in html
    assert "hot spot: z ≥ 3.29 (" in html and " cells)" in html
    assert "not significant (" in html and " cells with incidents)" in html


def test_kde_is_one_png_image_with_a_numeric_legend(an_client):
    import base64
    import re
    import zlib

    assert login(an_client, "ana").status_code == 303
    r = an_client.get("/analysis", params={"iccs": "05", "method": "kde", "cell": "100"})
    html = r.text
    m = re.search(r'<image class="kde" href="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m, "no density image"
    data = base64.b64decode(m.group(1))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 640 and height > 100
    # no per-cell shapes in the density map: 300 × 300 cells would be megabytes of paths
    svg = html[
        html.index('id="hotspot-map"') : html.index("</svg>", html.index('id="hotspot-map"'))
    ]
    assert svg.count("<path") == 5  # the five area outlines only
    assert "Density (incidents per km²)" in html
    assert len(re.findall(r'class="swatch"[^>]*></span>\d[\d.,]*–\d[\d.,]*', html)) == 5
    assert len(r.content) < 150_000

    # the PNG writer, decoded by hand: palette indices row by row, filter byte 0
    from talaia.web.pages.analysis import png

    idx = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    out = png(idx, [(255, 255, 255, 0), (255, 0, 0, 255), (0, 0, 255, 128)])
    pos = out.index(b"IDAT")
    n = int.from_bytes(out[pos - 4 : pos], "big")
    raw = zlib.decompress(out[pos + 4 : pos + 4 + n])
    assert raw == bytes([0, 0, 1, 2, 0, 2, 1, 0])
    assert b"PLTE" in out and out[out.index(b"tRNS") + 4 : out.index(b"tRNS") + 7] == bytes(
        [0, 255, 128]
    )


def test_spanish_page_wholly_in_spanish(an_client):
    assert login(an_client, "ana").status_code == 303
    es = an_client.get("/analysis", params={"iccs": "05", "lang": "es"}).text
    for text in ("Misma ubicación", "Más de 800 m", "0–7 días", "Más de 60 días", "Tipo de fuente"):
        assert text in es, text
    import re

    main = es[es.index("<main") : es.index("</main>")]
    main = re.sub(r"<script.*?</script>|<[^>]+>", " ", main, flags=re.S)
    for english in ("Same location", "More than", " days", "incidents", "Cannot compute", "cells"):
        assert english not in main, english
    # the STL note when the run is too short, in Spanish
    short = an_client.get("/analysis", params={"iccs": "05", "lang": "es", "date_from": "2022"})
    assert "Sin tendencia: STL necesita 24 meses consecutivos" in short.text
    # source kinds in words in both languages
    en = an_client.get("/analysis", params={"iccs": "05"}).text
    assert '<option value="police" selected>police (125)</option>' in en
    assert '<option value="police" selected>policía (125)</option>' in es


@pytest.fixture
def kinds_portal(seeded, tmp_path):  # type: ignore[no-untyped-def]
    """The analysis warehouse plus forensic records of the same events: every burglary of the
    police (0501, 65 incidents) recorded again by the forensic service."""
    import duckdb
    from tests.web.conftest import build_analysis_warehouse

    from talaia.settings import Settings
    from talaia.web.app import create_app

    wh = tmp_path / "kinds.duckdb"
    rows = build_analysis_warehouse(wh)
    con = duckdb.connect(str(wh))
    for table in ("fact_incident", "fact_offence"):
        con.execute(
            f"INSERT INTO {table} SELECT * REPLACE ('forensic' AS source_kind, 'medicina_legal' "
            "AS source_code, 'IML' AS agency_code, incident_id + 10000 AS incident_id) "
            f"FROM {table} WHERE iccs_code = '0501'"
        )
    con.execute(
        "INSERT INTO source_month SELECT 'medicina_legal', 'IML', 'forensic', period_month, "
        "expected, delivered, batch_id, rows FROM source_month"
    )
    con.close()
    settings = Settings(data_dir=tmp_path, secret_key="k" * 32, warehouse_path=str(wh))
    return create_app(settings, WebSettings(), seeded[0]), rows


def test_one_source_kind_at_a_time(kinds_portal):
    from fastapi.testclient import TestClient

    app, rows = kinds_portal
    police = [r for r in rows if r["iccs_code"] == "0501"]
    assert len(police) == 65
    with TestClient(app, base_url="https://testserver") as c:
        assert login(c, "ana").status_code == 303
        tm = _ok(c, f"{API}/time", iccs="0501")
        assert tm["filter"]["source_kind"] == "police"
        assert sum(map(sum, tm["heatmap"]["weights"])) == pytest.approx(65)  # not 130
        conc = _ok(c, f"{API}/concentration", iccs="0501")
        assert conc["concentration"]["n_incidents"] == 65
        assert conc["filter"]["source_kind"] == "police"
        fo = _ok(c, f"{API}/concentration", iccs="0501", source_kind="forensic")
        assert (
            fo["concentration"]["n_incidents"] == 65 and fo["filter"]["source_kind"] == "forensic"
        )
        hs = _ok(c, f"{API}/hotspots", iccs="0501", cell=1000)
        assert hs["talaia"]["n_incidents"] == 60 and hs["talaia"]["source_kind"] == "police"
        kn = _ok(c, f"{API}/near-repeat", iccs="0501", spatial_bands="100", temporal_bands="7")
        assert kn["n_events"] == 60 and kn["observed"][1][0] == N_SEEDS
        assert kn["extra"]["filter"]["source_kind"] == "police"
        r = c.get(f"{API}/time", params={"source_kind": "prison"})
        assert r.status_code == 422 and "forensic" in r.json()["detail"]
        html = c.get("/analysis", params={"iccs": "0501"}).text
        assert "65 incidents selected, police records only." in html
        assert '<option value="police" selected>police (125)</option>' in html
        assert '<option value="forensic">forensic (65)</option>' in html
        es = c.get("/analysis", params={"iccs": "0501", "source_kind": "forensic", "lang": "es"})
        assert "65 incidentes seleccionados, solo registros de tipo forense." in es.text
