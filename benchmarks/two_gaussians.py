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

SEPARATIONS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
FEATURES = (1, 2, 4, 8, 16, 32, 64, 128)


def draw(rng, d, delta, n, spherical=False):
    """Two Gaussians ``delta`` deviations apart in ``d`` features; rows and labels."""
    if spherical:
        scales = [np.eye(d), np.eye(d)]
    else:
        scales = [np.linalg.qr(rng.standard_normal((d, d)))[0] * rng.uniform(0.5, 2, d) for _ in range(2)]
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    sd = [np.linalg.norm(a.T @ u) for a in scales]
    means = [np.zeros(d), u * delta * (sd[0] + sd[1]) / 2]
    sizes = [n // 2, n - n // 2]
    X = np.vstack([rng.standard_normal((m, d)) @ a.T + mu for m, a, mu in zip(sizes, scales, means)])
    return X, np.repeat([1, 2], sizes)


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
                X, y = draw(np.random.default_rng([seed, d, int(delta * 10)]), d, delta, args.rows, args.spherical)
                model = PPP().fit(X)
                found.append(str(model.n_clusters_))
                scores.append(adjusted_rand_score(y, model.labels_))
            cells.append(f"{''.join(found)} / {np.mean(scores):.2f}")
        print(f"| {delta} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
