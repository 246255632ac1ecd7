"""Growing a partitive tree and turning its leaves into clusters.

Four stages, all deterministic (see docs/method.md for the evidence behind each):

1. **Grow** top-down, largest node first.  Each node is split by 2-means
   (:mod:`partitive.split`) and the split is accepted when the node is *not one
   cluster*: the projection on the split direction is significantly multimodal (dip
   test), or the paper's Gaussian-mixture validation is strong (dBIC > 0, both
   children's scores >= alpha, and an effect size dBIC / n large enough that it does
   not grow with n alone), also against one skewed or heavy-tailed cluster along the
   split.  Mixture evidence from Gaussians diagonal in the features (children too
   small for full covariances) counts only where the node is not one Gaussian.  A node
   that is not one Gaussian, with two sides that each are, is two clusters when two
   Gaussians describe it better (dBIC > 0).
2. **Refine**: global weighted Lloyd iterations started from the leaves' centroids.  A
   2-means cut high in the tree can pass through a cluster; refinement moves the
   boundary to where the points are.
3. **Merge**: neighbouring clusters whose union is one cluster by the same test (its
   points alone, projected on the line through the two centres) are merged, then
   refined again, until every neighbouring pair is distinct.  Two clusters that are
   each one Gaussian, with a union that is not, stay apart.  In few features, two flat
   clusters joined by rows as dense as they are (pieces of one shape made of strokes,
   which project as separate modes) are merged.
4. **Fit the clusters' Gaussians**: a Gaussian mixture is fitted by EM from the merged
   partition, its covariance structure chosen by BIC, and its components merged while
   the whole mixture's BIC prefers it (pieces of one cluster that no pair test can
   join; :mod:`partitive.mixture`); every point goes to its most probable cluster.

Rows are first put in a canonical order with exact duplicates merged into weights, so
the result cannot depend on row order, and duplicating a row is the same as doubling
its weight.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace

import numpy as np

from .mixture import COVARIANCE_TYPES, RIDGE, fit_mixture, group_sums, merge_components
from ._threads import one_blas_thread
from .split import canonical_sign, leading_axes, ordered_product, two_means
from .tree import Cluster, Merge, Node, PartitionTree, nearest_center
from .validate import (
    axis_evidence,
    dip_test,
    full_evidence,
    looks_gaussian,
    unimodal_gain,
)

#: Two pieces with an empty slab this many within-standard-deviations wide between
#: them are never merged.  One cluster cut in two has no empty slab inside it beyond
#: the spacing of its points, a small share of one deviation wherever it holds
#: enough points to be judged.
EMPTY_GAP = 3.0
#: Lloyd iterations for the global refinement; it converges long before on real data.
MAX_REFINE_ITER = 300
#: Each cluster's merge candidates are its nearest neighbours by centre distance.
MERGE_NEIGHBOURS = 3
#: The merge step's density (docs/method.md, "Shapes made of flat strokes"): a row's
#: core distance holds at least this weight (and min_cluster_size), ...
DENSITY_WEIGHT = 15
#: ... found among this many neighbours, which are also the edges of its graph.
DENSITY_NEIGHBOURS = 30
#: Two flat pieces are one shape when most of each lies in one component of their
#: union's rows joined at this fraction of the pieces' own density, or denser.
JOIN_DENSITY = 0.5
#: Density is read only where a row's neighbourhood is small beside its cluster: the
#: median core distance at most this share of the cluster's RMS radius, and the cluster
#: at least 1 / LOCAL_DENSITY^2 neighbourhoods' weight (what 2-D needs; d dimensions
#: need (1 / LOCAL_DENSITY)^d, 1e6 in 10-D, which the radius check enforces) ...
LOCAL_DENSITY = 0.25
#: ... and only on up to this many features, where a k-d tree's k-NN search is cheap
#: (it slows steeply with the number of features).
DENSITY_MAX_FEATURES = 4
#: Growth tests at this multiple of the dip level: a false split is merged back later,
#: while a missed split is lost for good (docs/method.md measures both).
GROW_LENIENCY = 4.0
#: Mixture evidence needs this many points per dimension the node spans (see Rule).
MIXTURE_POINTS_PER_DIM = 10
#: A node is refused only if its split and its children's splits down to this depth
#: all look like one cluster: a 2-means projection of a node holding many clusters
#: superimposes them and can look unimodal while its children's do not.
LOOKAHEAD_DEPTH = 2
#: A node's 2-means may cut off this many groups of strays (each lighter than
#: ``min_cluster_size``) before the node is left whole; each cut costs a 2-means.
MAX_STRAY_CUTS = 8
#: A node consistent with one Gaussian (``validate.looks_gaussian``, each of its three
#: tests at this level) is not cut on diagonal mixture evidence, nor looked below.  At
#: 1 % about 3 % of single Gaussians failed a test; with a dozen clusters one of them
#: often did, and was cut up.
GAUSSIAN_LEVEL = 0.001
#: The check looks at this many of a node's rows at most (every k-th canonical row).
#: It is to tell one Gaussian from several clusters; on more rows it rejects one
#: Gaussian for departures too small to matter (a cut edge, a few strays), as a BIC
#: difference grows with n alone (docs/method.md).
GAUSSIAN_CHECK_ROWS = 2000


#: Above this many features the tree is grown in the data's leading principal axes.
HIGH_D_FROM = 32
#: At most this many axes, and no more than MIXTURE_POINTS_PER_DIM per axis for each
#: child of a split (n // 20).  A Gaussian in hundreds of dimensions costs hundreds of
#: parameters for what its clusters differ in along a few axes, and a 2-means
#: direction fitted in them makes any split look clean, so groups a few standard
#: deviations apart in hundreds of features read as one cluster there and as several
#: in the leading axes, which are also far cheaper to work in (docs/method.md).
PRINCIPAL_AXES = 32


@dataclass(frozen=True)
class Rule:
    """When a set of points is more than one cluster (defaults: docs/method.md).

    ``reduced`` and ``rounding`` describe the data of one fit (:func:`fit_tree` sets
    them): whether the points are representatives of a reduced input, and the
    per-feature variance of rounding (:func:`rounding_variance`).
    """

    tau: float
    alpha: float
    dip_level: float
    effect: float
    validation: str
    reduced: bool = False
    rounding: np.ndarray | None = field(default=None, compare=False)

    def dip_threshold(self, d_eff: int, leniency: float = 1.0) -> float:
        # The split direction is chosen by 2-means from the same points, which makes
        # noise look bimodal on it, more so as dimensions grow: the level shrinks.
        return min(1.0, leniency * self.dip_level) * min(1.0, (2.0 / d_eff) ** 2)

    def evaluate(self, X, w, goes_right, direction, leniency=1.0, spread=None, diagonal_ok=True,
                 rows=None):
        """Whether the split node is more than one cluster; its evidence and dip p-value.

        ``diagonal_ok=False``: mixture evidence diagonal in the features does not count.
        ``rows``: when the points are representatives (``reduced``), a uniform
        sample of the rows they stand for.
        """
        spread = _with_rounding(spread, self.rounding, X.shape)
        t = X @ direction
        t_spread = None if spread is None else spread @ direction**2
        if self.validation == "full":
            evidence = full_evidence(X, w, goes_right, self.tau, spread)
        else:
            evidence = axis_evidence(t, w, goes_right, self.tau, t_spread)
        # Representatives of a reduced input are fewer than the rows they stand for,
        # and the split direction was fitted to them: they, not the rows, are the
        # sample size of the tests.
        W = w.sum()
        n_eff = self._sample_size(X, w)
        # Rows' own spread is their rounding, uniform over the grid step; a
        # representative's rows are nearer a normal group about its mean.
        uniform = not self.reduced
        _, p_value = dip_test(t, w, t_spread, sample_size=n_eff, uniform=uniform)
        bimodal = p_value < self.dip_threshold(_spanned_dims(X), leniency)
        distinct = bimodal or (
            self.trusts_mixture(X, w)
            and min(evidence.scores) >= self.alpha
            and self._clearly_better(evidence.dbic, W)
            # Two Gaussians beat one on any skewed or heavy-tailed shape: they must also
            # beat one cluster of such a shape along the split (two more parameters).
            and self._clearly_better(evidence.dbic - 2.0 * unimodal_gain(t, w, t_spread, uniform) + 2.0 * np.log(W), W)
            and (not evidence.diagonal or (diagonal_ok and _not_one_gaussian(X, w, self.reduced, rows)))
        )
        return distinct, evidence, p_value

    def trusts_mixture(self, X, w) -> bool:
        """Whether the points are enough for mixture evidence: where a node has few
        points per dimension a direction exists along which any split looks clean, and
        the BIC's parameters outweigh any gain, so the evidence is read only with
        MIXTURE_POINTS_PER_DIM points per spanned dimension."""
        return self._sample_size(X, w) >= MIXTURE_POINTS_PER_DIM * _spanned_dims(X)

    def _sample_size(self, X, w) -> float:
        W = w.sum()
        return min(W, X.shape[0]) if self.reduced else W

    def _clearly_better(self, dbic: float, W: float) -> bool:
        return dbic > 0 and dbic / W > self.effect


def _spanned_dims(X) -> int:
    """n points span at most n - 1 dimensions: that, not d, is what the 2-means
    direction can be fitted to."""
    return max(1, min(X.shape[1], X.shape[0] - 1))


def _not_one_gaussian(X, w, reduced=False, rows=None) -> bool:
    """Whether the points are not (known to be) one Gaussian.

    Two diagonal Gaussians side by side follow a correlation that one cannot, so they
    read one Gaussian at an angle to the features as several clusters: diagonal
    evidence is believed only where this holds.  Representatives' means are not a
    sample of the rows (averaging shrinks the tails), so for them the test runs on
    ``rows``, a sample of the rows they stand for; without one it is not made.
    """
    if reduced:
        if rows is None:
            return True
        X, w = rows, np.ones(rows.shape[0])
    step = -(-X.shape[0] // GAUSSIAN_CHECK_ROWS)
    return not looks_gaussian(X[::step], w[::step], GAUSSIAN_LEVEL)


@dataclass(frozen=True)
class RowSample:
    """Rows sampled uniformly from those that representatives stand for, by owner."""

    rows: np.ndarray
    owner: np.ndarray  # the representative (canonical row) each sampled row belongs to

    def of(self, members: np.ndarray) -> np.ndarray:
        """The sampled rows of the representatives ``members`` (indices or a mask)."""
        mask = members
        if members.dtype != bool:
            mask = np.zeros(self.owner.max() + 1, dtype=bool)
            mask[members] = True
        return self.rows[mask[self.owner]]


def _rows_of(sample, members):
    return None if sample is None else sample.of(members)


def _spread_of(spread, members):
    return None if spread is None else spread[members]


def rounding_variance(X: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """Per-feature variance of the rounding of features recorded on a grid, or None.

    A value recorded on a grid of step h (counts, a Likert scale, a binary flag,
    measurements to 0.1) stands for an interval of width h: uniform, variance h^2 / 12.
    Taken as exact, many rows on one value are a spike that every density-based test
    reads as a cluster (one rounded Gaussian in 2-D came back as 20-140 clusters), and
    a cluster constant in such a feature has a Gaussian of unbounded likelihood.

    A feature is on a grid where its rows share values: at most half as many distinct
    values as rows (weights count as rows).  Its step is the median gap between
    neighbouring distinct values, each gap weighted by the lighter of its two values:
    a stray value off the grid (an imputed mean, one row measured finer) holds too
    little weight to move it.  Where h^2 / 12 is below a millionth of the feature's
    variance the grid is too fine to matter, and the feature gets 0.
    A feature of two values is a grid of one step: its two cells touch, so it never
    tells clusters apart on its own.
    """
    rounding = np.zeros(X.shape[1])
    W = w.sum()
    for j in range(X.shape[1]):
        column = X[:, j]
        n_values = 1 + np.count_nonzero(np.diff(np.sort(column)))
        if n_values < 2 or n_values > W / 2:  # constant or continuous: no sort by weight
            continue
        order = np.argsort(column, kind="stable")
        values, weights = column[order], w[order]
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        values, weights = values[starts], np.add.reduceat(weights, starts)
        gaps = np.diff(values)
        step = _weighted_quantile(gaps, np.minimum(weights[:-1], weights[1:]), 0.5)
        variance = weights @ (values - weights @ values / W) ** 2 / W
        if step**2 / 12.0 >= RIDGE * variance:
            rounding[j] = step**2 / 12.0
    return rounding if np.any(rounding > 0) else None


def _grid_rounding(X, w, sample):
    """:func:`rounding_variance` of the rows, or of ``sample`` on reduced input:
    representatives mixing rows of several grid values are off the grid, so the step
    is read from the rows they stand for; pure ones sit on it and get its rounding."""
    return rounding_variance(X, w) if sample is None else rounding_variance(sample, np.ones(sample.shape[0]))


def _with_rounding(spread, rounding, shape):
    """The rows' within variance: their own spread plus the features' rounding."""
    if rounding is None:
        return spread
    if spread is None:
        # Contiguous, not a broadcast view: BLAS takes no zero strides (3x slower).
        spread = np.zeros(shape)
    return spread + rounding


def canonical_rows(X: np.ndarray, w: np.ndarray, spread: np.ndarray | None = None):
    """Distinct rows in lexicographic order, their summed weights and spreads, the row map."""
    order = lexicographic_order(X)
    ordered = X[order]
    first = np.ones(X.shape[0], dtype=bool)
    first[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    unique = ordered[first]
    inverse = np.empty(X.shape[0], dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    weights = np.bincount(inverse, weights=w, minlength=unique.shape[0])
    if spread is None:
        return unique, weights, None, inverse
    # Equal means: the merged spread is the weighted mean of the spreads.
    merged = group_sums(spread, inverse, unique.shape[0], w)
    return unique, weights, merged / np.where(weights > 0, weights, 1.0)[:, None], inverse


def lexicographic_order(X: np.ndarray) -> np.ndarray:
    """The order of the rows of X sorted lexicographically (ties kept in place).

    ``np.unique(X, axis=0)`` gives the same order, but compares rows as structured
    records field by field, slowly in many columns.  Here a column is read only where
    the columns before it tie (continuous data: the first column alone).
    """
    order = np.argsort(X[:, 0], kind="stable")
    column = X[order, 0]
    tied = column[1:] == column[:-1]
    for j in range(1, X.shape[1]):
        if not tied.any():
            break
        # Sorting by (block, column j) reorders rows only within blocks of tied rows,
        # which stay where they are: ``tied`` still describes the earlier columns.
        block = np.concatenate([[0], np.cumsum(~tied)])
        order = order[np.lexsort((X[order, j], block))]
        column = X[order, j]
        tied &= column[1:] == column[:-1]
    return order


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
    of each group, sampled uniformly from the rows (the test of one Gaussian needs rows).

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
        tree, labels, _ = _fit_tree(X, w, *settings, spread, covariance_type, sample)
        return tree, labels
    # Everything is computed on the canonical rows, so that no sum and no product's
    # blocking depends on the order or the repetition of the rows.
    Xu, wu, su, inverse = canonical_rows(X, w, spread)
    # Values on a grid are read as spread over their cells in the features, where the
    # grid is: the axes' coordinates are on none.
    rounding = _grid_rounding(Xu, wu, sample)
    n_points = min(wu.sum(), Xu.shape[0])
    n_axes = int(max(1, min(PRINCIPAL_AXES, n_points // (2 * MIXTURE_POINTS_PER_DIM))))
    mean, axes = principal_axes(Xu, wu, _with_rounding(su, rounding, Xu.shape), n_axes)
    tree, labels, leaves = _fit_tree(
        ((Xu - mean) @ axes)[inverse], w, *settings,
        None if su is None else (su @ axes**2)[inverse],
        covariance_type, None if sample is None else (sample - mean) @ axes,
        rounding=None if rounding is None else rounding @ axes**2,
    )
    first = np.unique(inverse, return_index=True)[1]  # a row of each canonical row
    tree = _in_feature_space(tree, mean, axes, Xu, wu, su, labels[first], leaves[first])
    return tree, labels


def principal_axes(X, w, spread=None, n_axes=PRINCIPAL_AXES):
    """The weighted mean and the leading principal axes (d x q, orthonormal columns,
    each signed so that its largest entry is positive) of distinct rows in canonical
    order (:func:`canonical_rows`), ``spread`` their per-feature variance within.

    At most ``n_axes``: axes along which the rows do not vary (beyond rounding error)
    are left out, so that no coordinate is noise and no cluster a flat Gaussian on it.
    """
    W = w.sum()
    # OpenBLAS's products and eigensolves round differently on different numbers of
    # threads (the axes by 1e-14): on one, the axes are the same on any machine
    # setting; the scatter's blocks are made in parallel instead.
    with one_blas_thread():
        mean = w @ X / W
        within = None if spread is None else w @ spread / W
        values, axes = leading_axes(X - mean, w, n_axes, diagonal=within, product=ordered_product)
    values, axes = values[::-1], axes[:, ::-1]
    varying = values > max(values[0], 0.0) * max(X.shape) * np.finfo(float).eps
    varying[0] = True
    return mean, np.column_stack([canonical_sign(axis) for axis in axes[:, varying].T])


def _in_feature_space(tree, mean, axes, X, w, spread, labels, leaves):
    """A tree fitted in principal axes, described in the features: directions and
    thresholds mapped back, nodes and clusters described by their members (``labels``
    and ``leaves``: of each of the rows ``X``), and the mixture told how to project new
    rows."""
    def described(rows):
        center = w[rows] @ X[rows] / w[rows].sum()
        return center, _variance(X[rows], w[rows], center, _spread_of(spread, rows))

    # Leaves from their rows, the nodes above from their children (Chan et al.'s
    # pairwise update of weighted means and squared deviations): each row read once.
    stats = {}
    for n in reversed(tree.nodes):  # children have larger ids than their parents
        if n.children is None:
            stats[n.id] = described(np.flatnonzero(leaves == n.id))
            continue
        (a, b), (Wa, Wb) = n.children, (tree.nodes[i].weight for i in n.children)
        (mean_a, var_a), (mean_b, var_b) = stats[a], stats[b]
        delta = mean_b - mean_a
        W = Wa + Wb
        stats[n.id] = (mean_a + delta * (Wb / W), (Wa * var_a + Wb * var_b + delta**2 * (Wa * Wb / W)) / W)

    def node(n):
        centroid, variance = stats[n.id]
        direction = None if n.direction is None else axes @ n.direction
        threshold = None if n.threshold is None else n.threshold + float(mean @ direction)
        return replace(n, centroid=centroid, variance=variance, sse=float(variance.sum() * n.weight),
                       direction=direction, threshold=threshold)

    clusters = []
    for c in tree.clusters:
        center, variance = described(np.flatnonzero(labels == c.label))
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
    """The tree, each row's label and each row's leaf."""
    Xu, wu, su, inverse = canonical_rows(X, w, spread)
    if isinstance(rounding, str):
        rounding = _grid_rounding(Xu, wu, sample)
    rule = replace(rule, reduced=spread is not None, rounding=rounding)
    rows = None if sample is None else RowSample(sample, inverse.ravel())
    nodes, leaf_of = _grow(Xu, wu, su, rule, min_cluster_size, max_clusters, n_clusters, rows)
    leaves = _leaf_order(nodes)
    centers = np.vstack([nodes[i]["centroid"] for i in leaves])
    groups = [(i,) for i in leaves]
    position = np.empty(len(nodes), dtype=np.intp)
    position[leaves] = np.arange(len(leaves))
    labels, centers = _refine_past_strays(Xu, wu, position[leaf_of], centers, min_cluster_size)
    # Lloyd can empty a cluster; it has no points, so no statistics, and is dropped.
    labels, centers, groups = _drop_empty(labels, centers, groups, wu)
    merges = []
    if n_clusters is None:
        labels, centers, groups, merges = _merge(
            Xu, wu, su, labels, centers, groups, rule, min_cluster_size, rows
        )
    mixture, labels, posterior, groups, mixture_merges = _fit_gaussians(
        Xu, wu, su, labels, groups, covariance_type, rule, merge=n_clusters is None
    )
    merges += mixture_merges
    tree, labels = _assemble(
        Xu, wu, su, nodes, labels, mixture, posterior, groups, merges, feature_names, params
    )
    return tree, labels[inverse], leaf_of[inverse]


# -- stage 1: grow ---------------------------------------------------------------------


def _grow(X, w, spread, rule, min_cluster_size, max_clusters, n_clusters, sample=None):
    """Grow largest node first; return the node records (dicts, in id order) and the
    leaf of every row."""
    nodes = []
    leaf_of = np.empty(X.shape[0], dtype=np.intp)
    members = {}
    one_gaussian = {}  # node id -> whether it is one Gaussian, where already checked
    examined = _Examined(X, w, spread, rule, min_cluster_size, sample)

    def add(idx, parent, depth):
        node_id = len(nodes)
        Xs, ws = X[idx], w[idx]
        W = ws.sum()
        centroid = ws @ Xs / W
        variance = _variance(Xs, ws, centroid, _spread_of(spread, idx))
        nodes.append(
            dict(id=node_id, parent=parent, depth=depth, weight=float(W), centroid=centroid,
                 variance=variance, sse=float(variance.sum() * W), accepted=False,
                 reason="not examined", children=None, direction=None, threshold=None,
                 dbic=None, scores=None, p_value=None)
        )
        members[node_id] = idx
        return node_id

    # Max-heap on weight; ties go to the smaller id, so the order is fully determined.
    heap = [(-float(w.sum()), add(np.arange(X.shape[0]), None, 0))]
    n_leaves = 1
    cap = n_clusters if n_clusters is not None else max_clusters
    while heap:
        _, node_id = heapq.heappop(heap)
        node = nodes[node_id]
        idx = members[node_id]
        # Every node is popped, children after parents: the last node written is the leaf.
        leaf_of[idx] = node_id
        if cap is not None and n_leaves >= cap:
            node["reason"] = "cluster cap reached"
            continue
        if idx.size == 1:  # rows are distinct (canonical_rows)
            node["reason"] = "all points identical"
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
        known = one_gaussian.pop(node_id, None)
        # Read by the rule below (dBIC > 0) and, with full validation, by the look-ahead.
        not_gaussian = (
            not distinct and n_clusters is None and (evidence.dbic > 0 or rule.validation == "full")
            and (_not_one_gaussian(X[idx], w[idx], rule.reduced, _rows_of(sample, idx)) if known is None else not known)
        )
        # Two sides that are each one Gaussian, of a node that is not, are two clusters
        # when two Gaussians describe the node better (dBIC > 0), whatever the guards
        # against one skewed cluster say (its pieces are not Gaussian).
        sides_gaussian = []
        if not_gaussian and evidence.dbic > 0:
            sides_gaussian = _gaussian_parts(X, w, (left, right), rule.reduced, sample)
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
            children = (add(left, node_id, depth), add(right, node_id, depth))
            node.update(accepted=True, reason="split", children=children)
            # A child's own check reads the same rows: it is not made twice.
            one_gaussian.update(zip(children, sides_gaussian))
            n_leaves += 1
            for child in children:
                heapq.heappush(heap, (-nodes[child]["weight"], child))
        del members[node_id]
        examined.forget(idx)
    return nodes, leaf_of


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
        spread=_spread_of(spread, idx), diagonal_ok=diagonal_ok,
        rows=_rows_of(sample, idx),
    )


def _leaf_order(nodes) -> list[int]:
    out, stack = [], [0]
    while stack:
        node = nodes[stack.pop()]
        if node["children"] is None:
            out.append(node["id"])
        else:
            stack.extend(reversed(node["children"]))
    return out


# -- stage 2: refine -------------------------------------------------------------------


def _refine(X, w, centers):
    """Weighted Lloyd from the given centres; labels are exactly nearest(centres)."""
    labels = nearest_center(X, centers)
    for _ in range(MAX_REFINE_ITER):
        centers = _weighted_centers(X, w, labels, centers)
        new = nearest_center(X, centers)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels, centers


def _refine_past_strays(X, w, leaf_of, centroids, min_cluster_size):
    """Lloyd from the leaves' centroids, past strays (``leaf_of``: each row's leaf, as
    an index into ``centroids``).

    A few far outliers sit in the leaf nearest them and pull its centroid; Lloyd then
    moves that centre onto them alone, and the cluster it stood for joins a neighbour
    (3 blobs and 3 outliers came back as 2 clusters).  So where Lloyd ends with
    clusters lighter than ``min_cluster_size``, their points are strays: weightless
    in every centre, and Lloyd runs again, at most MAX_STRAY_CUTS times, with each
    light cluster's centre put back at its leaf's centroid without the strays (where
    the cluster it lost stands) and the other centres where Lloyd left them.  (Going
    back to every leaf's centroid replayed the whole descent each time: in 384-D,
    where Lloyd drains pieces of one cluster one at a time, 6 restarts of ~40
    iterations.)  Strays are labelled by the nearest centre like every point.
    """
    labels, centers = _refine(X, w, centroids)
    weight = w
    for _ in range(MAX_STRAY_CUTS):
        light = np.bincount(labels, weights=weight, minlength=centroids.shape[0]) < min_cluster_size
        strays = light[labels] & (weight > 0)
        if not strays.any():
            break
        weight = np.where(strays, 0.0, weight)
        restart = np.where(light[:, None], _weighted_centers(X, weight, leaf_of, centroids), centers)
        labels, centers = _refine(X, weight, restart)
    return labels, centers


def _weighted_centers(X, w, labels, previous):
    k = previous.shape[0]
    W = np.bincount(labels, weights=w, minlength=k)
    sums = group_sums(X, labels, k, w)
    centers = previous.copy()
    filled = W > 0
    centers[filled] = sums[filled] / W[filled, None]
    return centers


# -- stage 3: merge --------------------------------------------------------------------


def _merge(X, w, spread, labels, centers, groups, rule, min_cluster_size, sample=None):
    merges = []
    density = _Density(X, w, min_cluster_size)
    while True:
        labels, centers, groups = _drop_empty(labels, centers, groups, w)
        if len(groups) == 1:
            break
        candidates = []
        for i, j in _neighbour_pairs(centers):
            in_pair = (labels == i) | (labels == j)
            Xp, wp = X[in_pair], w[in_pair]
            goes_right = labels[in_pair] == j
            direction = centers[j] - centers[i]
            norm = np.linalg.norm(direction)
            small = min(wp[~goes_right].sum(), wp[goes_right].sum()) < min_cluster_size
            test = "pair"
            if norm == 0:
                distinct, dbic, p_value = False, 0.0, 1.0
            else:
                distinct, evidence, p_value = rule.evaluate(
                    Xp, wp, goes_right, direction / norm,
                    spread=_spread_of(spread, in_pair), rows=_rows_of(sample, in_pair),
                )
                dbic = evidence.dbic
                # Lloyd fitted the two centres to these very points, which deepens the
                # dip of one blob cut in two.  A pair that one Gaussian describes
                # better than two (dBIC <= 0) is one cluster, where its points are
                # enough to tell (with few points in many dimensions the BIC's
                # parameters outweigh any gain, and well-apart groups would merge).
                distinct = distinct and (dbic > 0 or not rule.trusts_mixture(Xp, wp))
                # The guards that keep one skewed cluster whole also merged real
                # clusters that touch through a bridge of points: two that are each
                # one Gaussian, with a union that is not, are two clusters.
                if not distinct and dbic > 0 and not small:
                    distinct = _not_one_gaussian(
                        Xp, wp, rule.reduced, _rows_of(sample, in_pair)
                    ) and all(_gaussian_parts(X, w, (labels == i, labels == j), rule.reduced, sample))
                # Empty space between the two, along the line through their centres,
                # is a valley however few points either holds: a far small group is
                # a cluster, whatever the tests' power on it.
                if not distinct and not small and _empty_between(
                    Xp @ (direction / norm), wp, goes_right, _with_rounding(_spread_of(spread, in_pair), rule.rounding, Xp.shape), direction / norm
                ):
                    distinct = True
                # Pieces of one shape made of flat strokes (letters) are bimodal on
                # the line through their centres and unlike one Gaussian, yet joined by
                # a path as dense as they are; touching Gaussians are joined too, but
                # their density peaks at their centres.  (A pair kept apart just above
                # is two Gaussians, which this never merges.)
                elif distinct and not small and density.one_shape(
                    labels == i, labels == j
                ) and not all(_gaussian_parts(X, w, (labels == i, labels == j), rule.reduced, sample)):
                    distinct, test = False, "density"
            if small or not distinct:
                # Too-small pieces first, then the pair that looks most like one cluster.
                candidates.append(((not small, -p_value, i, j), i, j, p_value, dbic, test))
        if not candidates:
            break
        candidates.sort(key=lambda c: c[0])
        used = set()
        for _, i, j, p_value, dbic, test in candidates:
            if i in used or j in used:
                continue
            used.update((i, j))
            merges.append(Merge(leaves=(groups[i], groups[j]), p_value=float(p_value), dbic=float(dbic), test=test))
            labels[labels == j] = i
            groups[i] = tuple(sorted(groups[i] + groups[j]))
            groups[j] = ()
        centers = _weighted_centers(X, w, labels, centers)
        labels, centers, groups = _drop_empty(labels, centers, groups, w)
        labels, centers = _refine(X, w, centers)
    return labels, centers, groups, merges


class _Density:
    """Density read from each row's neighbours, for telling pieces of one shape.

    A row's *core distance* is the radius that holds at least ``min_cluster_size``
    and DENSITY_WEIGHT of weight around it (the row included; at most
    DENSITY_NEIGHBOURS other rows are looked at); density falls as its ``dim``-th
    power, ``dim`` being the data's intrinsic dimension (Levina and Bickel's maximum
    likelihood estimate from the same neighbours, in MacKay and Ghahramani's pooled
    form), not the number of features (tens of features often span a few).  Weights
    are read in the units of ``min_cluster_size``: rows each heavier than it have no
    neighbourhood to read, and a cluster lighter than 16 neighbourhoods is not judged.
    """

    def __init__(self, X, w, min_cluster_size):
        self.X, self.w = X, w
        self.min_weight = max(min_cluster_size, DENSITY_WEIGHT)
        self.k = min(DENSITY_NEIGHBOURS, X.shape[0] - 1)
        if self.k < 2 or X.shape[1] > DENSITY_MAX_FEATURES:
            self.k = 0
        self.core = None

    def _search(self):
        """The k-NN search, made once, when a first pair needs it."""
        from scipy.spatial import cKDTree
        from scipy.special import polygamma

        X, w = self.X, self.w
        dist, idx = cKDTree(X).query(X, self.k + 1)
        reached = np.cumsum(w[idx], axis=1) >= self.min_weight
        at = np.where(reached.any(axis=1), reached.argmax(axis=1), self.k)
        self.core = dist[np.arange(X.shape[0]), at]
        # The log of a k-NN density estimate from n neighbours scatters by
        # sqrt(trigamma(n)) (about 1 / sqrt(n)).
        self.scatter = float(np.sqrt(polygamma(1, max(1.0, float(np.median(at))))))
        self.dist, self.idx = dist[:, 1:], idx[:, 1:]
        # Distinct rows can still be at distance 0 to the k-d tree (closer than about
        # 1e-154 of the data's scale); such rows say nothing of the dimension.
        apart = self.dist[:, 0] > 0
        mean_log = np.log(self.dist[apart, -1:] / self.dist[apart, :-1]).mean(axis=1)
        informative = mean_log[np.isfinite(mean_log) & (mean_log > 0)]
        self.dim = float(X.shape[1])
        if informative.size:
            self.dim = float(np.clip(1.0 / informative.mean(), 1.0, X.shape[1]))

    def one_shape(self, a, b) -> bool:
        """Whether the clusters ``a`` and ``b`` (row masks) are each flat and more than
        half of each lies in one component of their union's rows joined at half the
        pieces' median density or denser."""
        if self.k < 2:
            return False
        if self.core is None:
            self._search()
        typical_a, typical_b = self._flat(a), self._flat(b)
        if typical_a is None or typical_b is None:
            return False
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        rows = np.flatnonzero(a | b)
        local = np.full(a.size, -1)
        local[rows] = np.arange(rows.size)
        # HDBSCAN's mutual reachability: an edge is as long as the larger of its length
        # and its two ends' core distances, so a path through sparse rows is long.
        src = np.repeat(rows, self.k)
        dst = self.idx[rows].ravel()
        reach = np.maximum(self.dist[rows].ravel(), np.maximum(self.core[src], self.core[dst]))
        level = max(typical_a, typical_b) * JOIN_DENSITY ** (-1.0 / self.dim)
        # On a lattice edges as long as the level abound: rounding must not decide them.
        keep = (local[dst] >= 0) & (reach <= level * (1 + 1e-9))
        graph = coo_matrix(
            (np.ones(keep.sum()), (local[src[keep]], local[dst[keep]])), shape=(rows.size,) * 2
        )
        _, component = connected_components(graph, directed=False)
        in_a, w = a[rows], self.w[rows]
        share_a = np.bincount(component[in_a], weights=w[in_a], minlength=rows.size) / w[in_a].sum()
        share_b = np.bincount(component[~in_a], weights=w[~in_a], minlength=rows.size) / w[~in_a].sum()
        return bool(np.max(np.minimum(share_a, share_b)) > 0.5)

    def _flat(self, members):
        """The cluster's median core distance if it is flat, else None.

        Flat: its densest tenth of rows is not much denser than its median row, less
        than halfway (in log density) from a flat shape's ratio to a Gaussian's, both
        as a k-NN estimate sees them; and its neighbourhoods are small beside it.  A
        Gaussian's densest tenth is exp((chi2_d(0.5) - chi2_d(0.1)) / 2) times denser
        than its median row (1.8x in 2-D); a cluster in noise, far more.
        """
        from scipy.stats import chi2, norm

        rows = np.flatnonzero(members)
        X, w, core = self.X[rows], self.w[rows], self.core[rows]
        typical = _weighted_quantile(core, w, 0.5)
        dense = _weighted_quantile(core, w, 0.1)
        radius = np.sqrt(w @ ((X - w @ X / w.sum()) ** 2).sum(axis=1) / w.sum())
        if not (0 < dense and typical <= LOCAL_DENSITY * radius
                and w.sum() >= self.min_weight / LOCAL_DENSITY**2):
            return None
        flat = np.exp(norm.ppf(0.9) * self.scatter)
        gaussian = flat * np.exp((chi2.median(self.dim) - chi2.ppf(0.1, self.dim)) / 2.0)
        return typical if (typical / dense) ** self.dim < np.sqrt(flat * gaussian) else None


