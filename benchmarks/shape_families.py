"""Families of draws for ``benchmarks/families.py``: shapes a person names at a glance.

    PARTITIVE_FAMILIES=benchmarks/shape_families.py python benchmarks/families.py
    PARTITIVE_FAMILIES=benchmarks/shape_families.py python benchmarks/families.py --family face

Classic kinds of shapes, each drawn afresh per seed (sizes, widths, gaps and noise at
random), none of them Gaussian blobs far apart; what a person would name in a scatter
plot of any draw is the number of clusters.  Label 0 marks stray rows (left out of the
score).

- ``core_in_shell``: a dense round ball inside a thin spherical shell (3 features): 2.
- ``linked_rings``: two rings through each other, at right angles (3 features): 2.
- ``blob_in_ring``: a round blob inside a ring, a few stray rows far out: 2.
- ``bars_and_blob``: two long thin uniform bars at right angles, apart, and a round blob: 3.
- ``gradient_boxes``: two rectangles side by side across a narrow gap, each thinning
  from one end to the other: 2.
- ``diamonds``: two uniform diamonds meeting, or nearly, at a corner: 2.
- ``tetrahedron``: four round Gaussians on a tetrahedron's corners, 4.5-7 deviations
  apart (3 features): 4.
- ``zigzags``: 3-5 thin zigzag lines stacked apart: one each.
- ``moons``: two interleaved half circles: 2.
- ``face``: a ring outline, two round eyes and a curved mouth: 4.
- ``stripes``: 3-6 long parallel uniform stripes, gaps of half to one and a half
  stripe widths: one each.
- ``spirals``: two interleaved spiral arms: 2.
- ``combs``: two uniform combs, their teeth interleaved across empty gaps of 2-5 row
  spacings: 2.
- ``frame``: a uniform square frame around 2-4 uniform squares: one each.
"""

from __future__ import annotations

import numpy as np


def _ring_3d(rng, n, tube, plane, centre):
    angle = rng.uniform(0, 2 * np.pi, n)
    ring = np.c_[np.cos(angle), np.sin(angle), np.zeros(n)] + tube * rng.standard_normal((n, 3))
    return (ring[:, [0, 2, 1]] if plane == "xz" else ring) + centre


