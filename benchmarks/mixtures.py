"""Gaussian clusters at random angles: PPP (k unknown) against GMM-BIC, in one run.

    python benchmarks/mixtures.py                  # 40 mixtures each in 2, 3 and 5 dimensions
    python benchmarks/mixtures.py --d 2 --draws 100

Each mixture is 3-8 Gaussian clusters of 100-400 rows, each turned at random and
stretched (``partitive.datasets.random_gaussian_clusters``, seeds 0, 1, ...): PPP's
home ground, where a Gaussian mixture is the true model.  GMM-BIC is scikit-learn's
``GaussianMixture`` (full covariances, one initialisation, ``random_state=0``) swept
over k = 1..10, keeping the lowest BIC.  Per dimension: the share of mixtures with the
exact k, mean ARI, and whether the k found was too few or too many.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from partitive import PPP
from partitive.datasets import random_gaussian_clusters


def gmm_bic(X, max_k=10):
    fits = [GaussianMixture(k, covariance_type="full", random_state=0).fit(X) for k in range(1, max_k + 1)]
    best = min(fits, key=lambda g: g.bic(X))
    return best.n_components, best.predict(X)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--draws", type=int, default=40)
    args = parser.parse_args()
    methods = {"PPP": lambda X: (lambda m: (m.n_clusters_, m.labels_))(PPP().fit(X)), "GMM-BIC": gmm_bic}
    print("| method | d | mixtures | exact k | too few | too many | mean ARI | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args.d:
        data = [random_gaussian_clusters(seed, d) for seed in range(args.draws)]
        for name, fit in methods.items():
            found, aris = [], []
            start = time.perf_counter()
            for X, truth, k in data:
                k_found, labels = fit(X)
                found.append(k_found - k)
                aris.append(adjusted_rand_score(truth, labels))
            seconds = time.perf_counter() - start
            found = np.array(found)
            print(
                f"| {name} | {d} | {len(data)} | {np.mean(found == 0):.1%} | {np.mean(found < 0):.1%} "
                f"| {np.mean(found > 0):.1%} | {np.mean(aris):.3f} | {seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
