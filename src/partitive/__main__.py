"""The ``partitive`` command (``python -m partitive`` works too)."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np

from . import PPP, PartitionTree, __version__
from ._ppp_options import ppp_options
from .datasets import example_path, load_example
from .dataset import CHUNK_ROWS, open_dataset
from .io import DataError, Table, read_table
from .outputs import write_label_chunks, write_labels, write_text
from .progress import Phases
from .report import render_report
from .report.figures import sample_rows
from .source import DatasetSource, NoProgress
from .standardize import Prepared, check_chunk, dataset_scaling, standardized

LABEL_NAMES = {"csv": "labels.csv", "parquet": "labels.parquet", "npy": "labels.npy"}
DEMO_DIR = Path("partitive-demo")


def fail(message: str, status: int = 2):
    """One line on stderr and the exit status: 2 for bad input, 1 for failures."""
    # The notes gathered so far are about a run that did not happen: only the error is said.
    NOTES.clear()
    click.echo(f"partitive: error: {message}", err=True)
    sys.exit(status)


#: Notes of the running command, said once it has succeeded (see ``say_notes``).
NOTES: list[str] = []


def note(message: str):
    """Keep a line about something done that the user should know of."""
    NOTES.append(message)


def say_notes():
    """Print the notes, one line each on stderr."""
    for message in NOTES:
        click.echo(f"partitive: note: {message}", err=True)
    NOTES.clear()


def read_or_fail(path, columns, delimiter, drop_missing, id_column=None):
    try:
        table = read_table(path, columns=columns, delimiter=delimiter, drop_missing=drop_missing,
                           id_column=id_column)
    except DataError as err:
        fail(str(err))
    note_left_out(table.notes)
    return table


def note_left_out(notes):
    """The reader's notes, a column left out with the hint of how to keep it."""
    for line in notes:
        hint = " (--id-column NAME carries a column into the labels)" if line.endswith("left out") else ""
        note(line + hint)


def check_magnitude(X, table: Table, standardized: bool):
    """Fail with one line if ``X`` holds values too large to compute with."""
    try:
        check_chunk(X, table, standardized)
    except DataError as err:
        fail(str(err))


def load_tree_or_fail(path) -> PartitionTree:
    try:
        return PartitionTree.from_json(path)
    except (OSError, ValueError, KeyError) as err:
        fail(f"{path}: cannot load the tree ({err})")


def read_for_tree(data, tree, delimiter, drop_missing, id_column=None):
    """The table of ``data`` and its rows in the tree's space (scaled as the tree was)."""
    table = read_or_fail(data, tree.feature_names, delimiter, drop_missing, id_column)
    if table.X.shape[1] != tree.n_features:
        fail(f"{data}: {table.X.shape[1]} columns, the tree expects {tree.n_features}")
    X = table.X
    if "standardize" in tree.params:
        X = standardized(X, np.asarray(tree.params["standardize"]["mean"]),
                         np.asarray(tree.params["standardize"]["scale"]))
    check_magnitude(X, table, "standardize" in tree.params)
    return table, X


