"""The partitive tree: PPP's public result object.

A fitted tree holds three records:

* ``nodes``: the binary tree grown top-down.  Every node carries its weighted size,
  centroid, SSE and diagonal variance, and the split that 2-means proposed for it (even
  where the split was refused) with its evidence: dBIC, both children's validation
  scores, the dip-test p-value of the projection.  ``accepted`` says whether the split
  was taken and ``reason`` why a leaf stopped.
* ``clusters``: the final clusters, after the leaves' centroids were refined by global
  Lloyd iterations and leaves that turned out to be pieces of one cluster were merged.
  Each has its weight, centre and diagonal variance, and the leaves it grew from.
* ``merges``: every merge of two clusters, with the evidence that they were one.
* ``mixture``: the clusters' Gaussian mixture (:class:`partitive.mixture.Mixture`),
  fitted by EM from the merged partition with the covariance structure BIC chose.

Prediction uses ``mixture`` (the most probable cluster, and its posteriors for
probabilities), so a tree loaded from JSON predicts exactly as the fitted estimator.
A tree without one (a :meth:`PartitionTree.cut`, or a file written by partitive 0.1)
predicts the nearest cluster centre, with diagonal Gaussians for probabilities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import logsumexp

from .mixture import Mixture
from .refine import nearest_center

FORMAT_VERSION = 5
#: Version 1 files (no mixture), 2 (a mixture of every feature) and 3 (of some
#: features) still load and predict as they did; 4 adds a mixture of principal axes,
#: 5 clusters made of several components (``Mixture.owner``).
READABLE_VERSIONS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Node:
    """One node of the partitive tree, with the split 2-means proposed for it.

    Every node carries its split and its evidence, also where the split was refused,
    so that a leaf shows why it is one cluster.  Directions, thresholds and centroids
    are given in the data's features.

    Attributes
    ----------
    id : int
        Index of the node in :attr:`PartitionTree.nodes`; the root is 0.
    parent : int or None
        Id of the parent node; None for the root.
    depth : int
        Number of splits above the node (the root has depth 0).
    weight : float
        Total sample weight of the node's points (their count when unweighted).
    centroid : ndarray of shape (n_features,)
        Weighted mean of the node's points.
    variance : ndarray of shape (n_features,)
        Weighted per-feature variance of the node's points.
    sse : float
        Weighted sum of squared distances of the points to the centroid.
    accepted : bool
        Whether the split was taken (the node then has children).
    reason : str
        Why the node is what it is: ``"split"``, ``"empty space"`` (split between
        groups of rows that empty space separates, before any 2-means; its
        ``direction`` and ``threshold`` are the hyperplane that best separates the two
        sides, which only approximates sides no hyperplane separates),
        ``"two Gaussians"`` (a split growth refused, taken where the clusters' mixture
        found the leaf two overlapping Gaussians), ``"one cluster"``, ``"child below
        min_cluster_size"``, ``"all points identical"``, ``"cluster cap reached"`` or
        ``"not examined"``.
    children : tuple of (int, int) or None
        Ids of the two children (child 0 lies on the lower side of the split), or None.
    direction : ndarray of shape (n_features,) or None
        Unit normal of the proposed split's hyperplane; None where no split was made.
    threshold : float or None
        A point goes to child 1 when ``x @ direction > threshold``.
    dbic : float or None
        BIC of one Gaussian minus BIC of the two children's Gaussians (positive favours
        the split); None when the split was not tested (``n_clusters`` given).
    scores : tuple of (float, float) or None
        Each child's validation score: its share of members whose posterior of the
        child is at least ``tau``.
    p_value : float or None
        Dip-test p-value of the points' projection on ``direction``.

    See Also
    --------
    PartitionTree : the tree the nodes belong to.

    Examples
    --------
    >>> import numpy as np
    >>> from partitive import PPP
    >>> X = np.vstack([np.random.default_rng(0).normal(c, 0.3, size=(50, 2)) for c in (0, 5)])
    >>> root = PPP().fit(X).tree_.nodes[0]
    >>> root.accepted, root.reason, root.children
    (True, 'empty space', (1, 2))
    """

    id: int
    parent: int | None
    depth: int
    weight: float
    centroid: np.ndarray
    variance: np.ndarray
    sse: float
    accepted: bool
    reason: str
    children: tuple[int, int] | None = None
    direction: np.ndarray | None = None
    threshold: float | None = None
    dbic: float | None = None
    scores: tuple[float, float] | None = None
    p_value: float | None = None

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no children (its split, if any, was refused)."""
        return self.children is None

    @property
    def separability(self) -> float | None:
        """The weaker child's validation score: how cleanly this split separates."""
        return None if self.scores is None else min(self.scores)


