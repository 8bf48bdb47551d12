"""Comparing two Poisson counts with different exposures: the conditional binomial test.

Given ``k1`` events over exposure ``e1`` and ``k2`` over ``e2``, under the null hypothesis of
equal rates ``k1 | k1 + k2 ~ Binomial(k1 + k2, e1 / (e1 + e2))`` (Przyborowski & Wilenski 1940;
the "C-test" of Krishnamoorthy & Thomson 2004). The two-sided p-value sums the probabilities of
all outcomes no more likely than the one observed, as :func:`scipy.stats.binomtest` does, but
vectorized over arrays. The rate ratio gets an exact interval from the Clopper-Pearson interval
of the binomial proportion.

References
----------
Przyborowski, J. & Wilenski, H. (1940). Homogeneity of results in testing samples from Poisson
series. *Biometrika* 31, 313-323.
Krishnamoorthy, K. & Thomson, J. (2004). A more powerful test for comparing two Poisson means.
*J. Statistical Planning and Inference* 119, 23-35.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

_RERR = 1 + 1e-7  # relative tolerance used by scipy.stats.binomtest


@dataclass(frozen=True, slots=True)
class PoissonComparison:
    """Result of comparing two Poisson counts.

    Attributes
    ----------
    count1, exposure1, count2, exposure2
        The inputs (period of interest first, reference period second).
    rate_ratio
        ``(count1 / exposure1) / (count2 / exposure2)``; inf when ``count2 = 0 < count1``,
        NaN when both are 0.
    ratio_low, ratio_high
        Exact interval of the rate ratio (from Clopper-Pearson on the conditional binomial).
    p_value
        Two-sided p-value of the conditional binomial test (1 when both counts are 0).
    level
        Confidence level of the interval.
    """

    count1: FloatArray
    exposure1: FloatArray
    count2: FloatArray
    exposure2: FloatArray
    rate_ratio: FloatArray
    ratio_low: FloatArray
    ratio_high: FloatArray
    p_value: FloatArray
    level: float

    def significant(self, alpha: float = 0.05) -> NDArray[np.bool_]:
        """True where the change is larger than chance at level ``alpha``."""
        return np.asarray(self.p_value < alpha)


def _first_leq_decreasing(
    t: FloatArray, lo: FloatArray, hi: FloatArray, n: FloatArray, p: FloatArray
) -> FloatArray:
    """Smallest x in [lo, hi] with pmf(x) <= t where pmf is non-increasing; hi+1 if none."""
    lo = lo.copy()
    hi = hi + 1  # search in [lo, hi)
    for _ in range(64):
        active = lo < hi
        if not active.any():
            break
        mid = np.floor((lo + hi) / 2)
        ok = stats.binom.pmf(mid, n, p) <= t
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid + 1, lo)
    return lo


def _last_leq_increasing(
    t: FloatArray, lo: FloatArray, hi: FloatArray, n: FloatArray, p: FloatArray
) -> FloatArray:
    """Largest x in [lo, hi] with pmf(x) <= t where pmf is non-decreasing; lo-1 if none."""
    lo = lo - 1  # answer in [lo-1, hi]
    for _ in range(64):
        active = lo < hi
        if not active.any():
            break
        mid = np.ceil((lo + hi) / 2)
        ok = stats.binom.pmf(mid, n, p) <= t
        lo = np.where(active & ok, mid, lo)
        hi = np.where(active & ~ok, mid - 1, hi)
    return lo


def binomial_two_sided_p(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> FloatArray:
    """Exact two-sided binomial p-value (minimum-likelihood method), vectorized.

    Equals ``scipy.stats.binomtest(k, n, p).pvalue`` element by element.
    """
    k, n, p = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (k, n, p)))
    out = np.ones(k.shape, dtype=np.float64)
    m = n * p
    d = stats.binom.pmf(k, n, p) * _RERR
    below = k < m
    above = k > m
    if below.any():
        x = _first_leq_decreasing(d[below], np.ceil(m[below]), n[below], n[below], p[below])
        out[below] = stats.binom.cdf(k[below], n[below], p[below]) + stats.binom.sf(
            x - 1, n[below], p[below]
        )
    if above.any():
        x = _last_leq_increasing(
            d[above], np.zeros(above.sum()), np.floor(m[above]), n[above], p[above]
        )
        out[above] = stats.binom.cdf(x, n[above], p[above]) + stats.binom.sf(
            k[above] - 1, n[above], p[above]
        )
    return np.minimum(out, 1.0)


def compare_poisson(
    count1: ArrayLike,
    exposure1: ArrayLike,
    count2: ArrayLike,
    exposure2: ArrayLike,
    level: float = 0.95,
) -> PoissonComparison:
    """Conditional binomial test (C-test) of equal Poisson rates, with the exact rate ratio CI.

    Parameters
    ----------
    count1, exposure1
        Events and exposure (person-years, or population x period length) of the period of
        interest.
    count2, exposure2
        The same for the reference period (previous period, same period a year earlier).
    level
        Confidence level of the rate-ratio interval.

    Returns
    -------
    PoissonComparison
    """
    k1, e1, k2, e2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (count1, exposure1, count2, exposure2))
    )
    if np.any(e1 <= 0) or np.any(e2 <= 0):
        raise ValueError("exposures must be positive")
    n = k1 + k2
    p0 = e1 / (e1 + e2)
    pval = np.where(n > 0, binomial_two_sided_p(k1, n, p0), 1.0)
    a = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (k1 / e1) / (k2 / e2)
        ratio = np.where(n == 0, np.nan, ratio)
        plo = np.where(k1 > 0, stats.beta.ppf(a / 2, k1, k2 + 1), 0.0)
        phi = np.where(k2 > 0, stats.beta.ppf(1 - a / 2, k1 + 1, k2), 1.0)
        scale = e2 / e1
        low = np.where(n > 0, plo / (1 - plo) * scale, np.nan)
        high = np.where(n > 0, np.where(phi < 1, phi / (1 - phi) * scale, np.inf), np.nan)
    return PoissonComparison(k1, e1, k2, e2, ratio, low, high, pval, level)
