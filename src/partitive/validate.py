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
from functools import lru_cache

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


#: Mardia's skewness costs n q^3 in q dimensions: the check looks at the node's leading
#: principal dimensions only (a projection of one Gaussian is one Gaussian).
GAUSSIAN_CHECK_DIMS = 32
#: Mardia's tests look at the points inside the Gaussian's 1 - STRAY_LEVEL ellipsoid:
#: a 2-means cut high in the tree leaves a few points of a far cluster in a node, and
#: their huge distances alone would reject the Gaussian the rest of the node is.
STRAY_LEVEL = 1e-3
#: More weight than this outside the ellipsoid is not a few strays: not one Gaussian.
STRAY_SHARE = 0.01
#: The ellipsoid is refitted to the points inside it at most this many times.
STRAY_REFITS = 5
#: Rows per block of the third-moment sum (a block holds rows x q^2 products).
MOMENT_BLOCK_ROWS = 4096


def looks_gaussian(X, w, level) -> bool:
    """Whether the points are consistent with one Gaussian.

    Mardia's skewness and kurtosis, each at ``level``, and no flat top along a 2-means
    direction.  Mardia's tests average over all directions, so a flat top along one of
    many (two overlapping clusters side by side) is diluted in them; it is tested on
    its own.  A 2-means direction fitted to the very points it is tested on is biased
    towards flat ones (round Gaussians with few points per dimension would fail far
    more often than the level), so the direction is fitted to every other point and
    tested on the rest.  Too few points to test are not taken for one Gaussian.
    """
    from .split import two_means

    mardia = _mardia(X, w)
    if mardia is None:
        return False
    skew_p, kurtosis_p, inside, q = mardia
    if min(skew_p, kurtosis_p) < level:
        return False
    fit_on = np.zeros(X.shape[0], dtype=bool)
    fit_on[::2] = True
    split = two_means(X[fit_on & inside], w[fit_on & inside])
    if split is None:
        return True
    test = ~fit_on & inside
    return flat_top_p(X[test] @ split.direction, w[test], _truncated_kurtosis(q)) >= level


def flat_top_p(t, w, kurtosis_scale=1.0) -> float:
    """One-sided p-value of a kurtosis below the Gaussian's along the projection ``t``.

    Anscombe and Glynn's (1983) normal approximation for the sample kurtosis, as in
    ``scipy.stats.kurtosistest`` (which takes no weights), with the total weight as the
    sample size.  ``kurtosis_scale``: the expected kurtosis over 3 when the points are
    a Gaussian cut at the stray ellipsoid.
    """
    from scipy.stats import norm

    n = float(w.sum())
    if n < 5:
        return 1.0
    p = w / n
    centred = t - p @ t
    variance = p @ centred**2
    if not variance > 0:
        return 1.0
    b2 = p @ centred**4 / variance**2 / kurtosis_scale
    mean = 3.0 * (n - 1) / (n + 1)
    var_b2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    x = (b2 - mean) / np.sqrt(var_b2)
    skew_b2 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * np.sqrt(6.0 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)))
    A = 6.0 + 8.0 / skew_b2 * (2.0 / skew_b2 + np.sqrt(1 + 4.0 / skew_b2**2))
    denominator = 1 + x * np.sqrt(2 / (A - 4.0))
    if denominator == 0:
        return 0.0
    cube = np.sign(denominator) * np.cbrt((1 - 2 / A) / abs(denominator))
    z = (1 - 2 / (9.0 * A) - cube) / np.sqrt(2 / (9.0 * A))
    return float(norm.cdf(z))


def mardia_p_values(X, w) -> tuple[float, float]:
    """p-values of Mardia's multivariate skewness and kurtosis tests of one Gaussian.

    Mardia (1970; the skewness with his 1974 small-sample correction), kurtosis
    two-sided, its expectation that of a Gaussian cut at the stray ellipsoid.  They do
    not depend on the axes: they are computed whitened in the points' principal axes,
    at most ``GAUSSIAN_CHECK_DIMS`` of them.  The sample size is the total weight
    (duplicating a row is doubling its weight).  (1, 1) where too few points to test.
    """
    mardia = _mardia(X, w)
    return (1.0, 1.0) if mardia is None else mardia[:2]


