"""The merge step: neighbouring clusters that are one cluster become one.

Each cluster and its nearest neighbours (by centre), and in few features every cluster
its rows touch, are tested as a pair by the rule of growth
(:class:`partitive.judge.Rule`) on the line through their centres; a pair that is one
cluster is merged, most unimodal first, and Lloyd refines the partition again (each row
within its island, where empty space makes islands), until every neighbouring pair is
distinct.  Two clusters that are each one Gaussian (read together:
:func:`partitive.judge.each_one_gaussian`) with a union that is not stay apart, as do
two with empty space between them; in few features, flat pieces joined by rows as
dense as they are (strokes of one shape) are merged, and so are parts of a group
isolated from the rest, unless they are blobs: two Gaussians with a valley (of
density or a dip) between them, or a Gaussian core beside a seam the group's
isolation does not dwarf (:mod:`partitive.density`); and parts of one island, unless
a valley or a dip lies between them or they are two Gaussians whose union is not one
(both vetoes read at ISLAND_LEVEL).  Evidence: docs/design/pipeline.md,
docs/design/flat-strokes.md, docs/design/isolated-groups.md and docs/design/islands.md.
"""

from __future__ import annotations

import numpy as np

from .judge import (
    each_one_gaussian, gaussian_parts, has_gaussian_core, rows_of, spanned_dims, spread_of, two_gaussians,
)
from .isolation import SEAM_ISOLATION
from .islands import center_islands
from .refine import nearest_center, refine, weighted_centers
from .tree import Merge


#: Each cluster's merge candidates are its nearest neighbours by centre distance.
MERGE_NEIGHBOURS = 3
#: The level of the two vetoes that keep parts of one island with no valley between
#: them apart.  Two Gaussians: each part, and the two whitened together, read as one
#: Gaussian at this level, ten times the judge's GAUSSIAN_LEVEL, which guards the
#: opposite claim ("not one Gaussian", which splits a node); a short arc of a curve
#: (flat along its length, a few dozen rows) is seldom rejected at the judge's level.
#: A dip on the line through their nearest pieces: below this level (times the dip's
#: (2/d)^2), a fifth of the pair tests' default, because two neighbouring arcs of a
#: curve that bends project as two modes; touching blobs, which the veto is for, dip
#: far deeper.
ISLAND_LEVEL = 0.01


