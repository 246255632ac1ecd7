"""The HTML report: its sections, self-containment, re-rendering, and a real browser."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner

from partitive import PPP, PartitionTree
from partitive.__main__ import main
from partitive.datasets import load_example
from partitive.report import _cluster_list, profile_values, render_report
from partitive.pca import plot_axes
from partitive.report.figures import sample_rows

SECTIONS = {"summary", "sizes", "profiles", "scatter", "tree", "parameters"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class Sections(HTMLParser):
    """The text and the tags inside each ``<section id=...>`` of a page."""

    def __init__(self, html):
        super().__init__()
        self.current, self.text, self.tags = None, {}, {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.current = dict(attrs)["id"]
            self.text[self.current], self.tags[self.current] = "", []
        elif self.current:
            self.tags[self.current].append(tag)

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.current:
            self.text[self.current] += data


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    """The example written to a CSV and clustered by the command: (folder, data path, X)."""
    folder = tmp_path_factory.mktemp("report")
    X, names, _ = load_example()
    X = np.round(X, 6)
    data = folder / "customers.csv"
    np.savetxt(data, X, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
    out = folder / "out"
    result = run("cluster", data, "-o", out)
    assert result.exit_code == 0, result.output
    return out, data, X


def external_loads(html):
    """Every attribute or CSS reference that would fetch something when the page is viewed."""
    attrs = re.findall(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)""", html, re.I)
    css = re.findall(r"""(?:url\(\s*["']?|@import\s+["']?)((?:https?:)?//[^"')\s]*)""", html, re.I)
    return attrs + css


def test_external_loads_are_detected():
    page = '<img src="https://x.org/a.png"><link href="//cdn.x/s.css"><style>a{background:url(http://x/y)}</style>'
    assert len(external_loads(page)) == 3


def test_cluster_report_has_every_section_and_loads_nothing(clustered):
    out, _, X = clustered
    html = (out / "report.html").read_text()
    page = Sections(html)
    assert set(page.text) == SECTIONS
    tree = PartitionTree.from_json(out / "tree.json")
    for key in ("tree", "scatter", "profiles", "sizes"):
        assert "svg" in page.tags[key], key
    assert external_loads(html) == []
    assert "<script" not in html.lower()
    assert f"node #{tree.most_separable}" in page.text["summary"]
    assert f"{X.shape[0]:,}" in page.text["summary"]
    assert all(name in page.text["profiles"] for name in tree.feature_names)
    assert all(f"#{n.id}" in page.text["tree"] for n in tree.nodes)
    assert f"Clusterability {tree.clusterability:.2f}" in page.text["summary"]
    from partitive.report import CLUSTER_SHAPES

    assert f"{CLUSTER_SHAPES[tree.mixture.covariance_type]} (chosen by BIC)" in page.text["summary"]


def test_report_command_re_renders_the_same_report_with_the_data(clustered, tmp_path):
    out, data, _ = clustered
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    result = run("report", copy, "--data", data)
    assert result.exit_code == 0, result.output
    assert (copy / "report.html").read_text() == (out / "report.html").read_text()


