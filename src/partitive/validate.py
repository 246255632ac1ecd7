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


def axis_evidence(t: np.ndarray, w: np.ndarray, goes_right: np.ndarray, tau: float) -> Evidence:
    """Evidence on the projection ``t`` of the node's points on the split direction."""
    W = w.sum()
    mean = w @ t / W
    var_all = w @ (t - mean) ** 2 / W
    floor = _variance_floor(var_all)
    ll_one = w @ _axis_loglik(t, w, mean, max(var_all, floor))
    components = []
    for side in (~goes_right, goes_right):
        ws, ts = w[side], t[side]
        Ws = ws.sum()
        m = ws @ ts / Ws
        v = max(ws @ (ts - m) ** 2 / Ws, floor)
        components.append(np.log(Ws / W) + _axis_loglik(t, w, m, v))
    return _mixture_evidence(np.vstack(components), w, goes_right, ll_one, 2, 5, W, tau)


def full_evidence(X: np.ndarray, w: np.ndarray, goes_right: np.ndarray, tau: float) -> Evidence:
    """Evidence in the original space; full covariances only where the data support them."""
    n, d = X.shape
    W = w.sum()
    full = min(goes_right.sum(), (~goes_right).sum()) > 10 * d * d
    mean = w @ X / W
    floor = _variance_floor(float(w @ ((X - mean) ** 2).sum(axis=1) / W / d))
    ll_one = w @ _gaussian_loglik(X, w, full, floor)
    components = []
    for side in (~goes_right, goes_right):
        Ws = w[side].sum()
        components.append(np.log(Ws / W) + _gaussian_loglik(X, w, full, floor, fit_on=side))
    n_cov = d * (d + 1) // 2 if full else d
    return _mixture_evidence(
        np.vstack(components), w, goes_right, ll_one, d + n_cov, 2 * (d + n_cov) + 1, W, tau
    )


def _gaussian_loglik(X, w, full, floor, fit_on=None):
    """Log density at every row of X of the weighted Gaussian fitted to rows ``fit_on``."""
    Xf, wf = (X, w) if fit_on is None else (X[fit_on], w[fit_on])
    Wf = wf.sum()
    mean = wf @ Xf / Wf
    Xc = X - mean
    if full:
        Xfc = Xf - mean
        cov = (Xfc * wf[:, None]).T @ Xfc / Wf + floor * np.eye(X.shape[1])
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, Xc.T)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        maha = (z * z).sum(axis=0)
    else:
        var = wf @ (Xf - mean) ** 2 / Wf + floor
        logdet = np.log(var).sum()
        maha = (Xc * Xc / var).sum(axis=1)
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


def dip_test(t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Hartigan's dip test of unimodality for weighted 1-D data: ``(dip, p_value)``.

    ``diptest`` (the maintained implementation) takes unweighted samples, so the
    weighted empirical distribution is handed to it as its own quantile sample: with
    integer weights that sample is exactly the data with each row repeated ``w`` times,
    so duplicating rows and doubling weights give the identical statistic.  The p-value
    is read from Hartigan's table for the effective sample size ``sum(w)``.
    """
    from diptest import dipstat
    from diptest.diptest import Consts

    W = float(w.sum())
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
    p_value = float(Consts.compute_pval_interpolation(min(W, DIP_TABLE_MAX_N), dip))
    return dip, min(max(p_value, 0.0), 1.0)
