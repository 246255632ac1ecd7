"""Two overlapping Gaussians inside one cluster (partitive.overlap and its stage)."""

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from partitive import PPP
from partitive.datasets import groups_in_noise
from partitive.datasets import two_gaussians as two_gaussian_data
from partitive.mixture import COVARIANCE_TYPES
from partitive import overlap
from partitive.overlap import anderson_darling, gain_along, overlapping_pair


def one_shape(kind, d, n, seed):
    """One cluster of ``n`` rows in ``d`` features that is no Gaussian (or is one)."""
    rng = np.random.default_rng(seed)
    if kind == "box":
        return rng.uniform(-1, 1, (n, d))
    if kind == "ball":
        v = rng.standard_normal((n, d))
        return v / np.linalg.norm(v, axis=1, keepdims=True) * rng.random((n, 1)) ** (1 / d)
    if kind == "bar":
        return rng.uniform(-1, 1, (n, d)) * np.r_[2.5, np.full(d - 1, 0.4)]
    if kind == "heavy tails":
        return rng.standard_t(3, size=(n, d))
    if kind == "skewed":
        return rng.lognormal(0, 0.5, size=(n, d))
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d))


@pytest.mark.parametrize("seed, d, separation", [(0, 1, 2.5), (1, 2, 2.5), (2, 4, 2.5), (3, 8, 3.0), (4, 16, 2.5)])
def test_two_overlapping_gaussians_are_read_as_two(seed, d, separation):
    X, y = two_gaussian_data(seed, d, separation)
    mixture = overlapping_pair(X, np.ones(len(X)), COVARIANCE_TYPES)
    assert mixture is not None
    assert adjusted_rand_score(y, mixture.predict(X)) > 0.5


@pytest.mark.parametrize("kind", ["box", "ball", "bar", "heavy tails", "skewed", "gaussian"])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("n", [600, 2000])
def test_one_shape_of_enough_rows_is_not_two_gaussians(kind, d, n):
    # A heavy-tailed cloud fits a narrow and a wide Gaussian about one centre, a flat
    # one two Gaussians side by side: neither is two clusters.
    if kind in ("ball", "bar") and d == 1:
        pytest.skip("a ball or bar in one feature is the box")
    for seed in range(3):
        X = one_shape(kind, d, n, seed)
        assert overlapping_pair(X, np.ones(n), COVARIANCE_TYPES) is None


@pytest.mark.parametrize(
    "seed, d, separation, spherical",
    [
        ([1, 64, 25], 64, 2.5, False), (0, 128, 3.0, False), (1, 128, 2.5, False),
        # Their diagonal pair has the lowest BIC, but misreads each turned Gaussian:
        # each is one Gaussian with its full covariance.
        ([0, 64, 35], 64, 3.5, False), ([2, 64, 30], 64, 3.0, False),
        # A spherical structure in the leading principal axes of many features is
        # wider than the pair along the line through their means.
        (0, 128, 3.0, True), (3, 128, 3.0, True),
    ],
)
def test_overlapping_gaussians_in_many_features_are_two_clusters(seed, d, separation, spherical):
    # Two covariances in many features cost more parameters than the pair gains over
    # one Gaussian on 2,000 rows; along the line through their means the gain is there.
    X, y = two_gaussian_data(seed, d, separation, spherical=spherical)
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    # Most of what a mixture told the truth gets (EM reads the pair in the leading
    # principal axes).
    told = GaussianMixture(2, covariance_type="diag", means_init=[X[y == 0].mean(0), X[y == 1].mean(0)], random_state=0)
    assert adjusted_rand_score(y, model.labels_) >= 0.75 * adjusted_rand_score(y, told.fit(X).predict(X))


@pytest.mark.parametrize("kind", ["box", "heavy tails", "skewed", "gaussian"])
def test_one_shape_in_many_features_is_not_two_gaussians(kind):
    for seed in range(2):
        X = one_shape(kind, 64, 2000, seed)
        assert overlapping_pair(X, np.ones(len(X)), COVARIANCE_TYPES) is None


