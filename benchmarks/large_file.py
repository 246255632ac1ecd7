"""``partitive cluster`` on a file larger than memory allows: time, peak memory, labels.

    python benchmarks/large_file.py                          # 1e8 x 16 float32 (6.4 GB)
    python benchmarks/large_file.py --n 1e7 --no-check --no-report

Writes (once, into --data-dir) a float32 .npy file of n rows of 64 Gaussian blobs in
16 features (benchmarks/blobs.py, centres spread 2 per feature: well apart), then runs
the command line on it in a fresh process and reports its wall time, peak resident
memory (the child's, from the kernel), k and ARI against the blobs.  With ``--check``
(the default) ``PPP().fit(open_dataset(path))`` runs in another process and its labels
are compared with the file the command wrote, row for row.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report  # noqa: E402
from blobs import blob_centers, write_blobs_npy  # noqa: E402

D, K, SPREAD = 16, 64, 2.0
BLOCK = 10_000_000


def prepare(folder: Path, n: int) -> Path:
    path = folder / f"blobs_{n}x{D}.npy"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        truth = write_blobs_npy(path.with_suffix(".tmp.npy"), n, blob_centers(K, D, spread=SPREAD))
        np.save(path.with_suffix(".truth.npy"), truth)
        os.replace(path.with_suffix(".tmp.npy"), path)
    return path


def ari_by_blocks(truth, labels) -> float:
    """The adjusted Rand index from a contingency table summed block by block
    (scikit-learn's takes both labellings whole, 1.6 GB at 1e8 rows)."""
    from scipy.special import comb

    table = np.zeros((int(truth.max()) + 1, int(labels.max()) + 1), dtype=np.int64)
    for start in range(0, truth.shape[0], BLOCK):
        t, lab = np.asarray(truth[start:start + BLOCK]), np.asarray(labels[start:start + BLOCK])
        np.add.at(table, (t, lab), 1)
    pairs = comb(table, 2).sum()
    rows, cols = comb(table.sum(axis=1), 2).sum(), comb(table.sum(axis=0), 2).sum()
    expected = rows * cols / comb(table.sum(), 2)
    return float((pairs - expected) / ((rows + cols) / 2 - expected))


def short(n: int) -> str:
    return f"{n:.0e}".replace("+0", "").replace("+", "")


def run_child(command) -> tuple[float, float]:
    """Wall seconds and the child's peak resident memory (MB) of one command."""
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e8)
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "partitive-bench"))
    parser.add_argument("--no-check", action="store_true", help="skip the in-process fit's comparison")
    _report.add_arguments(parser)
    args = parser.parse_args(argv)
    n = int(args.n)
    path = prepare(Path(args.data_dir), n)
    out = Path(args.data_dir) / f"out_{n}"
    # RUSAGE_CHILDREN's peak is the largest of the children so far: the CLI runs first.
    seconds, peak = run_child([sys.executable, "-m", "partitive", "cluster", str(path), "-o", str(out), "-q"])
    labels = np.load(out / "labels.npy", mmap_mode="r")
    truth = np.load(path.with_suffix(".truth.npy"), mmap_mode="r")
    same = "not checked"
    if not args.no_check:
        fitted = out / "fit_labels.npy"
        code = (f"import numpy as np; from partitive import PPP, open_dataset; "
                f"np.save({str(fitted)!r}, PPP().fit(open_dataset({str(path)!r})).labels_)")
        subprocess.run([sys.executable, "-c", code], check=True)
        other = np.load(fitted, mmap_mode="r")
        same = "yes" if all(np.array_equal(labels[s:s + BLOCK], other[s:s + BLOCK])
                            for s in range(0, n, BLOCK)) else "NO"
    k = int(labels.max()) + 1
    size_gb = path.stat().st_size / 1e9
    with _report.tee() as text:
        print(f"`partitive cluster` on a float32 .npy of {short(n)} x {D} ({size_gb:.1f} GB), {K} blobs:\n")
        print("| rows | file | wall s | peak RSS | k | ARI | labels = `PPP().fit(open_dataset(path))` |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {short(n)} | {size_gb:.1f} GB | {seconds:.0f} | {peak:.0f} MB | {k} | "
              f"{ari_by_blocks(truth, labels):.4f} | {same} |")
    if not args.no_report:
        _report.write_section(f"large file n={short(n)}", f"A file larger than memory allows (n = {short(n)})",
                              text.getvalue(), path=args.report, argv=argv and [__file__, *argv])


if __name__ == "__main__":
    main()
