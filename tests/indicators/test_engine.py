"""Indicator values on the hand-made warehouse of ``warehouse_fixture`` against hand-computed
figures (see that module for the data)."""

from datetime import date

import pytest
from numpy.testing import assert_allclose
from scipy.stats import binomtest
from tests.indicators import warehouse_fixture

from talaia.errors import NotFoundError, UserInputError
from talaia.indicators import compute, provenance

# Garwood 95% limits for 5 events (Ulm 1990)
G5 = (1.6235, 11.6683)


def rows(table, key="area_code"):
    return {r[key]: r for r in table.to_pylist()}


def test_homicide_rate_by_municipality(wh):
    t = rows(compute("homicide_rate", period="2023", level=3, warehouse=wh))
    m1 = t["M1"]
    assert m1["numerator"] == 5 and m1["denominator"] == 100_000
    assert_allclose(m1["value"], 5.0)
    assert_allclose([m1["ci_low"], m1["ci_high"]], G5, atol=1e-4)
    # March 2023 was never delivered by the police: 11 of 12 source-months
    assert m1["coverage"] == "partial"
    assert_allclose(m1["completeness"], 100 * 11 / 12)
    assert_allclose(t["M2"]["value"], 1 / 50_000 * 1e5)
    assert_allclose(t["M3"]["value"], 19 / 200_000 * 1e5)
    assert set(m1["batch_ids"]) == {
        warehouse_fixture._BATCH[("PN", date(2023, m, 1))] for m in range(1, 13) if m != 3
    }
    assert m1["crosswalk_versions"] == [1]


def test_roll_up_national_and_regions(wh):
    nat = compute("homicide_rate", period="2023", warehouse=wh).to_pylist()
    assert len(nat) == 1 and nat[0]["area_code"] == "national"
    assert nat[0]["numerator"] == 25
    assert_allclose(nat[0]["value"], 25 / 350_000 * 1e5)
    reg = rows(compute("homicide_rate", period="2023", level=1, warehouse=wh))
    assert_allclose(reg["R1"]["value"], 6 / 150_000 * 1e5)
    assert_allclose(reg["R2"]["value"], 19 / 200_000 * 1e5)
    inside = rows(compute("homicide_rate", area="R1", period="2023", level=3, warehouse=wh))
    assert set(inside) == {"M1", "M2"}
    one = compute("homicide_rate", area="D1", period="2023", warehouse=wh).to_pylist()
    assert one[0]["area_code"] == "D1" and one[0]["numerator"] == 6


def test_missing_month_is_no_data_not_zero(wh):
    t = rows(compute("homicide_rate", period="2023-03", level=3, warehouse=wh))
    for r in t.values():
        assert r["coverage"] == "no_data"
        assert r["numerator"] is None and r["value"] is None and r["ci_low"] is None
    # a delivered month without homicides is a true zero
    z = rows(compute("homicide_count", period="2023-02", level=3, warehouse=wh))["M2"]
    assert z["coverage"] == "ok" and z["numerator"] == 0 and z["value"] == 0


def test_removing_a_source_month_gives_partial_not_a_fall(tmp_path, wh):
    dropped = warehouse_fixture.build(tmp_path / "w.duckdb", drop={("PN", date(2023, 5, 1))})
    before = rows(compute("homicide_rate", area="M1", period="2023-05", warehouse=wh))["M1"]
    after = rows(compute("homicide_rate", area="M1", period="2023-05", warehouse=dropped))["M1"]
    assert before["numerator"] == 1 and before["coverage"] == "ok"
    assert after["coverage"] == "no_data" and after["value"] is None
    year = rows(compute("homicide_rate", area="M1", period="2023", warehouse=dropped))["M1"]
    assert year["coverage"] == "partial"
    assert_allclose(year["completeness"], 100 * 10 / 12)


def test_annualized_month_quarter_week_and_rolling(wh):
    t = rows(
        compute(
            "homicide_rate", area="M1", period=["2023-01", "2023-Q1", "R12:2023-05"], warehouse=wh
        ),
        key="period",
    )
    assert_allclose(t["2023-01"]["value"], 1 / (100_000 * 31 / 365) * 1e5)  # = 365/31
    q1 = t["2023-Q1"]
    assert q1["numerator"] == 2 and q1["coverage"] == "partial"
    assert_allclose(q1["completeness"], 100 * 2 / 3)
    assert_allclose(q1["value"], 2 / (100_000 * 90 / 365) * 1e5)
    r12 = t["R12:2023-05"]  # 2022-06 .. 2023-05: 2 in 2022 + 3 in 2023
    assert r12["numerator"] == 5 and r12["coverage"] == "partial"
    assert_allclose(r12["value"], 5.0)
    plain = compute("homicide_rate", area="M1", period="2023-01", warehouse=wh, annualize=False)
    assert_allclose(plain.column("value")[0].as_py(), 1.0)
    # ISO week 2023-W05 (30 Jan - 5 Feb) holds the femicide of 5 February
    w = rows(
        compute("homicide_rate", area="M1", period="2023-W05", by="sex", warehouse=wh), key="sex"
    )
    assert w["female"]["numerator"] == 1 and w["male"]["numerator"] == 0
    assert_allclose(w["female"]["value"], 1 / (50_000 * 7 / 365) * 1e5)
    assert w["female"]["expected_source_months"] == 2


