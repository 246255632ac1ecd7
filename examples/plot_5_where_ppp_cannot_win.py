"""
Where PPP cannot win: shapes that are not blobs
===============================================

PPP splits with 2-means and describes each cluster by a Gaussian, so a cluster has to
be a blob.  On rings, moons and spirals the splits cut through them; the merge step
joins the pieces again by density only where each holds a few neighbourhoods of
points (two moons of 2,000 points come back as 2 clusters), so shapes of a few hundred
points, as here, come back as several blob-shaped pieces.  A density method such as
HDBSCAN is the right tool there.  On blobs of different sizes and spreads, where one density level
does not fit every cluster, PPP is at home.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.metrics import adjusted_rand_score

from partitive import PPP

data = {
    "two moons": make_moons(n_samples=600, noise=0.06, random_state=0),
    "two rings": make_circles(n_samples=600, noise=0.04, factor=0.45, random_state=0),
    "blobs of unequal spread": make_blobs(
        n_samples=[300, 200, 100], centers=[[0, 0], [6, 0], [3, 5]],
        cluster_std=[0.4, 1.6, 0.9], random_state=0,
    ),
}



def colours(labels):
    """One colour per cluster (20 at most before they repeat); noise (-1) in grey."""
    palette = plt.cm.tab20(np.r_[0:20:2, 1:20:2])  # the ten strong colours first
    rgba = palette[np.asarray(labels) % 20]
    rgba[np.asarray(labels) < 0] = (0.75, 0.75, 0.75, 1.0)
    return rgba


fig, axes = plt.subplots(2, 3, figsize=(10, 6.5), layout="constrained")
for column, (name, (X, truth)) in enumerate(data.items()):
    ppp = PPP().fit(X)
    hdb = HDBSCAN(min_cluster_size=15, copy=True).fit(X)
    for row, (method, labels, note) in enumerate(
        [
            ("PPP", ppp.labels_, f", clusterability {ppp.clusterability_:.2f}"),
            ("HDBSCAN", hdb.labels_, ""),
        ]
    ):
        ax = axes[row, column]
        k = len(set(labels) - {-1})
        ax.scatter(X[:, 0], X[:, 1], c=colours(labels), s=5)
        ax.set_title(f"{method} on {name}\nk={k}, ARI {adjusted_rand_score(truth, labels):.2f}{note}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        print(f"{name:24s} {method:8s} k={k:2d}  ARI {adjusted_rand_score(truth, labels):.2f}{note}")

# %%
# PPP's pieces of a moon or a ring are each a fair blob, so its clusterability stays
# high there: it does not warn that the shapes are not blobs.  Too many clusters on
# data you expected to hold a few, each a stretch of one curve in a scatter plot, is
# the sign to try a density method.  HDBSCAN marks the points it leaves out as noise
# (label -1, drawn in grey), which costs it on the wide blob.  For
# non-convex clusters use a density method; for blob-like clusters whose number is
# unknown, and an answer that must not vary between runs, PPP.
