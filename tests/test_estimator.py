import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from partitive import PPP, PartitionTree
from partitive.datasets import well_separated_blobs


@parametrize_with_checks([PPP()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_finds_three_blobs(three_blobs):
    X, y = three_blobs
    model = PPP().fit(X)
    assert model.n_clusters_ == 3
    assert adjusted_rand_score(y, model.labels_) == 1.0
    assert np.array_equal(model.predict(X), model.labels_)
    assert model.cluster_centers_.shape == (3, 2)
    assert isinstance(model.tree_, PartitionTree)
    assert model.clusterability_ > 0.99
    assert model.most_separable_ is not None and model.most_separable_.accepted


def test_labels_follow_leaf_order(three_blobs):
    X, _ = three_blobs
    model = PPP().fit(X)
    first_leaf_label = [model.tree_.clusters[c].leaves[0] for c in range(model.n_clusters_)]
    leaf_ids = [leaf.id for leaf in model.tree_.leaves()]
    assert first_leaf_label == sorted(first_leaf_label, key=leaf_ids.index)


def test_predict_proba_rows_sum_to_one_and_agree(three_blobs):
    X, _ = three_blobs
    model = PPP().fit(X)
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba.argmax(axis=1), model.labels_)


def test_feature_names_from_dataframe(three_blobs):
    pd = pytest.importorskip("pandas")
    X, _ = three_blobs
    frame = pd.DataFrame(X, columns=["height", "width"])
    model = PPP().fit(frame)
    assert list(model.feature_names_in_) == ["height", "width"]
    assert model.tree_.feature_names == ["height", "width"]


def test_n_clusters_forces_k(three_blobs):
    X, _ = three_blobs
    assert PPP(n_clusters=5).fit(X).n_clusters_ == 5
    assert PPP(n_clusters=1).fit(X).n_clusters_ == 1


def test_max_clusters_caps_growth():
    X, blob = well_separated_blobs(8, 2, seed=3)
    assert PPP().fit(X).n_clusters_ == 8
    labels = PPP(max_clusters=3).fit(X).labels_
    assert np.unique(labels).size == 3
    # The cap stops the splitting: each cluster is made of whole blobs.
    assert all(np.unique(labels[blob == b]).size == 1 for b in np.unique(blob))


def test_zero_weight_rows_take_no_part(three_blobs):
    X, _ = three_blobs
    outlier = np.vstack([X, [[1e3, 1e3]]])
    weights = np.r_[np.ones(X.shape[0]), 0.0]
    model = PPP().fit(outlier, sample_weight=weights)
    reference = PPP().fit(X)
    assert np.array_equal(model.labels_[:-1], reference.labels_)
    assert model.labels_[-1] == reference.predict([[1e3, 1e3]])[0]


# -- degenerate data: one cluster, no warnings -----------------------------------------


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0, 2.0]]),
        np.ones((50, 3)),
        np.random.default_rng(0).normal(size=(7, 2)),
    ],
    ids=["one row", "identical rows", "below 2*min_cluster_size"],
)
def test_degenerate_inputs_give_one_cluster(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PPP().fit(X)
        model.predict_proba(X)
    assert model.n_clusters_ == 1
    assert np.all(model.labels_ == 0)


def test_more_features_than_rows():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (15, 200)), rng.normal(30, 1, (15, 200))])
    groups = np.repeat([0, 1], 15)
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert np.array_equal(model.labels_, groups) or np.array_equal(model.labels_, 1 - groups)
    assert np.array_equal(model.predict(X), model.labels_)


# -- bad input: a clear error naming the problem ---------------------------------------


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), ValueError, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), ValueError, "infinity"),
        (np.empty((0, 3)), ValueError, "0 sample"),
        (np.empty((5, 0)), ValueError, "0 feature"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, "convert|string"),
        (sp.csr_matrix(np.eye(4)), TypeError, "[Ss]parse"),
    ],
    ids=["nan", "inf", "no rows", "no features", "strings", "sparse"],
)
def test_bad_X(X, error, match):
    with pytest.raises(error, match=match):
        PPP().fit(X)


def test_values_too_large_to_square_are_refused_without_warnings():
    X = np.random.default_rng(0).normal(size=(50, 3))
    X[:, 2] *= 1e307
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="feature 2 has values up to .*e\\+307"):
            PPP().fit(X)


@pytest.mark.parametrize(
    "weights, error, match",
    [
        (-np.ones(10), ValueError, "[Nn]egative"),
        (np.zeros(10), ValueError, "non-zero"),
        (np.r_[np.ones(9), np.nan], ValueError, "NaN"),
        (np.ones(3), ValueError, "shape|samples"),
        (np.array(["a"] * 10), TypeError, "numeric"),
    ],
    ids=["negative", "all zero", "nan", "wrong length", "strings"],
)
def test_bad_sample_weight(weights, error, match):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(error, match=match):
        PPP().fit(X, sample_weight=weights)


@pytest.mark.parametrize(
    "params", [dict(tau=0.4), dict(alpha=0.0), dict(validation="diagonal"), dict(max_clusters=0)]
)
def test_bad_parameters(params, three_blobs):
    X, _ = three_blobs
    with pytest.raises(ValueError, match=list(params)[0]):
        PPP(**params).fit(X)


def test_predict_checks_features(three_blobs):
    X, _ = three_blobs
    model = PPP().fit(X)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.ones((2, 3)))
