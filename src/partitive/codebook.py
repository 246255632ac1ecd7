"""Each row to its seed: the nearest-seed search of the reduction (:mod:`partitive.reduce`).

A :class:`Codebook` holds the seeds, grouped by their nearest coarse seed (about
sqrt(m) of them).  A row's seed is the nearest in the groups of its CODEBOOK_PROBES
nearest coarse seeds, found with one matrix product per group; a row far from the seed
found, beside that seed's spacing, is searched again exactly.  The codebook also tells
which seeds stand in rare regions, whose rows the reduction samples again.

Every answer is a function of the row and the seeds alone, so the representatives do
not depend on row order or chunking.  A matrix product's last bit depends on its
shape (how many rows share it), so where two computed distances are too close for the
product to order (a row midway between two seeds, common where values lie on a grid)
they are measured again in a fixed arithmetic (:meth:`Codebook._fixed_distances`),
and equal distances go to the lower seed.
"""

from __future__ import annotations

from typing import NamedTuple

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
#: Computed distances within this many (times d + 2) machine epsilons of each other
#: are ordered again in a fixed arithmetic (:meth:`Codebook._margin`).  It must cover
#: twice the worst rounding of both ways of computing a distance, keys in principal
#: axes included; it is still some 1e-12 of the squared extent of the seeds, so on
#: continuous values almost no row is measured again.
TIE_ROUNDING = 64


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
        self.coarse_augmented = _augmented_seeds(self.coarse)
        group = nearest_center(keys, self.coarse)
        group[:n_coarse] = np.arange(n_coarse)
        self.members = [np.flatnonzero(group == g) for g in range(n_coarse)]
        self.member_augmented = [_augmented_seeds(self.seeds[m]) for m in self.members]
        offsets = self.seeds[:n_base]
        span = offsets.max(axis=0) - offsets.min(axis=0)
        # Powers of two, so dividing by the scale is exact.
        exponent = np.frexp(np.where(span > 0, span, np.maximum(np.abs(base).max(axis=0), 1.0)))[1]
        self.scale = np.ldexp(1.0, exponent)
        self.inverse_scale = np.ldexp(1.0, -exponent)
        self.absolute_seeds = seeds
        self.radius = float(np.sqrt((self.seeds * self.seeds).sum(axis=1).max()))
        # Integers up to this magnitude keep every product of the search and every
        # squared distance between two of them below 2**53, so all are exact: rows and
        # seeds of such values need no margin.
        self.exact_limit = np.floor(np.sqrt(2.0**53 / (4.0 * (seeds.shape[1] + 1))))
        self.integral = bool(
            np.all(self.seeds == np.rint(self.seeds)) and np.abs(self.seeds).max(initial=0.0) <= self.exact_limit
        )
        # The largest distance from a coarse seed to a seed of its group: no seed of a
        # group is nearer a row than its distance to the coarse seed minus this.
        self.coarse_radius = np.array([
            np.sqrt(np.max(((keys[members] - keys[g]) ** 2).sum(axis=1))) for g, members in enumerate(self.members)
        ])
        # Made here, where the codebook is made, not by whichever worker (thread or
        # machine) first assigns a row: far rows are told by the seeds' spacing.
        self._closest, self._farthest = self._neighbour_distances()
        self._spacing = (
            self._closest[:, RARE_NEAR - 1] if self._closest.shape[1] >= RARE_NEAR else np.full(len(seeds), np.inf)
        )

    def rare(self) -> np.ndarray:
        """Which seeds stand in rare regions (see RARE_NEIGHBOURS), a function of the
        seeds alone."""
        m, d = self.seeds.shape
        if m <= RARE_NEIGHBOURS:
            return np.zeros(m, dtype=bool)
        closest = np.maximum(self._closest, np.finfo(float).tiny)
        near, far = closest[:, -1], self._farthest
        # The seeds' dimension, not the features': rows on a few grid values of some
        # features spread in fewer dimensions, and their seeds' far neighbours are
        # farther than d would have them.  The median of each seed's maximum-likelihood
        # estimate from its nearest distances (Levina and Bickel), within [1, d].
        logs = np.log(near[:, None] / closest[:, :-1]).sum(axis=1) / 2.0  # squared distances
        estimates = (RARE_NEAR - 1) / logs[logs > 0]
        dims = float(np.clip(np.median(estimates), 1.0, d)) if estimates.size else float(d)
        ratio = RARE_RATIO * (RARE_NEIGHBOURS / RARE_NEAR) ** (1.0 / dims)
        return far > ratio * ratio * near

    def _neighbour_distances(self) -> tuple[np.ndarray, np.ndarray]:
        """Each seed's squared distances to its RARE_NEAR nearest other seeds
        (ascending), and to its RARE_NEIGHBOURS-th nearest (the farthest of fewer).

        A seed's neighbours are sought among the seeds of its RARE_PROBES nearest
        coarse groups, as rows' seeds are: all pairs would cost m^2.
        """
        m = self.seeds.shape[0]
        k_max = min(RARE_NEIGHBOURS, m - 1)
        if k_max < 1:
            return np.empty((m, 0)), np.full(m, np.inf)
        augmented = _augmented_rows(self.seeds)
        probes = self._nearest_coarse(self._augmented_keys(augmented), RARE_PROBES)
        norms = (self.seeds * self.seeds).sum(axis=1)
        nearest = np.full((m, max(len(probes) * RARE_NEIGHBOURS, RARE_NEIGHBOURS)), np.inf)
        for p, group in enumerate(probes):
            order, bounds = _grouped(group, len(self.members))
            for g, members in enumerate(self.members):
                rows = order[bounds[g] : bounds[g + 1]]
                if rows.size:
                    distance = augmented[rows] @ self.member_augmented[g].T
                    distance += norms[rows, None]
                    distance[rows[:, None] == members[None, :]] = np.inf
                    k = min(RARE_NEIGHBOURS, members.size)
                    columns = slice(p * RARE_NEIGHBOURS, p * RARE_NEIGHBOURS + k)
                    nearest[rows, columns] = np.partition(distance, k - 1, axis=1)[:, :k]
        nearest.partition([*range(min(RARE_NEAR, k_max)), k_max - 1], axis=1)
        return nearest[:, : min(RARE_NEAR, k_max)].copy(), nearest[:, k_max - 1].copy()

    def with_extra(self, extra: np.ndarray) -> Codebook:
        """This codebook's seeds and ``extra`` ones (see ``n_base``)."""
        if extra.shape[0] == 0:
            return self
        return Codebook(np.vstack([self.absolute_seeds, extra]), n_base=self.n_base)

    def _keys(self, offsets: np.ndarray) -> np.ndarray:
        return offsets if self.axes is None else offsets @ self.axes

    def _augmented_keys(self, augmented: np.ndarray) -> np.ndarray:
        """The keys of rows given with their column of ones (:func:`_augmented_rows`),
        with theirs."""
        return augmented if self.axes is None else _augmented_rows(self._keys(augmented[:, :-1]))

    def _nearest_coarse(self, keys, n_probes=CODEBOOK_PROBES, offsets=None, margin=None) -> list[np.ndarray]:
        """Each row's nearest coarse seeds (``n_probes`` of them), nearest first by the
        product; ``keys`` with their column of ones.

        Given the rows' ``offsets`` and ``margin`` (:meth:`_margin`), which coarse seeds
        a row gets is what :meth:`_fixed_distances` says: where the product cannot tell
        the last one taken from the first one left, the row's coarse seeds are chosen
        again in that fixed arithmetic (:meth:`_settle_coarse`; in seed order then, an
        order no answer depends on).
        """
        n, n_coarse = keys.shape[0], len(self.members)
        n_probes = min(n_probes, n_coarse)
        probes = [np.empty(n, dtype=np.intp) for _ in range(n_probes)]
        unclear = np.zeros(n, dtype=bool)
        block = np.empty((min(COARSE_BLOCK_ROWS, n), n_coarse))
        # Blocks of rows keep the rows x coarse-seeds distances in cache,
        # and one reused block spares a fresh allocation, and its page faults, per block.
        for start in range(0, n, COARSE_BLOCK_ROWS):
            rows = keys[start : start + COARSE_BLOCK_ROWS]
            distance = np.matmul(rows, self.coarse_augmented.T, out=block[: rows.shape[0]])
            index = np.arange(distance.shape[0])
            for probe in probes:
                # The next nearest (a few argmin passes beat sorting ~sqrt(m) columns).
                probe[start : start + distance.shape[0]] = nearest = np.argmin(distance, axis=1)
                last = distance[index, nearest]
                distance[index, nearest] = np.inf
            if margin is not None and n_probes < n_coarse:
                following = distance[index, np.argmin(distance, axis=1)]
                unclear[start : start + distance.shape[0]] = following - last <= margin[start : start + COARSE_BLOCK_ROWS]
        if not unclear.any():
            return probes
        # Per row, _fixed_keys makes n_keys x d values, and the coarse seeds measured
        # again (at most all of them) n_keys each.
        n_keys = self.coarse.shape[1]
        for rows in _slices(np.flatnonzero(unclear), n_keys * max(n_coarse, offsets.shape[1])):
            nearest = self._settle_coarse(keys[rows], offsets[rows], margin[rows], n_probes)
            for p, probe in enumerate(probes):
                probe[rows] = nearest[:, p]
        return probes

    def _settle_coarse(self, keys, offsets, margin, n_probes):
        """The ``n_probes`` nearest coarse seeds of rows whose product could not tell
        them, as :meth:`_fixed_distances` measures (the lower seed among equals), in
        seed order.  Measured again are only the coarse seeds the product puts within
        twice the ``margin`` of the last one taken: those below are taken and those
        above left in either arithmetic."""
        distance = keys @ self.coarse_augmented.T
        last = np.partition(distance, n_probes - 1, axis=1)[:, n_probes - 1]
        low, high = (last - 2.0 * margin)[:, None], (last + 2.0 * margin)[:, None]
        taken = distance < low
        row, coarse = np.nonzero((distance >= low) & (distance <= high))
        fixed = self._fixed_distances(offsets, coarse_of=(row, coarse))
        order = np.lexsort((coarse, fixed, row))
        row, coarse = row[order], coarse[order]
        rank = np.arange(row.size) - np.searchsorted(row, row)
        wanted = rank < (n_probes - taken.sum(axis=1))[row]
        taken[row[wanted], coarse[wanted]] = True
        return np.nonzero(taken)[1].reshape(-1, n_probes)

    def assign(self, X: np.ndarray) -> np.ndarray:
        """Each row's seed: the nearest, as :meth:`_fixed_distances` measures (the lower
        seed among equals), of the seeds in the groups of its nearest coarse seeds, or
        of all seeds for a row far from the seed found there."""
        n = X.shape[0]
        Xo = _augmented_rows(X, self.origin)
        offsets = Xo[:, :-1]
        norms = np.einsum("ij,ij->i", offsets, offsets)
        rounding = self._margin(norms)
        margin = rounding
        if self.integral:
            # Integer rows and seeds: every product is exact, so equal distances come
            # out equal in any product and go to the lower seed by the search's order
            # (the lower column in a group, the lower seed across groups): no margin.
            exact = np.all(offsets == np.rint(offsets), axis=1) & (np.abs(offsets).max(axis=1) <= self.exact_limit)
            margin = np.where(exact, -1.0, rounding)
        # Keys in principal axes are not exact: the coarse seeds keep the margin.
        probes = self._nearest_coarse(
            self._augmented_keys(Xo), offsets=offsets, margin=margin if self.axes is None else rounding
        )
        n_probes = len(probes)
        # Every (row, probe) pair, probe by probe: one product per group with all the
        # rows that probe it, however they ranked it, rather than one per probe.
        pair_row, pair_group = np.tile(np.arange(n), n_probes), np.concatenate(probes)
        found, runner_up, seed, close = self._search_pairs(Xo, pair_row, pair_group, margin)
        found, runner_up, seed = (a.reshape(n_probes, n) for a in (found, runner_up, seed))
        rows = np.arange(n)
        won = np.zeros(n, dtype=np.intp)
        for probe in range(1, n_probes):
            # Equal distances go to the lower seed, whatever order the groups came in.
            best, out = found[won, rows], seed[won, rows]
            won[(found[probe] < best) | ((found[probe] == best) & (seed[probe] < out))] = probe
        best, out = found[won, rows], seed[won, rows]
        others = found.copy()
        others[won, rows] = runner_up[won, rows]
        unclear = others.min(axis=0) - best <= margin
        if unclear.any():
            pairs = _Pairs(pair_row, pair_group, found.ravel(), seed.ravel(), close)
            out = self._settle(Xo, unclear, best, margin, pairs, out)
        # A row far from the seed found, beside that seed's spacing, may have missed
        # its region's seeds in groups it did not probe (a rare region's few seeds join
        # the group of a coarse seed in another region): it lands with another
        # cluster's rows, and their representative stands in the empty space between.
        # Such rows are searched again exactly.
        distance = best + norms
        limit = SPACING_FACTOR**2 * self._spacing[out]
        far = distance > limit
        borderline = np.flatnonzero((np.abs(distance - limit) <= margin) | unclear)
        if borderline.size:
            far[borderline] = self._fixed_distances(offsets[borderline], out[borderline]) > limit[borderline]
        far = np.flatnonzero(far)
        if far.size:
            out[far] = self._exact(Xo[far], out[far], rounding[far])
        return out

    def _search_pairs(self, Xo, pair_row, pair_group, margin):
        """The nearest seed of each (row, group) pair by one product per group.

        Per pair: the product's distance to its nearest seed in the group (less the
        row's squared norm), that to the runner-up, the seed, and whether the runner-up
        is within ``margin`` of the nearest (``close``: the product cannot tell them).
        """
        order, bounds = _grouped(pair_group, len(self.members))
        size = pair_row.size
        found, runner_up = np.empty(size), np.full(size, np.inf)
        seed = np.empty(size, dtype=np.intp)
        sizes = np.diff(bounds)
        counts = np.array([members.size for members in self.members])
        # Buffers reused by every group: fresh (rows x members) arrays cost page faults.
        gathered = np.empty(int(sizes.max()) * Xo.shape[1])
        products = np.empty(int((sizes * counts).max()))
        for g, members in enumerate(self.members):
            pairs = order[bounds[g] : bounds[g + 1]]
            if not pairs.size:
                continue
            points = gathered[: pairs.size * Xo.shape[1]].reshape(pairs.size, -1)
            np.take(Xo, pair_row[pairs], axis=0, out=points)
            distance = products[: pairs.size * members.size].reshape(pairs.size, members.size)
            np.matmul(points, self.member_augmented[g].T, out=distance)
            index = np.arange(pairs.size)
            nearest = np.argmin(distance, axis=1)
            found[pairs] = distance[index, nearest]
            seed[pairs] = members[nearest]
            if members.size > 1:
                distance[index, nearest] = np.inf
                runner_up[pairs] = distance[index, np.argmin(distance, axis=1)]
        close = runner_up - found <= margin[pair_row]
        return found, runner_up, seed, close

    def _settle(self, Xo, unclear, best, margin, pairs, out):
        """``out`` with the seeds of the ``unclear`` rows (whose nearest the products
        cannot tell) settled by :meth:`_fixed_distances` among their candidates: every
        seed of their pairs' groups (:class:`_Pairs`) within ``margin`` of the row's
        ``best``, as products find them again (within twice the margin, lest their
        rounding leave one out; a candidate more cannot change the nearest)."""
        rows, seeds = [], []
        within = unclear[pairs.row] & (pairs.found <= (best + margin)[pairs.row])
        # A pair's nearest; and where its runner-up is as near, every seed of its group
        # near enough, found by a product of those pairs' rows alone.
        rows.append(pairs.row[within])
        seeds.append(pairs.seed[within])
        again = np.flatnonzero(within & pairs.close)
        order, bounds = _grouped(pairs.group[again], len(self.members))
        for g, members in enumerate(self.members):
            chosen = again[order[bounds[g] : bounds[g + 1]]]
            for part in _slices(chosen, members.size):
                row_of = pairs.row[part]
                distance = Xo[row_of] @ self.member_augmented[g].T
                pair, column = np.nonzero(distance <= (best + 2.0 * margin)[row_of, None])
                rows.append(row_of[pair])
                seeds.append(members[column])
        rows, seeds = np.concatenate(rows), np.concatenate(seeds)
        fixed = self._fixed_distances(Xo[rows, :-1], seeds)
        # The nearest per row, the lower seed among equals.
        order = np.lexsort((seeds, fixed, rows))
        first = np.r_[True, rows[order][1:] != rows[order][:-1]]
        out = out.copy()
        out[rows[order][first]] = seeds[order][first]
        return out

    def _margin(self, norms: np.ndarray) -> np.ndarray:
        """How close two of a row's computed distances (squared) must be for another
        product to order them otherwise, with room to spare.

        How a matrix product rounds depends on its shape (how many rows share it), so a
        row midway between two seeds (common where values lie on a grid) would go to
        either by the chunking.  Distances within this margin of each other are
        measured again in a fixed arithmetic (:meth:`_fixed_distances`).  It is
        TIE_ROUNDING * (d + 2) machine epsilons of (|x| + |c|)^2, |x|^2 the rows'
        ``norms`` and |c| the farthest seed's offset: more than twice the error of a
        gap between two distances computed either way, by a product (keys in principal
        axes included) or in the fixed arithmetic.
        """
        d = self.seeds.shape[1]
        return TIE_ROUNDING * (d + 2) * np.finfo(float).eps * (np.sqrt(norms) + self.radius) ** 2

    def _fixed_distances(self, offsets, seeds=None, coarse_of=None):
        """Squared distances in a fixed arithmetic: each a difference squared and summed
        along one row's features, so the same bits whatever rows come along.

        ``seeds``: one per row, the distance to it; else ``coarse_of``, pairs (row,
        coarse seed) of the rows: their distances in keys (``_keys``).
        """
        if seeds is not None:
            diff = offsets - self.seeds[seeds]
        else:
            row, coarse = coarse_of
            diff = self._fixed_keys(offsets)[row] - self.coarse[coarse]
        diff *= diff
        return diff.sum(axis=1)

    def _fixed_keys(self, offsets):
        """Keys (``_keys``) in the fixed arithmetic of :meth:`_fixed_distances`."""
        if self.axes is None:
            return offsets
        product = offsets[:, None, :] * self.axes.T[None, :, :]
        return product.reshape(-1, offsets.shape[1]).sum(axis=1).reshape(offsets.shape[0], -1)

    def _exact(self, Xo, seed, margin):
        """The nearest seed of each row (offsets ``Xo``, with their column of ones) among
        all seeds, as :meth:`_fixed_distances` measures, given ``seed`` found so far.
        Every group that the triangle inequality cannot rule out is searched: no seed of
        group g is nearer than the row's distance to its coarse seed less the group's
        radius (in principal axes, where keys are, a distance at most the full one)."""
        distance = self._fixed_distances(Xo[:, :-1], seed)
        keys = self._augmented_keys(Xo)
        coarse = (keys[:, :-1] ** 2).sum(axis=1)[:, None] + keys @ self.coarse_augmented.T
        bound = np.sqrt(np.maximum(coarse, 0.0)) - self.coarse_radius
        bound = np.sign(bound) * bound**2
        pair_row, pair_group = np.nonzero(bound <= (distance + margin)[:, None])
        found, _, seeds, close = self._search_pairs(Xo, pair_row, pair_group, margin)
        best = np.full(Xo.shape[0], np.inf)
        np.minimum.at(best, pair_row, found)
        everyone = np.ones(Xo.shape[0], dtype=bool)
        return self._settle(Xo, everyone, best, margin, _Pairs(pair_row, pair_group, found, seeds, close), seed)


