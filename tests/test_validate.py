"""The one-Gaussian check behind diagonal mixture evidence (Mardia's tests)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.stats import special_ortho_group

from partitive.prepare import rounding_variance
from partitive.validate import dip_test, flat_top_p, looks_gaussian, mardia_p_values


def skewed_cloud(seed, n=400, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 0] += rng.exponential(size=n)
    return X


def test_p_values_do_not_depend_on_rotation_translation_or_scale():
    X = skewed_cloud(0)
    w = np.ones(len(X))
    expected = mardia_p_values(X, w)
    assert 1e-6 < min(expected) < 0.5  # a case where the statistics matter
    for seed in range(3):
        R = special_ortho_group.rvs(X.shape[1], random_state=seed)
        assert_allclose(mardia_p_values(3.7 * X @ R + 11.0, w), expected, rtol=1e-7)


def test_duplicating_every_row_is_weight_two():
    X = skewed_cloud(1)
    twice = mardia_p_values(np.vstack([X, X]), np.ones(2 * len(X)))
    assert_allclose(mardia_p_values(X, np.full(len(X), 2.0)), twice, rtol=1e-9)


def test_more_features_than_points_matches_the_points_own_span():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 200)) @ np.diag(np.geomspace(5.0, 1.0, 200))
    X[:, 0] += rng.exponential(size=60)
    w = np.ones(60)
    basis, _ = np.linalg.qr((X - X.mean(axis=0)).T)  # 200 x 60, spans the centred rows
    assert_allclose(mardia_p_values(X, w), mardia_p_values(X @ basis, w), rtol=1e-6)


def test_one_tilted_gaussian_looks_gaussian_in_nearly_every_draw():
    passed = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        d = (2, 5, 10, 20, 40)[seed % 5]
        X = rng.normal(size=(500, d)) * np.geomspace(10.0, 1.0, d)
        X = X @ special_ortho_group.rvs(d, random_state=seed)
        passed += looks_gaussian(X, np.ones(500), 0.01)
    assert passed >= 47  # three tests at 1 % each: about 48.5 expected


def test_two_overlapping_clusters_show_a_flat_top_that_mardia_dilutes():
    rng = np.random.default_rng(3)
    pair = np.vstack([rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + [4.0, 0, 0, 0]])
    w = np.ones(600)
    # Symmetric, so no skewness; the flat top is one direction of four in the kurtosis.
    assert min(mardia_p_values(pair, w)) > 0.005
    assert flat_top_p(pair[:, 0], w) < 1e-6
    assert not looks_gaussian(pair, w, 0.01)


def test_a_skewed_cluster_does_not_look_gaussian():
    exponential = np.random.default_rng(4).exponential(size=(600, 4))
    assert mardia_p_values(exponential, np.ones(600))[0] < 1e-6


def test_a_few_strays_do_not_hide_a_gaussian_but_a_small_cluster_is_not_strays():
    # A 2-means cut high in the tree can leave a few points of a far cluster in a node.
    rng = np.random.default_rng(5)
    body = rng.normal(size=(2000, 6)) @ special_ortho_group.rvs(6, random_state=5) * 3.0
    far = rng.normal(size=(60, 6)) + 40.0
    w = np.ones(2010)
    with_strays = np.vstack([body, far[:10]])
    assert min(mardia_p_values(with_strays, w)) > 0.01
    with_cluster = np.vstack([body, far])  # 3 % of the weight
    assert max(mardia_p_values(with_cluster, np.ones(2060))) == 0.0


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
