"""Reduced vs full fit on the development battery: how much does the reduction lose?

For every data set, PPP is fitted on the rows and on weighted representatives
(``reduction=True``) at several ``n_representatives``; the table gives the ARI of each
against the truth and the ARI between the reduced and the full labels.  With m at or
above the number of distinct rows the reduction is exact (every row its own
representative), so only the larger sets test the default m.

    python benchmarks/reduction.py                 # m = 10000 (default), 2000, 500
    python benchmarks/reduction.py --m 10000 --max-n 20000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

from battery import load_battery
from partitive import PPP


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, nargs="+", default=[10_000, 2_000, 500])
    parser.add_argument("--max-n", type=int, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="data set names to run")
    args = parser.parse_args(argv)
    rows, full_scores, reduced_scores = [], [], {m: [] for m in args.m}
    for ds in load_battery(max_n=args.max_n):
        if args.only and ds.name not in args.only:
            continue
        t = time.perf_counter()
        full = PPP(reduction=False).fit(ds.X)
        t_full = time.perf_counter() - t
        ari_full, _ = ds.score(full.labels_)
        full_scores.append(ari_full)
        cells = [f"{ds.key}", f"{ds.X.shape[0]}", f"{ds.true_k}",
                 f"{full.n_clusters_}", f"{ari_full:.3f}", f"{t_full:.1f}"]
        for m in args.m:
            t = time.perf_counter()
            red = PPP(reduction=True, n_representatives=m).fit(ds.X)
            t_red = time.perf_counter() - t
            ari_red, _ = ds.score(red.labels_)
            reduced_scores[m].append(ari_red)
            agree = adjusted_rand_score(full.labels_, red.labels_)
            cells += [f"{red.n_clusters_}", f"{ari_red:.3f}", f"{agree:.3f}", f"{t_red:.1f}"]
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    header = ["data set", "n", "true k", "full k", "full ARI", "full s"]
    for m in args.m:
        header += [f"m={m} k", f"m={m} ARI", f"m={m} vs full", f"m={m} s"]
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print(f"\nmean ARI: full {np.mean(full_scores):.3f}; " + "; ".join(
        f"m={m} {np.mean(s):.3f} ({np.mean(s) - np.mean(full_scores):+.3f})"
        for m, s in reduced_scores.items()))


if __name__ == "__main__":
    main()