def test_the_gain_on_the_line_is_two_gaussians_against_one():
    rng = np.random.default_rng(0)
    pair = np.r_[rng.normal(-1.25, 1.0, 1000), rng.normal(1.25, 1.0, 1000)]
    assert gain_along(pair, np.ones(2000), np.array([0.5, 0.5]), np.array([-1.25, 1.25]), np.ones(2))
    one = rng.standard_normal(2000)
    assert not gain_along(one, np.ones(2000), np.array([0.5, 0.5]), np.array([-0.8, 0.8]), np.full(2, 0.6))
    # Weights are rows' shares: the same rows weighted 3 each gain as much per row.
    assert gain_along(pair, np.full(2000, 3.0), np.array([0.5, 0.5]), np.array([-1.25, 1.25]), np.ones(2))


def test_a_flat_box_in_many_features_gains_on_the_line_and_is_refused_by_its_fit(monkeypatch):
    # Where the BIC refuses, two Gaussians still beat one on a flat line, which was
    # fitted to these rows: what refuses the box there is the pair's fit on the line.
    read = []

    def recorded(*args):
        read.append(gain_along(*args))
        return read[-1]

    monkeypatch.setattr(overlap, "gain_along", recorded)
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (2000, 32)) * np.r_[3.0, np.ones(31)]
    assert overlapping_pair(X, np.ones(len(X)), COVARIANCE_TYPES) is None
    assert read == [True]


def test_too_few_rows_are_never_two_gaussians():
    X, _ = two_gaussian_data(5, 2, 4.0, n=400)
    assert overlapping_pair(X, np.ones(len(X)), COVARIANCE_TYPES) is None
    assert overlapping_pair(X, np.zeros(len(X)), COVARIANCE_TYPES) is None
    # Rows of weight 10 are still 400 rows.
    assert overlapping_pair(X, np.full(len(X), 10.0), COVARIANCE_TYPES) is None


def test_rows_of_other_clusters_do_not_crowd_a_clusters_own_out():
    # Every row has some responsibility for every cluster: far rows with a negligible
    # share are not read, however many.
    X, y = two_gaussian_data(1, 4, 3.0)
    far = np.random.default_rng(0).standard_normal((40_000, 4)) + 100.0
    r = np.r_[np.ones(len(X)), np.full(len(far), 1e-30)]
    mixture = overlapping_pair(np.vstack([X, far]), r, COVARIANCE_TYPES)
    assert mixture is not None
    assert adjusted_rand_score(y, mixture.predict(X)) > 0.5


def test_anderson_darling_of_weighted_rows():
    rng = np.random.default_rng(0)
    t = rng.standard_normal(200) + 0.2
    u = np.sort(norm.cdf(t))
    i = np.arange(1, t.size + 1)
    classic = -t.size - np.sum((2 * i - 1) / t.size * (np.log(u) + np.log1p(-u[::-1])))
    assert anderson_darling(t, np.ones(t.size), norm.cdf) == pytest.approx(classic, rel=1e-9)
    assert anderson_darling(t, np.full(t.size, 7.0), norm.cdf) == pytest.approx(classic, rel=1e-9)
    # Weight 2 on every row is the sample twice over, on as many effective rows.
    doubled = anderson_darling(np.r_[t, t], np.ones(2 * t.size), norm.cdf)
    assert anderson_darling(t, np.full(t.size, 2.0), norm.cdf) == pytest.approx(doubled / 2, rel=0.02)


@pytest.mark.parametrize(
    "seed, d, separation, spherical",
    [
        (0, 1, 2.5, True), (1, 2, 3.0, True), (0, 3, 3.0, False), (2, 4, 2.5, True), (1, 8, 2.5, False),
        # In two features the k-NN density reads the flat top of the pair's Gaussians
        # as flat as a uniform shape's, so a flatness veto refused them; there is none
        # now: the noise background keeps noise from passing for Gaussian tails.
        (1, 2, 2.5, False), (0, 2, 2.5, True),
    ],
)
def test_overlapping_gaussians_are_two_clusters_as_good_as_told_k(seed, d, separation, spherical):
    # Growth's sides and the merge step's pairs are hard cuts, which no test can read
    # as two Gaussians; the mixture's components can.
    X, y = two_gaussian_data(seed, d, separation, spherical=spherical)
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    told = GaussianMixture(2, means_init=[X[y == 0].mean(0), X[y == 1].mean(0)]).fit(X).predict(X)
    assert adjusted_rand_score(y, model.labels_) >= adjusted_rand_score(y, told) - 0.02
    # The tree holds the two clusters, as cut(2) and its leaves say.
    assert model.tree_.cut(2).n_clusters == 2
    leaves = [set(c.leaves) for c in model.tree_.clusters]
    assert not leaves[0] & leaves[1]
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_a_split_taken_for_two_gaussians_is_recorded_as_such():
    X, _ = two_gaussian_data(2, 4, 2.5, spherical=True)
    tree = PPP().fit(X).tree_
    root = tree.nodes[0]
    assert root.accepted and root.reason == "two Gaussians"
    # Growth refused it: its scores are no evidence of a most separable split.
    assert tree.most_separable is None
    assert "-> two Gaussians" in str(tree)
    assert {leaf for c in tree.clusters for leaf in c.leaves} == set(root.children)


