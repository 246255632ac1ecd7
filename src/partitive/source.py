"""Where ``PPP.fit`` reads its rows from: one small interface for every kind of input.

A *source* knows its row count (or that it takes a pass to know it), its number of
features and their names, and offers four things:

* ``run(pass_, n_jobs)``: one pass over the rows.  A *pass* (see
  :mod:`partitive.reduce`) makes an empty partial result (``pass_.empty()``), adds a
  chunk of weighted rows to one (``pass_.add(part, X, w)``), and partials merge
  (``part.merge(other)``) exactly and in any grouping.  An in-memory or file source
  runs it over local chunks on threads; the Dask source as a tree reduction of tasks.
* ``read()``: every row with a positive weight, and their weights, in memory.
* ``labels(tree, n_jobs, fitted=None)``: the label of every row, ``fitted`` being the
  labels the in-memory fit gave the rows of ``read()``.
* ``total_weight()``: the rows' summed weight (after a pass where the count needs one).

The core (split, judge, grow, tree, merge) knows nothing of sources; the estimator
runs source -> (reduction or not) -> tree -> labels with them.  A source also reports
its passes to an optional progress object (``progress.track(description, total)``, a
context manager yielding ``advance(rows)``), which the command line draws as bars.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ._threads import one_blas_thread
from .io import DataError

#: Rows per chunk when an in-memory array is reduced (the result does not depend on it).
ARRAY_CHUNK_ROWS = 65_536

#: Rows per block when rows are labelled in threads.
LABEL_BLOCK_ROWS = 65_536


class NoProgress:
    """A progress object that shows nothing (the default of every source)."""

    @contextmanager
    def track(self, description: str, total: int | None):
        """Yield ``advance(rows)`` for a pass over ``total`` rows (None: unknown)."""
        yield _ignore


def _ignore(rows: int) -> None:
    pass


class Source:
    """The interface ``PPP.fit`` reads rows through (see the module's docstring).

    Attributes
    ----------
    n_features : int
    columns : list of str or None
        Names given to the tree's features, when the source has them.
    header : object or None
        What scikit-learn reads ``feature_names_in_`` from, or None for none.
    kind : str
        The input in words, for messages ("a chunked dataset").
    """

    n_features: int
    columns: list | None = None
    header = None
    kind = "this input"
    progress = NoProgress()

    @property
    def empty_message(self) -> str:
        """The error for a source without a row to fit."""
        return f"Found array with 0 sample(s) (shape=(0, {self.n_features})) while a minimum of 1 is required by PPP."

    @property
    def n_rows(self) -> int | None:
        """Rows with a positive weight, or None while it takes a pass to know."""
        raise NotImplementedError

    def total_weight(self) -> float:
        """The rows' summed weight."""
        return float(self.n_rows)

    def run(self, pass_, n_jobs: int = 1):
        """One pass: ``pass_``'s partials of the chunks, merged into one."""
        raise NotImplementedError

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows of positive weight and their weights, in memory."""
        raise NotImplementedError

    def labels(self, tree, n_jobs: int = 1, fitted=None):
        """Every row's label: ``fitted`` for the rows of :meth:`read`, else ``tree.predict``."""
        raise NotImplementedError


class ChunkSource(Source):
    """A source read chunk by chunk in this process; passes run on ``n_jobs`` threads.

    Subclasses give ``_chunks()``: an iterable of ``(X, w)``, rows of weight 0 included.
    """

    def run(self, pass_, n_jobs: int = 1):
        from concurrent.futures import ThreadPoolExecutor
        from contextlib import nullcontext

        total = pass_.empty()
        # Each pass is many small products: BLAS threads woken for each one wait for
        # each other whenever another process wants a core, so they run on one.
        with one_blas_thread(), self.progress.track(pass_.description, self.n_rows) as advance:
            with ThreadPoolExecutor(n_jobs) if n_jobs > 1 else nullcontext() as executor:
                if executor is None:
                    for X, w in self._chunks():
                        total = pass_.add(total, X, w)
                        advance(X.shape[0])
                    return total

                def part(chunk):
                    return pass_.add(pass_.empty(), *chunk), chunk[0].shape[0]

                # Partials are merged in chunk order, so the result does not depend on
                # which thread took which chunk.
                for partial, rows in ahead(executor, part, self._chunks(), n_jobs):
                    total.merge(partial)
                    advance(rows)
        return total


class ArraySource(ChunkSource):
    """An in-memory array with its sample weights, read in chunks of ``chunk_rows``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        float64 rows, finite (the estimator validates them).
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights; rows of weight 0 are left out of the fit and labelled by
        prediction.
    chunk_rows : int, default=65536
        Rows per chunk of a pass (the result does not depend on it).
    """

    kind = "an array"
    empty_message = "all sample weights are zero"

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray, chunk_rows: int = ARRAY_CHUNK_ROWS):
        self.X, self.w = X, sample_weight
        self.used = sample_weight > 0
        self.n_features = X.shape[1]
        self.chunk_rows = chunk_rows
        self._used_rows = None

    @property
    def n_rows(self) -> int:
        return int(self.used.sum())

    def total_weight(self) -> float:
        return self.read()[1].sum()

    def read(self):
        if self._used_rows is None:
            # Every row used (the usual case): the array itself, not a copy of it.
            every = self.used.all()
            self._used_rows = (self.X, self.w) if every else (self.X[self.used], self.w[self.used])
        return self._used_rows

    def _chunks(self):
        X, w = self.read()
        for start in range(0, X.shape[0], self.chunk_rows):
            yield X[start : start + self.chunk_rows], w[start : start + self.chunk_rows]

    def labels(self, tree, n_jobs: int = 1, fitted=None):
        if fitted is None:
            return label_rows(tree, self.X, n_jobs)
        labels = np.empty(self.X.shape[0], dtype=np.intp)
        labels[self.used] = fitted
        if not self.used.all():
            # Rows of weight 0 took no part in the fit: they are labelled by prediction.
            labels[~self.used] = tree.predict(self.X[~self.used])
        return labels


