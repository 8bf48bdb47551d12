"""Indicator pages, API and downloads over the hand-made warehouse of tests/indicators, with
disclosure control checked against hand-counted values (SQLite and PostgreSQL stores).

Truth (tests/indicators/warehouse_fixture.py): police homicide victims M1 (100,000 people):
2 in 2022, 5 in 2023; M2 (50,000): 0 in 2022; M3 (200,000): 24 in 2022. Batch 24 (PN 2023-12)
is approved, not published; every other batch is published.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from scipy.stats import chi2
from tests.web.conftest import login


def _garwood(k: int) -> tuple[float, float]:
    lo = chi2.ppf(0.025, 2 * k) / 2 if k else 0.0
    return lo, chi2.ppf(0.975, 2 * k + 2) / 2


def _values(client, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/indicators/homicide_rate/values", params=params)
    assert r.status_code == 200, r.text
    return {row["area_code"]: row for row in r.json()["items"]}


def test_analyst_sees_every_current_batch(ind_client):
    assert login(ind_client, "ana").status_code == 303
    m1 = _values(ind_client, period="2022", area="M1")["M1"]
    lo, hi = _garwood(2)
    assert m1["numerator"] == 2 and m1["value"] == pytest.approx(2.0)
    assert m1["ci_low"] == pytest.approx(lo) and m1["ci_high"] == pytest.approx(hi)
    assert m1["disclosure"] == "ok"
    m1_2023 = _values(ind_client, period="2023", area="M1")["M1"]
    assert m1_2023["value"] == pytest.approx(5.0) and m1_2023["disclosure"] == "ok"
    assert m1_2023["coverage"] == "partial"  # PN 2023-03 never delivered


def test_viewer_sees_published_values_only(ind_client):
    assert login(ind_client, "viewer").status_code == 303
    assert _values(ind_client, period="2022", area="M1")["M1"]["value"] == pytest.approx(2.0)
    m1 = _values(ind_client, period="2023", area="M1")["M1"]
    assert m1["disclosure"] == "unpublished"
    assert m1["value"] is None and m1["numerator"] is None and m1["ci_high"] is None
    assert m1["batch_ids"] is None  # provenance of a withheld value is withheld too
    assert m1["denominator"] == 100_000  # the population is not confidential
    # monthly: only December 2023 depends on the unpublished batch
    months = ind_client.get(
        "/api/v1/indicators/homicide_rate/values",
        params={"period": "2023-10..2023-12", "area": "M1"},
    ).json()
    assert [r["disclosure"] for r in months["items"]] == ["ok", "ok", "unpublished"]


def test_public_small_counts_suppressed(ind_client):
    rows = _values(ind_client, period="2022", level=3)
    assert rows["M1"]["disclosure"] == "suppressed"  # 2 victims < 5
    assert rows["M1"]["value"] is None and rows["M1"]["numerator"] is None
    assert rows["M2"]["disclosure"] == "ok" and rows["M2"]["value"] == 0.0  # zero is shown
    # M3 (24) is withheld too: the country (26) minus M3 would give D1 = M1 + M2 = 2, M1's
    # count (complementary suppression); the country itself is shown
    assert rows["M3"]["disclosure"] == "suppressed" and rows["M3"]["numerator"] is None
    country = _values(ind_client, period="2022")["national"]
    assert country["disclosure"] == "ok" and country["numerator"] == 26
    # the same for a breakdown: no category below the threshold shows its figures
    r = ind_client.get(
        "/api/v1/indicators/homicide_rate/values",
        params={"period": "2022", "level": 3, "by": "sex"},
    ).json()
    for row in r["items"]:
        if row["disclosure"] == "ok":
            assert row["numerator"] == 0 or row["numerator"] >= 5
        else:
            assert row["numerator"] is None and row["value"] is None
    # unpublished wins over small counts: 2023 is withheld as unpublished
    assert _values(ind_client, period="2023", level=3)["M3"]["disclosure"] == "unpublished"


def test_downloads_respect_disclosure(ind_client):
    params = {"area": "M1", "grain": "year", "start": "2022", "end": "2023"}
    r = ind_client.get("/indicators/homicide_rate/data.csv", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["period"], x["disclosure"], x["value"]) for x in rows] == [
        ("2022", "suppressed", ""),
        ("2023", "unpublished", ""),
    ]
    assert login(ind_client, "ana").status_code == 303
    r = ind_client.get("/indicators/homicide_rate/data.xlsx", params=params)
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["data", "metadata"]
    data = list(wb["data"].values)
    head = data[0]
    values = [dict(zip(head, row, strict=True)) for row in data[1:]]
    assert [(v["period"], v["numerator"]) for v in values] == [("2022", 2), ("2023", 5)]
    j = ind_client.get("/indicators/homicide_rate/data.json", params=params).json()
    assert j["indicator"] == "homicide_rate"
    assert [r["value"] for r in j["rows"]] == pytest.approx([2.0, 5.0])
    assert ind_client.get("/indicators/homicide_rate/data.pdf").status_code == 404


def test_explorer_page_chart_table_map(ind_client):
    assert login(ind_client, "ana").status_code == 303
    html = ind_client.get(
        "/indicators/homicide_rate",
        params={"grain": "month", "start": "2023-01", "end": "2023-04", "area": "D2"},
    ).text
    fig = json.loads(html.split('id="chart-data">', 1)[1].split("</script>", 1)[0])
    trace = fig["data"][0]
    assert trace["x"] == ["2023-01", "2023-02", "2023-03", "2023-04"]
    # M3 (the only municipality of D2): 1 a month, March never delivered -> a gap, not 0
    assert trace["y"][2] is None
    assert trace["y"][0] == pytest.approx(1 / 200_000 * 1e5 * 365 / 31)  # per person-year
    assert "no data" in html
    # map of D2's municipalities for the last month
    assert 'href="/indicators/homicide_rate?area=M3' in html
    assert "/static/vendor/plotly.min.js" in html
    es = ind_client.get(
        "/indicators/homicide_rate?lang=es&area=D2&grain=month&start=2023-01&end=2023-04"
    ).text
    assert "sin datos" in es and "Tasa de homicidio intencional" in es


def test_home_and_area_profile(ind_client):
    assert login(ind_client, "ana").status_code == 303
    html = ind_client.get("/").text
    assert "Intentional homicide rate" in html
    assert 'id="trend-data"' in html and "<path" in html
    # one path per level-2 area on the map
    assert html.count('href="/areas/D') == 2
    page = ind_client.get("/areas/M1").text
    assert "Area D1" in page and "Country" in page
    cat = ind_client.get("/api/v1/indicators").json()
    assert "homicide_rate" in {i["id"] for i in cat}


def test_public_pages_show_withheld_not_no_data(ind_client):
    # the public home page has no alerts section (the visitor cannot see alerts)
    home = ind_client.get("/").text
    assert 'id="alerts-h"' not in home
    # D1's municipalities in 2022: M1 (2) and its complement are withheld, drawn as such
    html = ind_client.get(
        "/indicators/homicide_rate",
        params={"area": "D1", "grain": "year", "start": "2022", "end": "2022"},
    ).text
    assert 'class="withheld"' in html and ">withheld<" in html
    es = ind_client.get(
        "/indicators/homicide_rate",
        params={"area": "D1", "grain": "year", "start": "2022", "end": "2022", "lang": "es"},
    ).text
    assert ">reservado<" in es
    assert login(ind_client, "ana").status_code == 303
    assert 'id="alerts-h"' in ind_client.get("/").text
