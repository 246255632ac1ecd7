"""The final clusters as a Gaussian mixture: weighted EM from the tree's partition.

The tree decides *how many* clusters there are; their shapes are then fitted as the
components of a Gaussian mixture, started from the merged partition (one M-step from
its hard labels) and refined by EM with k fixed.  The covariance structure is chosen
by BIC among four parametrisations, as model-based clustering does (mclust's EII-like
to VVV): ``spherical`` (one variance per cluster), ``diag``, ``tied`` (one full
covariance shared by all clusters) and ``full``.  Blob-like data keep the cheap
structures; elongated, correlated clusters (most real data) get full covariances.
:func:`partitive.component_merge.merge_components` then merges components while the
mixture's BIC prefers it.
docs/design/pipeline.md has the evidence.

EM is written here because ``sklearn.mixture.GaussianMixture`` takes no sample
weights, and partitive needs them twice over: duplicated rows are merged into weights,
and a reduced input's representatives stand for many rows and carry their rows'
per-feature spread, which enters every component's expected log-density and
covariance; and, where noise is modelled, EM fits a uniform background beside the
components (:func:`_em`; docs/design/noise-background.md).  Nothing is random: the
start is the given partition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import dtrtri
from scipy.optimize import brentq
from scipy.special import logsumexp

COVARIANCE_TYPES = ("spherical", "diag", "tied", "full")
LOG_2PI = np.log(2.0 * np.pi)

#: EM stops when the mean log-likelihood per unit weight improves by less than this
#: (scikit-learn's GaussianMixture default) or after MAX_EM_ITER iterations.
EM_TOL = 1e-3
MAX_EM_ITER = 100
#: Ridge added to every covariance, per feature, relative to that feature's variance
#: within the clusters (pooled): scale-invariant, and it keeps a cluster of (nearly)
#: identical points or a flat direction from a singular covariance.  (Relative to the
#: variance over all the data, it would widen small, far-apart clusters to many times
#: their own spread wherever the data span much more than one cluster.)
RIDGE = 1e-6
#: Rows per block when evaluating densities: bounds the (rows x clusters) arrays.
BLOCK_ROWS = 16_384
FULL_BLOCK_FLOATS = 1 << 21
#: A full covariance's scatter is taken over the rows whose responsibility exceeds this.
RESP_FLOOR = 1e-12
#: A uniform background (fit_mixture's ``background``) claims at most this share of
#: the weight: rows it would claim more of are the data's own shape (one cluster no
#: Gaussian fits), not noise about clusters.
BACKGROUND_CAP = 0.5


@dataclass(frozen=True)
class Mixture:
    """A Gaussian mixture: weights (k,), means (k, d) and covariances.

    ``covariances`` is (k,) for spherical, (k, d) for diag, (d, d) for tied and
    (k, d, d) for full, as in scikit-learn.  ``features``: the indices of the data's
    features that the mixture models (d of them), or None for all of them; features
    constant in the data tell no cluster from another and are left out.  Where a
    feature is recorded on a grid, the covariances describe the values spread over
    their grid cells (``prepare.rounding_variance``), so they exceed the clusters'
    variance of the recorded values by the rounding's.  ``projection``: ``(mean,
    axes)`` where the mixture models the (selected) features' coordinates on principal
    axes, ``(x - mean) @ axes``, rather than the features themselves; None otherwise.
    ``owner``: the cluster of each component where a cluster is a group of components
    (a shape joined from pieces, each with its own Gaussian), or None where component
    i is cluster i.  A cluster's density is the sum of its components'.
    """

    covariance_type: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    features: np.ndarray | None = None
    projection: tuple[np.ndarray, np.ndarray] | None = None
    owner: np.ndarray | None = None

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_clusters(self) -> int:
        return self.n_components if self.owner is None else int(self.owner.max()) + 1

    @property
    def cluster_means(self) -> np.ndarray:
        """Each cluster's mean: its components' means, weighted."""
        if self.owner is None:
            return self.means
        k = self.n_clusters
        total = np.bincount(self.owner, weights=self.weights, minlength=k)
        return group_sums(self.means, self.owner, k, self.weights) / total[:, None]

    def n_parameters(self) -> int:
        k, d = self.means.shape
        n_cov = {"spherical": k, "diag": k * d, "tied": d * (d + 1) // 2, "full": k * d * (d + 1) // 2}
        return int(n_cov[self.covariance_type] + k * d + k - 1)

    def subset(self, clusters: np.ndarray) -> Mixture:
        """The mixture of the given clusters only (in that order), weights renormalised."""
        clusters = np.asarray(clusters, dtype=np.intp)
        owner = None
        components = clusters
        if self.owner is not None:
            rank = np.full(self.n_clusters, -1)
            rank[clusters] = np.arange(clusters.size)
            # Components in the clusters' new order, each cluster's in their own order.
            components = np.flatnonzero(rank[self.owner] >= 0)
            components = components[np.argsort(rank[self.owner[components]], kind="stable")]
            owner = rank[self.owner[components]]
        weights = self.weights[components]
        cov = self.covariances if self.covariance_type == "tied" else self.covariances[components]
        return replace(self, weights=weights / weights.sum(), means=self.means[components], covariances=cov,
                       owner=owner)

    def log_joint(self, X: np.ndarray, spread: np.ndarray | None = None) -> np.ndarray:
        """``log(weight_k) + log N(x | mean_k, cov_k)`` for every row and cluster
        (summed over a cluster's components in :attr:`owner`).

        With ``spread`` (each row's per-feature variance when rows stand for groups),
        the expected log-density over the row's group.
        """
        out = np.empty((X.shape[0], self.n_clusters))
        for start, block in self._log_joint_blocks(X, spread):
            out[start : start + block.shape[0]] = block
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable component of each row (ties go to the lower index)."""
        out = np.empty(X.shape[0], dtype=np.intp)
        for start, block in self._log_joint_blocks(X):
            out[start : start + block.shape[0]] = np.argmax(block, axis=1)
        return out

    def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``predict(X)`` and each row's posterior probability of that component."""
        labels = np.empty(X.shape[0], dtype=np.intp)
        posterior = np.empty(X.shape[0])
        for start, block in self._log_joint_blocks(X):
            stop = start + block.shape[0]
            labels[start:stop] = np.argmax(block, axis=1)
            best = np.take_along_axis(block, labels[start:stop, None], axis=1).ravel()
            posterior[start:stop] = np.exp(best - logsumexp(block, axis=1))
        return labels, posterior

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        out = self.log_joint(X)
        out -= logsumexp(out, axis=1, keepdims=True)
        return np.exp(out, out=out)

    def _log_joint_blocks(self, X, spread=None):
        """``(first row, log joint of a block of rows)``: no (rows x k) array for all of X."""
        factors = _factors(self)
        k, d = self.means.shape
        # Full covariances whiten every block once per component: (rows x k x d) floats.
        step = BLOCK_ROWS if self.covariance_type != "full" else max(64, FULL_BLOCK_FLOATS // (k * d))
        # Distances are expanded as |x|^2 - 2 x.m + |m|^2: taken about the mixture's
        # own mean, so data far from the origin lose no precision (translation).
        origin = self.weights @ self.means
        means = self.means - origin
        log_weights = np.log(self.weights)
        columns = slice(None) if self.features is None else self.features
        for start in range(0, X.shape[0], step):
            stop = min(start + step, X.shape[0])
            rows = X[start:stop, columns]
            rows_spread = None if spread is None else spread[start:stop, columns]
            if self.projection is not None:
                mean, axes = self.projection
                rows = (rows - mean) @ axes
                rows_spread = None if rows_spread is None else rows_spread @ axes**2
            block = _log_gaussian(
                self.covariance_type, means, self.covariances, factors, rows - origin, rows_spread
            )
            block += log_weights
            yield start, self._by_cluster(block)

    def _by_cluster(self, block):
        if self.owner is None:
            return block
        out = np.empty((block.shape[0], self.n_clusters))
        for c in range(out.shape[1]):
            out[:, c] = logsumexp(block[:, self.owner == c], axis=1)
        return out

    def to_dict(self) -> dict:
        return {
            "covariance_type": self.covariance_type,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
            "features": None if self.features is None else self.features.tolist(),
            **({} if self.owner is None else {"owner": self.owner.tolist()}),
            **({} if self.projection is None else {
                "projection": {"mean": self.projection[0].tolist(), "axes": self.projection[1].tolist()}
            }),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Mixture:
        return cls(
            covariance_type=data["covariance_type"],
            weights=np.asarray(data["weights"], dtype=np.float64),
            means=np.asarray(data["means"], dtype=np.float64),
            covariances=np.asarray(data["covariances"], dtype=np.float64),
            features=None if data.get("features") is None else np.asarray(data["features"], dtype=np.intp),
            owner=None if data.get("owner") is None else np.asarray(data["owner"], dtype=np.intp),
            projection=None if data.get("projection") is None else (
                np.asarray(data["projection"]["mean"], dtype=np.float64),
                np.asarray(data["projection"]["axes"], dtype=np.float64),
            ),
        )


def fit_mixture(
    X, w, labels, spread=None, sample_size=None, covariance_types=COVARIANCE_TYPES, background=None,
    rearranged=None,
) -> tuple[Mixture, dict]:
    """The clusters' mixture: covariance structure by BIC, then EM from ``labels``.

    Every structure whose covariances can be estimated (full needs every cluster to
    hold more distinct rows than dimensions; tied more rows than clusters plus
    dimensions) and that can win is scored by BIC at the partition itself (one M-step
    from the hard labels), and EM refines the lowest-BIC one.  Returns the mixture and
    the BIC of every structure scored.

    ``sample_size`` is the BIC's number of observations when the rows stand for more
    rows than were fitted (representatives of a reduced input): the parameters are
    fitted to the representatives, so they, not the rows, are the sample.
    ``covariance_types`` restricts the choice; where none of them can be estimated,
    diagonal covariances are used.  ``background``, where given, is the log-density
    of a uniform background (:func:`uniform_log_density`) that EM fits beside the
    components (:func:`_em`); the mixture returned is the components alone.
    ``rearranged(mixture)``, where given, names the clusters of ``labels`` whose rows
    EM's mixture (of the structure chosen, in the data's coordinates) has rearranged;
    EM is run again with the rows of those clusters held at their labels, until it
    names no other.
    """
    k = int(labels.max()) + 1
    n, d = X.shape
    W = float(w.sum())
    n_obs = W if sample_size is None else min(W, float(sample_size))
    counts = np.bincount(labels, minlength=k)
    center = w @ X / W
    X = X - center
    ridge = _ridge(X, w, labels, spread)
    start = np.zeros((n, k))
    start[np.arange(n), labels] = 1.0
    bics = {}
    estimable = [
        t for t in covariance_types
        if not ((t == "full" and counts.min() <= d) or (t == "tied" and n <= d + k))
    ]
    for cov_type in estimable or ["diag"]:
        mixture = _m_step(X, w, spread, start, cov_type, ridge)
        if mixture is None:
            continue
        penalty = mixture.n_parameters() * np.log(n_obs)
        if bics and cov_type in ("tied", "full"):
            # Were every row at its densest point, the BIC would still be above one
            # already scored: skip the densities (n d^2 per component, most of the
            # time in many dimensions).  Never changes the choice.
            if -2.0 * _peak_loglik(mixture, W) * (n_obs / W) + penalty > min(bics.values()):
                continue
        loglik = float(w @ logsumexp(mixture.log_joint(X, spread), axis=1))
        bics[cov_type] = -2.0 * loglik * (n_obs / W) + penalty
    best = min(bics, key=lambda t: (bics[t], COVARIANCE_TYPES.index(t)))
    held = np.zeros(k, dtype=bool)
    while True:
        fixed = held[labels] if held.any() else None
        mixture, _ = _em(X, w, spread, start, best, ridge, MAX_EM_ITER, background, fixed)
        mixture = replace(mixture, means=mixture.means + center)
        if rearranged is None:
            return mixture, bics
        named = np.zeros(k, dtype=bool)
        named[rearranged(mixture)] = True
        if not (named & ~held).any():
            return mixture, bics
        held |= named


def uniform_log_density(X) -> float | None:
    """The log-density of the uniform distribution over the rows' bounding box, or
    None where the box is flat (a constant feature)."""
    span = np.ptp(X, axis=0)
    return -float(np.log(span).sum()) if np.all(span > 0) else None


def _component_parameters(cov_type, d):
    """Free parameters one component adds: mean, weight and its own covariance."""
    return {"spherical": d + 2, "diag": 2 * d + 1, "tied": d + 1, "full": d + d * (d + 1) // 2 + 1}[cov_type]


def _ridge(X, w, labels, spread):
    """RIDGE times each feature's variance within the clusters of ``labels`` (pooled);
    a feature constant within every cluster gets RIDGE times its overall variance's."""
    k = int(labels.max()) + 1
    weight = np.bincount(labels, weights=w, minlength=k)
    means = group_sums(X, labels, k, w) / np.where(weight > 0, weight, 1.0)[:, None]
    within = w @ (X - means[labels]) ** 2 / w.sum()
    if spread is not None:
        within = within + w @ spread / w.sum()
    return RIDGE * np.maximum(within, RIDGE * _feature_variance(X, w, spread))


def group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int, weights: np.ndarray) -> np.ndarray:
    """``sum(weights[i] * values[i])`` per group, as rows of an ``n_groups x d`` array.

    A sparse one-hot product: each group's sum runs over its rows in row order, so the
    result is deterministic, and it is much faster than ``np.add.at``.
    """
    import scipy.sparse as sp

    onehot = sp.csr_matrix((weights, (groups, np.arange(groups.size))), shape=(n_groups, groups.size))
    return np.asarray(onehot @ values)


def _feature_variance(X, w, spread):
    """Per-feature variance of X (centred), with the rows' own spread."""
    var = w @ (X * X) / w.sum()
    if spread is not None:
        var = var + w @ spread / w.sum()
    # A constant feature borrows the others' scale; all-constant data (one point, in
    # effect) any scale at all.
    scale = var.mean() if var.mean() > 0 else 1.0
    return np.maximum(var, 1e-12 * scale)


def _em(X, w, spread, resp, cov_type, ridge, max_iter, background=None, held=None):
    """EM from responsibilities ``resp``; ``(mixture, weighted log-likelihood)``, the
    likelihood of the components and the background together where there is one.

    ``background``, where given, is the log-density of a uniform background fitted
    beside the components (mclust's noise component): each E-step gives it the share
    of the weight that maximises the likelihood with the components as they are (at
    most BACKGROUND_CAP), and the components are fitted to the rows in proportion to
    what they, not the background, claim of them.  Rows in sparse space about
    clusters then widen no cluster's Gaussian; without it, a cluster's Gaussian
    widened by its share of such rows can grow to claim a neighbouring group.

    ``held``, where given, marks rows whose responsibilities stay as they start.

    Should a component lose all its weight, the last mixture that had every component
    is kept; ``(None, -inf)`` if the start itself has an empty component.
    """
    W = w.sum()
    first = resp
    mixture, loglik, previous = None, -np.inf, -np.inf
    for _ in range(max_iter + 1):
        candidate = _m_step(X, w, spread, resp, cov_type, ridge)
        if candidate is None:
            break
        mixture = candidate
        log_joint, log_norm, _ = beside_background(w, mixture.log_joint(X, spread), background)
        loglik = float(w @ log_norm)
        if (loglik - previous) / W < EM_TOL:
            break
        previous = loglik
        resp = np.exp(log_joint - log_norm[:, None])
        if held is not None:
            resp[held] = first[held]
    return mixture, loglik


def beside_background(w, log_joint, background):
    """The components' log-joint (rows x components) read beside a uniform background
    of log-density ``background`` (or None): ``(log_joint, log_norm, share)``, each
    component's log-joint scaled by what the background leaves (1 - share), each
    row's log-likelihood with the background's term, and the background's share
    (:func:`_background_share`; 0 without one).  ``exp(log_joint - log_norm)`` are
    the components' responsibilities, the background's taken out."""
    log_norm = logsumexp(log_joint, axis=1)
    if background is None:
        return log_joint, log_norm, 0.0
    share = _background_share(w, log_norm, background)
    if share == 0:
        return log_joint, log_norm, 0.0
    kept = np.log1p(-share)
    return log_joint + kept, np.logaddexp(log_norm + kept, np.log(share) + background), share


def _background_share(w, log_mixture, log_background) -> float:
    """The share p of a uniform background that maximises sum w log((1 - p) g + p b)
    (g the mixture's density of each row, b the background's), in [0, BACKGROUND_CAP]:
    the objective is concave in p, so a bound or the root of its slope (Brent)."""
    # b / g - 1, bounded: a row the background alone claims has a slope as large at
    # p = 0 as any other such row.
    ratio = np.exp(np.minimum(log_background - log_mixture, 300.0)) - 1.0

    def slope(p):
        return float(w @ (ratio / (1.0 + p * ratio)))

    if slope(0.0) <= 0:
        return 0.0
    if slope(BACKGROUND_CAP) >= 0:
        return BACKGROUND_CAP
    return float(brentq(slope, 0.0, BACKGROUND_CAP, xtol=1e-9))


def _peak_loglik(mixture: Mixture, W: float) -> float:
    """An upper bound of the log-likelihood of total weight W: every row at the peak of
    the densest component (the weights of a mixture sum to 1, so it is never denser)."""
    logdet = float(np.min(_factors(mixture)[1]))  # tied or full
    return W * (-0.5 * logdet - 0.5 * mixture.means.shape[1] * LOG_2PI)


def _m_step(X, w, spread, resp, cov_type, ridge):
    """Weights, means and covariances from responsibilities.

    ``X`` is centred on its weighted mean (see fit_mixture), so second moments about
    the origin lose no precision.
    """
    wr = resp * w[:, None]
    Wk = wr.sum(axis=0)
    if np.any(Wk <= 0):
        return None
    means = (wr.T @ X) / Wk[:, None]
    k, d = means.shape
    # Within-row spread adds to every component's variance, per feature.
    within = np.zeros((k, d)) if spread is None else (wr.T @ spread) / Wk[:, None]
    if cov_type in ("spherical", "diag"):
        var = np.maximum((wr.T @ (X * X)) / Wk[:, None] - means**2, 0.0) + within + ridge
        cov = var.mean(axis=1) if cov_type == "spherical" else var
    elif cov_type == "tied":
        # The pooled scatter about each row's components: one product for all of them,
        # each row weighted by what the components claim of it (all of it, but for a
        # background's share).
        claimed = wr.sum(axis=1)
        scatter = (X * claimed[:, None]).T @ X - (means * Wk[:, None]).T @ means
        cov = scatter / Wk.sum() + np.diag(ridge + Wk @ within / Wk.sum())
    else:
        cov = np.empty((k, d, d))
        for j in range(k):
            # Rows the component does not claim add nothing: at the start its scatter
            # is over its own members only, and later rows below the floor would
            # change it by less than the floor's share of their distance.
            rows = np.flatnonzero(resp[:, j] > RESP_FLOOR)
            Xc = X[rows] - means[j]
            cov[j] = (Xc * wr[rows, j, None]).T @ Xc / Wk[j] + np.diag(ridge + within[j])
    return Mixture(cov_type, Wk / Wk.sum(), means, cov)


def _factors(mixture: Mixture):
    """What the densities need of the covariances: inverse Cholesky factors (tied:
    the factor) and log-determinants."""
    cov, cov_type = mixture.covariances, mixture.covariance_type
    if cov_type == "full":
        # LAPACK's triangular inverse: scipy's solve_triangular costs far more per call,
        # and the merge step asks for thousands of one-component densities.
        inv_chol = np.stack([dtrtri(np.linalg.cholesky(c), lower=1)[0] for c in cov])
        logdet = -2.0 * np.log(np.diagonal(inv_chol, axis1=1, axis2=2)).sum(axis=1)
        return inv_chol, logdet
    if cov_type == "tied":
        chol = np.linalg.cholesky(cov)
        return chol, 2.0 * np.log(np.diag(chol)).sum()
    return None, None


def _log_gaussian(cov_type, means, cov, factors, X, spread):
    k, d = means.shape
    factor, logdet = factors
    if cov_type == "spherical":
        prec = 1.0 / cov
        sq = (means * means).sum(axis=1)
        # x.(-2m) is exactly -2 x.m: one (rows x k) array, added to in place.
        maha = X @ (-2.0 * means).T
        maha += np.einsum("ij,ij->i", X, X)[:, None]
        maha += sq
        np.maximum(maha, 0.0, out=maha)
        if spread is not None:
            maha += spread.sum(axis=1)[:, None]
        maha *= prec
        logdet = d * np.log(cov)
    elif cov_type == "diag":
        prec = 1.0 / cov
        # sum_j (x_j - m_j)^2 / v_j by two products: no (rows x k x d) array.
        maha = (X * X) @ prec.T
        maha += X @ (-2.0 * (means * prec)).T
        maha += ((means * means) * prec).sum(axis=1)
        np.maximum(maha, 0.0, out=maha)
        if spread is not None:
            maha += spread @ prec.T
        logdet = np.log(cov).sum(axis=1)
    elif cov_type == "tied":
        # One whitening serves every component.
        Z = solve_triangular(factor, X.T, lower=True).T
        Zm = solve_triangular(factor, means.T, lower=True).T
        maha = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ Zm.T + (Zm * Zm).sum(axis=1)
        np.maximum(maha, 0.0, out=maha)
        if spread is not None:
            inv_diag = (np.linalg.inv(factor) ** 2).sum(axis=0)
            maha += (spread @ inv_diag)[:, None]
    else:
        # |L_j^-1 (x - m_j)|^2 for every component j by one product with all the L_j^-T.
        Z = (X @ factor.transpose(2, 0, 1).reshape(d, k * d)).reshape(-1, k, d)
        Z -= np.einsum("kij,kj->ki", factor, means)
        maha = np.einsum("nkd,nkd->nk", Z, Z)
        if spread is not None:
            maha += spread @ (factor**2).sum(axis=1).T
    maha += d * LOG_2PI + logdet
    maha *= -0.5
    return maha
