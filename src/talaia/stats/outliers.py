"""Outliers of monthly counts against what an area's own history predicts.

For each series (area x source), the expected count of a month is the mean of the previous
``window`` months that were delivered (missing months, NaN, are skipped, never read as 0), with
half an event added to the window's total (Jeffreys' prior) so that a series of zeros does not
make a single event infinitely improbable. The
observed count is then tested against a Poisson distribution with that mean: the upper tail
``P(X >= k)`` flags surges, the lower tail ``P(X <= k)`` drops. A robust z-score
``(k - median) / (1.4826 * MAD)`` over the same window is reported alongside.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OutlierTest:
    """Outlier test of a matrix of monthly counts (series x months).

    Attributes
    ----------
    observed
        The counts (NaN = not delivered).
    expected
        ``(sum + 0.5) / n`` over the ``n`` delivered months of the previous ``window`` (NaN when
        ``n < min_history``).
    p_high, p_low
        Poisson tail probabilities ``P(X >= k)`` and ``P(X <= k)``.
    robust_z
        ``(k - median) / (1.4826 MAD)`` over the same window (NaN when MAD is 0).
    flagged
        ``min(p_high, p_low) < alpha`` where an expectation exists.
    """

    observed: FloatArray
    expected: FloatArray
    p_high: FloatArray
    p_low: FloatArray
    robust_z: FloatArray
    flagged: NDArray[np.bool_]


def history_outliers(
    counts: ArrayLike, window: int = 12, min_history: int = 6, alpha: float = 0.001
) -> OutlierTest:
    """Test each month of each series against the series' own previous months.

    Parameters
    ----------
    counts
        2-D array, one row per series, one column per consecutive month; NaN where the month
        was not delivered.
    window
        Number of previous months forming the expectation.
    min_history
        Fewest delivered months needed to test a month.
    alpha
        Two-sided significance level of the flag (Bonferroni-minded default 0.001, since many
        series and months are tested).
    """
    x = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    rows, cols = x.shape
    # windows of the previous `window` months: pad on the left with NaN
    pad = np.concatenate([np.full((rows, window), np.nan), x], axis=1)
    win = np.lib.stride_tricks.sliding_window_view(pad, window, axis=1)[:, :cols, :]
    have = np.sum(~np.isnan(win), axis=2)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        mean = (np.nansum(win, axis=2) + 0.5) / have
        med = np.nanmedian(win, axis=2)
        mad = np.nanmedian(np.abs(win - med[..., None]), axis=2)
    expected = np.where(have >= min_history, mean, np.nan)
    ok = ~np.isnan(expected) & ~np.isnan(x)
    p_high = np.full(x.shape, np.nan)
    p_low = np.full(x.shape, np.nan)
    p_high[ok] = stats.poisson.sf(x[ok] - 1, expected[ok])
    p_low[ok] = stats.poisson.cdf(x[ok], expected[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        rz = np.where(ok & (mad > 0), (x - med) / (1.4826 * mad), np.nan)
    flagged = ok & (np.fmin(p_high, p_low) < alpha / 2)
    return OutlierTest(x, expected, p_high, p_low, rz, flagged)
