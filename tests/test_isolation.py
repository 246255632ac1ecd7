"""Isolated groups: parts of a group far from all other rows are one cluster."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from partitive import PPP
from partitive.datasets import blob_grid, far_group
from partitive.density import Density
from partitive.isolation import ISOLATION


def lumpy_cloud(rng, n, centre):
    """A random walk of n steps with jitter: uneven, lumpy, not Gaussian."""
    walk = np.cumsum(rng.standard_normal((n, 2)), axis=0) / np.sqrt(n)
    cloud = walk + 0.03 * rng.standard_normal((n, 2))
    return cloud - cloud.mean(axis=0) + centre


def thin_ring(rng, n, centre, radius, width):
    angle = rng.uniform(0, 2 * np.pi, n)
    r = radius * (1 + width * rng.standard_normal(n))
    return centre + np.c_[r * np.cos(angle), r * np.sin(angle)]


def clouds(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(800, 1500, size=4)
    centres = [(0, 0), (7, 0), (0, 7), (7, 7)]
    X = np.vstack([lumpy_cloud(rng, n, c) for n, c in zip(sizes, centres)])
    return X, np.repeat(np.arange(4), sizes)


def rings(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(400, 900, size=3)
    X = np.vstack([
        thin_ring(rng, n, c, radius, 0.03)
        for n, c, radius in zip(sizes, [(0, 0), (6, 0), (3, 5)], [1.0, 1.5, 1.2])
    ])
    return X, np.repeat(np.arange(3), sizes)


def assert_same_partition(labels, truth):
    assert adjusted_rand_score(truth, labels) == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_lumpy_clouds_far_apart_are_one_cluster_each(seed):
    # The dip and two Gaussians each find the seams between a cloud's lumps; the
    # empty space around every cloud dwarfs them.
    X, truth = clouds(seed)
    model = PPP().fit(X)
    assert_same_partition(model.labels_, truth)
    assert any(m.test == "isolated" for m in model.tree_.merges)
    order = np.random.default_rng(seed).permutation(X.shape[0])
    np.testing.assert_array_equal(PPP().fit(X[order]).labels_, model.labels_[order])


@pytest.mark.parametrize("seed", range(3))
def test_thin_rings_far_apart_are_one_cluster_each(seed):
    # Two Gaussians fit any two neighbouring arcs of a thin ring far better than one
    # (it curves), and arcs of a few dozen rows pass as Gaussian: only the ring's
    # isolation joins them.
    X, truth = rings(seed)
    assert_same_partition(PPP().fit(X).labels_, truth)


@pytest.mark.parametrize("seed", range(5))
def test_a_sparse_ring_around_a_dense_one_are_one_cluster_each(seed):
    # 500 rows on a circle of radius 1 are about 0.013 apart, 0.8 from the inner ring:
    # in distance the outer ring is some eight times as far from the rest as its own
    # spacing, but density along a ring falls only as fast as distance grows, so it
    # is not thirty times sparser there.  Each of its arcs of a few dozen rows passes
    # as one Gaussian, and no pair test joins them.
    rng = np.random.default_rng(seed)
    X = np.vstack([thin_ring(rng, 500, (0, 0), 1.0, 0.01), thin_ring(rng, 500, (0, 0), 0.2, 0.03)])
    labels = PPP().fit(X).labels_
    np.testing.assert_array_equal(labels, np.repeat([labels[0], labels[-1]], 500))
    assert labels[0] != labels[-1]


@pytest.mark.parametrize("seed", range(3))
def test_a_sparser_ring_around_a_dense_one_is_isolated_at_its_own_spacing(seed):
    # 300 rows on a circle of radius 1: neighbourhoods of 15 rows span a sixth of a
    # radian, its sparse stretches a third, so on mutual reachability it completes at
    # a level only a few times nearer than the 0.8 to the inner ring, and is not
    # isolated there; its plain steps are at most about a tenth.
    rng = np.random.default_rng(seed)
    X = np.vstack([thin_ring(rng, 300, (0, 0), 1.0, 0.01), thin_ring(rng, 500, (0, 0), 0.2, 0.03)])
    outer = np.repeat([True, False], [300, 500])
    assert any(np.array_equal(g, outer) for g in groups_of(X))
    assert_same_partition(PPP().fit(X).labels_, outer)


def test_touching_gaussians_in_an_isolated_group_stay_apart():
    # Two Gaussians 5 sd apart, far from a third: the pair is an isolated group, yet
    # each is one Gaussian with a valley of density between them.
    rng = np.random.default_rng(0)
    X = np.vstack([
        rng.normal(size=(400, 2)),
        rng.normal(size=(400, 2)) + [5.0, 0.0],
        rng.normal(size=(400, 2)) + [2.5, 30.0],
    ])
    truth = np.repeat(np.arange(3), 400)
    model = PPP().fit(X)
    assert model.n_clusters_ == 3
    assert adjusted_rand_score(truth, model.labels_) > 0.97  # the pair's tails overlap


def groups_of(X):
    density = Density(X, np.ones(X.shape[0]), min_cluster_size=5)
    a = np.zeros(X.shape[0], dtype=bool)
    a[:1] = True
    density.isolation(a, a)  # builds the groups
    masks = []
    for members, _ in density.groups:
        mask = np.zeros(X.shape[0], dtype=bool)
        mask[members] = True
        assert mask.sum() == members.size  # each row once
        masks.append(mask)
    return masks


def test_far_clouds_are_isolated_groups():
    X, truth = clouds(0)
    groups = groups_of(X)
    for cloud in range(4):
        assert any(np.array_equal(g, truth == cloud) for g in groups)


def test_one_blob_and_touching_blobs_are_no_isolated_groups():
    # The whole data set is isolated from nothing; blobs that touch meet their
    # neighbours a few times sparser than their own edge, not far sparser.
    rng = np.random.default_rng(1)
    assert groups_of(rng.normal(size=(2000, 2))) == []
    centres = np.array([[0, 0], [3, 0], [0, 3], [3, 3]])
    touching = np.vstack([rng.normal(size=(500, 2)) + c for c in centres])
    assert groups_of(touching) == []


def test_isolated_groups_need_not_be_joined_by_nearest_neighbours():
    # Clumps in pairs: each clump's nearest rows are its own, each pair's nearest
    # clump is its partner; the spanning tree still joins the pairs, and each pair
    # is an isolated group of two clumps.
    rng = np.random.default_rng(2)
    centres = np.array([[0, 0], [1.5, 0], [40, 0], [41.5, 0]])
    X = np.vstack([rng.normal(size=(200, 2)) * 0.1 + c for c in centres])
    groups = groups_of(X)
    first_pair = np.repeat([True, True, False, False], 200)
    assert any(np.array_equal(g, first_pair) for g in groups)
    assert any(np.array_equal(g, ~first_pair) for g in groups)


def test_touching_blobs_in_a_far_isolated_group_stay_apart():
    # Three Gaussians 4 sd apart in a row (no valley at VALLEY between neighbours),
    # 60 sd from a fourth: the group's isolation dwarfs their seams, as it does a
    # cloud's lumps, but each blob is one Gaussian with a dip on the line between
    # them, which a cloud's lumps (not Gaussian) are not.
    rng = np.random.default_rng(3)
    centres = [(0.0, 0.0, 0.0), (4.0, 0.0, 0.0), (8.0, 0.0, 0.0), (4.0, 60.0, 0.0)]
    X = np.vstack([rng.normal(size=(1500, 3)) + c for c in centres])
    truth = np.repeat(np.arange(4), 1500)
    model = PPP().fit(X)
    assert model.n_clusters_ == 4
    assert adjusted_rand_score(truth, model.labels_) > 0.95


@pytest.mark.parametrize("seed", [101, 111])
def test_small_blobs_in_a_far_group_stay_apart(seed):
    # The grid is an isolated group; its blobs are too light for their cores to be
    # read and no valley of density lies between neighbours at this sampling, but
    # each is one Gaussian with a dip on the line between them; once two are joined,
    # nothing else stops the grid becoming one.  (Near the edge of what the dip
    # holds: grids like seed 101's still collapse in some draws, design record.)
    X, truth = blob_grid(seed)
    model = PPP().fit(X)
    assert model.n_clusters_ == truth.max() + 1
    assert adjusted_rand_score(truth, model.labels_) > 0.85  # the blobs' tails overlap


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="two blobs of a far group joined by isolation in 6 features")
def test_blobs_eight_deviations_apart_in_a_far_group_stay_apart_in_six_features():
    # Found by test_reduce's far-group property: three Gaussians 8 sd apart in a row
    # in 6 features, 40 sd from a group of 333 rows; the last two of the row are
    # joined as parts of one isolated group, though far apart for blobs: one of the
    # pair, all its 557 rows one Gaussian's, fails the one-Gaussian check's flat-top
    # test along a 2-means direction (a rejection at the check's level), and the
    # group is thousands of times as isolated as their seam is deep.
    X, truth = far_group(2000, 6, 333, 354)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) > 0.99


def test_a_groups_isolation_is_how_much_sparser_it_meets_the_rest_than_it_completes():
    X, truth = clouds(0)
    density = Density(X, np.ones(X.shape[0]), min_cluster_size=5)
    first, second = truth == 0, truth == 1
    assert density.isolation(first, first) > ISOLATION
    # No isolated group holds most of two clouds.
    assert density.isolation(first, second) == 0.0
    assert all(isolation > ISOLATION for _, isolation in density.groups)


def test_neighbouring_arcs_of_a_thin_ring_and_lumps_of_a_cloud_are_not_empty_space():
    rng = np.random.default_rng(1)
    ring = thin_ring(rng, 600, (0.0, 0.0), 1.0, 0.03)
    angle = np.arctan2(ring[:, 1], ring[:, 0])
    density = Density(ring, np.ones(ring.shape[0]), min_cluster_size=5)
    assert not density.empty_space((angle > 0) & (angle < 1), (angle >= 1) & (angle < 2))
    cloud = lumpy_cloud(rng, 2000, (0.0, 0.0))
    density = Density(cloud, np.ones(cloud.shape[0]), min_cluster_size=5)
    order = np.argsort(cloud[:, 0])
    first = np.zeros(cloud.shape[0], dtype=bool)
    first[order[:1000]] = True
    assert not density.empty_space(first, ~first)
