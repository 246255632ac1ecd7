"""The ``partitive`` command (``python -m partitive`` works too)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from . import PPP, PartitionTree, __version__
from .datasets import example_path, load_example
from .io import DataError, read_table, write_labels, write_text

LABEL_NAMES = {"csv": "labels.csv", "parquet": "labels.parquet", "npy": "labels.npy"}


def fail(message: str, status: int = 2):
    """One line on stderr and the exit status: 2 for bad input, 1 for failures."""
    click.echo(f"partitive: error: {message}", err=True)
    sys.exit(status)


def read_or_fail(path, columns, delimiter, drop_missing):
    try:
        return read_table(path, columns=columns, delimiter=delimiter, drop_missing=drop_missing)
    except DataError as err:
        fail(str(err))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="partitive")
def main():
    """Probabilistic Partitive Partitioning: clustering that finds k and never varies."""


@main.command()
def demo():
    """Cluster the bundled example and print what was found.

    \b
    Example:
        partitive demo
    """
    X, names, segment = load_example()
    model = PPP().fit(X)
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


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True,
              help="Folder for labels, tree.json and summary.json (created if missing).")
@click.option("--columns", default=None, help="Comma-separated columns to use (default: all numeric).")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option("--standardize/--no-standardize", default=False, show_default=True,
              help="Scale every column to zero mean and unit variance first.")
@click.option("--validation", type=click.Choice(["full", "axis"]), default="full", show_default=True)
@click.option("--tau", type=float, default=0.6, show_default=True)
@click.option("--alpha", type=float, default=0.8, show_default=True)
@click.option("--min-cluster-size", type=float, default=None)
@click.option("--max-clusters", type=int, default=None)
@click.option("--drop-missing", is_flag=True, help="Skip rows with missing values instead of failing.")
def cluster(data, outdir, columns, delimiter, standardize, validation, tau, alpha,
            min_cluster_size, max_clusters, drop_missing):
    """Cluster a CSV, Parquet or NPY file; write labels, tree.json and summary.json.

    \b
    Example:
        partitive cluster customers.csv -o out/
    """
    table = read_or_fail(data, None if columns is None else columns.split(","), delimiter, drop_missing)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        probe = outdir / ".partitive-write-test"
        probe.touch()
        probe.unlink()
    except OSError as err:
        fail(f"{outdir}: cannot write there ({err.strerror})")
    X = table.X
    if standardize:
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        X = (X - mean) / scale
    try:
        model = PPP(validation=validation, tau=tau, alpha=alpha,
                    min_cluster_size=min_cluster_size, max_clusters=max_clusters).fit(X)
    except ValueError as err:
        fail(str(err).splitlines()[0])
    tree = model.tree_
    tree.feature_names = table.columns
    if standardize:
        # Kept in the tree so that `partitive predict` scales new data the same way.
        tree.params["standardize"] = {"mean": mean.tolist(), "scale": scale.tolist()}
    summary = {
        "input": str(table.path), "rows": int(X.shape[0]), "columns": table.columns,
        "n_clusters": model.n_clusters_, "sizes": [int(c.weight) for c in tree.clusters],
        "clusterability": model.clusterability_, "most_separable_node": tree.most_separable,
        "standardized": standardize, "parameters": model.get_params(), "version": __version__,
    }
    write_labels(model.labels_, outdir / LABEL_NAMES[table.format], table)
    write_text(tree.to_json(), outdir / "tree.json")
    write_text(json.dumps(summary, indent=1), outdir / "summary.json")
    click.echo(f"{model.n_clusters_} clusters, clusterability {model.clusterability_:.3f}; "
               f"wrote {outdir}/")


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--tree", "tree_path", type=click.Path(path_type=Path), required=True,
              help="A tree.json written by 'partitive cluster'.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Labels file to write (default: print one label a line).")
@click.option("--delimiter", default=None)
def predict(data, tree_path, output, delimiter):
    """Label the rows of a file with the clusters of a saved tree.

    \b
    Example:
        partitive predict new.csv --tree out/tree.json -o new_labels.csv
    """
    try:
        tree = PartitionTree.from_json(tree_path)
    except (OSError, ValueError) as err:
        fail(f"{tree_path}: cannot load the tree ({err})")
    table = read_or_fail(data, tree.feature_names, delimiter, False)
    if table.X.shape[1] != tree.n_features:
        fail(f"{data}: {table.X.shape[1]} columns, the tree expects {tree.n_features}")
    X = table.X
    if "standardize" in tree.params:
        X = (X - np.asarray(tree.params["standardize"]["mean"])) / np.asarray(
            tree.params["standardize"]["scale"]
        )
    labels = tree.predict(X)
    if output is None:
        click.echo("\n".join(map(str, labels.tolist())))
    else:
        write_labels(labels, output, table)


if __name__ == "__main__":
    main()