def _mardia(X, w):
    """(skewness p, kurtosis p, the points inside the stray ellipsoid, q), or None.

    scipy and scikit-learn have no weighted multivariate normality test, hence this.
    """
    from scipy.stats import chi2, norm

    inside = np.ones(X.shape[0], dtype=bool)
    for attempt in range(STRAY_REFITS):
        W = float(w[inside].sum())
        p = w[inside] / W
        Z, q = _whitened(X[inside], p, X)
        if q == 0 or W <= q + 2:
            return None
        now = (Z * Z).sum(axis=1) < chi2.ppf(1 - STRAY_LEVEL, q)
        if w[~now].sum() * (1 / STRAY_SHARE) > w.sum():
            return 0.0, 0.0, now, q
        if (now == inside).all() or attempt == STRAY_REFITS - 1:
            break
        inside = now
    Z = Z[inside]
    third = np.zeros((q, q * q))
    for start in range(0, Z.shape[0], MOMENT_BLOCK_ROWS):
        block = Z[start : start + MOMENT_BLOCK_ROWS]
        pairs = (block[:, :, None] * block[:, None, :]).reshape(block.shape[0], q * q)
        third += (block * p[start : start + MOMENT_BLOCK_ROWS, None]).T @ pairs
    b1 = float((third * third).sum())
    correction = (q + 1) * (W + 1) * (W + 3) / (W * ((W + 1) * (q + 1) - 6))
    skew_p = chi2.sf(W * b1 * correction / 6, q * (q + 1) * (q + 2) / 6)
    m = (Z * Z).sum(axis=1)
    expected = q * (q + 2) * (W - 1) / (W + 1) * _truncated_kurtosis(q)
    kurtosis_z = (p @ (m * m) - expected) / np.sqrt(8 * q * (q + 2) / W)
    return float(skew_p), float(2 * norm.sf(abs(kurtosis_z))), inside, q


@lru_cache(maxsize=None)
def _truncated_scale(q):
    """kappa: the covariance of a Gaussian cut at the stray ellipsoid is kappa Sigma.

    The ellipsoid, m < c with c the chi2_q quantile at 1 - STRAY_LEVEL, is drawn with
    the cut points' own covariance, so kappa is the fixed point of
    kappa = P(chi2_{q+2} < c kappa) / P(chi2_q < c kappa).
    """
    from scipy.stats import chi2

    c = chi2.ppf(1 - STRAY_LEVEL, q)
    kappa = 1.0
    for _ in range(50):
        kappa = chi2.cdf(c * kappa, q + 2) / chi2.cdf(c * kappa, q)
    return kappa


@lru_cache(maxsize=None)
def _truncated_kurtosis(q):
    """E[m^2] of the cut Gaussian, whitened by its own covariance, over q (q + 2)."""
    from scipy.stats import chi2

    kappa = _truncated_scale(q)
    c = chi2.ppf(1 - STRAY_LEVEL, q) * kappa
    return chi2.cdf(c, q + 4) / chi2.cdf(c, q) / kappa**2


def _whitened(Xfit, p, X):
    """X centred and whitened by the weighted points Xfit, in their leading principal axes."""
    from .pca import leading_axes

    mean = p @ Xfit
    lam, axes = leading_axes(Xfit - mean, p, GAUSSIAN_CHECK_DIMS)
    keep = lam > lam[-1] * 1e-10
    return (X - mean) @ (axes[:, keep] / np.sqrt(lam[keep])), int(keep.sum())


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
    both).  Fitted by weighted maximum likelihood from the Gaussian (L-BFGS-B, analytic
    gradient), so the gain is >= 0 and deterministic; scipy's distributions take no
    weights.

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
        _sinh_arcsinh_nll, np.zeros(4), args=(u, p), jac=True, method="L-BFGS-B",
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
