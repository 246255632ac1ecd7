"""The merge step: neighbouring clusters that are one cluster become one.

Each cluster and its nearest neighbours (by centre) are tested as a pair by the rule
of growth (:class:`partitive.judge.Rule`) on the line through their centres; a pair
that is one cluster is merged, most unimodal first, and Lloyd refines the partition
again, until every neighbouring pair is distinct.  Two clusters that are each one
Gaussian with a union that is not stay apart, as do two with empty space between
them; in few features, flat pieces joined by rows as dense as they are (strokes of one
shape) are merged.  Evidence: docs/design/pipeline.md and
docs/design/flat-strokes.md.
"""

from __future__ import annotations

import numpy as np

from .judge import gaussian_parts, not_one_gaussian, rows_of, spread_of
from .prepare import weighted_quantile
from .refine import nearest_center, refine, weighted_centers
from .tree import Merge


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
#: at least 1 / LOCAL_DENSITY^2 neighbourhoods' weight.  The tree cuts a thin shape
#: (a ring, a stroke) into pieces of a few neighbourhoods each, so a stricter bound
#: would leave its pieces unread; in d dimensions the radius check asks for about
#: (1 / LOCAL_DENSITY)^d neighbourhoods ...
LOCAL_DENSITY = 0.5
#: ... and only on up to this many features, where a k-d tree's k-NN search is cheap
#: (it slows steeply with the number of features).
DENSITY_MAX_FEATURES = 4


def merge_pieces(X, w, spread, labels, centers, groups, rule, min_cluster_size, sample=None):
    """Merge neighbouring clusters that are one cluster; the clusters, their centres,
    leaves and merges, and each row's piece with each piece's cluster.

    A cluster joined from flat pieces by density keeps its pieces: Lloyd refines their
    centres, not one centre of the whole (which would cut a ring or a stroke by the
    nearest other cluster's bisector), and the final mixture gives each piece a
    Gaussian.  Two one-piece clusters merged by the pair tests become one piece.
    """
    merges = []
    density = _Density(X, w, min_cluster_size)
    pieces = [c[None] for c in centers]
    # A pair's judgement is a function of its rows and direction alone: pairs that no
    # merge or Lloyd step touched are not judged again in the next round.
    judged = {}
    while True:
        labels, centers, groups, pieces = drop_empty(labels, centers, groups, w, pieces)
        # Every piece's centre and cluster; while each cluster is one piece, Lloyd
        # left every row with its nearest centre, so the pieces are the clusters.
        all_pieces, owner = np.vstack(pieces), _owner(pieces)
        piece_of = labels if owner.size == len(pieces) else nearest_center(X, all_pieces)
        if len(groups) == 1:
            break
        candidates = []
        for i, j in _neighbour_pairs(all_pieces, owner):
            a, b = _nearest_pieces(all_pieces, owner, i, j)
            masks = (labels == i, labels == j, piece_of == a, piece_of == b)
            direction = all_pieces[b] - all_pieces[a]
            key = _pair_key(masks, direction)
            if key not in judged:
                judged[key] = _judge_pair(X, w, spread, sample, rule, density, min_cluster_size, *masks, direction)
            small, distinct, p_value, dbic, test = judged[key]
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
            if test == "density" or len(pieces[i]) > 1 or len(pieces[j]) > 1:
                pieces[i] = np.vstack([pieces[i], pieces[j]])
            else:
                pieces[i] = None
        centers = weighted_centers(X, w, labels, centers)
        # A one-piece cluster's piece is the cluster: its centre is the members' mean.
        pieces = [centers[c][None] if p is None or len(p) == 1 else p for c, p in enumerate(pieces)]
        labels, centers, groups, pieces = drop_empty(labels, centers, groups, w, pieces)
        labels, centers, pieces = _refine_pieces(X, w, centers, pieces)
    return labels, centers, groups, merges, _compact(piece_of, owner, w)


def _judge_pair(X, w, spread, sample, rule, density, min_cluster_size,
                cluster_i, cluster_j, part_a, part_b, direction):
    """Whether clusters i and j (row masks) are to be merged: ``(small, distinct,
    p_value, dbic, test)``, judged on their nearest pieces ``part_a`` and ``part_b``
    along ``direction`` (from a's centre to b's)."""
    # Tested on the two clusters' nearest pieces where either is a shape of pieces:
    # its centre can lie outside it (a ring's, in its hole).
    in_pair = part_a | part_b
    Xp, wp = X[in_pair], w[in_pair]
    goes_right = part_b[in_pair]
    norm = np.linalg.norm(direction)
    small = min(w[cluster_i].sum(), w[cluster_j].sum()) < min_cluster_size
    if norm == 0:
        return small, False, 1.0, 0.0, "pair"
    test = "pair"
    distinct, evidence, p_value = rule.evaluate(
        Xp, wp, goes_right, direction / norm,
        spread=spread_of(spread, in_pair), rows=rows_of(sample, in_pair),
    )
    dbic = evidence.dbic
    # Lloyd fitted the two centres to these very points, which deepens the dip of one
    # blob cut in two.  A pair that one Gaussian describes better than two (dBIC <= 0)
    # is one cluster, where its points are enough to tell (with few points in many
    # dimensions the BIC's parameters outweigh any gain, and well-apart groups would
    # merge).
    distinct = distinct and (dbic > 0 or not rule.trusts_mixture(Xp, wp))
    # The guards that keep one skewed cluster whole also merged real clusters that
    # touch through a bridge of points: two that are each one Gaussian, with a union
    # that is not, are two clusters.
    if not distinct and dbic > 0 and not small:
        distinct = not_one_gaussian(
            Xp, wp, rule.reduced, rows_of(sample, in_pair)
        ) and all(gaussian_parts(X, w, (part_a, part_b), rule.reduced, sample))
    # Empty space between the two, along the line through their centres, is a valley
    # however few points either holds: a far small group is a cluster, whatever the
    # tests' power on it.
    if not distinct and not small and rule.apart(
        Xp, wp, goes_right, direction / norm, spread_of(spread, in_pair)
    ):
        distinct = True
    # Pieces of one shape made of flat strokes (letters) are bimodal on the line
    # through their centres and unlike one Gaussian, yet joined by a path as dense as
    # they are; touching Gaussians are joined too, but their density peaks at their
    # centres.  (A pair kept apart just above is two Gaussians, which this never
    # merges.)
    elif distinct and not small and density.one_shape(cluster_i, cluster_j) and not all(
        gaussian_parts(X, w, (cluster_i, cluster_j), rule.reduced, sample)
    ):
        distinct, test = False, "density"
    return small, bool(distinct), float(p_value), float(dbic), test


