"""Empirical-Bayes smoothing of small-area rates (Marshall 1991).

Raw rates of small areas jump around because their counts are small. Marshall's method-of-
moments empirical-Bayes estimator shrinks each raw rate ``r_i = y_i / n_i`` towards a prior mean
``b`` by a factor that grows with the area's exposure:

``b = sum(y) / sum(n)``, ``s2 = sum(n_i (r_i - b)^2) / sum(n)``, ``a = max(s2 - b / nbar, 0)``
(``nbar`` the mean exposure), ``C_i = a / (a + b / n_i)``, ``smoothed_i = b + C_i (r_i - b)``.

*Global* smoothing uses every area (or every area of the same group, e.g. the municipalities
of one region); *local* smoothing computes ``b``, ``s2`` and ``nbar`` over each area's
neighbourhood (itself plus its neighbours).

References
----------
Marshall, R. J. (1991). Mapping disease and mortality rates using empirical Bayes estimators.
*Applied Statistics* 40(2), 283-294.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SmoothedRates:
    """Raw and empirical-Bayes smoothed rates (events per unit of exposure).

    Attributes
    ----------
    raw
        ``count / exposure`` (NaN where exposure is 0).
    smoothed
        Empirical-Bayes estimate.
    prior_mean, prior_variance
        ``b`` and ``a`` of Marshall's estimator for each area's reference set.
    shrinkage
        ``C_i`` in [0, 1]: 1 keeps the raw rate, 0 replaces it by the prior mean.
    """

    raw: FloatArray
    smoothed: FloatArray
    prior_mean: FloatArray
    prior_variance: FloatArray
    shrinkage: FloatArray


def _finish(
    y: FloatArray, n: FloatArray, b: FloatArray, s2: FloatArray, nbar: FloatArray
) -> SmoothedRates:
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(n > 0, y / n, np.nan)
        a = np.maximum(s2 - b / nbar, 0.0)
        c = np.where(n > 0, a / (a + b / n), 0.0)
        c = np.where(np.isfinite(c), c, 0.0)
        smoothed = np.where(n > 0, b + c * (raw - b), b)
    return SmoothedRates(raw, smoothed, b, a, c)


def eb_global(
    count: ArrayLike, exposure: ArrayLike, groups: ArrayLike | None = None
) -> SmoothedRates:
    """Marshall's global empirical-Bayes rates.

    Parameters
    ----------
    count
        Events per area.
    exposure
        Population (or person-years) per area; areas with 0 exposure get the prior mean.
    groups
        Optional group label per area: each group is smoothed separately (towards its own
        mean), e.g. municipalities towards the mean of their region.
    """
    y = np.asarray(count, dtype=np.float64)
    n = np.asarray(exposure, dtype=np.float64)
    if groups is None:
        inv = np.zeros(y.shape[0], dtype=np.int64)
    else:
        _, inv = np.unique(np.asarray(groups), return_inverse=True)
    sy = np.bincount(inv, y)
    sn = np.bincount(inv, n)
    cnt = np.bincount(inv)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (sy / sn)[inv]
        raw = np.where(n > 0, y / n, 0.0)
        s2 = (np.bincount(inv, n * (raw - b) ** 2) / sn)[inv]
        nbar = (sn / cnt)[inv]
    return _finish(y, n, b, s2, nbar)


def eb_local(count: ArrayLike, exposure: ArrayLike, neighbours: ArrayLike) -> SmoothedRates:
    """Marshall's local empirical-Bayes rates.

    Parameters
    ----------
    count, exposure
        Events and exposure per area.
    neighbours
        Square 0/1 matrix (dense or ``scipy.sparse``): ``neighbours[i, j] = 1`` when ``j`` is a
        neighbour of ``i``. The area itself is always included.
    """
    y = np.asarray(count, dtype=np.float64)
    n = np.asarray(exposure, dtype=np.float64)
    w = sparse.csr_matrix(neighbours, dtype=np.float64)
    w = ((w + sparse.identity(y.shape[0], format="csr")) > 0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        sn = w @ n
        b = (w @ y) / sn
        raw = np.where(n > 0, y / n, 0.0)
        # sum_j w_ij n_j (r_j - b_i)^2 expanded so that it stays a matrix product
        s2 = (w @ (n * raw**2) - 2 * b * (w @ (n * raw)) + b**2 * sn) / sn
        nbar = sn / np.asarray(w.sum(axis=1)).ravel()
    return _finish(y, n, b, np.maximum(s2, 0.0), nbar)
