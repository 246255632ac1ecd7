"""
The demo: 600 customers, four features, k unknown
=================================================

``partitive demo`` clusters the bundled example (600 synthetic customers described by
annual spend, visits per month, basket size and days since the last visit, drawn from
five segments) and writes an HTML report.  This example runs the same command, then
does by hand in Python what it does.
"""

# %%
# The command
# -----------
# ``partitive demo`` prints the clusters it found and the tree that found them, and
# writes ``report.html`` (one self-contained file: open it in a browser).  Here it is
# run through click's test runner into a temporary folder.
import tempfile
from pathlib import Path

from click.testing import CliRunner

from partitive.__main__ import main

outdir = Path(tempfile.mkdtemp()) / "partitive-demo"
result = CliRunner().invoke(main, ["demo", "--outdir", str(outdir), "--quiet"])
print(result.output)
print(sorted(p.name for p in outdir.iterdir()))

# %%
# The same in Python
# ------------------
# :class:`partitive.PPP` is a scikit-learn estimator; it finds k itself.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import adjusted_rand_score

from partitive import PPP
from partitive.datasets import load_example

X, names, segment = load_example()
model = PPP().fit(X)
print(f"{model.n_clusters_} clusters, clusterability {model.clusterability_:.2f}")
print(f"agreement with the segments the rows were drawn from: ARI {adjusted_rand_score(segment, model.labels_):.3f}")

# %%
# Each cluster's centre, in the features' own units:
for label, centre in enumerate(model.cluster_centers_):
    size = int(np.sum(model.labels_ == label))
    values = ", ".join(f"{name} {value:.1f}" for name, value in zip(names, centre))
    print(f"cluster {label} ({size} rows): {values}")

# %%
# Two of the four features, coloured by cluster, with the centres:
fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
ax.scatter(X[:, 0], X[:, 3], c=model.labels_, cmap="tab10", s=12, vmin=0, vmax=9)
ax.scatter(model.cluster_centers_[:, 0], model.cluster_centers_[:, 3], marker="x", s=120, c="black")
ax.set_xlabel(names[0])
ax.set_ylabel(names[3])
ax.set_title(f"PPP: {model.n_clusters_} clusters found")

# %%
# New rows are assigned to their most probable cluster, with the posteriors of the
# clusters' Gaussian mixture:
new = np.array([[400.0, 2.0, 30.0, 45.0], [3800.0, 11.0, 90.0, 4.0]])
print(model.predict(new))
print(model.predict_proba(new).round(3))