def ensure_writable(outdir: Path):
    """Fail before the fit, not after it, when ``outdir`` cannot take the outputs."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        probe = outdir / ".partitive-write-test"
        probe.touch()
        probe.unlink()
    except OSError as err:
        fail(f"{outdir}: cannot write there ({err.strerror})")


class InMemory:
    """Rows already in memory, read like a dataset by :func:`write_outputs`."""

    def __init__(self, X, columns, path, kind="csv"):
        self.X, self.columns, self.path, self.format, self.id_column = X, columns, Path(path), kind, None

    def chunks_with_ids(self):
        yield self.X, None


def write_outputs(outdir: Path, model, data, standardized: bool, progress=None) -> Path:
    """Write the labels, tree.json, summary.json and report.html: all of them or none.

    ``data`` gives the rows in chunks (``chunks_with_ids``), as the tree saw them: one
    pass writes each chunk's labels, beside its ids when there is an id column, and
    keeps the rows the report's scatter plot shows (at most a few thousand).
    """
    tree = model.tree_
    labels = np.asarray(model.labels_)
    n_rows = labels.shape[0]
    summary = {
        "input": str(data.path), "rows": int(n_rows), "columns": list(data.columns),
        "id_column": data.id_column,
        "n_clusters": model.n_clusters_, "sizes": [int(c.weight) for c in tree.clusters],
        # One cluster has nothing to be separated from: its clusterability of 1 scores nothing.
        "clusterability": model.clusterability_ if model.n_clusters_ > 1 else None,
        "most_separable_node": tree.most_separable,
        "covariance_type": None if tree.mixture is None else tree.mixture.covariance_type,
        "standardized": standardized, "parameters": model.get_params(), "version": __version__,
    }
    shown = sample_rows(n_rows)
    sample = []

    def label_chunks(advance):
        start = 0
        for X, ids in data.chunks_with_ids():
            end = start + X.shape[0]
            sample.append(X[shown[(shown >= start) & (shown < end)] - start])
            yield labels[start:end] if data.id_column is None else (ids, labels[start:end])
            advance(X.shape[0])
            start = end

    written = []
    try:
        with (progress or NoProgress()).track("Writing labels", n_rows) as advance:
            written.append(write_label_chunks(label_chunks(advance), outdir / LABEL_NAMES[data.format],
                                              data.format, n_rows, data.id_column))
        texts = {"tree.json": tree.to_json(), "summary.json": json.dumps(summary, indent=1)}
        with warnings_noted("drawing the report"):
            texts["report.html"] = render_report(tree, np.vstack(sample), labels[shown], summary)
        for name, text in texts.items():
            written.append(write_text(text, outdir / name))
    except OSError as err:
        remove(written)
        fail(f"{outdir}: cannot write there ({err.strerror})")
    except BaseException:
        # The outputs are all written or none: a failure part-way takes back the first.
        remove(written)
        raise
    return outdir / "report.html"


def remove(paths):
    for path in paths:
        path.unlink(missing_ok=True)


class Partitive(click.Group):
    """The command group; usage errors are one line on stderr, like every other error."""

    def main(self, *args, standalone_mode=True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        NOTES.clear()
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
            say_notes()
        except click.exceptions.NoArgsIsHelpError as err:
            # A bare `partitive` asks what there is: the help answers better than a line.
            err.show()
            sys.exit(err.exit_code)
        except click.ClickException as err:
            ctx = getattr(err, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            fail(" ".join(err.format_message().split()) + hint, err.exit_code)
        except click.Abort:
            fail("interrupted", 1)
        except Exception as err:
            # A bug, not bad input: still one line, with the traceback on request.
            if os.environ.get("PARTITIVE_TRACEBACK"):
                raise
            first = (str(err).splitlines() or [""])[0]
            fail(f"internal error, please report it: {type(err).__name__}: {first} "
                 "(PARTITIVE_TRACEBACK=1 shows where)", 1)
        sys.exit(status if isinstance(status, int) else 0)


quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress display (it is shown only on a terminal anyway)."
)


@click.group(cls=Partitive, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="partitive")
def main():
    """Probabilistic Partitive Partitioning: clustering that finds k and never varies.

    \b
    Examples:
        partitive demo
        partitive cluster customers.csv -o out/
        partitive report out/ --data customers.csv
        partitive predict new.csv --tree out/tree.json -o new_labels.csv
    """


@main.command()
@click.option("-o", "--outdir", type=click.Path(path_type=Path), default=DEMO_DIR, show_default=True,
              help="Folder for the report and the other outputs.")
@quiet_option
def demo(outdir, quiet):
    """Cluster the bundled example, print what was found and write its report.

    \b
    Example:
        partitive demo
    """
    X, names, segment = load_example()
    ensure_writable(outdir)
    with Phases(quiet) as phase:
        with phase("Growing the partitive tree"):
            model = PPP().fit(X)
        model.tree_.feature_names = names
        with phase("Labelling and writing the report"):
            report = write_outputs(outdir, model, InMemory(X, names, str(example_path())), standardized=False)
    click.echo(f"data: {example_path()} ({X.shape[0]} rows, {X.shape[1]} features)")
    click.echo(f"found {found(model)}\n")
    width = max(len(n) for n in names)
    header = "cluster  size  " + "  ".join(f"{n:>{width}}" for n in names)
    click.echo(header)
    for c in model.tree_.clusters:
        means = "  ".join(f"{v:>{width}.1f}" for v in c.center)
        click.echo(f"{c.label:>7}  {int(c.weight):>4}  {means}")
    from sklearn.metrics import adjusted_rand_score

    agreement = adjusted_rand_score(segment, model.labels_)
    click.echo(f"\nagreement with the segments the example was drawn from: ARI {agreement:.3f}")
    click.echo("\n" + str(model.tree_))
    click.echo(f"\nreport: {report} (open it in a browser; labels, tree.json and summary.json beside it)")


def found(model) -> str:
    """What the fit found, in words: k and, when there is a structure, how clear it is."""
    k = model.n_clusters_
    if k == 1:
        return "1 cluster: no structure to score (the data look like one group)"
    return (f"{k} clusters, clusterability {model.clusterability_:.3f} "
            "(0.5 = no structure, 1 = perfectly separated)")


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True,
              help="Folder for labels, tree.json, summary.json and report.html (created if missing).")
@click.option("--columns", default=None, help="Comma-separated columns to use (default: all numeric).")
@click.option("--id-column", default=None, metavar="NAME",
              help="A column naming the rows: not clustered, written beside each label in labels.csv.")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option("--standardize/--no-standardize", default=False, show_default=True,
              help="Scale every column to zero mean and unit variance first.")
@click.option("--drop-missing", is_flag=True, help="Skip rows with missing values instead of failing.")
@quiet_option
@ppp_options
def cluster(data, outdir, columns, id_column, delimiter, standardize, drop_missing, quiet, **params):
    """Cluster a CSV, Parquet or NPY file; write labels, tree.json, summary.json and report.html.

    The options after --quiet are the parameters of partitive.PPP, with its defaults.

    \b
    Example:
        partitive cluster customers.csv -o out/
    """
    with Phases(quiet) as phase:
        with phase(f"Reading {data}"):
            dataset = open_or_fail(data, None if columns is None else columns.split(","), delimiter,
                                   drop_missing, id_column)
        ensure_writable(outdir)
        mean = scale = None
        if standardize:
            mean, scale = call_or_fail(dataset_scaling, dataset, phase)
        rows = Prepared(dataset, mean, scale)
        with phase("Growing the partitive tree"):
            model = fit_or_fail(PPP(**params), DatasetSource(rows, phase))
        tree = model.tree_
        tree.feature_names = dataset.columns
        if standardize:
            # Kept in the tree so that `partitive predict` scales new data the same way.
            tree.params["standardize"] = {"mean": mean.tolist(), "scale": scale.tolist()}
        with phase("Labelling and writing the report"):
            report = call_or_fail(write_outputs, outdir, model, rows, standardize, phase)
    click.echo(f"{found(model)}; wrote {outdir}/ (report: {report})")


#: Rows per chunk of ``partitive cluster``; the environment variable sets it (for tests).
CHUNK_ROWS_VARIABLE = "PARTITIVE_CHUNK_ROWS"


def open_or_fail(path, columns, delimiter, drop_missing, id_column=None):
    """The file as a chunked dataset; what it leaves out is said in notes."""
    chunk_rows = int(os.environ.get(CHUNK_ROWS_VARIABLE, CHUNK_ROWS))
    with warnings.catch_warnings():
        # The notes say it in one line each, with a hint.
        warnings.simplefilter("ignore", UserWarning)
        dataset = call_or_fail(open_dataset, path, columns, delimiter, drop_missing, chunk_rows, id_column)
    note_left_out(dataset.notes)
    return dataset


def call_or_fail(function, *args):
    """``function(*args)``; a problem with the file is one line on stderr."""
    try:
        return function(*args)
    except DataError as err:
        fail(str(err))


@contextmanager
def warnings_noted(during: str):
    """Python warnings raised inside, told in one note line each (numerical ones in one)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    # Python would print each warning with its source line: noise to a user, who can act
    # only on knowing that the arithmetic was strained.
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if numeric:
        first = numeric[0]
        note(f"{len(numeric)} numerical warning(s) {during}, the first: {first.message} "
             f"({Path(first.filename).name}:{first.lineno})")
    others = {(w.category.__name__, str(w.message)) for w in caught if not issubclass(w.category, RuntimeWarning)}
    for kind, message in sorted(others):
        note(f"{kind} {during}: {message}")


