"""Concentration (Bernasco & Steenbeek 2017 worked values), repeats, PAI/PEI/RRI by hand."""

from __future__ import annotations

import numpy as np
import pytest

from talaia.analysis.concentration import (
    concentration,
    generalized_gini,
    gini,
    repeat_victimization,
)
from talaia.analysis.evaluation import evaluate_hotspots


def test_gini_worked_examples_of_bernasco_and_steenbeek() -> None:
    # lorenzgini (Bernasco & Steenbeek's R package) documents these values.
    a = [10, 8, 2] + [0] * 7  # 20 crimes, 10 places: G = G' = 0.78
    assert gini(a) == pytest.approx(0.78)
    assert generalized_gini(a) == pytest.approx(0.78)
    b = [5, 2, 1] + [0] * 7  # 8 crimes, 10 places: G = 0.80, G' = 0.75
    assert gini(b) == pytest.approx(0.80)
    assert generalized_gini(b) == pytest.approx(0.75)
    c = [10] + [0] * 9  # all in one place: G = 0.9; small-sample corrected G' = 1
    assert gini(c) == pytest.approx(0.9)
    assert generalized_gini(c, unbiased=True) == pytest.approx(1.0)
    # By hand: 3+1+1 crimes over 10 places: G = (5·1 + 7·1 + 9·3)/(10·5) = 0.78 and
    # G' = (10/5)(0.78 − 1) + 1 = 0.56.
    d = [3, 1, 1] + [0] * 7
    assert gini(d) == pytest.approx(0.78)
    assert generalized_gini(d) == pytest.approx(0.56)
    # Maximal equality given the data (each crime in its own place) gives G' = 0.
    assert generalized_gini([1] * 5 + [0] * 45) == pytest.approx(0.0)


def test_top_shares_lorenz_and_half() -> None:
    counts = np.array([50, 50] + [5] * 18 + [0] * 180)
    res = concentration(counts)
    assert res.n_places == 200 and res.n_incidents == 190
    assert res.top_shares[1.0] == pytest.approx(100 / 190)
    assert res.top_shares[5.0] == pytest.approx(140 / 190)
    assert res.top_shares[10.0] == pytest.approx(1.0)
    assert res.places_for_half == pytest.approx(2 / 200)
    assert res.lorenz_places[0] == 0 and res.lorenz_incidents[-1] == pytest.approx(1.0)
    assert res.lorenz_incidents[2] == pytest.approx(100 / 190)
    d = res.to_dict()
    assert d["top_shares"]["5.0"] == pytest.approx(140 / 190)


def test_repeat_victimization_by_hand() -> None:
    place = np.array(["A", "A", "B", "A", "B", "C"])
    t = np.array([0.0, 3.0, 5.0, 20.0, 5.0, 1.0])
    r = repeat_victimization(place, t, window_days=7)
    # A: 0, 3 (repeat, 3 d), 20 (17 d, no); B: 5, 5 (repeat, 0 d); C: single.
    assert (r.n_incidents, r.n_repeats, r.n_places, r.n_repeat_places) == (6, 2, 3, 2)
    assert r.repeat_share == pytest.approx(2 / 6)
    assert repeat_victimization(place, t, window_days=20).n_repeats == 3


def test_pai_pei_rri_by_hand() -> None:
    eval_counts = np.array([5, 3, 0, 0, 2, 0, 0, 0, 0, 0])
    train_counts = np.array([4, 4, 2, 2, 2, 2, 1, 1, 1, 1])
    hot = np.zeros(10, bool)
    hot[[0, 1]] = True
    e = evaluate_hotspots(hot, eval_counts, train_counts)
    # n = 8 of N = 10 in 2 of 10 cells: PAI = 0.8/0.2 = 4; best 2 cells hold 8: PEI = 1;
    # RRI = (8/8) / (10/20) = 2
    assert (e.pai, e.pei, e.rri) == (pytest.approx(4.0), pytest.approx(1.0), pytest.approx(2.0))
    hot = np.zeros(10, bool)
    hot[[0, 4]] = True
    e = evaluate_hotspots(hot, eval_counts, train_counts)
    # n = 7: PAI = 0.7/0.2 = 3.5; PEI = 7/8; RRI = (7/6)/(10/20)
    assert e.pai == pytest.approx(3.5)
    assert e.pei == pytest.approx(0.875)
    assert e.rri == pytest.approx((7 / 6) / 0.5)
    assert e.to_dict()["n_max_hits"] == 8
    # unequal areas: a/A = (1 + 3)/(1+3+8·1) ... PAI uses the area share
    area = np.array([1, 1, 1, 1, 3, 1, 1, 1, 1, 1], float)
    e = evaluate_hotspots(hot, eval_counts, cell_area=area)
    assert e.area_share == pytest.approx(4 / 12)
    assert e.pai == pytest.approx(0.7 / (4 / 12))
