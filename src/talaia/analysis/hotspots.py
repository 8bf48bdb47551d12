"""Local hot-spot statistics: Getis-Ord Gi* and Local Moran's I, with conditional permutation
pseudo p-values and a Benjamini-Hochberg false-discovery-rate correction.

Definitions follow PySAL's esda so that results can be checked against it:

- Gi* (Getis & Ord 1992, *Geogr. Anal.* 24, 189–206; Ord & Getis 1995, *Geogr. Anal.* 27,
  286–306): ``G*_i = Σ_j w_ij y_j / Σ_j y_j`` with ``w_ii = 1`` (binary) or row-standardized
  weights including the unit itself; ``E = W_i/n``; ``Var = W_i (n − W_i)/(n − 1) · s²/(n² ȳ²)``;
  ``z = (G − E)/sqrt(Var)``; ``p_norm = 1 − Φ(|z|)`` (one-sided, as esda).
- Local Moran's I (Anselin 1995, *Geogr. Anal.* 27, 93–115): ``I_i = (n − 1) z_i Σ_j w_ij z_j /
  Σ_k z_k²`` with ``z`` the standardized values and row-standardized weights; quadrants 1 HH,
  2 LH, 3 LL, 4 HL.
- Conditional permutation (Anselin 1995): unit ``i``'s value is held fixed and its neighbours'
  values are drawn without replacement from the other units. The draws reproduce esda's scheme
  exactly (NumPy-in-numba ``np.random.choice`` seeded with ``seed``; the same draws shared by all
  units), so with the same seed the pseudo p-values equal esda's. ``p_sim`` is esda's "directed"
  pseudo p-value ``(min(#≥, #<) + 1)/(P + 1)``. One deliberate difference concerns ties (a
  permuted statistic equal to the observed one, frequent with counts): by default they count in
  both tails, ``p = (min(#≥, #≤) + 1)/(P + 1)`` (relative tolerance 1e-9). esda counts them in the
  upper tail only, after fastmath rounding, which makes, e.g., every empty cell amid empty cells
  a significant cold spot (p = 1/(P + 1)). Without ties both rules agree; ``ties="esda"``
  reproduces esda bit for bit.
- FDR: Benjamini & Hochberg (1995, *JRSS B* 57, 289–300) adjusted p-values (q-values) of
  ``p_sim``; a unit is a hot (cold) spot when ``q <= alpha`` and ``z > 0`` (``< 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numba import njit, prange
from scipy import stats

from talaia.analysis.weights import SpatialWeights

Transform = Literal["B", "R"]
Ties = Literal["inclusive", "esda"]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN."""
    p = np.asarray(p, float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    pv = p[ok]
    m = pv.size
    if m == 0:
        return q
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


@njit(cache=True)
def permutation_ids(max_card: int, n: int, permutations: int, seed: int) -> np.ndarray:
    """``permutations`` draws of ``max_card`` ids out of ``n - 1`` without replacement.

    The same stream as esda's ``crand.vec_permutations`` for the same seed.
    """
    np.random.seed(seed)
    result = np.empty((permutations, max_card), dtype=np.int64)
    for k in range(permutations):
        result[k] = np.random.choice(n - 1, size=max_card, replace=False)
    return result


@njit(cache=True, parallel=True)
def _conditional_counts(
    z, indptr, indices, wvals, self_w, observed, ids, scaling, moran, esda_ties
):  # pragma: no cover - numba
    """For each unit: #permuted stats >= observed, and their mean and sd."""
    n = z.shape[0]
    n_perm = ids.shape[0]
    larger = np.zeros(n, np.int64)
    smaller = np.zeros(n, np.int64)
    mean = np.zeros(n)
    sd = np.zeros(n)
    for i in prange(n):
        # Ties (equal up to rounding) count as "at least as extreme".
        tol = 0.0 if esda_ties else 1e-9 * abs(observed[i])
        hi = observed[i] - tol
        lo = observed[i] + tol
        start = indptr[i]
        card = indptr[i + 1] - start
        zi = z[i]
        s1 = 0.0
        s2 = 0.0
        cnt = 0
        cnt_le = 0
        for k in range(n_perm):
            acc = 0.0
            for j in range(card):
                idx = ids[k, j]
                if idx >= i:
                    idx += 1
                acc += z[idx] * wvals[start + j]
            if moran:
                stat = zi * (acc + self_w[i] * zi) * scaling
            elif esda_ties:
                # esda's fastmath code multiplies by the reciprocal.
                stat = (acc + self_w[i] * zi) * (1.0 / scaling)
            else:
                stat = (acc + self_w[i] * zi) / scaling
            if stat >= hi:
                cnt += 1
            if stat <= lo:
                cnt_le += 1
            s1 += stat
            s2 += stat * stat
        larger[i] = cnt
        smaller[i] = cnt_le
        m = s1 / n_perm
        mean[i] = m
        sd[i] = np.sqrt(max(s2 / n_perm - m * m, 0.0))
    return larger, smaller, mean, sd


def _directed_p(larger: np.ndarray, permutations: int) -> np.ndarray:
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    return (larger + 1.0) / (permutations + 1.0)


@dataclass(frozen=True, eq=False)
class LocalStatistic:
    """A local indicator of spatial association per unit.

    Attributes
    ----------
    method
        ``"gi_star"`` or ``"local_moran"``.
    statistic
        G*_i or I_i.
    z
        Gi*: analytical z-score (Ord & Getis 1995). Local Moran: standardized value of the unit.
    p_norm
        Gi*: one-sided normal p-value ``1 − Φ(|z|)`` (NaN for Local Moran).
    p_sim
        Conditional-permutation pseudo p-value (esda's "directed"); NaN without permutations.
    q_value
        Benjamini-Hochberg adjusted ``p_sim``, or two-sided normal p-values when
        ``fdr_basis == "norm"`` (Gi* only; also without permutations).
    z_sim
        ``(statistic − mean of permuted)/sd of permuted``.
    label
        Gi*: ``"hot"``, ``"cold"`` or ``"ns"``; Local Moran: ``"HH"``, ``"LH"``, ``"LL"``,
        ``"HL"`` or ``"ns"`` (at ``q_value <= alpha``).
    quadrant
        Local Moran: 1 HH, 2 LH, 3 LL, 4 HL (0 for Gi*).
    unit_ids
        Identifier of each unit (cell ids or area codes), as strings.
    alpha, permutations, seed, transform, fdr_basis
        Parameters.
    geometry
        Optional GeoJSON geometries (WGS84) of the units, for :meth:`to_geojson`.
    """

    method: str
    statistic: np.ndarray
    z: np.ndarray
    p_norm: np.ndarray
    p_sim: np.ndarray
    q_value: np.ndarray
    z_sim: np.ndarray
    label: tuple[str, ...]
    quadrant: np.ndarray
    unit_ids: tuple[str, ...]
    value: np.ndarray
    alpha: float
    permutations: int
    seed: int
    transform: str
    geometry: tuple[dict[str, Any], ...] | None = None
    fdr_basis: str = "sim"

    def with_geometry(
        self, geometry: tuple[dict[str, Any], ...], unit_ids: tuple[str, ...] | None = None
    ) -> LocalStatistic:
        """A copy carrying unit geometries (and optionally new ids)."""
        from dataclasses import replace

        return replace(self, geometry=geometry, unit_ids=unit_ids or self.unit_ids)

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per unit (JSON/CSV friendly; NaN as None)."""

        def f(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return [
            {
                "unit": self.unit_ids[i],
                "value": f(self.value[i]),
                "statistic": f(self.statistic[i]),
                "z": f(self.z[i]),
                "p_norm": f(self.p_norm[i]),
                "p_sim": f(self.p_sim[i]),
                "q_value": f(self.q_value[i]),
                "z_sim": f(self.z_sim[i]),
                "label": self.label[i],
                "quadrant": int(self.quadrant[i]),
            }
            for i in range(self.statistic.size)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "alpha": self.alpha,
            "permutations": self.permutations,
            "seed": self.seed,
            "transform": self.transform,
            "fdr_basis": self.fdr_basis,
            "units": self.to_rows(),
        }

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection (needs :attr:`geometry`)."""
        if self.geometry is None:
            raise ValueError("this result carries no geometry")
        feats = [
            {"type": "Feature", "geometry": g, "properties": row}
            for g, row in zip(self.geometry, self.to_rows(), strict=True)
        ]
        return {"type": "FeatureCollection", "features": feats}

    def to_arrow(self) -> Any:
        import pyarrow as pa

        return pa.table(
            {
                "unit": list(self.unit_ids),
                "value": self.value,
                "statistic": self.statistic,
                "z": self.z,
                "p_norm": self.p_norm,
                "p_sim": self.p_sim,
                "q_value": self.q_value,
                "z_sim": self.z_sim,
                "label": list(self.label),
                "quadrant": np.asarray(self.quadrant, np.int8),
            }
        )


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    a.setflags(write=False)
    return a


def _weights_arrays(w: SpatialWeights, transform: Transform, star: bool):
    card = w.cardinalities.astype(float)
    if transform == "B":
        wvals = np.ones(w.indices.size)
        self_w = np.full(w.n, 1.0 if star else 0.0)
    elif transform == "R":
        den = card + (1.0 if star else 0.0)
        den = np.where(den > 0, den, 1.0)
        wvals = np.repeat(1.0 / den, w.cardinalities)
        self_w = (1.0 / den) if star else np.zeros(w.n)
    else:
        raise ValueError(f"transform must be 'B' or 'R', not {transform!r}")
    return wvals, np.asarray(self_w, float)


def _lag(w: SpatialWeights, wvals: np.ndarray, v: np.ndarray) -> np.ndarray:
    rows = np.repeat(np.arange(w.n), w.cardinalities)
    return np.bincount(rows, wvals * v[w.indices], minlength=w.n)


def getis_ord_gi_star(
    y: np.ndarray,
    w: SpatialWeights,
    *,
    transform: Transform = "B",
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    unit_ids: tuple[str, ...] | None = None,
    ties: Ties = "inclusive",
    fdr_basis: Literal["sim", "norm"] = "sim",
) -> LocalStatistic:
    """Getis-Ord Gi* of ``y`` (e.g. counts per grid cell or per area) under weights ``w``.

    Parameters
    ----------
    y
        Values per unit (non-negative, not all zero).
    w
        Binary neighbour structure without self-neighbours; the unit itself is added (Gi*).
    transform
        ``"B"`` binary (self-weight 1) or ``"R"`` row-standardized including the unit.
    permutations, seed
        Conditional permutations (0 = none) and their seed (esda-compatible stream).
    alpha
        FDR level for the hot/cold labels.
    ties
        ``"inclusive"`` (default): a permuted statistic equal to the observed one counts in
        both tails. ``"esda"``: esda's rule and floating-point rounding, to reproduce its
        p-values bit for bit.
    fdr_basis
        p-values the Benjamini-Hochberg step (and the labels) use: ``"sim"`` the permutation
        ``p_sim`` (default); ``"norm"`` the two-sided normal p-value ``2(1 − Φ(|z|))``, as in
        ArcGIS's Hot Spot Analysis, for grids with far more cells than permutations can
        resolve (BH over ``m`` units needs ``p`` near ``α k/m``; ``p_sim >= 1/(P + 1)``).

    Returns
    -------
    LocalStatistic
        Same ``statistic``, ``z``, ``p_norm`` as ``esda.G_Local(y, w, transform, star=True)``
        and, with the same seed, the same ``p_sim``.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size != w.n:
        raise ValueError(f"y has {y.size} values but the weights have {w.n} units")
    if not np.isfinite(y).all():
        raise ValueError("y must be finite (a unit without data cannot be tested)")
    total = y.sum()
    if total <= 0:
        raise ValueError("Gi* needs a positive total")
    n = y.size
    wvals, self_w = _weights_arrays(w, transform, star=True)
    stat = (_lag(w, wvals, y) + self_w * y) / total
    mean = total / n
    s2 = (y**2).sum() / n - mean**2
    wi = np.bincount(np.repeat(np.arange(n), w.cardinalities), wvals, minlength=n) + self_w
    expected = wi / n
    var = wi * (n - wi) / (n - 1) / n**2 * s2 / mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (stat - expected) / np.sqrt(var)
    p_norm = stats.norm.sf(np.abs(z))
    p_sim, z_sim = _simulate(
        y, w, wvals, self_w, stat, permutations, seed, total, moran=False, ties=ties
    )
    if fdr_basis == "norm" or not permutations:
        q = benjamini_hochberg(np.minimum(2 * p_norm, 1.0))
    else:
        q = benjamini_hochberg(p_sim)
    sig = q <= alpha
    label = np.where(sig & (z > 0), "hot", np.where(sig & (z < 0), "cold", "ns"))
    return LocalStatistic(
        method="gi_star",
        statistic=_ro(stat),
        z=_ro(z),
        p_norm=_ro(p_norm),
        p_sim=_ro(p_sim),
        q_value=_ro(q),
        z_sim=_ro(z_sim),
        label=tuple(label.tolist()),
        quadrant=np.zeros(n, np.int8),
        unit_ids=unit_ids or tuple(str(i) for i in range(n)),
        value=_ro(y),
        alpha=alpha,
        permutations=int(permutations),
        seed=int(seed),
        transform=transform,
        fdr_basis="norm" if (fdr_basis == "norm" or not permutations) else "sim",
    )


def _simulate(y, w, wvals, self_w, observed, permutations, seed, scaling, moran, ties):
    n = y.size
    if not permutations:
        return np.full(n, np.nan), np.full(n, np.nan)
    card = w.cardinalities
    max_card = int(card.max()) if n else 0
    if max_card == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    ids = permutation_ids(max_card, n, int(permutations), int(seed))
    larger, smaller, pmean, psd = _conditional_counts(
        y,
        w.indptr.astype(np.int64),
        w.indices.astype(np.int64),
        wvals,
        self_w,
        observed,
        ids,
        float(scaling),
        moran,
        ties == "esda",
    )
    if ties == "esda":
        p = _directed_p(larger, int(permutations))
    else:
        # tie-symmetric: the more extreme of the two tails, ties counted in both
        p = (np.minimum(larger, smaller) + 1.0) / (permutations + 1.0)
    p = np.where(card > 0, p, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = np.where(psd > 0, (observed - pmean) / psd, np.nan)
    return p, z_sim


def local_moran(
    y: np.ndarray,
    w: SpatialWeights,
    *,
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    unit_ids: tuple[str, ...] | None = None,
    ties: Ties = "inclusive",
) -> LocalStatistic:
    """Local Moran's I (Anselin 1995) with row-standardized weights.

    Same ``Is``, quadrants ``q`` and (same seed) ``p_sim`` as ``esda.Moran_Local(y, w)``.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size != w.n:
        raise ValueError(f"y has {y.size} values but the weights have {w.n} units")
    n = y.size
    sd = y.std()
    if not sd > 0:
        raise ValueError("Local Moran's I needs values that vary")
    z = (y - y.mean()) / sd
    wvals, self_w = _weights_arrays(w, "R", star=False)
    lag = _lag(w, wvals, z)
    den = (z * z).sum()
    stat = (n - 1) * z * lag / den
    quad = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3)).astype(np.int8)
    p_sim, z_sim = _simulate(
        z, w, wvals, self_w, stat, permutations, seed, (n - 1) / den, True, ties
    )
    q = benjamini_hochberg(p_sim)
    names = np.array(["", "HH", "LH", "LL", "HL"])
    label = np.where(q <= alpha, names[quad], "ns")
    return LocalStatistic(
        method="local_moran",
        statistic=_ro(stat),
        z=_ro(z),
        p_norm=_ro(np.full(n, np.nan)),
        p_sim=_ro(p_sim),
        q_value=_ro(q),
        z_sim=_ro(z_sim),
        label=tuple(label.tolist()),
        quadrant=quad,
        unit_ids=unit_ids or tuple(str(i) for i in range(n)),
        value=_ro(y),
        alpha=alpha,
        permutations=int(permutations),
        seed=int(seed),
        transform="R",
    )
