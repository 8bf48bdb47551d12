import numpy as np
from numpy.testing import assert_allclose

from talaia.stats import eb_global, eb_local, history_outliers

# Hand computation of Marshall (1991) on y = [5, 40, 1], n = [1000, 4000, 1000]:
# b = 46/6000 = 0.00766667; r = [0.005, 0.01, 0.001]
# s2 = (1000*(0.005-b)^2 + 4000*(0.01-b)^2 + 1000*(0.001-b)^2)/6000 = 1.222222e-5
# nbar = 2000, a = s2 - b/nbar = 8.388889e-6
# C = a/(a + b/n) = [0.5224913, 0.8140162, 0.5224913]
# smoothed = b + C (r - b) = [0.00627336, 0.00956604, 0.00418339]
Y = [5, 40, 1]
N = [1000, 4000, 1000]


def test_marshall_global_hand_computed():
    s = eb_global(Y, N)
    assert_allclose(s.prior_mean, 46 / 6000)
    assert_allclose(s.prior_variance, 8.388889e-6, rtol=1e-6)
    assert_allclose(s.shrinkage, [0.5224913, 0.8140162, 0.5224913], rtol=1e-6)
    assert_allclose(s.smoothed, [0.00627336, 0.00956604, 0.00418339], rtol=1e-5)
    assert_allclose(s.raw, [0.005, 0.01, 0.001])


def test_marshall_no_extra_variation_shrinks_to_mean():
    s = eb_global([2, 8, 0], [1000, 2000, 500])  # s2 < b/nbar -> a = 0
    assert_allclose(s.shrinkage, 0)
    assert_allclose(s.smoothed, 10 / 3500)


def test_groups_and_local_with_full_neighbourhood_equal_global():
    y = np.array(Y + Y)
    n = np.array(N + N)
    g = eb_global(y, n, groups=[0, 0, 0, 1, 1, 1])
    assert_allclose(g.smoothed, np.tile(eb_global(Y, N).smoothed, 2))
    w = np.kron(np.eye(2), np.ones((3, 3)))
    loc = eb_local(y, n, w)
    assert_allclose(loc.smoothed, g.smoothed)


def test_outlier_flags_surge_not_missing_month():
    series = np.array([[10.0] * 12 + [np.nan, 40.0, 10.0]])
    t = history_outliers(series)
    assert t.flagged[0].tolist() == [False] * 13 + [True, False]
    assert_allclose(t.expected[0, 13], 110.5 / 11)  # 11 delivered months; Jeffreys +0.5
    assert np.isnan(t.p_high[0, 12])  # a missing month is not tested, not a fall
