import numpy as np
import pytest
from numpy.testing import assert_allclose

from talaia.stats import annualize, poisson_interval, rate, wilson_interval


def test_garwood_tabulated_values():
    # Garwood (1936) exact 95% limits, as tabulated (e.g. Ulm 1990, Table 1)
    ci = poisson_interval([0, 1, 2, 10])
    assert_allclose(ci.low, [0.0, 0.0253, 0.2422, 4.7954], atol=6e-5)
    assert_allclose(ci.high, [3.6889, 5.5716, 7.2247, 18.3904], atol=6e-5)


def test_garwood_negative_rejected():
    with pytest.raises(ValueError):
        poisson_interval([-1])


def test_rate_per_100k_and_annualized():
    # 10 homicides in a population of 250,000 over a full year: 4 per 100k, limits scaled
    r = rate(10, 250_000)
    assert_allclose(r.rate, 4.0)
    assert_allclose([r.low, r.high], [4.7954 / 2.5, 18.3904 / 2.5], atol=1e-4)
    # the same 10 events in one quarter: annualized rate x4
    q = rate(10, 250_000, year_fraction=0.25)
    assert_allclose(q.rate, 16.0)
    assert_allclose(annualize(4.0, 0.25), 16.0)
    # no population -> NaN, never a number
    assert np.isnan(rate(3, 0).rate)


def test_annualize_rejects_zero_fraction():
    with pytest.raises(ValueError):
        annualize(1.0, 0.0)


def test_wilson_newcombe_1998_examples():
    # Newcombe (1998) Table II, method 3 (Wilson score without continuity correction)
    est = wilson_interval([81, 15, 0, 1], [263, 148, 20, 29])
    assert_allclose(est.low, [0.2553, 0.0624, 0.0, 0.0061], atol=6e-5)
    assert_allclose(est.high, [0.3662, 0.1605, 0.1611, 0.1718], atol=6e-5)
    assert_allclose(est.proportion, [81 / 263, 15 / 148, 0, 1 / 29])


def test_wilson_empty_denominator_is_nan():
    est = wilson_interval([0], [0])
    assert np.isnan(est.proportion[0]) and np.isnan(est.low[0])
    with pytest.raises(ValueError):
        wilson_interval([3], [2])
