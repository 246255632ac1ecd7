"""A self-contained HTML report of a partitive tree: one file, no network when viewed.

The report sits on top of the core: it reads a :class:`~partitive.PartitionTree` (and,
when given, the data it was fitted on) and nothing in the core imports it.  Figures are
inline SVG drawn by matplotlib; styles are inline; there is no script.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
from matplotlib.colors import to_hex

from .. import __version__
from ..plotting import cluster_colour
from .figures import (
    PROFILE_FEATURES, profiles_figure, sample_rows, scatter_figure, separating_features,
    sizes_figure, tree_figure,
)

#: Column names listed in the summary at most.
LISTED_COLUMNS = 20

CSS = """
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1d2329; background: #fff; margin: 0; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-top: 12px; border-top: 1px solid #e3e6ea; }
p { max-width: 760px; margin: 8px 0; }
.lead { font-size: 17px; color: #3b4650; }
nav { margin: 14px 0 8px; font-size: 14px; }
nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 12px 0; }
.facts dt { color: #5b6670; } .facts dd { margin: 0; overflow-wrap: anywhere; }
.callout { border-left: 4px solid #1f5fa8; background: #f3f7fb; padding: 10px 14px; margin: 12px 0;
           max-width: 760px; }
.callout.best { border-color: #c0392b; background: #fbf3f2; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 14px; margin: 10px 0; }
th, td { padding: 4px 9px; border-bottom: 1px solid #e3e6ea; text-align: right; white-space: nowrap; }
th { background: #f6f7f9; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
          vertical-align: -1px; }
.side { display: flex; flex-wrap: wrap; gap: 12px 36px; align-items: flex-start; }
figure { margin: 10px 0; }
figure svg { max-width: 100%; height: auto; }
.sd { color: #6b7680; font-size: 12px; }
code { background: #f3f4f6; padding: 1px 5px; border-radius: 3px; font-size: 13px; }
pre { background: #f6f7f9; padding: 10px; overflow-x: auto; font-size: 12px; }
details { margin: 10px 0; } summary { cursor: pointer; color: #1f5fa8; }
footer { margin-top: 48px; color: #5b6670; font-size: 13px; }
"""

SECTIONS = [
    ("summary", "Summary"), ("sizes", "Cluster sizes"), ("profiles", "Cluster profiles"),
    ("scatter", "Scatter plot"), ("tree", "The partitive tree"), ("parameters", "Parameters"),
]


def render_report(tree, X=None, labels=None, source=None) -> str:
    """The HTML text of the report on ``tree``.

    Parameters
    ----------
    tree : PartitionTree
    X : array of shape (n_rows, n_features), optional
        The data in the space the tree was grown in (standardized when it was), or the
        rows of it the scatter plot shows (``sample_rows``, when ``source["rows"]``
        says how many there are); without it the report has no scatter plot and says so.
    labels : array of shape (n_rows,), optional
        Each row's cluster; ``tree.predict(X)`` when omitted.
    source : dict, optional
        ``input`` (the file), ``rows``, ``columns`` and ``standardized``, as in the
        ``summary.json`` that ``partitive cluster`` writes.
    """
    source = dict(source or {})
    if X is not None and labels is None:
        labels = tree.predict(X)
    title = f"Clusters in {Path(str(source['input'])).name}" if source.get("input") else "partitive report"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="lead">{_lead(tree, source)}</p>',
        "<nav>" + "".join(f'<a href="#{key}">{name}</a>' for key, name in SECTIONS) + "</nav>",
        _section("summary", _summary(tree, source)),
        _section("sizes", _sizes(tree)),
        _section("profiles", _profiles(tree)),
        _section("scatter", _scatter(tree, X, labels, source.get("rows"))),
        _section("tree", _tree(tree)),
        _section("parameters", _parameters(tree)),
        f"<footer>Made by partitive {__version__}. This file is self-contained: it loads nothing "
        "from the network and runs no scripts.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _section(key: str, content: str) -> str:
    return f'<section id="{key}">\n<h2>{dict(SECTIONS)[key]}</h2>\n{content}\n</section>'


def _rows(tree, source) -> int:
    return int(source.get("rows", round(tree.root.weight)))


def _lead(tree, source) -> str:
    k = tree.n_clusters
    found = f"partitive found <strong>{k} cluster{'s' if k != 1 else ''}</strong>"
    return f"{found} in {_rows(tree, source):,} rows and {tree.n_features} columns."


def _decimals(spread: float) -> int:
    """Decimals that show a column to about a hundredth of its overall spread."""
    if not np.isfinite(spread) or spread <= 0:
        return 2
    return int(np.clip(2 - np.floor(np.log10(spread)), 0, 8))


def _fixed(x: float, decimals: int) -> str:
    text = f"{x:,.{decimals}f}"
    # A value that is zero but for floating-point noise would print as "-0.00".
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _swatch(tree, label: int) -> str:
    colour = to_hex(cluster_colour(label, tree.n_clusters))
    return f'<span class="swatch" style="background:{colour}"></span>'


def _table(header, rows) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _names(tree) -> list[str]:
    return tree.feature_names or [f"x{j}" for j in range(tree.n_features)]


#: How each covariance structure of the clusters' Gaussians reads in the report.
CLUSTER_SHAPES = {
    "spherical": "round Gaussians, one spread each",
    "diag": "Gaussians along the columns' axes, a spread per column each",
    "tied": "Gaussians of one shared, possibly tilted shape",
    "full": "Gaussians of their own tilted, elongated shapes",
}


def _summary(tree, source) -> str:
    names = _names(tree)
    listed = ", ".join(escape(n) for n in names[:LISTED_COLUMNS])
    if len(names) > LISTED_COLUMNS:
        listed += f" and {len(names) - LISTED_COLUMNS} more"
    facts = [
        ("Input", escape(str(source.get("input", "not recorded (re-rendered from tree.json)")))),
        ("Rows", f"{_rows(tree, source):,}"),
        ("Columns", f"{tree.n_features}: {listed}"),
        ("Standardized", "yes, every column to mean 0 and standard deviation 1"
         if "standardize" in tree.params else "no, the columns as they are"),
        ("Clusters found", str(tree.n_clusters)),
        ("Clusterability", f"{tree.clusterability:.3f}" if tree.n_clusters > 1
         else "none: one cluster, no structure to score"),
    ]
    if tree.mixture is not None:
        how = "chosen by BIC" if tree.params.get("covariance_type", "auto") == "auto" else "as requested"
        facts.append(("Cluster shapes", f"{CLUSTER_SHAPES[tree.mixture.covariance_type]} ({how})"))
    reduced = tree.params.get("reduced")
    if reduced:
        facts.insert(3, ("Reduced", f"the tree was grown on {reduced['representatives']:,} weighted "
                                    f"representatives of the {reduced['rows']:,} rows"))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return f'<dl class="facts">{dl}</dl>\n{_clusterability(tree)}\n{_most_separable(tree)}'


def _clusterability(tree) -> str:
    c = tree.clusterability
    if tree.n_clusters == 1:
        return ('<p class="callout">No split was kept: the data look like one group, so there is '
                "no structure to score.</p>")
    if c >= 0.95:
        verdict = "The clusters are clearly apart."
    elif c >= 0.8:
        verdict = "The clusters are distinct but overlap at their edges."
    else:
        verdict = "The clusters overlap a lot: treat the boundaries between them with caution."
    return (
        f'<p class="callout"><strong>Clusterability {c:.2f}</strong> means that, on average, a row '
        f"belongs to its own cluster with {c:.0%} certainty: 0.5 would be a coin toss between "
        f"clusters (no real groups) and 1 would mean the clusters do not overlap at all. {verdict}</p>"
    )


def _clusters_below(tree, node_id: int) -> list[int]:
    cluster_of_leaf = {leaf: c.label for c in tree.clusters for leaf in c.leaves}
    return sorted({cluster_of_leaf[leaf.id] for leaf in tree.leaves(node_id) if leaf.id in cluster_of_leaf})


def _cluster_list(labels: list[int]) -> str:
    if not labels:
        # The refinement can move every row of a side's leaves into other clusters.
        return "no cluster of their own (the refinement moved them into other clusters)"
    if len(labels) == 1:
        return f"cluster {labels[0]}"
    return "clusters " + ", ".join(map(str, labels[:-1])) + f" and {labels[-1]}"


def _most_separable(tree) -> str:
    # One cluster left: growth's splits were all merged back, none separates anything.
    if tree.most_separable is None or tree.n_clusters == 1:
        return ""
    node = tree.nodes[tree.most_separable]
    sides = [tree.nodes[c] for c in node.children]
    described = [
        f"{side.weight:,.0f} rows that became {_cluster_list(_clusters_below(tree, side.id))}"
        for side in sides
    ]
    return (
        f'<p class="callout best"><strong>The most separable split</strong> is node #{node.id} '
        f"(red in the tree below): it separates {described[0]} from {described[1]}. "
        f"{node.scores[0]:.0%} and {node.scores[1]:.0%} of the rows on each side sit confidently on "
        "their own side, the cleanest division anywhere in the tree.</p>"
    )


def _sizes(tree) -> str:
    total = sum(c.weight for c in tree.clusters)
    rows = [
        (f"{_swatch(tree, c.label)}cluster {c.label}", f"{c.weight:,.0f}", f"{c.weight / total:.1%}",
         ", ".join(f"#{leaf}" for leaf in c.leaves))
        for c in tree.clusters
    ]
    table = _table(["cluster", "rows", "share", "tree leaves"], rows)
    return (
        "<p>How many rows each cluster holds, and the leaves of the tree it grew from.</p>\n"
        f'<div class="side"><div>{table}</div><figure>{sizes_figure(tree)}</figure></div>'
    )


def profile_values(tree):
    """Each cluster's mean and standard deviation per column, in the data's own units."""
    means = tree.cluster_centers
    spreads = np.sqrt(np.vstack([c.variance for c in tree.clusters]))
    scaling = tree.params.get("standardize")
    if scaling:
        scale = np.asarray(scaling["scale"])
        means = means * scale + np.asarray(scaling["mean"])
        spreads = spreads * scale
    return means, spreads


def _profiles(tree) -> str:
    names = _names(tree)
    means, spreads = profile_values(tree)
    weights = np.array([c.weight for c in tree.clusters])
    shown = sorted(separating_features(means, spreads, weights)[:PROFILE_FEATURES])
    overall = np.sqrt(tree.root.variance)
    if "standardize" in tree.params:
        overall = overall * np.asarray(tree.params["standardize"]["scale"])
    cells = [
        [
            f'{_fixed(means[i, j], d)}<br><span class="sd">\u00b1 {_fixed(spreads[i, j], d)}</span>'
            for j, d in enumerate(map(_decimals, overall))
        ]
        for i in range(tree.n_clusters)
    ]
    clusters = [f"{_swatch(tree, c.label)}cluster {c.label}" for c in tree.clusters]
    columns = [escape(n) for n in names]
    # The longer list runs down the page, so the table stays as narrow as it can.
    if len(names) <= tree.n_clusters:
        table = _table(["cluster"] + columns, [[c] + row for c, row in zip(clusters, cells)])
    else:
        numbers = [f"{_swatch(tree, c.label)}{c.label}" for c in tree.clusters]
        table = _table(["column \\ cluster"] + numbers, [[n] + list(col) for n, col in zip(columns, zip(*cells))])
    which = (
        "every column" if len(shown) == len(names)
        else f"the {len(shown)} columns whose means differ most between clusters"
    )
    units = " (converted back from the standardized columns the clustering used)" if "standardize" in tree.params else ""
    return (
        f"<p>What each cluster looks like: the mean and, below it, the standard deviation of every "
        f"column, in the data's own units{units}.</p>\n{table}\n"
        f"<p>In the plot, a dot is a cluster's mean and its bar reaches one standard deviation "
        f"either side; it shows {which}.</p>\n"
        f"<figure>{profiles_figure(tree, names, means, spreads, shown)}</figure>"
    )


def _scatter(tree, X, labels, rows=None) -> str:
    if X is None:
        return (
            '<p class="callout">The scatter plot needs the data, which a tree.json does not hold. '
            "Render the report again with the data file: "
            "<code>partitive report OUTDIR --data DATA</code>.</p>"
        )
    # X may be the rows the plot shows already, taken from the ``rows`` of a file.
    shown = sample_rows(X.shape[0]).size
    n = max(X.shape[0], int(rows or 0))
    sample = "" if shown == n else (
        f" It shows {shown:,} of the {n:,} rows, taken at an even stride through the file."
    )
    return (
        "<p>Each dot is a row, placed along the two directions in which the data vary most "
        "(the first two principal components) and coloured by its cluster; a bold number "
        f"marks each cluster's centre.{sample} Clusters that overlap here may still be apart in "
        "directions this flat picture cannot show.</p>\n"
        f"<figure>{scatter_figure(tree, X, labels)}</figure>"
    )


def _tree(tree) -> str:
    return (
        "<p>partitive splits the data in two, again and again, and keeps a split only when the "
        "evidence says there are two groups, not one. Read the tree from the left (all rows) to "
        "the right. Beside each split (#node id): <strong>dBIC</strong>, how much better two "
        "groups describe the rows than one (positive favours the split); the <strong>scores</strong> "
        "of its two sides, the share of rows confidently on their own side; and the dip test's "
        "<strong>p</strong>, small when the rows pile up in two heaps along the split. Each leaf "
        "says which cluster it became and, in brackets, why it was not split further; leaves found "
        "to be parts of one cluster were merged. Dot area grows with the number of rows.</p>\n"
        f'<figure class="scroll">{tree_figure(tree)}</figure>\n'
        f"<details><summary>The same tree as text</summary><pre>{escape(str(tree))}</pre></details>"
    )


def _parameters(tree) -> str:
    rows = [
        (escape(name), escape(repr(value)))
        for name, value in sorted(tree.params.items())
        if name not in ("standardize", "reduced")
    ]
    return (
        "<p>The settings the tree was grown with (see <code>help(partitive.PPP)</code>).</p>\n"
        + _table(["parameter", "value"], rows + [("partitive version", __version__)])
    )
