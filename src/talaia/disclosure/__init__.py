"""Statistical disclosure control of published tables: small-count suppression with secondary
(complementary) suppression over linked totals, and the attacker's audit of what a published
table still gives away.

The tables an observatory publishes are linked: a region is the sum of its municipalities, a
year the sum of its quarters, a total the sum of its sex or age categories. Withholding a small
count (*primary* suppression) is not enough when the other terms of such a sum are shown: the
withheld count is recovered by subtraction. :func:`suppress` withholds further cells
(*complementary* suppression) until, in every relation, the withheld cells are at least two and
their sum is at least the threshold, so that subtraction leaves a range at least as wide as the
threshold for each of them. :func:`feasible_ranges` is the attacker: a linear programme over
every published cell and every relation gives, for each withheld cell, the smallest and largest
value consistent with what is shown; a safe table leaves every withheld cell a range of at
least the threshold.

The heuristic is the hypercube-free "smallest complement" rule used for hierarchical tables
(Cox 1980; Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, §4.4): complements
are the smallest non-zero published cells of the relation, so that as little as possible is
lost. It is exact for a single relation and, applied until no relation changes, protects
hierarchical and multi-way tables in practice; :func:`feasible_ranges` checks it.
"""

from talaia.disclosure._attack import Ranges, feasible_ranges
from talaia.disclosure._suppress import Relations, Suppression, primary_mask, propagate, suppress

__all__ = [
    "Ranges",
    "Relations",
    "Suppression",
    "feasible_ranges",
    "primary_mask",
    "propagate",
    "suppress",
]
