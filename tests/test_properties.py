"""Determinism as properties: row order, duplication, translation, scaling and constant features."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from partitive import PPP

SETTINGS = settings(max_examples=60)


@st.composite
def clustered_data(draw):
    """Gaussian groups of random count, size, spread and dimension (continuous values)."""
    seed = draw(st.integers(0, 2**32 - 1))
    k = draw(st.integers(1, 5))
    d = draw(st.integers(1, 6))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 60, size=k)
    centers = rng.normal(0, draw(st.floats(0.5, 8.0)), size=(k, d))
    return np.vstack([c + rng.normal(size=(s, d)) for c, s in zip(centers, sizes)])


def same_partition(a, b):
    """Identical labels: canonical numbering makes equal partitions equal arrays."""
    return np.array_equal(a, b)


def same_tree(a, b):
    return a.tree_.to_dict() == b.tree_.to_dict()


@SETTINGS
@given(clustered_data(), st.randoms(use_true_random=False))
def test_row_permutation_gives_identical_labels_and_tree(X, random):
    order = list(range(X.shape[0]))
    random.shuffle(order)
    order = np.array(order)
    base = PPP().fit(X)
    permuted = PPP().fit(X[order])
    assert same_partition(permuted.labels_, base.labels_[order])
    assert same_tree(permuted, base)


@SETTINGS
@given(
    st.lists(
        st.lists(st.integers(-3, 3), min_size=2, max_size=2), min_size=1, max_size=40
    ),
    st.randoms(use_true_random=False),
)
def test_row_permutation_with_ties_and_duplicates(rows, random):
    # Small integers make exact ties and duplicate rows: the hard case for order.
    X = np.array(rows, dtype=float)
    order = list(range(X.shape[0]))
    random.shuffle(order)
    order = np.array(order)
    base = PPP(min_cluster_size=1).fit(X)
    permuted = PPP(min_cluster_size=1).fit(X[order])
    assert same_partition(permuted.labels_, base.labels_[order])
    assert same_tree(permuted, base)


@SETTINGS
@given(
    st.integers(1, 60), st.integers(1, 5), st.integers(1, 4), st.randoms(use_true_random=False)
)
def test_canonical_rows_are_numpys_lexicographic_unique(n, d, values, random):
    # Few distinct values per column: ties on leading columns, duplicate rows, -0.0.
    from partitive.prepare import canonical_rows

    X = np.array([[random.choice([-0.0, 0.0, 1.5, -2.0][:values]) for _ in range(d)] for _ in range(n)])
    w = np.array([random.choice([0.5, 1.0, 3.0]) for _ in range(n)])
    unique, weights, _, inverse = canonical_rows(X, w)
    expected, expected_inverse = np.unique(X, axis=0, return_inverse=True)
    assert np.array_equal(unique, expected)
    assert np.array_equal(inverse, expected_inverse.ravel())
    assert_allclose(weights, np.bincount(inverse, weights=w))


@SETTINGS
@given(clustered_data())
def test_duplicating_rows_equals_weight_two(X):
    doubled = PPP().fit(np.vstack([X, X]))
    weighted = PPP().fit(X, sample_weight=np.full(X.shape[0], 2.0))
    assert same_partition(doubled.labels_[: X.shape[0]], weighted.labels_)
    assert same_partition(doubled.labels_[X.shape[0] :], weighted.labels_)
    assert same_tree(doubled, weighted)


@SETTINGS
@given(
    clustered_data(),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.floats(1e-3, 1e3, allow_nan=False),
)
def test_translation_and_uniform_scaling(X, shift, scale):
    base = PPP().fit(X)
    moved = PPP().fit(X * scale + shift)
    assert same_partition(moved.labels_, base.labels_)
    assert moved.n_clusters_ == base.n_clusters_


@SETTINGS
@given(clustered_data(), st.integers(0, 6), st.floats(-1e3, 1e3, allow_nan=False))
def test_a_constant_feature_changes_nothing(X, at, value):
    # It tells no cluster from another; it used to change the clusters of 11 of the 26
    # battery sets of up to 6,000 rows, through the number of features in the tests.
    at = min(at, X.shape[1])
    base = PPP().fit(X)
    padded = PPP().fit(np.insert(X, at, value, axis=1))
    assert same_partition(padded.labels_, base.labels_)
    # The tree is the same tree with the feature put back at its value.
    assert_allclose(np.delete(padded.cluster_centers_, at, axis=1), base.cluster_centers_)
    assert np.all(padded.cluster_centers_[:, at] == value)
    # New points predict alike, whatever they hold in that feature.
    Z = X[::3] + 0.5
    assert same_partition(padded.predict(np.insert(Z, at, value + 7.0, axis=1)), base.predict(Z))


@st.composite
def many_dimensional_data(draw):
    """Groups in more than 32 features, where the tree is grown in principal axes."""
    seed = draw(st.integers(0, 2**32 - 1))
    k, d = draw(st.integers(1, 4)), draw(st.integers(33, 120))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 80, size=k)
    centers = rng.normal(0, draw(st.floats(0.2, 2.0)), size=(k, d))
    return np.vstack([c + rng.normal(size=(s, d)) for c, s in zip(centers, sizes)])


@settings(max_examples=15)
@given(
    many_dimensional_data(),
    st.randoms(use_true_random=False),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.floats(1e-3, 1e3, allow_nan=False),
)
def test_principal_axes_keep_every_invariance(X, random, shift, scale):
    base = PPP().fit(X)
    order = np.array(random.sample(range(X.shape[0]), X.shape[0]))
    permuted = PPP().fit(X[order])
    assert same_partition(permuted.labels_, base.labels_[order])
    assert same_tree(permuted, base)
    doubled = PPP().fit(np.vstack([X, X]))
    weighted = PPP().fit(X, sample_weight=np.full(X.shape[0], 2.0))
    assert same_partition(doubled.labels_[: X.shape[0]], weighted.labels_)
    assert same_tree(doubled, weighted)
    assert same_partition(PPP().fit(X * scale + shift).labels_, base.labels_)


@pytest.mark.parametrize("n, d", [(900, 300), (300, 2000)])
def test_principal_axes_do_not_depend_on_blas_threads(n, d):
    # OpenBLAS rounds products and eigensolves differently on one thread and on more.
    from threadpoolctl import threadpool_limits

    from partitive.prepare import principal_axes

    X = np.random.default_rng(0).normal(size=(n, d)) + np.repeat([[0.0], [1.0], [2.0]], n // 3, axis=0)
    w = np.ones(n)
    mean, axes = principal_axes(X, w)
    with threadpool_limits(1):
        mean_1, axes_1 = principal_axes(X, w)
    assert np.array_equal(mean, mean_1) and np.array_equal(axes, axes_1)
