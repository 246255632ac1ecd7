"""The chi-squared and normal distribution functions of the tests, as calls of the
special functions that ``scipy.stats`` evaluates them with: the same values for
float64 arguments and degrees of freedom above 0 (the tests' only ones).

The tests call them on single numbers thousands of times in a fit; ``scipy.stats``
spends some 50-100 us a call checking and broadcasting its arguments around a special
function that takes about 1 us.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def chi2_cdf(x, df):
    """``scipy.stats.chi2.cdf(x, df)``."""
    return special.chdtr(df, np.maximum(x, 0.0))


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``."""
    return special.chdtrc(df, np.maximum(x, 0.0))


def chi2_ppf(q, df):
    """``scipy.stats.chi2.ppf(q, df)``."""
    return 2.0 * special.gammaincinv(df / 2.0, q)


def norm_cdf(x):
    """``scipy.stats.norm.cdf(x)``."""
    return special.ndtr(x)


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``."""
    return special.ndtr(-x)


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)``."""
    return special.ndtri(q)


def norm_isf(q):
    """``scipy.stats.norm.isf(q)``."""
    return -special.ndtri(q)