def merge_pieces(X, w, spread, labels, centers, groups, rule, min_cluster_size, density, sample=None):
    """Merge neighbouring clusters that are one cluster; the clusters, their centres,
    leaves and merges, and each row's piece with each piece's cluster.  ``density``:
    the rows' :class:`partitive.density.Density`.

    A cluster joined from flat pieces by density keeps its pieces: Lloyd refines their
    centres, not one centre of the whole (which would cut a ring or a stroke by the
    nearest other cluster's bisector), and the final mixture gives each piece a
    Gaussian.  Two one-piece clusters merged by the pair tests become one piece.
    """
    merges = []
    pieces = [c[None] for c in centers]
    # A pair's judgement is a function of its rows and direction alone: pairs that no
    # merge or Lloyd step touched are not judged again in the next round.
    judged = {}
    while True:
        labels, centers, groups, pieces = drop_empty(labels, centers, groups, w, pieces)
        # Every piece's centre and cluster; while each cluster is one piece, Lloyd
        # left every row with its nearest centre, so the pieces are the clusters.
        all_pieces, owner = np.vstack(pieces), _owner(pieces)
        # Where Lloyd keeps rows in their islands, a row's piece is the nearest of its
        # own cluster's pieces: the refinement below made it so.
        within = None if density.island_of is None else (labels, owner)
        piece_of = labels if owner.size == len(pieces) else nearest_center(X, all_pieces, within)
        if len(groups) == 1:
            break
        candidates = []
        # Lloyd can leave a piece of a many-piece cluster without rows: it has no
        # side to judge.
        held = _holding(piece_of, w, len(all_pieces))
        for i, j in sorted(set(_neighbour_pairs(all_pieces, owner)) | density.touching(labels)):
            a, b = _nearest_pieces(all_pieces, owner, i, j, held)
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
        # Parts of an isolated group are joined last, once the pair tests have made
        # whole what they can: a piece cut from a blob is not one Gaussian, so the
        # veto that keeps two Gaussians with a valley between them apart would not
        # hold for it.
        if any(c[5] != "isolated" for c in candidates):
            candidates = [c for c in candidates if c[5] != "isolated"]
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
            if test in ("density", "isolated") or len(pieces[i]) > 1 or len(pieces[j]) > 1:
                pieces[i] = np.vstack([pieces[i], pieces[j]])
            else:
                pieces[i] = None
        centers = weighted_centers(X, w, labels, centers)
        # A one-piece cluster's piece is the cluster: its centre is the members' mean.
        pieces = [centers[c][None] if p is None or len(p) == 1 else p for c, p in enumerate(pieces)]
        labels, centers, groups, pieces = drop_empty(labels, centers, groups, w, pieces)
        labels, centers, pieces = _refine_pieces(X, w, centers, pieces, _piece_islands(density, labels, _owner(pieces), w))
    return labels, centers, groups, merges, compact_pieces(piece_of, owner, w)


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
    # merge), unless its dip is deeper than any such cut makes (judge.LLOYD_DIP) or,
    # where density is read (few features, rows), a valley of density lies between
    # them: then the Gaussians are what misfit (groups in noise, whose tails widen
    # them).  A blob cut in two joins at its densest; a lumpy cloud's seams are
    # valleys too, and the isolated-group join below makes its lumps one.
    distinct = distinct and (
        dbic > 0 or not rule.trusts_mixture(Xp, wp)
        or rule.beyond_lloyd(p_value, Xp)
        or (not rule.reduced and density.valley_between(cluster_i, cluster_j))
    )
    # The guards that keep one skewed cluster whole also merged real clusters that
    # touch through a bridge of points: two that are each one Gaussian, with a union
    # that is not, are two clusters (each read with the union's power, or the small
    # pieces of one flat shape would pass as Gaussians).
    if not distinct and dbic > 0 and not small:
        distinct = two_gaussians(X, w, (part_a, part_b), rule.reduced, sample)
    # Empty space between the two is a valley however few points either holds: a far
    # small group is a cluster, whatever the tests' power on it; so are two shapes
    # with a narrow empty gap between them, which the line through their centres may
    # not show (:meth:`partitive.density.Density.empty_space`).
    if not distinct and not small and (
        rule.apart(Xp, wp, goes_right, direction / norm, spread_of(spread, in_pair))
        or density.empty_space(cluster_i, cluster_j)
    ):
        distinct = True
    # Pieces of one shape made of flat strokes (letters) are bimodal on the line
    # through their centres and unlike one Gaussian, yet joined by a path as dense as
    # they are; touching Gaussians are joined too, but their density peaks at their
    # centres.  (A pair kept apart just above is two Gaussians, which this never
    # merges.)
    elif distinct and not small and density.one_shape(cluster_i, cluster_j) and not (
        density.empty_space(cluster_i, cluster_j)
        or all(gaussian_parts(X, w, (cluster_i, cluster_j), rule.reduced, sample))
    ):
        distinct, test = False, "density"
    # Touching parts of a group far from all other rows, beside how its own parts
    # hold together, are one cluster (lumps of one cloud, arcs of one ring), unless
    # empty space separates them or they are blobs: two Gaussians with a valley between
    # them, of density or as a dip on the line through them (blobs of a few dozen
    # rows have their seams smoothed over by the neighbourhoods density is read on;
    # a cloud's lumps dip too, but are no Gaussians; neighbouring arcs of a ring can
    # dip and pass as Gaussians, yet none measured was kept apart this way), or a
    # blob whose core is one Gaussian beside a seam about as deep as the group is
    # isolated (touching blobs cut by each other's boundaries, whose rows are not one
    # Gaussian; a cloud's lumps lie far inside its isolation).
    # Not on representatives: there the one-Gaussian check reads the seed rows, which
    # rejected whole blobs, and the veto failed (docs/design/isolated-groups.md).
    # Parts of one island (rows that empty space separates from the rest) join the same
    # way, unless a valley lies between them, in the space or as a dip on the line
    # through them, or they are two Gaussians whose union is not one, both vetoes read
    # at ISLAND_LEVEL (stricter than the pair tests' above, so a pair those keep apart
    # can still be joined here): an island may be far less isolated than such a group,
    # and hold touching blobs too light for their cores to be read.  What the join
    # overrides there is the mixture's BIC: two neighbouring arcs of a curve are two
    # Gaussians to it, and one that bends dips on the line through them.
    elif distinct and not small and not rule.reduced and (
        (isolation := density.isolation(cluster_i, cluster_j)) > 0 or density.one_island(cluster_i, cluster_j)
    ):
        level = density.join_level(cluster_i, cluster_j)
        dips = p_value < rule.dip_threshold(spanned_dims(Xp), level=None if isolation > 0 else ISLAND_LEVEL)
        if np.isfinite(level) and not (
            rule.apart(Xp, wp, goes_right, direction / norm, spread_of(spread, in_pair))
            or density.empty_space(cluster_i, cluster_j)
            or (
                blobs_inside(X, w, density, cluster_i, cluster_j, level, isolation, dips) if isolation > 0
                else apart_in_island(X, w, density, cluster_i, cluster_j, level, dips)
            )
        ):
            distinct, test = False, "isolated"
    return small, bool(distinct), float(p_value), float(dbic), test


