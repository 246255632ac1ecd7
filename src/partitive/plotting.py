"""Matplotlib drawing of a PartitionTree (imported only when a plot is asked for).

The tree lies on its side, root on the left and one row per leaf, so that the figure
grows downwards with the number of leaves and every label keeps a row of its own.
"""

from __future__ import annotations

import numpy as np

#: Inches per row (one leaf a row) and per level of depth.
ROW_INCHES = 0.4
DEPTH_INCHES = 1.7
#: Width of one character of the 8-point labels, generous for any sans-serif font.
CHAR_INCHES = 0.075

HIGHLIGHT = "#c0392b"


def cluster_colour(label: int, n_clusters: int):
    """The colour of a cluster, shared by every figure of one tree."""
    from matplotlib import colormaps

    if n_clusters <= 10:
        return colormaps["tab10"](label)
    return colormaps["tab20"](label % 20)


def layout(tree, max_depth=None):
    """x (depth) and y (row: leaves in order, parents centred on their children) of every shown node."""
    pos, next_row = {}, [0.0]

    def place(node_id):
        node = tree.nodes[node_id]
        deep = max_depth is not None and node.depth >= max_depth
        if node.is_leaf or deep:
            pos[node_id] = (float(node.depth), next_row[0])
            next_row[0] += 1.0
        else:
            for child in node.children:
                place(child)
            pos[node_id] = (float(node.depth), float(np.mean([pos[c][1] for c in node.children])))

    place(0)
    return pos


def _end_texts(tree, pos) -> dict:
    """The text beside each node drawn without its children: leaves and cut-off nodes."""
    cluster_of_leaf = {leaf: c.label for c in tree.clusters for leaf in c.leaves}
    texts = {}
    for node_id in pos:
        node = tree.nodes[node_id]
        if node.is_leaf:
            texts[node_id] = leaf_text(tree, node, cluster_of_leaf)
        elif not all(c in pos for c in node.children):
            texts[node_id] = f"#{node.id}  {node.weight:.0f} pts (deeper levels not shown)"
    return texts


def _limits(pos, texts):
    right = max(pos[i][0] + (0.2 + CHAR_INCHES * len(t)) / DEPTH_INCHES for i, t in texts.items())
    rows = max(y for _, y in pos.values()) + 1
    return (-0.2, right), (rows - 0.5, -0.5)


def figure_size(tree, max_depth=None) -> tuple[float, float]:
    """Width and height in inches that give every row and label its room."""
    pos = layout(tree, max_depth)
    (x0, x1), (y0, y1) = _limits(pos, _end_texts(tree, pos))
    return DEPTH_INCHES * (x1 - x0), ROW_INCHES * (y0 - y1) + 0.2


def _p(value: float) -> str:
    return "p<0.001" if value < 0.001 else f"p {value:.3f}"


def split_text(node) -> str:
    """The evidence of a node's proposed split, on two short lines."""
    if node.dbic is None:  # split on request (n_clusters), no test run
        return f"#{node.id}  split to reach n_clusters\n(not tested)"
    scores = f"scores {node.scores[0]:.2f}/{node.scores[1]:.2f}  {_p(node.p_value)}"
    if node.reason == "empty space":
        return f"#{node.id}  empty space between\n{scores}"
    return f"#{node.id}  dBIC {node.dbic:.4g}\n{scores}"


def leaf_text(tree, node, cluster_of_leaf) -> str:
    label = cluster_of_leaf.get(node.id)
    text = f"#{node.id}  {node.weight:.0f} pts"
    if label is not None:
        text += f"  \u2192 cluster {label}"
        others = [leaf for leaf in tree.clusters[label].leaves if leaf != node.id]
        if others:
            text += ", merged with " + ", ".join(f"#{leaf}" for leaf in others)
    return text + f"  ({node.reason})"


def draw_tree(tree, ax, max_depth=None):
    """Draw ``tree`` on ``ax``: the most separable split in red, leaves in their cluster's colour."""
    pos = layout(tree, max_depth)
    texts = _end_texts(tree, pos)
    cluster_of_leaf = {leaf: c.label for c in tree.clusters for leaf in c.leaves}
    top = tree.root.weight
    text_style = {"textcoords": "offset points", "va": "center", "fontsize": 8}
    for node_id, (x, y) in pos.items():
        node = tree.nodes[node_id]
        best = node_id == tree.most_separable
        shown = node.children is not None and all(c in pos for c in node.children)
        if shown:
            colour, width = (HIGHLIGHT, 2.2) if best else ("0.55", 1.0)
            ys = [pos[c][1] for c in node.children]
            ax.plot([x, x], [min(ys), max(ys)], color=colour, lw=width, zorder=1)
            for cy in ys:
                ax.plot([x, x + 1], [cy, cy], color=colour, lw=width, zorder=1)
            ax.annotate(
                split_text(node) + ("\nmost separable" if best else ""), (x, y), xytext=(9, 0),
                color=HIGHLIGHT if best else "0.15", fontweight="bold" if best else "normal",
                linespacing=1.25, **text_style,
            )
        label = cluster_of_leaf.get(node_id)
        colour = "0.35" if label is None else cluster_colour(label, tree.n_clusters)
        size = 25 + 260 * np.sqrt(node.weight / top)
        ax.scatter([x], [y], s=size, color=colour, edgecolors=HIGHLIGHT if best else "white",
                   linewidths=2 if best else 1, zorder=2)
        if not shown:
            ax.annotate(texts[node_id], (x, y), xytext=(10, 0), color="0.15", **text_style)
    (x0, x1), (y0, y1) = _limits(pos, texts)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
