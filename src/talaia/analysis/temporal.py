"""Time patterns: aoristic day-of-week × hour heat map, STL decomposition, Poisson anomalies.

- Aoristic weighting (Ratcliffe & McCullagh 1998; Ratcliffe 2000, "Aoristic analysis: the spatial
  interpretation of unspecific temporal events", *IJGIS* 14, 669–679): an incident known only to
  have happened between ``from`` and ``to`` contributes to each hour-of-week slot the share of
  ``[from, to)`` that falls in that slot, so that each incident weighs 1 in total. An incident
  with an exact time weighs 1 in its slot. Ranges longer than a week spread over every slot.
- STL (Cleveland et al. 1990, *J. Official Statistics* 6, 3–73), statsmodels' implementation,
  robust fitting.
- Anomalies: each count is compared with its expected value ``μ`` (by default trend + seasonal
  of the STL fit, floored at 0) under a Poisson model; control limits are the ``α/2`` and
  ``1 − α/2`` Poisson quantiles, p-values ``P(X >= x)`` (high) or ``P(X <= x)`` (low).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONDAY = np.datetime64("1970-01-05T00:00:00", "s")
_WEEK = 168.0


@dataclass(frozen=True, eq=False)
class WeekHeatmap:
    """Incidents by day of week (rows, Monday first) × hour of day (columns).

    Attributes
    ----------
    weights
        7 × 24 aoristic weights (sum = number of incidents).
    n_incidents, n_exact, n_range
        Incidents, those with an exact time and those known only as a range.
    """

    weights: np.ndarray
    n_incidents: int
    n_exact: int
    n_range: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "aoristic_week_heatmap",
            "days_en": list(DAYS_EN),
            "days_es": list(DAYS_ES),
            "hours": list(range(24)),
            "weights": self.weights.tolist(),
            "n_incidents": self.n_incidents,
            "n_exact": self.n_exact,
            "n_range": self.n_range,
        }


def _hours(ts: np.ndarray) -> np.ndarray:
    return (np.asarray(ts, dtype="datetime64[s]") - _MONDAY).astype(np.float64) / 3600.0


def _cum_slot(h: np.ndarray) -> np.ndarray:
    """Time (hours) spent in each hour-of-week slot between the epoch and ``h`` (n × 168)."""
    weeks = np.floor(h / _WEEK)
    rem = h - weeks * _WEEK
    s = np.arange(168.0)
    return weeks[:, None] + np.clip(rem[:, None] - s[None, :], 0.0, 1.0)


def week_heatmap(
    occurred_from: np.ndarray, occurred_to: np.ndarray | None = None, chunk: int = 65536
) -> WeekHeatmap:
    """Aoristic day-of-week × hour heat map.

    Parameters
    ----------
    occurred_from
        Start (or exact time) of each incident, ``datetime64``.
    occurred_to
        End of the range (exclusive), ``NaT`` for exact times; None = all exact.
    """
    a = _hours(occurred_from)
    if occurred_to is None:
        b = a.copy()
    else:
        to = np.asarray(occurred_to, dtype="datetime64[s]")
        b = np.where(np.isnat(to), a, _hours(np.where(np.isnat(to), occurred_from, to)))
    if np.isnan(a).any():
        raise ValueError("occurred_from must be set for every incident")
    exact = b <= a
    w = np.zeros(168)
    slots = (np.floor(a[exact]) % 168).astype(np.int64)
    w += np.bincount(slots, minlength=168)
    ra, rb = a[~exact], b[~exact]
    for s in range(0, ra.size, chunk):
        fa = _cum_slot(ra[s : s + chunk])
        fb = _cum_slot(rb[s : s + chunk])
        w += ((fb - fa) / (rb[s : s + chunk] - ra[s : s + chunk])[:, None]).sum(axis=0)
    w = w.reshape(7, 24)
    w.setflags(write=False)
    return WeekHeatmap(w, int(a.size), int(exact.sum()), int((~exact).sum()))


@dataclass(frozen=True, eq=False)
class TimeSeriesAnalysis:
    """STL decomposition and Poisson anomalies of a count series.

    Attributes
    ----------
    labels
        Period labels (e.g. ``"2023-01"``).
    observed, trend, seasonal, resid, expected
        Series (NaN where the decomposition was not computed; ``expected`` = max(trend +
        seasonal, 0)).
    lower, upper
        Poisson control limits at level ``alpha``.
    p_value
        ``P(X >= x)`` above the expectation, ``P(X <= x)`` below.
    flag
        ``"high"``, ``"low"`` or ``""`` per period.
    period, alpha
        Seasonal period and level.
    """

    labels: tuple[str, ...]
    observed: np.ndarray
    trend: np.ndarray
    seasonal: np.ndarray
    resid: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p_value: np.ndarray
    flag: tuple[str, ...]
    period: int
    alpha: float

    def to_rows(self) -> list[dict[str, Any]]:
        def f(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return [
            {
                "period": self.labels[i],
                "observed": f(self.observed[i]),
                "trend": f(self.trend[i]),
                "seasonal": f(self.seasonal[i]),
                "resid": f(self.resid[i]),
                "expected": f(self.expected[i]),
                "lower": f(self.lower[i]),
                "upper": f(self.upper[i]),
                "p_value": f(self.p_value[i]),
                "flag": self.flag[i],
            }
            for i in range(len(self.labels))
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "stl_poisson",
            "period": self.period,
            "alpha": self.alpha,
            "series": self.to_rows(),
        }


def poisson_limits(
    observed: np.ndarray, expected: np.ndarray, alpha: float = 0.01
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Poisson control limits, p-values and flags (+1 high, -1 low, 0 none).

    Returns ``(lower, upper, p_value, flag)``; NaN where ``expected`` is NaN.
    """
    x = np.asarray(observed, float)
    mu = np.asarray(expected, float)
    ok = np.isfinite(mu) & np.isfinite(x)
    m = np.where(ok, np.maximum(mu, 1e-12), 1.0)
    lower = np.where(ok, stats.poisson.ppf(alpha / 2, m), np.nan)
    upper = np.where(ok, stats.poisson.ppf(1 - alpha / 2, m), np.nan)
    xi = np.where(ok, x, 0.0)
    p_hi = stats.poisson.sf(xi - 1, m)
    p_lo = stats.poisson.cdf(xi, m)
    p = np.where(ok, np.where(xi >= m, p_hi, p_lo), np.nan)
    flag = np.where(ok & (x > upper), 1, np.where(ok & (x < lower), -1, 0))
    return lower, upper, p, flag