class DatasetSource(ChunkSource):
    """A chunked file (:class:`partitive.Dataset`), every row of weight 1.

    Parameters
    ----------
    dataset : Dataset
        Or anything with its ``chunks()``, ``count_rows()``, ``columns`` and
        ``n_features`` (and ``known_rows()``, else the count is taken by a pass).
    progress : object or None, default=None
        Told of every pass over the file (see :class:`NoProgress`).
    """

    kind = "a chunked dataset"

    def __init__(self, dataset, progress=None):
        self.dataset = dataset
        self.n_features = dataset.n_features
        self.columns = list(dataset.columns)
        if progress is not None:
            self.progress = progress

    @property
    def n_rows(self) -> int | None:
        known = getattr(self.dataset, "known_rows", None)
        return None if known is None else known()

    def total_weight(self) -> float:
        return float(self.dataset.count_rows())

    def _chunks(self):
        for X in self.dataset.chunks():
            yield X, np.ones(X.shape[0])

    def read(self):
        with self.progress.track("Reading", self.n_rows) as advance:
            parts = []
            for X in self.dataset.chunks():
                parts.append(X)
                advance(X.shape[0])
        X = np.vstack(parts)
        return X, np.ones(X.shape[0])

    def labels(self, tree, n_jobs: int = 1, fitted=None):
        if fitted is not None:
            return fitted
        n_rows = self.n_rows
        if n_rows is None:
            return np.concatenate(list(self._label_chunks(tree, n_jobs)))
        # Filled chunk by chunk: a list of the chunks' labels and their concatenation
        # would hold every label twice (1.6 GB at 1e8 rows).
        labels = np.empty(n_rows, dtype=np.intp)
        start = 0
        for chunk in self._label_chunks(tree, n_jobs):
            stop = start + chunk.size
            if stop > n_rows:
                break
            labels[start:stop] = chunk
            start = stop
        else:
            if start == n_rows:
                return labels
        raise DataError(
            f"the file changed while it was read: it held {n_rows} rows when counted and another number when labelled"
        )

    def _label_chunks(self, tree, n_jobs):
        with self.progress.track("Labelling", self.n_rows) as advance:
            for X in self.dataset.chunks():
                labels = label_rows(tree, X, n_jobs)
                advance(X.shape[0])
                yield labels


def as_source(X, progress=None) -> Source | None:
    """The source of a chunked file or a Dask collection.

    Parameters
    ----------
    X : object
        A :class:`Source` (returned as it is), a :class:`partitive.Dataset` or a Dask
        array or DataFrame.
    progress : object or None, default=None
        For a dataset: told of every pass (see :class:`NoProgress`).

    Returns
    -------
    source : Source or None
        None for anything else: arrays and frames, which the estimator validates
        first and reads through :class:`ArraySource`.
    """
    if isinstance(X, Source):
        return X
    if _is_dask(X):
        from .backends.dask import DaskSource

        return DaskSource(X)
    if hasattr(X, "weighted_chunks") and hasattr(X, "count_rows"):
        return DatasetSource(X, progress)
    return None


def _is_dask(X) -> bool:
    """A Dask array or DataFrame, told by its class's package: Dask is an optional extra."""
    return type(X).__module__.partition(".")[0] == "dask"


def n_threads(n_jobs) -> int:
    """Threads for ``n_jobs``: None and -1 all cores (as joblib counts them)."""
    from joblib import effective_n_jobs

    return effective_n_jobs(-1 if n_jobs is None else n_jobs)


def label_rows(tree, X, n_jobs: int) -> np.ndarray:
    """``tree.predict(X)``, blocks of rows in ``n_jobs`` threads, each on one BLAS thread.

    A row's label is computed from that row alone, so it does not depend on the blocks.
    """
    blocks = [X[start : start + LABEL_BLOCK_ROWS] for start in range(0, X.shape[0], LABEL_BLOCK_ROWS)]
    threads = min(n_jobs, len(blocks))
    with one_blas_thread():
        if threads <= 1:
            return tree.predict(X)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as executor:
            return np.concatenate(list(executor.map(tree.predict, blocks)))


def ahead(executor, function, items, n_jobs):
    """``map(function, items)`` on the executor's threads, a few items per thread taken
    ahead: every thread stays busy across chunk ends, and the rows held in memory are
    bounded."""
    from collections import deque

    pending: deque = deque()
    for item in items:
        pending.append(executor.submit(function, item))
        if len(pending) > 2 * n_jobs:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
