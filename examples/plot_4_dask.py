"""
PPP on Dask: the rows stay where they are
=========================================

With ``pip install "partitive[dask]"``, ``PPP().fit`` accepts a Dask array or
DataFrame.  Each block is reduced to a small summary where it lives, the client grows
the tree on the merged summaries, and ``labels_`` is a lazy Dask array, computed
block by block.  The labels are identical to the in-memory fit's for any chunking.

A real cluster would be reached through ``distributed.Client("tcp://scheduler:8786")``
(see :doc:`/dask`).  To stay small and fast this example uses Dask's synchronous
scheduler, which runs every task in this process; the code is otherwise the same.
"""

# %%
import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np

from partitive import PPP
from partitive.datasets import well_separated_blobs

X, truth = well_separated_blobs(k=6, d=3, n_per=10_000, spread=1.0, separation=8.0, seed=1)
A = da.from_array(X, chunks=(7_500, 3))
print(A)

# %%
# Fit on the Dask array.  With 60,000 rows, above ``reduce_above=20_000``, the blocks
# are reduced to 4,000 representatives by Dask tasks, and only those reach the
# client.
params = dict(reduce_above=20_000, n_representatives=4_000)
with dask.config.set(scheduler="synchronous"):
    model = PPP(**params).fit(A)
    print(f"{model.n_clusters_} clusters")
    print("labels_ is", type(model.labels_).__name__, "with", model.labels_.numblocks[0], "blocks")
    labels = model.labels_.compute()

# %%
# The same rows in memory, and in other chunks, give the identical labels:
in_memory = PPP(**params).fit(X)
with dask.config.set(scheduler="synchronous"):
    rechunked = PPP(**params).fit(da.from_array(X, chunks=(11_000, 3))).labels_.compute()
print("in memory:", np.array_equal(labels, in_memory.labels_))
print("other chunks:", np.array_equal(labels, rechunked))

# %%
# ``predict`` is lazy as well:
with dask.config.set(scheduler="synchronous"):
    new = da.from_array(X[::1000], chunks=20)
    print(model.predict(new).compute())

# %%
fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
ax.scatter(X[::10, 0], X[::10, 1], c=labels[::10], cmap="tab10", s=4, vmin=0, vmax=9)
ax.set_title(f"Dask fit: {model.n_clusters_} clusters, identical to the in-memory fit")
