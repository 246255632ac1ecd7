"""Refinement: weighted Lloyd iterations from the tree's leaves, past strays.

A 2-means cut high in the tree can pass through a cluster; Lloyd moves each boundary to
where the points are.  A few far outliers must not pull a centre onto themselves.
"""

from __future__ import annotations

import numpy as np

from .mixture import group_sums


#: Lloyd iterations for the global refinement; it converges long before on real data.
MAX_REFINE_ITER = 300
#: A node's 2-means may cut off this many groups of strays (each lighter than
#: ``min_cluster_size``) before the node is left whole; each cut costs a 2-means.
MAX_STRAY_CUTS = 8


def refine(X, w, centers, islands=None):
    """Weighted Lloyd from the given centres; labels are exactly nearest(centres)
    (within each row's island, where ``islands`` is given: see :func:`nearest_center`)."""
    labels = nearest_center(X, centers, islands)
    for _ in range(MAX_REFINE_ITER):
        centers = weighted_centers(X, w, labels, centers)
        new = nearest_center(X, centers, islands)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels, centers


def refine_past_strays(X, w, leaf_of, centroids, min_cluster_size, islands=None):
    """Lloyd from the leaves' centroids, past strays (``leaf_of``: each row's leaf, as
    an index into ``centroids``).

    A few far outliers sit in the leaf nearest them and pull its centroid; Lloyd then
    moves that centre onto them alone, and the cluster it stood for joins a neighbour
    (3 blobs and 3 outliers came back as 2 clusters).  So where Lloyd ends with
    clusters lighter than ``min_cluster_size``, their points are strays: weightless
    in every centre, and Lloyd runs again, at most MAX_STRAY_CUTS times, with each
    light cluster's centre put back at its leaf's centroid without the strays (where
    the cluster it lost stands) and the other centres where Lloyd left them.  (Going
    back to every leaf's centroid replayed the whole descent each time: in 384-D,
    where Lloyd drains pieces of one cluster one at a time, 6 restarts of ~40
    iterations.)  Strays are labelled by the nearest centre like every point.
    ``islands``: see :func:`nearest_center`.
    """
    labels, centers = refine(X, w, centroids, islands)
    weight = w
    for _ in range(MAX_STRAY_CUTS):
        light = np.bincount(labels, weights=weight, minlength=centroids.shape[0]) < min_cluster_size
        strays = light[labels] & (weight > 0)
        if not strays.any():
            break
        weight = np.where(strays, 0.0, weight)
        restart = np.where(light[:, None], weighted_centers(X, weight, leaf_of, centroids), centers)
        labels, centers = refine(X, weight, restart, islands)
    return labels, centers


def weighted_centers(X, w, labels, previous):
    k = previous.shape[0]
    W = np.bincount(labels, weights=w, minlength=k)
    sums = group_sums(X, labels, k, w)
    centers = previous.copy()
    filled = W > 0
    centers[filled] = sums[filled] / W[filled, None]
    return centers


#: Rows per block in nearest_center: bounds the (rows x centres) distance matrix.
NEAREST_BLOCK_ROWS = 16_384


def nearest_center(X: np.ndarray, centers: np.ndarray, islands=None) -> np.ndarray:
    """Index of the nearest centre for each row (ties go to the lower index).

    ``islands``: ``(island of each row, island of each centre)``, or None.  A row then
    goes to the nearest centre of its own island (any centre, where its island has
    none): groups that empty space separates are never merged, and a Lloyd step must
    not carry rows across the gap to a centre that lies nearer (the centre of an arc
    of one spiral arm can lie nearer the next arm's rows than their own arc's).
    """
    if islands is not None:
        row_island, center_island = islands
        # Each island's distance offset to every centre: +inf to other islands'
        # centres, 0 to its own (to all, for an island with none); one gather per
        # block, not a row-by-centre comparison.
        n_islands = int(max(row_island.max(initial=0), center_island.max(initial=0))) + 1
        offset = np.where(center_island[None, :] == np.arange(n_islands)[:, None], 0.0, np.inf)
        offset[~np.isin(np.arange(n_islands), center_island)] = 0.0
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every centre.
    norms = (centers * centers).sum(axis=1)
    # Scaling by -2 is exact, so x.(-2c) + |c|^2 are the very values of |c|^2 - 2 x.c,
    # made in one buffer reused by every block.
    scaled = -2.0 * centers.T
    out = np.empty(X.shape[0], dtype=np.intp)
    buffer = np.empty((min(NEAREST_BLOCK_ROWS, X.shape[0]), centers.shape[0]))
    for start in range(0, X.shape[0], NEAREST_BLOCK_ROWS):
        block = X[start : start + NEAREST_BLOCK_ROWS]
        distance = np.matmul(block, scaled, out=buffer[: block.shape[0]])
        distance += norms
        if islands is not None:
            distance += offset[row_island[start : start + block.shape[0]]]
        out[start : start + block.shape[0]] = np.argmin(distance, axis=1)
    return out
