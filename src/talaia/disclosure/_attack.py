"""The attacker's audit: how far a published table pins down each withheld cell."""

from __future__ import annotations

import os
import sys
import threading
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
    enough: float | None = None,
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
    enough
        Screening: a cell whose largest value exceeds its true value by at least ``enough``
        already has a range that wide (the true value is feasible), so its smallest value is
        not computed and ``low`` is the true value (``width`` is then a lower bound).

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
        if len(vs) == 1:  # one unknown in an equation: it is determined
            v = vs[0]
            coef = sub.toarray()[:, 0]
            k = int(np.flatnonzero(coef)[0])
            low[v] = high[v] = b[sub_rows][k] / coef[k]
            continue
        solve = _Solver(sub.tocsc(), b[sub_rows])
        for j, v in enumerate(vs):
            if not wanted[v]:
                continue
            high[v] = solve.bound(j, maximize=True)
            true = known[hidden[v]]
            if enough is not None and high[v] - true >= enough:
                low[v] = true
                continue
            low[v] = solve.bound(j, maximize=False)
    return Ranges(hidden[wanted], low[wanted], high[wanted])


_BANNER = threading.Lock()
_banner_done = False


def _quiet_banner(highspy) -> None:
    """HiGHS writes its banner to standard output once per process, when the first model is
    made: make that first model with standard output sent to the null device."""
    global _banner_done
    with _BANNER:
        if _banner_done:
            return
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_done = True


class _Solver:
    """min / max of one variable over ``{x >= 0 : A x = b}``: one HiGHS model per component,
    re-solved from the last basis with a new objective (``highspy``); SciPy's ``linprog``
    (also HiGHS) where ``highspy`` is not installed."""

    def __init__(self, a, b: np.ndarray) -> None:
        self.a, self.b = a, b
        self.n = a.shape[1]
        try:
            import highspy
        except ImportError:  # pragma: no cover - highspy is a dependency
            self.h = None
            return
        _quiet_banner(highspy)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = a.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.full(self.n, highspy.kHighsInf)
        lp.row_lower_ = np.asarray(b, dtype=np.float64)
        lp.row_upper_ = np.asarray(b, dtype=np.float64)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(np.float64)
        h.passModel(lp)
        self.h = h
        self.status = highspy.HighsModelStatus

    def bound(self, j: int, *, maximize: bool) -> float:
        if self.h is None:  # pragma: no cover
            from scipy.optimize import linprog

            obj = np.zeros(self.n)
            obj[j] = -1.0 if maximize else 1.0
            res = linprog(obj, A_eq=self.a, b_eq=self.b, bounds=(0, None), method="highs")
            if res.status == 3:
                return np.inf if maximize else 0.0
            return float(-res.fun if maximize else res.fun) if res.status == 0 else np.nan
        h = self.h
        h.changeColCost(j, -1.0 if maximize else 1.0)
        h.run()
        st = h.getModelStatus()
        val = h.getInfo().objective_function_value
        h.changeColCost(j, 0.0)
        if st == self.status.kOptimal:
            return float(-val if maximize else val)
        if st in (self.status.kUnbounded, self.status.kUnboundedOrInfeasible):
            return np.inf if maximize else 0.0
        return np.nan
