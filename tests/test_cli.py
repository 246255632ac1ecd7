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
    (["cluster", "data.csv", "-o", "out", "--tau", "high"], "'high' is not a float in the range (0.5, 1.0)"),
    (["cluster", "data.csv", "-o", "out", "--tau", "1.5"], "'1.5' is not a float in the range (0.5, 1.0)"),
    (["cluster", "data.csv", "-o", "out", "--reduction", "maybe"], "'maybe' is not 'auto' or true or false"),
    (["cluster", "data.csv", "-o", "out", "--n-jobs", "1.5"], "'1.5' is not an integer or 'none'"),
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


def test_progress_is_shown_on_a_terminal_only_and_not_with_quiet(tmp_path, example, run_on_a_terminal):
    X, names = example
    path = write(tmp_path, np.round(X, 6), names, "csv")
    shown = run_on_a_terminal("cluster", path, "-o", tmp_path / "a")
    for phase in ("Reading", "Growing the partitive tree", "Labelling and writing the report"):
        assert phase in shown
    assert run_on_a_terminal("cluster", path, "-o", tmp_path / "b", "--quiet") == ""
    piped = partitive("cluster", path, "-o", tmp_path / "c")
    assert piped.returncode == 0 and piped.stderr == ""


# -- odd files: exit 0 with results, or exit 2 with one line --------------------------


def cli(*args):
    """Run the command in this process; stdout and stderr apart.

    A Python warning that escapes the command would reach the user's terminal as
    several lines naming a source file; here (pytest captures warnings) it fails the test.
    """
    import warnings

    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert [str(w.message) for w in escaped] == []
    return result


def two_groups(n=60):
    rng = np.random.default_rng(5)
    return np.round(np.vstack([rng.normal(0, 1, (n, 2)), rng.normal(9, 1, (n, 2))]), 4)


def csv_text(X, names, delimiter=","):
    return "\n".join([delimiter.join(names)] + [delimiter.join(f"{v:.4f}" for v in row) for row in X]) + "\n"


def labels_of(out):
    return np.loadtxt(out / "labels.csv", skiprows=1, dtype=int, delimiter=",", usecols=-1)