def core_in_shell(rng):
    n_core, n_shell = rng.integers(300, 900, 2)
    core = rng.uniform(0.08, 0.25) * rng.standard_normal((n_core, 3))
    direction = rng.standard_normal((n_shell, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    shell = direction * (1 + rng.uniform(0.01, 0.05) * rng.standard_normal((n_shell, 1)))
    return np.vstack([core, shell]), np.repeat([1, 2], [n_core, n_shell])


def linked_rings(rng):
    n1, n2 = rng.integers(300, 900, 2)
    tube = rng.uniform(0.03, 0.1)
    first = _ring_3d(rng, n1, tube, "xy", np.zeros(3))
    second = _ring_3d(rng, n2, tube, "xz", np.array([1.0, 0.0, 0.0]))
    return np.vstack([first, second]), np.repeat([1, 2], [n1, n2])


def blob_in_ring(rng):
    n_blob, n_ring = rng.integers(200, 700), rng.integers(300, 900)
    blob = rng.uniform(0.3, 0.6) * rng.standard_normal((n_blob, 2))
    angle = rng.uniform(0, 2 * np.pi, n_ring)
    radius = rng.uniform(2.5, 4) * (1 + rng.uniform(0.02, 0.06) * rng.standard_normal(n_ring))
    ring = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    stray = rng.uniform(-7, 7, (int(rng.integers(0, 13)), 2))
    return np.vstack([blob, ring, stray]), np.repeat([1, 2, 0], [n_blob, n_ring, len(stray)])


def bars_and_blob(rng):
    n = rng.integers(150, 600, 3)
    width = rng.uniform(0.3, 0.8)
    across = rng.uniform([0, 0], [4, width], (n[0], 2))
    up = rng.uniform([0, 0], [width, 4], (n[1], 2)) + [0, width + rng.uniform(0.3, 0.8)]
    blob = rng.uniform(0.3, 0.5) * rng.standard_normal((n[2], 2)) + [3, 3]
    return np.vstack([across, up, blob]), np.repeat([1, 2, 3], n)


def gradient_boxes(rng):
    n = int(rng.integers(400, 1000))
    gap = rng.uniform(0.1, 0.3)

    def thinning(m):
        # Rejection sampling: density falls by exp(-2.5) from one corner to the other.
        u = rng.uniform(size=(m * 4, 2))
        keep = rng.uniform(size=m * 4) < np.exp(-2.5 * (u[:, 0] + u[:, 1]) / 2)
        return u[keep][:m] * [2, 1]

    left, right = thinning(n), thinning(n)
    right = np.c_[-right[:, 0], -right[:, 1]] + [-gap, 1]
    return np.vstack([left, right]), np.repeat([1, 2], [len(left), len(right)])


def diamonds(rng):
    n1, n2 = rng.integers(300, 900, 2)

    def diamond(m):
        u = rng.uniform(-1, 1, (m, 2))
        return np.c_[u[:, 0] + u[:, 1], u[:, 0] - u[:, 1]] / 2

    gap = rng.uniform(0.0, 0.1)
    return np.vstack([diamond(n1), diamond(n2) + [2 + gap, 0]]), np.repeat([1, 2], [n1, n2])


def tetrahedron(rng):
    corners = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    deviation = np.sqrt(8) / rng.uniform(4.5, 7)
    n = rng.integers(150, 500, 4)
    X = np.vstack([corners[i] + deviation * rng.standard_normal((n[i], 3)) for i in range(4)])
    return X, np.repeat([1, 2, 3, 4], n)


def zigzags(rng):
    k = int(rng.integers(3, 6))
    X, y = [], []
    for i in range(k):
        m = int(rng.integers(200, 600))
        t = rng.uniform(0, 4, m)
        height = np.abs((t % 1) - 0.5) * rng.uniform(0.6, 1.2)
        X.append(np.c_[t, height + 1.3 * i] + 0.02 * rng.standard_normal((m, 2)))
        y += [i + 1] * m
    return np.vstack(X), np.array(y)


def moons(rng):
    n1, n2 = rng.integers(300, 900, 2)
    noise = rng.uniform(0.03, 0.08)
    a, b = rng.uniform(0, np.pi, n1), rng.uniform(0, np.pi, n2)
    X = np.vstack([np.c_[np.cos(a), np.sin(a)], np.c_[1 - np.cos(b), 0.5 - np.sin(b)]])
    return X + noise * rng.standard_normal((n1 + n2, 2)), np.repeat([1, 2], [n1, n2])


def face(rng):
    n = rng.integers(150, 500, 4)
    angle = rng.uniform(0, 2 * np.pi, n[0])
    outline = np.c_[np.cos(angle), np.sin(angle)] * (1 + 0.02 * rng.standard_normal((n[0], 1)))
    eye = rng.uniform(0.04, 0.08)
    left_eye = eye * rng.standard_normal((n[1], 2)) + [-0.35, 0.3]
    right_eye = eye * rng.standard_normal((n[2], 2)) + [0.35, 0.3]
    smile = rng.uniform(1.15 * np.pi, 1.85 * np.pi, n[3])
    mouth = np.c_[0.55 * np.cos(smile), 0.55 * np.sin(smile) + 0.05] + 0.02 * rng.standard_normal((n[3], 2))
    return np.vstack([outline, left_eye, right_eye, mouth]), np.repeat([1, 2, 3, 4], n)


def stripes(rng):
    k = int(rng.integers(3, 7))
    width, gap = 0.2, rng.uniform(0.1, 0.3)
    X, y = [], []
    for i in range(k):
        m = int(rng.integers(200, 700))
        X.append(rng.uniform([0, 0], [5, width], (m, 2)) + [0, i * (width + gap)])
        y += [i + 1] * m
    return np.vstack(X), np.array(y)


def spirals(rng):
    n1, n2 = rng.integers(300, 900, 2)

    def arm(m, phase):
        t = np.sqrt(rng.uniform(0.05, 1, m)) * 3 * np.pi
        return np.c_[t * np.cos(t + phase), t * np.sin(t + phase)] + 0.2 * rng.standard_normal((m, 2))

    return np.vstack([arm(n1, 0), arm(n2, np.pi)]), np.repeat([1, 2], [n1, n2])


def combs(rng):
    teeth = int(rng.integers(2, 5))
    height, gap, length = 1.0, rng.uniform(0.3, 0.5), 8.0
    total = 2 * teeth * (height + gap) - gap
    first = [(0, 0, 1, total)]
    second = [(1 + length + 2 * gap, 0, 2 + length + 2 * gap, total)]
    for i in range(2 * teeth):
        low = i * (height + gap)
        if i % 2 == 0:
            first.append((1, low, 1 + length, low + height))
        else:
            second.append((1 + 2 * gap, low, 1 + 2 * gap + length, low + height))
    density = rng.uniform(40, 100)  # rows per unit area: gaps of 2-5 row spacings
    X, y = [], []
    for label, boxes in ((1, first), (2, second)):
        for x0, y0, x1, y1 in boxes:
            m = int(density * (x1 - x0) * (y1 - y0))
            X.append(rng.uniform([x0, y0], [x1, y1], (m, 2)))
            y += [label] * m
    return np.vstack(X), np.array(y)


def frame(rng):
    k = int(rng.integers(2, 5))
    density, width, side = rng.uniform(15, 40), rng.uniform(0.6, 1.0), 10.0
    P = rng.uniform(0, side, (int(density * side * side), 2))
    inside = (P > width).all(axis=1) & (P < side - width).all(axis=1)
    X, y = [P[~inside]], [np.ones(int((~inside).sum()), dtype=int)]
    corners = [(2.2, 2.2), (2.2, 5.8), (5.8, 2.2), (5.8, 5.8)]
    for i, c in enumerate(rng.permutation(4)[:k]):
        a = rng.uniform(1.6, 2.0)
        m = int(density * a * a)
        X.append(rng.uniform(corners[c], np.add(corners[c], a), (m, 2)))
        y.append(np.full(m, i + 2))
    return np.vstack(X), np.concatenate(y)


FAMILIES = {
    f.__name__: f
    for f in (
        core_in_shell, linked_rings, blob_in_ring, bars_and_blob, gradient_boxes, diamonds, tetrahedron,
        zigzags, moons, face, stripes, spirals, combs, frame,
    )
}
