"""Empty space between two clusters, read from the rows' single-linkage hierarchy.

On plain distances between neighbouring rows (each row's ``DENSITY_NEIGHBOURS`` nearest,
the edges of :class:`partitive.density.Density`), Kruskal's walk joins the rows into
ever larger groups. Two clusters are apart by empty space when the two groups whose
joining first holds more than half of each join across a step that is empty space:

- a **gap**: more than EMPTY_SPACE (inside a group isolated from the rest,
  ISOLATED_EMPTY_SPACE) times the longest step that holds either group together,
  strays aside (a step that is itself a gap holds nothing together). A seam of rows,
  however sparse (the lumps of one cloud, the arcs of one ring), is crossed in steps
  about as long as the sides' own; an empty gap holds no row and is crossed in one
  long step, even where it is a few row spacings wide (two uniform boxes side by side)
  or does not lie across the line through the two clusters' centres;
- or a **moat**: the rows that face each other across the step weigh MOAT_WEIGHT
  (inside an isolated group, ISOLATED_MOAT_WEIGHT) neighbourhoods on each side, and
  the step is more than MOAT_SPACINGS times their median spacing. A thin stripe is
  held together across its width by crossings of several row spacings, so a gap of a
  few spacings between two stripes is no wider than either's own hold; but it runs
  along their whole length, where rows at the stripes' own spacing would stand by the
  hundred.

Clusters whose majorities never join among neighbours are apart; a cluster that no
group holds most of is not judged.
"""

from __future__ import annotations

import numpy as np

from .isolation import root, spanning_forest

#: Empty space: the joining step is more than this many times the longest step that
#: holds either side together.  One and a half: a uniform stripe or box is held
#: together by its sparsest crossing, one to a few row spacings, so an empty gap a
#: few spacings wide between two of them can be under twice that; along a chain of
#: rows (a thin ring), a step half as long again as the longest of its own is still
#: rare.
EMPTY_SPACE = 1.5
#: Between parts of a group isolated from all other rows (:mod:`partitive.isolation`),
#: which the merge step joins unless they stand apart, twice: the seams of one lumpy
#: cloud are crossed in steps up to about twice its own, and such a group is one
#: cluster by its isolation unless its parts stand apart beyond its own texture.
ISOLATED_EMPTY_SPACE = 2.0
#: A group's hold leaves aside the steps that only gather this many rows' worth of
#: strays.
STRAY_WEIGHT = 5
#: A moat: the rows within MOAT_REACH times a step of the other side face it; where
#: they weigh MOAT_WEIGHT neighbourhoods on each side and the step is more than
#: MOAT_SPACINGS times their median distance to their nearest row, the step is empty
#: space however long the sides' own holds.  Inside one shape, single linkage parts
#: groups that face each other with two neighbourhoods of rows only about where the
#: rows first join into one connected whole, a few row spacings (fewer in more
#: dimensions), and four lies above that.  A narrow end (a ring's seam, two arcs that
#: meet) mostly faces a few rows, not two neighbourhoods.
MOAT_REACH = 2.0
MOAT_WEIGHT = 2.0
MOAT_SPACINGS = 4.0
#: Between parts of a group isolated from all other rows, a moat's facing rows weigh
#: four neighbourhoods on each side: two strands of one lumpy cloud can face each other
#: across a band wider than MOAT_SPACINGS along a short stretch, and such a group is
#: one cluster by its isolation unless its parts stand apart along a long border.
ISOLATED_MOAT_WEIGHT = 4.0


