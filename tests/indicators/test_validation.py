from talaia.indicators.validation import (
    findings_table,
    forensic_vs_police,
    outliers,
    validate,
    victims_vs_incidents,
)


def test_forensic_vs_police_tolerance(wh):
    # M1 2023 by month: police and forensic each record 1 in Jan, Feb, May, Jul; police 1 in
    # Nov (forensic 0 in Nov, 1 in Sep): no month differs by more than 2 victims
    assert forensic_vs_police(wh, "2023") == ()
    # over the year (5 vs 6) with no minimum difference and a 10% tolerance: flagged? the
    # police year is partial (March missing), so the year is not compared at all
    assert forensic_vs_police(wh, "2023", tolerance=0.0, min_difference=0) != ()
    found = forensic_vs_police(wh, "2023-09", tolerance=0.0, min_difference=0)
    assert [(f.area_code, f.period, f.observed, f.expected) for f in found] == [
        ("M1", "2023-09", 0, 1)
    ]


def test_victims_vs_incidents(wh):
    found = victims_vs_incidents(wh, "2023-06")
    assert [
        (f.area_code, f.period, f.source_code, f.observed, f.expected, f.severity) for f in found
    ] == [("M3", "2023-06", "PN", 1, 2, "error")]


def test_outlier_in_own_history_and_missing_month_skipped(wh):
    found = outliers(wh, "2023")
    assert [(f.area_code, f.period, f.source_code, f.observed) for f in found] == [
        ("M3", "2023-08", "PN", 9)
    ]
    assert abs(found[0].expected - 16.5 / 11) < 1e-9  # (5*2 + 1 + 1 + 4*1 + 0.5) / 11 months
    assert found[0].p_value < 1e-4


def test_validate_lists_everything(wh):
    found = validate(wh, "2023")
    rules = {(f.rule, f.area_code, f.period) for f in found}
    assert ("outlier", "M3", "2023-08") in rules
    assert ("victims_vs_incidents", "M3", "2023-06") in rules
    t = findings_table(found)
    assert t.num_rows == len(found) and "message_es" in t.column_names
