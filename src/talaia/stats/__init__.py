"""Pure statistics for crime indicators: intervals, rates, comparisons, smoothing, outliers.

NumPy/SciPy only; every function is vectorized and returns a frozen result object.
"""

from talaia.stats.comparison import PoissonComparison, binomial_two_sided_p, compare_poisson
from talaia.stats.intervals import (
    PER_100K,
    CountInterval,
    ProportionEstimate,
    RateEstimate,
    annualize,
    poisson_interval,
    rate,
    wilson_interval,
)
from talaia.stats.outliers import OutlierTest, history_outliers
from talaia.stats.smoothing import SmoothedRates, eb_global, eb_local

__all__ = [
    "PER_100K",
    "CountInterval",
    "OutlierTest",
    "PoissonComparison",
    "ProportionEstimate",
    "RateEstimate",
    "SmoothedRates",
    "annualize",
    "binomial_two_sided_p",
    "compare_poisson",
    "eb_global",
    "eb_local",
    "history_outliers",
    "poisson_interval",
    "rate",
    "wilson_interval",
]
