"""The speed benchmarks' data: Gaussian blobs with moderate overlap, made block by block.

Block ``i`` is a function of ``(seed, i)`` alone, so the same rows can be made in memory,
written to a file or made on Dask workers without ever being gathered in one place.
With the default centre spread (1.0 per feature, unit-variance blobs, d = 32, k = 64)
the nearest centres are about 5 standard deviations apart and KMeans told the true k
scores an ARI of about 0.92: clusters touch, but are there to be found.
"""

from __future__ import annotations

import numpy as np

BLOCK_ROWS = 1_000_000


def blob_centers(k: int = 64, d: int = 32, spread: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, spread, size=(k, d))


def make_block(index: int, rows: int, centers: np.ndarray, seed: int = 0):
    """Rows and true labels of block ``index``."""
    rng = np.random.default_rng([seed, index])
    truth = rng.integers(0, centers.shape[0], size=rows)
    return centers[truth] + rng.normal(size=(rows, centers.shape[1])), truth


def block_sizes(n: int, block_rows: int = BLOCK_ROWS) -> list[int]:
    return [min(block_rows, n - start) for start in range(0, n, block_rows)]


def make_blobs(n: int, centers: np.ndarray, seed: int = 0, block_rows: int = BLOCK_ROWS):
    """All ``n`` rows in memory (float64) and their true labels."""
    blocks = [make_block(i, rows, centers, seed) for i, rows in enumerate(block_sizes(n, block_rows))]
    return np.vstack([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def write_blobs_npy(path, n: int, centers: np.ndarray, seed: int = 0, dtype=np.float32):
    """The same rows as :func:`make_blobs`, written block by block to a .npy file."""
    from numpy.lib.format import open_memmap

    out = open_memmap(path, mode="w+", dtype=dtype, shape=(n, centers.shape[1]))
    truth = np.empty(n, dtype=np.int16)
    start = 0
    for i, rows in enumerate(block_sizes(n)):
        X, y = make_block(i, rows, centers, seed)
        out[start : start + rows] = X
        truth[start : start + rows] = y
        start += rows
    out.flush()
    del out
    return truth
