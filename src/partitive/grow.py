"""Growing a partitive tree and turning its leaves into clusters.

Five stages, all deterministic (docs/method.md gives each rule and its reason,
docs/design/ the evidence):

1. **Grow** top-down, largest node first (here; the test is
   :class:`partitive.judge.Rule`).  In few features, a node holding groups of rows that
   empty space separates (islands, :meth:`partitive.density.Density.islands`) is first
   split between them.  Each node is split by 2-means
   (:mod:`partitive.split`) and the split is accepted when the node is *not one
   cluster*: the projection on the split direction is significantly multimodal (dip
   test), or the paper's Gaussian-mixture validation is strong (dBIC > 0, both
   children's scores >= alpha, and an effect size dBIC / n large enough that it does
   not grow with n alone), also against one skewed or heavy-tailed cluster along the
   split.  Mixture evidence from Gaussians diagonal in the features (children too
   small for full covariances) counts only where the node is not one Gaussian.  A node
   that is not one Gaussian, with two sides that each are, is two clusters when two
   Gaussians describe it better (dBIC > 0).
2. **Refine** (:mod:`partitive.refine`): global weighted Lloyd iterations started from the leaves' centroids.  A
   2-means cut high in the tree can pass through a cluster; refinement moves the
   boundary to where the points are.
3. **Merge** (:mod:`partitive.merge`): neighbouring clusters whose union is one cluster by the same test (its
   points alone, projected on the line through the two centres) are merged, then
   refined again, until every neighbouring pair is distinct.  Two clusters that are
   each one Gaussian (read with their union's power), with a union that is not, stay
   apart.  In few features, two flat clusters joined by rows as dense as they are
   (pieces of one shape made of strokes, which project as separate modes) are merged.
4. **Fit the clusters' Gaussians**: a Gaussian mixture is fitted by EM from the merged
   partition, its covariance structure chosen by BIC, and its components merged while
   the whole mixture's BIC prefers it (pieces of one cluster that no pair test can
   join; :mod:`partitive.mixture`, :mod:`partitive.assemble`), unless a deep dip or a
   valley of density separates them; every point goes to its most probable cluster.
5. **Split overlapping Gaussians** (:mod:`partitive.overlap`): on rows, a cluster that
   the mixture, read through its responsibilities, finds to be two Gaussians is split
   in two, the mixture refitted and the split recorded in the tree.

Rows are first put in a canonical order with exact duplicates merged into weights, so
the result cannot depend on row order, and duplicating a row is the same as doubling
its weight (:mod:`partitive.prepare`, which also reads values on a grid and the
principal axes of data with many features).
"""

from __future__ import annotations

import heapq
from dataclasses import replace

import numpy as np

from .judge import MIXTURE_POINTS_PER_DIM, Rule, RowSample, gaussian_parts, not_one_gaussian, rows_of, spread_of, with_rounding
from .assemble import assemble, fit_gaussians, keep_to_islands, leaf_order, node_variance
from .density import Density
from .islands import center_islands, split_between
from .merge import drop_empty, merge_pieces
from .overlap import split_overlapping
from .pca import principal_axis
from .prepare import HIGH_D_FROM, PRINCIPAL_AXES, canonical_rows, grid_rounding, principal_axes
from .refine import MAX_STRAY_CUTS, refine_past_strays
from .split import separating_hyperplane, two_means
from .tree import PartitionTree


#: Growth tests at this multiple of the dip level: a false split is merged back later,
#: while a missed split is lost for good (docs/design/pipeline.md measures both).
GROW_LENIENCY = 4.0
#: A node is refused only if its split and its children's splits down to this depth
#: all look like one cluster: a 2-means projection of a node holding many clusters
#: superimposes them and can look unimodal while its children's do not.
LOOKAHEAD_DEPTH = 2
#: Leaves whose rows the refinement changed are grown again at most this many times.
REGROW_ROUNDS = 2


