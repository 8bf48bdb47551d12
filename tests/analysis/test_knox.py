"""Knox test: observed counts against brute force and hand counts, NRC's published Chicago ratios,
reproducibility."""

from __future__ import annotations

from datetime import date

import numba
import numpy as np
import pytest

from talaia.analysis.knox import knox_test


def brute_force_table(x, y, t, sb, tb, convention, same_location=True, tol=0.0, metric="euclidean"):
    """Every pair, chunked NumPy, no spatial index: the full table with "more than" cells."""
    n = x.size
    rows = len(sb) + (1 if same_location else 0) + 1
    cols = len(tb) + 1
    table = np.zeros((rows, cols), np.int64)
    sb = np.asarray(sb, float)
    tb = np.asarray(tb, float)
    for s in range(0, n, 400):
        i = np.arange(s, min(n, s + 400))
        dx = x[i, None] - x[None, :]
        dy = y[i, None] - y[None, :]
        d = np.sqrt(dx**2 + dy**2) if metric == "euclidean" else np.abs(dx) + np.abs(dy)
        dt = np.abs(t[i, None] - t[None, :])
        upper = np.arange(n)[None, :] > i[:, None]
        d, dt = d[upper], dt[upper]
        if convention == "nrc":
            r = np.searchsorted(sb, d, side="right")
            c = np.searchsorted(tb, dt, side="right")
            same = d < 1
        else:
            r = np.searchsorted(sb, d, side="left")
            c = np.searchsorted(tb, dt, side="left")
            same = d <= tol
        if same_location:
            r = r + 1
            r[same] = 0
        np.add.at(table, (r, c), 1)
    return table


def test_hand_counted_pairs_both_conventions() -> None:
    # Four events on a line; pairs (distance m, days apart):
    # (0,1): 0 m, 7 d   (0,2): 200 m, 0 d   (0,3): 201 m, 3 d
    # (1,2): 200 m, 7 d (1,3): 201 m, 4 d   (2,3): 1 m, 3 d
    x = np.array([0.0, 0.0, 200.0, 201.0])
    y = np.zeros(4)
    t = np.array([0.0, 7.0, 0.0, 3.0])
    closed = knox_test(x, y, t, [200], [7], convention="closed", permutations=9, seed=1)
    # rows: same, (0,200], >200; cols: [0,7], >7
    np.testing.assert_array_equal(closed.observed, [[1, 0], [3, 0], [2, 0]])
    nrc = knox_test(x, y, t, [200], [7], convention="nrc", permutations=9, seed=1)
    # rows: [0,1), [1,200), >=200; cols: [0,7), >=7
    np.testing.assert_array_equal(nrc.observed, [[0, 1], [1, 0], [3, 1]])
    assert nrc.spatial_labels == ("Same location", "1 to 200 m", "More than 200 m")
    assert nrc.temporal_labels == ("0 to 7 days", "More than 7 days")
    assert nrc.spatial_intervals == ("[0, 1)", "[1, 200)", "[200, inf)")
    assert closed.spatial_intervals == ("[0, 0]", "(0, 200]", "(200, inf)")
    assert closed.temporal_intervals == ("[0, 7]", "(7, inf)")


@pytest.mark.parametrize("convention", ["closed", "nrc"])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_observed_equals_brute_force(convention: str, metric: str) -> None:
    rng = np.random.default_rng(5)
    n = 700
    x = np.round(rng.uniform(0, 3000, n))
    y = np.round(rng.uniform(0, 3000, n))
    x[:50] = x[50:100]  # exact repeats
    y[:50] = y[50:100]
    t = rng.integers(0, 120, n).astype(float)
    sb, tb = [100, 250, 400], [3, 7, 14, 30]
    res = knox_test(x, y, t, sb, tb, convention=convention, metric=metric, permutations=19)
    truth = brute_force_table(x, y, t, sb, tb, convention, metric=metric)
    np.testing.assert_array_equal(res.observed, truth)
    assert res.observed.sum() == n * (n - 1) // 2


