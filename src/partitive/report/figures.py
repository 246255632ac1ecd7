"""The report's figures, drawn with matplotlib (Agg, no pyplot) as inline SVG text."""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..pca import plot_axes
from ..plotting import cluster_colour, draw_tree, figure_size

#: Rows drawn in the scatter plot at most; more are thinned to an even stride.
SCATTER_ROWS = 5000
#: Width of the page's column; the profile plot fills it.
PAGE_INCHES = 10.4
#: Features drawn in the profile plot at most (those that differ most between clusters).
PROFILE_FEATURES = 12

STYLE = {
    # Text stays text in the SVG: selectable, sharp, and a fraction of the size.
    "svg.fonttype": "none",
    # Fixed, so that the same tree always gives the same report, byte for byte.
    "svg.hashsalt": "partitive",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
}


def svg(fig: Figure, name: str, min_scale: float = 0.0) -> str:
    """The figure as an ``<svg>`` element whose ids cannot clash with another figure's.

    The page shrinks a figure to fit its width, but not below ``min_scale`` of its size
    (then it scrolls instead): text shrinks with it.
    """
    FigureCanvasAgg(fig)
    buffer = io.StringIO()
    # Cropped to what was drawn: the tree's width is set by its labels, known only once drawn.
    fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.08,
                metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    width = float(re.search(r'width="([\d.]+)pt"', text).group(1))
    text = text.replace("<svg ", f'<svg style="min-width: {min_scale * width:.0f}pt" ', 1)
    text = re.sub(r'\bid="', f'id="{name}-', text)
    text = text.replace("url(#", f"url(#{name}-").replace('href="#', f'href="#{name}-')
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


#: Every figure is drawn inside the style: matplotlib reads it as each artist is made.
styled = matplotlib.rc_context(STYLE)


@styled
def tree_figure(tree) -> str:
    fig = Figure(figsize=figure_size(tree))
    draw_tree(tree, fig.add_axes((0, 0, 1, 1)))
    return svg(fig, "tree", min_scale=0.8)


def sample_rows(n_rows: int, limit: int = SCATTER_ROWS) -> np.ndarray:
    """At most ``limit`` row indices at an even stride: the same rows every time."""
    if n_rows <= limit:
        return np.arange(n_rows)
    return np.linspace(0, n_rows - 1, limit).round().astype(np.intp)


@styled
def scatter_figure(tree, X: np.ndarray, labels: np.ndarray) -> str:
    rows = sample_rows(X.shape[0])
    sample, sample_labels = X[rows], labels[rows]
    mean, axes, shares = plot_axes(sample)
    points = (sample - mean) @ axes.T
    centres = (tree.cluster_centers - mean) @ axes.T
    k = tree.n_clusters
    fig = Figure(figsize=(7.5, 5.6), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(points[:, 0], points[:, 1], s=7, linewidths=0, alpha=0.7,
               c=[cluster_colour(int(label), k) for label in sample_labels], rasterized=False)
    # A number with a white halo marks a centre without hiding the points around it.
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for c, (cx, cy) in zip(tree.clusters, centres):
        ax.annotate(str(c.label), (cx, cy), ha="center", va="center", fontsize=11 if k <= 12 else 8,
                    fontweight="bold", color="black", path_effects=halo)
    ax.set_xlabel(f"first principal component ({shares[0]:.0%} of the variance)")
    ax.set_ylabel(f"second principal component ({shares[1]:.0%})")
    return svg(fig, "scatter")


@styled
def sizes_figure(tree) -> str:
    k = tree.n_clusters
    weights = [c.weight for c in tree.clusters]
    fig = Figure(figsize=(6.5, 0.8 + (0.32 if k <= 12 else 0.22) * k), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(k), weights, color=[cluster_colour(c.label, k) for c in tree.clusters], height=0.7)
    for i, w in enumerate(weights):
        ax.annotate(f"{w:,.0f}", (w, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(k), [f"cluster {c.label}" for c in tree.clusters])
    ax.invert_yaxis()
    ax.set_xlim(0, max(weights) * 1.12)
    ax.set_xlabel("rows")
    return svg(fig, "sizes")


def separating_features(means: np.ndarray, spreads: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Feature indices, the ones whose cluster means differ most (against the spread within) first."""
    # The ratio does not depend on a column's unit; taking it out keeps the squares of
    # columns of huge magnitude from overflowing.
    unit = np.maximum(np.abs(means).max(axis=0), spreads.max(axis=0))
    unit = np.where(unit > 0, unit, 1.0)
    means, spreads = means / unit, spreads / unit
    share = weights / weights.sum()
    overall = share @ means
    between = share @ (means - overall) ** 2
    within = share @ spreads**2
    ratio = between / np.where(within > 0, within, np.finfo(float).tiny)
    return np.argsort(-ratio, kind="stable")


@styled
def profiles_figure(tree, names, means, spreads, shown) -> str:
    k = tree.n_clusters
    columns = min(4, len(shown))
    rows = -(-len(shown) // columns)
    fig = Figure(figsize=(PAGE_INCHES, rows * (0.75 + 0.24 * k)), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel()[len(shown):]:
        ax.set_axis_off()
    for ax, j in zip(axes.ravel(), shown):
        for i, c in enumerate(tree.clusters):
            colour = cluster_colour(c.label, k)
            ax.errorbar(means[i, j], i, xerr=spreads[i, j], fmt="o", color=colour, ms=5, capsize=2, lw=1.5)
        ax.set_yticks(range(k), [str(c.label) for c in tree.clusters])
        ax.set_ylim(k - 0.5, -0.5)
        ax.set_title(names[j], loc="left", parse_math=False)
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", color="0.9")
    for ax in axes[:, 0]:
        ax.set_ylabel("cluster")
    return svg(fig, "profiles")
