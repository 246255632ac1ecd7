"""Speed of PPP (k unknown) against the peers (k known), as ratios measured in one run.

    python benchmarks/speed.py                          # n = 1e4 .. 1e7 (about 30 min)
    python benchmarks/speed.py --n 1e4 1e5 --methods PPP,KMeans
    python benchmarks/speed.py --n 1e6 --methods PPP,KMeans --data apart,unequal --busy

Data (``--data``, d = 32, 64 clusters): ``touching``, Gaussian blobs with moderate
overlap (benchmarks/blobs.py); ``apart``, scikit-learn's ``make_blobs(n, 32,
centers=64, cluster_std=1.5, center_box=(-10, 10), random_state=11)``, well apart;
``unequal``, blobs as far apart whose sizes fall geometrically from 1 to 1/100.
``--busy``: another process spins on one core while each cell runs (a shared machine).
Every (method, n) runs in a fresh Python process, so its peak resident memory (RSS) is
its own; the data are made in that process before the clock starts.  "PPP (file)"
streams a float32 .npy file of the largest n (written once into --data-dir) through
``partitive.open_dataset``: the rows are never all in memory.

Columns: seconds of fit (and labelling every row), peak RSS, k found, ARI against the
truth, and passes over the data: for PPP counted (each pass over the chunks, plus the
labelling pass); for KMeans its Lloyd iterations plus k for the k-means++ start; for
MiniBatchKMeans the rows it drew divided by n; for the GMM sweep its EM iterations.
The GMM+BIC sweep (k over quality.py's grid, full covariances) stops at
--gmm-budget seconds, and larger n are then skipped.  The table is printed and written
into docs/benchmarks.md (``--no-report``: printed only), in a section named after the
methods and sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report  # noqa: E402
from blobs import blob_centers, make_blobs, write_blobs_npy  # noqa: E402

METHODS = ("PPP", "PPP (file)", "KMeans", "MiniBatchKMeans", "BisectingKMeans", "GMM-BIC", "faiss")
GMM_GRID = [*range(1, 11), 12, 15, 20, 25, 30, 35, 40, 50, 60, 64, 70, 80, 90, 100]


def peak_rss_mb() -> float:
    # ru_maxrss survives exec on Linux: a worker started by a parent that had just
    # written the 1e7-row file reported the parent's 1.9 GB.  VmHWM is this process's.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def count_passes(target, attribute):
    """Wrap ``target.attribute`` (a function returning an iterable) to count its uses."""
    calls = [0]
    original = getattr(target, attribute)

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(target, attribute, counted)
    return calls


def run_ppp(X, k, args):
    from partitive import PPP
    from partitive.source import ArraySource

    calls = count_passes(ArraySource, "_chunks")
    model = PPP().fit(X)  # defaults: all cores
    if "reduced" not in model.tree_.params:
        return model.labels_, model.n_clusters_, None, "exact: the tree grown on all rows"
    return model.labels_, model.n_clusters_, calls[0] + 1, "reduced to representatives"



def run_ppp_file(path, args):
    from partitive import PPP, open_dataset
    from partitive.dataset import Dataset

    calls = count_passes(Dataset, "chunks")
    model = PPP().fit(open_dataset(path))
    return model.labels_, model.n_clusters_, calls[0], "streamed from float32 .npy"


def run_peer(name, X, k, args):
    from sklearn.cluster import BisectingKMeans, KMeans, MiniBatchKMeans

    if name == "KMeans":
        model = KMeans(k, n_init=1, random_state=0).fit(X)
        return model.labels_, k, model.n_iter_ + k, f"{model.n_iter_} Lloyd iterations + k-means++"
    if name == "MiniBatchKMeans":
        model = MiniBatchKMeans(k, n_init=1, batch_size=4096, random_state=0).fit(X)
        passes = model.n_steps_ * 4096 / X.shape[0]
        return model.predict(X), k, round(passes + 1, 2), f"{model.n_steps_} mini-batches + labelling"
    if name == "BisectingKMeans":
        model = BisectingKMeans(k, random_state=0).fit(X)
        return model.labels_, k, None, ""
    if name == "faiss":
        import faiss

        X32 = np.ascontiguousarray(X, dtype=np.float32)
        km = faiss.Kmeans(X.shape[1], k, niter=25, seed=0)
        km.train(X32)
        labels = km.index.search(X32, 1)[1].ravel()
        return labels, k, 26, "25 iterations (faiss default) + labelling"
    if name == "GMM-BIC":
        return gmm_bic(X, args.gmm_budget)
    raise ValueError(name)


def gmm_bic(X, budget):
    from sklearn.mixture import GaussianMixture

    best, start, iterations, tried = None, time.perf_counter(), 0, 0
    for k in (k for k in GMM_GRID if k <= X.shape[0] / 5):
        if time.perf_counter() - start > budget:
            return None, None, iterations, f"stopped after {tried} of the k grid at the {budget:.0f} s budget"
        model = GaussianMixture(k, covariance_type="full", random_state=0).fit(X)
        iterations += model.n_iter_
        tried += 1
        bic = model.bic(X)
        if best is None or bic < best[0]:
            best = (bic, model)
    return best[1].predict(X), best[1].n_components, iterations, f"{tried} values of k"


DATA = ("touching", "apart", "unequal")


def make_data(kind, n):
    """Rows and true labels of one of DATA."""
    if kind == "touching":
        return make_blobs(n, blob_centers())
    if kind == "apart":
        from sklearn.datasets import make_blobs as sklearn_blobs

        return sklearn_blobs(n, 32, centers=64, cluster_std=1.5, center_box=(-10, 10), random_state=11)
    if kind == "unequal":
        rng = np.random.default_rng(11)
        centers = rng.uniform(-10, 10, (64, 32))
        share = np.geomspace(1, 0.01, 64)
        truth = rng.choice(64, n, p=share / share.sum())
        return centers[truth] + 1.5 * rng.standard_normal((n, 32)), truth
    raise ValueError(kind)


def worker(args):
    """One (method, n) in this process; prints one JSON line."""
    from sklearn.metrics import adjusted_rand_score

    n = int(args.worker_n)
    centers = blob_centers()
    if args.worker == "PPP (file)":
        path = Path(args.data_dir) / f"blobs_{n}.npy"
        truth = np.load(path.with_suffix(".truth.npy"))
        t = time.perf_counter()
        labels, k, passes, note = run_ppp_file(path, args)
    else:
        X, truth = make_data(args.data, n)
        t = time.perf_counter()
        if args.worker == "PPP":
            labels, k, passes, note = run_ppp(X, centers.shape[0], args)
        else:
            labels, k, passes, note = run_peer(args.worker, X, centers.shape[0], args)
    seconds = time.perf_counter() - t
    ari = None if labels is None else float(adjusted_rand_score(truth, labels))
    print(json.dumps(dict(method=args.worker, n=n, data=args.data, busy=args.busy, seconds=seconds, rss_mb=peak_rss_mb(),
                          k=None if k is None else int(k), ari=ari, passes=passes, note=note)))


def available(method) -> bool:
    if method != "faiss":
        return True
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", nargs="+", default=["1e4", "1e5", "1e6", "1e7"])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--file-n", default=None, help="n of the PPP (file) run (default: the largest)")
    parser.add_argument("--gmm-budget", type=float, default=600.0)
    parser.add_argument("--data", default="touching", help=f"comma-separated, of {', '.join(DATA)}")
    parser.add_argument("--busy", action="store_true", help="another process spins on one core meanwhile")
    parser.add_argument("--data-dir", default="/tmp/partitive-speed")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-n", default=None, help=argparse.SUPPRESS)
    _report.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    sizes = sorted(int(float(n)) for n in args.n)
    methods = [m for m in args.methods.split(",") if available(m)]
    skipped = [m for m in args.methods.split(",") if not available(m)]
    file_n = int(float(args.file_n)) if args.file_n else sizes[-1]
    for kind in args.data.split(","):
        args.data = kind
        results, gmm_stopped = [], False
        for n in sizes:
            for method in methods:
                if method == "PPP (file)":
                    if n != file_n or kind != "touching":
                        continue
                    prepare_file(args.data_dir, n)
                if method == "GMM-BIC" and gmm_stopped:
                    continue
                row = run_worker(method, n, args)
                results.append(row)
                print(json.dumps(row), flush=True)
                if method == "GMM-BIC" and row.get("k") is None:
                    gmm_stopped = True
        with _report.tee() as out:
            print(f"\nData: {kind}{', with a second busy process' if args.busy else ''}")
            print_tables(results, sizes, skipped)
        if not args.no_report:
            name = f"speed {kind}{' busy' if args.busy else ''} {','.join(methods)} n={','.join(f'{n:.0e}' for n in sizes)}"
            title = (f"Speed on Gaussian blobs ({kind}{', a second process busy' if args.busy else ''}; d = 32, k = 64), "
                     f"n = {', '.join(f'{n:.0e}' for n in sizes)}: {', '.join(methods)}")
            _report.write_section(name, title, out.getvalue(), path=args.report, argv=argv and [__file__, *argv])


def prepare_file(folder, n):
    path = Path(folder) / f"blobs_{n}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        truth = write_blobs_npy(path.with_suffix(".tmp.npy"), n, blob_centers())
        np.save(path.with_suffix(".truth.npy"), truth)
        os.replace(path.with_suffix(".tmp.npy"), path)


def run_worker(method, n, args):
    command = [sys.executable, __file__, "--worker", method, "--worker-n", str(n), "--data", args.data,
               "--gmm-budget", str(args.gmm_budget), "--data-dir", args.data_dir]
    if args.busy:
        command.append("--busy")
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    finally:
        if args.busy:
            busy.kill()
            busy.wait()
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return dict(method=method, n=n, seconds=None, note=f"failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cell(value, fmt):
    return "-" if value is None else format(value, fmt)


def print_tables(results, sizes, skipped):
    by = {(r["method"], r["n"]): r for r in results}
    print("\n| method | n | seconds | vs KMeans | peak RSS MB | k | ARI | passes | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        km = by.get(("KMeans", r["n"]), {}).get("seconds")
        ratio = None if not km or r.get("seconds") is None else r["seconds"] / km
        print(f"| {r['method']} | {r['n']:.0e} | {cell(r.get('seconds'), '.2f')} | {cell(ratio, '.2f')} | "
              f"{cell(r.get('rss_mb'), '.0f')} | {cell(r.get('k'), 'd')} | {cell(r.get('ari'), '.3f')} | "
              f"{cell(r.get('passes'), '')} | {r.get('note', '')} |")
    print()
    if skipped:
        print(f"Not installed, not run: {', '.join(skipped)}.")
    ppp = {n: by[("PPP", n)]["seconds"] for n in sizes if ("PPP", n) in by and by[("PPP", n)].get("seconds")}
    # The target is the growth of the streaming path, from 1e5 rows (or the smallest n) on.
    ppp = {n: t for n, t in ppp.items() if n >= min(1e5, max(ppp, default=0))}
    if len(ppp) >= 2:
        lo, hi = min(ppp), max(ppp)
        slope = np.log(ppp[hi] / ppp[lo]) / np.log(hi / lo)
        print(f"PPP time vs n, log-log slope from {lo:.0e} to {hi:.0e}: {slope:.2f} (target <= 1.1)")
    for n in sizes:
        p, k, g = by.get(("PPP", n)), by.get(("KMeans", n)), by.get(("GMM-BIC", n))
        if p and k and p.get("seconds") and k.get("seconds"):
            print(f"n = {n:.0e}: PPP / KMeans time {p['seconds'] / k['seconds']:.2f} (target <= 0.2), "
                  f"ARI {p['ari']:.3f} vs {k['ari']:.3f}", end="")
            if g and g.get("seconds") and g.get("k") is not None:
                print(f"; GMM-BIC / PPP time {g['seconds'] / p['seconds']:.1f}", end="")
            print()
    f = [r for r in results if r["method"] == "PPP (file)" and r.get("seconds")]
    for r in f:
        print(f"PPP from a file, n = {r['n']:.0e}: {r['seconds']:.1f} s, peak RSS {r['rss_mb']:.0f} MB "
              f"(target < 2048), {r['passes']} passes over the file (target <= 12)")


if __name__ == "__main__":
    main()
