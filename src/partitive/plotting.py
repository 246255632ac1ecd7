"""Matplotlib drawing of a PartitionTree (imported only when a plot is asked for)."""

from __future__ import annotations

import numpy as np


def layout(tree, max_depth=None):
    """x (leaf order, parents centred over children) and y (depth) of every shown node."""
    pos, next_x = {}, [0.0]

    def place(node_id):
        node = tree.nodes[node_id]
        deep = max_depth is not None and node.depth >= max_depth
        if node.is_leaf or deep:
            pos[node_id] = (next_x[0], -node.depth)
            next_x[0] += 1.0
        else:
            for child in node.children:
                place(child)
            xs = [pos[c][0] for c in node.children]
            pos[node_id] = (float(np.mean(xs)), -node.depth)

    place(0)
    return pos


def draw_tree(tree, ax, max_depth=None):
    import matplotlib.pyplot as plt

    pos = layout(tree, max_depth)
    cluster_of_leaf = {leaf: c.label for c in tree.clusters for leaf in c.leaves}
    colours = plt.get_cmap("tab20")
    top = tree.root.weight
    for node_id, (x, y) in pos.items():
        node = tree.nodes[node_id]
        if node.children is not None and all(c in pos for c in node.children):
            for child in node.children:
                cx, cy = pos[child]
                ax.plot([x, cx], [y, cy], color="0.6", lw=1, zorder=1)
            ax.annotate(
                f"dBIC {node.dbic:.3g}\n{node.scores[0]:.2f}/{node.scores[1]:.2f}"
                if node.scores is not None else "",
                (x, y), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7,
            )
        label = cluster_of_leaf.get(node_id)
        colour = "0.3" if label is None else colours(label % 20)
        size = 30 + 400 * np.sqrt(node.weight / top)
        edge = "red" if node_id == tree.most_separable else "white"
        ax.scatter([x], [y], s=size, color=colour, edgecolors=edge, linewidths=1.5, zorder=2)
        if label is not None:
            ax.annotate(str(label), (x, y), ha="center", va="center", fontsize=7, color="white", zorder=3)
    ax.set_yticks(sorted({y for _, y in pos.values()}))
    ax.set_yticklabels([str(-y) for y in sorted({y for _, y in pos.values()})])
    ax.set_ylabel("depth")
    ax.set_xticks([])
    ax.set_title(f"partitive tree: {tree.n_clusters} clusters, clusterability {tree.clusterability:.2f}")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
