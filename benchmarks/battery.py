"""Reader and scorer for the clustering benchmark battery in ``../shared/data/battery``.

The battery is read in place (never copied into this repository).  Scoring follows
the battery's README: ARI against the best-matching label vector with noise (label 0)
left out, and the true k of a label vector is its number of distinct non-zero labels.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "battery"
BATTERIES = ("sipu", "uci", "other")


@dataclass(frozen=True)
class DataSet:
    battery: str
    name: str
    X: np.ndarray
    labelings: tuple[np.ndarray, ...]

    @property
    def key(self) -> str:
        return f"{self.battery}/{self.name}"

    @property
    def true_k(self) -> int:
        """The true k of the first (reference) labelling."""
        return _n_clusters(self.labelings[0])

    def score(self, labels: np.ndarray) -> tuple[float, bool]:
        """Best ARI over the alternative ground truths, and whether k matches that one."""
        best_ari, best_k_ok = -1.0, False
        for truth in self.labelings:
            keep = truth != 0
            ari = adjusted_rand_score(truth[keep], labels[keep])
            if ari > best_ari:
                best_ari, best_k_ok = ari, np.unique(labels[keep]).size == _n_clusters(truth)
        return float(best_ari), best_k_ok


def _n_clusters(truth: np.ndarray) -> int:
    """Number of clusters of a ground truth: its distinct labels, noise (0) excluded."""
    return int(np.unique(truth[truth != 0]).size)


def _read_gz(path: Path, dtype) -> np.ndarray:
    with gzip.open(path, "rt") as fh:
        return np.loadtxt(fh, dtype=dtype, ndmin=1)


def battery_root() -> Path:
    return Path(os.environ.get("PARTITIVE_BATTERY", DEFAULT_ROOT))


def load_battery(root: Path | None = None, batteries=BATTERIES, max_n: int | None = None):
    """Yield every data set of the battery that has both data and labels, by name."""
    root = Path(root) if root is not None else battery_root()
    if not root.is_dir():
        raise FileNotFoundError(
            f"benchmark battery not found at {root}; set PARTITIVE_BATTERY to its folder"
        )
    for battery in batteries:
        for data_path in sorted((root / battery).glob("*.data.gz")):
            name = data_path.name[: -len(".data.gz")]
            label_paths = sorted((root / battery).glob(f"{name}.labels*.gz"))
            if not label_paths:
                continue
            X = _read_gz(data_path, np.float64)
            if X.ndim == 1:
                X = X[:, None]
            if max_n is not None and X.shape[0] > max_n:
                continue
            labelings = tuple(_read_gz(p, np.int64) for p in label_paths)
            yield DataSet(battery, name, X, labelings)
