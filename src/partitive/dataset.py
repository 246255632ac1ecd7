"""A file read in chunks: :class:`Dataset` and :func:`open_dataset`.

``PPP().fit(open_dataset(path))`` streams a CSV, Parquet or NPY file larger than
memory; the readers of :mod:`partitive.io` detect its layout, and every chunk is
checked as it is read.
"""

from __future__ import annotations

import csv
import re
import warnings

import numpy as np

from .io import DataError, _check_finite, _check_path, _read_csv, _read_npy, _read_parquet, _sniff_csv, file_format


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
    id_column : str or None, default=None
        A column (of any type) naming the rows, read as text beside the numbers by
        :meth:`chunks_with_ids`; it is not one of ``columns``.

    Attributes
    ----------
    columns : list of str
        Names of the columns read.
    n_features : int
        Number of columns read.
    notes : tuple of str
        What the reader left out, such as non-numeric columns (each also given as a
        ``UserWarning``).

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

    def __init__(self, path, columns=None, delimiter=None, drop_missing=False, chunk_rows=CHUNK_ROWS,
                 id_column=None):
        self.path = _check_path(path)
        self.id_column = id_column
        self.format = file_format(self.path)
        self.drop_missing = drop_missing
        self.chunk_rows = int(chunk_rows)
        self.delimiter = delimiter
        self.header = True
        self._n_rows = None
        if self.format == "npy":
            table = _read_npy(self.path, columns, None, header_only=True, id_column=id_column)
        elif self.format == "parquet":
            table = _read_parquet(self.path, columns, None, header_only=True, id_column=id_column)
        else:
            table = _sniff_csv(self.path, columns, delimiter, id_column)
            self.header, self.delimiter, self.encoding = table.header, table.delimiter, table.encoding
        self.columns, self.notes = table.columns, table.notes
        if self.format == "csv" and self.encoding == "latin-1":
            self.notes += (f"{self.path}: not UTF-8; read as Latin-1",)
        for note in self.notes:
            # Columns left out without a word would be a silent change to the data.
            warnings.warn(note, UserWarning, stacklevel=2)

    @property
    def n_features(self) -> int:
        """Number of columns read."""
        return len(self.columns)

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r}, columns={self.columns!r})"

    def chunks(self):
        """Yield the data as float64 arrays of at most ``chunk_rows`` rows."""
        for X, _ in self.chunks_with_ids():
            yield X

    def chunks_with_ids(self):
        """Yield ``(X, ids)`` per chunk: the data as :meth:`chunks` gives them and the
        id column's values (a list of str) of the same rows, or None without one."""
        first_row, seen = 0, 0
        raw = {"npy": self._npy_chunks, "parquet": self._parquet_chunks, "csv": self._csv_chunks}
        for X, ids in raw[self.format]():
            kept, rows = _check_finite(X, self.path, self.columns, first_row, self.drop_missing)
            first_row += X.shape[0]
            seen += kept.shape[0]
            if ids is not None and rows is not None:
                ids = [i for i, keep in zip(ids, rows) if keep]
            if kept.shape[0]:
                yield kept, ids
        if first_row == 0:
            raise DataError(f"{self.path}: no data rows")
        if seen == 0:
            raise DataError(f"{self.path}: every row has a missing or infinite value")
        self._n_rows = seen

    def weighted_chunks(self):
        """Yield ``(X, w)`` per chunk, every row of weight 1 (what the reduction reads)."""
        for X in self.chunks():
            yield X, np.ones(X.shape[0])

    def known_rows(self) -> int | None:
        """Rows the fit will see if that takes no pass over the file, else None."""
        if self._n_rows is None and self.format != "csv" and not self.drop_missing:
            return self.count_rows()
        return self._n_rows

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
                    yield np.asarray(array[start : start + self.chunk_rows][:, idx], dtype=np.float64), None
                return
            # Plain reads, not a memory map: pages of a mapped file count in the
            # process's resident memory until the kernel drops them, so a large file
            # read through a map looks like a process as large as the file.
            width = shape[1] if len(shape) == 2 else 1
            for start in range(0, shape[0], self.chunk_rows):
                rows = min(self.chunk_rows, shape[0] - start)
                block = np.fromfile(fh, dtype=dtype, count=rows * width).reshape(rows, width)
                yield np.asarray(block[:, idx], dtype=np.float64), None

    def _parquet_chunks(self):
        import pyarrow.parquet as pq

        source = pq.ParquetFile(self.path)
        ids = [] if self.id_column is None else [self.id_column]
        for batch in source.iter_batches(batch_size=self.chunk_rows, columns=self.columns + ids):
            X = np.column_stack(
                [batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in self.columns]
            ).reshape(batch.num_rows, len(self.columns))
            yield X, None if not ids else [str(v) for v in batch.column(self.id_column).to_pylist()]

    def _csv_chunks(self):
        try:
            import pyarrow as pa
            import pyarrow.csv  # noqa: F401  (the streaming reader below needs it)
        except ImportError:
            # Without pyarrow the file is parsed whole, then handed out in chunks.
            table = _read_csv(self.path, self.columns, self.delimiter, self.id_column)
            for start in range(0, table.X.shape[0], self.chunk_rows):
                end = start + self.chunk_rows
                yield table.X[start:end], None if table.ids is None else table.ids[start:end]
            return
        names, skip = _csv_names(self.path, self.delimiter, self.header, self.encoding)
        try:
            reader = self._open_csv(names, skip)
        except pa.ArrowInvalid as err:
            raise DataError(_csv_error(self.path, self.delimiter, self.header, names, err, self.encoding)) from None
        pending, pending_ids = [], []
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as err:
                raise DataError(_csv_error(self.path, self.delimiter, self.header, names, err, self.encoding)) from None
            pending.append(np.column_stack(
                [batch.column(c).to_numpy(zero_copy_only=False) for c in self.columns]
            ).reshape(batch.num_rows, len(self.columns)))
            if self.id_column is not None:
                pending_ids += batch.column(self.id_column).to_pylist()
            while sum(p.shape[0] for p in pending) >= self.chunk_rows:
                block = np.vstack(pending)
                yield block[: self.chunk_rows], self._ids(pending_ids[: self.chunk_rows])
                pending, pending_ids = [block[self.chunk_rows :]], pending_ids[self.chunk_rows :]
        if pending and sum(p.shape[0] for p in pending):
            yield np.vstack(pending), self._ids(pending_ids)

    def _ids(self, values):
        return None if self.id_column is None else values

    def _open_csv(self, names, skip):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        return pcsv.open_csv(
            self.path,
            read_options=pcsv.ReadOptions(
                column_names=names, skip_rows=skip, block_size=1 << 22,
                encoding="utf-8" if self.encoding == "utf-8-sig" else self.encoding,
            ),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(
                include_columns=self.columns + ([] if self.id_column is None else [self.id_column]),
                column_types={c: pa.float64() for c in self.columns}
                | ({} if self.id_column is None else {self.id_column: pa.string()}),
                null_values=["", "NA", "na", "nan", "NaN", "NAN", "null", "NULL"],
                # Only the id column is text: its values are kept as written, "NA" too.
                strings_can_be_null=False,
            ),
        )


