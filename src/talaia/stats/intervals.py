"""Confidence intervals for counts, rates and proportions.

All functions are vectorized over NumPy arrays (scalars work too) and return frozen result
objects whose fields are arrays of the broadcast shape.

References
----------
Garwood, F. (1936). Fiducial limits for the Poisson distribution. *Biometrika* 28, 437-442.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*JASA* 22, 209-212.
Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. *Statistics in Medicine* 17, 857-872.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

#: Rates are expressed per this many persons (per 100,000 population).
PER_100K = 100_000.0


@dataclass(frozen=True, slots=True)
class CountInterval:
    """Exact Poisson interval of an observed count.

    Attributes
    ----------
    count, low, high
        Observed count and the interval for its expectation.
    level
        Confidence level (e.g. 0.95).
    """

    count: FloatArray
    low: FloatArray
    high: FloatArray
    level: float


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """A rate per ``per`` person-years with its exact Poisson interval.

    Attributes
    ----------
    count
        Observed events.
    exposure
        Person-years at risk (population x fraction of a year).
    rate, low, high
        Rate per ``per`` person-years and its interval; NaN where exposure is not positive.
    per, level
        Scale (100,000) and confidence level.
    """

    count: FloatArray
    exposure: FloatArray
    rate: FloatArray
    low: FloatArray
    high: FloatArray
    per: float
    level: float


@dataclass(frozen=True, slots=True)
class ProportionEstimate:
    """A proportion with its Wilson score interval.

    Attributes
    ----------
    successes, trials
        Numerator and denominator counts.
    proportion, low, high
        Point estimate and interval on the 0-1 scale; NaN where ``trials`` is 0.
    level
        Confidence level.
    """

    successes: FloatArray
    trials: FloatArray
    proportion: FloatArray
    low: FloatArray
    high: FloatArray
    level: float


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def poisson_interval(count: ArrayLike, level: float = 0.95) -> CountInterval:
    """Exact (Garwood 1936) confidence interval for a Poisson count.

    Uses the chi-square form: ``low = chi2.ppf(a/2, 2k) / 2`` (0 when ``k = 0``) and
    ``high = chi2.ppf(1 - a/2, 2k + 2) / 2`` with ``a = 1 - level``.

    Parameters
    ----------
    count
        Observed counts (non-negative); NaN (not known) gives NaN limits.
    level
        Confidence level.

    Returns
    -------
    CountInterval

    Examples
    --------
    >>> ci = poisson_interval([0, 1, 10])
    >>> ci.high.round(3).tolist()
    [3.689, 5.572, 18.39]
    """
    k = _f(count)
    if np.any(k < 0):
        raise ValueError("counts must be non-negative")
    a = 1.0 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, stats.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
        low = np.where(np.isnan(k), np.nan, low)  # a missing count stays missing
        high = stats.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return CountInterval(k, _f(low), _f(high), level)


def rate(
    count: ArrayLike,
    population: ArrayLike,
    year_fraction: ArrayLike = 1.0,
    per: float = PER_100K,
    level: float = 0.95,
) -> RateEstimate:
    """Rate per ``per`` person-years with the exact Poisson (Garwood) interval.

    The exposure is ``population * year_fraction``: a count over a month with
    ``year_fraction = 31/365`` gives an *annualized* rate, comparable with yearly rates.
    Pass ``year_fraction = 1`` for a rate over the period itself.

    Parameters
    ----------
    count
        Events in the period.
    population
        Population at risk (mid-period); 0 or NaN gives a NaN rate.
    year_fraction
        Fraction of a year the period covers (see :func:`annualize`).
    per
        Scale, 100,000 by default.
    level
        Confidence level.
    """
    ci = poisson_interval(count, level)
    exposure = _f(population) * _f(year_fraction)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = np.isfinite(exposure) & (exposure > 0)
        scale = np.where(ok, per / np.where(ok, exposure, 1.0), np.nan)
    return RateEstimate(
        ci.count, _f(exposure), ci.count * scale, ci.low * scale, ci.high * scale, per, level
    )


def annualize(value: ArrayLike, year_fraction: ArrayLike) -> FloatArray:
    """Annualize a rate observed over part of a year: ``value / year_fraction``.

    A rate of 2 per 100,000 over one quarter (``year_fraction = 0.25``) annualizes to 8 per
    100,000 per year. This assumes the events are spread evenly over the year (no seasonality
    correction).
    """
    frac = _f(year_fraction)
    if np.any(frac <= 0):
        raise ValueError("year_fraction must be positive")
    return _f(value) / frac


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, level: float = 0.95
) -> ProportionEstimate:
    """Wilson (1927) score interval for a binomial proportion, without continuity correction.

    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``; this is method 3 of
    Newcombe (1998), e.g. 81/263 gives 0.2553-0.3662.

    Parameters
    ----------
    successes, trials
        Counts; ``successes <= trials``. Where ``trials == 0`` everything is NaN.
    level
        Confidence level.
    """
    x = _f(successes)
    n = _f(trials)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("need 0 <= successes <= trials")
    z = stats.norm.ppf(1 - (1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    empty = n <= 0
    # exact bounds at the edges (the formula gives them up to rounding)
    low = np.where(x == 0, 0.0, low)
    high = np.where(x == n, 1.0, high)
    p, low, high = (np.where(empty, np.nan, v) for v in (p, low, high))
    return ProportionEstimate(x, n, _f(p), _f(low), _f(high), level)
