"""Isolated groups: a group of rows far from all others, beside how its own parts hold
together, is one cluster whatever valleys lie inside it.

A person looking at a few lumpy clouds far apart names one cluster per cloud: the
empty space around each dwarfs the sparse seams between its lumps, which the dip test
and two Gaussians would each take for a boundary.  Here that judgement is made on the
rows' single-linkage hierarchy over HDBSCAN's mutual-reachability distances (Campello,
Moulavi and Sander 2013), and where rows spread in fewer than two dimensions again over
plain distances: a group is *isolated* when it is complete (holds COMPLETE of its
weight) at a level ISOLATION times denser, or its square root times nearer, than the
level at which it next meets another group of ``heavy`` weight.  The merge step
(:mod:`partitive.merge`) joins two clusters that lie mostly in one isolated group,
unless they are blobs.  scipy gives the minimum spanning tree; the hierarchy's walk,
which keeps each group's weight history, is written here (scipy's ``linkage`` takes no
weights and no precomputed sparse graph).
"""

from __future__ import annotations

import numpy as np

#: A group is isolated when the level at which it meets another group is this many
#: times sparser, in density, than the level at which it became complete, or its
#: square root times farther, whichever comes first.  One blob in a family of
#: touching ones meets its neighbours at a level at most a few times sparser than
#: its own edge; clouds, rings or letters far apart, hundreds of times.  Not lower:
#: a sparse ring completes only at its own spacing and would be isolated lower, but
#: so would groups of small touching blobs, too light for the core check that keeps
#: bigger blobs apart (docs/design/isolated-groups.md).  The two measures agree in
#: two dimensions; in fewer (a thin ring, a chain) density falls only as fast as
#: distance grows, and a gap several times a group's own spacing is empty space to
#: the eye long before it is thirty times that spacing.
ISOLATION = 30.0
#: Inside an isolated group, a blob (a part whose core is one Gaussian) stays apart
#: from a neighbouring part unless the group is this many times more isolated than the
#: seam between them is deep: a cloud's lumps lie far inside its isolation, touching
#: blobs' seams are about as deep as their group is isolated
#: (docs/design/isolated-groups.md).
SEAM_ISOLATION = 30.0
#: A group is complete once it holds this share of the weight it has when it meets
#: another: its last rows, the sparsest, join late whatever lies around it.
COMPLETE = 0.95
#: The whole data set is isolated from nothing: a group must hold less than this
#: share of the weight.
ISOLATED_SHARE = 0.999


def isolated_groups(X, w, dist, idx, core, dim, heavy) -> list[tuple[np.ndarray, float]]:
    """The isolated groups, as arrays of row indices, each with its isolation: how
    many times sparser, in density, the level at which it meets another group is than
    the level at which it became complete.

    ``dist`` and ``idx``: each row's nearest other rows and their distances; ``core``:
    its core distance; ``dim``: the dimension in which density falls with distance;
    ``heavy``: the weight a group needs to count as one (lighter groups joining a
    group are its own sparse rows, not a neighbour).

    How a group's rows hold together is read at a neighbourhood's scale, over mutual
    reachability: a few stray rows between two groups are a chain of short steps to
    plain distances, and long ones here.  Where rows spread in fewer than two
    dimensions (``dim`` < 2: thin rings and chains, and shapes whose edges thin their
    neighbourhoods), also at the rows' own spacing, over plain distances, and a group
    isolated at either scale is isolated: along a line a neighbourhood spans several
    spacings, and a sparse ring's sparsest stretches double it, so it completes late
    in mutual reachability, and a gap of dozens of its spacings to a shape inside it
    can look less than isolated.  Not in two dimensions or more, where the plain
    reading took pairs of touching blobs, too light for the core check, for isolated
    groups.  A group found at both scales keeps its isolation at the neighbourhood's,
    the scale at which the seams inside it are read (:func:`partitive.merge.blobs_inside`).
    """
    src, dst, length = neighbour_edges(X, dist, idx)
    groups = {}
    readings = [mutual_reach(length, core[src], core[dst])] + ([length] if dim < 2 else [])
    for reach in readings:
        for members, isolation in _isolated(w, spanning_forest(src, dst, reach, w.size), dim, heavy):
            groups.setdefault(np.sort(members).tobytes(), (members, isolation))
    return list(groups.values())


