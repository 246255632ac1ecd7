"""Reading tables from CSV, Parquet and NPY files, and writing outputs atomically.

Every problem with a file is raised as :class:`DataError` with one line naming the
file and, where it applies, the row or column: the command-line tool prints that line
and exits with status 2.  Outputs are written to a temporary name in the destination
folder and renamed when complete, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import csv
import os
import re
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
    path = _check_path(path)
    kind = file_format(path)
    reader = {"csv": _read_csv, "parquet": _read_parquet, "npy": _read_npy}[kind]
    table = reader(path, columns, delimiter)
    X = _check_finite(table.X, path, table.columns, 0, drop_missing)
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    return Table(X, table.columns, path, kind, table.header, table.delimiter)


def _check_path(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    return path


def _check_finite(X, path, columns, first_row, drop_missing):
    """``X`` without its non-finite rows (``drop_missing``), or the error naming the first."""
    bad = ~np.isfinite(X)
    if not bad.any():
        return X
    if drop_missing:
        return X[~bad.any(axis=1)]
    row, col = np.argwhere(bad)[0]
    raise DataError(
        f"{path}: missing or infinite value at data row {first_row + row + 1}, column "
        f"{columns[col]!r} (use --drop-missing to skip such rows)"
    )


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


def _sniff_csv(path, columns, delimiter) -> Table:
    """Delimiter, header and numeric columns, judged from the first 64 KiB."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        sample = fh.read(SNIFF_BYTES)
        complete = not fh.read(1)
    if not complete:
        sample = sample[: sample.rfind("\n") + 1] or sample
    return _parse_csv(path, sample, columns, delimiter, body_values=False)


#: Bytes of a CSV file read to detect its delimiter, header and numeric columns.
SNIFF_BYTES = 64 * 1024


def _read_csv(path, columns, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        text = fh.read()
    return _parse_csv(path, text, columns, delimiter, body_values=True)


def _parse_csv(path, text, columns, delimiter, body_values):
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:SNIFF_BYTES], delimiters=",;\t ").delimiter
        except csv.Error:
            delimiter = ","
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter, skipinitialspace=delimiter == " "))
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
    if not body_values:
        return Table(None, chosen, path, "csv", header, delimiter)
    idx = [names.index(c) for c in chosen]
    X = np.array(
        [[float(r[j]) if r[j].strip().lower() not in {"", "na"} else np.nan for j in idx] for r in body],
        dtype=np.float64,
    ).reshape(len(body), len(idx))
    return Table(X, chosen, path, "csv", header, delimiter)


def _read_parquet(path, columns, delimiter, header_only=False):
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
    if header_only:
        return Table(None, chosen, path, "parquet")
    table = pq.read_table(path, columns=chosen)
    X = np.column_stack(
        [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in chosen]
    ) if table.num_rows else np.empty((0, len(chosen)))
    return Table(X, chosen, path, "parquet")


def _read_npy(path, columns, delimiter, header_only=False):
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
    if header_only:
        return Table(None, chosen, path, "npy")
    X = np.asarray(array[:, [names.index(c) for c in chosen]], dtype=np.float64)
    return Table(X, chosen, path, "npy")


#: Rows per chunk when streaming a file; memory is about chunk_rows x columns x 8 bytes.
CHUNK_ROWS = 65_536


