"""Primary and complementary suppression and the attacker's linear programme, on hand-made
tables whose safe patterns and feasible ranges are computed by hand."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from talaia.disclosure import Relations, feasible_ranges, primary_mask, propagate, suppress


def test_primary_mask_keeps_zero_and_no_data():
    c = np.array([0, 1, 4, 5, np.nan, 12.0])
    assert primary_mask(c, 5).tolist() == [False, True, True, False, False, False]


def test_one_relation_needs_a_complement():
    # 100 = 2 + 10 + 88: withholding 2 alone gives it back as 100 - 10 - 88
    c = np.array([100, 2, 10, 88.0])
    rel = Relations.from_groups([(0, [1, 2, 3])])
    s = suppress(c, rel, 5)
    assert s.withheld.tolist() == [False, True, True, False]
    assert s.primary.tolist() == [False, True, False, False]
    assert s.complementary.tolist() == [False, False, True, False]
    r = feasible_ranges(c, s.withheld, rel)
    # the attacker knows x1 + x2 = 12 and both >= 0
    assert_allclose(r.low, [0, 0])
    assert_allclose(r.high, [12, 12])


def test_protection_asks_for_more_mass():
    # 20 = 2 + 3 + 15: 2 and 3 are both small, but together they are 5 < 6 (protection)
    c = np.array([20, 2, 3, 15.0])
    rel = Relations.from_groups([(0, [1, 2, 3])])
    assert suppress(c, rel, 5).withheld.tolist() == [False, True, True, False]
    s = suppress(c, rel, 5, protection=6)
    assert s.withheld.tolist() == [False, True, True, True]


def test_withheld_total_keeps_a_withheld_part():
    # 3 = 3 + 0: the total is small; its only non-zero part must go too
    c = np.array([3, 3, 0.0])
    rel = Relations.from_groups([(0, [1, 2])])
    assert suppress(c, rel, 5).withheld.tolist() == [True, True, False]


def test_fixed_cells_are_never_complements():
    # total 30 is fixed (published elsewhere): complements come from the parts only
    c = np.array([30, 1, 9, 20.0])
    rel = Relations.from_groups([(0, [1, 2, 3])])
    fixed = np.array([True, False, False, False])
    s = suppress(c, rel, 5, fixed=fixed)
    assert s.withheld.tolist() == [False, True, True, False] and s.unprotected == ()


def test_two_way_table_is_not_recomputed():
    # a 2 x 2 table with its margins: a=2 is small
    #   a  b | R1        2  30 | 32
    #   c  d | R2       40   3 | 43
    #   C1 C2| T        42  33 | 75
    vals = np.array([2, 30, 40, 3, 32, 43, 42, 33, 75.0])
    rel = Relations.from_groups(
        [(4, [0, 1]), (5, [2, 3]), (6, [0, 2]), (7, [1, 3]), (8, [4, 5]), (8, [6, 7])]
    )
    s = suppress(vals, rel, 5, protection=6, exact=True)
    assert s.withheld[:4].all() and not s.withheld[4:].any()
    r = feasible_ranges(vals, s.withheld, rel)
    # a in [max(0, C1 - R2), min(R1, C1)] = [0, 32]; d = R2 - C1 + a in [1, 33]
    assert_allclose(r.low, [0, 0, 10, 1])
    assert_allclose(r.high, [32, 32, 42, 33])
    lo, hi = propagate(vals, s.withheld, rel)
    assert (lo[s.withheld] <= r.low + 1e-9).all() and (hi[s.withheld] >= r.high - 1e-9).all()


@st.composite
def hierarchies(draw):  # type: ignore[no-untyped-def]
    """A country of regions of municipalities over a year of quarters: random small counts."""
    regions = draw(st.integers(2, 4))
    munis = draw(st.integers(2, 4))
    counts = draw(
        st.lists(st.integers(0, 12), min_size=regions * munis * 4, max_size=regions * munis * 4)
    )
    return regions, munis, counts


@given(hierarchies())
@settings(max_examples=60, deadline=None, derandomize=True)
def test_exact_suppression_leaves_every_withheld_cell_a_wide_range(h):
    regions, munis, base = h
    # cells: (area, period) for area in [country, regions, munis], period in [year, q1..q4]
    areas = ["N"] + [f"R{r}" for r in range(regions)]
    areas += [f"R{r}M{m}" for r in range(regions) for m in range(munis)]
    idx = {(a, p): i for i, (a, p) in enumerate((a, p) for a in areas for p in range(5))}
    v = np.zeros(len(idx))
    k = 0
    for r in range(regions):
        for m in range(munis):
            for q in range(1, 5):
                v[idx[(f"R{r}M{m}", q)]] = base[k]
                k += 1
    groups = []
    for p in range(5):
        groups.append((idx[("N", p)], [idx[(f"R{r}", p)] for r in range(regions)]))
        for r in range(regions):
            groups.append((idx[(f"R{r}", p)], [idx[(f"R{r}M{m}", p)] for m in range(munis)]))
    for a in areas:
        groups.append((idx[(a, 0)], [idx[(a, q)] for q in range(1, 5)]))
    rel = Relations.from_groups(groups)
    # fill the totals bottom-up
    for total, parts in reversed(groups[: 5 * (1 + regions)]):
        v[total] = v[parts].sum()
    for a in areas:
        v[idx[(a, 0)]] = sum(v[idx[(a, q)]] for q in range(1, 5))
    s = suppress(v, rel, 5, protection=6, exact=True)
    assert not (primary_mask(v, 5) & ~s.withheld).any()
    r = feasible_ranges(v, s.withheld, rel)
    if s.unprotected == ():
        assert (r.width > 5).all(), (r.cells, r.low, r.high)