@dataclass(frozen=True)
class Cluster:
    """One final cluster: what is left of one or more leaves after refinement and merging.

    Attributes
    ----------
    label : int
        The cluster's label, as in ``PPP.labels_`` (numbered in the tree's leaf order).
    weight : float
        Total sample weight of the cluster's points.
    center : ndarray of shape (n_features,)
        Weighted mean of the cluster's points.
    variance : ndarray of shape (n_features,)
        Weighted per-feature variance of the cluster's points.
    leaves : tuple of int
        Ids of the tree's leaves (:class:`Node`) the cluster is made of, in leaf order.

    See Also
    --------
    PartitionTree : its ``clusters`` and ``mixture`` describe the clusters in full.

    Examples
    --------
    >>> import numpy as np
    >>> from partitive import PPP
    >>> X = np.vstack([np.random.default_rng(0).normal(c, 0.3, size=(50, 2)) for c in (0, 5)])
    >>> [(c.label, c.weight) for c in PPP().fit(X).tree_.clusters]
    [(0, 50.0), (1, 50.0)]
    """

    label: int
    weight: float
    center: np.ndarray
    variance: np.ndarray
    leaves: tuple[int, ...]


@dataclass(frozen=True)
class Merge:
    """Two clusters found to be one (``leaves``: the tree leaves each was made of).

    ``test`` says by what: ``"pair"``, the pair's own points (``p_value``: the dip
    test's on the line through the two centres; ``dbic``: one Gaussian against two,
    positive when two describe them better); ``"density"``, two flat pieces of one
    shape joined by rows as dense as they are, although the pair's tests keep them
    apart (``p_value`` and ``dbic`` as for ``"pair"``: the evidence overruled);
    ``"isolated"``, two touching parts of a group far from all other rows (as for
    ``"density"``); or ``"mixture"``, the whole mixture's BIC with the two components as one (``dbic``:
    that BIC change, negative; no p-value).
    """

    leaves: tuple[tuple[int, ...], tuple[int, ...]]
    p_value: float | None
    dbic: float
    test: str = "pair"