@pytest.mark.parametrize(
    "kind, d, seed", [("ball", 2, 4), ("ball", 2, 5), ("box", 2, 0), ("box", 2, 1), ("box", 3, 0), ("box", 3, 1)]
)
def test_a_uniform_shape_alone_is_one_cluster_not_two_gaussians(kind, d, seed):
    # Two Gaussians side by side fit a uniform disc or box of 800 rows, and their
    # components pass as Gaussians; but its density does not peak as theirs would.
    rng = np.random.default_rng(seed)
    if kind == "box":
        X = rng.uniform(-1, 1, (800, d)) * rng.uniform(0.6, 1.4, d)
    else:
        v = rng.standard_normal((800, d))
        X = v / np.linalg.norm(v, axis=1, keepdims=True) * rng.random((800, 1)) ** (1 / d)
    model = PPP().fit(X)
    assert model.n_clusters_ == 1
    assert (model.labels_ == 0).all()


def test_the_lumps_of_one_isolated_cloud_are_not_split_as_two_gaussians():
    # A random walk's cloud far from the others fits two Gaussians, but no valley or
    # Gaussian blob lies inside it: the isolated group is one cluster.
    rng = np.random.default_rng([1007, 5])
    clouds = []
    for _ in range(rng.integers(3, 7)):
        n = rng.integers(500, 3000)
        walk = np.cumsum(rng.standard_normal((n, 2)), axis=0) / np.sqrt(n)
        clouds.append(walk + 0.03 * rng.standard_normal((n, 2)))
    X = np.vstack([c - c.mean(0) + [6.0 * i, 0.0] for i, c in enumerate(clouds)])
    y = np.repeat(np.arange(len(clouds)), [len(c) for c in clouds])
    model = PPP().fit(X)
    assert adjusted_rand_score(y, model.labels_) == 1.0


def test_a_cluster_counts_a_row_only_as_far_as_the_background_leaves_it():
    from partitive.mixture import uniform_log_density
    from partitive.overlap import _cluster_responsibilities

    X, truth = groups_in_noise([77, 12])
    w = np.ones(len(X))
    mixture = PPP().fit(X).tree_.mixture
    plain = _cluster_responsibilities(X, w, mixture, None, None)
    np.testing.assert_allclose(plain.sum(axis=1), 1.0)
    kept = _cluster_responsibilities(X, w, mixture, None, uniform_log_density(X))
    left = kept.sum(axis=1)
    assert np.all(left <= 1.0 + 1e-12)
    np.testing.assert_allclose(kept, plain * left[:, None])
    # The groups' rows are the clusters'; most noise rows are the background's.
    assert np.median(left[truth >= 0]) > 0.9 and np.median(left[truth < 0]) < 0.5


def test_equal_rows_are_each_a_row():
    # Values on a grid: the fit holds each value once, weighted by its rows.  Those
    # rows are each evidence, where a share of one row (a responsibility) is not.
    rng = np.random.default_rng(0)
    X = np.round(np.r_[rng.normal(0, 30, 1000), rng.normal(75, 30, 1000)])[:, None]
    values, counts = np.unique(X, axis=0, return_counts=True)
    assert values.shape[0] < overlap.MIN_ROWS
    counts = counts.astype(float)
    assert overlapping_pair(values, counts, COVARIANCE_TYPES, counts=counts) is not None
    assert overlapping_pair(values, counts, COVARIANCE_TYPES) is None
    assert overlap.effective_rows(counts, counts) == pytest.approx(2000)
    # Rows held in part count as a weighted sample of them.
    share = rng.uniform(0.1, 1.0, counts.size)
    expected = (counts @ share) ** 2 / (counts @ share**2)
    assert overlap.effective_rows(counts * share, counts) == pytest.approx(expected)
    assert overlap.effective_rows(share, np.ones(counts.size)) == pytest.approx(share.sum() ** 2 / (share @ share))


