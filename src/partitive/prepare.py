"""The data as every stage sees them: canonical rows, values on a grid, principal axes.

Rows are put in lexicographic order with exact duplicates merged into weights, so no
result can depend on row order and duplicating a row is the same as doubling its
weight.  Features recorded on a grid are read as spread over their cells.  Data with
many features are described by their leading principal axes.
"""

from __future__ import annotations

import numpy as np

from ._threads import one_blas_thread
from .mixture import RIDGE, group_sums
from .pca import canonical_sign, leading_axes, ordered_product


#: Above this many features the tree is grown in the data's leading principal axes.
HIGH_D_FROM = 32
#: At most this many axes, and no more than MIXTURE_POINTS_PER_DIM per axis for each
#: child of a split (n // 20).  A Gaussian in hundreds of dimensions costs hundreds of
#: parameters for what its clusters differ in along a few axes, and a 2-means
#: direction fitted in them makes any split look clean, so groups a few standard
#: deviations apart in hundreds of features read as one cluster there and as several
#: in the leading axes, which are also far cheaper to work in
#: (docs/design/many-dimensions.md).
PRINCIPAL_AXES = 32


#: Largest magnitude a fit accepts.  Sums of squares over the rows overflow float64
#: (about 1.8e308) well before the values themselves do; below this bound they cannot,
#: for any number of rows and columns a machine can hold.
LARGEST_VALUE = 1e100


def too_large(X: np.ndarray) -> tuple[int, float] | None:
    """The first feature holding values beyond LARGEST_VALUE and its largest magnitude,
    or None: the fit's sums of squares would overflow on such values."""
    # The whole array's extremes first: reductions over contiguous memory, twice as
    # fast as column by column, which is left to name the feature when one is found.
    if X.size == 0 or max(X.max(), -X.min()) <= LARGEST_VALUE:
        return None
    largest = largest_magnitude(X)
    big = largest > LARGEST_VALUE
    if not big.any():
        return None
    j = int(np.argmax(big))
    return j, float(largest[j])


def largest_magnitude(X: np.ndarray) -> np.ndarray:
    """Each column's largest absolute value (-inf for no rows), read as its largest
    and smallest value: no |X| copy of the data."""
    return np.maximum(X.max(axis=0, initial=-np.inf), -X.min(axis=0, initial=np.inf))


def check_magnitude(X: np.ndarray) -> None:
    """Raise ValueError, naming the feature, if ``X`` holds values beyond LARGEST_VALUE."""
    found = too_large(X)
    if found is not None:
        j, largest = found
        raise ValueError(
            f"feature {j} has values up to {largest:.3g}, too large to cluster "
            f"(sums of their squares overflow); rescale it"
        )


