"""The attacker's audit: how far a published table pins down each withheld cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talaia.disclosure._suppress import Relations


@dataclass(frozen=True, slots=True)
class Ranges:
    """Feasible range of every withheld cell given everything published.

    Attributes
    ----------
    cells
        Indices of the withheld cells.
    low, high
        Smallest and largest value each can take (``inf`` when nothing bounds it above).
    """

    cells: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def width(self) -> np.ndarray:
        return self.high - self.low


def feasible_ranges(
    counts: np.ndarray,
    withheld: np.ndarray,
    relations: Relations,
    cells: np.ndarray | None = None,
) -> Ranges:
    """Bound each withheld cell by linear programming over the published cells.

    Parameters
    ----------
    counts
        The true counts (NaN = no data, a known zero); only the published ones are used.
    withheld
        Boolean mask of the cells not published.
    relations
        The additive relations an attacker knows the table satisfies.
    cells
        Only bound these withheld cells (boolean mask; default every withheld cell).

    Returns
    -------
    Ranges

    Notes
    -----
    For each withheld cell, two linear programmes (minimize and maximize the cell subject to
    every relation, with the published cells at their values and every cell non-negative),
    solved with HiGHS (:func:`scipy.optimize.linprog`) on each connected component of the
    relations among withheld cells. This is the audit of Hundepool et al. (2012, §4.3):
    a cell is exposed when its range is narrower than the protection asked for.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    known = np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0)
    hidden = np.flatnonzero(withheld)
    wanted = np.ones(len(hidden), dtype=bool) if cells is None else np.asarray(cells)[hidden]
    var = np.full(len(known), -1, dtype=np.int64)
    var[hidden] = np.arange(len(hidden))
    low = np.zeros(len(hidden))
    high = np.full(len(hidden), np.inf)
    if not len(hidden):
        return Ranges(hidden[wanted], low[wanted], high[wanted])
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []
    r = 0
    for g in range(len(relations)):
        members = relations.members(g)
        total = int(relations.totals[g])
        terms = np.concatenate([[total], members])
        coef = np.concatenate([[-1.0], np.ones(len(members))])
        h = withheld[terms]
        if not h.any():
            continue
        rows.extend([r] * int(h.sum()))
        cols.extend(var[terms[h]].tolist())
        vals.extend(coef[h].tolist())
        rhs.append(-float((coef[~h] * known[terms[~h]]).sum()))
        r += 1
    if r == 0:
        return Ranges(hidden[wanted], low[wanted], high[wanted])
    a = coo_matrix((vals, (rows, cols)), shape=(r, len(hidden))).tocsr()
    b = np.asarray(rhs)
    # variables linked through a relation are in one component
    link = (a.T @ a).tocsr()
    _, comp = connected_components(link, directed=False)
    for c in np.unique(comp[wanted]):
        vs = np.flatnonzero(comp == c)
        sub_rows = np.unique(a[:, vs].nonzero()[0])
        if not len(sub_rows):
            continue
        sub = a[sub_rows][:, vs]
        for j, v in enumerate(vs):
            if not wanted[v]:
                continue
            obj = np.zeros(len(vs))
            obj[j] = 1.0
            lo = linprog(obj, A_eq=sub, b_eq=b[sub_rows], bounds=(0, None), method="highs")
            hi = linprog(-obj, A_eq=sub, b_eq=b[sub_rows], bounds=(0, None), method="highs")
            if lo.status == 0:
                low[v] = lo.fun
            if hi.status == 0:
                high[v] = -hi.fun
            elif hi.status == 3:  # unbounded
                high[v] = np.inf
    return Ranges(hidden[wanted], low[wanted], high[wanted])