@dataclass
class PartitionTree:
    """The tree grown by :class:`partitive.PPP`, its evidence, and its final clusters.

    Attributes
    ----------
    nodes : list of Node
        Every node of the grown tree, indexed by ``Node.id`` (the root is 0).
    clusters : list of Cluster
        The final clusters, labelled in the tree's leaf order (child 0 first).
    merges : list of Merge
        Pairs of clusters found to be one, in the order they were merged.
    clusterability : float
        Weighted mean posterior confidence of points in their own cluster: 0.5 means no
        structure at all between two clusters, 1 perfectly separated ones.
    most_separable : int or None
        Id of the accepted split with the strongest validation (the paper's "most
        separable set"), or None when the root was not split.
    feature_names : list of str or None
    params : dict
        The parameters the tree was grown with.
    mixture : Mixture or None
        The clusters' Gaussian mixture: its covariance structure
        (``mixture.covariance_type``), weights, means and covariances.  Component i is
        cluster i, except where a cluster was joined from pieces by density: each
        piece keeps a component, and ``mixture.owner`` gives each component's cluster.
    """

    nodes: list[Node]
    clusters: list[Cluster]
    merges: list[Merge] = field(default_factory=list)
    clusterability: float = 1.0
    most_separable: int | None = None
    feature_names: list[str] | None = None
    params: dict = field(default_factory=dict)
    mixture: Mixture | None = None

    # -- structure ---------------------------------------------------------------------

    @property
    def root(self) -> Node:
        """The root node (all the data)."""
        return self.nodes[0]

    @property
    def n_clusters(self) -> int:
        """Number of final clusters."""
        return len(self.clusters)

    @property
    def n_features(self) -> int:
        """Number of features the tree was grown on."""
        return int(self.root.centroid.shape[0])

    @property
    def cluster_centers(self) -> np.ndarray:
        """The clusters' centres, one row per cluster in label order."""
        return np.vstack([c.center for c in self.clusters])

    def leaves(self, node_id: int = 0) -> list[Node]:
        """The leaves below ``node_id`` (the root by default) in canonical order: depth
        first, child 0 before child 1."""
        below, stack = [], [node_id]
        while stack:
            node = self.nodes[stack.pop()]
            if node.is_leaf:
                below.append(node)
            else:
                stack.extend(reversed(node.children))
        return below

    def cut(self, n_clusters: int) -> PartitionTree:
        """The ``n_clusters``-cluster partition along the grown tree.

        Splits are replayed largest node first (the order PPP grows in), so ``cut(k)``
        and ``cut(k + 1)`` differ by one split and the partitions nest.  The clusters of
        the cut are the nodes themselves, without global refinement or merging: its
        ``predict`` sends a row down the splits to the node it reaches.
        """
        n_leaves = len(self.leaves())
        if not isinstance(n_clusters, (int, np.integer)) or not 1 <= n_clusters <= n_leaves:
            raise ValueError(
                f"n_clusters must be an integer from 1 to {n_leaves} (the leaves this tree "
                f"grew); for more clusters fit PPP(n_clusters={n_clusters})"
            )
        frontier = [0]
        while len(frontier) < n_clusters:
            splittable = [i for i in frontier if not self.nodes[i].is_leaf]
            largest = min(splittable, key=lambda i: (-self.nodes[i].weight, i))
            at = frontier.index(largest)
            frontier[at : at + 1] = list(self.nodes[largest].children)
        clusters = [
            Cluster(
                label=label,
                weight=self.nodes[i].weight,
                center=self.nodes[i].centroid,
                variance=self.nodes[i].variance,
                leaves=tuple(leaf.id for leaf in self.leaves(i)),
            )
            for label, i in enumerate(frontier)
        ]
        return replace(
            self, clusters=clusters, merges=[], mixture=None, params={**self.params, "cut": n_clusters}
        )

    # -- prediction --------------------------------------------------------------------

    def predict(self, X) -> np.ndarray:
        """The most probable cluster for each row of ``X``; on a cut tree (no mixture),
        the cluster whose node the row reaches through the tree's splits; on a tree
        written without a mixture (format version 1), the nearest cluster centre."""
        X = np.asarray(X, dtype=np.float64)
        if self.mixture is not None:
            return self.mixture.predict(X)
        if "cut" not in self.params:
            # A tree written before mixtures were kept predicts as it did then.
            return nearest_center(X, self.cluster_centers)
        cluster_of = np.full(len(self.nodes), -1)
        for cluster in self.clusters:
            cluster_of[list(cluster.leaves)] = cluster.label
        return cluster_of[self.descend(X)]

    def descend(self, X) -> np.ndarray:
        """The leaf each row of ``X`` reaches through the splits (``x @ direction >
        threshold`` goes to child 1)."""
        X = np.asarray(X, dtype=np.float64)
        at = np.zeros(X.shape[0], dtype=np.intp)
        # Node by node in id order: a parent's id is below its children's.
        for node in self.nodes:
            if node.is_leaf:
                continue
            rows = np.flatnonzero(at == node.id)
            if rows.size:
                right = X[rows] @ node.direction > node.threshold
                at[rows] = np.where(right, node.children[1], node.children[0])
        return at

    def predict_proba(self, X) -> np.ndarray:
        """Posterior probability of each cluster under the clusters' Gaussians."""
        X = np.asarray(X, dtype=np.float64)
        log_joint = self._log_joint(X)
        return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))

    def _log_joint(self, X: np.ndarray) -> np.ndarray:
        if self.mixture is not None:
            return self.mixture.log_joint(X)
        total = sum(c.weight for c in self.clusters)
        # Ridge relative to the data's overall spread, so a cluster of identical points
        # still has a usable Gaussian and the model stays scale-invariant.
        ridge = max(float(np.mean(self.root.variance)), np.finfo(float).tiny) * 1e-6
        cols = []
        for c in self.clusters:
            var = c.variance + ridge
            maha = (((X - c.center) ** 2) / var).sum(axis=1)
            cols.append(np.log(c.weight / total) - 0.5 * (np.log(2 * np.pi * var).sum() + maha))
        return np.column_stack(cols)

    # -- export ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-ready dict (arrays as lists); :meth:`from_dict` inverts it exactly."""
        from .tree_json import tree_to_dict

        return tree_to_dict(self)

    def to_json(self, path=None, indent: int | None = 1) -> str:
        """The tree as JSON text; also written to ``path`` when one is given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=True)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_dict(cls, data: dict) -> PartitionTree:
        """The tree :meth:`to_dict` described (any readable format version)."""
        from .tree_json import tree_from_dict

        return tree_from_dict(cls, data)

    @classmethod
    def from_json(cls, source) -> PartitionTree:
        """Load a tree from JSON text or from a path to a ``.json`` file."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        return cls.from_dict(json.loads(text))

    def to_pandas(self):
        """One row per node: structure, size and split evidence (needs pandas)."""
        import pandas as pd

        cluster_of_leaf = {leaf: c.label for c in self.clusters for leaf in c.leaves}
        rows = []
        for n in self.nodes:
            rows.append(
                {
                    "id": n.id,
                    "parent": n.parent,
                    "depth": n.depth,
                    "weight": n.weight,
                    "sse": n.sse,
                    "accepted": n.accepted,
                    "reason": n.reason,
                    "child0": None if n.children is None else n.children[0],
                    "child1": None if n.children is None else n.children[1],
                    "dbic": n.dbic,
                    "score0": None if n.scores is None else n.scores[0],
                    "score1": None if n.scores is None else n.scores[1],
                    "p_value": n.p_value,
                    "threshold": n.threshold,
                    "cluster": cluster_of_leaf.get(n.id) if n.is_leaf else None,
                    **{f"centroid_{j}": v for j, v in enumerate(n.centroid)},
                }
            )
        return pd.DataFrame(rows).set_index("id")

    # -- display -----------------------------------------------------------------------

    def __str__(self) -> str:
        cluster_of_leaf = {leaf: c.label for c in self.clusters for leaf in c.leaves}
        counts = [
            (sum(m.test == test for m in self.merges), what)
            for test, what in (("density", "density"), ("isolated", "isolation"), ("mixture", "the mixture's BIC"))
        ]
        notes = ", ".join(f"{n} by {what}" for n, what in counts if n)
        by_test = f" ({notes})" if notes else ""
        lines = [
            f"PartitionTree: {self.n_clusters} cluster(s) from {len(self.leaves())} leaves, "
            f"{len(self.merges)} merge(s){by_test}, {self._clusterability_text('.3f')}"
            + ("" if self.mixture is None else f", {self.mixture.covariance_type} covariances")
        ]

        def walk(node_id: int, prefix: str, tail: str) -> None:
            n = self.nodes[node_id]
            text = f"node {n.id}: weight {_g(n.weight)}"
            if n.dbic is not None:
                text += (
                    f", dBIC {_g(n.dbic)}, scores {n.scores[0]:.2f}/{n.scores[1]:.2f}"
                    f", dip p {n.p_value:.3g}"
                )
            if n.accepted:
                text += f" -> {n.reason}"
            else:
                text += f" -> leaf ({n.reason}), cluster {cluster_of_leaf.get(n.id, '-')}"
            if n.id == self.most_separable:
                text += "  [most separable]"
            lines.append(prefix + tail + text)
            if n.children is not None:
                child_prefix = prefix + ("    " if tail == "`-- " else "|   " if tail else "")
                walk(n.children[0], child_prefix, "|-- ")
                walk(n.children[1], child_prefix, "`-- ")

        walk(0, "", "")
        return "\n".join(lines)

    def _clusterability_text(self, spec: str) -> str:
        # One cluster has no boundary whose confidence the score could measure: its
        # 1.0 would read as "perfectly separated".
        if self.n_clusters < 2:
            return "one cluster: no structure to score"
        return f"clusterability {self.clusterability:{spec}}"

    def __repr__(self) -> str:
        return (
            f"PartitionTree(n_nodes={len(self.nodes)}, n_clusters={self.n_clusters}, "
            f"clusterability={self.clusterability:.3f})"
        )

    def plot(self, ax=None, max_depth: int | None = None):
        """Draw the tree with matplotlib, on its side: every split's evidence, leaves by cluster.

        Returns the matplotlib Axes.  Node area grows with weight; leaves are coloured
        by their final cluster and the most separable split is drawn in red.  Without
        ``ax`` the figure is sized to give every leaf a row of its own.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("PartitionTree.plot needs matplotlib: pip install matplotlib") from err
        from .plotting import draw_tree, figure_size

        if ax is None:
            _, ax = plt.subplots(figsize=figure_size(self, max_depth), layout="constrained")
            ax.set_title(f"partitive tree: {self.n_clusters} clusters, {self._clusterability_text('.2f')}")
        draw_tree(self, ax, max_depth=max_depth)
        return ax


def _g(x: float) -> str:
    return f"{x:.4g}"
