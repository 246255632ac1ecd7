"""``PPP``: the scikit-learn estimator for Probabilistic Partitive Partitioning."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, _check_sample_weight, check_is_fitted, validate_data

from ._threads import one_blas_thread
from .grow import fit_tree
from .prepare import check_magnitude
from .judge import Rule
from .mixture import COVARIANCE_TYPES
from .reduce import SamplePass, reduce
from .source import ArraySource, as_source, label_rows, n_threads

#: ``reduce_above="auto"``: this many rows up to REDUCE_ABOVE_FEATURES features, fewer
#: in proportion above (docs/method.md, "Large data").
REDUCE_ABOVE_ROWS = 50_000
REDUCE_ABOVE_FEATURES = 32

#: Smallest cluster when min_cluster_size is None: this share of the (weighted) data,
#: at least MIN_CLUSTER_FLOOR and at most MIN_CLUSTER_CAP rows.  A share alone grows
#: with n: a group of a hundred rows far from all others, a cluster in a small data
#: set, became strays in a large one, and 2-means cut the rest of its node past it
#: until the node stopped whole, with the group inside.  Whether a group is a cluster
#: is for the split tests to say; the cap only keeps a handful of rows from being one.
MIN_CLUSTER_SHARE = 0.001
MIN_CLUSTER_FLOOR = 5
MIN_CLUSTER_CAP = 50


class PPP(ClusterMixin, BaseEstimator):
    """Probabilistic Partitive Partitioning: clustering that finds k and never varies.

    A binary *partitive tree* is grown top-down: each node is split by a deterministic
    2-means (k = 2, started on the node's first principal axis), and the split is kept
    while the node is not one cluster, judged by Hartigan's dip test on the split
    direction and by a Gaussian-mixture validation of the two children (BIC and each
    child's share of confidently assigned members).  The leaves are refined by global
    Lloyd iterations and neighbouring pieces of one cluster are merged.  With k
    found, the clusters' Gaussians are fitted by EM from that partition, their
    covariance structure chosen by BIC.  Data with more than 32 features is clustered
    in its leading principal axes and the result described in the features.  Nothing
    is random: the same data give the same clusters whatever the row order.

    Parameters
    ----------
    validation : {"full", "axis"}, default="full"
        Space of the Gaussian-mixture validation: the original space (full
        covariances where the node has many more points than d**2, diagonal
        otherwise, believed only where the node is not one Gaussian), or the 1-D
        projection on the line through the two children's centroids (cheaper, and
        less accurate on most data; see docs/benchmarks.md).
    tau : float in (0.5, 1), default=0.6
        Posterior probability above which a point counts as confidently in its child.
    alpha : float in (0, 1], default=0.8
        Both children's validation scores (share of members above ``tau``) must reach
        ``alpha`` for the mixture evidence to support a split.
    min_cluster_size : float or None, default=None
        Smallest (weighted) cluster; ``None`` means ``ceil(0.001 * n)`` rows, at least 5
        and at most 50: a group of a hundred rows far from everything else is a
        cluster in 1e4 rows and in 1e8 alike, so the default does not grow with n
        beyond 50,000 rows.  A group smaller than this is strays, labelled with the
        nearest cluster.
    max_clusters : int or None, default=None
        Stop growing at this many leaves.
    n_clusters : int or None, default=None
        Force exactly this many clusters: the tree is grown largest node first without
        the acceptance test and leaves are not merged.  For users who must have a k.
    covariance_type : {"auto", "spherical", "diag", "tied", "full"}, default="auto"
        Structure of the clusters' Gaussians, fitted by EM once the tree has fixed k.
        ``"auto"`` chooses by BIC at the tree's partition: round blobs keep one
        variance per cluster (and prediction as cheap as nearest-centre), correlated
        or elongated clusters get full covariances.  Labels and ``predict`` are each
        point's most probable cluster, ``predict_proba`` the posteriors.
    dip_level : float, default=0.05
        Significance level of the dip test in 2-D; it shrinks as ``(2 / d)**2`` in d
        dimensions because the split direction is chosen from the same data.  Data with
        more than 32 features is clustered in its leading principal axes (at most 32,
        and at most one per 20 points; docs/method.md), so d is at most 32 there.
    effect_size : float, default=0.3
        Mixture evidence must also reach ``dBIC / n > effect_size``; a plain BIC
        difference grows with n and would split any non-Gaussian cluster at large n.
    reduction : {"auto"} or bool, default="auto"
        Grow the tree on ``n_representatives`` weighted representatives of the rows
        instead of the rows themselves (two passes over the data, then one to label
        every row).  ``"auto"`` reduces when there are more than ``reduce_above`` rows;
        ``True``/``False`` force it on or off.  The representatives do not depend on
        row order or chunking, so neither do the labels.
    reduce_above : int or "auto", default="auto"
        Row count above which ``reduction="auto"`` reduces.  ``"auto"``: 50,000 rows
        up to 32 features; above, 50,000 x 32 / d rows (the tree's cost per row grows
        with the square of the features), but never below
        ``min(2 * n_representatives, 50_000)`` (20,000 by default).
    n_representatives : int, default=10_000
        Number of representatives (each keeps its row count, mean and per-feature
        spread).  More is closer to the full fit and slower.
    n_jobs : int or None, default=None
        Threads for the passes over the rows of reduced input (the reduction and the
        labelling of every row), each thread taking blocks of rows on one BLAS thread.
        ``None`` means all cores, as for scikit-learn's estimators that use threads
        (KMeans); ``-1`` also all cores, ``1`` no thread.  The labels do not depend on
        it.  With Dask input the active Dask scheduler runs the reduction instead.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point, numbered in the tree's leaf order.  For a Dask
        array or DataFrame it is a lazy Dask array, chunked like the input's rows:
        ``fit`` gathers no row and no label (see docs/dask.md).
    n_clusters_ : int
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
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
    arXiv:2003.04372 (2020); docs/method.md in the repository describes each stage,
    where it departs from the paper and why.

    A feature whose values lie on a grid (counts, ratings, flags, measurements to a
    fixed precision) is taken as rounded: each value stands for an interval of the
    grid step, so many rows on one value are not read as a cluster; a feature of two
    values (a flag) never tells clusters apart on its own.  Features constant in the
    data are ignored: adding one changes no label (on reduced input it can change
    which rows seed the representatives).

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
    array([1, 2])
    """

    _parameter_constraints: dict = {
        "validation": [StrOptions({"axis", "full"})],
        "tau": [Interval(Real, 0.5, 1, closed="neither")],
        "alpha": [Interval(Real, 0, 1, closed="right")],
        "min_cluster_size": [Interval(Real, 0, None, closed="neither"), None],
        "max_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "covariance_type": [StrOptions({"auto", *COVARIANCE_TYPES})],
        "dip_level": [Interval(Real, 0, 1, closed="both")],
        "effect_size": [Interval(Real, 0, None, closed="left")],
        "reduction": [StrOptions({"auto"}), "boolean"],
        "reduce_above": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_representatives": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        validation="full",
        tau=0.6,
        alpha=0.8,
        min_cluster_size=None,
        max_clusters=None,
        n_clusters=None,
        covariance_type="auto",
        dip_level=0.05,
        effect_size=0.3,
        reduction="auto",
        reduce_above="auto",
        n_representatives=10_000,
        n_jobs=None,
    ):
        self.validation = validation
        self.tau = tau
        self.alpha = alpha
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.dip_level = dip_level
        self.effect_size = effect_size
        self.reduction = reduction
        self.reduce_above = reduce_above
        self.n_representatives = n_representatives
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Grow the partitive tree on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data without NaN or infinity: an array, a DataFrame, a chunked file
            (:func:`partitive.open_dataset`), or a Dask array or DataFrame.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights; a row of weight 2 counts as that row twice.
            Rows of weight 0 take no part in the fit and are labelled by prediction.
            Not supported with a chunked file or Dask input.

        Returns
        -------
        self : PPP
        """
        source = self._source(X, sample_weight)
        threads = n_threads(self.n_jobs)
        n_rows, sample = source.n_rows, None
        if n_rows is None and self.reduction == "auto":
            # The row count takes a pass over the rows (a CSV file, a Dask DataFrame):
            # the reduction's first pass counts them as well.
            sample = source.run(SamplePass(self.n_representatives, source.n_features), threads)
            n_rows = source.n_rows
        if n_rows == 0:
            raise ValueError(source.empty_message)
        if self._reduces(n_rows, source.n_features):
            reps = reduce(source, self.n_representatives, threads, sample)
            tree = self._fit_reduced(reps, source.total_weight())
            labels = source.labels(tree, threads)
        else:
            X, w = source.read()
            tree, fitted = fit_tree(X, w, **self._tree_settings(w.sum()))
            labels = source.labels(tree, threads, fitted)
        if source.columns is not None:
            tree.feature_names = list(source.columns)
        self._set_result(tree, labels)
        return self

    def _source(self, X, sample_weight):
        """The fit's source (:mod:`partitive.source`), ``n_features_in_`` and
        ``feature_names_in_`` set from it."""
        source = as_source(X)
        if source is None:
            X = validate_data(self, X, dtype=np.float64, ensure_min_features=1)
            check_magnitude(X)
            return ArraySource(X, _check_weights(sample_weight, X))
        if sample_weight is not None:
            raise TypeError(f"sample_weight is not supported with {source.kind}")
        self.n_features_in_ = source.n_features
        _check_feature_names(self, source.header, reset=True)
        return source

    def _source_like_fit(self, X):
        """The source of a chunked file or Dask collection to predict, checked to have
        the fit's features (None for arrays and frames)."""
        source = as_source(X)
        if source is not None:
            if source.header is not None:
                _check_feature_names(self, source.header, reset=False)
            if source.n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {source.n_features} features, but PPP is expecting {self.n_features_in_} features as input."
                )
        return source

    def _reduces(self, n_rows: int, n_features: int) -> bool:
        if self.reduction != "auto":
            return bool(self.reduction)
        if self.reduce_above != "auto":
            return n_rows > self.reduce_above
        # A node's scatter and densities cost d^2 per row, so the row count worth
        # reducing falls as d grows; on representatives the labels stay the same.
        threshold = REDUCE_ABOVE_ROWS * min(1.0, REDUCE_ABOVE_FEATURES / n_features)
        return n_rows > max(threshold, min(2 * self.n_representatives, REDUCE_ABOVE_ROWS))

    def _tree_settings(self, total_weight: float):
        rule = Rule(
            tau=self.tau, alpha=self.alpha, dip_level=self.dip_level,
            effect=self.effect_size, validation=self.validation,
        )
        min_size = (
            self.min_cluster_size
            if self.min_cluster_size is not None
            else max(MIN_CLUSTER_FLOOR, min(float(np.ceil(MIN_CLUSTER_SHARE * total_weight)), MIN_CLUSTER_CAP))
        )
        names = None if not hasattr(self, "feature_names_in_") else list(self.feature_names_in_)
        return dict(
            rule=rule, min_cluster_size=min_size, max_clusters=self.max_clusters,
            n_clusters=self.n_clusters, feature_names=names, params=self.get_params(),
            covariance_type=self.covariance_type,
        )

    def _fit_reduced(self, reps, total_weight):
        # The tree on representatives is many products of a few thousand rows: BLAS
        # threads woken for each one wait for each other whenever another process
        # wants a core.
        with one_blas_thread():
            tree, _ = fit_tree(
                reps.mean, reps.weight, **self._tree_settings(total_weight), spread=reps.spread, sample=reps.sample
            )
        tree.params["reduced"] = {"representatives": int(reps.weight.size), "rows": reps.n_rows}
        return tree

    def _set_result(self, tree, labels):
        self.tree_ = tree
        self.labels_ = labels
        self.n_clusters_ = tree.n_clusters
        self.cluster_centers_ = tree.cluster_centers
        self.clusterability_ = tree.clusterability
        self.most_separable_ = (
            None if tree.most_separable is None else tree.nodes[tree.most_separable]
        )

    def predict(self, X):
        """Most probable cluster for each row of X.

        Each row goes to the cluster whose Gaussian (in the clusters' mixture,
        ``tree_.mixture``) gives it the highest posterior probability; ties go to the
        lower label.  On the training data this gives ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data with the features seen in ``fit``: an array, a DataFrame, a
            chunked file (:func:`partitive.open_dataset`, read chunk by chunk), or a
            Dask array or DataFrame.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of each row, in ``range(n_clusters_)``.  A lazy Dask array when X
            is a Dask array or DataFrame.

        See Also
        --------
        predict_proba : the posteriors behind the labels.

        Examples
        --------
        >>> import numpy as np
        >>> from partitive import PPP
        >>> X = np.vstack([np.random.default_rng(0).normal(c, 0.3, size=(50, 2)) for c in (0, 5)])
        >>> PPP().fit(X).predict([[0.1, -0.2], [4.8, 5.3]])
        array([0, 1])
        """
        check_is_fitted(self)
        source = self._source_like_fit(X)
        if source is None:
            X = validate_data(self, X, dtype=np.float64, reset=False)
            return label_rows(self.tree_, X, n_threads(self.n_jobs))
        return source.labels(self.tree_, n_threads(self.n_jobs))

    def predict_proba(self, X):
        """Posterior probability of each cluster under the clusters' Gaussian mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data with the features seen in ``fit``: an array, a DataFrame, or
            a Dask array or DataFrame.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Each row sums to 1; column i is cluster i.  A lazy Dask array when X is a
            Dask array or DataFrame.

        See Also
        --------
        predict : the most probable cluster.

        Examples
        --------
        >>> import numpy as np
        >>> from partitive import PPP
        >>> X = np.vstack([np.random.default_rng(0).normal(c, 0.3, size=(50, 2)) for c in (0, 5)])
        >>> PPP().fit(X).predict_proba([[0.1, -0.2], [4.8, 5.3]]).round(3)
        array([[1., 0.],
               [0., 1.]])
        """
        check_is_fitted(self)
        source = self._source_like_fit(X)
        if source is not None and hasattr(source, "probabilities"):
            return source.probabilities(self.tree_)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.tree_.predict_proba(X)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_``.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``labels_`` (a lazy Dask array for Dask input).
        """
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