@pytest.mark.parametrize("case", ["semicolon", "tab", "utf-8 with BOM", "latin-1", "utf-16"])
def test_odd_delimiters_and_encodings_cluster_as_plain_csv_does(tmp_path, case):
    X = two_groups()
    name = "caf\u00e9" if case == "latin-1" else "a"
    text = csv_text(X, [name, "b"], ";" if case == "semicolon" else "\t" if case == "tab" else ",")
    encoding = {"utf-8 with BOM": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}.get(case, "utf-8")
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode(encoding))
    result = cli("cluster", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert np.array_equal(labels_of(tmp_path / "out"), PPP().fit(X).labels_)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["columns"] == [name, "b"] and summary["rows"] == X.shape[0]
    expected = ["partitive: note: " + f"{path}: not UTF-8; read as Latin-1"] if case == "latin-1" else []
    assert result.stderr.splitlines() == expected


def one_line_error(result, message):
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("partitive: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".parquet"])
def test_a_binary_file_is_one_line_exit_2(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(bytes(range(256)) * 8)
    message = {".csv": "binary data, not a text (CSV) file", ".npy": "not a readable .npy file",
               ".parquet": "not a readable Parquet file"}[suffix]
    one_line_error(cli("cluster", path, "-o", tmp_path / "out"), message)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_values_near_the_float_limit_are_one_line_or_standardized_without_warnings(tmp_path):
    X = two_groups()
    path = tmp_path / "huge.csv"
    path.write_text("a,b\n" + "\n".join(f"{a:.6e},{b:.6e}" for a, b in X * 1e307) + "\n")
    one_line_error(cli("cluster", path, "-o", tmp_path / "out"), "column 'a' has values up to")
    result = cli("cluster", path, "-o", tmp_path / "scaled", "--standardize")
    # The fit is silent; matplotlib's axis ticks at 1e307 overflow, told in one note.
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r"partitive: note: \d+ numerical warning\(s\) drawing the report, [^\n]*\n",
                        result.stderr), result.stderr
    assert np.array_equal(labels_of(tmp_path / "scaled"), PPP().fit(X).labels_)
    # predict scales the same way, without overflowing either
    result = cli("predict", path, "--tree", tmp_path / "scaled" / "tree.json")
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    assert result.stdout.split() == [str(v) for v in PPP().fit(X).labels_]


def test_a_text_column_beside_numeric_ones_is_named_in_one_notice(tmp_path):
    X = two_groups()
    path = tmp_path / "people.csv"
    path.write_text("name,a,b\n" + "\n".join(f"p{i},{a},{b}" for i, (a, b) in enumerate(X)) + "\n")
    result = cli("cluster", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"partitive: note: {path}: column 'name' not numeric, left out "
        "(--id-column NAME carries a column into the labels)"
    ]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["columns"] == ["a", "b"]


def test_id_column_is_carried_into_the_labels_row_for_row(tmp_path):
    X = two_groups()
    ids = [f"row {i}, part {i % 3}" for i in range(X.shape[0])]  # commas: quoted in the output
    path = tmp_path / "people.csv"
    lines = [f'"{i}",{a},{b},{"x" if k == 7 else "1"}' for k, (i, (a, b)) in enumerate(zip(ids, X))]
    path.write_text("id,a,b,c\n" + "\n".join(lines) + "\n")
    result = cli("cluster", path, "-o", tmp_path / "out", "--id-column", "id", "--columns", "a,b")
    assert result.exit_code == 0 and result.stderr == "", result.output
    import csv

    with open(tmp_path / "out" / "labels.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "cluster"]
    assert [r[0] for r in rows[1:]] == ids
    assert [int(r[1]) for r in rows[1:]] == PPP().fit(X).labels_.tolist()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["id_column"] == "id" and summary["columns"] == ["a", "b"]
    # Without --columns the other text column 'c' is named, the id column is not.
    result = cli("cluster", path, "-o", tmp_path / "out2", "--id-column", "id")
    assert result.stderr.splitlines() == [
        f"partitive: note: {path}: column 'c' not numeric, left out "
        "(--id-column NAME carries a column into the labels)"
    ]
    one_line_error(cli("cluster", path, "-o", tmp_path / "out3", "--id-column", "ID"), "no id column 'ID'")
    # predict carries the ids the same way, to a file or to stdout
    tree = tmp_path / "out" / "tree.json"
    result = cli("predict", path, "--tree", tree, "--id-column", "id", "-o", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.csv").read_text() == (tmp_path / "out" / "labels.csv").read_text()
    result = cli("predict", path, "--tree", tree, "--id-column", "id")
    assert list(csv.reader(result.stdout.splitlines())) == [
        [i, str(c)] for i, c in zip(ids, PPP().fit(X).labels_)
    ]


def test_id_column_drops_with_its_row_under_drop_missing(tmp_path):
    X = two_groups()
    path = tmp_path / "gaps.csv"
    lines = [f"r{i},{'' if i == 4 else a},{b}" for i, (a, b) in enumerate(X)]
    path.write_text("key,a,b\n" + "\n".join(lines) + "\n")
    result = cli("cluster", path, "-o", tmp_path / "out", "--id-column", "key", "--drop-missing")
    assert result.exit_code == 0, result.output
    keys = np.loadtxt(tmp_path / "out" / "labels.csv", skiprows=1, dtype=str, delimiter=",", usecols=0)
    assert keys.tolist() == [f"r{i}" for i in range(X.shape[0]) if i != 4]
    assert np.array_equal(labels_of(tmp_path / "out"), PPP().fit(np.delete(X, 4, axis=0)).labels_)


def test_one_cluster_says_there_is_no_structure_to_score(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 2))
    assert PPP().fit(X).n_clusters_ == 1
    path = tmp_path / "blob.npy"
    np.save(path, X)
    result = cli("cluster", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 cluster: no structure to score")
    assert "clusterability" not in result.stdout
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["clusterability"] is None
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<dt>Clusterability</dt><dd>none: one cluster, no structure to score</dd>" in html
    assert "1.000" not in html.split('id="tree"')[0]


def test_every_parameter_of_ppp_is_an_option_with_its_default():
    from partitive.__main__ import cluster

    options = {p.name: p for p in cluster.params}
    for name, default in PPP().get_params().items():
        assert name in options, name
        assert options[name].default == default, name
        assert options[name].help, name
        # Every default can be typed back: each kind of value PPP takes can be given.
        if default is not None:
            typed = str(default).lower() if isinstance(default, bool) else str(default)
            assert options[name].type.convert(typed, None, None) == default, name


def test_ppp_options_reach_the_estimator(tmp_path):
    X = two_groups()
    path = tmp_path / "data.npy"
    np.save(path, X)
    chosen = dict(n_clusters=4, covariance_type="diag", min_cluster_size=7.0, reduction=False,
                  dip_level=0.01, n_jobs=1, max_clusters=None)
    args = [f"--{k.replace('_', '-')}={'none' if v is None else str(v).lower()}" for k, v in chosen.items()]
    result = cli("cluster", path, "-o", tmp_path / "out", *args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    model = PPP(**chosen).fit(X)
    assert summary["parameters"] == model.get_params()
    assert summary["n_clusters"] == 4
    assert np.array_equal(np.load(tmp_path / "out" / "labels.npy"), model.labels_)


# -- whatever the file holds: exit 0, or exit 2 with one line -------------------------

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import example as known_case  # noqa: E402  (a fixture here is named example)
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])

ODD_CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.sampled_from(["", "NA", "nan", "1e308", "-1.7e308", "5e-324", "1e-310", "0", "1_000", " 3 ", "\"1,5\""]),
    st.text(max_size=6),
)


def assert_exit_0_or_one_line(result, out):
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("partitive: error: ") and result.stderr.count("\n") == 1, result.stderr
        assert not out.exists() or not any(out.iterdir())
    else:
        assert all(line.startswith("partitive: note: ") for line in result.stderr.splitlines()), result.stderr
        assert (out / "report.html").is_file() and (out / "tree.json").is_file()


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".tsv", ".npy", ".parquet"]))
def test_any_bytes_give_results_or_one_line(tmp_path_factory, data, suffix):
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / f"data{suffix}"
    path.write_bytes(data)
    assert_exit_0_or_one_line(cli("cluster", path, "-o", folder / "out"), folder / "out")


