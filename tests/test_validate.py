"""The dip test and its helpers: rounding, spread samples, the log-sum of two rows."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from partitive.prepare import rounding_variance
from partitive.validate import dip_test


def test_rounding_is_the_grid_step_of_each_discrete_feature():
    rng = np.random.default_rng(0)
    X = np.column_stack([
        rng.normal(size=500),                      # continuous: no rounding
        np.round(rng.normal(size=500) * 3.0),      # integers
        rng.integers(0, 2, 500) * 0.5 + 0.25,      # a binary flag, values 0.25 and 0.75
    ])
    w = np.ones(500)
    assert_allclose(rounding_variance(X, w), [0.0, 1.0 / 12.0, 0.25 / 12.0])
    # Scale and translation carry over; weights count as rows.
    assert_allclose(rounding_variance(7.0 * X + 3.0, w), 49.0 * rounding_variance(X, w))
    assert_allclose(rounding_variance(X, 2.0 * w), rounding_variance(np.vstack([X, X]), np.ones(1000)))
    assert rounding_variance(X[:, :1], w) is None
    # A stray value off the grid (an imputed mean) does not move the step.
    X[7, 1] = X[:, 1].mean()
    assert_allclose(rounding_variance(X, w)[1:], [1.0 / 12.0, 0.25 / 12.0])


def test_the_dip_reads_a_rounded_gaussian_as_one_mode_and_two_as_two():
    rng = np.random.default_rng(1)
    direction = np.array([0.8766, -0.4811])  # at an angle to the grid
    one = np.round(rng.normal(size=(5_000, 2)) * 0.7)
    two = np.round(rng.normal(size=(5_000, 2)) * 0.7 + np.repeat([[0.0, 0.0], [5.0, -3.0]], 2_500, axis=0))
    for X, bimodal in ((one, False), (two, True)):
        points, counts = np.unique(X, axis=0, return_counts=True)
        t, w = points @ direction, counts.astype(float)
        spread = np.full(t.size, (direction**2).sum() / 12.0)
        # Taken as exact, the grid values' jumps in the ECDF are read as modes.
        assert dip_test(t, w)[1] < 1e-3
        assert (dip_test(t, w, spread, uniform=True)[1] < 1e-3) == bimodal


@given(
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]),
    shift=st.sampled_from([0.0, -500.0, 1e4]),
)
def test_log_sum_of_two_rows_is_scipys_to_the_bit(seed, scale, shift):
    from scipy.special import logsumexp

    from partitive.validate import _log_sum_of_two

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    log_joint = rng.normal(size=(2, n)) * scale + shift
    tie = rng.random(n) < 0.1
    log_joint[1, tie] = log_joint[0, tie]
    assert np.array_equal(_log_sum_of_two(log_joint), logsumexp(log_joint, axis=0))
    log_joint[0, 0] = -np.inf
    assert np.array_equal(_log_sum_of_two(log_joint), logsumexp(log_joint, axis=0))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 200))
def test_weighted_dip_is_the_dip_of_the_rows_repeated(seed, n):
    # Integer weights: the weighted sample is exactly the data with each row repeated.
    from diptest import dipstat

    rng = np.random.default_rng(seed)
    t = np.round(rng.normal(size=n) * rng.choice([1.0, 4.0]), 2)
    w = rng.integers(1, 20, n).astype(float)
    if w.sum() <= 3:
        return
    repeated = np.sort(np.repeat(t, w.astype(int)))
    assert dip_test(t, w)[0] == float(dipstat(repeated, sort_x=False))
