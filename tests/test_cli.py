"""End-to-end runs of the `partitive` command on real files."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from partitive import PPP, PartitionTree
from partitive.__main__ import main
from partitive.datasets import load_example


@pytest.fixture(scope="module")
def example():
    X, names, _ = load_example()
    return X, names


def write(tmp_path, X, names, fmt):
    if fmt == "csv":
        path = tmp_path / "data.csv"
        np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
    elif fmt == "npy":
        path = tmp_path / "data.npy"
        np.save(path, X)
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        path = tmp_path / "data.parquet"
        pq.write_table(pa.table({n: X[:, j] for j, n in enumerate(names)}), path)
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["csv", "npy", "parquet"])
def test_cluster_writes_outputs_that_agree_with_the_api(tmp_path, example, fmt):
    X, names = example
    X = np.round(X, 6)
    path = write(tmp_path, X, names, fmt)
    out = tmp_path / "out"
    result = run("cluster", path, "-o", out)
    assert result.exit_code == 0, result.output
    model = PPP().fit(X)
    tree = PartitionTree.from_json(out / "tree.json")
    assert np.array_equal(tree.predict(X), model.labels_)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_clusters"] == model.n_clusters_
    assert summary["sizes"] == [int(c.weight) for c in model.tree_.clusters]
    if fmt == "csv":
        labels = np.loadtxt(out / "labels.csv", skiprows=1, dtype=int)
    elif fmt == "npy":
        labels = np.load(out / "labels.npy")
    else:
        import pyarrow.parquet as pq

        labels = pq.read_table(out / "labels.parquet").column("cluster").to_numpy()
    assert np.array_equal(labels, model.labels_)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_predict_uses_the_saved_tree_and_its_scaling(tmp_path, example):
    X, names = example
    path = write(tmp_path, np.round(X, 6), names, "csv")
    out = tmp_path / "out"
    assert run("cluster", path, "-o", out, "--standardize").exit_code == 0
    result = run("predict", path, "--tree", out / "tree.json", "-o", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    predicted = np.loadtxt(tmp_path / "p.csv", skiprows=1, dtype=int)
    fitted = np.loadtxt(out / "labels.csv", skiprows=1, dtype=int)
    assert np.array_equal(predicted, fitted)


def bad_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "text.csv").write_text("name,city\nann,paris\nbob,rome\n")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n5,6\n")
    rows = "\n".join(f"{i},{i * 2}" for i in range(500))
    (tmp_path / "nan.csv").write_text(f"a,b\n{rows}\n7,nan\n")
    return {
        "missing": (tmp_path / "nope.csv", "no such file"),
        "empty": (tmp_path / "empty.csv", "empty"),
        "no numeric": (tmp_path / "text.csv", "no numeric columns"),
        "ragged": (tmp_path / "ragged.csv", "line 3 has 1 fields"),
        "nan": (tmp_path / "nan.csv", "data row 501, column 'b'"),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "no numeric", "ragged", "nan"])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, case):
    path, message = bad_files(tmp_path)[case]
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "partitive", "cluster", str(path), "-o", str(out)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_drop_missing_skips_rows(tmp_path):
    path, _ = bad_files(tmp_path)["nan"]
    result = run("cluster", path, "-o", tmp_path / "out", "--drop-missing")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["rows"] == 500


def test_demo_runs():
    result = run("demo")
    assert result.exit_code == 0
    assert "found 5 clusters" in result.output
