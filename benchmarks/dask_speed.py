"""PPP on a local Dask cluster against the in-memory fit: time, bytes moved, agreement.

The data are the n x d Gaussian blobs of benchmarks/blobs.py (moderate overlap), made block by block,
so the in-memory array and the Dask array (made on the workers, then persisted) hold
the same numbers.  Both fits reduce (n > reduce_above).  Bytes are the distributed
workers' own counters, which count each task result at its Dask ``sizeof``: what the
workers sent to each other and what they sent to the client during the fit.  The
client sends the task graph and the codebook (m x d), not counted here.

    python benchmarks/dask_speed.py                  # n = 1e7: ~2.6 GB twice, heavy
    python benchmarks/dask_speed.py --n 200000       # a quick check
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from partitive import PPP

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blobs import blob_centers, block_sizes, make_block  # noqa: E402


def worker_bytes(client) -> tuple[int, int]:
    """Bytes all workers have sent (to workers and client), and received from workers."""
    stats = client.run(
        lambda dask_worker: (
            dask_worker.transfer_outgoing_bytes_total,
            sum(t["total"] for t in dask_worker.transfer_incoming_log),
        )
    )
    return sum(s for s, _ in stats.values()), sum(r for _, r in stats.values())


def megabytes(b: float) -> str:
    return f"{b / 1e6:.2f} MB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--m", type=int, default=10_000, help="n_representatives")
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import distributed

    centers = blob_centers(args.k, args.d, seed=args.seed)
    sizes = block_sizes(args.n, args.chunk_rows)

    t = time.perf_counter()
    blocks = [make_block(i, rows, centers, args.seed) for i, rows in enumerate(sizes)]
    X = np.vstack([b[0] for b in blocks])
    truth = np.concatenate([b[1] for b in blocks])
    del blocks
    t_make = time.perf_counter() - t
    print(f"made {X.shape[0]} x {X.shape[1]} in memory in {t_make:.1f} s ({megabytes(X.nbytes)})", flush=True)

    n_jobs = args.workers
    t = time.perf_counter()
    in_memory = PPP(n_representatives=args.m, n_jobs=n_jobs).fit(X)
    t_memory = time.perf_counter() - t
    print(f"in-memory fit: {t_memory:.1f} s, k = {in_memory.n_clusters_}", flush=True)
    del X

    with distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        parts = [
            da.from_delayed(
                dask.delayed(lambda i, r: make_block(i, r, centers, args.seed)[0])(i, rows),
                shape=(rows, args.d), dtype=np.float64,
            )
            for i, rows in enumerate(sizes)
        ]
        t = time.perf_counter()
        Xd = client.persist(da.concatenate(parts))
        distributed.wait(Xd)
        t_load = time.perf_counter() - t
        print(f"made the same rows on {args.workers} workers in {t_load:.1f} s", flush=True)

        sent, received = worker_bytes(client)
        t = time.perf_counter()
        model = PPP(n_representatives=args.m).fit(Xd)
        t_dask = time.perf_counter() - t
        sent_after, received_after = worker_bytes(client)
        between_workers = received_after - received
        to_client = (sent_after - sent) - between_workers
        print(f"Dask fit: {t_dask:.1f} s, k = {model.n_clusters_}", flush=True)

        t = time.perf_counter()
        labels = model.labels_.compute()
        t_labels = time.perf_counter() - t

    identical = bool(np.array_equal(labels, in_memory.labels_))
    agreement = adjusted_rand_score(in_memory.labels_, labels)
    data_bytes = args.n * args.d * 8
    print()
    print(f"n = {args.n}, d = {args.d}, k = {args.k}, m = {args.m}, {len(sizes)} chunks of "
          f"{args.chunk_rows} rows, LocalCluster of {args.workers} processes x 1 thread; "
          f"in-memory fit with n_jobs={n_jobs}")
    print()
    print("| path | fit s | time / in-memory | k found | ARI vs truth | bytes worker -> client | bytes worker <-> worker | labels identical | ARI vs in-memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| in memory | {t_memory:.1f} | 1.00 | {in_memory.n_clusters_} | "
          f"{adjusted_rand_score(truth, in_memory.labels_):.3f} | - | - | - | - |")
    print(f"| Dask | {t_dask:.1f} | {t_dask / t_memory:.2f} | {model.n_clusters_} | "
          f"{adjusted_rand_score(truth, labels):.3f} | {megabytes(to_client)} | {megabytes(between_workers)} | "
          f"{'yes' if identical else 'NO'} | {agreement:.3f} |")
    print()
    print(f"The rows are {megabytes(data_bytes)}; the Dask fit moved {to_client / data_bytes:.2%} of that "
          f"to the client. Computing the {args.n} labels into the client afterwards took {t_labels:.1f} s "
          f"({megabytes(labels.nbytes)}); the fit itself gathers none.")


if __name__ == "__main__":
    main()