def blobs_inside(X, w, density, a, b, level, isolation, dips=False) -> bool:
    """Whether parts ``a`` and ``b`` (row masks) of an isolated group of ``isolation``,
    joined at ``level``, stay apart as blobs: two Gaussians with a valley between
    them (of density, or a dip on the line through their nearest pieces: ``dips``,
    False where the caller has no such line), or one whose core is a Gaussian's beside
    a seam that the group's isolation does not dwarf (less than SEAM_ISOLATION times
    the seam's depth)."""
    if (dips or density.valley(a, b, level)) and each_one_gaussian(X, w, (a, b), False, None):
        return True
    return isolation < SEAM_ISOLATION * density.depth(a, b, level) and (
        has_gaussian_core(X, w, a) or has_gaussian_core(X, w, b)
    )


def apart_in_island(X, w, density, a, b, level, dips) -> bool:
    """Whether parts ``a`` and ``b`` (row masks) of one island, joined at ``level``,
    stay apart: a valley of density between them, a dip on the line through them
    (``dips``, read at ISLAND_LEVEL by the caller), or two Gaussians whose union is not
    one, each read as one at ISLAND_LEVEL."""
    return dips or density.valley(a, b, level) or two_gaussians(
        X, w, (a, b), False, None, ISLAND_LEVEL
    )


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


def _nearest_pieces(all_pieces, owner, i, j, held):
    """The nearest pair of pieces that hold rows (``held``), one of cluster i and one
    of cluster j."""
    from scipy.spatial.distance import cdist

    of_i, of_j = np.flatnonzero((owner == i) & held), np.flatnonzero((owner == j) & held)
    sq = cdist(all_pieces[of_i], all_pieces[of_j], "sqeuclidean")
    a, b = np.unravel_index(np.argmin(sq), sq.shape)
    return int(of_i[a]), int(of_j[b])


def _piece_islands(density, labels, owner, w):
    """Rows' and pieces' islands for Lloyd (:func:`partitive.refine.nearest_center`),
    a piece in its cluster's island; None where there are no islands."""
    if density.island_of is None:
        return None
    return density.island_of, center_islands(density.island_of, labels, int(owner[-1]) + 1, w)[owner]


def _refine_pieces(X, w, centers, pieces, islands=None):
    """Lloyd on every piece's centre (within islands, where given); a row's cluster is
    its piece's."""
    owner = _owner(pieces)
    piece_of, piece_centers = refine(X, w, np.vstack(pieces), islands)
    labels = owner[piece_of]
    if owner.size > len(pieces):
        centers = weighted_centers(X, w, labels, centers)
    else:
        centers = piece_centers
    bounds = np.cumsum([len(p) for p in pieces])[:-1]
    return labels, centers, np.split(piece_centers, bounds)


def _holding(piece_of, w, n_pieces):
    """Which of ``n_pieces`` pieces hold weight (``piece_of``: each row's piece)."""
    return np.bincount(piece_of, weights=w, minlength=n_pieces) > 0


def compact_pieces(piece_of, owner, w):
    """Pieces without weight dropped: (each row's piece, each piece's cluster)."""
    alive = np.flatnonzero(_holding(piece_of, w, owner.size))
    remap = np.full(owner.size, -1)
    remap[alive] = np.arange(alive.size)
    return remap[piece_of], owner[alive]


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
