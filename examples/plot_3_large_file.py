"""
A file larger than it needs to be: streaming and representatives
================================================================

:func:`partitive.open_dataset` opens a CSV, Parquet or NPY file for chunked reading;
``PPP().fit`` then streams it, and above ``reduce_above`` rows grows the tree on
weighted representatives of the rows instead of the rows themselves.  Memory is
bounded by the chunk size and ``n_representatives``, not by the number of rows.

Here a 150,000-row NPY file is written to a temporary folder, clustered from the file
in chunks of 20,000 rows, and labelled back into a file.
"""

# %%
# Write the file: 12 Gaussian clusters in 5 features, float32.
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import adjusted_rand_score

from partitive import PPP, open_dataset, predict_to_file

rng = np.random.default_rng(0)
k, d, n = 12, 5, 150_000
centres = rng.uniform(-20, 20, size=(k, d))
truth = rng.integers(k, size=n)
rows = (centres[truth] + rng.normal(size=(n, d))).astype(np.float32)

folder = Path(tempfile.mkdtemp())
path = folder / "rows.npy"
np.save(path, rows)
print(f"{path.name}: {rows.shape[0]:,} rows x {rows.shape[1]} features, {path.stat().st_size / 1e6:.1f} MB")

# %%
# Open it and fit.  The file is memory-mapped and read 20,000 rows at a time; with
# ``reduce_above=50_000`` the 150,000 rows are reduced to 5,000 representatives
# (each keeps its row count, mean and per-feature spread) and the tree is grown on
# them.
data = open_dataset(path, chunk_rows=20_000)
start = time.perf_counter()
model = PPP(reduce_above=50_000, n_representatives=5_000).fit(data)
seconds = time.perf_counter() - start
print(f"{model.n_clusters_} clusters in {seconds:.1f} s; ARI against the truth {adjusted_rand_score(truth, model.labels_):.3f}")
reduced = model.tree_.params["reduced"]
print(f"the tree was grown on {reduced['representatives']:,} representatives of {reduced['rows']:,} rows")

# %%
# Label the file into another, one chunk at a time; the labels file appears only
# once it is complete.
labels_path = predict_to_file(model, data, folder / "labels.npy")
labels = np.load(labels_path)
print(labels_path.name, labels.shape, "same as labels_:", np.array_equal(labels, model.labels_))

# %%
# Row order does not matter: the representatives are a content-hash sample of the
# distinct rows, so the same rows shuffled give the identical clusters.
order = rng.permutation(n)
shuffled_path = folder / "shuffled.npy"
np.save(shuffled_path, rows[order])
shuffled = PPP(reduce_above=50_000, n_representatives=5_000).fit(open_dataset(shuffled_path, chunk_rows=20_000))
print("identical labels after shuffling:", np.array_equal(shuffled.labels_, model.labels_[order]))

# %%
# The first two features of a sample of the rows, coloured by cluster:
show = rng.choice(n, size=5_000, replace=False)
fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
ax.scatter(rows[show, 0], rows[show, 1], c=model.labels_[show], cmap="tab20", s=4)
ax.scatter(model.cluster_centers_[:, 0], model.cluster_centers_[:, 1], marker="x", s=80, c="black")
ax.set_title(f"{n:,} rows from a file, {model.n_clusters_} clusters")
