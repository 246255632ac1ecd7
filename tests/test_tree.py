import numpy as np
import pytest

from partitive import PPP, PartitionTree
from partitive.datasets import load_example, well_separated_blobs


@pytest.fixture(scope="module")
def fitted():
    X, _, _ = load_example()
    return PPP().fit(X), X


def test_json_round_trip_predicts_identically(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "tree.json"
    model.tree_.to_json(path)
    loaded = PartitionTree.from_json(path)
    assert loaded.to_dict() == model.tree_.to_dict()
    assert np.array_equal(loaded.predict(X), model.labels_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert PartitionTree.from_json(model.tree_.to_json()).to_dict() == model.tree_.to_dict()


def test_from_json_rejects_other_documents():
    with pytest.raises(ValueError, match="not a partitive tree"):
        PartitionTree.from_json('{"nodes": []}')
    with pytest.raises(ValueError, match="version"):
        PartitionTree.from_json('{"format": "partitive.PartitionTree", "version": 99}')


def test_nodes_record_the_evidence(fitted):
    model, X = fitted
    tree = model.tree_
    root = tree.root
    assert root.weight == X.shape[0] and root.parent is None and root.depth == 0
    np.testing.assert_allclose(root.centroid, X.mean(axis=0))
    np.testing.assert_allclose(root.sse, ((X - X.mean(axis=0)) ** 2).sum())
    for node in tree.nodes:
        if node.accepted:
            a, b = (tree.nodes[c] for c in node.children)
            assert a.parent == b.parent == node.id
            assert a.weight + b.weight == node.weight
            assert node.dbic is not None and len(node.scores) == 2
        else:
            assert node.is_leaf and node.reason != "split"
    assert sum(c.weight for c in tree.clusters) == X.shape[0]
    leaves = {leaf.id for leaf in tree.leaves()}
    assert set().union(*(c.leaves for c in tree.clusters)) == leaves


def test_cut_nests_along_the_tree():
    X, y = well_separated_blobs(6, 3, seed=4)
    tree = PPP().fit(X).tree_
    n_leaves = len(tree.leaves())
    previous = None
    for k in range(1, n_leaves + 1):
        labels = tree.cut(k).predict(X)
        assert np.unique(labels).size == k
        if previous is not None:
            # Each cluster of cut(k) lies inside one cluster of cut(k - 1).
            for c in np.unique(labels):
                assert np.unique(previous[labels == c]).size == 1
        previous = labels
    with pytest.raises(ValueError, match="n_clusters=99"):
        tree.cut(99)


def test_to_pandas_has_a_row_per_node(fitted):
    pytest.importorskip("pandas")
    model, _ = fitted
    frame = model.tree_.to_pandas()
    assert len(frame) == len(model.tree_.nodes)
    assert {"weight", "dbic", "score0", "score1", "p_value", "reason", "cluster"} <= set(frame.columns)
    assert frame["cluster"].dropna().nunique() == model.n_clusters_


def test_text_rendering_names_every_node(fitted):
    model, _ = fitted
    text = str(model.tree_)
    assert text.startswith(f"PartitionTree: {model.n_clusters_} cluster(s)")
    assert all(f"node {n.id}:" in text for n in model.tree_.nodes)
    assert "[most separable]" in text


def test_plot_draws_every_node(fitted):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model, _ = fitted
    ax = model.tree_.plot()
    assert len(ax.collections) == len(model.tree_.nodes)


def test_a_tree_fitted_with_a_constant_feature_round_trips(tmp_path):
    X, _ = well_separated_blobs(3, 4, n_per=60, seed=3)
    X = np.insert(X, 2, 5.0, axis=1)
    model = PPP().fit(X)
    assert model.tree_.mixture.features.tolist() == [0, 1, 3, 4]
    loaded = PartitionTree.from_json(model.tree_.to_json())
    assert loaded.to_dict() == model.tree_.to_dict()
    assert np.array_equal(loaded.predict(X), model.labels_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_tree_fitted_in_principal_axes_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 80)) + np.repeat(np.eye(80)[:3] * 12, 200, axis=0)
    model = PPP().fit(X)
    assert model.n_clusters_ == 3
    data = model.tree_.to_dict()
    assert data["version"] == 4 and data["mixture"]["projection"] is not None
    loaded = PartitionTree.from_json(model.tree_.to_json())
    assert loaded.to_dict() == data
    assert np.array_equal(loaded.predict(X), model.labels_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_cut_tree_predicts_through_its_splits():
    # The root's split lies at 7, between 0 and the two groups at 10 and 16: a row at
    # 5.5 or 6 is on the side of the group at 0, though nearer the centre at 10.
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.3, 200), rng.normal(10, 0.3, 200), rng.normal(16, 0.3, 400)][:, None]
    cut = PPP().fit(X).tree_.cut(3)
    assert [round(float(c.center[0])) for c in cut.clusters] == [0, 10, 16]
    assert cut.predict([[5.5], [6.0], [8.0], [13.5]]).tolist() == [0, 0, 1, 2]
    assert np.array_equal(np.bincount(cut.predict(X)), [200, 200, 400])


def test_nodes_fitted_in_principal_axes_are_described_by_the_rows_their_splits_send_them():
    # Two heavy-tailed clouds in 128 features: refinement moves rows between leaves,
    # and a leaf grown again on its new rows lies below splits that send it others.
    # Nodes were described by the leaves' rows after refinement: one leaf had none,
    # and its NaN centroid reached every node above it and the centres of cuts.
    rng = np.random.default_rng(128040)
    y = np.repeat([0, 1], 1024)
    z = rng.standard_normal((2048, 128)) / np.sqrt(rng.chisquare(3, (2048, 1)))
    X = 500.0 + 100.0 * y[:, None] + 40.0 * z
    tree = PPP().fit(X).tree_
    assert all(np.isfinite(n.centroid).all() and np.isfinite(n.variance).all() for n in tree.nodes)
    reached = tree.descend(X)
    for n in tree.nodes:
        rows = np.flatnonzero(np.isin(reached, [leaf.id for leaf in tree.leaves(n.id)]))
        if rows.size:
            np.testing.assert_allclose(n.centroid, X[rows].mean(axis=0), rtol=1e-9)
            np.testing.assert_allclose(n.variance, X[rows].var(axis=0), rtol=1e-6)
    for k in (2, 3, 4):
        cut = tree.cut(k)
        labels = cut.predict(X)
        for c in cut.clusters:
            np.testing.assert_allclose(c.center, X[labels == c.label].mean(axis=0), rtol=1e-9)
