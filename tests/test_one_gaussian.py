"""The one-Gaussian checks: Mardia's tests with a flat-top test, and the check of a
Gaussian's core that a partition's boundaries do not reach."""

import numpy as np
from numpy.testing import assert_allclose
from scipy.stats import norm, special_ortho_group

from partitive.judge import each_one_gaussian, gaussian_parts
from partitive.one_gaussian import core_looks_gaussian, flat_top_z, looks_gaussian, mardia_p_values


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


def test_the_flat_top_read_both_ways_keeps_its_level_and_gains_power():
    # Each half's 2-means direction is tested on the other half: one Gaussian still
    # passes at about the level, and a pair too close for one half's test to see is
    # seen by both read together.
    passed = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        d = (1, 4, 16)[seed % 3]
        X = rng.normal(size=(1000, d)) @ special_ortho_group.rvs(max(d, 2), random_state=seed)[:d, :d]
        passed += looks_gaussian(X, np.ones(1000), 0.01, both_ways=True)
    assert passed >= 56  # three tests at 1 % each: about 58 expected
    one_way = both = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        pair = np.vstack([rng.normal(size=(1024, 8)), rng.normal(size=(1024, 8)) + np.r_[1.75, np.zeros(7)]])
        one_way += not looks_gaussian(pair, np.ones(2048), 0.001)
        both += not looks_gaussian(pair, np.ones(2048), 0.001, both_ways=True)
    assert both >= one_way + 5 and both >= 13


def test_the_flattest_projections_read_as_flat_tops():
    # Two Gaussians six deviations apart: a kurtosis near 1, beyond the range of the
    # normal approximation, whose score would change sign there.
    rng = np.random.default_rng(0)
    t = np.r_[rng.normal(-3, 1, 2000), rng.normal(3, 1, 2000)]
    assert flat_top_z(t, np.ones(4000)) < -10
    assert norm.cdf(flat_top_z(t, np.ones(4000))) < 1e-10
    pair = np.vstack([rng.normal(size=(2000, 32)), rng.normal(size=(2000, 32)) + np.r_[6.0, np.zeros(31)]])
    assert not looks_gaussian(pair, np.ones(4000), 0.001)


def test_two_overlapping_clusters_show_a_flat_top_that_mardia_dilutes():
    rng = np.random.default_rng(3)
    pair = np.vstack([rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + [4.0, 0, 0, 0]])
    w = np.ones(600)
    # Symmetric, so no skewness; the flat top is one direction of four in the kurtosis.
    assert min(mardia_p_values(pair, w)) > 0.005
    assert norm.cdf(flat_top_z(pair[:, 0], w)) < 1e-6
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


def blob_cut_by_neighbours(seed, d, n=2000):
    """A Gaussian's rows nearer its centre than those of four neighbours 3.5-5
    deviations away, with the neighbours' rows that are nearer it."""
    rng = np.random.default_rng(seed)
    towards = rng.normal(size=(4, d))
    towards *= rng.uniform(3.5, 5.0, size=(4, 1)) / np.linalg.norm(towards, axis=1, keepdims=True)
    centres = np.vstack([np.zeros(d), towards])
    X = np.vstack([rng.normal(size=(n, d)) + c for c in centres])
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    return X[nearest == 0]


def test_a_gaussian_cut_by_its_neighbours_boundaries_keeps_a_gaussian_core():
    for d in (2, 3, 4):
        passed_core = passed_whole = 0
        for seed in range(10):
            X = blob_cut_by_neighbours(seed, d)
            w = np.ones(len(X))
            passed_core += core_looks_gaussian(X, w, 0.001)
            passed_whole += looks_gaussian(X, w, 0.001)
        assert passed_core >= 9, d
        if d < 4:
            assert passed_whole <= 3, d  # the cut rows are flat-sided


def test_a_gaussian_core_passes_at_about_its_level():
    passed = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        d = 2 + seed % 3
        X = rng.normal(size=(3000, d)) @ rng.normal(size=(d, d)) + 5.0
        passed += core_looks_gaussian(X, np.ones(3000), 0.01)
    assert passed >= 95  # two tests at 1 % each: about 98 expected


def test_an_arc_a_uniform_square_and_a_skewed_cloud_have_no_gaussian_core():
    rng = np.random.default_rng(7)
    angle = rng.uniform(0, 1.5 * np.pi, 3000)
    arc = np.c_[np.cos(angle), np.sin(angle)] * (1 + 0.05 * rng.normal(size=(3000, 1)))
    square = rng.uniform(-1, 1, size=(3000, 2))
    skewed = rng.lognormal(0, 0.5, size=(3000, 3))
    for X in (arc, square, skewed):
        assert not core_looks_gaussian(X, np.ones(3000), 0.001)


def test_a_core_too_small_to_tell_from_a_uniform_balls_is_not_taken_for_gaussian():
    # A Gaussian's inner half is nearly uniform: in 2-D its kurtosis tells the two
    # apart only from about 540 rows of core at this level.
    rng = np.random.default_rng(8)
    X = rng.normal(size=(3000, 2))
    assert core_looks_gaussian(X, np.ones(3000), 0.001)
    assert not core_looks_gaussian(X[:800], np.ones(800), 0.001)


def test_the_core_check_is_affine_invariant_and_reads_weights_as_repeated_rows():
    X = blob_cut_by_neighbours(3, 3)
    skewed = np.random.default_rng(9).lognormal(0, 0.5, size=(3000, 3))
    R = special_ortho_group.rvs(3, random_state=1)
    for points in (X, skewed):
        w = np.ones(len(points))
        verdict = core_looks_gaussian(points, w, 0.001)
        assert core_looks_gaussian(2.5 * points @ R - 7.0, w, 0.001) == verdict
        assert core_looks_gaussian(np.vstack([points, points]), np.ones(2 * len(points)), 0.001) == \
            core_looks_gaussian(points, np.full(len(points), 2.0), 0.001) == verdict
    assert core_looks_gaussian(X, np.ones(len(X)), 0.001)
    assert not core_looks_gaussian(skewed, np.ones(len(skewed)), 0.001)


def test_two_parts_are_read_as_gaussians_with_their_unions_power():
    # The halves of a uniform square of 200 rows: each alone often passes as a
    # Gaussian for want of rows; whitened each by its own Gaussian and read together,
    # they seldom do.
    alone = together = 0
    for seed in range(40):
        X = np.random.default_rng(seed).uniform(0, 1, (200, 2))
        w = np.ones(200)
        halves = (X[:, 0] < 0.5, X[:, 0] >= 0.5)
        alone += all(gaussian_parts(X, w, halves, False, None))
        together += each_one_gaussian(X, w, halves, False, None)
    assert alone >= 8 and together <= 2
    # Two Gaussians of different sizes and shapes are two Gaussians.
    passed = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 2))
        B = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 2)) + 10.0
        parts = (np.arange(450) < 150, np.arange(450) >= 150)
        passed += each_one_gaussian(np.vstack([A, B]), np.ones(450), parts, False, None)
    assert passed >= 95
    # A few far rows (1 %) are set aside as the check does, not left to widen their
    # side's Gaussian: read together, the sides pass as often as they do alone.
    alone = together = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(300, 2))
        A[:3] = 30.0 * rng.choice([-1.0, 1.0], size=(3, 2))
        X = np.vstack([A, rng.normal(size=(300, 2)) + 8.0])
        parts = (np.arange(600) < 300, np.arange(600) >= 300)
        alone += all(gaussian_parts(X, np.ones(600), parts, False, None))
        together += each_one_gaussian(X, np.ones(600), parts, False, None)
    assert alone >= 15 and together >= alone - 2
