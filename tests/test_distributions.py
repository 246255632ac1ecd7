"""The distribution functions of the tests give scipy.stats' values, bit for bit."""

import numpy as np
import pytest
from scipy import stats

from partitive import distributions as d

X = np.r_[np.nan, -5.0, -1e-300, 0.0, 1e-10, np.linspace(0.01, 60, 97), 1e5, np.inf]
Q = np.r_[np.nan, 0.0, 1e-12, np.linspace(0.001, 0.999, 99), 1 - 1e-12, 1.0]


def same(a, b):
    return np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("df", [0.5, 1, 2, 3.7, 10, 66, 1000])
def test_chi_squared_functions_are_scipy_stats(df):
    assert same(d.chi2_cdf(X, df), stats.chi2.cdf(X, df))
    assert same(d.chi2_sf(X, df), stats.chi2.sf(X, df))
    assert same(d.chi2_ppf(Q, df), stats.chi2.ppf(Q, df))
    # Single numbers, as the tests pass them.
    assert d.chi2_sf(3.0, df) == stats.chi2.sf(3.0, df) and d.chi2_ppf(0.9, df) == stats.chi2.ppf(0.9, df)


def test_normal_functions_are_scipy_stats():
    z = np.r_[np.nan, -np.inf, -40.0, np.linspace(-8, 8, 161), 40.0, np.inf]
    assert same(d.norm_cdf(z), stats.norm.cdf(z))
    assert same(d.norm_sf(z), stats.norm.sf(z))
    assert same(d.norm_ppf(Q), stats.norm.ppf(Q))
    assert same(d.norm_isf(Q), stats.norm.isf(Q))
