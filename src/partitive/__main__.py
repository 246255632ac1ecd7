"""The ``partitive`` command (``python -m partitive`` works too)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from . import PPP, PartitionTree, __version__
from .datasets import example_path, load_example
from .io import DataError, Table, read_table, write_labels, write_text
from .mixture import COVARIANCE_TYPES
from .progress import Phases
from .report import render_report

LABEL_NAMES = {"csv": "labels.csv", "parquet": "labels.parquet", "npy": "labels.npy"}
DEMO_DIR = Path("partitive-demo")


def fail(message: str, status: int = 2):
    """One line on stderr and the exit status: 2 for bad input, 1 for failures."""
    click.echo(f"partitive: error: {message}", err=True)
    sys.exit(status)


def read_or_fail(path, columns, delimiter, drop_missing):
    try:
        return read_table(path, columns=columns, delimiter=delimiter, drop_missing=drop_missing)
    except DataError as err:
        fail(str(err))


def load_tree_or_fail(path) -> PartitionTree:
    try:
        return PartitionTree.from_json(path)
    except (OSError, ValueError, KeyError) as err:
        fail(f"{path}: cannot load the tree ({err})")


def read_for_tree(data, tree, delimiter, drop_missing):
    """The table of ``data`` and its rows in the tree's space (scaled as the tree was)."""
    table = read_or_fail(data, tree.feature_names, delimiter, drop_missing)
    if table.X.shape[1] != tree.n_features:
        fail(f"{data}: {table.X.shape[1]} columns, the tree expects {tree.n_features}")
    X = table.X
    if "standardize" in tree.params:
        X = (X - np.asarray(tree.params["standardize"]["mean"])) / np.asarray(
            tree.params["standardize"]["scale"]
        )
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


def write_outputs(outdir: Path, model, table: Table, X, standardized: bool) -> Path:
    """Write the labels, tree.json, summary.json and report.html: all of them or none."""
    tree = model.tree_
    summary = {
        "input": str(table.path), "rows": int(X.shape[0]), "columns": table.columns,
        "n_clusters": model.n_clusters_, "sizes": [int(c.weight) for c in tree.clusters],
        "clusterability": model.clusterability_, "most_separable_node": tree.most_separable,
        "covariance_type": None if tree.mixture is None else tree.mixture.covariance_type,
        "standardized": standardized, "parameters": model.get_params(), "version": __version__,
    }
    # Rendered before the first file is written, so a failure here leaves nothing behind.
    texts = {
        "tree.json": tree.to_json(),
        "summary.json": json.dumps(summary, indent=1),
        "report.html": render_report(tree, X, model.labels_, summary),
    }
    written = []
    try:
        written.append(write_labels(model.labels_, outdir / LABEL_NAMES[table.format], table))
        for name, text in texts.items():
            written.append(write_text(text, outdir / name))
    except OSError as err:
        for path in written:
            path.unlink(missing_ok=True)
        fail(f"{outdir}: cannot write there ({err.strerror})")
    return outdir / "report.html"


class Partitive(click.Group):
    """The command group; usage errors are one line on stderr, like every other error."""

    def main(self, *args, standalone_mode=True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            status = super().main(*args, standalone_mode=False, **kwargs)
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
            table = Table(X, names, Path(str(example_path())), "csv")
            report = write_outputs(outdir, model, table, X, standardized=False)
    click.echo(f"data: {example_path()} ({X.shape[0]} rows, {X.shape[1]} features)")
    click.echo(
        f"found {model.n_clusters_} clusters, clusterability {model.clusterability_:.3f} "
        "(0.5 = no structure, 1 = perfectly separated)\n"
    )
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


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True,
              help="Folder for labels, tree.json, summary.json and report.html (created if missing).")
@click.option("--columns", default=None, help="Comma-separated columns to use (default: all numeric).")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option("--standardize/--no-standardize", default=False, show_default=True,
              help="Scale every column to zero mean and unit variance first.")
@click.option("--validation", type=click.Choice(["full", "axis"]), default="full", show_default=True)
@click.option("--tau", type=float, default=0.6, show_default=True)
@click.option("--alpha", type=float, default=0.8, show_default=True)
@click.option("--min-cluster-size", type=float, default=None)
@click.option("--max-clusters", type=int, default=None)
@click.option("--covariance-type", type=click.Choice(["auto", *COVARIANCE_TYPES]), default="auto",
              show_default=True, help="Shape of the clusters' Gaussians; 'auto' chooses it by BIC.")
@click.option("--drop-missing", is_flag=True, help="Skip rows with missing values instead of failing.")
@quiet_option
def cluster(data, outdir, columns, delimiter, standardize, validation, tau, alpha,
            min_cluster_size, max_clusters, covariance_type, drop_missing, quiet):
    """Cluster a CSV, Parquet or NPY file; write labels, tree.json, summary.json and report.html.

    \b
    Example:
        partitive cluster customers.csv -o out/
    """
    with Phases(quiet) as phase:
        with phase(f"Reading {data}"):
            table = read_or_fail(data, None if columns is None else columns.split(","), delimiter, drop_missing)
        ensure_writable(outdir)
        X = table.X
        if standardize:
            mean, scale = X.mean(axis=0), X.std(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            X = (X - mean) / scale
        with phase("Growing the partitive tree"):
            try:
                model = PPP(validation=validation, tau=tau, alpha=alpha, min_cluster_size=min_cluster_size,
                            max_clusters=max_clusters, covariance_type=covariance_type).fit(X)
            except ValueError as err:
                fail(str(err).splitlines()[0])
        tree = model.tree_
        tree.feature_names = table.columns
        if standardize:
            # Kept in the tree so that `partitive predict` scales new data the same way.
            tree.params["standardize"] = {"mean": mean.tolist(), "scale": scale.tolist()}
        with phase("Labelling and writing the report"):
            report = write_outputs(outdir, model, table, X, standardize)
    click.echo(f"{model.n_clusters_} clusters, clusterability {model.clusterability_:.3f}; "
               f"wrote {outdir}/ (report: {report})")


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--tree", "tree_path", type=click.Path(path_type=Path), required=True,
              help="A tree.json written by 'partitive cluster'.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Labels file to write (default: print one label a line).")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@quiet_option
def predict(data, tree_path, output, delimiter, quiet):
    """Label the rows of a file with the clusters of a saved tree.

    \b
    Example:
        partitive predict new.csv --tree out/tree.json -o new_labels.csv
    """
    tree = load_tree_or_fail(tree_path)
    with Phases(quiet) as phase:
        with phase(f"Reading {data}"):
            table, X = read_for_tree(data, tree, delimiter, False)
        with phase("Labelling"):
            labels = tree.predict(X)
            if output is not None:
                write_labels(labels, output, table)
    if output is None:
        click.echo("\n".join(map(str, labels.tolist())))


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
            html = render_report(tree, X, None, info)
            try:
                write_text(html, output)
            except OSError as err:
                fail(f"{output}: cannot write there ({err.strerror})")
    click.echo(f"wrote {output}")


if __name__ == "__main__":
    main()