class SingleLinkage:
    """The single-linkage hierarchy of weighted rows over their neighbour edges.

    Kruskal's merges in order of length: merge ``i`` makes node ``n + i`` from
    nodes ``left[i]`` and ``right[i]`` (rows are nodes ``0..n-1``) at ``level[i]``.
    The rows are laid out so that every node's rows are one contiguous run of that
    order, so the weight a node holds of any set of rows is a difference of two
    cumulative sums: every node's share of a cluster is read in one pass.
    """

    def __init__(self, X: np.ndarray, dist: np.ndarray, idx: np.ndarray, w: np.ndarray,
                 grid_step: float = 0.0):
        n, k = idx.shape
        # The rows, for the moats' facing rows, and each row's distance to its nearest.
        self.X, self.spacing = X, dist[:, 0]
        # Values on a grid lie in layers a grid step apart, the rows of a layer close
        # together: the moat is read beyond one step (a grid cell's diagonal).
        self.grid_step = grid_step
        # (merge, min_weight, border) -> whether it is a moat, filled as asked
        self._moats = {}
        first, second, self.level = spanning_forest(np.repeat(np.arange(n), k), idx.ravel(), dist.ravel(), n)
        m = first.size
        self.n, self.w = n, w
        self.left, self.right = np.empty(m, dtype=np.intp), np.empty(m, dtype=np.intp)
        size = np.ones(n + m, dtype=np.intp)
        parent, node_of = np.arange(n), np.arange(n)
        for i, (u, v) in enumerate(zip(first.tolist(), second.tolist())):
            ru, rv = root(parent, u), root(parent, v)
            self.left[i], self.right[i] = node_of[ru], node_of[rv]
            size[n + i] = size[node_of[ru]] + size[node_of[rv]]
            parent[rv] = ru
            node_of[ru] = n + i
        # Each node's first place in the layout, parents (later merges) before children.
        start = np.zeros(n + m, dtype=np.intp)
        is_child = np.zeros(n + m, dtype=bool)
        is_child[self.left], is_child[self.right] = True, True
        offset = 0
        for node in np.flatnonzero(~is_child).tolist():  # the forest's roots
            start[node] = offset
            offset += size[node]
        for i in range(m - 1, -1, -1):
            start[self.left[i]] = start[n + i]
            start[self.right[i]] = start[n + i] + size[self.left[i]]
        self.start, self.size = start, size
        self.order = np.empty(n, dtype=np.intp)
        self.order[start[:n]] = np.arange(n)
        self.weight = self._held(np.ones(n, dtype=bool))
        self.stray = STRAY_WEIGHT * w.sum() / n
        self._holds = {}  # (min_weight, factor) -> {node: its hold}, filled as asked

    def _held(self, rows: np.ndarray) -> np.ndarray:
        """The weight of ``rows`` (a mask) that every node holds."""
        total = np.r_[0.0, np.cumsum(np.where(rows, self.w, 0.0)[self.order])]
        return total[self.start + self.size] - total[self.start]

    def empty_space(self, a: np.ndarray, b: np.ndarray, min_weight: float, isolated: bool = False) -> bool:
        """Whether empty space separates ``a`` and ``b`` (row masks; see the module):
        their joining step is a gap (more than EMPTY_SPACE times either side's hold)
        or a moat (its facing rows weighing MOAT_WEIGHT neighbourhoods on each side);
        between parts of a group ``isolated`` from the rest, ISOLATED_EMPTY_SPACE and
        ISOLATED_MOAT_WEIGHT.  Not judged (False) where either cluster, or either side
        of the joining step, is lighter than ``min_weight``, or no group holds most of
        either cluster."""
        weight_a, weight_b = self.w[a].sum(), self.w[b].sum()
        if min(weight_a, weight_b) < min_weight:
            return False
        held_a, held_b = self._held(a), self._held(b)
        most_a, most_b = held_a > weight_a / 2, held_b > weight_b / 2
        if not (most_a.any() and most_b.any()):
            return False
        joined = np.flatnonzero(most_a[self.n:] & most_b[self.n:])
        if joined.size == 0:
            return True  # each has a majority, and they never join among neighbours
        step = joined[0]
        sides = self.left[step], self.right[step]
        if min(self.weight[side] for side in sides) < min_weight:
            return False
        if isolated:
            return self._empty(step, min_weight, ISOLATED_EMPTY_SPACE, ISOLATED_MOAT_WEIGHT)
        return self._empty(step, min_weight, EMPTY_SPACE, MOAT_WEIGHT)

    def _empty(self, step: int, min_weight: float, factor: float, border: float) -> bool:
        """Whether merge ``step`` crosses empty space: a gap (more than ``factor``
        times either side's hold) or a moat (:meth:`_moat`, ``border`` its facing
        rows' weight in neighbourhoods)."""
        sides = self.left[step], self.right[step]
        gap = self.level[step] > factor * max(self._hold(side, min_weight, factor) for side in sides)
        return bool(gap or self._moat(step, min_weight, border))

    def _moat(self, step: int, min_weight: float, border: float) -> bool:
        """Whether merge ``step`` crosses a moat: the rows within MOAT_REACH times the
        step of the other side weigh ``border`` times ``min_weight`` on each side,
        and the step is more than MOAT_SPACINGS times the median distance of these
        (distinct) rows to their nearest row, beyond one grid step.  Made once per
        step."""
        from scipy.spatial import cKDTree

        key = (step, min_weight, border)
        if key in self._moats:
            return self._moats[key]
        sides = self.left[step], self.right[step]
        enough = border * min_weight
        moat = False
        if min(self.weight[side] for side in sides) >= enough:
            rows = [self._rows(side) for side in sides]
            # The search stops at the reach (just past it, so that a row at the reach
            # counts): farther rows are not asked for their nearest on the other side.
            reach = np.nextafter(MOAT_REACH * float(self.level[step]), np.inf)
            facing = []
            for own, other in (rows, rows[::-1]):
                near, _ = cKDTree(self.X[other]).query(self.X[own], distance_upper_bound=reach)
                facing.append(own[np.isfinite(near)])
            if min(self.w[own].sum() for own in facing) >= enough:
                spacing = float(np.median(self.spacing[np.concatenate(facing)]))
                # On a grid, a step from one layer of values to the next is the grid
                # step and the rows' offset within their layers, so the moat is read on
                # what lies beyond the grid step.
                beyond = np.hypot(MOAT_SPACINGS * spacing, self.grid_step)
                moat = spacing > 0 and bool(self.level[step] > beyond)
        self._moats[key] = moat
        return moat

    def _rows(self, node: int) -> np.ndarray:
        """The rows of ``node``."""
        return self.order[self.start[node] : self.start[node] + self.size[node]]

    def islands(self, min_weight: float) -> tuple[np.ndarray, list[tuple[int, ...]]]:
        """The groups of rows that empty space separates, each at least ``min_weight``:
        read top-down, a group whose joining step is empty space (as
        :meth:`empty_space` reads a step outside isolated groups, at EMPTY_SPACE and
        MOAT_WEIGHT) is its two sides, any other is an island.

        Returns each row's island (-1 for strays: rows left behind at a joining step,
        or in a group lighter than ``min_weight``) and each island's path down the
        walk, one bit per empty-space step (the forest's roots, in node order, as a
        chain of such steps), so that islands are numbered in path order and the
        highest step between any of them is where their paths part.
        """
        n, m = self.n, self.left.size
        is_child = np.zeros(n + m, dtype=bool)
        is_child[self.left], is_child[self.right] = True, True
        roots = [node for node in np.flatnonzero(~is_child).tolist() if self.weight[node] >= min_weight]
        pending = [(node, (1,) * i + (0,) * (i < len(roots) - 1)) for i, node in enumerate(roots)]
        found = []
        while pending:
            node, path = pending.pop()
            step = self._joining_step(node)
            if step is not None:
                sides = self.left[step], self.right[step]
                heavy = min(self.weight[side] for side in sides) >= min_weight
                if heavy and self._empty(step, min_weight, EMPTY_SPACE, MOAT_WEIGHT):
                    pending.extend((side, path + (bit,)) for bit, side in enumerate(sides))
                    continue
            found.append((path, node))
        found.sort()
        island = np.full(n, -1, dtype=np.intp)
        for label, (_, node) in enumerate(found):
            island[self._rows(node)] = label
        return island, [path for path, _ in found]

    def _hold(self, node: int, min_weight: float, factor: float) -> float:
        """The longest step that holds ``node``'s rows together: the step at which they
        were all joined but strays (down the heavier child while it holds that much),
        unless that step is itself a gap between two groups of ``min_weight`` (then
        the longer of the two groups' own holds).  Without the exception a group
        joined to a third across a gap of its own holds together by that gap, and a
        second gap as wide goes unread.  Moats are not set aside here: reading one
        searches the rows of both sides, and this walk visits every node below.
        Worked bottom-up, each node once."""
        holds = self._holds.setdefault((min_weight, factor), {})
        pending = [node]
        while pending:
            top = pending[-1]
            if top in holds:
                pending.pop()
                continue
            step = self._joining_step(top)
            if step is None:
                holds[top] = 0.0
                pending.pop()
                continue
            sides = self.left[step], self.right[step]
            if min(self.weight[side] for side in sides) < min_weight:
                holds[top] = float(self.level[step])
                pending.pop()
                continue
            unread = [side for side in sides if side not in holds]
            if unread:
                pending.extend(unread)
                continue
            inner = max(holds[side] for side in sides)
            holds[top] = inner if self.level[step] > factor * inner else float(self.level[step])
            pending.pop()
        return holds[node]

    def _joining_step(self, node: int) -> int | None:
        """The merge that joins all of ``node``'s rows but strays (the last
        ``stray`` weight): down the heavier child while it holds that much; None where
        no merge does (a row, or one row holding all but strays)."""
        enough = self.weight[node] - self.stray
        while node >= self.n:
            i = node - self.n
            heavier = max(self.left[i], self.right[i], key=lambda child: self.weight[child])
            if self.weight[heavier] < enough:
                return i
            node = heavier
        return None
