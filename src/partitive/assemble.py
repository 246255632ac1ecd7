"""The leaves become clusters: their Gaussians, and the tree that records it all.

After growth, refinement and the merge step (:mod:`partitive.grow`) have fixed the
partition, a Gaussian mixture is fitted from it (its covariance structure chosen by
BIC, components merged while the whole mixture's BIC prefers it:
:mod:`partitive.mixture`), every row goes to its most probable cluster, and the nodes,
clusters and merges are assembled into a :class:`partitive.tree.PartitionTree` with
canonical labels.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .judge import spread_of, with_rounding
from .component_merge import merge_components
from .density import density_readable
from .islands import center_islands
from .merge import compact_pieces
from .mixture import COVARIANCE_TYPES, fit_mixture, uniform_log_density
from .refine import nearest_center, weighted_centers
from .tree import Cluster, Merge, Node, PartitionTree


def leaf_order(nodes) -> list[int]:
    out, stack = [], [0]
    while stack:
        node = nodes[stack.pop()]
        if node["children"] is None:
            out.append(node["id"])
        else:
            stack.extend(reversed(node["children"]))
    return out


def fit_gaussians(X, w, spread, labels, groups, covariance_type, rule, merge, pieces=None, density=None):
    """The lowest-BIC mixture from the partition, with (if ``merge``) components merged
    while the whole mixture's BIC prefers it, unless they are kept apart
    (:func:`_kept_apart`, ``density`` the rows' :class:`partitive.density.Density`);
    every row's most probable cluster and its posterior probability; the clusters'
    leaves; and the merges made.

    A component that is the most probable one for no row is no cluster: it is dropped,
    which changes no row's label.

    On rows in few features (:func:`background_density`; ``merge`` or not), EM fits a
    uniform background beside the Gaussians, so that rows in sparse space about the
    clusters (noise) widen none of them; every row still goes to its most probable
    Gaussian.
    """
    # The rule's dips add the rounding themselves.
    given_spread = spread
    spread = with_rounding(spread, rule.rounding, X.shape)
    # Representatives of a reduced input: they, not the rows, are the sample (as in Rule).
    sample_size = X.shape[0] if rule.reduced else None
    grouped = pieces is not None and pieces[1].size > len(groups)
    background = background_density(X, rule.reduced)
    mixture, _ = fit_mixture(
        X, w, pieces[0] if grouped else labels, spread, sample_size=sample_size,
        covariance_types=COVARIANCE_TYPES if covariance_type == "auto" else (covariance_type,),
        background=background,
        rearranged=lambda refined: _rearranged(
            X, w, given_spread, pieces[0] if grouped else labels, refined.predict(X), rule,
            pieces[1] if grouped else None, None if density is None else density.island_of,
        ),
    )
    if grouped:
        # A shape joined from pieces keeps a Gaussian per piece: one Gaussian for a
        # ring or a stroke would claim the rows of whatever lies inside or across it.
        mixture = replace(mixture, owner=pieces[1])
    mixture, labels, posterior, groups = _alive(X, w, mixture, groups)
    merges = []
    if merge and not grouped:
        mixture, merged = merge_components(
            X, w, mixture, spread, sample_size, _kept_apart(X, w, spread, rule, density), background
        )
        groups = list(groups)
        for i, j, dbic in merged:
            merges.append(Merge(leaves=(groups[i], groups[j]), p_value=None, dbic=float(dbic), test="mixture"))
            groups[i] = tuple(sorted(groups[i] + groups.pop(j)))
        if merged:
            mixture, labels, posterior, groups = _alive(X, w, mixture, groups)
    return mixture, labels, posterior, groups, merges


def keep_to_islands(X, w, spread, partition, fitted, pieces, leaves, covariance_type, rule, density):
    """The mixture ``fitted`` (``(mixture, labels, posterior, groups)``) fitted again
    from the partition it was fitted from (``partition``: each row's cluster and the
    clusters' leaves) so that its labels keep to the islands, where they do not: the
    clusters whose Gaussian is the most probable for rows of another island, and the
    clusters those rows belong to, are given a Gaussian per leaf.  ``leaves``: each
    row's leaf and each leaf's centre as refinement left them, before the merge step;
    a row of such a cluster keeps its leaf where the cluster holds it, and otherwise
    goes to the nearest of the cluster's leaves on its own island.  The other clusters
    keep their pieces (``pieces``, where the merge step grouped any) or are one piece.
    Returns the mixture, labels, posterior, groups and the pieces, or None where no
    label crosses or no cluster it involves has more than one leaf.

    One Gaussian for a shape that is not one (a comb whose teeth reach between another
    comb's) spreads over whatever lies within its reach, across the gap, and the most
    probable Gaussian there can be the other island's.  Growth splits islands before
    any 2-means, so a leaf lies in one island (all but a few of its rows, where the
    cluster cap stopped growth), and its Gaussian stays close to its rows.
    """
    mixture, labels, posterior, groups = fitted
    if density is None or density.island_of is None:
        return None
    island = density.island_of
    leaf_of, leaf_centers = leaves
    # Each leaf's cluster in the mixture and its place among that cluster's leaves (-1
    # for a leaf of a cluster the mixture dropped).
    size = 1 + max(int(leaf_of.max()), max(max(members) for members in groups))
    cluster_of_leaf, place = np.full(size, -1), np.full(size, -1)
    for c, members in enumerate(groups):
        cluster_of_leaf[list(members)], place[list(members)] = c, np.arange(len(members))
    # The partition in the mixture's clusters: it merged some, and dropped any that no
    # row ended in (their rows keep the mixture's labels, and are not read as crossing).
    before, before_groups = partition
    partition = cluster_of_leaf[[members[0] for members in before_groups]][before]
    partition = np.where(partition >= 0, partition, labels)
    home = center_islands(island, partition, len(groups), w)
    crossing = (home[labels] != island) & (home[partition] == island)
    involved = {int(c) for c in np.unique(np.r_[labels[crossing], partition[crossing]])}
    if not any(len(groups[c]) > 1 for c in involved):
        return None
    leaf_island = center_islands(island, leaf_of, int(leaf_of.max()) + 1, w)
    grouped = mixture.owner is not None
    piece_of, owner = np.empty(X.shape[0], dtype=np.intp), []
    for c, members in enumerate(groups):
        rows = np.flatnonzero(partition == c)
        if c in involved:
            members = np.asarray(members)
            piece = place[leaf_of[rows]]
            # Rows that Lloyd moved to this cluster from a leaf of another.
            moved = cluster_of_leaf[leaf_of[rows]] != c
            if moved.any():
                centers = np.vstack([leaf_centers[leaf] for leaf in members])
                piece[moved] = nearest_center(
                    X[rows[moved]], centers, (island[rows[moved]], leaf_island[members])
                )
            piece_of[rows] = len(owner) + piece
            owner += [c] * members.size
        elif grouped:
            own = np.unique(pieces[0][rows])
            piece_of[rows] = len(owner) + np.searchsorted(own, pieces[0][rows])
            owner += [c] * own.size
        else:
            piece_of[rows] = len(owner)
            owner.append(c)
    within = compact_pieces(piece_of, np.asarray(owner, dtype=np.intp), w)
    mixture, labels, posterior, groups, _ = fit_gaussians(
        X, w, spread, partition, groups, covariance_type, rule, merge=False, pieces=within, density=density
    )
    # A cluster that the refit leaves most probable for no row is dropped, and its
    # pieces with it: the pieces then no longer match the mixture, and the split of
    # overlapping Gaussians, which reads them, is not tried.
    return mixture, labels, posterior, groups, within


def _rearranged(X, w, spread, before, after, rule, owner=None, island=None) -> np.ndarray:
    """The components that EM, moving rows from the partition ``before`` to ``after``,
    made two modes where the partition had none, or moved rows across empty space,
    with the components they exchanged rows with: along the line between two
    components' partition centres, the rows one ends with have a dip deeper than any
    2-means cut through one blob makes (:meth:`partitive.judge.Rule.deep_dip`) and the
    rows it started with do not; or the two lie on different islands (``island``:
    each row's, where there are islands; a component's is the one holding most of its
    rows).  Components of one cluster (``owner``: each component's cluster, for shapes
    joined from pieces) are not read: EM may move rows between them freely.

    EM describes each cluster as one Gaussian.  Of clusters that are not (peaked at
    their centres, heavy-tailed), a narrow component for one's core and a wide one for
    the rest fit better than two side by side, so EM can turn two clusters that the
    tree found side by side into a core and the rest.
    """
    moved = before != after
    k = int(before.max()) + 1
    centres = weighted_centers(X, w, before, np.zeros((k, X.shape[1])))
    pairs = {(min(i, j), max(i, j)) for i, j in zip(before[moved].tolist(), after[moved].tolist())}
    on = None if island is None else center_islands(island, before, k, w)
    named = set()
    for a, b in sorted(pairs):
        direction = centres[b] - centres[a]
        norm = np.linalg.norm(direction)
        if norm == 0 or (owner is not None and owner[a] == owner[b]):
            continue
        if on is not None and on[a] != on[b]:
            # Where the islands' shapes are not Gaussian (boxes thinning towards each
            # other), EM fits them better by giving one's rows to the other across
            # the gap, which the labels would then cross.
            named.update((a, b))
            continue
        direction = direction / norm
        for c in (a, b):
            ends, began = after == c, before == c
            if rule.deep_dip(X[ends], w[ends], direction, spread_of(spread, ends)) and not (
                rule.deep_dip(X[began], w[began], direction, spread_of(spread, began))
            ):
                named.update((a, b))
    return np.array(sorted(named), dtype=np.intp)


def background_density(X, reduced):
    """The log-density of the uniform background that EM fits beside the Gaussians,
    or None where there is none: it is fitted on rows in few features, where density
    can be read (:func:`partitive.density.density_readable`), whether k is found or
    given.  There noise is rows spread through
    the space the clusters leave empty, as a uniform over the rows' box describes
    them.  In many features outlying rows are the clusters' own heavy tails, not a
    uniform scatter, and a representative stands for rows already pooled; taking
    their weight from the Gaussians there narrows the covariances the labels are read
    from (docs/design/noise-background.md).
    """
    if reduced or not density_readable(*X.shape):
        return None
    return uniform_log_density(X)


def _kept_apart(X, w, spread, rule, density):
    """Whether two components' most probable rows (masks ``a``, ``b``) are two clusters
    whatever the BIC says, as the merge step keeps apart a pair that one Gaussian
    describes better: a dip on the line through their means deeper than any cut
    through one blob makes, no island holding most of each (where there are
    islands), or, where density is read and on rows, a valley of density between
    them (groups in noise, which widens each group's Gaussian until one Gaussian of
    two groups and their noise costs less).
    """

    def apart(a, b, direction):
        pair = a | b
        norm = np.linalg.norm(direction)
        if norm == 0 or not a.any() or not b.any():
            return False
        if rule.deep_dip(X[pair], w[pair], direction / norm, None if spread is None else spread[pair]):
            return True
        return density is not None and (
            (density.island_of is not None and not density.one_island(a, b))
            or (not rule.reduced and density.valley_between(a, b))
        )

    return apart


def _alive(X, w, mixture, groups):
    """The mixture without its components most probable for no row (no label
    changes), each row's label and posterior, and the remaining clusters' leaves."""
    labels, posterior = mixture.assign(X)
    alive = np.flatnonzero(np.bincount(labels, weights=w, minlength=mixture.n_clusters) > 0)
    if alive.size < mixture.n_clusters:
        mixture = mixture.subset(alive)
        labels, posterior = mixture.assign(X)
        groups = [groups[c] for c in alive]
    return mixture, labels, posterior, groups


def node_variance(X, w, center, spread):
    """Per-feature weighted variance about ``center``, plus the rows' own spread."""
    scatter = (X - center) ** 2
    if spread is not None:
        scatter += spread
    return w @ scatter / w.sum()


def assemble(X, w, spread, nodes, labels, mixture, posterior, groups, merges, feature_names, params):
    leaf_rank = {leaf: r for r, leaf in enumerate(leaf_order(nodes))}
    # Canonical labels: clusters numbered by the first leaf (in leaf order) they grew from.
    order = sorted(range(len(groups)), key=lambda c: min(leaf_rank[leaf] for leaf in groups[c]))
    relabel = np.empty(len(order), dtype=np.intp)
    relabel[order] = np.arange(len(order))
    labels = relabel[labels]
    mixture = mixture.subset(np.asarray(order))
    # A cluster is described by its members (the mixture keeps the soft Gaussians).
    centers = weighted_centers(X, w, labels, mixture.cluster_means)
    clusters = []
    for new, old in enumerate(order):
        members = labels == new
        Wc = w[members].sum()
        center = centers[new]
        variance = node_variance(X[members], w[members], center, spread_of(spread, members))
        clusters.append(
            Cluster(label=new, weight=float(Wc), center=center, variance=variance,
                    leaves=tuple(sorted(groups[old], key=leaf_rank.get)))
        )
    tree_nodes = [
        Node(**{**n, "children": None if n["children"] is None else tuple(n["children"]),
                "scores": None if n["scores"] is None else tuple(n["scores"])})
        for n in nodes
    ]
    # Growth's own splits: a split taken later (two Gaussians) carries the refused test's scores.
    accepted = [
        n for n in tree_nodes if n.accepted and n.reason in ("split", "empty space") and n.scores is not None
    ]
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