def test_without_same_location_row_and_tolerance() -> None:
    rng = np.random.default_rng(9)
    x = rng.uniform(0, 1000, 300)
    y = rng.uniform(0, 1000, 300)
    t = rng.integers(0, 60, 300).astype(float)
    res = knox_test(x, y, t, [50, 100], [5], same_location=False, permutations=9)
    np.testing.assert_array_equal(
        res.observed, brute_force_table(x, y, t, [50, 100], [5], "closed", same_location=False)
    )
    res = knox_test(x, y, t, [50, 100], [5], tolerance=10.0, permutations=9)
    np.testing.assert_array_equal(
        res.observed, brute_force_table(x, y, t, [50, 100], [5], "closed", tol=10.0)
    )


def test_seeded_reproducible_and_thread_independent() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 2000, 500)
    y = rng.uniform(0, 2000, 500)
    t = rng.integers(0, 90, 500).astype(float)
    a = knox_test(x, y, t, [100, 200], [7, 14], permutations=49, seed=11)
    b = knox_test(x, y, t, [100, 200], [7, 14], permutations=49, seed=11)
    c = knox_test(x, y, t, [100, 200], [7, 14], permutations=49, seed=12)
    np.testing.assert_array_equal(a.expected_mean, b.expected_mean)
    np.testing.assert_array_equal(a.p_value, b.p_value)
    assert not np.array_equal(a.expected_mean, c.expected_mean)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        d = knox_test(x, y, t, [100, 200], [7, 14], permutations=49, seed=11)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a.expected_mean, d.expected_mean)
    # Row totals (spatial bands) and column totals (temporal bands) are permutation invariant.
    np.testing.assert_allclose(a.expected_mean.sum(axis=1), a.observed.sum(axis=1))
    np.testing.assert_allclose(a.expected_mean.sum(axis=0), a.observed.sum(axis=0))


def test_strong_clustering_is_detected_with_minimum_p() -> None:
    rng = np.random.default_rng(4)
    base_x = rng.uniform(0, 5000, 200)
    base_y = rng.uniform(0, 5000, 200)
    base_t = rng.integers(0, 365, 200).astype(float)
    # each event has a near repeat 20 m away 2 days later
    x = np.concatenate([base_x, base_x + 20])
    y = np.concatenate([base_y, base_y])
    t = np.concatenate([base_t, base_t + 2])
    res = knox_test(x, y, t, [100], [7], permutations=99, seed=3)
    assert res.p_value[1, 0] == pytest.approx(0.01)
    assert res.ratio_mean[1, 0] > 10
    d = res.to_dict()
    assert d["observed"][1][0] == int(res.observed[1, 0])


def test_chicago_2014_matches_near_repeat_calculator(chicago) -> None:
    """NRC 1.3, 99 iterations, 200 m × 7 days, on the 12,334 burglaries of 2014: Knox ratios
    5.34 (same location) and 1.28 (1 to 200 m), 0 to 7 days."""
    x, y, t = chicago
    m = t < date(2015, 1, 1).toordinal()
    assert int(m.sum()) == 12334
    res = knox_test(x[m], y[m], t[m], [200], [7], convention="nrc", permutations=99, seed=2014)
    truth = brute_force_table(x[m], y[m], t[m], [200], [7], "nrc")
    np.testing.assert_array_equal(res.observed, truth)
    # Monte Carlo error of a mean of 99 permutations: same location ~ ±0.08 (1 sd) per run,
    # two runs (NRC's and ours) compared; 1-200 m ~ ±0.005.
    assert res.ratio_mean[0, 0] == pytest.approx(5.34, abs=0.35)
    assert res.ratio_mean[1, 0] == pytest.approx(1.28, abs=0.025)
    # The other cells NRC published: 0.84, 0.99, 1.00, 1.00.
    assert res.ratio_mean[0, 1] == pytest.approx(0.84, abs=0.03)
    assert res.ratio_mean[1, 1] == pytest.approx(0.99, abs=0.01)
    assert res.ratio_mean[2, 0] == pytest.approx(1.00, abs=0.005)
    assert res.ratio_mean[2, 1] == pytest.approx(1.00, abs=0.005)
    assert res.p_value[0, 0] == pytest.approx(0.01)
    assert res.p_value[1, 0] == pytest.approx(0.01)