@pytest.mark.parametrize("seed", range(3))
def test_two_gaussians_recorded_on_a_grid_are_two_clusters(seed):
    rng = np.random.default_rng(seed)
    X = np.round(np.r_[rng.normal(0, 30, 1000), rng.normal(75, 30, 1000)])[:, None]
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(X[:, 0] > 37.5, model.labels_) > 0.9


@pytest.mark.parametrize("seed", range(3))
def test_two_gaussians_too_close_for_a_valley_are_two_clusters(seed):
    # 1.8 deviations apart: one peak, no valley, yet two Gaussians by every check.
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8)) + np.r_[1.8, np.zeros(7)]])
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(X[:, 0] > 0.9, model.labels_) > 0.75


@pytest.mark.parametrize("d, step", [(1, 0.25), (1, 0.75), (2, 0.25), (2, 0.5)])
def test_two_gaussians_on_a_coarse_grid_are_two_clusters(d, step):
    # Each value stands for its cell: the steps of equal values, thousands of rows
    # each, are not misfit of the pair on its line.
    rng = np.random.default_rng(d)
    X = np.vstack([rng.normal(size=(5000, d)), rng.normal(size=(5000, d)) + np.r_[2.2, np.zeros(d - 1)]])
    X = np.round(X / step) * step
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(X[:, 0] > 1.1, model.labels_) > 0.75


@pytest.mark.parametrize("shape", ["box", "triangle", "square"])
def test_one_flat_shape_on_a_grid_is_one_cluster(shape):
    for seed in range(3):
        rng = np.random.default_rng(seed)
        if shape == "box":
            X = rng.uniform(0, 1, (4000, 1))
        elif shape == "triangle":
            X = rng.triangular(0, 0.5, 1, (4000, 1))
        else:
            X = rng.uniform(0, 1, (4000, 2))
        assert PPP().fit(np.round(X / 0.05) * 0.05).n_clusters_ == 1


def test_the_fit_on_the_line_reads_equal_rows_as_rows_spread_over_their_cell():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000)
    values, counts = np.unique(np.round(x / 0.25) * 0.25, return_counts=True)
    counts = counts.astype(float)
    # Equal rows held once, weighted by their number, are those rows.
    expanded = np.repeat(values, counts.astype(int))
    assert anderson_darling(values, counts, norm.cdf, counts) == pytest.approx(
        anderson_darling(expanded, np.ones(expanded.size), norm.cdf), rel=1e-9)
    # Read as steps they misfit a Gaussian however well it fits; spread over their
    # cells they fit it as the unrounded rows do.
    mean = counts @ values / counts.sum()
    sd = np.sqrt(counts @ (values - mean) ** 2 / counts.sum())
    # Spread, they hold the cell's variance twice (once from rounding): the model
    # is widened by one cell's.
    widened = np.sqrt(sd**2 + 0.25**2 / 12)
    spread = anderson_darling(values, counts, lambda t: norm.cdf((t - mean) / widened), counts, width=0.25)
    unrounded = anderson_darling(x, np.ones(x.size), lambda t: norm.cdf((t - x.mean()) / x.std()))
    assert spread == pytest.approx(unrounded, abs=0.1)
    assert anderson_darling(values, counts, lambda t: norm.cdf((t - mean) / sd), counts) > 3 * overlap.FIT_DISTANCE


@pytest.mark.parametrize("seed", range(3))
def test_one_feature_on_a_grid_read_on_a_diagonal_fits_one_gaussian(seed):
    # One feature rounded to whole deviations, one not, read along the diagonal: the
    # cell along the line is the rounded feature's share of it, and spread over it
    # the rows fit their Gaussian, widened by the cell, as unrounded rows do.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10_000, 2))
    X[:, 0] = np.round(X[:, 0])
    values, counts = np.unique(X, axis=0, return_counts=True)
    counts = counts.astype(float)
    along = np.array([1.0, 1.0]) / np.sqrt(2.0)
    t = values @ along
    mean = counts @ t / counts.sum()
    sd = np.sqrt(counts @ (t - mean) ** 2 / counts.sum())
    cell = np.sqrt(12.0 * (along**2 @ np.array([1 / 12, 0.0])))
    widened = np.sqrt(sd**2 + cell**2 / 12)
    assert anderson_darling(t, counts, lambda x: norm.cdf((x - mean) / widened), counts, width=cell) < 0.5