@st.composite
def odd_tables(draw):
    """Rows of numbers (all kinds of magnitudes) with odd cells put in here and there."""
    width = draw(st.integers(1, 4))
    n = draw(st.integers(1, 40))
    scale = draw(st.sampled_from([1.0, 1e-300, 1e-5, 1e5, 1e150, 1e300]))
    values = draw(st.lists(st.floats(-1e3, 1e3), min_size=n * width, max_size=n * width))
    cells = [repr(v * scale) for v in values]
    for _ in range(draw(st.integers(0, 3))):
        cells[draw(st.integers(0, len(cells) - 1))] = draw(ODD_CELLS)
    return [cells[i * width:(i + 1) * width] for i in range(n)]


@FUZZ
@given(
    rows=odd_tables(),
    delimiter=st.sampled_from([",", ";", "\t", " ", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
    header=st.booleans(),
)
# An empty first line: the streaming reader took it for the row that names the columns.
@known_case(rows=[[""], ["0.0"], ["0.0"]], delimiter=",", encoding="utf-8", header=False)
def test_odd_csv_files_give_results_or_one_line(tmp_path_factory, rows, delimiter, encoding, header):
    folder = tmp_path_factory.mktemp("csv")
    lines = ([delimiter.join(f"c{j}" for j in range(len(rows[0])))] if header else []) + [
        delimiter.join(r) for r in rows
    ]
    path = folder / "data.csv"
    path.write_bytes("\n".join(lines).encode(encoding, errors="replace"))
    result = cli("cluster", path, "-o", folder / "out")
    event(f"exit {result.exit_code}")
    assert_exit_0_or_one_line(result, folder / "out")


def test_empty_lines_above_a_header_are_skipped(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("\n\na,b\n1,2\n3,4\n5,6\n")
    result = cli("cluster", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["columns"] == ["a", "b"] and summary["rows"] == 3
