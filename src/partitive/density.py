"""Density read from each row's neighbours, for the merge step's joins and valleys.

Two joins (docs/method.md, "Shapes made of flat strokes" and "Isolated groups"):
flat pieces of one shape that rows as dense as they are join (:meth:`Density.one_shape`),
and parts of a group isolated from the rest (:mod:`partitive.isolation`) unless they
are blobs, with a valley between them (:meth:`Density.valley`) or a seam deep beside
the group's isolation (:meth:`Density.depth`, :meth:`Density.isolation`); and the
valley that keeps two clusters apart whatever one Gaussian's BIC says, in the merge
step and in the mixture's component merges (:meth:`Density.valley_between`).  Rows are
joined by HDBSCAN's mutual-reachability edges over each row's nearest rows (scipy's
k-d tree), where that search is cheap (DENSITY_SEARCH_BUDGET); over the same edges by
plain distances, the empty space that keeps two clusters apart and vetoes both joins
(:meth:`Density.empty_space`, :mod:`partitive.empty_space`), and the islands it makes
(:meth:`Density.islands`), which growth splits first and whose parts are joined.
"""

from __future__ import annotations

import numpy as np

from .distributions import chi2_ppf, norm_ppf
from .empty_space import SingleLinkage
from .isolation import isolated_groups, mutual_reach, root, spanning_forest
from .prepare import weighted_quantile


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
#: ... and only where a k-d tree's k-NN search is cheap: it slows about twofold with
#: each feature, so density is read while rows x 2**features is at most this, what
#: the 4 features of 50,000 rows cost (5 features up to 25,000 rows, 8 up to 3,125).
#: Not in one feature: the joins are for pieces that the line through their centres
#: shows apart though rows join them in the space, and in one feature that line is
#: the space, where the dip has read the density already.
DENSITY_SEARCH_BUDGET = 50_000 * 2**4
#: Two clusters join at a valley where they join only at less than this share of the
#: density of the sparser one's densest tenth: two Gaussians in an isolated group stay
#: apart there, and so do two clusters that one Gaussian describes better (groups in
#: noise).
VALLEY = 0.3


def _gaussian_log_peak(dim: float) -> float:
    """The log of how many times denser one Gaussian is at its densest tenth of rows
    than at its median row, in ``dim`` dimensions: (chi2_dim(0.5) - chi2_dim(0.1)) / 2."""
    return (chi2_ppf(0.5, dim) - chi2_ppf(0.1, dim)) / 2.0


def density_readable(n_rows: int, n_features: int) -> bool:
    """Whether density is read on ``n_rows`` rows of ``n_features`` features: at least
    two features, enough rows for neighbours, and a cheap k-NN search
    (DENSITY_SEARCH_BUDGET)."""
    return n_rows >= 3 and n_features >= 2 and n_rows * 2.0**n_features <= DENSITY_SEARCH_BUDGET


