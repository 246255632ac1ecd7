"""Example data: the bundled example and deterministic generators for tests and demos."""

from __future__ import annotations

from importlib import resources

import numpy as np

EXAMPLE_NAME = "customers.csv"


def example_path():
    """Path of the bundled example CSV (a header row, then one customer a row)."""
    return resources.files("partitive") / "data" / EXAMPLE_NAME


def load_example():
    """The bundled example: ``(X, feature_names, true_labels)``.

    600 synthetic customers described by four numeric features (annual spend, visits
    per month, basket size, days since last visit), drawn from five segments of
    different sizes and shapes.  The last column of the file is the segment the row
    was drawn from, kept only to check a clustering against.
    """
    with example_path().open("r", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
        table = np.loadtxt(fh, delimiter=",")
    return table[:, :-1], header[:-1], table[:, -1].astype(int)


def well_separated_blobs(k, d, n_per=60, spread=0.5, separation=12.0, seed=0):
    """Isotropic Gaussian blobs whose centres are at least ``separation`` apart.

    Returns ``(X, y)``; the same arguments always give the same data.
    """
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    centers *= separation * np.sqrt(d) / np.linalg.norm(centers, axis=1, keepdims=True).clip(1e-9)
    while k > 1:
        gaps = np.linalg.norm(centers[:, None] - centers[None], axis=-1) + np.eye(k) * 1e9
        if gaps.min() >= separation:
            break
        centers *= 1.25
    X = np.vstack([c + spread * rng.normal(size=(n_per, d)) for c in centers])
    return X, np.repeat(np.arange(k), n_per)


def _write_example(path):
    """How the bundled example was made (kept so it can be regenerated and audited)."""
    rng = np.random.default_rng(20261124)
    segments = [  # size, mean (spend, visits, basket, recency), scales
        (200, (420.0, 2.0, 35.0, 40.0), (60.0, 0.5, 6.0, 10.0)),
        (150, (1800.0, 8.0, 60.0, 6.0), (200.0, 1.2, 8.0, 2.0)),
        (110, (950.0, 4.5, 110.0, 15.0), (90.0, 0.8, 12.0, 4.0)),
        (90, (150.0, 0.6, 20.0, 160.0), (30.0, 0.2, 4.0, 25.0)),
        (50, (3900.0, 12.0, 95.0, 3.0), (350.0, 1.5, 10.0, 1.0)),
    ]
    rows = []
    for label, (size, mean, scale) in enumerate(segments):
        block = rng.normal(mean, scale, size=(size, 4))
        block[:, 1:] = np.abs(block[:, 1:])
        rows.append(np.column_stack([block, np.full(size, label)]))
    table = np.vstack(rows)[rng.permutation(600)]
    header = "annual_spend,visits_per_month,basket_size,days_since_visit,segment"
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=["%.2f"] * 4 + ["%d"])


def random_gaussian_clusters(seed, d):
    """3-8 Gaussian clusters of 100-400 rows, each turned at random and stretched (sd
    0.7-2.5 along its own axes), centres at least 6 apart in a box of half-width 12.

    Returns ``(X, y, k)``; the same arguments always give the same data.  Clusters
    touch in two dimensions more often than in five.
    """
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 9))
    centers = []
    while len(centers) < k:
        center = rng.uniform(-12, 12, d)
        if all(np.linalg.norm(center - other) > 6 for other in centers):
            centers.append(center)
    X, truth = [], []
    for j, center in enumerate(centers):
        n = int(rng.integers(100, 400))
        rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
        sd = rng.uniform(0.7, 2.5, d)
        X.append(center + (rng.normal(size=(n, d)) * sd) @ rotation.T)
        truth += [j] * n
    return np.vstack(X), np.array(truth), k


