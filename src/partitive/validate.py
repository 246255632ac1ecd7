"""The probabilistic step: Gaussian-mixture evidence for (or against) a 2-means split.

For a node S split into children by 2-means, a 2-component Gaussian mixture is compared
with a 1-component model by BIC, and each child's *validation score* is the weighted
share of its members whose posterior probability of belonging to it is at least
``tau``.  The mixture is the two children's own Gaussians (one M-step from the k-means
partition), not fitted by EM: EM started from the partition drifts to the dominant
modes of a multi-cluster node and stops describing the split it is meant to validate.

Two validation spaces: ``axis`` works on the 1-D projection of S on the line through
the two centroids; ``full`` works in the original space (full covariance where the node
holds many more points than d**2, diagonal otherwise).

The mixtures are written here rather than taken from ``sklearn.mixture``: those fit by
EM (which is exactly what we must not do) and take no sample weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg.lapack import dtrtri
from scipy.special import logsumexp

LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class Evidence:
    """The Gaussian-mixture evidence for one proposed split.

    Attributes
    ----------
    dbic : float
        BIC of one Gaussian minus BIC of the two children's Gaussians; positive
        favours the split.
    scores : tuple of (float, float)
        Each child's validation score: the weighted share of its members whose
        posterior probability of that child is at least ``tau``.
    own_posterior : ndarray of shape (n_points,)
        Each point's posterior probability of the child 2-means put it in.
    diagonal : bool
        Whether the Gaussians were diagonal in the features (children too small for
        full covariances).
    """

    dbic: float
    scores: tuple[float, float]
    own_posterior: np.ndarray
    #: The Gaussians were diagonal in the features (children too small for full ones).
    diagonal: bool = False


def _variance_floor(total_variance: float) -> float:
    # A child can be a single repeated value; its Gaussian still needs a width.
    return max(total_variance, np.finfo(float).tiny) * 1e-9


def _axis_loglik(t, w, mean, var):
    return -0.5 * (LOG_2PI + np.log(var) + (t - mean) ** 2 / var)


def axis_evidence(t, w, goes_right, tau, spread=None) -> Evidence:
    """Evidence on the projection ``t`` of the node's points on the split direction.

    ``spread``: each point's variance along the direction when points stand for groups
    (reduced input); it widens the Gaussians and lowers each point's expected
    log-likelihood by ``spread / (2 var)``.
    """
    s = np.zeros_like(t) if spread is None else spread
    W = w.sum()
    mean = w @ t / W
    var_all = w @ ((t - mean) ** 2 + s) / W
    floor = _variance_floor(var_all)
    var_all = max(var_all, floor)
    ll_one = w @ (_axis_loglik(t, w, mean, var_all) - 0.5 * s / var_all)
    components = []
    for side in (~goes_right, goes_right):
        ws, ts = w[side], t[side]
        Ws = ws.sum()
        m = ws @ ts / Ws
        v = max(ws @ ((ts - m) ** 2 + s[side]) / Ws, floor)
        components.append(np.log(Ws / W) + _axis_loglik(t, w, m, v) - 0.5 * s / v)
    return _mixture_evidence(np.vstack(components), w, goes_right, ll_one, 2, 5, W, tau)


def full_evidence(X, w, goes_right, tau, spread=None) -> Evidence:
    """Evidence in the original space; full covariances only where the data support them.

    ``spread``: per-feature variance within each point when points stand for groups.
    """
    n, d = X.shape
    W = w.sum()
    # Weights, not rows: a representative of a reduced input stands for its rows, and
    # the scatter of many representatives' means carries the covariance.
    full = min(w[goes_right].sum(), w[~goes_right].sum()) > 10 * d * d
    mean = w @ X / W
    floor = _variance_floor(float(w @ ((X - mean) ** 2).sum(axis=1) / W / d))
    ll_one = w @ _gaussian_loglik(X, w, full, floor, spread=spread)
    components = []
    for side in (~goes_right, goes_right):
        Ws = w[side].sum()
        components.append(
            np.log(Ws / W) + _gaussian_loglik(X, w, full, floor, fit_on=side, spread=spread)
        )
    n_cov = d * (d + 1) // 2 if full else d
    evidence = _mixture_evidence(
        np.vstack(components), w, goes_right, ll_one, d + n_cov, 2 * (d + n_cov) + 1, W, tau
    )
    return replace(evidence, diagonal=not full)


def _gaussian_loglik(X, w, full, floor, fit_on=None, spread=None):
    """Log density at every row of X of the weighted Gaussian fitted to rows ``fit_on``.

    With ``spread``, the expected log density over each row's group of points.
    """
    # Weights zero outside fit_on, rather than copies of its rows: in many dimensions
    # these densities are a large share of the fit.
    fit_weight = w if fit_on is None else np.where(fit_on, w, 0.0)
    Wf = fit_weight.sum()
    mean = fit_weight @ X / Wf
    Xc = X - mean
    within = 0.0 if spread is None else fit_weight @ spread / Wf
    if full:
        Xfc, wf = (Xc, w) if fit_on is None else (Xc[fit_on], w[fit_on])
        cov = (Xfc * wf[:, None]).T @ Xfc / Wf + np.diag(floor + within * np.ones(X.shape[1]))
        # The Cholesky factor's inverse (LAPACK's triangular inverse), applied by one
        # product: a general solve with the factor costs several times more per node.
        inv_chol = dtrtri(np.linalg.cholesky(cov), lower=1)[0]
        z = inv_chol @ Xc.T
        logdet = -2.0 * np.log(np.diag(inv_chol)).sum()
        maha = (z * z).sum(axis=0)
        if spread is not None:
            # E[(x - mu)' S^-1 (x - mu)] over a group adds tr(S^-1 diag(spread)).
            inv_diag = (inv_chol**2).sum(axis=0)
            maha = maha + spread @ inv_diag
    else:
        square = np.square(Xc, out=Xc)
        var = fit_weight @ square / Wf + floor + within
        logdet = np.log(var).sum()
        maha = square @ (1.0 / var)
        if spread is not None:
            maha = maha + spread @ (1.0 / var)
    return -0.5 * (X.shape[1] * LOG_2PI + logdet + maha)


def _log_sum_of_two(log_joint):
    """``logsumexp(log_joint, axis=0)`` for two rows, in the same arithmetic.

    Written out because scipy's general ``logsumexp`` costs about ten times as much on
    two rows, and this runs for every node and pair tested; ``np.logaddexp`` rounds
    differently.  As scipy does, the larger term is taken out: ``log1p`` of the other
    term's ratio to it, plus it (``log 2`` plus it where the two are equal).
    """
    a, b = log_joint
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return logsumexp(log_joint, axis=0)
    high, low = np.maximum(a, b), np.minimum(a, b)
    out = np.log1p(np.exp(low - high)) + high
    tie = a == b
    if tie.any():
        out[tie] = np.log(2.0) + high[tie]
    return out


def _mixture_evidence(log_joint, w, goes_right, ll_one, p_one, p_two, W, tau) -> Evidence:
    log_mix = _log_sum_of_two(log_joint)
    ll_two = w @ log_mix
    # BIC = -2 log L + p log W; dBIC = BIC_1 - BIC_2 > 0 favours the split.
    dbic = float(2.0 * (ll_two - ll_one) - (p_two - p_one) * np.log(W))
    own = np.exp(np.where(goes_right, log_joint[1], log_joint[0]) - log_mix)
    confident = own >= tau
    scores = tuple(
        float(w[side & confident].sum() / w[side].sum()) for side in (~goes_right, goes_right)
    )
    return Evidence(dbic=dbic, scores=scores, own_posterior=own)


def unimodal_gain(t, w, spread=None, uniform=False) -> float:
    """Log-likelihood gained on ``t`` by one skewed or heavy-tailed cluster over a Gaussian.

    Two Gaussians describe any skewed or heavy-tailed shape better than one does, so
    mixture evidence alone cuts one such cluster (counts, sizes, concentrations; data
    with outliers) into dozens.  Against two clusters, one cluster should be allowed
    such a shape: along the split direction, the sinh-arcsinh distribution (Jones and
    Pewsey, 2009), which holds the Gaussian (skew 0, tail 1), skews either way and has
    heavier tails, but is never bimodal.  Lighter tails are not allowed: a flat top is
    what two overlapping clusters look like (docs/design/skewed-null.md measures
    both).  Fitted by weighted maximum likelihood from the Gaussian (SLSQP, analytic
    gradient), so the gain is >= 0 and deterministic; scipy's distributions take no
    weights.  SLSQP rather than L-BFGS-B: on four bounded parameters it needs fewer
    steps, and the fit runs for every pair the merge step judges.

    ``spread``: each point's variance along ``t`` when points stand for groups.
    """
    from scipy.optimize import minimize

    t, w = spread_sample(t, w, spread, uniform)
    W = float(w.sum())
    mean = w @ t / W
    sd = np.sqrt(w @ (t - mean) ** 2 / W)
    if not sd > 0:
        return 0.0
    u, p = (t - mean) / sd, w / W
    gaussian, _ = _sinh_arcsinh_nll(np.zeros(4), u, p)
    fit = minimize(
        _sinh_arcsinh_nll, np.zeros(4), args=(u, p), jac=True, method="SLSQP",
        bounds=SINH_ARCSINH_BOUNDS,
    )
    return max(0.0, gaussian - float(fit.fun)) * W


#: Bounds of (location, log scale, skew, log tail weight) on the standardised
#: projection; log tail weight <= 0 is tails as heavy as the Gaussian's or heavier.
SINH_ARCSINH_BOUNDS = [(-5.0, 5.0), (-5.0, 3.0), (-5.0, 5.0), (-3.0, 0.0)]


def _sinh_arcsinh_nll(params, u, p):
    """Mean negative log-density of the sinh-arcsinh distribution, and its gradient."""
    loc, log_scale, skew, log_tail = params
    scale, tail = np.exp(log_scale), np.exp(log_tail)
    z = (u - loc) / scale
    root = np.sqrt(1.0 + z * z)
    asinh_z = np.arcsinh(z)
    a = tail * asinh_z - skew
    sinh_a, cosh_a = np.sinh(a), np.cosh(a)
    loglik = log_tail - log_scale + np.log(cosh_a) - np.log(root) - 0.5 * LOG_2PI - 0.5 * sinh_a**2
    d_a = np.tanh(a) - sinh_a * cosh_a
    d_z = d_a * tail / root - z / (root * root)
    grad = np.array([
        -(p @ d_z) / scale,
        -(p @ (d_z * z)) - 1.0,
        -(p @ d_a),
        1.0 + p @ (d_a * tail * asinh_z),
    ])
    return -float(p @ loglik), -grad


#: Hartigan's p-value table (shipped by ``diptest``) ends at this sample size; beyond it
#: the table's last row is used, which only makes the test more conservative.
DIP_TABLE_MAX_N = 72_000


#: Points standing for groups enter the 1-D tests as this many quantiles of their spread.
SPREAD_QUANTILES = 8


def spread_sample(t, w, spread=None, uniform=False):
    """1-D points standing for groups of variance ``spread``, as normal quantiles around
    each point (weights split evenly); the points themselves where there is no spread.

    A group of many rows at one mean would otherwise be a jump in the ECDF (which the
    dip reads as a mode) and a spike in any density fitted to the points.  ``uniform``:
    evenly spaced over a uniform interval of that variance (a value rounded to a grid).
    """
    from scipy.special import ndtri

    if spread is None or not np.any(spread > 0):
        return t, w
    levels = (np.arange(SPREAD_QUANTILES) + 0.5) / SPREAD_QUANTILES
    z = (levels - 0.5) * np.sqrt(12.0) if uniform else ndtri(levels)
    t = (t[:, None] + np.sqrt(spread)[:, None] * z[None, :]).ravel()
    return t, np.repeat(w / SPREAD_QUANTILES, SPREAD_QUANTILES)


def _uniform_mixture_quantiles(t, w, half_width, size):
    """``size`` midpoint quantiles of the mixture of uniforms on ``t +- half_width``
    (all > 0) weighted ``w``: its CDF is piecewise linear, so they are exact."""
    density = w / (2.0 * half_width)
    edges = np.concatenate([t - half_width, t + half_width])
    steps = np.concatenate([density, -density])
    order = np.argsort(edges, kind="stable")
    edges, steps = edges[order], steps[order]
    cdf = np.concatenate([[0.0], np.cumsum(np.cumsum(steps)[:-1] * np.diff(edges))])
    levels = (np.arange(size) + 0.5) * (float(w.sum()) / size)
    return np.interp(levels, np.maximum.accumulate(cdf), edges)


def dip_test(t, w, spread=None, sample_size=None, uniform=False) -> tuple[float, float]:
    """Hartigan's dip test of unimodality for weighted 1-D data: ``(dip, p_value)``.

    ``diptest`` (the maintained implementation) takes unweighted samples, so the
    weighted empirical distribution is handed to it as its own quantile sample: with
    integer weights that sample is exactly the data with each row repeated ``w`` times,
    so duplicating rows and doubling weights give the identical statistic.  The p-value
    is read from Hartigan's table for the effective sample size ``sum(w)``.

    With ``spread`` (each point's variance along ``t``, for reduced input) every point
    is replaced by normal quantiles around it: a group of many rows at one mean would
    otherwise be a jump in the ECDF that the test reads as a mode.  ``uniform``: each
    point is a value rounded to a grid, spread uniformly over the step of that
    variance instead.  ``sample_size`` overrides ``sum(w)`` as the sample size of the
    p-value.
    """
    from diptest import dipstat
    from diptest.diptest import Consts

    W = float(w.sum())
    if W <= 3.0:
        return 0.0, 1.0
    size = int(min(round(W), DIP_TABLE_MAX_N))
    if uniform and spread is not None and np.all(spread > 0):
        # Eight quantiles of a uniform per point would leave steps of an eighth of a
        # heavy grid value's weight, which the dip reads as modes: the exact CDF.
        sample = _uniform_mixture_quantiles(t, w, np.sqrt(3.0 * spread), size)
    else:
        t, w = spread_sample(t, w, spread, uniform)
        order = np.argsort(t, kind="stable")
        ts, ws = t[order], w[order]
        if np.all(ws == 1.0):
            sample = ts
        else:
            # Midpoint quantiles of the weighted ECDF: for integer weights and size == W,
            # sample[i] is the i-th smallest value of the data with rows repeated.
            cum = np.cumsum(ws)
            levels = (np.arange(size) + 0.5) * (cum[-1] / size)
            # Level i takes the first point whose cumulative weight exceeds it (the last
            # point past the end): point j takes the levels below cum[j] and not below
            # cum[j - 1].  Counted per point, by the same comparisons, rather than
            # searched per level: reduced input has far fewer points than levels.
            below = np.searchsorted(levels, cum[:-1], side="left")
            counts = np.diff(np.concatenate([[0], below, [size]]))
            sample = np.repeat(ts, counts)
    dip = float(dipstat(sample, sort_x=False))
    n = W if sample_size is None else min(W, sample_size)
    if n <= 3.0:
        return dip, 1.0
    p_value = float(Consts.compute_pval_interpolation(min(n, DIP_TABLE_MAX_N), dip))
    return dip, min(max(p_value, 0.0), 1.0)
