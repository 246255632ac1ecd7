"""The combinatorial step: a deterministic weighted 2-means split of one node.

Nothing here is random.  The two centroids start at ``mean +/- sqrt(lambda_1) v`` on the
node's first principal axis ``v`` (sign fixed canonically), Lloyd iterations run until
the assignment stops changing, and child 0 is the child whose centroid has the smaller
projection on ``v``.  The split is therefore a function of the node's points alone.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from ._threads import one_blas_thread

#: Lloyd iterations for k = 2 converge in a handful of steps; the cap only guards
#: against a two-state cycle on exact ties.
MAX_LLOYD_ITER = 300


@dataclass(frozen=True)
class Split:
    """A converged 2-means split of a node.

    ``goes_right`` is the assignment (True means child 1).  A point goes right iff
    ``x @ direction > threshold``: that hyperplane is the perpendicular bisector of the
    two centroids, so descending by threshold is the same as "nearest child centroid".
    """

    direction: np.ndarray
    threshold: float
    goes_right: np.ndarray
    centroids: np.ndarray
    principal_axis: np.ndarray
    n_iter: int


def weighted_mean(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w @ X) / w.sum()


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


def two_means(X: np.ndarray, w: np.ndarray) -> Split | None:
    """Split weighted points in two; ``None`` when they cannot be split (one location)."""
    mean = weighted_mean(X, w)
    Xc = X - mean
    v, lam = principal_axis(Xc, w)
    if lam <= 0.0 or not np.any(Xc @ v):
        return None
    spread = np.sqrt(lam)
    c0, c1 = -spread * v, spread * v
    goes_right = None
    W = w.sum()
    for n_iter in range(1, MAX_LLOYD_ITER + 1):
        delta = c1 - c0
        bound = 0.5 * (c1 @ c1 - c0 @ c0)
        assignment = Xc @ delta > bound
        if goes_right is not None and np.array_equal(assignment, goes_right):
            break
        w_right = w[assignment].sum()
        if w_right <= 0.0 or w_right >= W:
            if goes_right is None:
                return None
            break
        goes_right = assignment
        # Xc is centred, so child 0's weighted sum is minus child 1's: one product
        # per iteration and no copies of the rows.
        right_sum = (w * goes_right) @ Xc
        c1 = right_sum / w_right
        c0 = -right_sum / (W - w_right)
    delta = c1 - c0
    if delta @ v < 0:
        # Canonical child order: child 0 has the smaller projection on the principal axis.
        c0, c1, delta = c1, c0, -delta
    direction = delta / np.linalg.norm(delta)
    # Bisector of c0 and c1 in centred coordinates, moved back to the original frame.
    threshold = float(0.5 * (c0 + c1) @ direction + mean @ direction)
    # The final assignment is the descent rule itself, evaluated exactly as prediction
    # evaluates it, so that labels_ always equal predict(X) on the training points.
    goes_right = X @ direction > threshold
    if not goes_right.any() or goes_right.all():
        return None
    return Split(
        direction=direction,
        threshold=threshold,
        goes_right=goes_right,
        centroids=np.vstack([c0, c1]) + mean,
        principal_axis=v,
        n_iter=n_iter,
    )
