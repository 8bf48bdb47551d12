from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talaia.periods import Period, parse_period, period_range

years = st.integers(1900, 2100)


@st.composite
def periods(draw):
    kind = draw(st.sampled_from(["year", "quarter", "month", "rolling12", "week"]))
    y = draw(years)
    if kind == "year":
        return Period("year", y)
    if kind == "quarter":
        return Period("quarter", y, draw(st.integers(1, 4)))
    if kind in ("month", "rolling12"):
        return Period(kind, y, draw(st.integers(1, 12)))
    weeks = date(y, 12, 28).isocalendar()[1]
    return Period("week", y, draw(st.integers(1, weeks)))


@given(periods())
def test_text_round_trip(p):
    assert parse_period(str(p)) == p


@given(periods())
def test_previous_is_adjacent_and_shift_inverts(p):
    prev = p.previous()
    assert prev.shift(1) == p
    if p.kind in ("month", "quarter", "year", "week"):
        assert prev.end == p.start  # contiguous, non-overlapping
    assert p.year_earlier().year == p.year - 1


@given(periods())
def test_months_and_fraction_consistent(p):
    months = p.months()
    assert len(months) == {"year": 12, "rolling12": 12, "quarter": 3, "month": 1}.get(
        p.kind, len(months)
    )
    assert p.start <= date(*months[0], 1) or p.kind == "week"
    assert 0 < p.year_fraction() <= 1.0
    if p.kind == "week":
        assert 1 <= len(months) <= 2
        assert abs(p.year_fraction() - 7 / 365.25) < 0.0005


@given(st.text(max_size=12))
def test_parser_rejects_garbage_cleanly(text):
    try:
        p = parse_period(text)
    except ValueError as exc:
        assert repr(text.strip())[:5] in str(exc) or "invalid period" in str(exc)
    else:
        assert str(p) == text.strip()


def test_examples():
    assert parse_period("2023-Q2").months() == ((2023, 4), (2023, 5), (2023, 6))
    r = parse_period("R12:2023-05")
    assert r.months()[0] == (2022, 6) and r.months()[-1] == (2023, 5)
    assert r.previous() == parse_period("R12:2023-04")
    w = parse_period("2023-W07")
    assert w.start == date(2023, 2, 13) and w.end == date(2023, 2, 20)
    assert parse_period("2020-W53").year_earlier() == parse_period("2019-W52")
    assert parse_period("2023-01").previous() == parse_period("2022-12")
    assert parse_period("2023-Q1").previous() == parse_period("2022-Q4")
    assert parse_period("2023-05").year_fraction() == pytest.approx(31 / 365)
    assert parse_period("2024-02").year_fraction() == pytest.approx(29 / 366)
    assert parse_period("2024-Q1").year_fraction() == pytest.approx(91 / 366)
    assert len(period_range("2014-01", "2023-12")) == 120
    # a week across the new year splits its days between both years
    assert parse_period("2021-W52").months() == ((2021, 12), (2022, 1))


@pytest.mark.parametrize("bad", ["2023-13", "2023-Q5", "2023-W54", "R12:2023", "23", "2023-5"])
def test_invalid(bad):
    with pytest.raises(ValueError, match="invalid period"):
        parse_period(bad)
