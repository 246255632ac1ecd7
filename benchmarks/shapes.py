"""One cluster, many shapes: how many clusters PPP reports where there is only one.

    python benchmarks/shapes.py                      # n 1,000 and 10,000; d 2..50; 3 draws
    python benchmarks/shapes.py --n 10000 --d 10 --draws 5
    python benchmarks/shapes.py --power              # also after sklearn's PowerTransformer

The test suite checks single *Gaussians* (no false split in 75 draws).  Real clusters
are often not Gaussian: counts, sizes and concentrations are skewed, measurements have
heavy tails.  Each cell of the table is the number of clusters found in each of the
draws (fixed seeds), for one shape:

- ``cube``, ``ball``: uniform (flat, light tails);
- ``t3``: Student's t with 3 degrees of freedom in every feature (heavy tails);
- ``lognormal`` (sigma 0.5), ``exponential``: every feature skewed;
- ``banana``: a Gaussian bent into a curve; ``elongated``: a Gaussian with standard
  deviations from 10 down to 1 along the features; ``tilted``: the same Gaussian turned
  by a random rotation, so its features are correlated; ``grid``: a round Gaussian
  recorded to whole numbers (standard deviation 1: five or so values per feature);
  ``t3 cloud``: a multivariate t (3 degrees of freedom), heavy-tailed in every
  direction at once.

The right answer is 1 everywhere.  ``--power`` adds the same fits after a per-feature
Yeo-Johnson transform (``sklearn.preprocessing.PowerTransformer``), the usual remedy
for skewed features.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import special_ortho_group

from partitive import PPP


def shapes(rng: np.random.Generator, n: int, d: int):
    yield "cube", rng.uniform(size=(n, d))
    ball = rng.normal(size=(n, d))
    ball *= (rng.uniform(size=(n, 1)) ** (1 / d)) / np.linalg.norm(ball, axis=1, keepdims=True)
    yield "ball", ball
    yield "t3", rng.standard_t(3, size=(n, d))
    yield "lognormal", rng.lognormal(sigma=0.5, size=(n, d))
    yield "exponential", rng.exponential(size=(n, d))
    banana = rng.normal(size=(n, d))
    banana[:, 1] += 0.5 * banana[:, 0] ** 2
    yield "banana", banana
    elongated = rng.normal(size=(n, d)) * np.geomspace(10.0, 1.0, d)
    yield "elongated", elongated
    yield "tilted", elongated @ special_ortho_group.rvs(d, random_state=rng)
    yield "grid", np.round(rng.normal(size=(n, d)))
    # Last, so that the other shapes' draws stay those of earlier runs.
    yield "t3 cloud", rng.standard_normal((n, d)) / np.sqrt(rng.chisquare(3, (n, 1)) / 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--d", type=int, nargs="+", default=[2, 5, 10, 20, 50])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--power", action="store_true", help="also fit after PowerTransformer")
    args = parser.parse_args()

    fits = [("PPP", lambda X: PPP().fit(X).n_clusters_)]
    if args.power:
        from sklearn.preprocessing import PowerTransformer

        fits.append(("PowerTransformer + PPP", lambda X: PPP().fit(PowerTransformer().fit_transform(X)).n_clusters_))

    names = [name for name, _ in shapes(np.random.default_rng(0), 10, 2)]
    print("| method | n | d | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    start = time.perf_counter()
    wrong = {method: 0 for method, _ in fits}
    for n in args.n:
        for d in args.d:
            found = {method: {name: [] for name in names} for method, _ in fits}
            for draw in range(args.draws):
                for name, X in shapes(np.random.default_rng([n, d, draw]), n, d):
                    for method, fit in fits:
                        k = fit(X)
                        found[method][name].append(k)
                        wrong[method] += k != 1
            for method, _ in fits:
                cells = [",".join(map(str, found[method][name])) for name in names]
                print(f"| {method} | {n} | {d} | " + " | ".join(cells) + " |", flush=True)
    total = len(args.n) * len(args.d) * args.draws * len(names)
    for method, count in wrong.items():
        print(f"{method}: more than one cluster in {count} of {total} fits")
    print(f"{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
