"""Primary and complementary suppression over linked totals (see :mod:`talaia.disclosure`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_INT = np.int64


@dataclass(frozen=True, slots=True)
class Relations:
    """Additive relations among the cells of a table: ``cell[total] = sum(cell[parts])``.

    Attributes
    ----------
    totals
        Index of each relation's total cell, shape ``(G,)``.
    offsets
        Relation ``g``'s parts are ``parts[offsets[g]:offsets[g + 1]]``, shape ``(G + 1,)``.
    parts
        Indices of the part cells, relation after relation.
    """

    totals: np.ndarray
    offsets: np.ndarray
    parts: np.ndarray

    @classmethod
    def from_groups(cls, groups: Iterable[tuple[int, Sequence[int]]]) -> Relations:
        """Relations from ``(total, parts)`` pairs (relations without parts are dropped)."""
        totals: list[int] = []
        parts: list[int] = []
        offsets = [0]
        for total, members in groups:
            if len(members) == 0:
                continue
            totals.append(int(total))
            parts.extend(int(m) for m in members)
            offsets.append(len(parts))
        return cls(
            np.asarray(totals, dtype=_INT), np.asarray(offsets, dtype=_INT), np.asarray(parts, _INT)
        )

    @classmethod
    def concat(cls, many: Sequence[Relations]) -> Relations:
        """All relations of ``many`` (indices refer to the same cells)."""
        if not many:
            return cls.from_groups(())
        totals = np.concatenate([r.totals for r in many])
        parts = np.concatenate([r.parts for r in many])
        sizes = np.concatenate([np.diff(r.offsets) for r in many])
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(_INT)
        return cls(totals.astype(_INT), offsets, parts.astype(_INT))

    def __len__(self) -> int:
        return len(self.totals)

    def group_of_part(self) -> np.ndarray:
        """Relation index of every entry of :attr:`parts`."""
        return np.repeat(np.arange(len(self.totals), dtype=_INT), np.diff(self.offsets))

    def members(self, g: int) -> np.ndarray:
        return self.parts[self.offsets[g] : self.offsets[g + 1]]


@dataclass(frozen=True, slots=True)
class Suppression:
    """The outcome of :func:`suppress`.

    Attributes
    ----------
    withheld
        Cells not to publish (primary or complementary), boolean, one per cell.
    primary
        Cells withheld for their own small count.
    complementary
        Cells withheld only so that a primary cell cannot be recomputed.
    unprotected
        Relations that could not be protected (all their candidates are fixed or zero); empty
        for exact relations whose totals are free to be withheld.
    rounds
        Passes over the relations until none changed.
    """

    withheld: np.ndarray
    primary: np.ndarray
    complementary: np.ndarray
    unprotected: tuple[int, ...]
    rounds: int


def primary_mask(counts: np.ndarray, threshold: int) -> np.ndarray:
    """Counts from 1 to ``threshold - 1`` (NaN, meaning no data, and zero are not withheld)."""
    c = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(c) & (c > 0) & (c < threshold)


def _group_sums(values: np.ndarray, rel: Relations) -> np.ndarray:
    cums = np.concatenate([[0.0], np.cumsum(values[rel.parts], dtype=np.float64)])
    return cums[rel.offsets[1:]] - cums[rel.offsets[:-1]]


def suppress(
    counts: np.ndarray,
    relations: Relations,
    threshold: int,
    *,
    primary: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    protection: float | None = None,
    exact: bool = False,
    max_rounds: int = 1000,
) -> Suppression:
    """Withhold small counts and enough complements that none can be recomputed.

    Parameters
    ----------
    counts
        One count per cell; NaN for a cell with no data (it is taken as a known zero).
    relations
        The additive relations the published tables carry (:class:`Relations`).
    threshold
        Counts from 1 to ``threshold - 1`` are withheld; every relation's withheld parts must
        then sum to at least ``threshold`` (and be two or more), and a withheld total must keep
        at least one withheld part.
    primary
        Cells withheld on their own (default :func:`primary_mask` of ``counts``).
    fixed
        Cells whose status is already decided (e.g. totals published with another table):
        never chosen as complements.
    protection
        The least sum of a relation's withheld parts (default ``threshold``): each withheld
        part then keeps, from that relation alone, a range at least this wide.
    exact
        Also audit the result by linear programming (:func:`talaia.disclosure.feasible_ranges`
        on every withheld cell) and add complements until every withheld cell's exact range is
        at least ``protection`` wide.

    Returns
    -------
    Suppression

    Notes
    -----
    Each pass checks every relation at once (vectorized); a relation that fails takes, as
    complements, its smallest non-zero published parts (ties by cell order, so the result is
    deterministic), or, when none is left, its own total. Passes repeat until no relation
    fails (Hundepool et al. 2012, §4.4; Cox 1980).
    """
    n = len(counts)
    known = np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0)
    first = primary_mask(counts, threshold) if primary is None else np.asarray(primary, bool)
    withheld = first.copy()
    frozen = np.zeros(n, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    unprotected: set[int] = set()
    rel = relations
    need = float(threshold if protection is None else protection)
    rounds = 0
    if len(rel) == 0 or threshold <= 1:
        return Suppression(withheld, first, withheld & ~first, (), 0)
    nonzero_parts = _group_sums((known > 0).astype(np.float64), rel) > 0
    while rounds < max_rounds:
        rounds += 1
        k = _group_sums(withheld.astype(np.float64), rel)
        mass = _group_sums(np.where(withheld, known, 0.0), rel)
        tot = withheld[rel.totals]
        bad = (~tot & (k >= 1) & ((k < 2) | (mass < need))) | (tot & (k == 0) & nonzero_parts)
        todo = [g for g in np.flatnonzero(bad) if g not in unprotected]
        if not todo:
            break
        changed = False
        for g in todo:
            changed |= _fix(int(g), rel, known, withheld, frozen, need, unprotected)
        if not changed:
            break
        if rounds == max_rounds:
            break
    else:  # pragma: no cover - max_rounds reached
        pass
    # chains of relations can pin a cell down more than any one relation does: bound every
    # withheld cell by propagating the relations, and add complements where a range is narrow
    for _ in range(max_rounds):
        low, high = propagate(known, withheld, rel)
        exposed = np.flatnonzero(withheld & (high - low < need) & ~frozen)
        if not exposed.size:
            break
        if not _widen(exposed, rel, known, withheld, frozen):
            unprotected.update(int(g) for g in _groups_of(exposed, rel))
            break
        rounds += 1
        # keep the single-relation rule true after the additions
        k = _group_sums(withheld.astype(np.float64), rel)
        mass = _group_sums(np.where(withheld, known, 0.0), rel)
        tot = withheld[rel.totals]
        bad = (~tot & (k >= 1) & ((k < 2) | (mass < need))) | (tot & (k == 0) & nonzero_parts)
        for g in np.flatnonzero(bad):
            _fix(int(g), rel, known, withheld, frozen, need, unprotected)
    if exact:
        from talaia.disclosure._attack import feasible_ranges

        # Withholding more cells only widens every range, so a cell found safe stays safe:
        # later rounds audit only the cells still exposed and the complements just added.
        suspects = withheld & ~frozen
        for _ in range(max_rounds):
            if not suspects.any():
                break
            before = withheld.copy()
            r = feasible_ranges(known, withheld, rel, cells=suspects, enough=need)
            exposed = r.cells[r.width < need]
            if not exposed.size:
                break
            rounds += 1
            if not _widen(exposed, rel, known, withheld, frozen):
                unprotected.update(int(g) for g in _groups_of(exposed, rel))
                break
            suspects = withheld & ~before
            suspects[exposed] = True
    return Suppression(withheld, first, withheld & ~first, tuple(sorted(unprotected)), rounds)


def _groups_of(cells: np.ndarray, rel: Relations) -> set[int]:
    wanted = np.zeros(int(max(cells.max() + 1, 1)), dtype=bool)
    wanted[cells] = True

    def hit(idx: np.ndarray) -> np.ndarray:
        inside = idx < len(wanted)
        out = np.zeros(len(idx), dtype=bool)
        out[inside] = wanted[idx[inside]]
        return out

    groups = set(np.flatnonzero(hit(rel.totals)).tolist())
    groups.update(rel.group_of_part()[hit(rel.parts)].tolist())
    return groups


def _widen(
    exposed: np.ndarray,
    rel: Relations,
    known: np.ndarray,
    withheld: np.ndarray,
    frozen: np.ndarray,
) -> bool:
    """For each exposed cell, withhold the smallest non-zero published cell of one of its
    relations (the smallest over all of them); True if anything was added."""
    changed = False
    for cell in exposed:
        best = None
        for g in _groups_of(np.array([cell]), rel):
            members = np.concatenate([[rel.totals[g]], rel.members(g)])
            cand = members[~withheld[members] & ~frozen[members] & (known[members] > 0)]
            if cand.size:
                c = cand[np.lexsort((cand, known[cand]))[0]]
                if best is None or (known[c], c) < (known[best], best):
                    best = c
        if best is not None:
            withheld[best] = True
            changed = True
    return changed


def propagate(
    counts: np.ndarray, withheld: np.ndarray, relations: Relations, rounds: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of every cell implied by the relations, by interval propagation.

    Published cells are at their value; withheld ones start at ``[0, inf)`` and are narrowed
    relation by relation until nothing changes (or ``rounds`` passes). The bounds contain the
    exact range (:func:`talaia.disclosure.feasible_ranges`): a cell narrow here is narrow there.
    """
    known = np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0)
    lo = np.where(withheld, 0.0, known)
    hi = np.where(withheld, np.inf, known)
    rel = relations
    if not len(rel):
        return lo, hi
    gid = rel.group_of_part()
    parts, totals = rel.parts, rel.totals
    ng = len(totals)
    for _ in range(rounds):
        p_lo, p_hi = lo[parts], hi[parts]
        s_lo = np.bincount(gid, weights=p_lo, minlength=ng)
        finite = np.isfinite(p_hi)
        s_hi_f = np.bincount(gid, weights=np.where(finite, p_hi, 0.0), minlength=ng)
        n_inf = np.bincount(gid, weights=(~finite).astype(np.float64), minlength=ng)
        t_lo, t_hi = lo[totals], hi[totals]
        # the total lies within the sum of its parts
        new_t_lo = np.maximum(t_lo, s_lo)
        new_t_hi = np.minimum(t_hi, np.where(n_inf > 0, np.inf, s_hi_f))
        # each part lies within the total less the others
        others_lo = s_lo[gid] - p_lo
        others_inf = n_inf[gid] - (~finite)
        others_hi = np.where(others_inf > 0, np.inf, s_hi_f[gid] - np.where(finite, p_hi, 0.0))
        with np.errstate(invalid="ignore"):
            cand_hi = t_hi[gid] - others_lo
            cand_lo = np.where(np.isfinite(others_hi), t_lo[gid] - others_hi, 0.0)
        new_lo, new_hi = lo.copy(), hi.copy()
        np.maximum.at(new_lo, totals, new_t_lo)
        np.minimum.at(new_hi, totals, new_t_hi)
        np.maximum.at(new_lo, parts, np.nan_to_num(cand_lo, nan=0.0))
        np.minimum.at(new_hi, parts, np.nan_to_num(cand_hi, nan=np.inf))
        new_lo = np.where(withheld, np.maximum(new_lo, 0.0), known)
        new_hi = np.where(withheld, new_hi, known)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


def _fix(
    g: int,
    rel: Relations,
    known: np.ndarray,
    withheld: np.ndarray,
    frozen: np.ndarray,
    need: float,
    unprotected: set[int],
) -> bool:
    """Protect relation ``g`` against the current ``withheld`` (in place); True if it changed."""
    members = rel.members(g)
    total = int(rel.totals[g])
    hidden = withheld[members]
    k = int(hidden.sum())
    mass = float(known[members][hidden].sum())
    if withheld[total]:
        if k > 0 or not (known[members] > 0).any():
            return False
        need_k, need_mass = 1, 0.0
    else:
        if k == 0 or (k >= 2 and mass >= need):
            return False
        need_k, need_mass = 2, need
    cand = members[~hidden & ~frozen[members] & (known[members] > 0)]
    if cand.size:
        order = np.lexsort((cand, known[cand]))
        changed = False
        for c in cand[order]:
            if k >= need_k and mass >= need_mass:
                break
            withheld[c] = True
            k += 1
            mass += float(known[c])
            changed = True
        if k >= need_k and mass >= need_mass:
            return changed
    if not withheld[total] and not frozen[total]:
        withheld[total] = True
        return True
    unprotected.add(g)
    return False
