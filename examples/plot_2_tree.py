"""
The partitive tree: reading, cutting and plotting it
====================================================

``model.tree_`` is a :class:`partitive.PartitionTree`: every split PPP considered,
accepted or refused, with its evidence, and the final clusters.  It can be printed,
drawn, cut to fewer clusters, turned into a table and saved to JSON.
"""

# %%
# Nine round clusters of different sizes in two dimensions, near a 3 x 3 grid:
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from partitive import PPP, PartitionTree

rng = np.random.default_rng(0)
centres = np.array([(x, y) for x in (0, 6, 12) for y in (0, 6, 12)], float) + rng.normal(0, 0.8, (9, 2))
sizes = rng.integers(60, 160, 9)
X = np.vstack([c + rng.normal(0, 1, (size, 2)) for c, size in zip(centres, sizes)])
model = PPP().fit(X)
tree = model.tree_
tree

# %%
# Printed, the tree gives each split's evidence (dBIC, the children's validation
# scores, the dip test's p-value) and why each leaf stopped:
print(tree)

# %%
# Drawn on its side; leaves are coloured by their final cluster and the most
# separable split is drawn in red.  The tree grew more leaves than there are
# clusters: leaves found to be pieces of one cluster were merged afterwards
# (``tree.merges`` records each merge and its evidence).
tree.plot()
print(f"{len(tree.leaves())} leaves, {len(tree.merges)} merges, {tree.n_clusters} clusters")

# %%
# One row per node, as a pandas DataFrame:
table = tree.to_pandas()
table.head(8)

# %%
# Cutting the tree
# ----------------
# :meth:`~partitive.PartitionTree.cut` replays the tree's own splits, largest node
# first (the order PPP grows in), until it has the number of clusters asked for, so
# the cuts nest: ``cut(k + 1)`` splits one node of ``cut(k)``.  The cut's clusters
# are those nodes, without the final refinement and merging, and its ``predict``
# gives each row the nearest of their centroids, so a row near a boundary can fall
# on the other side of the split that made its node.  The right panel is PPP's own
# result, ``labels_``.
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), layout="constrained", sharey=True)
for ax, k in zip(axes, (2, 4, model.n_clusters_)):
    labels = tree.cut(k).predict(X) if k < model.n_clusters_ else model.labels_
    ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="tab10", s=6, vmin=0, vmax=9)
    ax.set_title(f"{k} clusters")
    ax.set_xticks([])
    ax.set_yticks([])

# %%
# Saving and loading
# ------------------
# A tree saved to JSON predicts exactly as the fitted estimator:
path = Path(tempfile.mkdtemp()) / "tree.json"
tree.to_json(path)
loaded = PartitionTree.from_json(path)
print(f"{path.stat().st_size} bytes; same labels: {np.array_equal(loaded.predict(X), model.labels_)}")