def analyse_series(
    counts: np.ndarray,
    labels: Sequence[str],
    period: int = 12,
    alpha: float = 0.01,
    expected: np.ndarray | None = None,
) -> TimeSeriesAnalysis:
    """STL trend/seasonality and Poisson anomalies of a count series.

    ``counts`` may hold NaN for periods with no data (never 0): the decomposition uses the longest
    run without gaps, and periods outside it get no expectation. Needs at least two full periods
    in that run unless ``expected`` is given.
    """
    x = np.asarray(counts, dtype=np.float64)
    n = x.size
    if len(labels) != n:
        raise ValueError("labels and counts differ in length")
    trend = np.full(n, np.nan)
    seasonal = np.full(n, np.nan)
    resid = np.full(n, np.nan)
    if expected is None:
        ok = np.isfinite(x)
        best, start, run_start = (0, 0), 0, None
        for i in range(n + 1):  # loop over periods (metadata-sized), not records
            if i < n and ok[i]:
                if run_start is None:
                    run_start = i
            elif run_start is not None:
                if i - run_start > best[1] - best[0]:
                    best = (run_start, i)
                run_start = None
        start, stop = best
        if stop - start < 2 * period:
            raise ValueError(
                f"STL needs at least {2 * period} consecutive periods with data; "
                f"the longest run has {stop - start}"
            )
        from statsmodels.tsa.seasonal import STL

        fit = STL(x[start:stop], period=period, robust=True).fit()
        trend[start:stop] = fit.trend
        seasonal[start:stop] = fit.seasonal
        resid[start:stop] = fit.resid
        exp = np.maximum(trend + seasonal, 0.0)
    else:
        exp = np.asarray(expected, float)
    lower, upper, p, flag = poisson_limits(x, exp, alpha)
    names = {1: "high", -1: "low", 0: ""}
    return TimeSeriesAnalysis(
        labels=tuple(labels),
        observed=x,
        trend=trend,
        seasonal=seasonal,
        resid=resid,
        expected=exp,
        lower=lower,
        upper=upper,
        p_value=p,
        flag=tuple(names[int(v)] for v in flag),
        period=int(period),
        alpha=float(alpha),
    )
