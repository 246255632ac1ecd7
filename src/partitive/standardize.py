"""The rows the command line clusters: a dataset standardized and checked chunk by chunk.

``partitive cluster`` streams its file (:class:`partitive.Dataset`); with
``--standardize`` every column is scaled to zero mean and unit variance first, the
means and deviations taken in passes over the file, and every chunk is checked for
values too large to compute with, so that a bad value far into a file is one line.
"""

from __future__ import annotations

import numpy as np

from .io import DataError
from .prepare import largest_magnitude, too_large


def scaling(X):
    """Each column's mean and standard deviation (1 where it is 0), safe from overflow."""
    # Divided by the largest magnitude first, so that values near 1e308 do not overflow.
    top = _top(X)
    unit = X / top
    mean, scale = unit.mean(axis=0) * top, unit.std(axis=0) * top
    return mean, np.where(scale > 0, scale, 1.0)


def _top(X):
    top = largest_magnitude(X)
    return np.where(top > 0, top, 1.0)


def standardized(X, mean, scale):
    """``(X - mean) / scale``, in an order that cannot overflow when ``X`` is finite."""
    return X / scale - mean / scale


def dataset_scaling(dataset, progress):
    """:func:`scaling` of a chunked dataset: two passes, or one chunk read whole.

    A file of one chunk gets exactly :func:`scaling`; over several chunks the means
    and variances of the chunks are pooled (Chan et al.'s update), equal to it up to
    rounding.
    """
    with progress.track("Scaling", dataset.known_rows()) as advance:
        tops, n_chunks = [], 0
        for X in dataset.chunks():
            tops.append(largest_magnitude(X))
            n_chunks += 1
            advance(X.shape[0])
    if n_chunks == 1:
        return scaling(next(iter(dataset.chunks())))
    top = np.max(tops, axis=0)
    top = np.where(top > 0, top, 1.0)
    n, mean, square = 0, 0.0, 0.0
    with progress.track("Scaling", dataset.known_rows()) as advance:
        for X in dataset.chunks():
            unit = X / top
            m, chunk_mean = unit.shape[0], unit.mean(axis=0)
            chunk_square = ((unit - chunk_mean) ** 2).sum(axis=0)
            delta = chunk_mean - mean
            square = square + chunk_square + delta**2 * n * m / (n + m)
            mean = mean + delta * m / (n + m)
            n += m
            advance(m)
    scale = np.sqrt(square / n) * top
    return mean * top, np.where(scale > 0, scale, 1.0)


def check_chunk(X, data, standardized_: bool):
    """Raise :class:`DataError` in one line if ``X`` holds values too large to compute with."""
    found = too_large(X)
    if found is not None:
        j, largest = found
        hint = "" if standardized_ else "; rescale it or use --standardize"
        raise DataError(f"{data.path}: column {data.columns[j]!r} has values up to {largest:.3g}, too large "
                        f"to cluster (sums of their squares overflow){hint}")


class Prepared:
    """A dataset's chunks as the tree sees them: standardized by ``mean`` and ``scale``
    when given, each checked by :func:`check_chunk`.  It reads like the dataset (what
    :class:`partitive.source.DatasetSource` and the outputs need of it)."""

    def __init__(self, dataset, mean=None, scale=None):
        self.dataset, self.mean, self.scale = dataset, mean, scale
        self.path, self.format, self.columns = dataset.path, dataset.format, dataset.columns
        self.id_column = dataset.id_column
        self.n_features = dataset.n_features

    def chunks_with_ids(self):
        for X, ids in self.dataset.chunks_with_ids():
            if self.mean is not None:
                X = standardized(X, self.mean, self.scale)
            check_chunk(X, self, self.mean is not None)
            yield X, ids

    def chunks(self):
        for X, _ in self.chunks_with_ids():
            yield X

    def count_rows(self) -> int:
        return self.dataset.count_rows()

    def known_rows(self) -> int | None:
        return self.dataset.known_rows()
