"""Two overlapping Gaussians by separation and number of features: where PPP finds one.

    python benchmarks/two_gaussians.py               # random covariances
    python benchmarks/two_gaussians.py --spherical   # identity covariances
    python benchmarks/two_gaussians.py --rows 4000 --draws 5

Two Gaussians of ``--rows`` rows split evenly, centres ``δ`` standard deviations apart
along the line joining them (each Gaussian's own deviation along that line,
averaged), as the ``overlap`` family of ``../shared/bench/families.py`` draws them but
with ``δ`` and the number of features fixed.  Each cell: the clusters PPP found in
each draw, then their mean ARI.  docs/design/overlapping-gaussians.md reads the table.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import adjusted_rand_score

from partitive import PPP
from partitive.datasets import two_gaussians

SEPARATIONS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
FEATURES = (1, 2, 4, 8, 16, 32, 64, 128)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--spherical", action="store_true")
    args = parser.parse_args()
    print("| δ | " + " | ".join(map(str, FEATURES)) + " |")
    print("|---" * (len(FEATURES) + 1) + "|")
    for delta in SEPARATIONS:
        cells = []
        for d in FEATURES:
            found, scores = [], []
            for seed in range(args.draws):
                X, y = two_gaussians([seed, d, int(delta * 10)], d, delta, args.rows, args.spherical)
                model = PPP().fit(X)
                found.append(str(model.n_clusters_))
                scores.append(adjusted_rand_score(y, model.labels_))
            cells.append(f"{''.join(found)} / {np.mean(scores):.2f}")
        print(f"| {delta} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