def _isolated(w, tree, dim, heavy) -> list[tuple[np.ndarray, float]]:
    """The isolated groups on one minimum spanning ``tree`` (edges shortest first;
    see :func:`isolated_groups`).

    Kruskal's walk over the minimum spanning tree, shortest edge first.  Each group
    keeps the levels at which its weight grew since it last met a heavy group (since
    its first row, if it never did); when it meets a heavy group at a level more than
    ``ISOLATION ** (1 / max(dim, 2))`` times the one at which it became complete, it
    was isolated until then.
    A blob's dense core becomes heavy early and then gathers its tails until it meets
    its neighbour: completion, not that first level, is what is compared.

    Each group's rows are kept as a linked list that a union appends to the other's
    tail, so every group the walk makes is a contiguous run of the final lists' order:
    the groups are slices of one array of n indices, however many there are (grid
    data make thousands).
    """
    src, dst, level = tree
    n, total = w.size, float(w.sum())
    parent = np.arange(n)
    weight = w.astype(float).copy()
    history = [[] for _ in range(n)]  # (level, weight) after each merge since the last heavy one
    ratio = ISOLATION ** (1.0 / max(dim, 2.0))  # in distance (see ISOLATION)
    following = np.full(n, -1)  # the next row of a group's list
    tail = np.arange(n)  # the last row of each root's list
    size = np.ones(n, dtype=np.intp)  # rows in each root's group
    deaths = []  # (first row, number of rows, isolation) of each isolated group, when it meets another
    for u, v, at in zip(src.tolist(), dst.tolist(), level.tolist()):
        ru, rv = root(parent, u), root(parent, v)
        # The heavier group is the root, ties to the lower row: one order for one input.
        if weight[ru] < weight[rv] or (weight[ru] == weight[rv] and rv < ru):
            ru, rv = rv, ru
        met = weight[rv] >= heavy
        if met:
            for r in (ru, rv):
                completed = _completed(history[r], weight[r])
                if weight[r] < ISOLATED_SHARE * total and at > ratio * completed:
                    deaths.append((r, size[r], (at / completed) ** dim))
        parent[rv] = ru
        weight[ru] += weight[rv]
        following[tail[ru]] = rv
        tail[ru] = tail[rv]
        size[ru] += size[rv]
        if met:
            history[ru] = [(at, weight[ru])]
        else:
            history[ru].append((at, weight[ru]))
        history[rv] = None
    if not deaths:
        return []
    # A group's list starts at the row that was its root then: its first row.
    order = np.empty(n, dtype=np.intp)
    position = np.empty(n, dtype=np.intp)
    at = 0
    for start in np.flatnonzero(parent == np.arange(n)).tolist():
        row = start
        while row >= 0:
            order[at] = row
            position[row] = at
            at += 1
            row = int(following[row])
    return [(order[position[first] : position[first] + rows], isolation) for first, rows, isolation in deaths]


def root(parent, x) -> int:
    """The root of ``x`` in the union-find forest ``parent`` (paths halved on the way)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _completed(history, final) -> float:
    """The first level at which a group held COMPLETE of ``final``, its weight; inf
    for a group that did so before any merge (one row: no parts to join)."""
    for at, held in history:
        if held >= COMPLETE * final:
            return at
    return np.inf


def mutual_reach(length, core_src, core_dst):
    """HDBSCAN's mutual reachability: an edge as long as the larger of its length and
    its two ends' core distances, so a path through sparse rows is long."""
    return np.maximum(length, np.maximum(core_src, core_dst))


