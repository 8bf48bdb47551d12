"""Aoristic heat map by hand, Poisson limits from the pmf, STL anomalies on a synthetic series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from talaia.analysis.temporal import analyse_series, poisson_limits, week_heatmap


def test_aoristic_weights_by_hand() -> None:
    nat = np.datetime64("NaT")
    frm = np.array(
        [
            "2024-01-01T00:30:00",  # Monday 00:30 .. 02:30 -> 0.25, 0.5, 0.25
            "2024-01-07T23:59:00",  # Sunday 23:59, exact
            "2024-01-03T10:00:00",  # two whole weeks -> 1/168 everywhere
            "2024-01-05T22:00:00",  # Friday 22:00 .. Saturday 00:00 -> 0.5, 0.5
        ],
        dtype="datetime64[s]",
    )
    to = np.array(
        ["2024-01-01T02:30:00", nat, "2024-01-17T10:00:00", "2024-01-06T00:00:00"],
        dtype="datetime64[s]",
    )
    hm = week_heatmap(frm, to)
    w = hm.weights
    assert w.sum() == pytest.approx(4.0)
    base = 1 / 168
    assert w[0, 0] == pytest.approx(0.25 + base)
    assert w[0, 1] == pytest.approx(0.5 + base)
    assert w[0, 2] == pytest.approx(0.25 + base)
    assert w[6, 23] == pytest.approx(1 + base)
    assert w[4, 22] == pytest.approx(0.5 + base)
    assert w[4, 23] == pytest.approx(0.5 + base)
    assert w[3, 12] == pytest.approx(base)
    assert (hm.n_exact, hm.n_range) == (1, 3)


def _pmf(k: int, mu: float) -> float:
    return math.exp(-mu) * mu**k / math.factorial(k)


def test_poisson_limits_against_the_pmf() -> None:
    mu = 10.0
    cdf = np.cumsum([_pmf(k, mu) for k in range(60)])
    lower_truth = int(np.argmax(cdf >= 0.005))
    upper_truth = int(np.argmax(cdf >= 0.995))
    lower, upper, p, flag = poisson_limits(np.array([1.0, 10.0, 25.0]), np.full(3, mu), 0.01)
    assert lower[0] == lower_truth and upper[0] == upper_truth
    assert p[2] == pytest.approx(1 - cdf[24])  # P(X >= 25)
    assert p[0] == pytest.approx(cdf[1])  # P(X <= 1)
    assert flag.tolist() == [-1, 0, 1]


def test_stl_finds_an_injected_spike_and_respects_missing_months() -> None:
    rng = np.random.default_rng(12)
    months = 72
    i = np.arange(months)
    mu = 40 + 0.2 * i + 10 * np.sin(2 * np.pi * i / 12)
    x = rng.poisson(mu).astype(float)
    x[50] = mu[50] + 8 * np.sqrt(mu[50])
    labels = [f"{2018 + k // 12}-{k % 12 + 1:02d}" for k in i]
    res = analyse_series(x, labels, period=12, alpha=0.001)
    assert res.flag[50] == "high"
    assert sum(f != "" for f in res.flag) <= 3
    assert res.to_dict()["series"][50]["flag"] == "high"
    # a month with no data is no data: not decomposed, not flagged, never 0
    x2 = x.copy()
    x2[3] = np.nan
    res2 = analyse_series(x2, labels, period=12, alpha=0.001)
    assert np.isnan(res2.expected[:4]).all() and res2.flag[3] == ""
    assert res2.to_rows()[3]["observed"] is None
    with pytest.raises(ValueError, match="consecutive"):
        analyse_series(x[:20], labels[:20], period=12)


def test_day_only_incidents_spread_over_their_calendar_day() -> None:
    """Ratcliffe (2000): an incident known only to the day weighs 1/24 in each hour of that
    day, whatever time its timestamp carries; exact times and ranges are unchanged."""
    frm = np.array(
        [
            "2024-01-01T00:00:00",  # Monday, day only -> 1/24 in each Monday hour
            "2024-01-03T10:00:00",  # Wednesday, day only (a 10:00 stamp) -> the whole Wednesday
            "2024-01-01T00:00:00",  # Monday 00:00 exact -> 1 at Monday 00h
            "2024-01-05T22:00:00",  # Friday 22:00 .. Saturday 00:00 -> 0.5, 0.5
        ],
        dtype="datetime64[s]",
    )
    nat = np.datetime64("NaT")
    to = np.array([nat, nat, nat, "2024-01-06T00:00:00"], dtype="datetime64[s]")
    prec = np.array(["day", "day", "minute", "range"], dtype=object)
    hm = week_heatmap(frm, to, precision=prec)
    want = np.zeros((7, 24))
    want[0, :] += 1 / 24
    want[2, :] += 1 / 24
    want[0, 0] += 1
    want[4, 22] += 0.5
    want[4, 23] += 0.5
    np.testing.assert_allclose(hm.weights, want, atol=1e-12)
    assert (hm.n_incidents, hm.n_exact, hm.n_range, hm.n_day) == (4, 1, 3, 2)
    assert hm.to_dict()["n_day"] == 2


def test_placeholder_midnights_of_a_source_are_day_only() -> None:
    """Source A writes 00:00 for every timed incident (no time of day), source B has real
    times, one of them at midnight: A's midnights are day-only, B's midnight stays exact."""
    frm = np.array(
        [
            "2024-01-02T00:00:00",  # A, Tuesday "00:00"
            "2024-01-04T00:00:00",  # A, Thursday "00:00"
            "2024-01-01T00:00:00",  # B, Monday 00:00 (a real midnight)
            *[f"2024-01-0{d}T{h:02d}:30:00" for d, h in ((1, 9), (2, 13), (3, 18), (5, 20))],
            *[f"2024-01-0{d}T{h:02d}:10:00" for d, h in ((6, 1), (7, 3), (3, 7))],
            *[f"2024-01-0{d}T{h:02d}:45:00" for d, h in ((1, 11), (2, 15), (4, 17))],
            *[f"2024-01-0{d}T{h:02d}:05:00" for d, h in ((5, 19), (6, 21), (7, 23))],
            *[f"2024-01-0{d}T{h:02d}:20:00" for d, h in ((1, 2), (2, 4), (3, 6), (4, 8))],
            *[f"2024-01-0{d}T{h:02d}:50:00" for d, h in ((5, 10), (6, 12), (7, 14), (1, 16))],
            *[f"2024-01-0{d}T{h:02d}:40:00" for d, h in ((2, 5), (3, 22))],
        ],
        dtype="datetime64[s]",
    )
    n_b = frm.size - 2
    assert n_b == 24  # one midnight in 24 timed incidents: 1/24, not above the share
    src = np.array(["A", "A"] + ["B"] * n_b, dtype=object)
    prec = np.full(frm.size, "minute", dtype=object)
    from talaia.analysis.temporal import midnight_placeholders

    mask = midnight_placeholders(frm, prec, src)
    assert mask.tolist() == [True, True] + [False] * n_b
    prec[mask] = "day"
    hm = week_heatmap(frm, None, precision=prec)
    w = hm.weights
    assert w[1, 0] == pytest.approx(1 / 24) and w[3, 0] == pytest.approx(1 / 24)
    assert w[1, 12] == pytest.approx(1 / 24)  # Tuesday noon: A's Tuesday spread
    assert w[0, 0] == pytest.approx(1.0)  # B's real Monday midnight
    assert w.sum() == pytest.approx(frm.size)
    assert (hm.n_exact, hm.n_day) == (n_b, 2)
