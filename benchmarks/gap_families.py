"""Families of draws for ``benchmarks/families.py``: shapes that empty space separates.

    PARTITIVE_FAMILIES=benchmarks/gap_families.py python benchmarks/families.py --family boxes
    PARTITIVE_FAMILIES=benchmarks/gap_families.py python benchmarks/families.py --family nested
    PARTITIVE_FAMILIES=benchmarks/gap_families.py python benchmarks/families.py --family blob_grids

``boxes``: 3-7 uniform boxes in the cells of a grid (3 x 3 in two features, 2 x 2 x 2 in three),
cells of random widths, each box its cell less an empty margin: neighbouring boxes face
each other across a gap of 2-5 row spacings of the sparsest cell (at most 40 % of the
narrowest cell; the boxes, a gap narrower than their cells, are a little denser), some
along a whole side, some only at a corner.  One cluster per box.
The gap is far narrower than the boxes, so it is no slab of several deviations along
the line between two boxes, yet the eye sees it at once.

``nested``: a thin ring of 200-800 rows (radius 1, radial deviation 0.5-2 %) around a
denser shape well inside it, a thin ring (radius 0.15-0.4) or a round Gaussian
(deviation 0.04-0.1) of 300-800 rows.  Two clusters.  The outer ring's rows are
0.008-0.03 apart along it, the shapes 0.4-0.8 apart: the gap is dozens of the outer
ring's spacings, but only a few of its neighbourhoods of 15 rows.

``blob_grids``: a grid of 2 x 2 to 4 x 4 unit Gaussians of 40-199 rows, 3.5-6
deviations apart, in 2-3 features, and one more 8-12 deviations beyond
(:func:`partitive.datasets.blob_grid`).  One cluster per Gaussian.  The empty space
around the grid makes it a group far from the rest, as a lumpy cloud is; inside it
blobs of a few dozen rows touch, their seams smoothed over at a neighbourhood's scale.
"""

from __future__ import annotations

import numpy as np

from partitive.datasets import blob_grid


def boxes(rng):
    d = int(rng.integers(2, 4))
    side = 3 if d == 2 else 2
    edges = [np.r_[0, np.cumsum(rng.uniform(0.6, 1.4, side))] for _ in range(d)]
    cells = np.array(np.meshgrid(*[np.arange(side)] * d, indexing="ij")).reshape(d, -1).T
    k = int(rng.integers(3, min(7, len(cells)) + 1))
    chosen = cells[rng.choice(len(cells), k, replace=False)]
    rows = rng.integers(150, 800, k) * (1 if d == 2 else 3)
    low = np.array([[edges[j][c[j]] for j in range(d)] for c in chosen])
    high = np.array([[edges[j][c[j] + 1] for j in range(d)] for c in chosen])
    spacing = (np.prod(high - low, axis=1) / rows) ** (1 / d)
    gap = min(rng.uniform(2, 5) * spacing.max(), 0.4 * (high - low).min())
    X = np.vstack([rng.uniform(low[i] + gap / 2, high[i] - gap / 2, (rows[i], d)) for i in range(k)])
    return X, np.repeat(np.arange(1, k + 1), rows)


def nested(rng):
    def ring(n, radius, width):
        angle = rng.uniform(0, 2 * np.pi, n)
        r = radius * (1 + width * rng.standard_normal(n))
        return np.c_[r * np.cos(angle), r * np.sin(angle)]

    outer = ring(int(rng.integers(200, 801)), 1.0, rng.uniform(0.005, 0.02))
    n_inner = int(rng.integers(300, 801))
    if rng.integers(2):
        inner = ring(n_inner, rng.uniform(0.15, 0.4), rng.uniform(0.02, 0.05))
    else:
        inner = rng.uniform(0.04, 0.1) * rng.standard_normal((n_inner, 2))
    return np.vstack([outer, inner]), np.repeat([1, 2], [len(outer), n_inner])


def blob_grids(rng):
    X, y = blob_grid(rng)
    return X, y + 1


FAMILIES = {"boxes": boxes, "nested": nested, "blob_grids": blob_grids}