def open_dataset(path, columns=None, delimiter=None, drop_missing=False, chunk_rows=CHUNK_ROWS,
                 id_column=None) -> Dataset:
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
    id_column : str or None, default=None
        A column naming the rows, read as text by :meth:`Dataset.chunks_with_ids`.

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
    return Dataset(path, columns, delimiter, drop_missing, chunk_rows, id_column)


def _csv_names(path, delimiter, header, encoding="utf-8-sig"):
    """The columns' names and the lines before the data (the header and any empty
    lines above it: pyarrow's ``skip_rows`` counts empty lines too).  The first row
    that is not empty names the columns, as when the file is read whole."""
    with open(path, newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter, skipinitialspace=delimiter == " ")
        first = next((row for row in reader if row), [])
        skip = reader.line_num if header else 0
    return ([f.strip() for f in first] if header else [f"x{j}" for j in range(len(first))]), skip


def _csv_error(path, delimiter, header, names, err, encoding="utf-8-sig") -> str:
    """A one-line message for a CSV pyarrow refused: find the ragged line, or the column."""
    with open(path, newline="", encoding=encoding, errors="replace") as fh:
        for line, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
            if row and len(row) != len(names):
                return f"{path}: line {line} has {len(row)} fields, expected {len(names)}"
    text = str(err)
    match = re.search(r"column #(\d+): .*invalid value '([^']*)'", text)
    if match and int(match.group(1)) < len(names):
        name = names[int(match.group(1))]
        return f"{path}: column {name!r} has a value that is not a number ({match.group(2)!r})"
    return f"{path}: cannot parse ({text.splitlines()[0]})"