def test_breakdowns_use_matching_population(wh):
    t = rows(compute("homicide_rate", area="M1", period="2023", by="sex", warehouse=wh), "sex")
    assert_allclose(t["female"]["value"], 3 / 50_000 * 1e5)
    assert_allclose(t["male"]["value"], 2 / 50_000 * 1e5)
    w = rows(
        compute("homicide_rate", area="M1", period="2023", by="weapon", warehouse=wh), "weapon"
    )
    assert w["firearm"]["numerator"] == 3 and w["firearm"]["denominator"] == 100_000
    assert w["unknown_means"]["numerator"] == 0
    ag = rows(
        compute("homicide_rate", area="M1", period="2023", by="age_group", warehouse=wh),
        "age_group",
    )
    assert ag["20-24"]["numerator"] == 3 and ag["20-24"]["denominator"] == 50_000
    assert ag["80+"]["numerator"] == 0 and ag["80+"]["value"] is None  # no population


def test_femicide_and_female_homicide(wh):
    fem = compute("femicide_rate", area="M1", period="2023", warehouse=wh).to_pylist()[0]
    assert fem["numerator"] == 2 and fem["denominator"] == 50_000
    assert_allclose(fem["value"], 4.0)
    allw = compute("female_homicide_rate", area="M1", period="2023", warehouse=wh).to_pylist()[0]
    assert allw["numerator"] == 3
    assert_allclose(allw["value"], 6.0)


def test_shares_have_wilson_intervals(wh):
    from talaia.stats import wilson_interval

    fs = compute("firearm_homicide_share", area="M1", period="2023", warehouse=wh).to_pylist()[0]
    w = wilson_interval(3, 5)
    assert_allclose([fs["value"], fs["ci_low"], fs["ci_high"]], [60.0, 100 * w.low, 100 * w.high])
    cy = compute("cyber_related_share", period="2023", warehouse=wh).to_pylist()[0]
    assert cy["numerator"] == 2 and cy["denominator"] == 4  # unknown flag left out
    un = compute("unsentenced_detainee_share", period="2023", warehouse=wh).to_pylist()[0]
    assert un["numerator"] == 3 and un["denominator"] == 4
    assert_allclose(un["value"], 75.0)


def test_offence_filters_exclusions_and_sources(wh):
    mvt = compute("motor_vehicle_theft_rate", area="M1", period="2023", warehouse=wh)
    assert mvt.column("numerator")[0].as_py() == 1  # 050213 (parts) excluded
    rob = compute("robbery_rate", area="M1", period="2023", warehouse=wh)
    assert rob.column("numerator")[0].as_py() == 4  # 0401 at levels 3 and 4
    forensic = compute(
        "homicide_rate", area="M1", period="2023", source_kind="forensic", warehouse=wh
    ).to_pylist()[0]
    assert forensic["numerator"] == 6 and forensic["coverage"] == "ok"


def test_change_year_earlier_uses_conditional_binomial(wh):
    t = compute("homicide_rate", area="M3", period="2023", compare="year_earlier", warehouse=wh)
    r = t.to_pylist()[0]
    assert r["ref_period"] == "2022" and r["ref_numerator"] == 24
    assert_allclose(r["p_value"], binomtest(19, 43, 0.5).pvalue)
    assert_allclose(r["change_pct"], 100 * (9.5 - 12.0) / 12.0)
    prev = compute(
        "homicide_count", area="M1", period="2023-02", compare="previous", warehouse=wh
    ).to_pylist()[0]
    assert prev["ref_period"] == "2023-01" and prev["ref_numerator"] == 1


def test_empirical_bayes_smoothing_is_flagged(wh):
    # M1 (5/100k py) and M2 (1/50k py) share parent D1: s2 = 2e-10 < b/nbar, so both shrink
    # to b = 6/150000 (4 per 100k); M3 is alone under D2 and keeps its rate.
    t = rows(compute("homicide_rate", period="2023", level=3, smooth=True, warehouse=wh))
    assert all(r["smoothed"] for r in t.values())
    assert_allclose([t["M1"]["value"], t["M2"]["value"], t["M3"]["value"]], [4.0, 4.0, 9.5])
    assert_allclose(t["M1"]["raw_value"], 5.0)


def test_provenance_and_errors(wh):
    t = compute("homicide_rate", period="2023", warehouse=wh)
    prov = provenance(t)
    assert prov["indicator_id"] == "homicide_rate" and prov["indicator_version"] == 1
    assert (
        prov["crosswalk_versions"] == [1] and len(prov["batch_ids"]) == 11
    )  # PN, 2023, less March
    assert "fact_victim" in prov["sql"]
    with pytest.raises(UserInputError):
        compute("homicide_rate", period="2023", by="motive", warehouse=wh)
    with pytest.raises(UserInputError):
        compute("homicide_rate", period="2023-13", warehouse=wh)
    with pytest.raises(NotFoundError):
        compute("homicide_rate", area="XX", period="2023", warehouse=wh)
    with pytest.raises(NotFoundError):
        compute("no_such_indicator", period="2023", warehouse=wh)