def fit_or_fail(model, X):
    """``model.fit(X)``; a refusal is one line on stderr."""
    with warnings_noted("during the fit"):
        try:
            model.fit(X)
        except ValueError as err:
            fail((str(err).splitlines() or [type(err).__name__])[0])
    return model


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--tree", "tree_path", type=click.Path(path_type=Path), required=True,
              help="A tree.json written by 'partitive cluster'.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Labels file to write (default: print one label a line).")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option("--id-column", default=None, metavar="NAME",
              help="A column naming the rows, written beside each label in the labels file.")
@quiet_option
def predict(data, tree_path, output, delimiter, id_column, quiet):
    """Label the rows of a file with the clusters of a saved tree.

    \b
    Example:
        partitive predict new.csv --tree out/tree.json -o new_labels.csv
    """
    tree = load_tree_or_fail(tree_path)
    with Phases(quiet) as phase:
        with phase(f"Reading {data}"):
            table, X = read_for_tree(data, tree, delimiter, False, id_column)
        with phase("Labelling"):
            labels = tree.predict(X)
            if output is not None:
                try:
                    write_labels(labels, output, table)
                except (OSError, DataError) as err:
                    fail(f"{output}: cannot write there ({getattr(err, 'strerror', None) or err})")
    if output is None:
        if table.ids is None:
            click.echo("\n".join(map(str, labels.tolist())))
        else:
            # As in labels.csv: an id holding the delimiter or a quote is quoted.
            lines = io.StringIO()
            csv.writer(lines, lineterminator="\n").writerows(zip(table.ids, labels.tolist()))
            click.echo(lines.getvalue(), nl=False)


