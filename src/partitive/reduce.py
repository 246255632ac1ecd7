"""Input reduction: many rows become a few weighted representatives, in any row order.

Two passes over the rows (three where a full sample leaves rare regions), each a map over
chunks followed by a merge of small partial results (the shape Dask's tree reductions
take):

1. **Sample** (:class:`Sample`): the ``m`` distinct rows with the smallest content hash.
   A row's hash depends on its values only, so the sample is the same whatever the
   row order or chunking; it is uniform over distinct rows, so dense regions get
   many seeds and a cluster of share p gets about ``p * m`` of them.
   Where a few seeds stand far from all others (``Codebook.rare``), one more pass
   samples their rows, by the same hash, as seeds of their own (:class:`RareRows`): a
   rare group far from the rest is not left to the few seeds its share earns it.
2. **Accumulate** (:class:`Accumulator`): every row goes to a seed
   (:mod:`partitive.codebook`: the nearest in the groups of its nearest coarse seeds)
   and adds its weight, and its offset from the seed and squared offset per feature,
   to that seed's totals.  The totals are
   integer fixed-point sums, which are exact, so the result does not depend on the
   order in which rows are added; float sums would differ in the last bits between
   chunkings.  Rows far outside the sample's range (beyond ``FAR`` times it) are kept
   as rows of their own.

Each representative keeps its weight (count), mean and per-feature spread, so the tree
grown on representatives still sees the variance within them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codebook import Codebook
from .mixture import group_sums

#: Offsets from the seed are summed as integers in units of 2**-OFFSET_BITS of the
#: feature's scale, squared offsets in units of 2**-SQUARE_BITS.  With |offset| < FAR
#: scales, a block of at most 2**BLOCK_BITS rows sums below 2**53, so the float64
#: block sums are exact integers, and blocks are added as int64.
OFFSET_BITS = 34
SQUARE_BITS = 33
BLOCK_BITS = 16
#: Rows further than this many feature scales from their seed are kept exactly.
FAR = 4.0
#: Rows per slice when a block's fixed-point offsets are made (see _block_totals).
STATS_BLOCK_ROWS = 8192
#: Irrational-ish coefficients: a row's hash is the bit pattern of one dot product.
_HASH_COEFFICIENTS = np.sqrt(np.arange(2, 4098, dtype=np.float64)) % 1.0 + 0.5

@dataclass(frozen=True)
class Representatives:
    """Weighted points standing for the rows: ``weight`` rows around ``mean``."""

    mean: np.ndarray
    weight: np.ndarray
    spread: np.ndarray  # per-feature variance of the rows around their mean
    n_rows: int
    #: One row of each group: its seed, or the far row itself.  The seeds are a uniform
    #: sample of the distinct rows (with the extra seeds of rare regions), so these are
    #: rows, not means; where values repeat, each distinct row counts once.
    sample: np.ndarray


def row_hash(X: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's values.

    The bits of a fixed linear combination of the row, spread by a splitmix64
    finaliser.  ``(X * c).sum(axis=1)`` on a C-contiguous array sums each row the same
    way whatever the number of rows (a BLAS product might not), so a row hashes alike
    in every chunk.  Rows with equal combinations share a hash and are then ordered by
    their values, so a collision costs sample quality, never determinism.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    coefficients = np.resize(_HASH_COEFFICIENTS, X.shape[1])
    h = ((X * coefficients).sum(axis=1) + 0.0).view(np.uint64)  # + 0.0: -0.0 -> 0.0
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


class Sample:
    """The ``size`` distinct rows with the smallest hash seen so far, in hash order."""

    def __init__(self, size: int, n_features: int):
        self.size = size
        self.rows = np.empty((0, n_features))
        self.hashes = np.empty(0, dtype=np.uint64)

    def add(self, X: np.ndarray, h: np.ndarray | None = None) -> Sample:
        """Take the rows ``X`` (``h``: their :func:`row_hash`, where known)."""
        h = row_hash(X) if h is None else h
        bound = self.hashes[-1] if self.hashes.size >= self.size else None
        if h.size > self.size:
            # Only rows at or below the chunk's size-th smallest hash can enter, unless
            # repeated rows fill that many places (checked below): a large chunk is
            # cut before its rows are copied and sorted.
            cut = np.partition(h, self.size - 1)[self.size - 1]
            bound = cut if bound is None else min(bound, cut)
        if bound is None:
            return self._keep(np.vstack([self.rows, X]), np.concatenate([self.hashes, h]))
        keep = h <= bound
        before = (self.rows, self.hashes)
        self._keep(np.vstack([self.rows, X[keep]]), np.concatenate([self.hashes, h[keep]]))
        if keep.sum() < h.size and (self.hashes.size < self.size or self.hashes[-1] > bound):
            # Repeats left fewer distinct rows at or below the bound than places, so a
            # row above it might belong: take the whole chunk.
            self.rows, self.hashes = before
            return self._keep(np.vstack([self.rows, X]), np.concatenate([self.hashes, h]))
        return self

    def __sizeof__(self) -> int:
        # What schedulers (Dask's sizeof) count when they place and move a partial.
        return object.__sizeof__(self) + self.rows.nbytes + self.hashes.nbytes

    def merge(self, other: Sample) -> Sample:
        return self._keep(np.vstack([self.rows, other.rows]), np.concatenate([self.hashes, other.hashes]))

    def _keep(self, rows, hashes) -> Sample:
        order = np.argsort(hashes, kind="stable")
        rows, hashes = rows[order], hashes[order]
        tied = np.flatnonzero(hashes[1:] == hashes[:-1])
        if tied.size:
            # Equal hashes (repeated rows, or rarely a collision): order each run by the
            # row values, so the order never depends on arrival, and drop repeats.
            starts = np.unique(np.r_[tied, tied + 1])
            runs = np.split(starts, np.flatnonzero(np.diff(starts) > 1) + 1)
            for run in runs:
                block = rows[run]
                rows[run] = block[np.lexsort(tuple(block.T[::-1]) + (hashes[run],))]
            repeat = np.r_[False, (hashes[1:] == hashes[:-1]) & (rows[1:] == rows[:-1]).all(axis=1)]
            rows, hashes = rows[~repeat], hashes[~repeat]
        self.rows, self.hashes = rows[: self.size], hashes[: self.size]
        return self


class RareRows:
    """A sample (by hash, as :class:`Sample`) of the rows whose seed stands in a rare
    region: the extra seeds that give such a region representatives of its own.

    Only rows hashed above ``floor`` (the first pass's largest hash) are taken: those
    at or below it are seeds already, or repeat one (or, rarely, share a seed's hash).
    """

    def __init__(self, codebook: Codebook, size: int, rare: np.ndarray, floor: np.uint64,
                 bound: np.uint64 | None = None):
        self.codebook = codebook
        self.rare = rare
        self.floor, self.bound = floor, bound
        self.sample = Sample(size, codebook.seeds.shape[1])

    def add(self, X: np.ndarray, w: np.ndarray) -> RareRows:
        h = row_hash(X)
        # Only rows of hash up to the bound can be among the smallest (see
        # rare_hash_bound): the others need no nearest-seed search.
        keep = (w > 0) & (h > self.floor) & (True if self.bound is None else h <= self.bound)
        X, h = X[keep], h[keep]
        if X.shape[0]:
            rare = self.rare[self.codebook.assign(X)]
            self.sample.add(X[rare], h[rare])
        return self

    def merge(self, other: RareRows) -> RareRows:
        self.sample.merge(other.sample)
        return self

    def __getstate__(self):
        return {**self.__dict__, "codebook": None}

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self.sample.__sizeof__() + self.rare.nbytes


class Accumulator:
    """Exact per-seed totals of weight, offset and squared offset."""

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        m, d = codebook.seeds.shape
        # Integer weights keep every total exact; other weights go to the float totals.
        self.exact = np.zeros((m, 1 + 2 * d), dtype=np.int64)
        # Float totals only for weights that are not whole numbers: unweighted data never
        # allocate (or ship) them.
        self.inexact: np.ndarray | None = None
        # The last chunk's float totals, one per block, added to ``inexact`` one by one
        # in row order when the next chunk comes or the partial is merged: a chunk's
        # partial merged into the whole then sums in the order of adding every block
        # to the whole (float sums depend on their order).
        self.pending: list[np.ndarray] = []
        self.far_rows: list[np.ndarray] = []
        self.far_weights: list[np.ndarray] = []
        self.n_rows = 0

    def add(self, X: np.ndarray, w: np.ndarray) -> Accumulator:
        self._settle()
        self.n_rows += X.shape[0]
        for piece in _pieces(X, w):
            self._add_totals(_block_totals(self.codebook, *piece))
        return self

    def _add_totals(self, totals) -> None:
        exact, sums, far_X, far_w = totals
        if exact:
            self.exact += np.rint(sums).astype(np.int64)
        else:
            self.pending.append(sums)
        if far_X.shape[0]:
            self.far_rows.append(far_X)
            self.far_weights.append(far_w)

    def _settle(self, sums=()) -> None:
        for part in [*self.pending, *sums]:
            self.inexact = part if self.inexact is None else self.inexact + part
        self.pending = []

    def merge(self, other: Accumulator) -> Accumulator:
        self.exact += other.exact
        self._settle(([] if other.inexact is None else [other.inexact]) + other.pending)
        self.far_rows += other.far_rows
        self.far_weights += other.far_weights
        self.n_rows += other.n_rows
        return self

    def result(self) -> Representatives:
        self._settle()
        cb = self.codebook
        d = cb.seeds.shape[1]
        totals = self.exact.astype(np.float64)
        if self.inexact is not None:
            totals += self.inexact
        used = totals[:, 0] > 0
        totals = totals[used]
        W = totals[:, 0]
        offset = np.ldexp(totals[:, 1 : 1 + d], -OFFSET_BITS) / W[:, None]
        square = np.ldexp(totals[:, 1 + d :], -SQUARE_BITS) / W[:, None]
        mean = cb.absolute_seeds[used] + offset * cb.scale
        spread = np.maximum(square - offset * offset, 0.0) * cb.scale**2
        sample = cb.absolute_seeds[used]
        if self.far_rows:
            rows = np.vstack(self.far_rows)
            unique, inverse = np.unique(rows, axis=0, return_inverse=True)
            far_w = np.bincount(inverse.ravel(), weights=np.concatenate(self.far_weights))
            mean = np.vstack([mean, unique])
            W = np.concatenate([W, far_w])
            spread = np.vstack([spread, np.zeros_like(unique)])
            sample = np.vstack([sample, unique])
        return Representatives(mean=mean, weight=W, spread=spread, n_rows=self.n_rows, sample=sample)

    def __getstate__(self):
        # A partial sent to another process carries its totals only: the codebook is as
        # large as the totals and the receiver has it already.  Merge into an
        # ``Accumulator(codebook)`` to call ``result()`` on what arrives.
        return {**self.__dict__, "codebook": None}

    def __sizeof__(self) -> int:
        far = sum(x.nbytes for x in self.far_rows) + sum(w.nbytes for w in self.far_weights)
        inexact = sum(x.nbytes for x in self.pending) + (0 if self.inexact is None else self.inexact.nbytes)
        return object.__sizeof__(self) + self.exact.nbytes + inexact + far


def _pieces(X: np.ndarray, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Consecutive rows of at most 2**BLOCK_BITS total weight: their float sums are exact."""
    block = np.floor((np.cumsum(w) - w) / 2**BLOCK_BITS)
    edges = np.r_[0, np.flatnonzero(np.diff(block)) + 1, X.shape[0]]
    return [(X[a:b], w[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _block_totals(cb: Codebook, X: np.ndarray, w: np.ndarray):
    """Per-seed sums of weight and fixed-point offsets for one block of rows."""
    seed = cb.assign(X)
    d = X.shape[1]
    stats = np.empty((X.shape[0], 1 + 2 * d))
    far = np.empty(X.shape[0], dtype=bool)
    # Row slices that stay in cache: the offsets and their fixed-point columns are a
    # few element-wise steps each, which over a whole block would each stream it
    # from memory.
    for start in range(0, X.shape[0], STATS_BLOCK_ROWS):
        rows = slice(start, start + STATS_BLOCK_ROWS)
        z = np.subtract(X[rows], cb.absolute_seeds[seed[rows]])
        z *= cb.inverse_scale  # a power of two: exact
        far[rows] = (np.abs(z) >= FAR).any(axis=1)
        block = stats[rows]
        block[:, 0] = 1.0
        np.multiply(z, 2.0**OFFSET_BITS, out=block[:, 1 : 1 + d])
        np.multiply(z, z, out=block[:, 1 + d :])
        block[:, 1 + d :] *= 2.0**SQUARE_BITS
        np.rint(block, out=block)
    far_X, far_w = X[far], w[far]
    if far.any():
        seed, stats, w = seed[~far], stats[~far], w[~far]
    exact = bool(np.all(w == np.rint(w)) and w.sum() <= 2.0 ** (BLOCK_BITS + 1))
    return exact, group_sums(stats, seed, cb.seeds.shape[0], w), far_X, far_w


class SamplePass:
    """Pass 1: the sample (:class:`Sample`) of the rows of positive weight."""

    description = "Sampling"

    def __init__(self, size: int, n_features: int):
        self.size, self.n_features = size, n_features

    def empty(self) -> Sample:
        return Sample(self.size, self.n_features)

    def add(self, part: Sample, X: np.ndarray, w: np.ndarray) -> Sample:
        positive = w > 0
        return part.add(X if positive.all() else X[positive])


class RarePass:
    """The pass made only where the sample left rare regions: their rows' sample."""

    description = "Reseeding rare regions"

    def __init__(self, codebook: Codebook, size: int, rare: np.ndarray, floor: np.uint64,
                 bound: np.uint64 | None = None):
        self.codebook, self.size, self.rare, self.floor, self.bound = codebook, size, rare, floor, bound

    def empty(self) -> RareRows:
        return RareRows(self.codebook, self.size, self.rare, self.floor, self.bound)

    def add(self, part: RareRows, X: np.ndarray, w: np.ndarray) -> RareRows:
        return part.add(X, w)


class AccumulatePass:
    """The last pass: every row's exact totals at its seed (:class:`Accumulator`)."""

    description = "Accumulating"

    def __init__(self, codebook: Codebook):
        self.codebook = codebook

    def empty(self) -> Accumulator:
        return Accumulator(self.codebook)

    def add(self, part: Accumulator, X: np.ndarray, w: np.ndarray) -> Accumulator:
        return part.add(X, w)


def reduce(source, n_representatives: int, n_jobs: int = 1, sample: Sample | None = None) -> Representatives:
    """Two passes over a source's rows (:mod:`partitive.source`): sample, then
    accumulate; three where the sample, full (``n_representatives`` rows; short of
    that it holds every distinct row), leaves rare regions (see RARE_NEIGHBOURS),
    whose other rows are sampled again in between for seeds of their own.

    ``sample``: the first pass's result when it has been run already (to count the
    rows of a source that takes a pass to count them).  How each pass runs is the
    source's: over local chunks on ``n_jobs`` threads, or as a tree of Dask tasks.
    The sample is a merge of the chunks' samples, which any order gives alike; the
    totals are exact integer sums merged in chunk order, so the result does not
    depend on ``n_jobs`` or on how the source groups its chunks.
    """
    from ._threads import one_blas_thread

    if sample is None:
        sample = source.run(SamplePass(n_representatives, source.n_features), n_jobs)
    if sample.rows.shape[0] == 0:
        raise ValueError(source.empty_message)
    with one_blas_thread():
        codebook = Codebook(sample.rows)
        rare = codebook.rare()
    if rare.any() and sample.hashes.size == n_representatives:
        # One more pass, only where the sample left a region a few seeds far from
        # all others: its rows are sampled again for seeds of their own.  (A sample
        # short of n_representatives holds every distinct row already.)
        size = rare_sample_size(n_representatives)
        floor = sample.hashes[-1]
        bound = rare_hash_bound(sample, rare, size, source.n_rows)
        extra = source.run(RarePass(codebook, size, rare, floor, bound), n_jobs)
        if bound is not None and extra.sample.rows.shape[0] < size:
            # Fewer rare rows below the bound than places: the bounded pass cannot
            # tell which rows above it belong, so every row is searched.
            extra = source.run(RarePass(codebook, size, rare, floor), n_jobs)
        with one_blas_thread():
            codebook = codebook.with_extra(extra.sample.rows)
    accumulate = AccumulatePass(codebook)
    # Into an accumulator holding the codebook: a partial from another process
    # arrives without it.
    return accumulate.empty().merge(source.run(accumulate, n_jobs)).result()


#: Extra seeds for rare regions, as a share of n_representatives (Codebook.rare).  The
#: split tests read a representative's weight, so a rare group needs enough seeds to be
#: cut from its neighbours, not many: every extra seed is also a point of the tree.
RARE_SHARE = 0.2


#: The rare pass searches the seeds of this many times the rows that would fill its
#: sample if rare rows were as common below the bound as rare seeds in the sample.
RARE_BOUND_MARGIN = 2.0


def rare_hash_bound(sample: Sample, rare: np.ndarray, size: int, n_rows: int | None) -> np.uint64 | None:
    """A hash below which the rare pass's ``size`` rows most likely all lie, or None
    where every row must be searched.

    Hashes are uniform, so the sample's ``m`` rows (the smallest hashes) tell what
    share of the rows stand in rare regions (its share of rare seeds) and which hash
    the ``r``-th smallest row has (``r / m`` times the sample's largest).  The pass
    takes rows above the sample's hashes, so ``r`` counts them too.  Rows above the
    bound cannot enter a sample that fills up below it; :func:`reduce` checks that it
    did, so the bound saves the nearest-seed search of most rows without changing
    the result.
    """
    m, n_rare = sample.hashes.size, int(rare.sum())
    if n_rows is None or m == 0 or n_rare == 0:
        return None
    rows = m + RARE_BOUND_MARGIN * size * m / n_rare  # rows to search, of all n_rows
    if rows >= n_rows:
        return None
    bound = float(sample.hashes[-1]) * rows / m
    return np.uint64(bound) if bound < 2.0**64 else None


def rare_sample_size(n_representatives: int) -> int:
    """Extra seeds for the rows of rare regions (see RARE_SHARE)."""
    return max(1, int(RARE_SHARE * n_representatives))
