"""Each row to its seed: the nearest-seed search of the reduction (:mod:`partitive.reduce`).

A :class:`Codebook` holds the seeds, grouped by their nearest coarse seed (about
sqrt(m) of them).  A row's seed is the nearest in the groups of its CODEBOOK_PROBES
nearest coarse seeds, found with one matrix product per group; a row far from the seed
found, beside that seed's spacing, is searched again exactly.  The codebook also tells
which seeds stand in rare regions, whose rows the reduction samples again.  Every
answer is a function of the row and the seeds alone, so the representatives do not
depend on row order or chunking.
"""

from __future__ import annotations

import numpy as np

from .refine import nearest_center


#: Coarse groups searched for a row's seed.  The nearest seed often lies in a group
#: other than the nearest coarse seed's, and a row that misses it can land with
#: another cluster's rows; a second group recovers most of them for a modest cost,
#: further groups little more (docs/design/representatives.md).
CODEBOOK_PROBES = 2
#: Rows per block when a row's coarse seeds are found.
COARSE_BLOCK_ROWS = 4096


#: Above this many features, a row's coarse seeds are the nearest in the seeds'
#: leading principal axes (this many).  In many dimensions the nearest seed in the
#: whole space is often another cluster's: in hundreds of dimensions a cluster's rows
#: are almost as far from each other as from the next cluster's, so representatives
#: would blend clusters.  The clusters' spread lies in the leading axes; the rest is noise that only
#: blurs the distances.  The seed within the coarse seeds' groups is still the nearest
#: in the whole space: projections onto irrational axes round differently in blocks
#: of different sizes, which would break the exact ties of integer data (a row midway
#: between two seeds) by the chunking.
ASSIGN_DIMS = 64


#: A seed stands in a rare region when its RARE_NEIGHBOURS-th nearest seed is more than
#: RARE_RATIO times as far as its RARE_NEAR-th nearest, times the ratio of evenly
#: spread seeds in the seeds' dimension m, (RARE_NEIGHBOURS / RARE_NEAR)**(1/m): a few
#: seeds, far from all others, stand for a group of rows too rare for the uniform
#: sample to give it more.  Its rows are sampled again for seeds of their own
#: (``reduce.RARE_SHARE`` of n_representatives).  The RARE_NEAR-th nearest, not the nearest: two
#: seeds close by chance would make every region look rare in few dimensions.
RARE_NEIGHBOURS = 32
RARE_NEAR = 4
RARE_RATIO = 2.0
#: Coarse groups searched for a seed's neighbours.
RARE_PROBES = 8
#: A row further from its seed than this many times the seed's distance to its
#: RARE_NEAR-th nearest seed is searched again exactly (:meth:`Codebook.assign`).
SPACING_FACTOR = 2.0