def two_gaussians(seed, d, separation, n=2000, spherical=False):
    """Two Gaussians of ``n`` rows split evenly, their centres ``separation`` standard
    deviations apart along the line joining them (each one's deviation along it,
    averaged): random covariances (axes scaled 0.5-2, randomly turned), or identity
    ones where ``spherical``.

    Returns ``(X, y)``; the same arguments always give the same data.
    """
    rng = np.random.default_rng(seed)
    if spherical:
        scales = [np.eye(d), np.eye(d)]
    else:
        scales = [np.linalg.qr(rng.standard_normal((d, d)))[0] * rng.uniform(0.5, 2, d) for _ in range(2)]
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    sd = [np.linalg.norm(a.T @ u) for a in scales]
    means = [np.zeros(d), u * separation * (sd[0] + sd[1]) / 2]
    sizes = [n // 2, n - n // 2]
    X = np.vstack([rng.standard_normal((m, d)) @ a.T + mu for m, a, mu in zip(sizes, scales, means)])
    return X, np.repeat([0, 1], sizes)


def groups_in_noise(seed):
    """2-4 compact groups of 20-60 rows (deviation 0.35, centres at least 3.5 apart) in
    uniform noise, 25-100 % as many rows as the groups.

    The noise fills the centres' bounding box widened by 4 on every side.  ``seed``
    is anything ``numpy.random.default_rng`` takes (an int or a sequence of ints).
    Returns ``(X, y)``: ``y`` is each group's number from 0, and -1 for the noise; the
    same seed always gives the same data.
    """
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 5)
    centres = []
    while len(centres) < k:
        c = rng.uniform(0, k**0.5 * 3.5 * 1.6, size=2)
        if all(np.linalg.norm(c - o) >= 3.5 for o in centres):
            centres.append(c)
    centres = np.array(centres)
    X, sizes = [], []
    for c in centres:
        sizes.append(rng.integers(20, 61))
        X.append(c + 0.35 * rng.standard_normal((sizes[-1], 2)))
    n_noise = int(sum(sizes) * rng.uniform(0.25, 1.0))
    X.append(rng.uniform(centres.min(0) - 4, centres.max(0) + 4, size=(n_noise, 2)))
    return np.vstack(X), np.repeat(np.append(np.arange(k), -1), [*sizes, n_noise])


def far_group(n, d, rows, seed):
    """Three unit Gaussians 8 deviations apart in a row and a group of ``rows`` rows 40
    deviations from them, ``n`` rows in ``d`` features (at least 2).

    Returns ``(X, y)``: ``y`` numbers the three blobs 0-2 and the far group 3; the same
    arguments always give the same data.
    """
    rng = np.random.default_rng(seed)
    centres = np.zeros((4, d))
    centres[1:3, 0] = [8.0, 16.0]
    centres[3, 1] = 40.0
    sizes = [(n - rows) // 3] * 2 + [n - rows - 2 * ((n - rows) // 3), rows]
    truth = np.repeat(np.arange(4), sizes)
    X = centres[truth] + rng.standard_normal((n, d))
    return X, truth


def blob_grid(seed):
    """A square grid of small Gaussians and one more far beyond it.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        What the draw is made from: the same seed always gives the same data.

    Returns
    -------
    X : ndarray of shape (n_samples, d)
        2 x 2 to 4 x 4 unit Gaussians of 40-199 rows each (one size per draw), 3.5-6
        deviations apart in the first two of 2-3 features, and one more 8-12
        deviations beyond the grid's edge.
    y : ndarray of shape (n_samples,)
        Each row's Gaussian, numbered from 0 (the far one last).
    """
    rng = np.random.default_rng(seed)
    d, side = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    separation, n = rng.uniform(3.5, 6.0), int(rng.integers(40, 200))
    grid = np.array(np.meshgrid(*[np.arange(side)] * 2)).reshape(2, -1).T * separation
    far = np.r_[grid[:, 0].max() + rng.uniform(8, 12), np.zeros(d - 1)]
    centres = np.vstack([np.c_[grid, np.zeros((len(grid), d - 2))], far])
    X = np.vstack([c + rng.standard_normal((n, d)) for c in centres])
    return X, np.repeat(np.arange(len(centres)), n)
