"""PPP on a Dask array or DataFrame, without gathering its rows: the Dask source.

:class:`DaskSource` is the source (:mod:`partitive.source`) of a Dask collection.  It
runs each pass of the reduction (:mod:`partitive.reduce`) as Dask tasks: each block
of rows gives a partial result (a :class:`~partitive.reduce.Sample`, a
:class:`~partitive.reduce.RareRows` or an :class:`~partitive.reduce.Accumulator`) and
the partials are merged ``SPLIT_EVERY`` at a time in a tree of tasks.  The merges are
exact and do not depend on order, so the representatives, and therefore the labels,
are identical to those of the in-memory fit for any chunking and any scheduler.  The
client receives O(m x d) numbers from each pass, sends the codebook (m x d) to the
cluster once per pass, grows the tree on the representatives, and the rows are
labelled lazily, block by block.

Data at or below ``reduce_above`` rows (or with ``reduction=False``) are computed into
the client and fitted in memory, which gives the in-memory labels by construction.

Dask is imported inside the functions: it is an optional extra, and pytest imports
this module for its doctests also where Dask is not installed.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import assert_all_finite

from ..prepare import check_magnitude
from ..source import Source

#: Partial results merged by one task; dask's own reductions merge 8 at a time too.
SPLIT_EVERY = 8


class DaskSource(Source):
    """A Dask array or DataFrame, every row of weight 1; labels are lazy Dask arrays."""

    kind = "Dask input"

    def __init__(self, X):
        self.A = _float_rows(X)
        self.n_features = self.A.shape[1]
        self.header = _header(X)
        # Rows per block: known from the array, or from the first pass over a DataFrame.
        lengths = self.A.chunks[0]
        self._lengths = None if any(math.isnan(n) for n in lengths) else tuple(int(n) for n in lengths)

    @property
    def n_rows(self) -> int | None:
        return None if self._lengths is None else sum(self._lengths)

    def run(self, pass_, n_jobs: int = 1):
        """One pass as a tree reduction of tasks (the active scheduler's threads)."""
        from dask import compute, delayed

        shared = delayed(pass_, traverse=False)
        parts = [delayed(_block_part)(shared, block, i, start) for i, (block, start) in enumerate(_blocks(self.A))]
        part, self._lengths = compute(_merge_tree(parts, _merge_parts, shared))[0]
        return part

    def read(self):
        from dask import compute

        parts = compute(*self.A.to_delayed().ravel())
        start = 0
        for i, part in enumerate(parts):
            _check_finite(part, i, start)
            start += part.shape[0]
        self._lengths = tuple(p.shape[0] for p in parts)
        X = np.concatenate(parts)
        check_magnitude(X)
        return X, np.ones(X.shape[0])

    def labels(self, tree, n_jobs: int = 1, fitted=None):
        if fitted is not None:
            import dask.array as da

            return da.from_array(fitted, chunks=(self._lengths,))
        chunks = None if self._lengths is None else (self._lengths,)
        return self.A.map_blocks(_labels, tree, drop_axis=1, dtype=np.intp, chunks=chunks)

    def probabilities(self, tree):
        """Lazy cluster probabilities, one task per block."""
        return self.A.map_blocks(
            _probabilities, tree, dtype=np.float64, chunks=(self.A.chunks[0], (tree.n_clusters,))
        )


def _float_rows(X):
    """X as a float64 Dask array with one chunk across the columns (rows stay whole)."""
    if hasattr(X, "dtypes"):
        if X.ndim != 2:
            raise ValueError("Expected a 2-D Dask DataFrame, got a Series: use series.to_frame()")
        text = [str(c) for c, t in X.dtypes.items() if t.kind not in "biuf"]
        if text:
            raise ValueError(f"PPP needs numeric columns; not numeric: {', '.join(text)}")
        A = X.astype(np.float64).to_dask_array()
    elif hasattr(X, "rechunk"):
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D Dask array, got {X.ndim} dimension(s): reshape it to (n_samples, n_features)")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"PPP needs numeric data; the Dask array has dtype {X.dtype}")
        A = X.astype(np.float64)
    else:
        raise TypeError(f"PPP takes a Dask array or DataFrame, not a {type(X).__name__}")
    if A.shape[1] == 0:
        raise ValueError("Found array with 0 feature(s) while a minimum of 1 is required by PPP.")
    return A.rechunk({1: -1})


def _header(X):
    """What sklearn reads feature names from: an empty pandas frame with X's columns."""
    if not hasattr(X, "columns"):
        return X
    import pandas as pd

    return pd.DataFrame(columns=X.columns)


def _blocks(A):
    """One delayed float64 block per row chunk, with the first row's index if known."""
    starts = np.concatenate([[0], np.cumsum(A.chunks[0])])
    return list(zip(A.to_delayed().ravel(), starts[:-1].tolist()))


def _block_part(pass_, X, block, start):
    _check_finite(X, block, start)
    return pass_.add(pass_.empty(), X, np.ones(X.shape[0])), (X.shape[0],)


def _merge_parts(pass_, *parts):
    """One partial from several, with the blocks' row counts kept in block order."""
    # Into a new partial: merge adds in place, and a retried task must find its
    # inputs as they were.
    merged, lengths = pass_.empty(), ()
    for part, counts in parts:
        merged.merge(part)
        lengths += counts
    return merged, lengths


def _merge_tree(parts, merge, *shared):
    """Delayed ``merge`` of ``SPLIT_EVERY`` neighbouring parts, level by level, to one."""
    from dask import delayed

    while len(parts) > 1:
        parts = [delayed(merge)(*shared, *parts[i : i + SPLIT_EVERY]) for i in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]


def _labels(X, tree, block_info=None):
    _check_finite(X, *_location(block_info))
    return tree.predict(X)


def _probabilities(X, tree, block_info=None):
    _check_finite(X, *_location(block_info))
    return tree.predict_proba(X)


def _location(block_info):
    block = block_info[0]["chunk-location"][0]
    start = block_info[0]["array-location"][0][0]
    return block, start


def _check_finite(X, block, start):
    """The in-memory fit's error for NaN or infinity, naming where the first one is."""
    try:
        assert_all_finite(X, estimator_name="PPP", input_name="X")
    except ValueError as err:
        row, column = np.argwhere(~np.isfinite(X))[0]
        where = f"row {row} of Dask block {block}"
        if not math.isnan(start):
            where = f"row {int(start) + row} ({where})"
        raise ValueError(f"{err}\nThe first is at {where}, column {column}.") from None
