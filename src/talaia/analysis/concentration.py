"""Crime concentration at places and repeat victimization.

- Share of incidents in the top 1 / 5 / 10 % of places (Weisburd 2015, "The law of crime
  concentration and the criminology of place", *Criminology* 53, 133–157). The top ``p`` % is the
  ``ceil(p/100 · n_places)`` places with most incidents; places with no incident must be included
  (they are places, with count 0).
- Lorenz curve and Gini coefficient ``G = Σ_i (2i − n − 1) x_(i) / (n Σ x)`` (ascending order).
- Generalized Gini for sparse counts (Bernasco & Steenbeek 2017, "More places than crimes",
  *J. Quant. Criminol.* 33, 451–467): when there are fewer crimes ``C`` than places ``n``,
  observed concentration is compared with *maximal* equality (each crime at a different place):
  ``G' = max(1, n/C) · (G − 1) + 1``; equal to ``G`` when ``C >= n``. The small-sample
  ("unbiased") version multiplies by ``m/(m − 1)``, ``m = min(n, C)`` (Deltas 2003), as in their
  R package ``lorenzgini``.
- Repeat victimization: the share of incidents that follow an earlier incident at the same place
  within ``N`` days (Farrell & Pease 1993; Johnson 2008).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Concentration:
    """Concentration of incidents over places.

    Attributes
    ----------
    n_places, n_incidents
        Places counted (zeros included) and incidents.
    top_shares
        ``{percent: share of incidents in the top percent of places}`` (shares in [0, 1]).
    places_for_half
        Smallest share of places that holds at least 50 % of the incidents.
    gini, gini_generalized, gini_generalized_unbiased
        Standard Gini, Bernasco & Steenbeek's generalized Gini, and its small-sample version.
    lorenz_places, lorenz_incidents
        Lorenz curve points (cumulative shares, places ordered from most to least incidents,
        starting at (0, 0)).
    """

    n_places: int
    n_incidents: int
    top_shares: dict[float, float]
    places_for_half: float
    gini: float
    gini_generalized: float
    gini_generalized_unbiased: float
    lorenz_places: np.ndarray
    lorenz_incidents: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "concentration",
            "n_places": self.n_places,
            "n_incidents": self.n_incidents,
            "top_shares": {str(k): v for k, v in self.top_shares.items()},
            "places_for_half": self.places_for_half,
            "gini": self.gini,
            "gini_generalized": self.gini_generalized,
            "gini_generalized_unbiased": self.gini_generalized_unbiased,
            "lorenz": {
                "places": self.lorenz_places.tolist(),
                "incidents": self.lorenz_incidents.tolist(),
            },
        }


def gini(counts: np.ndarray) -> float:
    """Standard (biased) Gini coefficient of non-negative counts."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def generalized_gini(counts: np.ndarray, unbiased: bool = False) -> float:
    """Bernasco & Steenbeek's (2017) generalized Gini ``max(1, n/C)(G − 1) + 1``."""
    x = np.asarray(counts, dtype=np.float64)
    n = x.size
    c = x.sum()
    g = gini(x)
    if not np.isfinite(g):
        return g
    gg = max(1.0, n / c) * (g - 1.0) + 1.0
    if unbiased:
        m = min(n, c)
        gg = gg * m / (m - 1) if m > 1 else float("nan")
    return float(gg)


def concentration(
    counts: np.ndarray, top_percents: Sequence[float] = (1.0, 5.0, 10.0)
) -> Concentration:
    """Concentration statistics of incident counts per place (zeros included).

    Parameters
    ----------
    counts
        Incidents per place, one entry per place (places without incidents as 0).
    top_percents
        Percentages of places for the top shares.
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("counts must be a non-empty 1-D array")
    if (x < 0).any() or not np.isfinite(x).all():
        raise ValueError("counts must be finite and non-negative")
    n = x.size
    total = x.sum()
    desc = np.sort(x)[::-1]
    cum = np.concatenate([[0.0], np.cumsum(desc)])
    shares = cum / total if total > 0 else np.full(cum.size, np.nan)
    top = {}
    for p in top_percents:
        k = int(np.ceil(p / 100.0 * n - 1e-9))
        top[float(p)] = float(shares[k])
    half = int(np.searchsorted(shares, 0.5 - 1e-12)) if total > 0 else 0
    lp = np.arange(n + 1) / n
    lp.setflags(write=False)
    shares.setflags(write=False)
    return Concentration(
        n_places=n,
        n_incidents=round(total),
        top_shares=top,
        places_for_half=float(half / n) if total > 0 else float("nan"),
        gini=gini(x),
        gini_generalized=generalized_gini(x),
        gini_generalized_unbiased=generalized_gini(x, unbiased=True),
        lorenz_places=lp,
        lorenz_incidents=shares,
    )


@dataclass(frozen=True, eq=False)
class RepeatVictimization:
    """Repeats at the same place within a time window.

    Attributes
    ----------
    window_days
        ``N``: an incident is a repeat when the previous incident at the same place (in time
        order) happened at most ``N`` days before it (``0 <= Δt <= N``).
    n_incidents, n_repeats, repeat_share
        Incidents, repeats and their share.
    n_places, n_repeat_places
        Places with at least one incident, and with at least one repeat.
    """

    window_days: float
    n_incidents: int
    n_repeats: int
    repeat_share: float
    n_places: int
    n_repeat_places: int

    def to_dict(self) -> dict[str, Any]:
        return {"method": "repeat_victimization", **self.__dict__}


def repeat_victimization(
    place: np.ndarray, t: np.ndarray, window_days: float
) -> RepeatVictimization:
    """Share of incidents preceded by another at the same place within ``window_days``.

    Parameters
    ----------
    place
        Place identifier of each incident (any hashable dtype: address id, rounded location id).
    t
        Time of each incident in days.
    window_days
        The window ``N``.
    """
    place = np.asarray(place)
    t = np.asarray(t, dtype=np.float64)
    if place.shape != t.shape:
        raise ValueError("place and t must have the same length")
    n = t.size
    if n == 0:
        return RepeatVictimization(float(window_days), 0, 0, float("nan"), 0, 0)
    _, pid = np.unique(place, return_inverse=True)
    order = np.lexsort((t, pid))
    ps, ts = pid[order], t[order]
    same = np.concatenate([[False], ps[1:] == ps[:-1]])
    gap = np.concatenate([[np.inf], np.diff(ts)])
    rep = same & (gap <= window_days)
    n_rep = int(rep.sum())
    return RepeatVictimization(
        window_days=float(window_days),
        n_incidents=n,
        n_repeats=n_rep,
        repeat_share=n_rep / n,
        n_places=int(np.unique(ps).size),
        n_repeat_places=int(np.unique(ps[rep]).size),
    )
