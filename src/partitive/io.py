"""Reading tables from CSV, Parquet and NPY files, and writing outputs atomically.

Every problem with a file is raised as :class:`DataError` with one line naming the
file and, where it applies, the row or column: the command-line tool prints that line
and exits with status 2.  Outputs are written to a temporary name in the destination
folder and renamed when complete, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import csv
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}


class DataError(ValueError):
    """A problem with an input file, described in one line."""


@dataclass(frozen=True)
class Table:
    X: np.ndarray
    columns: list[str]
    path: Path
    format: str
    header: bool = True
    delimiter: str = ","


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise DataError(
            f"{path}: unknown file type {path.suffix!r} (use .csv, .parquet or .npy)"
        ) from None


def read_table(path, columns=None, delimiter=None, drop_missing=False) -> Table:
    """Read the numeric columns of a file into a float64 array."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    kind = file_format(path)
    reader = {"csv": _read_csv, "parquet": _read_parquet, "npy": _read_npy}[kind]
    table = reader(path, columns, delimiter)
    X = table.X
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    bad = ~np.isfinite(X)
    if bad.any():
        if drop_missing:
            X = X[~bad.any(axis=1)]
            if X.shape[0] == 0:
                raise DataError(f"{path}: every row has a missing or infinite value")
        else:
            row, col = np.argwhere(bad)[0]
            raise DataError(
                f"{path}: missing or infinite value at data row {row + 1}, column "
                f"{table.columns[col]!r} (use --drop-missing to skip such rows)"
            )
    return Table(X, table.columns, path, kind, table.header, table.delimiter)


def _select(path, names, columns, is_numeric):
    if columns is None:
        chosen = [n for n in names if is_numeric(n)]
        if not chosen:
            raise DataError(f"{path}: no numeric columns")
        return chosen
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(f"{path}: no column {missing[0]!r} (columns: {', '.join(names)})")
    for c in columns:
        if not is_numeric(c):
            raise DataError(f"{path}: column {c!r} is not numeric")
    return list(columns)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip().lower() in {"", "na", "nan"}
    return True


def _read_csv(path, columns, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(64 * 1024)
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
            except csv.Error:
                delimiter = ","
        fh.seek(0)
        rows = list(csv.reader(fh, delimiter=delimiter, skipinitialspace=delimiter == " "))
    rows = [r for r in rows if r]
    if not rows:
        raise DataError(f"{path}: the file is empty")
    # A header is a first row with any field that is not a number.
    header = not all(_is_number(f) for f in rows[0])
    names = [f.strip() for f in rows[0]] if header else [f"x{j}" for j in range(len(rows[0]))]
    body = rows[1:] if header else rows
    width = len(names)
    for i, r in enumerate(body):
        if len(r) != width:
            line = i + (2 if header else 1)
            raise DataError(f"{path}: line {line} has {len(r)} fields, expected {width}")

    def numeric(name):
        j = names.index(name)
        return all(_is_number(r[j]) for r in body)

    chosen = _select(path, names, columns, numeric)
    idx = [names.index(c) for c in chosen]
    X = np.array(
        [[float(r[j]) if r[j].strip().lower() not in {"", "na"} else np.nan for j in idx] for r in body],
        dtype=np.float64,
    ).reshape(len(body), len(idx))
    return Table(X, chosen, path, "csv", header, delimiter)


def _read_parquet(path, columns, delimiter):
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        schema = pq.read_schema(path)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise DataError(f"{path}: not a readable Parquet file ({err})") from None
    names = list(schema.names)

    def numeric(name):
        kind = schema.field(name).type
        return pat.is_integer(kind) or pat.is_floating(kind) or pat.is_boolean(kind)

    chosen = _select(path, names, columns, numeric)
    table = pq.read_table(path, columns=chosen)
    X = np.column_stack(
        [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in chosen]
    ) if table.num_rows else np.empty((0, len(chosen)))
    return Table(X, chosen, path, "parquet")


def _read_npy(path, columns, delimiter):
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise DataError(f"{path}: not a readable .npy file ({err})") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array, got {array.ndim} dimensions")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: array of type {array.dtype} is not numeric")
    names = [f"x{j}" for j in range(array.shape[1])]
    chosen = _select(path, names, columns, lambda _: True)
    X = np.asarray(array[:, [names.index(c) for c in chosen]], dtype=np.float64)
    return Table(X, chosen, path, "npy")


@contextmanager
def atomic_path(target):
    """Yield a temporary path beside ``target``; rename it to ``target`` on success."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_labels(labels: np.ndarray, target, like: Table) -> Path:
    """Write one label per row in the input's format (CSV with a header, Parquet, NPY)."""
    target = Path(target)
    with atomic_path(target) as tmp:
        if like.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"cluster": labels.astype(np.int64)}), tmp)
        elif like.format == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, labels.astype(np.int64))
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("cluster\n")
                fh.write("\n".join(map(str, labels.tolist())))
                fh.write("\n")
    return target


def write_text(text: str, target) -> Path:
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(target)