class Density:
    """Density read from each row's neighbours: pieces of one shape, isolated groups,
    valleys and empty space.

    A row's *core distance* is the radius that holds at least ``min_cluster_size``
    and DENSITY_WEIGHT of weight around it (the row included; at most
    DENSITY_NEIGHBOURS other rows are looked at); density falls as its ``dim``-th
    power, ``dim`` being the data's intrinsic dimension (Levina and Bickel's maximum
    likelihood estimate from the same neighbours, in MacKay and Ghahramani's pooled
    form), not the number of features (tens of features often span a few).  Weights
    are read in the units of ``min_cluster_size``: rows each heavier than it have no
    neighbourhood to read, and a cluster lighter than 16 neighbourhoods is not judged.
    """

    def __init__(self, X, w, min_cluster_size, isolated_join=True, rounding=None):
        self.X, self.w = X, w
        # ``rounding``: the features' rounding variance (values on a grid), or None.  A
        # rounding uniform over a step h has variance h^2 / 12, so this is the grid
        # cell's diagonal (in principal axes, that of the axes kept), beyond which
        # a moat is read (:class:`partitive.empty_space.SingleLinkage`).
        self.grid_step = 0.0 if rounding is None else float(np.sqrt(12.0 * np.sum(rounding)))
        # Whether the merge step joins the parts of isolated groups (not on
        # representatives): only then is empty space between such parts read at
        # ISOLATED_EMPTY_SPACE and ISOLATED_MOAT_WEIGHT.
        self.isolated_join = isolated_join
        # DENSITY_WEIGHT points' worth: on representatives, their mean weight each (a
        # few representatives' weight reads the density of thin chains too noisily).
        self.min_weight = max(min_cluster_size, DENSITY_WEIGHT * w.sum() / w.size)
        self.k = min(DENSITY_NEIGHBOURS, X.shape[0] - 1) if density_readable(*X.shape) else 0
        self.core = None
        self.groups = None
        self.linkage = None
        self.island_of = None

    def _reads(self) -> bool:
        """Whether density is read here (enough rows, at least 2 features, within
        DENSITY_SEARCH_BUDGET); the k-NN search is made the first time it is asked."""
        if self.k < 2:
            return False
        if self.core is None:
            self._search()
        return True

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
        if not self._reads():
            return False
        typical_a, typical_b = self._flat(a), self._flat(b)
        if typical_a is None or typical_b is None:
            return False
        level = max(typical_a, typical_b) * JOIN_DENSITY ** (-1.0 / self.dim)
        # On a lattice edges as long as the level abound: rounding must not decide them.
        return self.join_level(a, b) <= level * (1 + 1e-9)

    def valley_between(self, a, b) -> bool:
        """Whether a density valley separates ``a`` and ``b`` (row masks): they join
        (:meth:`join_level`) at less than VALLEY of the density of the sparser one's
        densest tenth (:meth:`valley`); False where density is not read."""
        if not self._reads():
            return False
        return self.valley(a, b, self.join_level(a, b))

    def valley(self, a, b, level) -> bool:
        """Whether ``a`` and ``b`` (row masks), joined at ``level``
        (:meth:`join_level`), join at less than VALLEY of the density of the sparser
        one's densest tenth."""
        return self.depth(a, b, level) * VALLEY > 1

    def depth(self, a, b, level) -> float:
        """How many times sparser, in density, ``level`` is than the sparser of ``a``
        and ``b``'s (row masks) densest tenth."""
        if not level > 0:
            return 0.0
        dense = max(weighted_quantile(self.core[m], self.w[m], 0.1) for m in (a, b))
        return (level / dense) ** self.dim if dense > 0 else np.inf

    def empty_space(self, a, b) -> bool:
        """Whether empty space separates ``a`` and ``b`` (row masks): see
        :mod:`partitive.empty_space`, read at ISOLATED_EMPTY_SPACE and
        ISOLATED_MOAT_WEIGHT where both lie in a group isolated from the rest
        (:meth:`isolation`) whose parts the merge step joins (``isolated_join``);
        False where density is not read.  A group lighter than a neighbourhood is not
        judged."""
        if not self._reads():
            return False
        isolated = self.isolated_join and self.isolation(a, b) > 0
        return self._linkage().empty_space(a, b, self.min_weight, isolated)

    def _linkage(self) -> SingleLinkage:
        """The rows' single-linkage hierarchy over their neighbour edges, made once."""
        if self.linkage is None:
            self.linkage = SingleLinkage(self.X, self.dist, self.idx, self.w, self.grid_step)
        return self.linkage

    def islands(self):
        """The groups of rows that empty space separates
        (:meth:`partitive.empty_space.SingleLinkage.islands`): each row's island and
        each island's path; None where density is not read or all rows are one island.
        A stray row takes the island of its nearest neighbour that has one, in rounds
        (strays next to placed rows first), or of its nearest placed row where no
        neighbour leads to one."""
        if not self._reads():
            return None
        island, paths = self._linkage().islands(self.min_weight)
        if len(paths) < 2:
            return None
        while (island < 0).any():
            stray = np.flatnonzero(island < 0)
            near = island[self.idx[stray]]
            reached = (near >= 0).any(axis=1)
            if not reached.any():
                # Strays whose neighbours are all strays: the nearest row of an island.
                from scipy.spatial import cKDTree

                placed = np.flatnonzero(island >= 0)
                island[stray] = island[placed[cKDTree(self.X[placed]).query(self.X[stray])[1]]]
                break
            island[stray[reached]] = near[reached, (near[reached] >= 0).argmax(axis=1)]
        self.island_of = island
        return island, paths

    def one_island(self, a, b) -> bool:
        """Whether one island (:meth:`islands`, once made) holds more than half of each
        of ``a`` and ``b`` (row masks)."""
        if self.island_of is None:
            return False
        held = [np.bincount(self.island_of[m], weights=self.w[m]) for m in (a, b)]
        top = [int(np.argmax(h)) for h in held]
        return top[0] == top[1] and all(h[top[0]] > h.sum() / 2 for h in held)

    def touching(self, labels) -> set[tuple[int, int]]:
        """The pairs of clusters (``labels``, one per row) that some row's neighbour
        edges join; empty where density is not read."""
        if not self._reads():
            return set()
        a, b = np.repeat(labels, self.k), labels[self.idx.ravel()]
        across = a != b
        pairs = np.unique(np.c_[np.minimum(a, b), np.maximum(a, b)][across], axis=0)
        return {(int(i), int(j)) for i, j in pairs}

    def join_level(self, a, b) -> float:
        """The shortest edge length at which more than half of each of ``a`` and ``b``
        (row masks) lies in one component of their union's rows (inf if none):
        Kruskal's walk over the union's minimum spanning tree."""
        rows, src, dst, reach = self._union_edges(a, b)
        first, second, level = spanning_forest(src, dst, reach, rows.size)
        w, in_a = self.w[rows], a[rows]
        held_a, held_b = np.where(in_a, w, 0.0), np.where(in_a, 0.0, w)
        half_a, half_b = held_a.sum() / 2, held_b.sum() / 2
        parent = np.arange(rows.size)
        for u, v, at in zip(first.tolist(), second.tolist(), level.tolist()):
            ru, rv = root(parent, u), root(parent, v)
            parent[rv] = ru
            held_a[ru] += held_a[rv]
            held_b[ru] += held_b[rv]
            if held_a[ru] > half_a and held_b[ru] > half_b:
                return at
        return np.inf

    def _union_edges(self, a, b):
        """The union's rows, and its edges (local ends) with their lengths: HDBSCAN's
        mutual reachability, an edge as long as the larger of its length and its two
        ends' core distances, so a path through sparse rows is long."""
        rows = np.flatnonzero(a | b)
        local = np.full(a.size, -1)
        local[rows] = np.arange(rows.size)
        src = np.repeat(rows, self.k)
        dst = self.idx[rows].ravel()
        reach = mutual_reach(self.dist[rows].ravel(), self.core[src], self.core[dst])
        keep = local[dst] >= 0
        return rows, local[src[keep]], local[dst[keep]], reach[keep]

    def isolation(self, a, b) -> float:
        """The isolation of the most isolated group that holds most of ``a`` and most
        of ``b`` (row masks; :func:`partitive.isolation.isolated_groups`, a group
        counting as one from min_weight, a neighbourhood's weight); 0 if none does."""
        if not self._reads():
            return 0.0
        if self.groups is None:
            self.groups = isolated_groups(
                self.X, self.w, self.dist, self.idx, self.core, self.dim, self.min_weight
            )
        in_a, in_b = np.where(a, self.w, 0.0), np.where(b, self.w, 0.0)
        half_a, half_b = in_a.sum() / 2, in_b.sum() / 2
        most = 0.0
        for members, isolation in self.groups:
            if in_a[members].sum() > half_a and in_b[members].sum() > half_b:
                most = max(most, isolation)
        return most

    def flat_beside(self, members, log_peak: float, n_features: int, seen: float) -> bool:
        """Whether the rows ``members`` (a mask) are flat (:meth:`_flat`) beside one
        Gaussian and beside a law whose densest tenth of rows is ``exp(log_peak)``
        times denser than its median row in ``n_features`` features, as the k-NN
        estimate would see it: carried to the dimension density is read in, in
        proportion to one Gaussian's (features far thinner than a neighbourhood add to
        the one, not to the other), and read to the share ``seen`` of it in log (the
        estimate smooths a peak over a neighbourhood).  False where density is not
        read."""
        if not self._reads():
            return False
        gaussian = _gaussian_log_peak(self.dim)
        carried = log_peak * (gaussian / _gaussian_log_peak(n_features))
        # Flat beside both is flat beside the lower peak; a NaN peak is flat beside none.
        peak = np.minimum(np.exp(gaussian), np.exp(seen * carried))
        return self._flat(members, peak) is not None

    def _flat(self, members, peak: float | None = None):
        """The cluster's median core distance if it is flat, else None.

        Flat: its densest tenth of rows is not much denser than its median row, less
        than halfway (in log density) from a flat shape's ratio to ``peak``, both as a
        k-NN estimate sees them; and its neighbourhoods are small beside it.  By
        default ``peak`` is a Gaussian's: its densest tenth is exp((chi2_d(0.5) -
        chi2_d(0.1)) / 2) times denser than its median row (1.8x in 2-D); a cluster in
        noise, far more.
        """
        rows = np.flatnonzero(members)
        X, w, core = self.X[rows], self.w[rows], self.core[rows]
        typical = weighted_quantile(core, w, 0.5)
        dense = weighted_quantile(core, w, 0.1)
        radius = np.sqrt(w @ ((X - w @ X / w.sum()) ** 2).sum(axis=1) / w.sum())
        if not (0 < dense and typical <= LOCAL_DENSITY * radius
                and w.sum() >= self.min_weight / LOCAL_DENSITY**2):
            return None
        if peak is None:
            peak = np.exp(_gaussian_log_peak(self.dim))
        flat = np.exp(norm_ppf(0.9) * self.scatter)
        return typical if (typical / dense) ** self.dim < np.sqrt(flat * (flat * peak)) else None
