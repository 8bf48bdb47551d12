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