def _weighted_quantile(values, weights, q) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])


def _gaussian_parts(X, w, parts, reduced, sample) -> list[bool]:
    """Whether each of ``parts`` (index arrays or masks of rows) is one Gaussian, up to
    the first that is not (the rest are not checked)."""
    out = []
    for members in parts:
        out.append(not _not_one_gaussian(X[members], w[members], reduced, _rows_of(sample, members)))
        if not out[-1]:
            break
    return out


def _empty_between(t, w, goes_right, spread, direction) -> bool:
    """Whether an empty slab at least EMPTY_GAP standard deviations wide (the two
    sides' pooled spread along ``direction``) separates the projections ``t`` of the
    two sides (``goes_right``: the far side).  A point standing for a group of rows
    (``spread``: its per-feature variance) reaches two of its deviations either way."""
    along = np.zeros_like(t) if spread is None else spread @ direction**2
    reach = 2.0 * np.sqrt(along)
    gap = np.min((t - reach)[goes_right]) - np.max((t + reach)[~goes_right])
    if gap <= 0:
        return False
    within = 0.0
    for side in (~goes_right, goes_right):
        ts, ws = t[side], w[side]
        within += ws @ ((ts - ws @ ts / ws.sum()) ** 2 + along[side])
    return gap > EMPTY_GAP * np.sqrt(within / w.sum())