def neighbour_edges(X, dist, idx):
    """The edges from each row to its nearest rows ``idx`` (at ``dist``), and edges
    joining the groups these leave apart by their nearest rows: ``(ends, ends,
    lengths)``."""
    from scipy.sparse.csgraph import connected_components

    n, k = idx.shape
    src = np.repeat(np.arange(n), k)
    dst = idx.ravel()
    length = dist.ravel()
    n_parts, part = connected_components(_graph(src, dst, np.ones(src.size), n), directed=False)
    if n_parts > 1:
        gap_src, gap_dst = _bridges(X, part, n_parts)
        gap = np.sqrt(((X[gap_src] - X[gap_dst]) ** 2).sum(axis=1))
        src, dst, length = np.r_[src, gap_src], np.r_[dst, gap_dst], np.r_[length, gap]
    return src, dst, length


def spanning_forest(src, dst, length, n):
    """The minimum spanning forest of the graph of ``n`` nodes with edges ``src`` -
    ``dst`` of ``length``: its edges, shortest first (ties in a fixed order)."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    # scipy reads a zero as no edge: rows heavier than a neighbourhood side by side
    # are at reach 0, so every length is offset by the smallest normal float.
    tiny = np.finfo(float).tiny
    tree = minimum_spanning_tree(_graph(src, dst, length + tiny, n)).tocoo()
    order = np.lexsort((tree.col, tree.row, tree.data))
    return tree.row[order], tree.col[order], np.maximum(tree.data[order] - tiny, 0.0)


def _bridges(X, part, n_parts):
    """Edges that join the groups ``part`` into one (Boruvka's rounds: each group to
    its nearest row in another group, until one group is left)."""
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    bridge_src, bridge_dst = [], []
    while n_parts > 1:
        # Each group's rows in increasing order, by one stable sort (not a pass over
        # all rows per group: far groups can number thousands).
        by_part = np.argsort(part, kind="stable")
        members = np.split(by_part, np.cumsum(np.bincount(part, minlength=n_parts))[:-1])
        trees = [cKDTree(X[m]) for m in members]
        low, high = np.array([X[m].min(axis=0) for m in members]), np.array([X[m].max(axis=0) for m in members])
        for p, rows in enumerate(members):
            box_gap = np.sqrt((np.maximum(0.0, np.maximum(low - high[p], low[p] - high)) ** 2).sum(axis=1))
            box_gap[p] = np.inf
            # The nearest box first; then only boxes no farther than the nearest row
            # found so far can hold a nearer one, and only nearer rows are sought.
            first = int(np.argmin(box_gap))
            best = _nearer(trees[first], X[rows], rows, members[first], (np.inf, -1, -1))
            near = np.flatnonzero(box_gap <= best[0])
            for q in near[np.argsort(box_gap[near], kind="stable")].tolist():
                if box_gap[q] > best[0]:
                    break
                if q != first:
                    best = _nearer(trees[q], X[rows], rows, members[q], best)
            bridge_src.append(best[1])
            bridge_dst.append(best[2])
        # Each round joins every group to at least one other.
        bridges = _graph(np.asarray(bridge_src), np.asarray(bridge_dst), np.ones(len(bridge_src)), part.size)
        n_parts, part = connected_components(bridges + _same_part(part), directed=False)
    return np.array(bridge_src, dtype=np.intp), np.array(bridge_dst, dtype=np.intp)


def _nearer(tree, points, rows, tree_rows, best):
    """``best`` (distance, row, its nearest row), or the nearest pair of one of
    ``points`` (the rows ``rows``) and a row of ``tree`` (the rows ``tree_rows``)
    where it is nearer."""
    gap, nearest = tree.query(points, distance_upper_bound=best[0])
    i = int(np.argmin(gap))
    return (gap[i], rows[i], tree_rows[nearest[i]]) if gap[i] < best[0] else best


def _same_part(part):
    """A graph that links every row to the first row of its group."""
    first = np.full(part.max() + 1, part.size)
    np.minimum.at(first, part, np.arange(part.size))
    return _graph(np.arange(part.size), first[part], np.ones(part.size), part.size)


def _graph(src, dst, values, n):
    from scipy.sparse import coo_matrix

    return coo_matrix((values, (src, dst)), shape=(n, n)).tocsr()
