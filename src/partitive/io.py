"""Reading tables from CSV, Parquet and NPY files, whole or in chunks.

Every problem with a file is raised as :class:`DataError` with one line naming the
file and, where it applies, the row or column: the command-line tool prints that line
and exits with status 2.  Writing outputs is in :mod:`partitive.outputs`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}


class DataError(ValueError):
    """A problem with an input file, described in one line."""


@dataclass(frozen=True)
class Table:
    """The numeric columns of a file, with what else the reader found out about it.

    ``ids`` holds the id column's values (as text) of the rows kept, when an id column
    was asked for; ``notes`` are one-line remarks for the user, such as the columns
    left out because they are not numeric.
    """

    X: np.ndarray
    columns: list[str]
    path: Path
    format: str
    header: bool = True
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    ids: list | None = None
    id_column: str | None = None
    notes: tuple = ()


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise DataError(
            f"{path}: unknown file type {path.suffix!r} (use .csv, .parquet or .npy)"
        ) from None


def read_table(path, columns=None, delimiter=None, drop_missing=False, id_column=None) -> Table:
    """Read the numeric columns of a file into a float64 array.

    Parameters
    ----------
    path : str or Path
        A CSV (any delimiter; UTF-8, UTF-16 with its mark, or else Latin-1), Parquet
        or NPY file.
    columns : list of str, optional
        The columns to read; by default every numeric column but ``id_column``.
    delimiter : str, optional
        The CSV delimiter; detected when omitted.
    drop_missing : bool, default=False
        Skip rows with a missing or infinite value instead of raising.
    id_column : str, optional
        A column (of any type) naming the rows: kept as text in ``Table.ids``.

    Returns
    -------
    Table

    Raises
    ------
    DataError
        For any problem with the file, in one line naming the file.
    """
    path = _check_path(path)
    kind = file_format(path)
    reader = {"csv": _read_csv, "parquet": _read_parquet, "npy": _read_npy}[kind]
    try:
        table = reader(path, columns, delimiter, id_column=id_column)
    except OSError as err:  # unreadable: permissions, a device, a vanished file
        raise DataError(f"{path}: cannot read it ({err.strerror or err})") from None
    X, kept = _check_finite(table.X, path, table.columns, 0, drop_missing)
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    ids = table.ids
    if ids is not None and kept is not None:
        ids = [i for i, keep in zip(ids, kept) if keep]
    return replace(table, X=X, ids=ids)


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
    """``X`` without its non-finite rows (``drop_missing``) and the rows kept (None: all).

    Without ``drop_missing`` a non-finite value is the error naming the first of them.
    """
    bad = ~np.isfinite(X)
    if not bad.any():
        return X, None
    if drop_missing:
        kept = ~bad.any(axis=1)
        return X[kept], kept
    row, col = np.argwhere(bad)[0]
    raise DataError(
        f"{path}: missing or infinite value at data row {first_row + row + 1}, column "
        f"{columns[col]!r} (use --drop-missing to skip such rows)"
    )


def _select(path, names, columns, is_numeric, id_column=None):
    """The columns to read and the notes on those left out (non-numeric ones)."""
    if id_column is not None and id_column not in names:
        raise DataError(f"{path}: no id column {id_column!r} (columns: {_listed(names)})")
    if columns is None:
        candidates = [n for n in names if n != id_column]
        chosen = [n for n in candidates if is_numeric(n)]
        if not chosen:
            raise DataError(f"{path}: no numeric columns")
        left_out = [n for n in candidates if n not in chosen]
        notes = ()
        if left_out:
            # Said rather than done silently: a column of numbers with one typo in it
            # would otherwise vanish from the clustering without a word.
            what = "column" if len(left_out) == 1 else "columns"
            notes = (f"{path}: {what} {_listed(left_out, quote=True)} not numeric, left out",)
        return chosen, notes
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(f"{path}: no column {missing[0]!r} (columns: {_listed(names)})")
    for c in columns:
        if c == id_column:
            raise DataError(f"{path}: column {c!r} is the id column; it cannot be clustered too")
        if not is_numeric(c):
            raise DataError(f"{path}: column {c!r} is not numeric")
    return list(columns), ()


def _listed(names, quote=False, most=8) -> str:
    """Names joined for a one-line message, the list cut short when it is long."""
    shown = [repr(n) if quote else n for n in names[:most]]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(shown) + more


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip().lower() in {"", "na", "nan"}
    return True


def _sniff_csv(path, columns, delimiter, id_column=None) -> Table:
    """Delimiter, header, encoding and numeric columns, judged from the first 64 KiB."""
    with open(path, "rb") as fh:
        sample = fh.read(SNIFF_BYTES)
        complete = not fh.read(1)
    if not complete:
        # Cut at a line end: a newline byte is never inside a UTF-8 or Latin-1 character.
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    encoding = _encoding(path, sample, whole=complete)
    try:
        # A sample's last character may be cut in two; it only serves to detect the layout.
        sample = sample.decode(encoding, errors="strict" if complete else "replace")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not {encoding} text at byte {err.start}") from None
    return _parse_csv(path, sample, columns, delimiter, body_values=False,
                      encoding=encoding, id_column=id_column)


#: Bytes of a CSV file read to detect its delimiter, header and numeric columns.
SNIFF_BYTES = 64 * 1024

#: Bytes that do not occur in text (controls other than tab, newlines, form feed, escape).
BINARY_BYTES = bytes(set(range(32)) - {9, 10, 12, 13, 27})


def _encoding(path, data: bytes, whole: bool) -> str:
    """The encoding to read a CSV file with, judged from ``data``: the file if ``whole``,
    else its first bytes (where a character cut by the end of the sample is no error)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if len(data.translate(None, BINARY_BYTES)) != len(data):
        raise DataError(f"{path}: binary data, not a text (CSV) file")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # Every byte is a Latin-1 character, so this reading never fails; the user is
        # told, since the names in a header might read wrong.
        if whole or err.start < len(data) - 3:
            return "latin-1"
    return "utf-8-sig"


