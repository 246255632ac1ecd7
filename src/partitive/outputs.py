"""Writing outputs atomically: labels (CSV, Parquet, NPY) and text files.

Outputs are written to a temporary name in the destination folder and renamed when
complete, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import csv
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .io import DataError, Table, file_format


@contextmanager
def atomic_path(target):
    """Yield a temporary path beside ``target``; rename it to ``target`` on success."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); an output gets the mode open() would give it.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_labels(labels: np.ndarray, target, like: Table) -> Path:
    """Write one label per row in the input's format (CSV with a header, Parquet, NPY).

    When ``like`` has ids (an id column was read), each label is written beside its
    row's id, the id first; an NPY file, which has no columns, cannot carry them.
    """
    chunk = [labels] if like.ids is None else [(like.ids, labels)]
    return write_label_chunks(chunk, target, like.format, labels.shape[0], like.id_column)


def write_label_chunks(chunks, target, kind: str, n_rows: int, id_column=None) -> Path:
    """Write labels arriving in chunks, holding one chunk at a time; atomic as a whole.

    ``kind`` is "csv", "parquet" or "npy"; ``n_rows`` (the total) sizes the NPY header.
    With ``id_column`` every chunk is ``(ids, labels)`` and each label is written
    beside its row's id, under that column's name.
    """
    target = Path(target)
    if id_column is not None and kind == "npy":
        raise DataError(f"{target}: an .npy file cannot carry the rows' ids")
    with atomic_path(target) as tmp:
        if kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            fields = ([(id_column, pa.string())] if id_column is not None else []) + [("cluster", pa.int64())]
            with pq.ParquetWriter(tmp, pa.schema(fields)) as writer:
                for chunk in chunks:
                    ids, labels = chunk if id_column is not None else (None, chunk)
                    columns = {} if ids is None else {id_column: pa.array(ids, pa.string())}
                    columns["cluster"] = np.asarray(labels, dtype=np.int64)
                    writer.write_table(pa.table(columns, schema=writer.schema))
        elif kind == "npy":
            from numpy.lib import format as npy

            # The header, then each chunk's bytes appended: a memory map of the file
            # would count every label written as resident memory of this process.
            dtype = np.dtype("<i8")
            with open(tmp, "wb") as fh:
                npy.write_array_header_1_0(fh, {"descr": npy.dtype_to_descr(dtype), "fortran_order": False,
                                                "shape": (n_rows,)})
                start = 0
                for labels in chunks:
                    np.asarray(labels, dtype=dtype).tofile(fh)
                    start += len(labels)
            if start != n_rows:
                raise ValueError(f"{n_rows} labels expected, {start} written")
        elif id_column is not None:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow([id_column, "cluster"])
                for ids, labels in chunks:
                    writer.writerows(zip(ids, np.asarray(labels).tolist()))
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("cluster\n")
                for labels in chunks:
                    if len(labels):
                        fh.write("\n".join(map(str, np.asarray(labels).tolist())))
                        fh.write("\n")
    return target


def predict_to_file(model, dataset: Dataset, target) -> Path:
    """Label every row of a chunked ``dataset`` into ``target`` (.csv, .parquet or .npy).

    ``model`` is a fitted :class:`partitive.PPP` or a :class:`partitive.PartitionTree`.
    One pass over the data; only one chunk of rows and labels is in memory at a time,
    and ``target`` appears only once it is complete.

    >>> import tempfile, pathlib
    >>> from partitive import PPP, open_dataset, predict_to_file
    >>> from partitive.datasets import example_path
    >>> data = open_dataset(example_path(), columns=["annual_spend", "visits_per_month"])
    >>> model = PPP().fit(data)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "labels.npy"
    >>> bool((np.load(predict_to_file(model, data, out)) == model.labels_).all())
    True
    """
    target = Path(target)
    kind = file_format(target)
    tree = getattr(model, "tree_", model)
    n_rows = dataset.count_rows() if kind == "npy" else 0
    return write_label_chunks((tree.predict(X) for X in dataset.chunks()), target, kind, n_rows)


def write_text(text: str, target) -> Path:
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(target)
