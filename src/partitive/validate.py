"""The probabilistic step: Gaussian-mixture evidence for (or against) a 2-means split.

For a node S split into children by 2-means, a 2-component Gaussian mixture is compared
with a 1-component model by BIC, and each child's *validation score* is the weighted
share of its members whose posterior probability of belonging to it is at least
``tau``.  The mixture is the two children's own Gaussians (one M-step from the k-means
partition): method.md measured that EM started from the partition drifts to the dominant
modes of a multi-cluster node and stops describing the split it is meant to validate.

Two validation spaces: ``axis`` works on the 1-D projection of S on the line through
the two centroids; ``full`` works in the original space (full covariance where the node
holds many more points than d**2, diagonal otherwise).

The mixtures are written here rather than taken from ``sklearn.mixture``: those fit by
EM (which is exactly what we must not do) and take no sample weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class Evidence:
    dbic: float
    scores: tuple[float, float]
    own_posterior: np.ndarray


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
    return _mixture_evidence(
        np.vstack(components), w, goes_right, ll_one, d + n_cov, 2 * (d + n_cov) + 1, W, tau
    )


def _gaussian_loglik(X, w, full, floor, fit_on=None, spread=None):
    """Log density at every row of X of the weighted Gaussian fitted to rows ``fit_on``.

    With ``spread``, the expected log density over each row's group of points.
    """
    Xf, wf = (X, w) if fit_on is None else (X[fit_on], w[fit_on])
    Wf = wf.sum()
    mean = wf @ Xf / Wf
    Xc = X - mean
    within = 0.0 if spread is None else wf @ (spread if fit_on is None else spread[fit_on]) / Wf
    if full:
        Xfc = Xf - mean
        cov = (Xfc * wf[:, None]).T @ Xfc / Wf + np.diag(floor + within * np.ones(X.shape[1]))
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, Xc.T)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        maha = (z * z).sum(axis=0)
        if spread is not None:
            # E[(x - mu)' S^-1 (x - mu)] over a group adds tr(S^-1 diag(spread)).
            inv_diag = (np.linalg.inv(chol) ** 2).sum(axis=0)
            maha = maha + spread @ inv_diag
    else:
        var = wf @ (Xf - mean) ** 2 / Wf + floor + within
        logdet = np.log(var).sum()
        maha = (Xc * Xc / var).sum(axis=1)
        if spread is not None:
            maha = maha + spread @ (1.0 / var)
    return -0.5 * (X.shape[1] * LOG_2PI + logdet + maha)


def _mixture_evidence(log_joint, w, goes_right, ll_one, p_one, p_two, W, tau) -> Evidence:
    log_mix = logsumexp(log_joint, axis=0)
    ll_two = w @ log_mix
    # BIC = -2 log L + p log W; dBIC = BIC_1 - BIC_2 > 0 favours the split.
    dbic = float(2.0 * (ll_two - ll_one) - (p_two - p_one) * np.log(W))
    own = np.exp(np.where(goes_right, log_joint[1], log_joint[0]) - log_mix)
    confident = own >= tau
    scores = tuple(
        float(w[side & confident].sum() / w[side].sum()) for side in (~goes_right, goes_right)
    )
    return Evidence(dbic=dbic, scores=scores, own_posterior=own)


#: Hartigan's p-value table (shipped by ``diptest``) ends at this sample size; beyond it
#: the table's last row is used, which only makes the test more conservative.
DIP_TABLE_MAX_N = 72_000


#: Points standing for groups enter the dip test as this many quantiles of their spread.
SPREAD_QUANTILES = 8


def dip_test(t, w, spread=None, sample_size=None) -> tuple[float, float]:
    """Hartigan's dip test of unimodality for weighted 1-D data: ``(dip, p_value)``.

    ``diptest`` (the maintained implementation) takes unweighted samples, so the
    weighted empirical distribution is handed to it as its own quantile sample: with
    integer weights that sample is exactly the data with each row repeated ``w`` times,
    so duplicating rows and doubling weights give the identical statistic.  The p-value
    is read from Hartigan's table for the effective sample size ``sum(w)``.

    With ``spread`` (each point's variance along ``t``, for reduced input) every point
    is replaced by normal quantiles around it: a group of many rows at one mean would
    otherwise be a jump in the ECDF that the test reads as a mode.  ``sample_size``
    overrides ``sum(w)`` as the sample size of the p-value.
    """
    from diptest import dipstat
    from diptest.diptest import Consts
    from scipy.special import ndtri

    W = float(w.sum())
    if spread is not None and np.any(spread > 0):
        z = ndtri((np.arange(SPREAD_QUANTILES) + 0.5) / SPREAD_QUANTILES)
        t = (t[:, None] + np.sqrt(spread)[:, None] * z[None, :]).ravel()
        w = np.repeat(w / SPREAD_QUANTILES, SPREAD_QUANTILES)
    if W <= 3.0:
        return 0.0, 1.0
    order = np.argsort(t, kind="stable")
    ts, ws = t[order], w[order]
    if np.all(ws == 1.0):
        sample = ts
    else:
        size = int(min(round(W), DIP_TABLE_MAX_N))
        # Midpoint quantiles of the weighted ECDF: for integer weights and size == W,
        # sample[i] is the i-th smallest value of the data with rows repeated.
        cum = np.cumsum(ws)
        levels = (np.arange(size) + 0.5) * (cum[-1] / size)
        sample = ts[np.minimum(np.searchsorted(cum, levels, side="right"), ts.size - 1)]
    dip = float(dipstat(sample, sort_x=False))
    n = W if sample_size is None else min(W, sample_size)
    if n <= 3.0:
        return dip, 1.0
    p_value = float(Consts.compute_pval_interpolation(min(n, DIP_TABLE_MAX_N), dip))
    return dip, min(max(p_value, 0.0), 1.0)
