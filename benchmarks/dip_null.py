"""The dip statistic's null distribution on a 2-means direction in many dimensions.

    python benchmarks/dip_null.py               # the table DIP_NULL_SQRT_N_DIP in partitive/validate.py
    python benchmarks/dip_null.py --reps 50     # a quick look

Hartigan's dip p-value is calibrated for a sample on a line.  PPP reads the dip on the
direction 2-means fitted to the same points, and a fitted direction makes one cluster
look bimodal, the more so the more dimensions the points span.  Above
``HIGH_D_FROM`` spanned dimensions the p-value is 0 for most such draws, so no level
can absorb the bias; there PPP compares the dip itself with this simulated null.

For each (n points, d dimensions) the script draws points uniformly in the unit cube
(the least favourable unimodal shape: its projection on an axis, where 2-means cuts
it, is uniform), splits them by 2-means exactly as PPP does, and records sqrt(n) times
the dip on the split direction.  It prints the ``1 - level`` quantile for each level:
the dip above which PPP calls such a node two clusters and keeps the level.  Seeds are
fixed, so the table is reproducible.  Cells with d >= n are simulated too: n points
span only n - 1 dimensions, but the more dimensions they lie in, the more cleanly a
fitted direction separates them (300 points: sqrt(n) dip about 1.0 in 299-D, 1.4 in 768-D).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from partitive.split import two_means
from partitive.validate import DIP_NULL_D, DIP_NULL_LEVELS, DIP_NULL_N, dip_test


def null_sqrt_n_dips(n: int, d: int, reps: int) -> np.ndarray:
    rng = np.random.default_rng([n, d])
    w = np.ones(n)
    out = np.empty(reps)
    for r in range(reps):
        X = rng.random((n, d))
        split = two_means(X, w)
        out[r] = 0.0 if split is None else np.sqrt(n) * dip_test(X @ split.direction, w)[0]
    return out


def format_table(table: np.ndarray) -> str:
    """The table as the Python literal in partitive/validate.py."""
    lines = ["DIP_NULL_SQRT_N_DIP = np.array(["]
    for level, block in zip(DIP_NULL_LEVELS, table):
        lines.append(f"    [  # level {level}; rows n = {', '.join(map(str, DIP_NULL_N))}")
        lines.extend("        [" + ", ".join(f"{q:.4g}" for q in row) + "]," for row in block)
        lines.append("    ],")
    lines.append("])")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="draws per (n, d) cell")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = np.full((len(DIP_NULL_LEVELS), len(DIP_NULL_N), len(DIP_NULL_D)), np.nan)
    for i, n in enumerate(DIP_NULL_N):
        for j, d in enumerate(DIP_NULL_D):
            dips = null_sqrt_n_dips(n, d, args.reps)
            table[:, i, j] = np.quantile(dips, 1.0 - np.asarray(DIP_NULL_LEVELS))
        print(f"# n = {n} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"# {args.reps} draws per cell, {time.perf_counter() - start:.0f} s")
    print(format_table(table))


if __name__ == "__main__":
    main()