class Codebook:
    """Maps a row to a seed: the nearest seed in the groups of its nearest coarse seeds
    (nearest in the seeds' leading ASSIGN_DIMS principal axes where there are more
    features).

    ``n_base``: the seeds after the first ``n_base`` are extra seeds of rare regions;
    the coarse seeds, axes and scales are the first ``n_base`` seeds' alone, so extra
    seeds change no other row's candidates.
    """

    def __init__(self, seeds: np.ndarray, n_base: int | None = None):
        from .pca import leading_axes

        n_base = seeds.shape[0] if n_base is None else n_base
        base = seeds[:n_base]
        self.n_base = n_base
        self.origin = seeds[0]
        self.seeds = seeds - self.origin  # offsets from one seed keep distances accurate
        self.axes = None
        if seeds.shape[1] > ASSIGN_DIMS:
            centred = self.seeds[:n_base] - self.seeds[:n_base].mean(axis=0)
            self.axes = leading_axes(centred, np.ones(n_base), ASSIGN_DIMS)[1]
        keys = self._keys(self.seeds)
        n_coarse = int(np.ceil(np.sqrt(n_base)))
        self.coarse = keys[:n_coarse]
        # Distances are |c|^2 + x.(-2c): scaling by -2 is exact, so these are the very
        # values of |c|^2 - 2 x.c, made without a second pass over the product.
        self.coarse_norms = (self.coarse * self.coarse).sum(axis=1)
        self.coarse_scaled = -2.0 * self.coarse
        group = nearest_center(keys, self.coarse)
        group[:n_coarse] = np.arange(n_coarse)
        self.members = [np.flatnonzero(group == g) for g in range(n_coarse)]
        member_seeds = [self.seeds[m] for m in self.members]
        self.member_norms = [(c * c).sum(axis=1) for c in member_seeds]
        self.member_scaled = [-2.0 * c for c in member_seeds]
        offsets = self.seeds[:n_base]
        span = offsets.max(axis=0) - offsets.min(axis=0)
        # Powers of two, so dividing by the scale is exact.
        exponent = np.frexp(np.where(span > 0, span, np.maximum(np.abs(base).max(axis=0), 1.0)))[1]
        self.scale = np.ldexp(1.0, exponent)
        self.inverse_scale = np.ldexp(1.0, -exponent)
        self.absolute_seeds = seeds
        # The largest distance from a coarse seed to a seed of its group: no seed of a
        # group is nearer a row than its distance to the coarse seed minus this.
        self.coarse_radius = np.array([
            np.sqrt(np.max(((keys[members] - keys[g]) ** 2).sum(axis=1))) for g, members in enumerate(self.members)
        ])
        self._neighbours = None
        self._seed_spacing = None

    def rare(self) -> np.ndarray:
        """Which seeds stand in rare regions (see RARE_NEIGHBOURS), a function of the
        seeds alone."""
        m, d = self.seeds.shape
        if m <= RARE_NEIGHBOURS:
            return np.zeros(m, dtype=bool)
        nearest = self._neighbour_distances()
        closest = np.maximum(nearest[:, :RARE_NEAR], np.finfo(float).tiny)
        near, far = closest[:, -1], nearest[:, RARE_NEIGHBOURS - 1]
        # The seeds' dimension, not the features': rows on a few grid values of some
        # features spread in fewer dimensions, and their seeds' far neighbours are
        # farther than d would have them.  The median of each seed's maximum-likelihood
        # estimate from its nearest distances (Levina and Bickel), within [1, d].
        logs = np.log(near[:, None] / closest[:, :-1]).sum(axis=1) / 2.0  # squared distances
        estimates = (RARE_NEAR - 1) / logs[logs > 0]
        dims = float(np.clip(np.median(estimates), 1.0, d)) if estimates.size else float(d)
        ratio = RARE_RATIO * (RARE_NEIGHBOURS / RARE_NEAR) ** (1.0 / dims)
        return far > ratio * ratio * near

    def _neighbour_distances(self) -> np.ndarray:
        """Each seed's squared distances to other seeds, its RARE_NEAR nearest first
        (ascending) and its RARE_NEIGHBOURS-th nearest at that column; made once.

        A seed's neighbours are sought among the seeds of its RARE_PROBES nearest
        coarse groups, as rows' seeds are: all pairs would cost m^2.
        """
        if self._neighbours is not None:
            return self._neighbours
        m = self.seeds.shape[0]
        k_max = min(RARE_NEIGHBOURS, m - 1)
        probes = self._nearest_coarse(self._keys(self.seeds), RARE_PROBES)
        norms = (self.seeds * self.seeds).sum(axis=1)
        nearest = np.full((m, max(len(probes) * RARE_NEIGHBOURS, RARE_NEIGHBOURS)), np.inf)
        for p, group in enumerate(probes):
            order = np.argsort(group, kind="stable")
            bounds = np.searchsorted(group[order], np.arange(len(self.members) + 1))
            for g, members in enumerate(self.members):
                rows = order[bounds[g] : bounds[g + 1]]
                if rows.size:
                    distance = self.seeds[rows] @ self.member_scaled[g].T
                    distance += self.member_norms[g]
                    distance += norms[rows, None]
                    distance[rows[:, None] == members[None, :]] = np.inf
                    k = min(RARE_NEIGHBOURS, members.size)
                    columns = slice(p * RARE_NEIGHBOURS, p * RARE_NEIGHBOURS + k)
                    nearest[rows, columns] = np.partition(distance, k - 1, axis=1)[:, :k]
        nearest.partition([*range(min(RARE_NEAR, k_max)), max(k_max - 1, 0)], axis=1)
        self._neighbours = nearest
        return nearest

    def _spacing(self) -> np.ndarray:
        """Each seed's squared distance to its RARE_NEAR-th nearest seed: how far from
        it a row of its own region lies at most, give or take."""
        if self._seed_spacing is None:
            if self.seeds.shape[0] <= RARE_NEAR:
                self._seed_spacing = np.full(self.seeds.shape[0], np.inf)
            else:
                self._seed_spacing = self._neighbour_distances()[:, RARE_NEAR - 1]
        return self._seed_spacing

    def with_extra(self, extra: np.ndarray) -> Codebook:
        """This codebook's seeds and ``extra`` ones (see ``n_base``)."""
        if extra.shape[0] == 0:
            return self
        return Codebook(np.vstack([self.absolute_seeds, extra]), n_base=self.n_base)

    def _keys(self, offsets: np.ndarray) -> np.ndarray:
        return offsets if self.axes is None else offsets @ self.axes

    def _nearest_coarse(self, keys: np.ndarray, n_probes: int = CODEBOOK_PROBES) -> list[np.ndarray]:
        """Each row's nearest coarse seeds, nearest first (``n_probes`` of them)."""
        probes = [np.empty(keys.shape[0], dtype=np.intp) for _ in range(min(n_probes, len(self.members)))]
        block = np.empty((min(COARSE_BLOCK_ROWS, keys.shape[0]), self.coarse.shape[0]))
        # Blocks of rows keep the rows x coarse-seeds distances in cache,
        # and one reused block spares a fresh allocation, and its page faults, per block.
        for start in range(0, keys.shape[0], COARSE_BLOCK_ROWS):
            rows = keys[start : start + COARSE_BLOCK_ROWS]
            distance = np.matmul(rows, self.coarse_scaled.T, out=block[: rows.shape[0]])
            distance += self.coarse_norms
            index = np.arange(distance.shape[0])
            for probe in probes:
                # The next nearest (a few argmin passes beat sorting ~sqrt(m) columns).
                probe[start : start + distance.shape[0]] = nearest = np.argmin(distance, axis=1)
                distance[index, nearest] = np.inf
        return probes

    def assign(self, X: np.ndarray) -> np.ndarray:
        Xo = X - self.origin
        probes = self._nearest_coarse(self._keys(Xo))
        n, n_probes = X.shape[0], len(probes)
        # Every (row, probe) pair, sorted by group: one product per group with all the
        # rows that probe it, however they ranked it, rather than one per probe.  Each
        # distance is the same dot product of the same row and seed either way.
        group = np.concatenate(probes)
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(self.members) + 1))
        found = np.empty(n * n_probes)
        seed = np.empty(n * n_probes, dtype=np.intp)
        sizes = np.diff(bounds)
        counts = np.array([members.size for members in self.members])
        # Buffers reused by every group: fresh (rows x members) arrays cost page faults.
        gathered = np.empty(int(sizes.max()) * Xo.shape[1])
        products = np.empty(int((sizes * counts).max()))
        for g, members in enumerate(self.members):
            pairs = order[bounds[g] : bounds[g + 1]]
            if pairs.size:
                rows = gathered[: pairs.size * Xo.shape[1]].reshape(pairs.size, -1)
                np.take(Xo, pairs % n, axis=0, out=rows)
                distance = products[: pairs.size * members.size].reshape(pairs.size, members.size)
                np.matmul(rows, self.member_scaled[g].T, out=distance)
                distance += self.member_norms[g]
                nearest = np.argmin(distance, axis=1)
                found[pairs] = distance[np.arange(pairs.size), nearest]
                seed[pairs] = members[nearest]
        found, seed = found.reshape(n_probes, n), seed.reshape(n_probes, n)
        best, out = found[0], seed[0]
        for probe in range(1, n_probes):
            # Equal distances go to the lower seed, whatever order the groups came in.
            closer = (found[probe] < best) | ((found[probe] == best) & (seed[probe] < out))
            best = np.where(closer, found[probe], best)
            out = np.where(closer, seed[probe], out)
        # A row far from the seed found, beside that seed's spacing, may have missed
        # its region's seeds in groups it did not probe (a rare region's few seeds join
        # the group of a coarse seed in another region): it lands with another
        # cluster's rows, and their representative stands in the empty space between.
        # Such rows are searched again exactly.
        distance = best + np.einsum("ij,ij->i", Xo, Xo)
        far = np.flatnonzero(distance > SPACING_FACTOR**2 * self._spacing()[out])
        if far.size:
            out[far] = self._exact(Xo[far], distance[far], best[far], out[far])
        return out

    def _exact(self, Xo, distance, best, seed):
        """The nearest seed of each row (offsets ``Xo``), given ``seed`` at squared
        ``distance`` (``best``: that less the row's squared norm).  Every group that
        the triangle inequality cannot rule out is searched: no seed of group g is
        nearer than the row's distance to its coarse seed less the group's radius
        (in principal axes, where keys are, a distance at most the full one)."""
        keys = self._keys(Xo)
        coarse = (keys * keys).sum(axis=1)[:, None] + self.coarse_norms + keys @ self.coarse_scaled.T
        bound = np.sqrt(np.maximum(coarse, 0.0)) - self.coarse_radius
        bound = np.sign(bound) * bound**2
        best, out = best.copy(), seed.copy()
        for g, members in enumerate(self.members):
            rows = np.flatnonzero(bound[:, g] < distance)
            if rows.size:
                d = Xo[rows] @ self.member_scaled[g].T
                d += self.member_norms[g]
                nearest = np.argmin(d, axis=1)
                found, candidate = d[np.arange(rows.size), nearest], members[nearest]
                closer = (found < best[rows]) | ((found == best[rows]) & (candidate < out[rows]))
                best[rows[closer]], out[rows[closer]] = found[closer], candidate[closer]
        return out
