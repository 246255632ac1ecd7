"""Families of draws for ``benchmarks/families.py``: clusters far from Gaussian.

    PARTITIVE_FAMILIES=benchmarks/tail_families.py python benchmarks/families.py --family peaked

``peaked``: two clusters of 500-1,500 rows side by side in 1-128 features (a power of
two).  Each row lies in a uniform direction from its cluster's centre, at a distance
drawn from a law peaked at zero (half-normal, exponential, or the absolute value of
Student's t with 3 degrees of freedom), so a cluster is far denser at its centre than
a Gaussian and heavy-tailed.  The two centres are 0.5-3 times the distances' scale
apart, along a random direction.  Two clusters.  Gaussian EM fits such a pair better
with a narrow component for one cluster's core and a wide one for the rest.
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


FAMILIES = {"peaked": peaked}
