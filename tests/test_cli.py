"""End-to-end runs of the `partitive` command on real files."""

import json
import re
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
    assert summary["covariance_type"] == model.tree_.mixture.covariance_type
    if fmt == "csv":
        labels = np.loadtxt(out / "labels.csv", skiprows=1, dtype=int)
    elif fmt == "npy":
        labels = np.load(out / "labels.npy")
    else:
        import pyarrow.parquet as pq

        labels = pq.read_table(out / "labels.parquet").column("cluster").to_numpy()
    assert np.array_equal(labels, model.labels_)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_covariance_type_option_fixes_the_clusters_shape(tmp_path, example):
    X, names = example
    path = write(tmp_path, np.round(X, 6), names, "npy")
    result = run("cluster", path, "-o", tmp_path / "out", "--covariance-type", "spherical")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["covariance_type"] == "spherical"
    assert summary["parameters"]["covariance_type"] == "spherical"
    tree = PartitionTree.from_json(tmp_path / "out" / "tree.json")
    assert tree.mixture.covariance_type == "spherical"
    bad = run("cluster", path, "-o", tmp_path / "bad", "--covariance-type", "round")
    assert bad.exit_code == 2 and "round" in bad.output


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


def test_demo_runs_and_writes_its_report_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("demo")
    assert result.exit_code == 0
    assert "found 5 clusters" in result.output
    report = tmp_path / "partitive-demo" / "report.html"
    assert report.is_file() and "report: partitive-demo/report.html" in result.output
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "labels.csv", "report.html", "summary.json", "tree.json"
    ]


def partitive(*args):
    return subprocess.run([sys.executable, "-m", "partitive", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["cluster", "data.csv", "-o", "out", "--bogus"], "No such option"),
    (["cluster"], "Missing argument 'DATA'"),
    (["report"], "Missing argument 'OUTDIR_OR_TREE_JSON'"),
    (["cluster", "data.csv", "-o", "out", "--tau", "high"], "'high' is not a valid float"),
    (["explode"], "No such command 'explode'"),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "partitive", *args], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("partitive: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr and "--help" in proc.stderr
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["cluster", "predict", "report", "demo", None])
def test_every_help_shows_an_example(command):
    result = run(*([command] if command else []), "--help")
    assert result.exit_code == 0
    assert re.search(r"Examples?:\n\s+partitive " + (command or ""), result.output), result.output


@pytest.mark.parametrize("where", ["under a file", "is a file"])
def test_unwritable_outdir_is_one_line_exit_2_and_writes_nothing(tmp_path, example, where):
    X, names = example
    path = write(tmp_path, np.round(X, 6), names, "csv")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    out = blocker / "out" if where == "under a file" else blocker
    before = sorted(tmp_path.iterdir())
    proc = partitive("cluster", path, "-o", out)
    assert proc.returncode == 2
    assert proc.stderr.startswith("partitive: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "cannot write there" in proc.stderr
    assert sorted(tmp_path.iterdir()) == before and blocker.read_text() == "not a folder"


def test_a_failed_write_takes_back_the_outputs_already_written(tmp_path, example):
    X, names = example
    path = write(tmp_path, np.round(X, 6), names, "csv")
    out = tmp_path / "out"
    # A folder where report.html must go: the last output fails after the others are written.
    (out / "report.html").mkdir(parents=True)
    proc = partitive("cluster", path, "-o", out)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert [p.name for p in out.iterdir()] == ["report.html"]


def run_on_a_terminal(*args):
    """Run the command with stderr on a pseudo-terminal; return what the terminal showed."""
    import os
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "partitive", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    shown = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        shown.append(chunk)
    proc.stdout.read()
    assert proc.wait() == 0
    os.close(leader)
    return b"".join(shown).decode("utf-8", "replace")


def test_progress_is_shown_on_a_terminal_only_and_not_with_quiet(tmp_path, example):
    X, names = example
    path = write(tmp_path, np.round(X, 6), names, "csv")
    shown = run_on_a_terminal("cluster", path, "-o", tmp_path / "a")
    for phase in ("Reading", "Growing the partitive tree", "Labelling and writing the report"):
        assert phase in shown
    assert run_on_a_terminal("cluster", path, "-o", tmp_path / "b", "--quiet") == ""
    piped = partitive("cluster", path, "-o", tmp_path / "c")
    assert piped.returncode == 0 and piped.stderr == ""