def _read_csv(path, columns, delimiter, id_column=None):
    with open(path, "rb") as fh:
        data = fh.read()
    encoding = _encoding(path, data, whole=True)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not {encoding} text at byte {err.start}") from None
    return _parse_csv(path, text, columns, delimiter, body_values=True, encoding=encoding,
                      id_column=id_column)


def _parse_csv(path, text, columns, delimiter, body_values, encoding="utf-8-sig", id_column=None):
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:SNIFF_BYTES], delimiters=",;\t ").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter, skipinitialspace=delimiter == " "))
    except (csv.Error, TypeError) as err:  # TypeError: a delimiter that is not one character
        raise DataError(f"{path}: cannot read as CSV ({err})") from None
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

    chosen, notes = _select(path, names, columns, numeric, id_column)
    if not body_values:
        return Table(None, chosen, path, "csv", header, delimiter, encoding, notes=notes)
    idx = [names.index(c) for c in chosen]
    X = np.array(
        [[float(r[j]) if r[j].strip().lower() not in {"", "na"} else np.nan for j in idx] for r in body],
        dtype=np.float64,
    ).reshape(len(body), len(idx))
    ids = None if id_column is None else [r[names.index(id_column)] for r in body]
    if encoding == "latin-1":
        notes += (f"{path}: not UTF-8; read as Latin-1",)
    return Table(X, chosen, path, "csv", header, delimiter, encoding, ids, id_column, notes)


def _read_parquet(path, columns, delimiter, header_only=False, id_column=None):
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        schema = pq.read_schema(path)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(err)})") from None
    names = list(schema.names)

    def numeric(name):
        kind = schema.field(name).type
        return pat.is_integer(kind) or pat.is_floating(kind) or pat.is_boolean(kind)

    chosen, notes = _select(path, names, columns, numeric, id_column)
    if header_only:
        return Table(None, chosen, path, "parquet", notes=notes)
    try:
        table = pq.read_table(path, columns=chosen + ([id_column] if id_column else []))
    except Exception as err:  # a damaged file can have a sound schema
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(err)})") from None
    X = np.column_stack(
        [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in chosen]
    ) if table.num_rows else np.empty((0, len(chosen)))
    ids = None if id_column is None else [str(v) for v in table.column(id_column).to_pylist()]
    return Table(X, chosen, path, "parquet", ids=ids, id_column=id_column, notes=notes)


def _first_line(err) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def _read_npy(path, columns, delimiter, header_only=False, id_column=None):
    if id_column is not None:
        raise DataError(f"{path}: a .npy file has no named columns to take ids from")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        if "pickled" in str(err) or not str(err):
            err = "not an .npy array"
        raise DataError(f"{path}: not a readable .npy file ({_first_line(err)})") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array, got {array.ndim} dimensions")
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: array of type {array.dtype} is not numeric")
    names = [f"x{j}" for j in range(array.shape[1])]
    chosen, _ = _select(path, names, columns, lambda _: True)
    if header_only:
        return Table(None, chosen, path, "npy")
    X = np.asarray(array[:, [names.index(c) for c in chosen]], dtype=np.float64)
    return Table(X, chosen, path, "npy")