@main.command()
@click.argument("source", metavar="OUTDIR_OR_TREE_JSON", type=click.Path(path_type=Path))
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="The data file the tree was grown on; the scatter plot needs it.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="HTML file to write (default: report.html beside tree.json).")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option("--drop-missing", is_flag=True, help="Skip rows with missing values, as 'cluster --drop-missing' did.")
@quiet_option
def report(source, data, output, delimiter, drop_missing, quiet):
    """Render report.html again from a tree.json, with the data for the scatter plot.

    \b
    Example:
        partitive report out/ --data customers.csv
    """
    tree_path = source / "tree.json" if source.is_dir() else source
    tree = load_tree_or_fail(tree_path)
    summary_path = tree_path.parent / "summary.json"
    info = {}
    if summary_path.is_file():
        try:
            info = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            fail(f"{summary_path}: cannot read it ({err})")
    X = None
    with Phases(quiet) as phase:
        if data is not None:
            with phase(f"Reading {data}"):
                table, X = read_for_tree(data, tree, delimiter, drop_missing)
            info = {**info, "input": str(table.path), "rows": int(X.shape[0]), "columns": table.columns}
        output = output or tree_path.parent / "report.html"
        with phase("Writing the report"):
            with warnings_noted("drawing the report"):
                html = render_report(tree, X, None, info)
            try:
                write_text(html, output)
            except OSError as err:
                fail(f"{output}: cannot write there ({err.strerror})")
    click.echo(f"wrote {output}")


if __name__ == "__main__":
    main()
