"""Many dimensions (embedding-sized data): PPP (k unknown) against KMeans told k, in one run.

    python benchmarks/embeddings.py
    python benchmarks/embeddings.py --cases 10000x768x10 50000x384x20 --separation 4

Each case is ``n x d x k``: k round Gaussian clusters of unit variance, equally likely,
their centres drawn from N(0, s^2 I) with s chosen so that two centres lie
``--separation`` standard deviations apart on average (10 by default: separated
groups; 4: touching ones), seed 0, float32 like most embedding stores.  The peers:
KMeans told the true k (one k-means++ initialisation, ``random_state=0``), and PPP
after scikit-learn's PCA to 32 components (what the README suggests for such data).
Per case: seconds, the time as a multiple of KMeans's, k found and ARI.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from partitive import PPP

DEFAULT_CASES = ["3000x768x10", "10000x768x10", "20000x768x20", "50000x384x20", "100000x384x20"]


def embedding_blobs(n: int, d: int, k: int, separation: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * (separation / np.sqrt(2.0 * d))
    truth = rng.integers(0, k, n)
    return (centres[truth] + rng.normal(size=(n, d))).astype(np.float32), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, help="n x d x k, e.g. 10000x768x10")
    parser.add_argument("--separation", type=float, default=10.0)
    args = parser.parse_args()
    methods = {
        "PPP": lambda X, k: PPP(n_jobs=-1).fit(X).labels_,
        "PCA(32) + PPP": lambda X, k: PPP(n_jobs=-1).fit(PCA(32, random_state=0).fit_transform(X)).labels_,
        "KMeans(true k)": lambda X, k: KMeans(k, n_init=1, random_state=0).fit(X).labels_,
    }
    print("| n | d | true k | method | seconds | vs KMeans | k | ARI |")
    print("|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        n, d, k = (int(part) for part in case.split("x"))
        X, truth = embedding_blobs(n, d, k, args.separation)
        rows = {}
        for name, fit in methods.items():
            start = time.perf_counter()
            labels = fit(X, k)
            rows[name] = (time.perf_counter() - start, len(np.unique(labels)), adjusted_rand_score(truth, labels))
        reference = rows["KMeans(true k)"][0]
        for name, (seconds, k_found, ari) in rows.items():
            print(f"| {n} | {d} | {k} | {name} | {seconds:.2f} | {seconds / reference:.1f} | {k_found} | {ari:.3f} |", flush=True)


if __name__ == "__main__":
    main()