def fit_tree(
    X: np.ndarray,
    w: np.ndarray,
    rule: Rule,
    min_cluster_size: float,
    max_clusters: int | None = None,
    n_clusters: int | None = None,
    feature_names=None,
    params=None,
    spread: np.ndarray | None = None,
    covariance_type: str = "auto",
    sample: np.ndarray | None = None,
) -> tuple[PartitionTree, np.ndarray]:
    """Grow, refine and merge; return the tree and the label of every row of ``X``.

    ``spread`` is the per-feature variance within each row when rows stand for groups
    of points (representatives of a reduced input); it adds to every node's and
    cluster's variance.  ``covariance_type`` is the structure of the clusters'
    Gaussians, or ``"auto"`` to choose it by BIC.  ``sample``: with ``spread``, one row
    of each group (the test of one Gaussian needs rows; see
    :attr:`partitive.reduce.Representatives.sample`).

    Features constant in the data are left out of the fit and put back in the tree:
    they tell no cluster from another, but the number of features enters the dip's
    level, the points needed per dimension and every BIC penalty, so a constant
    column appended to the data would change the clusters.  (On reduced input it
    still changes which rows are the representatives' seeds: their content hash reads
    every feature.)
    """
    varying = np.ptp(X, axis=0) > 0
    if spread is not None:
        varying |= np.any(spread > 0, axis=0)
    settings = (rule, min_cluster_size, max_clusters, n_clusters)
    if varying.all() or not varying.any():
        return _fit_in_principal_axes(X, w, *settings, feature_names, params, spread, covariance_type, sample)
    tree, labels = _fit_in_principal_axes(
        X[:, varying], w, *settings, None, params,
        None if spread is None else spread[:, varying], covariance_type,
        None if sample is None else sample[:, varying],
    )
    return _with_constant_features(tree, varying, X[0], feature_names), labels


