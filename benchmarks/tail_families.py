"""Families of draws for ``benchmarks/families.py``: pairs that growth's valleys miss.

    PARTITIVE_FAMILIES=benchmarks/tail_families.py python benchmarks/families.py --family peaked

``peaked``: two clusters of 500-1,500 rows side by side in 1-128 features (a power of
two).  Each row lies in a uniform direction from its cluster's centre, at a distance
drawn from a law peaked at zero (half-normal, exponential, or the absolute value of
Student's t with 3 degrees of freedom), so a cluster is far denser at its centre than
a Gaussian and heavy-tailed.  The two centres are 0.5-3 times the distances' scale
apart, along a random direction.  Two clusters.  Gaussian EM fits such a pair better
with a narrow component for one cluster's core and a wide one for the rest.

``close``: two round Gaussians of 500-2,000 rows each in 1-128 features (a power of
two), their centres 1.5-4 deviations apart: from two deviations down, one peak with
no valley between the two.  In half the draws every value is rounded to a grid of a
tenth to a half of a deviation (measurements recorded to a fixed precision), so
that many rows share values.  Two clusters; the labels are the Gaussian each row was
drawn from, so even the best partition scores below 1 where they overlap.
"""

from __future__ import annotations

import numpy as np


def peaked(rng):
    d = int(2 ** rng.integers(0, 8))
    sizes = rng.integers(500, 1501, 2)
    law = int(rng.integers(3))
    parts = []
    for n in sizes:
        direction = rng.standard_normal((n, d))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        if law == 0:
            distance = np.abs(rng.standard_normal(n))
        elif law == 1:
            distance = rng.exponential(1.0, n)
        else:
            distance = np.abs(rng.standard_t(3, n))
        parts.append(direction * distance[:, None])
    offset = rng.standard_normal(d)
    parts[1] += rng.uniform(0.5, 3.0) * offset / np.linalg.norm(offset)
    return np.vstack(parts), np.repeat([1, 2], sizes)


def close(rng):
    d = int(2 ** rng.integers(0, 8))
    sizes = rng.integers(500, 2001, 2)
    offset = rng.standard_normal(d)
    offset *= rng.uniform(1.5, 4.0) / np.linalg.norm(offset)
    X = np.vstack([rng.standard_normal((sizes[0], d)), rng.standard_normal((sizes[1], d)) + offset])
    if rng.random() < 0.5:
        step = rng.uniform(0.1, 0.5)
        X = np.round(X / step) * step
    return X, np.repeat([1, 2], sizes)


FAMILIES = {"peaked": peaked, "close": close}
