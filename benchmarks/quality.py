"""Quality of PPP against the auto-k peers on the benchmark battery, in one run.

    python benchmarks/quality.py                    # everything (about 20 min on 2 cores)
    python benchmarks/quality.py --max-n 20000      # skip the 100k-row sets (minutes)
    python benchmarks/quality.py --methods PPP      # PPP alone

Methods: PPP (k found, deterministic); GaussianMixture swept over a fixed k grid by BIC;
BayesianGaussianMixture (Dirichlet process); HDBSCAN (defaults); and, as a reference
that is *told* the true k, KMeans.  Per data set: n, d, true k, then per method the k
found, ARI (battery conventions, see battery.py), seconds of one fit, and whether a
second run (another seed; a row permutation for PPP) gave the identical partition.
The battery is read in place from ../shared/data/battery (or $PARTITIVE_BATTERY).
The tables are printed and written into docs/benchmarks.md (``--no-report``: printed
only), in a section named after the methods and the data sets chosen.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report  # noqa: E402
from battery import BATTERIES, load_battery  # noqa: E402

from partitive import PPP  # noqa: E402

GMM_GRID = [*range(1, 11), 12, 15, 20, 25, 30, 35, 40, 50, 60, 70, 80, 90, 100]
AUTO_K_PEERS = ("GMM-BIC", "BGM", "HDBSCAN")
REFERENCE = "KMeans(true k)"


def gmm_bic(X, seed, budget, max_k=None):
    """Lowest-BIC GaussianMixture over GMM_GRID (k <= n/5 and ``max_k``), within a time budget."""
    best, start, stopped = None, time.perf_counter(), False
    for k in (k for k in GMM_GRID if k <= X.shape[0] / 5 and (max_k is None or k <= max_k)):
        if time.perf_counter() - start > budget:
            stopped = True
            break
        try:
            model = GaussianMixture(k, covariance_type="full", random_state=seed).fit(X)
        except (ValueError, np.linalg.LinAlgError):
            continue
        bic = model.bic(X)
        if best is None or bic < best[0]:
            best = (bic, model)
    return best[1].predict(X), stopped


def bgm(X, seed):
    model = BayesianGaussianMixture(
        n_components=max(1, min(50, X.shape[0] // 5)),
        weight_concentration_prior_type="dirichlet_process",
        covariance_type="full", max_iter=500, random_state=seed,
    )
    return model.fit(X).predict(X)


def hdbscan(X):
    labels = HDBSCAN(copy=True).fit_predict(X)
    # Noise is one more group for ARI, and not a cluster for k.
    return np.where(labels < 0, labels.max() + 1, labels), int(np.unique(labels[labels >= 0]).size)


def run_method(name, ds, gmm_budget):
    """(labels, k, seconds, repeatable, note) for one method on one data set."""
    X, note = ds.X, ""
    t0 = time.perf_counter()
    if name == "PPP":
        labels = PPP().fit(X).labels_
        seconds = time.perf_counter() - t0
        order = np.random.default_rng(0).permutation(X.shape[0])
        again = np.empty_like(labels)
        again[order] = PPP().fit(X[order]).labels_
        return labels, np.unique(labels).size, seconds, np.array_equal(labels, again), note
    if name == "GMM-BIC":
        labels, stopped = gmm_bic(X, 0, gmm_budget)
        seconds = time.perf_counter() - t0
        again, _ = gmm_bic(X, 1, gmm_budget)
        note = "*" if stopped else ""
    elif name == "BGM":
        labels = bgm(X, 0)
        seconds = time.perf_counter() - t0
        again = bgm(X, 1)
    elif name == "HDBSCAN":
        labels, k = hdbscan(X)
        seconds = time.perf_counter() - t0
        # HDBSCAN has no seed; a row permutation is its second run.
        order = np.random.default_rng(0).permutation(X.shape[0])
        again = np.empty_like(labels)
        again[order] = hdbscan(X[order])[0]
        return labels, k, seconds, adjusted_rand_score(labels, again) == 1.0, note
    elif name == REFERENCE:
        labels = KMeans(ds.true_k, random_state=0).fit_predict(X)
        seconds = time.perf_counter() - t0
        again = KMeans(ds.true_k, random_state=1).fit_predict(X)
    else:
        raise ValueError(f"unknown method {name!r}")
    return labels, np.unique(labels).size, seconds, adjusted_rand_score(labels, again) == 1.0, note


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="PPP,GMM-BIC,BGM,HDBSCAN,KMeans(true k)")
    parser.add_argument("--battery", default=",".join(BATTERIES))
    parser.add_argument("--max-n", type=int, default=None)
    parser.add_argument("--only", default=None, help="comma-separated data set names")
    parser.add_argument("--gmm-budget", type=float, default=300.0, help="seconds per data set")
    _report.add_arguments(parser)
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    only = None if args.only is None else set(args.only.split(","))
    warnings.filterwarnings("ignore")

    rows = []
    for ds in load_battery(batteries=args.battery.split(","), max_n=args.max_n):
        if only is not None and ds.name not in only:
            continue
        row = {"set": ds.key, "n": ds.X.shape[0], "d": ds.X.shape[1], "k": ds.true_k}
        for name in methods:
            labels, k, seconds, repeatable, note = run_method(name, ds, args.gmm_budget)
            ari, _ = ds.score(labels)
            row[name] = dict(k=k, ari=ari, exact=k == ds.true_k, s=seconds, rep=repeatable, note=note)
        rows.append(row)
        print(f"{ds.key}: " + ", ".join(f"{m} k={row[m]['k']} ARI={row[m]['ari']:.3f}" for m in methods),
              file=sys.stderr, flush=True)
    with _report.tee() as out:
        print_table(rows, methods)
        print_summary(rows, methods)
    if not args.no_report:
        name, title = section(args, methods)
        _report.write_section(name, title, out.getvalue(), path=args.report, argv=argv and [__file__, *argv])


def section(args, methods):
    """Section name and title: one section per choice of methods and data sets."""
    chosen = [] if args.battery == ",".join(BATTERIES) else [f"battery={args.battery}"]
    chosen += [] if args.max_n is None else [f"max-n={args.max_n}"]
    chosen += [] if args.only is None else [f"only={args.only}"]
    name = " ".join(["quality", ",".join(methods), *chosen])
    where = "" if args.max_n is None else f", n <= {args.max_n:,}"
    where += "" if args.only is None else f" ({args.only.replace(',', ', ')})"
    return name, f"Quality on the battery{where}: {', '.join(methods)}"


def print_table(rows, methods):
    head = "| data set | n | d | true k | " + " | ".join(f"{m} k / ARI / s / rep" for m in methods) + " |"
    print(head)
    print("|" + "---|" * (4 + len(methods)))
    for r in rows:
        cells = [
            f"{r[m]['k']}{r[m]['note']} / {r[m]['ari']:.3f} / {r[m]['s']:.2f} / {'yes' if r[m]['rep'] else 'no'}"
            for m in methods
        ]
        print(f"| {r['set']} | {r['n']} | {r['d']} | {r['k']} | " + " | ".join(cells) + " |")
    if any(r[m]["note"] for r in rows for m in methods):
        print("\n`*` GMM-BIC sweep stopped by --gmm-budget before the end of its k grid.")


def print_summary(rows, methods):
    print("\n| method | mean ARI | median ARI | exact k | repeatable | total s |")
    print("|---|---|---|---|---|---|")
    summary = {}
    for m in methods:
        ari = np.array([r[m]["ari"] for r in rows])
        summary[m] = dict(
            mean=ari.mean(), median=np.median(ari),
            exact=np.mean([r[m]["exact"] for r in rows]),
            rep=np.mean([r[m]["rep"] for r in rows]), s=sum(r[m]["s"] for r in rows),
        )
        s = summary[m]
        print(f"| {m} | {s['mean']:.3f} | {s['median']:.3f} | {s['exact']:.0%} | {s['rep']:.0%} | {s['s']:.1f} |")
    if "PPP" not in methods:
        return
    print()
    home = [r for r in rows if REFERENCE in r and r[REFERENCE]["ari"] >= 0.9]
    if home:
        ari = np.mean([r["PPP"]["ari"] for r in home])
        exact = np.mean([r["PPP"]["exact"] for r in home])
        names = ", ".join(r["set"].split("/")[1] for r in home)
        print(f"Home ground ({len(home)} sets where KMeans told the true k has ARI >= 0.9: {names}):")
        print(f"  PPP mean ARI {ari:.3f} (target >= 0.95: {'met' if ari >= 0.95 else 'MISSED'}), "
              f"exact k {exact:.0%} (target >= 80%: {'met' if exact >= 0.8 else 'MISSED'})")
    peers = [m for m in AUTO_K_PEERS if m in methods]
    if peers:
        best = max(peers, key=lambda m: summary[m]["mean"])
        ok = summary["PPP"]["mean"] >= summary[best]["mean"]
        print(f"PPP mean ARI {summary['PPP']['mean']:.3f} vs best auto-k peer {best} "
              f"{summary[best]['mean']:.3f}: {'met' if ok else 'MISSED'}")
    print(f"PPP repeatable on {summary['PPP']['rep']:.0%} of data sets")
    if "GMM-BIC" in methods:
        ok = summary["PPP"]["s"] < summary["GMM-BIC"]["s"]
        print(f"PPP total {summary['PPP']['s']:.1f} s vs GMM-BIC sweep {summary['GMM-BIC']['s']:.1f} s: "
              f"{'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
