import numpy as np
from numpy.testing import assert_allclose
from scipy.stats import binomtest

from talaia.stats import binomial_two_sided_p, compare_poisson


def test_two_sided_binomial_matches_scipy():
    rng = np.random.default_rng(7)
    n = rng.integers(1, 400, 300)
    p = rng.uniform(0.05, 0.95, 300)
    k = rng.binomial(n, p * rng.uniform(0.6, 1.4, 300).clip(0, 1 / p.max()))
    k = np.minimum(k, n)
    got = binomial_two_sided_p(k, n, p)
    want = [binomtest(int(a), int(b), float(c)).pvalue for a, b, c in zip(k, n, p, strict=True)]
    assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_c_test_is_conditional_binomial():
    # 30 events over 1.0 exposure vs 15 over 1.2: k1 | 45 ~ Bin(45, 1/2.2)
    res = compare_poisson(30, 1.0, 15, 1.2)
    assert_allclose(res.p_value, binomtest(30, 45, 1 / 2.2).pvalue, rtol=1e-10)
    assert_allclose(res.rate_ratio, 30 / 15 * 1.2)
    assert res.ratio_low < res.rate_ratio < res.ratio_high
    assert res.significant().item()


def test_c_test_edge_cases():
    res = compare_poisson([0, 5, 0], [1, 1, 1], [0, 0, 5], [1, 1, 1])
    assert res.p_value[0] == 1.0 and np.isnan(res.rate_ratio[0])
    assert np.isinf(res.rate_ratio[1]) and np.isinf(res.ratio_high[1])
    assert res.rate_ratio[2] == 0 and res.ratio_low[2] == 0
    assert_allclose(res.p_value[1], binomtest(5, 5, 0.5).pvalue)


def test_rate_ratio_interval_is_exact():
    # The interval bounds are the ratios whose one-sided tail probabilities equal 2.5%
    from scipy.stats import binom

    res = compare_poisson(12, 2.0, 20, 2.0)
    n = 32
    p_lo = res.ratio_low / (1 + res.ratio_low)
    p_hi = res.ratio_high / (1 + res.ratio_high)
    assert_allclose(binom.sf(11, n, p_lo), 0.025, rtol=1e-6)
    assert_allclose(binom.cdf(12, n, p_hi), 0.025, rtol=1e-6)