def _neighbour_pairs(centers):
    from scipy.spatial.distance import cdist

    k = centers.shape[0]
    # Pair by pair, so no k x k x d array (1 GB for 400 leaves in 768-D).
    sq = cdist(centers, centers, "sqeuclidean")
    np.fill_diagonal(sq, np.inf)
    pairs = set()
    for i in range(k):
        for j in np.argsort(sq[i], kind="stable")[:MERGE_NEIGHBOURS]:
            if np.isfinite(sq[i, j]):
                pairs.add((min(i, int(j)), max(i, int(j))))
    return sorted(pairs)


def _drop_empty(labels, centers, groups, w):
    alive = [c for c in range(len(groups)) if groups[c] and w[labels == c].sum() > 0]
    if len(alive) == len(groups):
        return labels, centers, groups
    remap = np.full(len(groups), -1)
    remap[alive] = np.arange(len(alive))
    return remap[labels], centers[alive], [groups[c] for c in alive]


# -- stage 4: the clusters' Gaussians -------------------------------------------------


def _fit_gaussians(X, w, spread, labels, groups, covariance_type, rule, merge):
    """The lowest-BIC mixture from the partition, with (if ``merge``) components merged
    while the whole mixture's BIC prefers it; every row's most probable cluster and
    its posterior probability; the clusters' leaves; and the merges made.

    A component that is the most probable one for no row is no cluster: it is dropped,
    which changes no row's label.
    """
    spread = _with_rounding(spread, rule.rounding, X.shape)
    # Representatives of a reduced input: they, not the rows, are the sample (as in Rule).
    sample_size = X.shape[0] if rule.reduced else None
    mixture, _ = fit_mixture(
        X, w, labels, spread, sample_size=sample_size,
        covariance_types=COVARIANCE_TYPES if covariance_type == "auto" else (covariance_type,),
    )
    mixture, labels, posterior, groups = _alive(X, w, mixture, groups)
    merges = []
    if merge:
        mixture, merged = merge_components(X, w, mixture, spread, sample_size)
        groups = list(groups)
        for i, j, dbic in merged:
            merges.append(Merge(leaves=(groups[i], groups[j]), p_value=None, dbic=float(dbic), test="mixture"))
            groups[i] = tuple(sorted(groups[i] + groups.pop(j)))
        if merged:
            mixture, labels, posterior, groups = _alive(X, w, mixture, groups)
    return mixture, labels, posterior, groups, merges