class Dataset:
    """A CSV, Parquet or NPY file read in chunks: ``PPP().fit(dataset)`` streams it.

    Every chunk is float64 and checked as it is read, so a bad value far into the file
    is reported with its data row and column.  With ``drop_missing`` rows holding a
    missing or infinite value are skipped (labels then cover the kept rows only).
    Files small enough to fit are clustered exactly; larger ones are reduced (see
    :class:`partitive.PPP`), in three passes over the file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.npy`` file (an NPY file is a 1-D or 2-D array).
    columns : list of str or None, default=None
        Columns to read, by name (``"x0"``, ``"x1"``, ... for NPY and header-less CSV);
        None reads every numeric column.
    delimiter : str or None, default=None
        CSV delimiter; None detects it from the start of the file.
    drop_missing : bool, default=False
        Skip rows with a missing or infinite value instead of raising
        :class:`DataError`.
    chunk_rows : int, default=65536
        Rows per chunk; memory is about ``chunk_rows x columns x 8`` bytes.

    Attributes
    ----------
    columns : list of str
        Names of the columns read.
    n_features : int
        Number of columns read.

    Raises
    ------
    DataError
        The file is missing, of an unknown type, or has no (or no such) numeric column.

    See Also
    --------
    open_dataset : the same, as a function.
    predict_to_file : label a dataset's rows into a file.

    Examples
    --------
    >>> from partitive import Dataset
    >>> from partitive.datasets import example_path
    >>> data = Dataset(example_path(), columns=["annual_spend", "visits_per_month"])
    >>> data.n_features, data.count_rows()
    (2, 600)
    >>> [chunk.shape for chunk in data.chunks()]
    [(600, 2)]
    """

    def __init__(self, path, columns=None, delimiter=None, drop_missing=False, chunk_rows=CHUNK_ROWS):
        self.path = _check_path(path)
        self.format = file_format(self.path)
        self.drop_missing = drop_missing
        self.chunk_rows = int(chunk_rows)
        self.delimiter = delimiter
        self.header = True
        self._n_rows = None
        if self.format == "npy":
            self.columns = _read_npy(self.path, columns, None, header_only=True).columns
        elif self.format == "parquet":
            self.columns = _read_parquet(self.path, columns, None, header_only=True).columns
        else:
            table = _sniff_csv(self.path, columns, delimiter)
            self.columns, self.header, self.delimiter = table.columns, table.header, table.delimiter

    @property
    def n_features(self) -> int:
        """Number of columns read."""
        return len(self.columns)

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r}, columns={self.columns!r})"

    def chunks(self):
        """Yield the data as float64 arrays of at most ``chunk_rows`` rows."""
        first_row, seen = 0, 0
        raw = {"npy": self._npy_chunks, "parquet": self._parquet_chunks, "csv": self._csv_chunks}
        for X in raw[self.format]():
            kept = _check_finite(X, self.path, self.columns, first_row, self.drop_missing)
            first_row += X.shape[0]
            seen += kept.shape[0]
            if kept.shape[0]:
                yield kept
        if first_row == 0:
            raise DataError(f"{self.path}: no data rows")
        if seen == 0:
            raise DataError(f"{self.path}: every row has a missing or infinite value")
        self._n_rows = seen

    def weighted_chunks(self):
        """Yield ``(X, w)`` per chunk, every row of weight 1 (what the reduction reads)."""
        for X in self.chunks():
            yield X, np.ones(X.shape[0])

    def count_rows(self) -> int:
        """Rows the fit will see (one pass over a CSV file; free for Parquet and NPY)."""
        if self._n_rows is None:
            if self.format == "csv" or self.drop_missing:
                for _ in self.chunks():
                    pass
            elif self.format == "npy":
                self._n_rows = int(self._npy().shape[0])
            else:
                import pyarrow.parquet as pq

                self._n_rows = int(pq.ParquetFile(self.path).metadata.num_rows)
        return self._n_rows

    def read(self) -> np.ndarray:
        """The whole (kept) data in memory."""
        parts = list(self.chunks())
        return np.vstack(parts)

    def _npy(self):
        array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        return array[:, None] if array.ndim == 1 else array

    def _npy_chunks(self):
        idx = [int(c[1:]) for c in self.columns]
        with open(self.path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read_header(fh)
            if fortran_order or dtype.hasobject:
                array = self._npy()
                for start in range(0, array.shape[0], self.chunk_rows):
                    yield np.asarray(array[start : start + self.chunk_rows][:, idx], dtype=np.float64)
                return
            # Plain reads, not a memory map: pages of a mapped file count in the
            # process's resident memory until the kernel drops them, so a large file
            # read through a map looks like a process as large as the file.
            width = shape[1] if len(shape) == 2 else 1
            for start in range(0, shape[0], self.chunk_rows):
                rows = min(self.chunk_rows, shape[0] - start)
                block = np.fromfile(fh, dtype=dtype, count=rows * width).reshape(rows, width)
                yield np.asarray(block[:, idx], dtype=np.float64)

    def _parquet_chunks(self):
        import pyarrow.parquet as pq

        source = pq.ParquetFile(self.path)
        for batch in source.iter_batches(batch_size=self.chunk_rows, columns=self.columns):
            yield np.column_stack(
                [batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in self.columns]
            ).reshape(batch.num_rows, len(self.columns))

    def _csv_chunks(self):
        try:
            import pyarrow as pa
            import pyarrow.csv as pcsv
        except ImportError:
            # Without pyarrow the file is parsed whole, then handed out in chunks.
            X = _read_csv(self.path, self.columns, self.delimiter).X
            for start in range(0, X.shape[0], self.chunk_rows):
                yield X[start : start + self.chunk_rows]
            return
        names = _csv_names(self.path, self.delimiter, self.header)
        try:
            reader = self._open_csv(names)
        except pa.ArrowInvalid as err:
            raise DataError(_csv_error(self.path, self.delimiter, self.header, names, err)) from None
        pending = []
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as err:
                raise DataError(_csv_error(self.path, self.delimiter, self.header, names, err)) from None
            pending.append(np.column_stack(
                [batch.column(c).to_numpy(zero_copy_only=False) for c in self.columns]
            ).reshape(batch.num_rows, len(self.columns)))
            while sum(p.shape[0] for p in pending) >= self.chunk_rows:
                block = np.vstack(pending)
                yield block[: self.chunk_rows]
                pending = [block[self.chunk_rows :]]
        if pending and sum(p.shape[0] for p in pending):
            yield np.vstack(pending)

    def _open_csv(self, names):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        return pcsv.open_csv(
            self.path,
            read_options=pcsv.ReadOptions(
                column_names=names, skip_rows=1 if self.header else 0, block_size=1 << 22,
                encoding="utf-8",
            ),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(
                include_columns=self.columns,
                column_types={c: pa.float64() for c in self.columns},
                null_values=["", "NA", "na", "nan", "NaN", "NAN", "null", "NULL"],
                strings_can_be_null=True,
            ),
        )


def open_dataset(path, columns=None, delimiter=None, drop_missing=False, chunk_rows=CHUNK_ROWS) -> Dataset:
    """Open a CSV, Parquet or NPY file for chunked reading (see :class:`Dataset`).

    Only the file's header (or a sample of a CSV file) is read here; the rows are read
    chunk by chunk when the dataset is fitted or predicted.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.npy`` file.
    columns : list of str or None, default=None
        Columns to read, by name; None reads every numeric column.
    delimiter : str or None, default=None
        CSV delimiter; None detects it.
    drop_missing : bool, default=False
        Skip rows with a missing or infinite value instead of raising
        :class:`DataError`.
    chunk_rows : int, default=65536
        Rows per chunk.

    Returns
    -------
    dataset : Dataset
        To pass to :meth:`partitive.PPP.fit`, :meth:`partitive.PPP.predict` or
        :func:`predict_to_file`.

    Examples
    --------
    >>> from partitive import PPP, open_dataset
    >>> from partitive.datasets import example_path
    >>> model = PPP().fit(open_dataset(example_path(), columns=["annual_spend", "visits_per_month"]))
    >>> model.n_features_in_
    2
    """
    return Dataset(path, columns, delimiter, drop_missing, chunk_rows)


def _csv_names(path, delimiter, header):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        first = next(csv.reader(fh, delimiter=delimiter, skipinitialspace=delimiter == " "))
    return [f.strip() for f in first] if header else [f"x{j}" for j in range(len(first))]


def _csv_error(path, delimiter, header, names, err) -> str:
    """A one-line message for a CSV pyarrow refused: find the ragged line, or the column."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
            if row and len(row) != len(names):
                return f"{path}: line {line} has {len(row)} fields, expected {len(names)}"
    text = str(err)
    match = re.search(r"column #(\d+): .*invalid value '([^']*)'", text)
    if match and int(match.group(1)) < len(names):
        name = names[int(match.group(1))]
        return f"{path}: column {name!r} has a value that is not a number ({match.group(2)!r})"
    return f"{path}: cannot parse ({text.splitlines()[0]})"


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
    """Write one label per row in the input's format (CSV with a header, Parquet, NPY)."""
    return write_label_chunks([labels], target, like.format, labels.shape[0])


def write_label_chunks(chunks, target, kind: str, n_rows: int) -> Path:
    """Write labels arriving in chunks, holding one chunk at a time; atomic as a whole.

    ``kind`` is "csv", "parquet" or "npy"; ``n_rows`` (the total) sizes the NPY header.
    """
    target = Path(target)
    with atomic_path(target) as tmp:
        if kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            with pq.ParquetWriter(tmp, pa.schema([("cluster", pa.int64())])) as writer:
                for labels in chunks:
                    writer.write_table(pa.table({"cluster": np.asarray(labels, dtype=np.int64)}))
        elif kind == "npy":
            from numpy.lib.format import open_memmap

            out = open_memmap(tmp, mode="w+", dtype=np.int64, shape=(n_rows,))
            start = 0
            for labels in chunks:
                out[start : start + len(labels)] = labels
                start += len(labels)
            if start != n_rows:
                raise ValueError(f"{n_rows} labels expected, {start} written")
            out.flush()
            del out
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
