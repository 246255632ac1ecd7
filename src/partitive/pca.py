"""Principal axes: the one eigensolver behind every principal-component computation.

The split's start (:func:`principal_axis`), the data's leading axes for clustering in
high dimension (:func:`partitive.prepare.principal_axes`), the codebook's projection,
the one-Gaussian check and the report's scatter plot (:func:`plot_axes`) all take
their axes from :func:`leading_axes`, with signs fixed by :func:`canonical_sign`.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from ._threads import one_blas_thread


def canonical_sign(v: np.ndarray) -> np.ndarray:
    """Flip ``v`` so that its largest-magnitude entry (the first, on ties) is positive."""
    i = int(np.argmax(np.abs(v)))
    return -v if v[i] < 0 else v


def principal_axis(Xc: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """First principal axis and its variance for centred, weighted points.

    Uses a direct (non-iterative) LAPACK eigensolver, so there is no start vector to
    choose; the axis sign is fixed by :func:`canonical_sign`.
    """
    values, vectors = leading_axes(Xc, w, 1)
    return canonical_sign(vectors[:, -1]), float(max(values[-1], 0.0))


#: Eigensolves of these sizes (from, below) run on one BLAS thread (leading_axes).
SERIAL_EIGH_SIZES = (32, 1024)


#: Inner-dimension blocks of :func:`ordered_product`.
PRODUCT_BLOCK = 4096


def ordered_product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` with the same bits on any number of BLAS threads.

    OpenBLAS rounds a product differently on one thread and on more (in the last bits,
    enough to move a split's direction).  Here the inner dimension is cut into fixed blocks, each
    product made on one BLAS thread (the caller holds ``one_blas_thread``) and the
    blocks summed in order; the blocks run in parallel Python threads.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, A.shape[1], PRODUCT_BLOCK)
    with ThreadPoolExecutor(max(1, min(len(starts), os.cpu_count() or 1))) as pool:
        parts = pool.map(lambda s: A[:, s : s + PRODUCT_BLOCK] @ B[s : s + PRODUCT_BLOCK], starts)
        total = next(parts)
        for part in parts:
            total += part
    return total


def leading_axes(Xc: np.ndarray, w: np.ndarray, q: int, diagonal=None, product=np.matmul):
    """The ``q`` largest principal variances (ascending) and their unit axes (columns).

    ``diagonal``: per-feature variance added to the scatter's diagonal (the rows' own
    spread); ``product``: how the scatter's matrix product is made.  LAPACK's ?syevr
    computes only the eigenpairs asked for: much faster than all of them in hundreds
    of dimensions, where the eigensolver dominates a split.
    """
    from scipy.linalg import eigh

    n, d = Xc.shape
    W = w.sum()
    gram = d > n and diagonal is None
    q = min(q, n if gram else d)
    if gram:
        # d > n: the n x n Gram matrix has the same non-zero spectrum and is smaller.
        root = Xc * np.sqrt(w / W)[:, None]
        scatter = product(root, root.T)
    else:
        scatter = product((Xc * w[:, None]).T, Xc) / W
        if diagonal is not None:
            scatter[np.diag_indices_from(scatter)] += diagonal
    size = scatter.shape[0]
    # OpenBLAS threads the level-2 calls of the tridiagonal reduction, and below about
    # a thousand dimensions the threads cost more than they gain (OpenBLAS issue
    # #3801): on few cores an eigensolve in a few hundred dimensions runs several
    # times slower threaded than on one thread.  Small ones never thread.
    serial = one_blas_thread() if SERIAL_EIGH_SIZES[0] <= size < SERIAL_EIGH_SIZES[1] else nullcontext()
    with serial:
        values, vectors = eigh(scatter, subset_by_index=[max(0, size - q), size - 1], driver="evr")
    if gram:
        vectors = root.T @ vectors
        norms = np.linalg.norm(vectors, axis=0)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return values, vectors


def plot_axes(X: np.ndarray):
    """Mean, the first two principal axes (rows, signs fixed) and their shares of the
    variance, of unweighted rows (two zero axes and shares where there are fewer)."""
    mean = X.mean(axis=0)
    centred = X - mean
    values, vectors = leading_axes(centred, np.ones(X.shape[0]), 2)
    values, vectors = np.maximum(values[::-1], 0.0), vectors[:, ::-1]
    axes = np.zeros((2, X.shape[1]))
    shares = np.zeros(2)
    total = (centred**2).sum() / X.shape[0]
    for i in range(values.size):
        # An axis and its negative are equally principal; the largest loading is made positive.
        axes[i] = canonical_sign(vectors[:, i])
        shares[i] = values[i] / total if total > 0 else 0.0
    return mean, axes, shares
