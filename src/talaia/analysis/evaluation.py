"""Evaluation of hotspot maps: PAI, PEI and RRI.

A hotspot map flags some cells (or areas) of a study region as hot. With ``n`` incidents of the
evaluation period inside the flagged cells, ``N`` in the whole region, ``a`` the flagged area and
``A`` the whole area:

- Prediction Accuracy Index (Chainey, Tompson & Uhlig 2008, *Security Journal* 21, 4–28):
  ``PAI = (n/N) / (a/A)``, the hit rate over the area share.
- Prediction Efficiency Index (Hunt 2016, *Do crime hot spots move?*; Drawve 2016): the hits over
  the most that an area of the same size could have captured, ``PEI = n / n*``, with ``n*`` the
  incidents in the same number of cells holding most incidents of the evaluation period
  (equal-sized cells). Equivalently ``PAI / PAI*``.
- Recapture Rate Index (Levine 2008, *CrimeStat III* ch. 9): ``RRI = (n2/n1) / (N2/N1)``, the
  growth of incidents in the hot cells from the period that made the map (1) to the next (2)
  relative to the whole region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class HotspotEvaluation:
    """Accuracy of a hotspot map against the incidents of an evaluation period.

    Attributes
    ----------
    hit_rate
        ``n/N``.
    area_share
        ``a/A``.
    pai, pei, rri
        Indices (NaN when undefined: no incidents, or no incidents in period 1 for RRI).
    n_hits, n_total, n_max_hits, hot_cells
        ``n``, ``N``, ``n*`` and the number of flagged cells.
    """

    hit_rate: float
    area_share: float
    pai: float
    pei: float
    rri: float
    n_hits: int
    n_total: int
    n_max_hits: int
    hot_cells: int

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in {"method": "hotspot_evaluation", **self.__dict__}.items()
        }


def evaluate_hotspots(
    hot: np.ndarray,
    counts_eval: np.ndarray,
    counts_train: np.ndarray | None = None,
    cell_area: np.ndarray | None = None,
) -> HotspotEvaluation:
    """PAI, PEI and RRI of a hotspot map.

    Parameters
    ----------
    hot
        Boolean flag per cell: the hotspot map (e.g. Gi* hot spots of period 1).
    counts_eval
        Incidents per cell in the evaluation period (period 2).
    counts_train
        Incidents per cell in the period that made the map (period 1), for RRI.
    cell_area
        Area of each cell (default: equal cells). PEI assumes equal cells.
    """
    hot = np.asarray(hot, dtype=bool)
    c2 = np.asarray(counts_eval, dtype=np.float64)
    if hot.shape != c2.shape:
        raise ValueError("hot and counts_eval must have the same shape")
    area = np.ones(hot.size) if cell_area is None else np.asarray(cell_area, float)
    n = float(c2[hot].sum())
    total = float(c2.sum())
    a_share = float(area[hot].sum() / area.sum())
    hit = n / total if total > 0 else float("nan")
    pai = hit / a_share if a_share > 0 else float("nan")
    k = int(hot.sum())
    n_star = float(np.sort(c2)[::-1][:k].sum())
    pei = n / n_star if n_star > 0 else float("nan")
    rri = float("nan")
    if counts_train is not None:
        c1 = np.asarray(counts_train, dtype=np.float64)
        n1, big_n1 = float(c1[hot].sum()), float(c1.sum())
        if n1 > 0 and big_n1 > 0 and total > 0:
            rri = (n / n1) / (total / big_n1)
    return HotspotEvaluation(
        hit_rate=hit,
        area_share=a_share,
        pai=pai,
        pei=pei,
        rri=rri,
        n_hits=round(n),
        n_total=round(total),
        n_max_hits=round(n_star),
        hot_cells=k,
    )
