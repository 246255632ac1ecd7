"""One fit path: every kind of input, read through its source, gives the same labels."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from partitive import PPP, open_dataset
from partitive.__main__ import main
from partitive.datasets import well_separated_blobs


def reduced():
    return PPP(reduction=True, n_representatives=300)


@pytest.fixture(scope="module")
def blobs():
    # A few thousand rows with a small group far out: the rare-region pass runs too.
    X, _ = well_separated_blobs(5, 3, n_per=1100, seed=4)
    far = np.random.default_rng(0).normal(60.0, 0.5, size=(40, 3))
    return np.round(np.vstack([X, far]), 6)


def save(X, path):
    names = [f"f{j}" for j in range(X.shape[1])]
    if path.suffix == ".npy":
        np.save(path, X)
    elif path.suffix == ".csv":
        np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.table({n: X[:, j] for j, n in enumerate(names)}), path)
    return path


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".parquet"])
@pytest.mark.parametrize("chunk_rows", [333, 100_000])
def test_a_file_gives_the_labels_of_the_array(tmp_path, blobs, suffix, chunk_rows):
    in_memory = reduced().fit(blobs)
    assert "reduced" in in_memory.tree_.params
    assert in_memory.tree_.params["reduced"]["representatives"] > 300  # rare rows reseeded
    streamed = reduced().fit(open_dataset(save(blobs, tmp_path / f"x{suffix}"), chunk_rows=chunk_rows))
    assert np.array_equal(streamed.labels_, in_memory.labels_)
    assert streamed.n_clusters_ == in_memory.n_clusters_ == 6
    # The same representatives: every row counted once, whichever chunk it came in.
    assert streamed.tree_.params["reduced"] == in_memory.tree_.params["reduced"]
    assert [c.weight for c in streamed.tree_.clusters] == [c.weight for c in in_memory.tree_.clusters]


@pytest.mark.parametrize("rows", [250, 1777, 10_000])
def test_a_dask_array_gives_the_labels_of_the_array(blobs, rows):
    da = pytest.importorskip("dask.array")
    import dask

    in_memory = reduced().fit(blobs)
    with dask.config.set(scheduler="threads"):
        model = reduced().fit(da.from_array(blobs, chunks=(rows, 3)))
        assert np.array_equal(model.labels_.compute(), in_memory.labels_)
        assert model.tree_.params["reduced"] == in_memory.tree_.params["reduced"]
        assert [c.weight for c in model.tree_.clusters] == [c.weight for c in in_memory.tree_.clusters]
        assert np.array_equal(model.predict(da.from_array(blobs, chunks=(rows, 3))).compute(), in_memory.labels_)


def test_sample_weight_reaches_the_passes_as_on_repeated_rows(blobs):
    counts = np.arange(blobs.shape[0]) % 3  # 0, 1 or 2 copies of each row
    weighted = reduced().fit(blobs, sample_weight=counts.astype(float))
    repeated = reduced().fit(np.repeat(blobs, counts, axis=0))
    kept = counts > 0
    assert np.array_equal(np.repeat(weighted.labels_[kept], counts[kept]), repeated.labels_)


def test_the_count_of_a_csv_file_comes_with_the_first_pass(tmp_path, blobs, monkeypatch):
    # Above reduce_above the file is reduced; the pass that samples also counts.
    from partitive.dataset import Dataset

    path = save(blobs, tmp_path / "x.csv")
    passes = []
    original = Dataset.chunks_with_ids

    def counted(self):
        passes.append(1)
        return original(self)

    monkeypatch.setattr(Dataset, "chunks_with_ids", counted)
    model = PPP(reduce_above=1000, n_representatives=300).fit(open_dataset(path, chunk_rows=500))
    assert np.array_equal(model.labels_, reduced().fit(blobs).labels_)
    assert len(passes) == 4  # sample (and count), rare regions, accumulate, label


def people(X, tmp_path):
    """A CSV with an id column and a text column beside the numbers."""
    path = tmp_path / "people.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "x", "name", "y", "z"])
        for i, (a, b, c) in enumerate(X):
            writer.writerow([f"row {i}, NA" if i % 7 == 0 else f"r{i}", f"{a:.6f}", f"n{i % 5}", f"{b:.6f}", f"{c:.6f}"])
    return path


@pytest.mark.parametrize("reduction", ["true", "false"])
def test_cluster_streams_a_csv_in_small_chunks_as_in_memory(tmp_path, blobs, monkeypatch, reduction):
    X = np.round(blobs, 6)
    path = people(X, tmp_path)
    monkeypatch.setenv("PARTITIVE_CHUNK_ROWS", "97")
    result = CliRunner().invoke(main, [
        "cluster", str(path), "-o", str(tmp_path / "out"), "--id-column", "id",
        f"--reduction={reduction}", "--n-representatives=300",
    ], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"partitive: note: {path}: column 'name' not numeric, left out "
        "(--id-column NAME carries a column into the labels)"
    ]
    with open(tmp_path / "out" / "labels.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    expected = PPP(reduction=reduction == "true", n_representatives=300).fit(X)
    assert rows[0] == ["id", "cluster"]
    assert [r[0] for r in rows[1:]] == [f"row {i}, NA" if i % 7 == 0 else f"r{i}" for i in range(X.shape[0])]
    assert [int(r[1]) for r in rows[1:]] == expected.labels_.tolist()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["rows"] == X.shape[0] and summary["columns"] == ["x", "y", "z"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert f"It shows 5,000 of the {X.shape[0]:,} rows" in html


def test_a_bad_value_far_into_a_streamed_file_is_one_line(tmp_path, blobs, monkeypatch):
    X = blobs.copy()
    path = people(X, tmp_path)
    lines = path.read_text().splitlines()
    lines[3001] = lines[3001].rsplit(",", 1)[0] + ","
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("PARTITIVE_CHUNK_ROWS", "500")
    args = ["cluster", str(path), "-o", str(tmp_path / "out"), "--id-column", "id", "--columns", "x,y,z"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == f"partitive: error: {path}: missing or infinite value at data row 3001, column 'z' " \
        "(use --drop-missing to skip such rows)\n"
    result = CliRunner().invoke(main, [*args, "--drop-missing", "-o", str(tmp_path / "kept")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with open(tmp_path / "kept" / "labels.csv", newline="") as fh:
        ids = [r[0] for r in csv.reader(fh)][1:]
    assert len(ids) == X.shape[0] - 1 and "r3000" not in ids


def test_passes_are_counted_in_rows_on_a_terminal_only(tmp_path, blobs, run_on_a_terminal):
    path = save(blobs, tmp_path / "x.csv")
    env_rows = os.environ.get("PARTITIVE_CHUNK_ROWS")
    os.environ["PARTITIVE_CHUNK_ROWS"] = "1000"
    try:
        shown = run_on_a_terminal("cluster", path, "-o", tmp_path / "a", "--reduction=true",
                                  "--n-representatives=300")
        piped = subprocess.run([sys.executable, "-m", "partitive", "cluster", str(path), "-o",
                                str(tmp_path / "b"), "--reduction=true"], capture_output=True, text=True)
    finally:
        if env_rows is None:
            del os.environ["PARTITIVE_CHUNK_ROWS"]
        else:
            os.environ["PARTITIVE_CHUNK_ROWS"] = env_rows
    for bar in ("Sampling", "Reseeding rare regions", "Accumulating", "Labelling", "Writing labels"):
        assert bar in shown
    assert f"{blobs.shape[0]:,} rows" in shown
    assert piped.returncode == 0 and piped.stderr == ""


@pytest.mark.parametrize("extra_rows", [-3, 5])
def test_a_file_that_changes_between_passes_is_an_error_not_wrong_labels(blobs, extra_rows):
    from partitive import DataError
    from partitive.source import DatasetSource

    class Growing:
        """A dataset whose later passes read a different number of rows."""

        columns, n_features = ["a", "b", "c"], 3

        def __init__(self):
            self.passes = 0

        def known_rows(self):
            return blobs.shape[0]

        def count_rows(self):
            return blobs.shape[0]

        def chunks(self):
            self.passes += 1
            X = blobs if self.passes < 4 else np.vstack([blobs, blobs[:extra_rows]])[: blobs.shape[0] + extra_rows]
            for start in range(0, X.shape[0], 1000):
                yield X[start : start + 1000]

    source = DatasetSource(Growing())
    tree = reduced().fit(blobs).tree_
    source.dataset.passes = 3
    with pytest.raises(DataError, match="changed while it was read"):
        source.labels(tree)
    source.dataset.passes = 0
    assert np.array_equal(source.labels(tree), tree.predict(blobs))