class _Pairs(NamedTuple):
    """(row, group) pairs of a search (:meth:`Codebook._search_pairs`): each pair's row
    and group, and what the group's product found: the distance to the nearest seed
    (less the row's squared norm), that seed, and whether the runner-up was as near."""

    row: np.ndarray
    group: np.ndarray
    found: np.ndarray
    seed: np.ndarray
    close: np.ndarray


def _augmented_rows(A: np.ndarray, origin=None) -> np.ndarray:
    """``A`` (less ``origin``) with a column of ones after its own: one product with
    :func:`_augmented_seeds` gives every row's squared distance to every seed, less
    the row's own squared norm."""
    out = np.empty((A.shape[0], A.shape[1] + 1))
    if origin is None:
        out[:, :-1] = A
    else:
        np.subtract(A, origin, out=out[:, :-1])
    out[:, -1] = 1.0
    return out


def _augmented_seeds(C: np.ndarray) -> np.ndarray:
    """Seeds as rows ``(-2c, |c|^2)``: a row's product with them is ``|c|^2 - 2 x.c``.

    The norm rides in the product (the row's ones column) rather than in a pass over
    the products after it; scaling by -2 is exact.
    """
    return np.column_stack([-2.0 * C, (C * C).sum(axis=1)])


def _slices(rows: np.ndarray, cost: int, budget: int = 1 << 22) -> list[np.ndarray]:
    """``rows`` in slices of at most ``budget / cost`` (at least one) rows each."""
    step = max(1, budget // max(cost, 1))
    return [rows[i : i + step] for i in range(0, rows.size, step)]


def _grouped(group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ordered by group, stable within a group, and each group's bounds in them.

    With at most 32,767 groups (about sqrt(m) coarse seeds) the numbers are sorted as
    int16, which numpy sorts by radix, several times faster than int64, same order.
    """
    keys = group.astype(np.int16) if n_groups <= np.iinfo(np.int16).max else group
    order = np.argsort(keys, kind="stable")
    bounds = np.zeros(n_groups + 1, dtype=np.intp)
    np.cumsum(np.bincount(group, minlength=n_groups), out=bounds[1:])
    return order, bounds
