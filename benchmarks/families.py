"""Finding k on fresh random draws of the families where it goes wrong: PPP and peers.

    python benchmarks/families.py                       # 20 fresh draws per family
    python benchmarks/families.py --seeds 5 --no-report

The families (rings, flat shapes, lumpy clouds, groups with gaps, groups in noise,
overlapping Gaussians in 1-128 features, many blobs, one cluster of many shapes) are
drawn by ``../shared/bench/families.py`` (or ``$PARTITIVE_FAMILIES``), seeds from
``--seed-base`` (1000 by default: draws not tuned on).  Per family and method: mean ARI
(noise, label 0, left out; a one-cluster family scores 1 for k = 1, else 0), the share
of draws with the exact k, and seconds per fit.  Methods: PPP, HDBSCAN (defaults, noise
as one more group) and GaussianMixture swept over k = 1..10 by BIC (the auto-k peers of
``quality.py``).  The table is printed and written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report  # noqa: E402
from quality import gmm_bic, hdbscan  # noqa: E402

from partitive import PPP  # noqa: E402

DEFAULT_FAMILIES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "families.py"
METHODS = ("PPP", "HDBSCAN", "GMM-BIC")
#: GaussianMixture's k grid here: every family draws at most 60 clusters, and the sweep
#: is cut at 10 (a family of many blobs is then out of its reach, as noted).
GMM_MAX_K = 10


def load_families(path: Path):
    spec = importlib.util.spec_from_file_location("families", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FAMILIES


def fit(method: str, X: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels and the number of clusters found (HDBSCAN's noise is no cluster)."""
    if method == "PPP":
        labels = PPP().fit(X).labels_
    elif method == "HDBSCAN":
        return hdbscan(X)
    elif method == "GMM-BIC":
        labels = gmm_bic(X, 0, budget=np.inf, max_k=GMM_MAX_K)[0]
    else:
        raise ValueError(f"unknown method {method!r}")
    return labels, int(np.unique(labels).size)


def score(y: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, bool]:
    """ARI on the rows that are not noise (as the families script scores), exact k."""
    keep = y > 0
    k_true = np.unique(y[keep]).size
    if k_true == 1:
        return float(k == 1), k == 1
    return adjusted_rand_score(y[keep], labels[keep]), k == k_true


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--seed-base", type=int, default=1000)
    parser.add_argument("--family", default=None, help="comma-separated families (default: all)")
    parser.add_argument("--methods", default=",".join(METHODS))
    _report.add_arguments(parser)
    args = parser.parse_args(argv)
    families = load_families(Path(os.environ.get("PARTITIVE_FAMILIES", DEFAULT_FAMILIES)))
    names = list(families) if args.family is None else args.family.split(",")
    methods = args.methods.split(",")
    warnings.filterwarnings("ignore")

    results = {}
    for name in names:
        for seed in range(args.seed_base, args.seed_base + args.seeds):
            # The same generator seeding as the families script, so draws match its own.
            X, y = families[name](np.random.default_rng([seed, len(name)]))
            for method in methods:
                start = time.perf_counter()
                labels, k = fit(method, X)
                seconds = time.perf_counter() - start
                ari, exact = score(y, np.asarray(labels), k)
                results.setdefault((name, method), []).append((ari, exact, seconds))
        print(f"{name}: " + ", ".join(
            f"{m} {np.mean([r[0] for r in results[name, m]]):.3f}" for m in methods), file=sys.stderr, flush=True)
    with _report.tee() as out:
        print_table(results, names, methods, args)
    if not args.no_report:
        # Another family file's draws, or a chosen subset, are a table of their own.
        source = os.environ.get("PARTITIVE_FAMILIES")
        chosen = ", ".join(([Path(source).stem] if source else []) + ([args.family] if args.family else []))
        chosen = f" ({chosen})" if chosen else ""
        _report.write_section(
            "families " + ",".join(methods) + chosen,
            f"Finding k on fresh draws of the families{chosen}: {', '.join(methods)}",
            out.getvalue(), path=args.report, argv=argv and [__file__, *argv],
        )


def print_table(results, names, methods, args):
    print(f"{args.seeds} draws per family, seeds {args.seed_base}-{args.seed_base + args.seeds - 1}. "
          "Each cell: mean ARI / share of draws with the exact k / seconds per fit. "
          f"GMM-BIC sweeps k = 1..{GMM_MAX_K}.\n")
    print("| family | " + " | ".join(methods) + " |")
    print("|" + "---|" * (1 + len(methods)))
    for name in names:
        cells = []
        for m in methods:
            r = np.array(results[name, m], dtype=float)
            cells.append(f"{r[:, 0].mean():.3f} / {r[:, 1].mean():.0%} / {r[:, 2].mean():.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| **mean** | " + " | ".join(
        f"**{np.mean([np.mean([x[0] for x in results[n, m]]) for n in names]):.3f}**" for m in methods) + " |")


if __name__ == "__main__":
    main()
