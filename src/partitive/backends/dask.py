"""PPP on a Dask array or DataFrame, without gathering its rows.

The reduction of :mod:`partitive.reduce` runs as Dask tasks.  Each block of rows gives
a partial result (a :class:`~partitive.reduce.Sample` in the first pass, an
:class:`~partitive.reduce.Accumulator` in the second) and the partials are merged
``SPLIT_EVERY`` at a time in a tree of tasks.  Both merges are exact and do not depend
on order, so the representatives, and therefore the labels, are identical to those of
the in-memory fit for any chunking and any scheduler.  The client receives O(m x d)
numbers from each pass, sends the codebook (m x d) to the cluster once, grows the tree
on the representatives, and labels the rows lazily, block by block.

Data at or below ``reduce_above`` rows (or with ``reduction=False``) are computed into
the client and fitted in memory, which gives the in-memory labels by construction.

Dask is imported inside the functions: it is an optional extra, and pytest imports
this module for its doctests also where Dask is not installed.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import _check_feature_names, assert_all_finite

from .._threads import one_blas_thread
from ..codebook import Codebook
from ..reduce import Accumulator, RareRows, Sample, rare_sample_size

#: Partial results merged by one task; dask's own reductions merge 8 at a time too.
SPLIT_EVERY = 8


def fit(model, X, sample_weight=None):
    """``model.fit(X)`` for a Dask collection; ``labels_`` is a lazy Dask array."""
    if sample_weight is not None:
        raise TypeError("sample_weight is not supported with Dask input")
    A = _float_rows(X)
    n_rows, sample = A.shape[0], None
    if math.isnan(n_rows) and model.reduction == "auto":
        # Unknown chunk sizes (a DataFrame): the first pass counts the rows as well.
        sample, lengths = _sample(A, model.n_representatives)
        n_rows = sum(lengths)
    if not model._reduces(n_rows, A.shape[1]):
        return _fit_in_memory(model, X, A)
    if sample is None:
        sample, lengths = _sample(A, model.n_representatives)
    if sample.rows.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape=(0, {A.shape[1]})) while a minimum of 1 is required by PPP.")
    _check_feature_names(model, _header(X), reset=True)
    model.n_features_in_ = A.shape[1]
    codebook = Codebook(sample.rows)
    with one_blas_thread():
        rare = codebook.rare()
    if rare.any():
        extra = _rare_rows(A, codebook, rare_sample_size(model.n_representatives), rare)
        codebook = codebook.with_extra(extra.sample.rows)
    reps = Accumulator(codebook).merge(_accumulate(A, codebook)).result()
    tree = model._fit_reduced(reps, float(reps.weight.sum()))
    labels = A.map_blocks(_labels, tree, drop_axis=1, dtype=np.intp, chunks=(lengths,))
    model._set_result(tree, labels)
    return model


def predict(model, X):
    """Lazy labels of a Dask collection's rows, one task per block."""
    A = _checked_like_fit(model, X)
    return A.map_blocks(_labels, model.tree_, drop_axis=1, dtype=np.intp)


def predict_proba(model, X):
    """Lazy cluster probabilities of a Dask collection's rows, one task per block."""
    A = _checked_like_fit(model, X)
    return A.map_blocks(_probabilities, model.tree_, dtype=np.float64, chunks=(A.chunks[0], (model.n_clusters_,)))


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


def _checked_like_fit(model, X):
    A = _float_rows(X)
    _check_feature_names(model, _header(X), reset=False)
    if A.shape[1] != model.n_features_in_:
        raise ValueError(f"X has {A.shape[1]} features, but PPP is expecting {model.n_features_in_} features as input.")
    return A


def _header(X):
    """What sklearn reads feature names from: an empty pandas frame with X's columns."""
    if not hasattr(X, "columns"):
        return X
    import pandas as pd

    return pd.DataFrame(columns=X.columns)


def _fit_in_memory(model, X, A):
    from dask import compute

    if hasattr(X, "dtypes"):
        import pandas as pd

        parts = compute(*X.to_delayed())
        model.fit(pd.concat(parts))
    else:
        parts = compute(*A.to_delayed().ravel())
        model.fit(np.concatenate(parts))
    import dask.array as da

    model.labels_ = da.from_array(model.labels_, chunks=(tuple(len(p) for p in parts),))
    return model


def _blocks(A):
    """One delayed float64 block per row chunk, with the first row's index if known."""
    starts = np.concatenate([[0], np.cumsum(A.chunks[0])])
    return list(zip(A.to_delayed().ravel(), starts[:-1].tolist()))


def _sample(A, size):
    """Pass 1: the sample of ``size`` rows and the row count of every block."""
    from dask import compute, delayed

    parts = [delayed(_sample_block)(block, size, i, start) for i, (block, start) in enumerate(_blocks(A))]
    return compute(_merge_tree(parts, _merge_samples))[0]


def _sample_block(X, size, block, start):
    _check_finite(X, block, start)
    return Sample(size, X.shape[1]).add(X), (X.shape[0],)


def _merge_samples(*parts):
    """One sample from several, with the blocks' row counts kept in block order."""
    merged, lengths = Sample(parts[0][0].size, parts[0][0].rows.shape[1]), ()
    for sample, counts in parts:
        merged.merge(sample)
        lengths += counts
    return merged, lengths


def _rare_rows(A, codebook, size, rare):
    """The pass made only where the sample left rare regions: their rows' sample."""
    from dask import compute, delayed

    shared = delayed(codebook, traverse=False)
    parts = [delayed(_rare_block)(shared, block, size, rare) for block, _ in _blocks(A)]
    return compute(_merge_tree(parts, _merge_rare, shared, size, rare))[0]


def _rare_block(codebook, X, size, rare):
    return RareRows(codebook, size, rare).add(X, np.ones(X.shape[0]))


def _merge_rare(codebook, size, rare, *parts):
    merged = RareRows(codebook, size, rare)
    for part in parts:
        merged.merge(part)
    return merged


def _accumulate(A, codebook):
    """Pass 2: every row's exact totals at its seed, merged into one Accumulator."""
    from dask import compute, delayed

    shared = delayed(codebook, traverse=False)
    parts = [delayed(_accumulate_block)(shared, block) for block, _ in _blocks(A)]
    return compute(_merge_tree(parts, _merge_totals, shared))[0]


def _accumulate_block(codebook, X):
    return Accumulator(codebook).add(X, np.ones(X.shape[0]))


def _merge_totals(codebook, *parts):
    # Into a new Accumulator: merge adds in place, and a retried task must find its
    # inputs as they were.
    merged = Accumulator(codebook)
    for part in parts:
        merged.merge(part)
    return merged


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