def _fit_in_principal_axes(X, w, rule, min_cluster_size, max_clusters, n_clusters, feature_names,
                           params, spread, covariance_type, sample):
    """:func:`_fit_tree` on the data's leading principal axes where it has more than
    HIGH_D_FROM features (PRINCIPAL_AXES), the tree put back in the features' space."""
    settings = (rule, min_cluster_size, max_clusters, n_clusters, feature_names, params)
    if X.shape[1] <= HIGH_D_FROM:
        return _fit_tree(X, w, *settings, spread, covariance_type, sample)
    # Everything is computed on the canonical rows, so that no sum and no product's
    # blocking depends on the order or the repetition of the rows.
    Xu, wu, su, inverse = canonical_rows(X, w, spread)
    # Values on a grid are read as spread over their cells in the features, where the
    # grid is: the axes' coordinates are on none.
    rounding = grid_rounding(Xu, wu, sample)
    n_points = min(wu.sum(), Xu.shape[0])
    n_axes = int(max(1, min(PRINCIPAL_AXES, n_points // (2 * MIXTURE_POINTS_PER_DIM))))
    mean, axes = principal_axes(Xu, wu, with_rounding(su, rounding, Xu.shape), n_axes)
    Z = (Xu - mean) @ axes
    tree, labels = _fit_tree(
        Z[inverse], w, *settings,
        None if su is None else (su @ axes**2)[inverse],
        covariance_type, None if sample is None else (sample - mean) @ axes,
        rounding=None if rounding is None else rounding @ axes**2,
    )
    first = np.unique(inverse, return_index=True)[1]  # a row of each canonical row
    tree = _in_feature_space(tree, mean, axes, Xu, wu, su, labels[first], tree.descend(Z))
    return tree, labels


def _in_feature_space(tree, mean, axes, X, w, spread, labels, leaves):
    """A tree fitted in principal axes, described in the features: directions and
    thresholds mapped back, nodes and clusters described by their members (``labels``:
    each row's cluster; ``leaves``: the leaf each row reaches through the splits, as
    ``cut`` sends it), and the mixture told how to project new rows."""
    def described(rows):
        weight = w[rows].sum()
        center = w[rows] @ X[rows] / weight
        return center, node_variance(X[rows], w[rows], center, spread_of(spread, rows)), weight

    def as_grown(n):
        # A leaf grown again on the rows refinement gave it can be reached by none
        # through the splits above: described as it was grown, in the principal axes
        # (their variance only).
        return mean + axes @ n.centroid, axes**2 @ n.variance, 0.0

    # Leaves from their rows, the nodes above from their children (Chan et al.'s
    # pairwise update of weighted means and squared deviations): each row read once.
    stats = {}
    for n in reversed(tree.nodes):  # children have larger ids than their parents
        if n.children is None:
            rows = np.flatnonzero(leaves == n.id)
            stats[n.id] = described(rows) if rows.size else as_grown(n)
            continue
        (mean_a, var_a, Wa), (mean_b, var_b, Wb) = (stats[i] for i in n.children)
        W = Wa + Wb
        if W == 0:
            stats[n.id] = as_grown(n)
            continue
        delta = mean_b - mean_a
        stats[n.id] = (mean_a + delta * (Wb / W), (Wa * var_a + Wb * var_b + delta**2 * (Wa * Wb / W)) / W, W)

    def node(n):
        centroid, variance, _ = stats[n.id]
        direction = None if n.direction is None else axes @ n.direction
        threshold = None if n.threshold is None else n.threshold + float(mean @ direction)
        return replace(n, centroid=centroid, variance=variance, sse=float(variance.sum() * n.weight),
                       direction=direction, threshold=threshold)

    clusters = []
    for c in tree.clusters:
        center, variance, _ = described(np.flatnonzero(labels == c.label))
        clusters.append(replace(c, center=center, variance=variance))
    mixture = None if tree.mixture is None else replace(tree.mixture, projection=(mean, axes))
    return replace(tree, nodes=[node(n) for n in tree.nodes], clusters=clusters, mixture=mixture)


def _with_constant_features(tree, varying, values, feature_names):
    """The tree fitted to the ``varying`` features, in the space of all of them: the
    others are put back at their constant ``values``, with no variance and no weight
    in any split direction; the mixture keeps modelling the varying ones only."""
    def full(vector, fill):
        out = np.array(fill, dtype=np.float64, copy=True)
        out[varying] = vector
        return out

    zeros = np.zeros(varying.size)
    nodes = [
        replace(n, centroid=full(n.centroid, values), variance=full(n.variance, zeros),
                direction=None if n.direction is None else full(n.direction, zeros))
        for n in tree.nodes
    ]
    clusters = [
        replace(c, center=full(c.center, values), variance=full(c.variance, zeros))
        for c in tree.clusters
    ]
    mixture = None if tree.mixture is None else replace(tree.mixture, features=np.flatnonzero(varying))
    return replace(tree, nodes=nodes, clusters=clusters, mixture=mixture, feature_names=feature_names)


def _fit_tree(X, w, rule, min_cluster_size, max_clusters, n_clusters, feature_names, params,
              spread, covariance_type, sample, rounding="from the data"):
    """The tree and each row's label."""
    Xu, wu, su, inverse = canonical_rows(X, w, spread)
    if isinstance(rounding, str):
        rounding = grid_rounding(Xu, wu, sample)
    rule = replace(rule, reduced=spread is not None, rounding=rounding)
    rows = None if sample is None else RowSample(sample, inverse.ravel())
    density = (
        Density(Xu, wu, min_cluster_size, isolated_join=not rule.reduced, rounding=rule.rounding)
        if n_clusters is None else None
    )
    islands = None if density is None else density.islands()
    growth = _Growth(Xu, wu, su, rule, min_cluster_size, max_clusters, n_clusters, rows, islands)
    for round_ in range(REGROW_ROUNDS + 1):
        nodes, leaf_of = growth.nodes, growth.leaf_of
        leaves = leaf_order(nodes)
        centers = np.vstack([nodes[i]["centroid"] for i in leaves])
        position = np.empty(len(nodes), dtype=np.intp)
        position[leaves] = np.arange(len(leaves))
        lloyd_islands = None
        if islands is not None:
            # Growth splits islands first, so a leaf lies in one island (all but a few
            # of its rows, where the cluster cap stopped growth or a leaf was grown
            # again); Lloyd keeps every row with the leaves of its own island.
            lloyd_islands = (islands[0], center_islands(islands[0], position[leaf_of], len(leaves), wu))
        labels, centers = refine_past_strays(Xu, wu, position[leaf_of], centers, min_cluster_size, lloyd_islands)
        if n_clusters is not None or round_ == REGROW_ROUNDS:
            break
        # A cut high in the tree can cut a small group in pieces, each too light to be
        # split off where it landed; Lloyd gathers the pieces with the nearest leaf,
        # which is grown again on its new rows where they are enough for a cluster.
        gained = np.bincount(labels, weights=wu * (position[leaf_of] != labels), minlength=len(leaves))
        changed = {
            leaf: np.flatnonzero(labels == c) for c, leaf in enumerate(leaves)
            if gained[c] >= min_cluster_size
        }
        if not changed:
            break
        n_before = len(nodes)
        # Every row now belongs to its refined cluster's leaf.
        growth.leaf_of[:] = np.asarray(leaves)[labels]
        growth.reopen(changed)
        if len(growth.nodes) == n_before:
            break
    groups = [(i,) for i in leaves]
    # Lloyd can empty a cluster; it has no points, so no statistics, and is dropped.
    labels, centers, groups = drop_empty(labels, centers, groups, wu)
    # Each row's leaf and each leaf's centre as Lloyd left them, before any merge.
    first_leaf = [group[0] for group in groups]
    refined = (np.asarray(first_leaf)[labels], dict(zip(first_leaf, centers)))
    merges, pieces = [], None
    if n_clusters is None:
        labels, centers, groups, merges, pieces = merge_pieces(
            Xu, wu, su, labels, centers, groups, rule, min_cluster_size, density, rows
        )
    partition = (labels, groups)
    mixture, labels, posterior, groups, mixture_merges = fit_gaussians(
        Xu, wu, su, labels, groups, covariance_type, rule, merge=n_clusters is None, pieces=pieces,
        density=density,
    )
    merges += mixture_merges
    within = keep_to_islands(
        Xu, wu, su, partition, (mixture, labels, posterior, groups), pieces, refined, covariance_type, rule,
        density,
    )
    if within is not None:
        mixture, labels, posterior, groups, pieces = within
    if n_clusters is None and not rule.reduced:
        mixture, labels, posterior, groups, merges = split_overlapping(
            growth, Xu, wu, su, (mixture, labels, posterior, groups, merges), pieces, covariance_type, rule,
            density,
        )
    tree, labels = assemble(
        Xu, wu, su, nodes, labels, mixture, posterior, groups, merges, feature_names, params
    )
    return tree, labels[inverse]


class _Growth:
    """Growth, largest node first: the node records (dicts, in id order) and the leaf of
    every row.  :meth:`reopen` grows a leaf again on other members."""

    def __init__(self, X, w, spread, rule, min_cluster_size, max_clusters, n_clusters, sample=None, islands=None):
        self.X, self.w, self.spread, self.rule, self.sample = X, w, spread, rule, sample
        self.islands = islands
        self.n_clusters = n_clusters
        self.cap = n_clusters if n_clusters is not None else max_clusters
        self.nodes = []
        self.leaf_of = np.empty(X.shape[0], dtype=np.intp)
        self.members = {}
        self.one_gaussian = {}  # node id -> whether it is one Gaussian, where already checked
        self.examined = _Examined(X, w, spread, rule, min_cluster_size, sample)
        self.n_leaves = 1
        self._run([self._add(np.arange(X.shape[0]), None, 0)])

    def _add(self, idx, parent, depth):
        node_id = len(self.nodes)
        self.nodes.append(dict(id=node_id, parent=parent, depth=depth))
        self._describe(node_id, idx)
        return node_id

    def _describe(self, node_id, idx):
        Xs, ws = self.X[idx], self.w[idx]
        W = ws.sum()
        centroid = ws @ Xs / W
        variance = node_variance(Xs, ws, centroid, spread_of(self.spread, idx))
        self.nodes[node_id].update(
            weight=float(W), centroid=centroid, variance=variance, sse=float(variance.sum() * W),
            accepted=False, reason="not examined", children=None, direction=None, threshold=None,
            dbic=None, scores=None, p_value=None,
        )
        self.members[node_id] = idx

    def leaf_split(self, node_id):
        """The rows of each side of a leaf's refused 2-means split, or None where it has
        none, the cluster cap is reached or a side would weigh less than
        ``min_cluster_size``."""
        node = self.nodes[node_id]
        if node["children"] is not None or node["direction"] is None:
            return None
        if self.cap is not None and self.n_leaves >= self.cap:
            return None
        idx = np.flatnonzero(self.leaf_of == node_id)
        right = self.X[idx] @ node["direction"] > node["threshold"]
        if right.all() or not right.any():
            return None
        sides = (idx[~right], idx[right])
        if min(self.w[side].sum() for side in sides) < self.examined.min_cluster_size:
            return None
        return sides

    def split_leaf(self, node_id, sides, reason):
        """Take a leaf's refused 2-means split after all, for ``reason``: ``sides`` are
        its rows on either side (:meth:`leaf_split`); returns the two children."""
        node = self.nodes[node_id]
        depth = node["depth"] + 1
        children = tuple(self._add(side, node_id, depth) for side in sides)
        node.update(accepted=True, reason=reason, children=children)
        for child, side in zip(children, sides):
            self.leaf_of[side] = child
            del self.members[child]
        self.n_leaves += 1
        return children

    def reopen(self, leaves):
        """Grow again the leaves given as ``{leaf id: its rows' indices}``: after the
        refinement a leaf holds rows that the tree's cuts had spread over several
        leaves, too few in each to be split off there."""
        for node_id, idx in leaves.items():
            self._describe(node_id, idx)
        self._run(sorted(leaves))

    def _split_between_islands(self, node, idx, sides, heap):
        """Split ``node`` (rows ``idx``) into the islands ``sides``, recording the
        hyperplane that best separates them (:func:`partitive.split.separating_hyperplane`)
        and growth's evidence along it."""
        goes_right = np.isin(idx, sides[1])
        direction, threshold = separating_hyperplane(self.X[idx], self.w[idx], goes_right)
        axis = principal_axis(self.X[idx] - node["centroid"], self.w[idx])[0]
        if direction @ axis < 0:
            # Canonical child order, as 2-means has it: child 0 lies lower on the
            # node's principal axis.
            sides, goes_right = sides[::-1], ~goes_right
            direction, threshold = separating_hyperplane(self.X[idx], self.w[idx], goes_right)
        _, evidence, p_value = self.rule.evaluate(
            self.X[idx], self.w[idx], goes_right, direction, leniency=GROW_LENIENCY,
            spread=spread_of(self.spread, idx), rows=rows_of(self.sample, idx),
        )
        depth = node["depth"] + 1
        children = tuple(self._add(side, node["id"], depth) for side in sides)
        node.update(
            accepted=True, reason="empty space", children=children, direction=direction, threshold=threshold,
            dbic=evidence.dbic, scores=evidence.scores, p_value=p_value,
        )
        self.n_leaves += 1
        for child in children:
            heapq.heappush(heap, (-self.nodes[child]["weight"], child))

    def _run(self, roots):
        X, w, rule, sample, examined = self.X, self.w, self.rule, self.sample, self.examined
        n_clusters, nodes, members = self.n_clusters, self.nodes, self.members
        # Max-heap on weight; ties go to the smaller id, so the order is fully determined.
        heap = [(-nodes[r]["weight"], r) for r in roots]
        heapq.heapify(heap)
        while heap:
            _, node_id = heapq.heappop(heap)
            node = nodes[node_id]
            idx = members[node_id]
            # Every node is popped, children after parents: the last node written is the leaf.
            self.leaf_of[idx] = node_id
            if self.cap is not None and self.n_leaves >= self.cap:
                node["reason"] = "cluster cap reached"
                continue
            if idx.size == 1:  # rows are distinct (canonical_rows)
                node["reason"] = "all points identical"
                continue
            apart = None if self.islands is None else split_between(
                *self.islands, idx, w, examined.min_cluster_size
            )
            if apart is not None:
                self._split_between_islands(node, idx, apart, heap)
                del members[node_id]
                continue
            split, core, left, right = examined.split(idx)
            if split is None:
                node["reason"] = "child below min_cluster_size"
                continue
            node["direction"], node["threshold"] = split.direction, split.threshold
            if n_clusters is not None:
                distinct, evidence, p_value = True, None, None
            else:
                distinct, evidence, p_value = examined.test(idx)
                node.update(dbic=evidence.dbic, scores=evidence.scores, p_value=p_value)
            known = self.one_gaussian.pop(node_id, None)
            # Read by the rule below (dBIC > 0) and, with full validation, by the look-ahead.
            not_gaussian = (
                not distinct and n_clusters is None and (evidence.dbic > 0 or rule.validation == "full")
                and (not_one_gaussian(X[idx], w[idx], rule.reduced, rows_of(sample, idx)) if known is None else not known)
            )
            # Two sides that are each one Gaussian, of a node that is not, are two clusters
            # when two Gaussians describe the node better (dBIC > 0), whatever the guards
            # against one skewed cluster say (its pieces are not Gaussian).
            sides_gaussian = []
            if not_gaussian and evidence.dbic > 0:
                sides_gaussian = gaussian_parts(X, w, (left, right), rule.reduced, sample)
                distinct = all(sides_gaussian)
            # A node refused although it is not one Gaussian may still hold clusters that
            # its split superimposes.  The halves of one Gaussian are not Gaussian (each is
            # cut flat on one side), and a refusal on full covariances is not overruled by
            # diagonal evidence below it, which reads correlation as clusters.
            if not distinct and n_clusters is None and (rule.validation != "full" or not_gaussian):
                refused_on_full_covariances = not evidence.diagonal
                distinct = any(
                    _split_below(examined, side, LOOKAHEAD_DEPTH, not refused_on_full_covariances)
                    for side in (left, right)
                )
            if not distinct:
                node["reason"] = "one cluster"
            else:
                depth = node["depth"] + 1
                children = (self._add(left, node_id, depth), self._add(right, node_id, depth))
                node.update(accepted=True, reason="split", children=children)
                # A child's own check reads the same rows: it is not made twice.
                self.one_gaussian.update(zip(children, sides_gaussian))
                self.n_leaves += 1
                for child in children:
                    heapq.heappush(heap, (-nodes[child]["weight"], child))
            del members[node_id]
            examined.forget(idx)


class _Examined:
    """Each node's split and growth test, made once: the look-ahead examines children
    and grandchildren that growth then reaches as nodes of their own."""

    def __init__(self, X, w, spread, rule, min_cluster_size, sample):
        self.X, self.w, self.spread, self.rule = X, w, spread, rule
        self.min_cluster_size, self.sample = min_cluster_size, sample
        self._splits, self._tests = {}, {}

    def split(self, idx):
        key = idx.tobytes()
        if key not in self._splits:
            self._splits[key] = _split_past_strays(self.X, self.w, idx, self.min_cluster_size)
        return self._splits[key]

    def test(self, idx, diagonal_ok=True):
        rows = idx.tobytes()
        key, other = (rows, diagonal_ok), (rows, not diagonal_ok)
        if key not in self._tests:
            if other in self._tests and not self._tests[other][1].diagonal:
                # diagonal_ok is read only of diagonal evidence: the same result.
                self._tests[key] = self._tests[other]
            else:
                split, core, _, _ = self.split(idx)
                self._tests[key] = _growth_test(
                    self.X, self.w, self.spread, core, split, self.rule, self.sample, diagonal_ok
                )
        return self._tests[key]

    def forget(self, idx):
        """Drop a node growth has done with: nothing asks about it again.  (What the
        look-ahead examined below a refused node stays until the fit ends: a few
        bytes a row per level.)"""
        key = idx.tobytes()
        self._splits.pop(key, None)
        for diagonal_ok in (True, False):
            self._tests.pop((key, diagonal_ok), None)


def _split_below(examined, idx, depth, diagonal_ok) -> bool:
    """Whether a node's split, or one below it down to ``depth``, is accepted."""
    if depth <= 0 or examined.w[idx].sum() < 2 * examined.min_cluster_size:
        return False
    split, _, left, right = examined.split(idx)
    if split is None:
        return False
    distinct, _, _ = examined.test(idx, diagonal_ok)
    return distinct or any(_split_below(examined, side, depth - 1, diagonal_ok) for side in (left, right))


def _split_past_strays(X, w, idx, min_cluster_size):
    """A node's 2-means split, made past its strays; ``(split, core, left, right)``.

    2-means cuts a far outlier off on its own, and a side lighter than
    ``min_cluster_size`` is no cluster: stopping the node there would let one outlier
    keep several blobs one cluster.  Such a side is set aside as strays and the rest (the
    core) split again, at most MAX_STRAY_CUTS times.  ``split`` is the core's (its
    ``goes_right`` indexes ``core``); ``left`` and ``right`` are all of the node's rows
    on either side of its hyperplane, strays included.  ``split`` is None where no
    split leaves both sides ``min_cluster_size``.
    """
    core = idx
    for _ in range(MAX_STRAY_CUTS + 1):
        split = two_means(X[core], w[core])
        if split is None:
            return None, core, None, None
        low, high = core[~split.goes_right], core[split.goes_right]
        if min(w[low].sum(), w[high].sum()) >= min_cluster_size:
            goes_right = X[idx] @ split.direction > split.threshold
            return split, core, idx[~goes_right], idx[goes_right]
        core = low if w[low].sum() >= w[high].sum() else high
        if w[core].sum() < 2 * min_cluster_size:
            break
    return None, core, None, None


def _growth_test(X, w, spread, idx, split, rule, sample, diagonal_ok=True):
    return rule.evaluate(
        X[idx], w[idx], split.goes_right, split.direction, leniency=GROW_LENIENCY,
        spread=spread_of(spread, idx), diagonal_ok=diagonal_ok,
        rows=rows_of(sample, idx),
    )
