"""Time patterns: aoristic day-of-week × hour heat map, STL decomposition, Poisson anomalies.

- Aoristic weighting (Ratcliffe & McCullagh 1998; Ratcliffe 2000, "Aoristic analysis: the spatial
  interpretation of unspecific temporal events", *IJGIS* 14, 669–679): an incident known only to
  have happened between ``from`` and ``to`` contributes to each hour-of-week slot the share of
  ``[from, to)`` that falls in that slot, so that each incident weighs 1 in total. An incident
  with an exact time weighs 1 in its slot. Ranges longer than a week spread over every slot.
  An incident known only to the day (precision ``"day"``: a date, no time of day) is a range
  over its whole calendar day, ``[00:00, 24:00)``: it weighs 1/24 in each hour of that day,
  never 1 at 00:00 (whatever time of day its timestamp carries). A source whose timed incidents
  fall at exactly 00:00:00 more often than a uniform day puts in the whole first hour (1 in 24)
  writes midnight for "time not known" (:func:`midnight_placeholders`); those midnights are
  read as known only to the day.
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
        Incidents, those with an exact time and those known only as a range (the day-only
        ones included).
    n_day
        Incidents known only to the day (spread over the 24 hours of their day).
    """

    weights: np.ndarray
    n_incidents: int
    n_exact: int
    n_range: int
    n_day: int = 0

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
            "n_day": self.n_day,
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
    occurred_from: np.ndarray,
    occurred_to: np.ndarray | None = None,
    chunk: int = 65536,
    precision: np.ndarray | None = None,
) -> WeekHeatmap:
    """Aoristic day-of-week × hour heat map.

    Parameters
    ----------
    occurred_from
        Start (or exact time) of each incident, ``datetime64``.
    occurred_to
        End of the range (exclusive), ``NaT`` for exact times; None = all exact.
    precision
        ``"minute"``, ``"day"`` or ``"range"`` per incident (None: exact unless
        ``occurred_to`` is set). A ``"day"`` incident is spread over the 24 hours of the
        calendar day of ``occurred_from`` (weight 1/24 each), whatever ``occurred_to`` says.
    """
    frm = np.asarray(occurred_from, dtype="datetime64[s]")
    if np.isnat(frm).any():
        raise ValueError("occurred_from must be set for every incident")
    if occurred_to is None:
        to = np.full(frm.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    else:
        to = np.asarray(occurred_to, dtype="datetime64[s]").copy()
    day = np.zeros(frm.shape, dtype=bool)
    if precision is not None:
        day = np.asarray(precision, dtype=object) == "day"
        midnight = frm[day].astype("datetime64[D]").astype("datetime64[s]")
        frm = frm.copy()
        frm[day] = midnight
        to[day] = midnight + np.timedelta64(86400, "s")
    a = _hours(frm)
    b = np.where(np.isnat(to), a, _hours(np.where(np.isnat(to), frm, to)))
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
    return WeekHeatmap(w, int(a.size), int(exact.sum()), int((~exact).sum()), int(day.sum()))


#: Share of a source's timed incidents at exactly 00:00:00 above which its midnights mean
#: "time not known": a uniform day puts 1/24 of the incidents in the whole first hour.
MIDNIGHT_SHARE = 1 / 24


def midnight_placeholders(
    occurred_from: np.ndarray, precision: np.ndarray, source: np.ndarray
) -> np.ndarray:
    """Incidents whose ``"minute"`` time is a placeholder midnight (boolean mask).

    Some sources write 00:00 when the time of day is not known (a date-only register, or a
    time column lost on the way). Per source, when more than :data:`MIDNIGHT_SHARE` of its
    ``"minute"`` incidents fall at exactly 00:00:00, those midnight incidents are known only to
    the day; a source with a real spread of times keeps its midnights.
    """
    frm = np.asarray(occurred_from, dtype="datetime64[s]")
    timed = np.asarray(precision, dtype=object) == "minute"
    at_midnight = timed & (frm == frm.astype("datetime64[D]").astype("datetime64[s]"))
    src = np.asarray(source, dtype=object).astype(str)
    uniq, inv = np.unique(src, return_inverse=True)
    n_timed = np.bincount(inv, weights=timed, minlength=uniq.size)
    n_mid = np.bincount(inv, weights=at_midnight, minlength=uniq.size)
    share = np.divide(n_mid, n_timed, out=np.zeros(uniq.size), where=n_timed > 0)
    return at_midnight & (share[inv] > MIDNIGHT_SHARE)


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
