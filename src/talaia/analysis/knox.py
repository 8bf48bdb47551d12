"""Near-repeat analysis: the Knox test with Monte Carlo permutation of dates.

The Knox (1964) test counts pairs of events that are close both in space and in time; the
near-repeat variant used in crime science (Townsley, Homel & Chaseling 2003; Johnson et al.
2007) tabulates pairs by spatial band × temporal band and compares each cell with the counts
obtained after randomly permuting the dates over the locations, as the Near Repeat Calculator
does (Ratcliffe 2009, *Near Repeat Calculator* v1.3, Temple University).

Band conventions
----------------
Bands are given by their upper limits ``e_1 < e_2 < ... < e_K`` (metres; days).

``"closed"`` (Talaia's default; Davies' ``interval_side="left"``)
    Same location: ``d <= tolerance`` (default 0: identical coordinates). Spatial band ``k``:
    ``e_{k-1} < d <= e_k`` (``e_0`` = tolerance). Temporal band 1: ``0 <= dt <= e_1``, band
    ``k``: ``e_{k-1} < dt <= e_k``. "More than" row/column: ``d > e_K`` / ``dt > e_K``.
``"nrc"`` (what the Near Repeat Calculator computes)
    NRC labels a band "a to b" but counts it over ``[a-1, b)`` (Davies 2019, tobydavies/
    NearRepeat, "Inconsistency with Near Repeat Calculator"). Same location: ``d < 1``;
    band 1 ("1 to e_1"): ``1 <= d < e_1``; band ``k``: ``e_{k-1} <= d < e_k``. Temporal band 1
    ("0 to e_1"): ``0 <= dt < e_1``; band ``k``: ``e_{k-1} <= dt < e_k``. With whole days,
    NRC's "0 to 7 days" is therefore 0–6 days apart.

Algorithm
---------
Only pairs closer than the largest spatial band are built (a k-d tree; memory ~ 9 bytes per
such pair). The "more than" cells are not enumerated: the number of pairs in each temporal band
over *all* pairs is invariant under permutation of the dates (it depends on the dates only) and is
computed from the sorted dates in O(n log n); likewise the spatial band totals; the "more than"
cells follow by subtraction and are exact. Permutations run in parallel (numba ``prange``); each
draws from its own seeded stream (:mod:`talaia.analysis._random`), so results depend on the seed
only, not on the number of threads.

Statistics per cell: observed count; mean and median of the permuted counts; Knox ratios
observed/mean and observed/median; pseudo p-value ``(1 + #{perm >= observed}) / (P + 1)``
(Davison & Hinkley 1997; NRC's "significance").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numba import njit, prange
from scipy.spatial import cKDTree

from talaia.analysis._random import shuffle_into

Convention = Literal["closed", "nrc"]
Metric = Literal["euclidean", "manhattan"]


@dataclass(frozen=True, eq=False)
class KnoxResult:
    """Result of a Knox test (rows: spatial bands, columns: temporal bands).

    Attributes
    ----------
    spatial_labels, temporal_labels
        Row and column labels, the last being the "more than" band; the first row is "same
        location" when requested.
    spatial_intervals, temporal_intervals
        The intervals actually counted, in interval notation (e.g. ``"[1, 200)"``).
    observed
        Observed pair counts (int64, rows × columns). Exact: no randomness.
    expected_mean, expected_median
        Mean and median of the permuted counts.
    ratio_mean, ratio_median
        Knox ratios observed / expected (NaN where the expectation is 0).
    p_value
        ``(1 + #{permuted >= observed}) / (permutations + 1)``.
    permutations, seed, convention, metric, n_events, n_pairs
        Parameters and sizes (``n_pairs`` = all n(n-1)/2 pairs).
    extra
        Context: ``pairs_within_largest_band`` and, from the service, the filter and the number
        of incidents left out for lack of a location.
    """

    spatial_labels: tuple[str, ...]
    temporal_labels: tuple[str, ...]
    spatial_intervals: tuple[str, ...]
    temporal_intervals: tuple[str, ...]
    observed: np.ndarray
    expected_mean: np.ndarray
    expected_median: np.ndarray
    ratio_mean: np.ndarray
    ratio_median: np.ndarray
    p_value: np.ndarray
    permutations: int
    seed: int
    convention: str
    metric: str
    n_events: int
    n_pairs: int
    extra: dict[str, Any] = field(default_factory=dict)

    def cell(self, spatial: int, temporal: int) -> dict[str, Any]:
        """All statistics of one cell, as plain Python values."""
        return {
            "spatial": self.spatial_labels[spatial],
            "temporal": self.temporal_labels[temporal],
            "observed": int(self.observed[spatial, temporal]),
            "expected_mean": float(self.expected_mean[spatial, temporal]),
            "expected_median": float(self.expected_median[spatial, temporal]),
            "ratio_mean": _f(self.ratio_mean[spatial, temporal]),
            "ratio_median": _f(self.ratio_median[spatial, temporal]),
            "p_value": float(self.p_value[spatial, temporal]),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (NaN as None)."""
        return {
            "method": "knox",
            "spatial_labels": list(self.spatial_labels),
            "temporal_labels": list(self.temporal_labels),
            "spatial_intervals": list(self.spatial_intervals),
            "temporal_intervals": list(self.temporal_intervals),
            "observed": self.observed.tolist(),
            "expected_mean": _nan_none(self.expected_mean),
            "expected_median": _nan_none(self.expected_median),
            "ratio_mean": _nan_none(self.ratio_mean),
            "ratio_median": _nan_none(self.ratio_median),
            "p_value": _nan_none(self.p_value),
            "permutations": self.permutations,
            "seed": self.seed,
            "convention": self.convention,
            "metric": self.metric,
            "n_events": self.n_events,
            "n_pairs": self.n_pairs,
            "extra": dict(self.extra),
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per cell (for CSV / tables)."""
        return [
            self.cell(i, j)
            for i in range(len(self.spatial_labels))
            for j in range(len(self.temporal_labels))
        ]


def _f(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _nan_none(a: np.ndarray) -> list[list[float | None]]:
    return [[_f(v) for v in row] for row in np.asarray(a, dtype=float)]


def _freeze(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _fmt(v: float) -> str:
    return f"{v:g}"


def band_labels(
    spatial_bands: Sequence[float],
    temporal_bands: Sequence[float],
    convention: Convention,
    same_location: bool,
    tolerance: float = 0.0,
    spatial_unit: str = "m",
    temporal_unit: str = "days",
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Labels and counted intervals of the rows and columns of a Knox table.

    Returns ``(spatial_labels, temporal_labels, spatial_intervals, temporal_intervals)``; NRC's
    own labels ("1 to 200", "0 to 7") for ``convention="nrc"``.
    """
    s = [float(v) for v in spatial_bands]
    t = [float(v) for v in temporal_bands]
    sl: list[str] = []
    si: list[str] = []
    tl: list[str] = []
    ti: list[str] = []
    if convention == "nrc":
        if same_location:
            sl.append("Same location")
            si.append("[0, 1)")
        lo = 1.0 if same_location else 0.0
        lab_lo = 1.0 if same_location else 0.0
        for e in s:
            sl.append(f"{_fmt(lab_lo)} to {_fmt(e)} {spatial_unit}")
            si.append(f"[{_fmt(lo)}, {_fmt(e)})")
            lo = e
            lab_lo = e + 1
        sl.append(f"More than {_fmt(s[-1])} {spatial_unit}")
        si.append(f"[{_fmt(s[-1])}, inf)")
        lo, lab_lo = 0.0, 0.0
        for e in t:
            tl.append(f"{_fmt(lab_lo)} to {_fmt(e)} {temporal_unit}")
            ti.append(f"[{_fmt(lo)}, {_fmt(e)})")
            lo = e
            lab_lo = e + 1
        tl.append(f"More than {_fmt(t[-1])} {temporal_unit}")
        ti.append(f"[{_fmt(t[-1])}, inf)")
    else:
        if same_location:
            sl.append("Same location")
            si.append(f"[0, {_fmt(tolerance)}]")
        lo = tolerance if same_location else 0.0
        first = not same_location
        for e in s:
            sl.append(f"{_fmt(lo)}–{_fmt(e)} {spatial_unit}")
            si.append(f"{'[' if first else '('}{_fmt(lo)}, {_fmt(e)}]")
            lo, first = e, False
        sl.append(f"More than {_fmt(s[-1])} {spatial_unit}")
        si.append(f"({_fmt(s[-1])}, inf)")
        lo, first = 0.0, True
        for e in t:
            tl.append(f"{_fmt(lo)}–{_fmt(e)} {temporal_unit}")
            ti.append(f"{'[' if first else '('}{_fmt(lo)}, {_fmt(e)}]")
            lo, first = e, False
        tl.append(f"More than {_fmt(t[-1])} {temporal_unit}")
        ti.append(f"({_fmt(t[-1])}, inf)")
    return sl, tl, si, ti


def spatial_pairs(
    x: np.ndarray,
    y: np.ndarray,
    max_distance: float,
    metric: Metric = "euclidean",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with distance ``<= max_distance`` (k-d tree), and their distances.

    Returns ``(i, j, d)`` as int32, int32, float64 arrays.
    """
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    p = 2.0 if metric == "euclidean" else 1.0
    tree = cKDTree(xy)
    # A hair above the radius so that no pair is lost to rounding; d decides below.
    pairs = tree.query_pairs(max_distance * (1 + 1e-9) + 1e-12, p=p, output_type="ndarray")
    i = pairs[:, 0].astype(np.int32)
    j = pairs[:, 1].astype(np.int32)
    del pairs
    d = pair_distance(xy[i], xy[j], metric)
    keep = d <= max_distance
    return i[keep], j[keep], d[keep]


def pair_distance(a: np.ndarray, b: np.ndarray, metric: Metric) -> np.ndarray:
    """Euclidean or Manhattan distance between rows of ``a`` and ``b``."""
    diff = a - b
    if metric == "euclidean":
        return np.sqrt(diff[:, 0] ** 2 + diff[:, 1] ** 2)
    return np.abs(diff[:, 0]) + np.abs(diff[:, 1])


def spatial_band_index(
    d: np.ndarray,
    spatial_bands: np.ndarray,
    convention: Convention,
    same_location: bool,
    tolerance: float = 0.0,
) -> np.ndarray:
    """Row index of each distance (``len(rows) - 1`` = "more than")."""
    off = 1 if same_location else 0
    side = "right" if convention == "nrc" else "left"
    idx = np.searchsorted(spatial_bands, d, side=side) + off
    if same_location:
        same = d < 1.0 if convention == "nrc" else d <= tolerance
        idx[same] = 0
    return idx.astype(np.int8 if idx.size and idx.max() < 127 else np.int32)


def temporal_band_totals(
    t: np.ndarray, temporal_bands: np.ndarray, convention: Convention
) -> np.ndarray:
    """Number of pairs (over all n(n-1)/2) in each temporal band, plus the "more than" band."""
    ts = np.sort(np.asarray(t, float))
    n = ts.size
    idx = np.arange(n)
    side = "left" if convention == "nrc" else "right"
    cum = []
    for e in temporal_bands:
        cum.append(int((np.searchsorted(ts, ts + e, side=side) - idx - 1).sum()))
    total = n * (n - 1) // 2
    cum_a = np.array([*cum, total], dtype=np.int64)
    return np.diff(np.concatenate([[0], cum_a]))


@njit(cache=True, inline="always")
def _t_band(dt: float, edges: np.ndarray, nrc: bool) -> int:
    nt = edges.shape[0]
    b = 0
    if nrc:
        while b < nt and dt >= edges[b]:
            b += 1
    else:
        while b < nt and dt > edges[b]:
            b += 1
    return b


@njit(cache=True)
def _count(pi, pj, sband, n_rows, t, edges, nrc):  # pragma: no cover - numba
    nt = edges.shape[0]
    out = np.zeros((n_rows, nt), np.int64)
    tmax = edges[nt - 1]
    for p in range(pi.shape[0]):
        dt = abs(t[pi[p]] - t[pj[p]])
        if (nrc and dt >= tmax) or (not nrc and dt > tmax):
            continue
        out[sband[p], _t_band(dt, edges, nrc)] += 1
    return out


@njit(cache=True, parallel=True)
def _permute(pi, pj, sband, n_rows, t, edges, nrc, n_perm, seed):  # pragma: no cover - numba
    """Counts of the within-band cells for each permutation of the dates (parallel over
    permutations; each permutation from its own seeded stream)."""
    nt = edges.shape[0]
    n = t.shape[0]
    out = np.zeros((n_perm, n_rows, nt), np.int64)
    tmax = edges[nt - 1]
    for k in prange(n_perm):
        tp = np.empty(n, t.dtype)
        shuffle_into(t, tp, seed, k)
        cnt = out[k]
        for p in range(pi.shape[0]):
            dt = abs(tp[pi[p]] - tp[pj[p]])
            if (nrc and dt >= tmax) or (not nrc and dt > tmax):
                continue
            cnt[sband[p], _t_band(dt, edges, nrc)] += 1
    return out


def _complete(
    within: np.ndarray, row_totals: np.ndarray, col_totals: np.ndarray, n_pairs: int
) -> np.ndarray:
    """Add the "more than" row and column to counts over the within-band rows."""
    r, c = within.shape[-2:]
    shape = (*within.shape[:-2], r + 1, c + 1)
    full = np.zeros(shape, np.int64)
    full[..., :r, :c] = within
    full[..., :r, c] = row_totals - within.sum(axis=-1)
    full[..., r, :c] = col_totals[:c] - within.sum(axis=-2)
    full[..., r, c] = n_pairs - full.sum(axis=(-2, -1))
    return full


def knox_test(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    spatial_bands: Sequence[float],
    temporal_bands: Sequence[float],
    *,
    convention: Convention = "closed",
    same_location: bool = True,
    tolerance: float = 0.0,
    metric: Metric = "euclidean",
    permutations: int = 999,
    seed: int = 0,
) -> KnoxResult:
    """Knox test of space-time clustering with Monte Carlo permutation of dates.

    Parameters
    ----------
    x, y
        Projected coordinates (metres).
    t
        Event times in days (whole days for NRC compatibility: NRC uses dates only).
    spatial_bands, temporal_bands
        Increasing upper limits of the bands (e.g. ``[200, 400]`` metres, ``[7, 14]`` days).
    convention
        ``"closed"`` (intervals ``(a, b]``) or ``"nrc"`` (``[a-1, b)``, the Near Repeat
        Calculator's); see the module documentation.
    same_location
        Add the "same location" row (``d <= tolerance``; NRC: ``d < 1``).
    tolerance
        Distance treated as the same location under ``"closed"``.
    metric
        ``"euclidean"`` or ``"manhattan"``.
    permutations, seed
        Number of Monte Carlo permutations of the dates and the seed that fixes them.

    Returns
    -------
    KnoxResult

    References
    ----------
    Knox, E. G. (1964). The detection of space-time interactions. *Applied Statistics* 13, 25–29.
    Ratcliffe, J. H. (2009). *Near Repeat Calculator* (version 1.3). Temple University.
    Johnson, S. D. et al. (2007). Space–time patterns of risk. *J. Quant. Criminol.* 23, 201–219.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if not (x.shape == y.shape == t.shape) or x.ndim != 1:
        raise ValueError("x, y and t must be 1-D arrays of the same length")
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(t).all()):
        raise ValueError("x, y and t must be finite (drop events without a place or a date)")
    sb = np.asarray(spatial_bands, dtype=np.float64)
    tb = np.asarray(temporal_bands, dtype=np.float64)
    if sb.size == 0 or tb.size == 0 or (np.diff(sb) <= 0).any() or (np.diff(tb) <= 0).any():
        raise ValueError("spatial and temporal bands must be non-empty and increasing")
    if convention not in ("closed", "nrc"):
        raise ValueError(f"unknown convention {convention!r}")
    if permutations < 1:
        raise ValueError("permutations must be >= 1")
    n = x.size
    n_pairs = n * (n - 1) // 2
    nrc = convention == "nrc"

    pi, pj, d = spatial_pairs(x, y, float(sb[-1]), metric)
    sband = spatial_band_index(d, sb, convention, same_location, tolerance)
    n_rows = sb.size + (1 if same_location else 0)
    keep = sband < n_rows
    pi, pj, sband = pi[keep], pj[keep], np.ascontiguousarray(sband[keep])
    del d
    row_totals = np.bincount(sband, minlength=n_rows).astype(np.int64)
    col_totals = temporal_band_totals(t, tb, convention)

    obs_within = _count(pi, pj, sband, n_rows, t, tb, nrc)
    perm_within = _permute(pi, pj, sband, n_rows, t, tb, nrc, int(permutations), int(seed))
    observed = _complete(obs_within, row_totals, col_totals, n_pairs)
    perm = _complete(perm_within, row_totals, col_totals, n_pairs)

    mean = perm.mean(axis=0)
    median = np.median(perm, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_mean = np.where(mean > 0, observed / mean, np.nan)
        ratio_median = np.where(median > 0, observed / median, np.nan)
    p = (1 + (perm >= observed[None]).sum(axis=0)) / (permutations + 1)
    sl, tl, si, ti = band_labels(sb, tb, convention, same_location, tolerance)
    return KnoxResult(
        spatial_labels=tuple(sl),
        temporal_labels=tuple(tl),
        spatial_intervals=tuple(si),
        temporal_intervals=tuple(ti),
        observed=_freeze(observed),
        expected_mean=_freeze(mean),
        expected_median=_freeze(median),
        ratio_mean=_freeze(ratio_mean),
        ratio_median=_freeze(ratio_median),
        p_value=_freeze(p),
        permutations=int(permutations),
        seed=int(seed),
        convention=convention,
        metric=metric,
        n_events=n,
        n_pairs=n_pairs,
        extra={"pairs_within_largest_band": int(pi.size)},
    )
