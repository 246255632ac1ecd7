"""Dask input: the same labels as the in-memory fit, on a cluster of worker processes."""

import os
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from sklearn.datasets import make_blobs  # noqa: E402

from partitive import PPP  # noqa: E402

M = 500


def reduced(**kw):
    return PPP(reduction=True, n_representatives=M, **kw)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def blobs():
    """24,000 rows in 8 overlapping blobs, and the in-memory reduced fit on them."""
    X, _ = make_blobs(n_samples=24_000, n_features=6, centers=8, cluster_std=1.5, center_box=(-10, 10), random_state=0)
    model = reduced().fit(X)
    assert model.n_clusters_ > 1
    return X, model


@pytest.mark.parametrize("rows", [997, 5000, 24_000])
def test_labels_equal_the_in_memory_fit_for_any_chunking(client, blobs, rows):
    X, in_memory = blobs
    # Column chunks too: the backend must put each row back together.
    model = reduced().fit(da.from_array(X, chunks=(rows, 4)))
    assert isinstance(model.labels_, da.Array)
    assert model.labels_.chunks == (da.from_array(X, chunks=(rows, 6)).chunks[0],)
    assert model.tree_.params["reduced"] == in_memory.tree_.params["reduced"]
    assert np.array_equal(model.labels_.compute(), in_memory.labels_)
    assert np.array_equal(model.cluster_centers_, in_memory.cluster_centers_)


def test_rare_regions_are_seeded_as_in_memory(client):
    # 150 rows far from 12,000 others have about 6 of the 500 seeds: their region is
    # seeded again, in one more pass on the workers.
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(0, 1, (6000, 4)), rng.normal(8, 1, (6000, 4)), rng.normal(40, 1, (150, 4))])
    in_memory = reduced().fit(X)
    assert in_memory.tree_.params["reduced"]["representatives"] > M
    model = reduced().fit(da.from_array(X, chunks=(1001, 4)))
    assert model.tree_.params["reduced"] == in_memory.tree_.params["reduced"]
    assert np.array_equal(model.labels_.compute(), in_memory.labels_)


def test_only_the_partials_reach_the_client(client, blobs):
    X, in_memory = blobs
    Xd = client.persist(da.from_array(X, chunks=(5000, 6)))
    distributed.wait(Xd)
    sent, received = _transfer_totals(client)
    model = reduced().fit(Xd)
    sent_after, received_after = _transfer_totals(client)
    to_client = (sent_after - sent) - (received_after - received)
    # One sample (M x 6) and one set of totals (2 x M x 13 numbers), far below the rows.
    assert 0 < to_client < 0.25 * X.nbytes
    assert np.array_equal(model.labels_.compute(), in_memory.labels_)


def _transfer_totals(client):
    """Bytes the workers sent (to each other and the client) and received from each other."""
    stats = client.run(
        lambda dask_worker: (
            dask_worker.transfer_outgoing_bytes_total,
            sum(t["total"] for t in dask_worker.transfer_incoming_log),
        )
    )
    return sum(s for s, _ in stats.values()), sum(r for _, r in stats.values())


def test_threads_scheduler_gives_the_same_labels(blobs):
    import dask

    X, in_memory = blobs
    with dask.config.set(scheduler="threads"):
        model = reduced().fit(da.from_array(X, chunks=(3001, 6)))
        assert np.array_equal(model.labels_.compute(), in_memory.labels_)


def test_dataframe_input_keeps_names_and_labels(client, blobs):
    X, _ = blobs
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(6)])
    frame["f5"] = (frame["f5"] * 10).round().astype(np.int64)  # an integer column is numeric too
    in_memory = reduced().fit(frame)
    ddf = dd.from_pandas(frame, npartitions=7)
    model = reduced().fit(ddf)
    assert list(model.feature_names_in_) == list(frame.columns) == model.tree_.feature_names
    assert model.labels_.chunks[0] == tuple(ddf.map_partitions(len).compute())
    assert np.array_equal(model.labels_.compute(), in_memory.labels_)
    assert np.array_equal(model.predict(ddf).compute(), in_memory.labels_)


