"""Gi*, Local Moran's I and weights against esda/libpysal; FDR by hand; kernel density."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from esda.getisord import G_Local
from esda.moran import Moran_Local
from libpysal.weights import DistanceBand, lat2W

from talaia.analysis.density import Grid, kernel_density, scott_bandwidth
from talaia.analysis.hotspots import benjamini_hochberg, getis_ord_gi_star, local_moran
from talaia.analysis.weights import (
    SpatialWeights,
    distance_band_weights,
    lattice_weights,
    polygon_contiguity_weights,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def _same_neighbours(ours: SpatialWeights, theirs) -> None:
    diff = ours.to_sparse() != (theirs.sparse != 0).astype(float)
    assert diff.nnz == 0


@pytest.mark.parametrize("contiguity", ["rook", "queen"])
def test_lattice_weights_equal_libpysal(contiguity: str) -> None:
    _same_neighbours(lattice_weights(7, 5, contiguity), lat2W(7, 5, rook=contiguity == "rook"))


def test_distance_band_and_polygon_weights() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (60, 2))
    _same_neighbours(
        distance_band_weights(pts[:, 0], pts[:, 1], 20.0),
        DistanceBand(pts, 20.0, silence_warnings=True),
    )
    # 3 × 2 unit squares: queen = lattice queen, rook = lattice rook
    boxes = [shapely.box(c, r, c + 1, r + 1) for r in range(3) for c in range(2)]
    for cont in ("queen", "rook"):
        a = polygon_contiguity_weights(boxes, cont)
        b = lattice_weights(3, 2, cont)
        assert (a.to_sparse() != b.to_sparse()).nnz == 0


@pytest.mark.slow  # esda compiles its numba kernels on first use (~20-70 s)
@pytest.mark.parametrize("transform", ["B", "R"])
def test_gi_star_equals_esda_continuous(transform: str) -> None:
    rng = np.random.default_rng(3)
    y = rng.gamma(2.0, size=12 * 10)
    ours = getis_ord_gi_star(
        y, lattice_weights(12, 10), transform=transform, permutations=199, seed=7
    )
    ref = G_Local(
        y,
        lat2W(12, 10, rook=False),
        transform=transform,
        star=True,
        permutations=199,
        seed=7,
        n_jobs=1,
    )
    np.testing.assert_allclose(ours.statistic, ref.Gs, rtol=1e-12)
    np.testing.assert_allclose(ours.z, ref.Zs, rtol=1e-12)
    np.testing.assert_allclose(ours.p_norm, ref.p_norm, rtol=1e-12)
    # esda stores p_sim as float32; same draws, so the same values.
    np.testing.assert_allclose(ours.p_sim, ref.p_sim, atol=1e-7)
    np.testing.assert_allclose(ours.z_sim, ref.z_sim, rtol=1e-9)


@pytest.mark.slow  # esda compiles its numba kernels on first use (~20-70 s)
def test_gi_star_counts_equal_esda_including_ties() -> None:
    rng = np.random.default_rng(8)
    y = rng.poisson(2.0, size=15 * 15).astype(float)
    w = lattice_weights(15, 15)
    ref = G_Local(
        y, lat2W(15, 15, rook=False), transform="B", star=True, permutations=299, seed=99, n_jobs=1
    )
    exact = getis_ord_gi_star(y, w, permutations=299, seed=99, ties="esda")
    np.testing.assert_allclose(exact.z, ref.Zs, rtol=1e-12)
    np.testing.assert_allclose(exact.p_sim, ref.p_sim, atol=1e-7)
    # Default: ties count as ">=": p-values differ only through ties, within MC error overall.
    incl = getis_ord_gi_star(y, w, permutations=299, seed=99)
    assert np.abs(incl.p_sim - ref.p_sim).mean() < 0.1


@pytest.mark.slow  # esda compiles its numba kernels on first use (~20-70 s)
def test_local_moran_equals_esda() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=9 * 11) + np.repeat(np.linspace(0, 2, 9), 11)
    ours = local_moran(y, lattice_weights(9, 11), permutations=199, seed=5)
    ref = Moran_Local(y, lat2W(9, 11, rook=False), permutations=199, seed=5, n_jobs=1)
    np.testing.assert_allclose(ours.statistic, ref.Is, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ours.quadrant, ref.q)
    np.testing.assert_allclose(ours.p_sim, ref.p_sim, atol=1e-7)


def test_benjamini_hochberg_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # sorted 0.01, 0.03, 0.04, 0.20 with m=4: 0.04, 0.06, 0.0533, 0.20 -> monotone 0.04, 0.0533,
    # 0.0533, 0.20
    np.testing.assert_allclose(
        benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.20, np.nan], equal_nan=True
    )


def test_gi_star_labels_hot_block_and_serializes() -> None:
    y = np.zeros((10, 10))
    y[2:5, 2:5] = 20
    y += 1
    # 999 permutations: p >= 1/1000, so that q-values over 100 cells can reach 0.05
    res = getis_ord_gi_star(y.ravel(), lattice_weights(10, 10), permutations=999, seed=1)
    hot = {int(u) for u, lab in zip(res.unit_ids, res.label, strict=True) if lab == "hot"}
    assert 3 * 10 + 3 in hot  # the centre of the block
    assert all(res.label[i] != "hot" for i in (0, 9, 90, 99))
    table = res.to_arrow()
    assert table.num_rows == 100
    geo = res.with_geometry(tuple({"type": "Point", "coordinates": [i, 0]} for i in range(100)))
    assert len(geo.to_geojson()["features"]) == 100


def test_kernel_density_fft_equals_exact_and_integrates_to_n() -> None:
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.normal(0, 300, 1200), rng.normal(2000, 150, 400)])
    y = np.concatenate([rng.normal(0, 300, 1200), rng.normal(1000, 150, 400)])
    grid = Grid(-2000.0, -2000.0, 80.0, 50, 60)
    for kernel in ("quartic", "gaussian"):
        exact = kernel_density(
            x, y, 80.0, bandwidth=250.0, kernel=kernel, grid=grid, exact_limit=10**9
        )
        fft = kernel_density(x, y, 80.0, bandwidth=250.0, kernel=kernel, grid=grid, exact_limit=0)
        assert exact.method == "exact" and fft.method == "binned-fft"
        # integral (per km² × km² per cell) = number of events
        assert exact.density.sum() * (0.08**2) == pytest.approx(1600, rel=2e-3)
        rel = np.abs(fft.density - exact.density).max() / exact.density.max()
        assert rel < 0.05  # linear binning error, O((cell/h)²) with h/cell ≈ 3
    h = scott_bandwidth(x, y)
    s = np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    assert h == pytest.approx(s * 1600 ** (-1 / 6))
    assert kernel_density(x, y, 100.0).bandwidth_rule == "scott"


def test_empty_cells_amid_empty_cells_are_not_cold_spots() -> None:
    y = np.zeros((12, 12))
    y[1:4, 1:4] = 5
    w = lattice_weights(12, 12)
    res = getis_ord_gi_star(y.ravel(), w, permutations=99, seed=4)
    far = 11 * 12 + 11  # an empty cell whose neighbours are all empty
    # G = 0 and every permuted G >= 0: #>= = 99, #<= = draws of empty cells only
    assert res.p_sim[far] > 0.5
    assert res.label[far] == "ns"
    # esda's rule counts ties in the upper tail only: #< = 0, so p = 1/(P + 1)
    esda_rule = getis_ord_gi_star(y.ravel(), w, permutations=99, seed=4, ties="esda")
    assert esda_rule.p_sim[far] == pytest.approx(0.01)


def test_fdr_on_normal_p_values() -> None:
    y = np.zeros((12, 12))
    y[1:4, 1:4] = 5
    y += 1
    w = lattice_weights(12, 12)
    res = getis_ord_gi_star(y.ravel(), w, permutations=19, seed=1, fdr_basis="norm")
    np.testing.assert_allclose(res.q_value, benjamini_hochberg(np.minimum(2 * res.p_norm, 1)))
    assert res.fdr_basis == "norm" and res.label[2 * 12 + 2] == "hot"
    # with 19 permutations p_sim >= 0.05, so BH over 144 cells flags nothing
    assert set(getis_ord_gi_star(y.ravel(), w, permutations=19, seed=1).label) == {"ns"}