def _alive(X, w, mixture, groups):
    """The mixture without its components most probable for no row (no label
    changes), each row's label and posterior, and the remaining clusters' leaves."""
    labels, posterior = mixture.assign(X)
    alive = np.flatnonzero(np.bincount(labels, weights=w, minlength=mixture.n_components) > 0)
    if alive.size < mixture.n_components:
        mixture = mixture.subset(alive)
        labels, posterior = mixture.assign(X)
        groups = [groups[c] for c in alive]
    return mixture, labels, posterior, groups


# -- the result ------------------------------------------------------------------------


def _variance(X, w, center, spread):
    """Per-feature weighted variance about ``center``, plus the rows' own spread."""
    scatter = (X - center) ** 2
    if spread is not None:
        scatter += spread
    return w @ scatter / w.sum()


def _assemble(X, w, spread, nodes, labels, mixture, posterior, groups, merges, feature_names, params):
    leaf_rank = {leaf: r for r, leaf in enumerate(_leaf_order(nodes))}
    # Canonical labels: clusters numbered by the first leaf (in leaf order) they grew from.
    order = sorted(range(len(groups)), key=lambda c: min(leaf_rank[leaf] for leaf in groups[c]))
    relabel = np.empty(len(order), dtype=np.intp)
    relabel[order] = np.arange(len(order))
    labels = relabel[labels]
    mixture = mixture.subset(np.asarray(order))
    # A cluster is described by its members (the mixture keeps the soft Gaussians).
    centers = _weighted_centers(X, w, labels, mixture.means)
    clusters = []
    for new, old in enumerate(order):
        members = labels == new
        Wc = w[members].sum()
        center = centers[new]
        variance = _variance(X[members], w[members], center, _spread_of(spread, members))
        clusters.append(
            Cluster(label=new, weight=float(Wc), center=center, variance=variance,
                    leaves=tuple(sorted(groups[old], key=leaf_rank.get)))
        )
    tree_nodes = [
        Node(**{**n, "children": None if n["children"] is None else tuple(n["children"]),
                "scores": None if n["scores"] is None else tuple(n["scores"])})
        for n in nodes
    ]
    accepted = [n for n in tree_nodes if n.accepted and n.scores is not None]
    most_separable = (
        max(accepted, key=lambda n: (min(n.scores), n.dbic, -n.id)).id if accepted else None
    )
    tree = PartitionTree(
        nodes=tree_nodes, clusters=clusters, merges=merges, most_separable=most_separable,
        feature_names=feature_names, params=dict(params or {}), mixture=mixture,
        # The mixture's confidence in the labels: each row's posterior of its own cluster.
        clusterability=float(w @ posterior / w.sum()),
    )
    return tree, labels