def test_dataframe_of_unknown_length_is_reduced_only_above_the_threshold(client, blobs):
    X, _ = blobs
    ddf = dd.from_pandas(pd.DataFrame(X[:6000]), npartitions=3)
    ddf.columns = [f"f{j}" for j in range(6)]
    exact = PPP(reduce_above=6000).fit(ddf)
    assert "reduced" not in exact.tree_.params
    assert np.array_equal(exact.labels_.compute(), PPP().fit(X[:6000]).labels_)
    reduced_fit = PPP(reduce_above=5999, n_representatives=M).fit(ddf)
    assert reduced_fit.tree_.params["reduced"]["rows"] == 6000
    assert np.array_equal(reduced_fit.labels_.compute(), reduced().fit(X[:6000]).labels_)


def test_small_array_is_fitted_exactly_and_labels_stay_lazy(client, blobs):
    X, _ = blobs
    model = PPP().fit(da.from_array(X[:3000], chunks=(1000, 6)))
    assert "reduced" not in model.tree_.params
    assert model.labels_.chunks == ((1000, 1000, 1000),)
    assert np.array_equal(model.labels_.compute(), PPP().fit(X[:3000]).labels_)


def test_predict_is_lazy_and_equals_numpy_predict(client, blobs):
    X, in_memory = blobs
    model = reduced().fit(da.from_array(X, chunks=(5000, 6)))
    new = np.random.default_rng(1).normal(0, 8, size=(4000, 6))
    labels = model.predict(da.from_array(new, chunks=(999, 6)))
    proba = model.predict_proba(da.from_array(new, chunks=(999, 6)))
    assert isinstance(labels, da.Array) and isinstance(proba, da.Array)
    assert np.array_equal(labels.compute(), in_memory.predict(new))
    assert np.array_equal(proba.compute(), in_memory.predict_proba(new))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_bad_value_in_one_block_raises_the_in_memory_error(client, blobs, bad):
    X, _ = blobs
    X = X.copy()
    X[12_345, 2] = bad
    with pytest.raises(ValueError) as in_memory:
        reduced().fit(X)
    with pytest.raises(ValueError) as on_dask:
        reduced().fit(da.from_array(X, chunks=(997, 6)))
    message = str(on_dask.value)
    assert message.startswith(str(in_memory.value))
    assert message.endswith("The first is at row 12345 (row 381 of Dask block 12), column 2.")


def test_input_that_is_not_numeric_is_refused(client, blobs):
    X, _ = blobs
    ddf = dd.from_pandas(pd.DataFrame({"a": X[:100, 0], "name": ["x"] * 100}), npartitions=2)
    with pytest.raises(ValueError, match="not numeric: name"):
        PPP().fit(ddf)
    with pytest.raises(ValueError, match="2-D"):
        PPP().fit(da.from_array(X[:, 0], chunks=100))
    with pytest.raises(TypeError, match="sample_weight"):
        PPP().fit(da.from_array(X, chunks=1000), sample_weight=np.ones(X.shape[0]))
    model = reduced().fit(da.from_array(X, chunks=5000))
    with pytest.raises(ValueError, match="X has 5 features, but PPP is expecting 6"):
        model.predict(da.from_array(X[:, :5], chunks=5000))


def test_a_worker_killed_mid_fit_changes_nothing(client, blobs):
    X, in_memory = blobs

    def slow(block):
        # Spreads each pass over a few seconds, so the kill lands inside the fit.
        time.sleep(0.15)
        return block

    Xd = da.from_array(X, chunks=(1000, 6)).map_blocks(slow, dtype=X.dtype)
    victim = sorted(client.scheduler_info()["workers"])[0]
    killed_at = []

    def kill():
        time.sleep(1.0)
        killed_at.append(time.perf_counter())
        try:
            client.run(os._exit, 1, workers=[victim])
        except Exception:  # the worker dies before it can answer
            pass

    killer = threading.Thread(target=kill)
    killer.start()
    model = reduced().fit(Xd)
    fitted_at = time.perf_counter()
    killer.join()
    assert killed_at and killed_at[0] < fitted_at
    assert np.array_equal(model.labels_.compute(), in_memory.labels_)
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.scheduler_info()["workers"]