def test_report_from_tree_json_alone_says_the_scatter_needs_the_data(clustered, tmp_path):
    out, _, _ = clustered
    tree_json = tmp_path / "tree.json"
    shutil.copy(out / "tree.json", tree_json)
    target = tmp_path / "elsewhere.html"
    result = run("report", tree_json, "-o", target)
    assert result.exit_code == 0, result.output
    page = Sections(target.read_text())
    assert set(page.text) == SECTIONS
    assert "svg" not in page.tags["scatter"] and "needs the data" in page.text["scatter"]
    assert "svg" in page.tags["tree"] and "svg" in page.tags["profiles"]
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("case", ["no tree", "not a tree", "wrong columns"])
def test_report_bad_input_is_one_line_and_exit_2(clustered, tmp_path, case):
    out, _, _ = clustered
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    (tmp_path / "two.csv").write_text("a,b\n1,2\n3,4\n")
    args = {
        "no tree": [tmp_path / "missing"],
        "not a tree": [tmp_path / "bad.json"],
        "wrong columns": [out, "--data", tmp_path / "two.csv", "-o", tmp_path / "r.html"],
    }[case]
    result = CliRunner().invoke(main, ["report", *map(str, args)])
    assert result.exit_code == 2
    assert result.stderr.startswith("partitive: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "r.html").exists()


def test_profiles_are_in_the_data_units_when_the_fit_was_standardized(tmp_path):
    X, names, _ = load_example()
    path = tmp_path / "data.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
    assert run("cluster", path, "-o", tmp_path / "out", "--standardize").exit_code == 0
    tree = PartitionTree.from_json(tmp_path / "out" / "tree.json")
    labels = np.loadtxt(tmp_path / "out" / "labels.csv", skiprows=1, dtype=int)
    means, spreads = profile_values(tree)
    X = np.loadtxt(path, delimiter=",", skiprows=1)
    for c in tree.clusters:
        members = X[labels == c.label]
        np.testing.assert_allclose(means[c.label], members.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(spreads[c.label], members.std(axis=0), rtol=1e-6)


def test_scatter_sample_is_even_and_bounded():
    rows = sample_rows(12_345, limit=5000)
    assert rows.size == 5000 and rows[0] == 0 and rows[-1] == 12_344
    assert np.all(np.diff(rows) >= 2)
    assert np.array_equal(sample_rows(300, limit=5000), np.arange(300))


def test_principal_axes_follow_the_long_direction_with_a_fixed_sign():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3)) * [1.0, 10.0, 0.1]
    for data in (X, -X):
        _, axes, shares = plot_axes(data)
        assert axes[0, 1] > 0.99 and axes[1, 0] > 0.99
        assert shares[0] > 0.95


def test_report_of_a_single_cluster_says_there_is_nothing_to_separate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    model = PPP().fit(X)
    assert model.n_clusters_ == 1
    page = Sections(render_report(model.tree_, X, model.labels_))
    assert "one group" in page.text["summary"] and "most separable" not in page.text["summary"].lower()


def test_a_split_merged_back_to_one_cluster_is_not_called_most_separable():
    # Found by the CSV fuzz test: the accepted split's left side has two leaves, and
    # the refinement moved every row of one of them into the other cluster.
    values = [-5145.0] + [0.0] * 18 + [
        160.0, 38.98853862051533, 201.52243112954807, 231.6396021871301, 254.99466564841305,
        521.110900008913, 547.8111087941495, 598.5150356731292, 730.0, 730.0, 830.757142396882,
        832.0337234198596, -397.71025799405004, -507.8757608182233, -511.24110149614523,
        -545.7573677706907, -587.9003625319083, -598.0, -657.0, -936.0,
    ]
    X = np.array(values)[:, None]
    tree = PPP().fit(X).tree_
    node = tree.nodes[tree.most_separable]
    cluster_of_leaf = {leaf for c in tree.clusters for leaf in c.leaves}
    assert any(not any(leaf.id in cluster_of_leaf for leaf in tree.leaves(side)) for side in node.children)
    assert tree.n_clusters == 1
    summary = Sections(render_report(tree, X)).text["summary"]
    assert "one group" in summary and "most separable" not in summary.lower()
    assert _cluster_list([]).startswith("no cluster of their own")


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def open_in_chromium(path):
    """The DOM Chromium built from ``path`` and the console messages it logged."""
    proc = subprocess.run(
        [chromium_binary(), "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
         "--v=0", "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return proc.stdout, console


@pytest.mark.skipif(chromium_binary() is None, reason="no chromium binary found")
def test_chromium_renders_the_report_without_console_errors(clustered, tmp_path):
    # The same check must catch a page that does log an error, or its silence proves nothing.
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('x'); undefinedName();</script></body></html>")
    _, console = open_in_chromium(broken)
    assert any("Uncaught" in line for line in console), console

    out, _, _ = clustered
    dom, console = open_in_chromium(out / "report.html")
    assert console == []
    page = Sections(dom)
    assert set(page.text) == SECTIONS
    assert "svg" in page.tags["tree"] and "svg" in page.tags["scatter"]


def test_the_core_imports_neither_the_report_nor_matplotlib():
    # rich is not checked: scikit-learn imports it by itself when it is installed.
    code = (
        "import sys, numpy as np, partitive; partitive.PPP().fit(np.arange(40.0).reshape(20, 2)); "
        "print(sorted(m for m in sys.modules if m.startswith("
        "('matplotlib', 'partitive.report', 'partitive.progress', 'partitive.plotting'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
