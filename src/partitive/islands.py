"""Islands: the groups of rows that empty space separates, and what keeps them apart.

The islands themselves are read from the rows' single-linkage hierarchy
(:meth:`partitive.empty_space.SingleLinkage.islands`, :meth:`partitive.density.Density.islands`).
Here: the split growth makes between the islands a node holds, before any 2-means, and
each cluster's island, by which Lloyd keeps every row with its own island's centres
(:func:`partitive.refine.nearest_center`).  Reference: docs/method.md, "Growth";
docs/design/islands.md.
"""

from __future__ import annotations

import numpy as np


def split_between(island, paths, idx, w, min_weight):
    """The rows ``idx`` on either side of the highest empty-space step between the
    islands they hold with at least ``min_weight`` each (``island``: each row's island;
    ``paths``: each island's path down the hierarchy, sorted), or None where they hold
    fewer than two such islands.  The highest step between any of them is where the
    first and last paths part; rows of lighter islands go by their own paths."""
    held = np.bincount(island[idx], weights=w[idx], minlength=len(paths))
    present = np.flatnonzero(held >= min_weight)
    if present.size < 2:
        return None
    first, last = paths[present[0]], paths[present[-1]]
    depth = next(i for i, (a, b) in enumerate(zip(first, last)) if a != b)
    prefix = first[: depth + 1]
    left = np.array([path[: depth + 1] == prefix for path in paths])[island[idx]]
    return idx[left], idx[~left]


def center_islands(island, labels, k, w):
    """Each of ``k`` clusters' island: the one holding most of its weight (``island``
    and ``labels``, one per row)."""
    n_islands = int(island.max()) + 1
    held = np.bincount(labels * n_islands + island, weights=w, minlength=k * n_islands)
    return held.reshape(k, n_islands).argmax(axis=1)