def rounding_variance(X: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """Per-feature variance of the rounding of features recorded on a grid, or None.

    A value recorded on a grid of step h (counts, a Likert scale, a binary flag,
    measurements to 0.1) stands for an interval of width h: uniform, variance h^2 / 12.
    Taken as exact, many rows on one value are a spike that every density-based test
    reads as a cluster (one rounded Gaussian in 2-D came back as 20-140 clusters), and
    a cluster constant in such a feature has a Gaussian of unbounded likelihood.

    A feature is on a grid where its rows share values: at most half as many distinct
    values as rows (weights count as rows).  Its step is the median gap between
    neighbouring distinct values, each gap weighted by the lighter of its two values:
    a stray value off the grid (an imputed mean, one row measured finer) holds too
    little weight to move it.  Where h^2 / 12 is below a millionth of the feature's
    variance the grid is too fine to matter, and the feature gets 0.
    A feature of two values is a grid of one step: its two cells touch, so it never
    tells clusters apart on its own.
    """
    rounding = np.zeros(X.shape[1])
    W = w.sum()
    for j in range(X.shape[1]):
        column = X[:, j]
        n_values = 1 + np.count_nonzero(np.diff(np.sort(column)))
        if n_values < 2 or n_values > W / 2:  # constant or continuous: no sort by weight
            continue
        order = np.argsort(column, kind="stable")
        values, weights = column[order], w[order]
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        values, weights = values[starts], np.add.reduceat(weights, starts)
        gaps = np.diff(values)
        step = weighted_quantile(gaps, np.minimum(weights[:-1], weights[1:]), 0.5)
        variance = weights @ (values - weights @ values / W) ** 2 / W
        if step**2 / 12.0 >= RIDGE * variance:
            rounding[j] = step**2 / 12.0
    return rounding if np.any(rounding > 0) else None


def grid_rounding(X, w, sample):
    """:func:`rounding_variance` of the rows, or of ``sample`` on reduced input:
    representatives mixing rows of several grid values are off the grid, so the step
    is read from the rows they stand for; pure ones sit on it and get its rounding."""
    return rounding_variance(X, w) if sample is None else rounding_variance(sample, np.ones(sample.shape[0]))


def canonical_rows(X: np.ndarray, w: np.ndarray, spread: np.ndarray | None = None):
    """Distinct rows in lexicographic order, their summed weights and spreads, the row map."""
    order = lexicographic_order(X)
    ordered = X[order]
    first = np.ones(X.shape[0], dtype=bool)
    first[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    unique = ordered[first]
    inverse = np.empty(X.shape[0], dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    weights = np.bincount(inverse, weights=w, minlength=unique.shape[0])
    if spread is None:
        return unique, weights, None, inverse
    # Equal means: the merged spread is the weighted mean of the spreads.
    merged = group_sums(spread, inverse, unique.shape[0], w)
    return unique, weights, merged / np.where(weights > 0, weights, 1.0)[:, None], inverse


def lexicographic_order(X: np.ndarray) -> np.ndarray:
    """The order of the rows of X sorted lexicographically (ties kept in place).

    ``np.unique(X, axis=0)`` gives the same order, but compares rows as structured
    records field by field, slowly in many columns.  Here a column is read only where
    the columns before it tie (continuous data: the first column alone).
    """
    order = np.argsort(X[:, 0], kind="stable")
    column = X[order, 0]
    tied = column[1:] == column[:-1]
    for j in range(1, X.shape[1]):
        if not tied.any():
            break
        # Sorting by (block, column j) reorders rows only within blocks of tied rows,
        # which stay where they are: ``tied`` still describes the earlier columns.
        block = np.concatenate([[0], np.cumsum(~tied)])
        order = order[np.lexsort((X[order, j], block))]
        column = X[order, j]
        tied &= column[1:] == column[:-1]
    return order


def principal_axes(X, w, spread=None, n_axes=PRINCIPAL_AXES):
    """The weighted mean and the leading principal axes (d x q, orthonormal columns,
    each signed so that its largest entry is positive) of distinct rows in canonical
    order (:func:`canonical_rows`), ``spread`` their per-feature variance within.

    At most ``n_axes``: axes along which the rows do not vary (beyond rounding error)
    are left out, so that no coordinate is noise and no cluster a flat Gaussian on it.
    """
    W = w.sum()
    # OpenBLAS's products and eigensolves round differently on different numbers of
    # threads (the axes by 1e-14): on one, the axes are the same on any machine
    # setting; the scatter's blocks are made in parallel instead.
    with one_blas_thread():
        mean = w @ X / W
        within = None if spread is None else w @ spread / W
        values, axes = leading_axes(X - mean, w, n_axes, diagonal=within, product=ordered_product)
    values, axes = values[::-1], axes[:, ::-1]
    varying = values > max(values[0], 0.0) * max(X.shape) * np.finfo(float).eps
    varying[0] = True
    return mean, np.column_stack([canonical_sign(axis) for axis in axes[:, varying].T])


def weighted_quantile(values, weights, q) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])
