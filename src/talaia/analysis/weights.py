"""Spatial weights in compressed-row form: lattice contiguity, distance bands, polygon contiguity.

Weights are binary here (1 = neighbour) and never include the cell itself; statistics that need
a self-weight (Gi*) add it. The neighbour lists are sorted, as in libpysal's ``W.sparse``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree


@dataclass(frozen=True, eq=False)
class SpatialWeights:
    """Binary spatial weights, CSR layout, no self-neighbours.

    Attributes
    ----------
    indptr, indices
        Row ``i``'s neighbours are ``indices[indptr[i]:indptr[i+1]]`` (sorted).
    n
        Number of units.
    """

    indptr: np.ndarray
    indices: np.ndarray
    n: int

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of neighbours of each unit."""
        return np.diff(self.indptr)

    def to_sparse(self) -> sparse.csr_matrix:
        """The weights as a SciPy CSR matrix of ones."""
        data = np.ones(self.indices.size)
        return sparse.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    @classmethod
    def from_sparse(cls, m: Any) -> SpatialWeights:
        """From any SciPy sparse matrix: nonzero off-diagonal entries become neighbours."""
        m = sparse.csr_matrix(m, copy=True)
        m.setdiag(0)
        m.eliminate_zeros()
        m.sort_indices()
        return cls(
            indptr=m.indptr.astype(np.int64),
            indices=m.indices.astype(np.int64),
            n=int(m.shape[0]),
        )

    @classmethod
    def from_pairs(cls, i: np.ndarray, j: np.ndarray, n: int) -> SpatialWeights:
        """From undirected pairs (each pair given once or twice)."""
        rows = np.concatenate([i, j])
        cols = np.concatenate([j, i])
        m = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
        m.data[:] = 1.0
        return cls.from_sparse(m)


def lattice_weights(
    nrows: int, ncols: int, contiguity: Literal["rook", "queen"] = "queen"
) -> SpatialWeights:
    """Contiguity weights of a regular ``nrows × ncols`` lattice, cells numbered row-major.

    Same neighbours as libpysal's ``lat2W(nrows, ncols, rook=...)``.
    """
    idx = np.arange(nrows * ncols).reshape(nrows, ncols)
    shifts = [(0, 1), (1, 0)]
    if contiguity == "queen":
        shifts += [(1, 1), (1, -1)]
    pi, pj = [], []
    for dr, dc in shifts:
        r0, r1 = 0, nrows - dr
        c0, c1 = max(0, -dc), ncols - max(0, dc)
        a = idx[r0:r1, c0:c1]
        b = idx[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        pi.append(a.ravel())
        pj.append(b.ravel())
    return SpatialWeights.from_pairs(np.concatenate(pi), np.concatenate(pj), nrows * ncols)


def distance_band_weights(x: np.ndarray, y: np.ndarray, threshold: float) -> SpatialWeights:
    """Units within ``threshold`` (Euclidean, inclusive) of each other are neighbours."""
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    pairs = cKDTree(xy).query_pairs(threshold, output_type="ndarray")
    return SpatialWeights.from_pairs(pairs[:, 0], pairs[:, 1], xy.shape[0])


def polygon_contiguity_weights(
    geometries: Sequence[Any], contiguity: Literal["rook", "queen"] = "queen"
) -> SpatialWeights:
    """Contiguity of polygons (shapely geometries): queen = any shared boundary point,
    rook = a shared boundary segment of positive length."""
    import shapely

    geoms = np.asarray(geometries, dtype=object)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if a.size:
        touches = shapely.intersects(geoms[a], geoms[b])
        if contiguity == "rook":
            shared = shapely.intersection(shapely.boundary(geoms[a]), shapely.boundary(geoms[b]))
            touches &= shapely.length(shared) > 0
        a, b = a[touches], b[touches]
    return SpatialWeights.from_pairs(a, b, len(geoms))