def _pair_key(masks, direction) -> bytes:
    """A digest of a pair's row masks and direction (the masks of 1e5 rows are 12 kB)."""
    import hashlib

    digest = hashlib.blake2b(direction.tobytes())
    for mask in masks:
        digest.update(np.packbits(mask).tobytes())
    return digest.digest()


def _owner(pieces):
    """Each piece's cluster, for the pieces stacked in cluster order."""
    return np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])


def _nearest_pieces(all_pieces, owner, i, j):
    """The nearest pair of pieces, one of cluster i and one of cluster j."""
    from scipy.spatial.distance import cdist

    of_i, of_j = np.flatnonzero(owner == i), np.flatnonzero(owner == j)
    sq = cdist(all_pieces[of_i], all_pieces[of_j], "sqeuclidean")
    a, b = np.unravel_index(np.argmin(sq), sq.shape)
    return int(of_i[a]), int(of_j[b])


def _refine_pieces(X, w, centers, pieces):
    """Lloyd on every piece's centre; a row's cluster is its piece's."""
    owner = _owner(pieces)
    piece_of, piece_centers = refine(X, w, np.vstack(pieces))
    labels = owner[piece_of]
    if owner.size > len(pieces):
        centers = weighted_centers(X, w, labels, centers)
    else:
        centers = piece_centers
    bounds = np.cumsum([len(p) for p in pieces])[:-1]
    return labels, centers, np.split(piece_centers, bounds)


def _compact(piece_of, owner, w):
    """Pieces without weight dropped: (each row's piece, each piece's cluster)."""
    alive = np.flatnonzero(np.bincount(piece_of, weights=w, minlength=owner.size) > 0)
    remap = np.full(owner.size, -1)
    remap[alive] = np.arange(alive.size)
    return remap[piece_of], owner[alive]


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
        # DENSITY_WEIGHT points' worth: on representatives, their mean weight each (a
        # few representatives' weight reads the density of thin chains too noisily).
        self.min_weight = max(min_cluster_size, DENSITY_WEIGHT * w.sum() / w.size)
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
        typical = weighted_quantile(core, w, 0.5)
        dense = weighted_quantile(core, w, 0.1)
        radius = np.sqrt(w @ ((X - w @ X / w.sum()) ** 2).sum(axis=1) / w.sum())
        if not (0 < dense and typical <= LOCAL_DENSITY * radius
                and w.sum() >= self.min_weight / LOCAL_DENSITY**2):
            return None
        flat = np.exp(norm.ppf(0.9) * self.scatter)
        gaussian = flat * np.exp((chi2.median(self.dim) - chi2.ppf(0.1, self.dim)) / 2.0)
        return typical if (typical / dense) ** self.dim < np.sqrt(flat * gaussian) else None


def _neighbour_pairs(all_pieces, owner):
    """Each cluster with its MERGE_NEIGHBOURS nearest, by their nearest pieces' distance."""
    from scipy.spatial.distance import cdist

    # Pair by pair, so no k x k x d array (1 GB for 400 leaves in 768-D).
    sq = cdist(all_pieces, all_pieces, "sqeuclidean")
    k = int(owner[-1]) + 1
    if owner.size > k:
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        sq = np.minimum.reduceat(np.minimum.reduceat(sq, starts, axis=0), starts, axis=1)
    np.fill_diagonal(sq, np.inf)
    pairs = set()
    for i in range(k):
        for j in np.argsort(sq[i], kind="stable")[:MERGE_NEIGHBOURS]:
            if np.isfinite(sq[i, j]):
                pairs.add((min(i, int(j)), max(i, int(j))))
    return sorted(pairs)


def drop_empty(labels, centers, groups, w, pieces=None):
    """The clusters that hold weight, renumbered in order: labels, centres and leaves,
    and (when given) each cluster's piece centres."""
    alive = [c for c in range(len(groups)) if groups[c] and w[labels == c].sum() > 0]
    if len(alive) < len(groups):
        remap = np.full(len(groups), -1)
        remap[alive] = np.arange(len(alive))
        labels, centers, groups = remap[labels], centers[alive], [groups[c] for c in alive]
    if pieces is None:
        return labels, centers, groups
    return labels, centers, groups, [pieces[c] for c in alive]
