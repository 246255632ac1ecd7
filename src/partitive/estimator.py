"""``PPP``: the scikit-learn estimator for Probabilistic Partitive Partitioning."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .grow import Rule, fit_tree

#: Smallest cluster, as a share of the (weighted) data, when min_cluster_size is None.
MIN_CLUSTER_SHARE = 0.001
MIN_CLUSTER_FLOOR = 5


class PPP(ClusterMixin, BaseEstimator):
    """Probabilistic Partitive Partitioning: clustering that finds k and never varies.

    A binary *partitive tree* is grown top-down: each node is split by a deterministic
    2-means (k = 2, started on the node's first principal axis), and the split is kept
    while the node is not one cluster, judged by Hartigan's dip test on the split
    direction and by a Gaussian-mixture validation of the two children (BIC and each
    child's share of confidently assigned members).  The leaves are refined by global
    Lloyd iterations and neighbouring pieces of one cluster are merged.  Nothing is
    random: the same data give the same clusters whatever the row order.

    Parameters
    ----------
    validation : {"full", "axis"}, default="full"
        Space of the Gaussian-mixture validation: the original space (full
        covariances where the node has many more points than d**2, diagonal
        otherwise), or the 1-D projection on the line through the two children's
        centroids (cheaper; 0.022 lower mean ARI on the development battery).
    tau : float in (0.5, 1), default=0.6
        Posterior probability above which a point counts as confidently in its child.
    alpha : float in (0, 1], default=0.8
        Both children's validation scores (share of members above ``tau``) must reach
        ``alpha`` for the mixture evidence to support a split.
    min_cluster_size : float or None, default=None
        Smallest (weighted) cluster; ``None`` means ``max(5, ceil(0.001 * n))``.
    max_clusters : int or None, default=None
        Stop growing at this many leaves.
    n_clusters : int or None, default=None
        Force exactly this many clusters: the tree is grown largest node first without
        the acceptance test and leaves are not merged.  For users who must have a k.
    dip_level : float, default=0.05
        Significance level of the dip test in 2-D; it shrinks as ``(2 / d)**2`` in d
        dimensions because the split direction is chosen from the same data.
    effect_size : float, default=0.3
        Mixture evidence must also reach ``dBIC / n > effect_size``; a plain BIC
        difference grows with n and would split any non-Gaussian cluster at large n.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point, numbered in the tree's leaf order.
    n_clusters_ : int
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
    tree_ : PartitionTree
        The grown tree with every split's evidence, the final clusters and the merges.
    clusterability_ : float
        Weighted mean posterior probability of points in their own cluster (0.5: no
        structure between two groups; 1: perfectly separated).
    most_separable_ : Node or None
        The accepted split with the strongest validation.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined only when X has feature names that are all strings.

    See Also
    --------
    sklearn.cluster.BisectingKMeans : divisive k-means with k given.
    sklearn.mixture.GaussianMixture : model-based clustering with k given.

    Notes
    -----
    The method follows M. Sultan, "Probabilistic Partitive Partitioning (PPP)",
    arXiv:2003.04372 (2020); docs/method.md in the repository records every change
    made to it and the benchmark evidence for each.

    Examples
    --------
    >>> import numpy as np
    >>> from partitive import PPP
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(c, 0.5, size=(100, 2)) for c in ([0, 0], [6, 0], [0, 6])])
    >>> model = PPP().fit(X)
    >>> model.n_clusters_
    3
    >>> model.predict([[6.2, 0.1], [0.1, 5.9]])
    array([0, 2])
    """

    _parameter_constraints: dict = {
        "validation": [StrOptions({"axis", "full"})],
        "tau": [Interval(Real, 0.5, 1, closed="neither")],
        "alpha": [Interval(Real, 0, 1, closed="right")],
        "min_cluster_size": [Interval(Real, 0, None, closed="neither"), None],
        "max_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "dip_level": [Interval(Real, 0, 1, closed="both")],
        "effect_size": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        validation="full",
        tau=0.6,
        alpha=0.8,
        min_cluster_size=None,
        max_clusters=None,
        n_clusters=None,
        dip_level=0.05,
        effect_size=0.3,
    ):
        self.validation = validation
        self.tau = tau
        self.alpha = alpha
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.n_clusters = n_clusters
        self.dip_level = dip_level
        self.effect_size = effect_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Grow the partitive tree on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data without NaN or infinity.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights; a row of weight 2 counts as that row twice.
            Rows of weight 0 take no part in the fit and are labelled by prediction.

        Returns
        -------
        self : PPP
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_features=1)
        sample_weight = _check_weights(sample_weight, X)
        used = sample_weight > 0
        total = float(sample_weight.sum())
        rule = Rule(
            tau=self.tau, alpha=self.alpha, dip_level=self.dip_level,
            effect=self.effect_size, validation=self.validation,
        )
        min_size = (
            self.min_cluster_size
            if self.min_cluster_size is not None
            else max(MIN_CLUSTER_FLOOR, float(np.ceil(MIN_CLUSTER_SHARE * total)))
        )
        names = None if not hasattr(self, "feature_names_in_") else list(self.feature_names_in_)
        tree, labels = fit_tree(
            X[used], sample_weight[used], rule, min_size,
            max_clusters=self.max_clusters, n_clusters=self.n_clusters,
            feature_names=names, params=self.get_params(),
        )
        self.tree_ = tree
        self.labels_ = np.empty(X.shape[0], dtype=np.intp)
        self.labels_[used] = labels
        if not used.all():
            self.labels_[~used] = tree.predict(X[~used])
        self.n_clusters_ = tree.n_clusters
        self.cluster_centers_ = tree.cluster_centers
        self.clusterability_ = tree.clusterability
        self.most_separable_ = (
            None if tree.most_separable is None else tree.nodes[tree.most_separable]
        )
        return self

    def predict(self, X):
        """Nearest cluster for each row of X.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.tree_.predict(X)

    def predict_proba(self, X):
        """Soft assignment from the clusters' diagonal Gaussians.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters_)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.tree_.predict_proba(X)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _check_weights(sample_weight, X):
    if sample_weight is not None:
        raw = np.asarray(sample_weight)
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must be numeric, got dtype {raw.dtype}")
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
