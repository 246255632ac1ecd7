"""The combinatorial step: a deterministic weighted 2-means split of one node.

Nothing here is random.  The two centroids start at ``mean +/- sqrt(lambda_1) v`` on the
node's first principal axis ``v`` (sign fixed canonically), Lloyd iterations run until
the assignment stops changing, and child 0 is the child whose centroid has the smaller
projection on ``v``.  The split is therefore a function of the node's points alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pca import principal_axis

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


def separating_hyperplane(X: np.ndarray, w: np.ndarray, goes_right: np.ndarray) -> tuple[np.ndarray, float]:
    """A hyperplane ``x @ direction > threshold`` that sends the most weight of two given
    sides (``goes_right``: side 1) to their own side: the direction from side 0's
    centroid to side 1's (the principal axis where the two coincide), the threshold
    the cut along it that misroutes the least weight.

    Sides that no hyperplane separates (a ring around a blob) are only approximated:
    a descent of the tree by hyperplanes routes some of their rows to the other side.
    """
    c0, c1 = weighted_mean(X[~goes_right], w[~goes_right]), weighted_mean(X[goes_right], w[goes_right])
    direction = c1 - c0
    norm = np.linalg.norm(direction)
    if not norm > 0:
        direction, norm = principal_axis(X - weighted_mean(X, w), w)[0], 1.0
    direction = direction / norm
    t = X @ direction
    order = np.argsort(t, kind="stable")
    right = np.where(goes_right, w, 0.0)[order]
    left = np.where(goes_right, 0.0, w)[order]
    # Cutting after the i-th point sends the right side's weight below it, and the
    # left side's above it, astray; either way round.
    right_below = np.r_[0.0, np.cumsum(right)]
    left_above = left.sum() - np.r_[0.0, np.cumsum(left)]
    misrouted = right_below + left_above
    flipped = (right.sum() - right_below) + (left.sum() - left_above)
    if flipped.min() < misrouted.min():
        direction, t, misrouted = -direction, -t, flipped[::-1]
        order = order[::-1]
    cut = int(np.argmin(misrouted))
    ts = t[order]
    if cut == 0:
        threshold = ts[0] - 1.0
    elif cut == ts.size:
        threshold = ts[-1]
    else:
        threshold = 0.5 * (ts[cut - 1] + ts[cut])
    return direction, float(threshold)
