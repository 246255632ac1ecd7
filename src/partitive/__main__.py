"""The ``partitive`` command (``python -m partitive`` works too)."""

from __future__ import annotations

import click
import numpy as np

from . import PPP, __version__
from .datasets import example_path, load_example


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


if __name__ == "__main__":
    main()
