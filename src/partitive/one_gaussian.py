"""Whether points are one Gaussian: Mardia's tests, a flat-top test, and a check of a
Gaussian's core that a partition's boundaries do not reach.

The judge asks it of a node before believing diagonal evidence and of two clusters
before keeping them apart as two Gaussians; the isolated-group join asks the core
check of two parts before keeping them apart (:mod:`partitive.merge`).
scipy and scikit-learn have no weighted multivariate normality test, hence these.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .distributions import chi2_cdf, chi2_ppf, chi2_sf, norm_cdf, norm_isf, norm_sf

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


def looks_gaussian(X, w, level, both_ways=False) -> bool:
    """Whether the points are consistent with one Gaussian.

    Mardia's skewness and kurtosis, each at ``level``, and no flat top along a 2-means
    direction.  Mardia's tests average over all directions, so a flat top along one of
    many (two overlapping clusters side by side) is diluted in them; it is tested on
    its own.  A 2-means direction fitted to the very points it is tested on is biased
    towards flat ones (round Gaussians with few points per dimension would fail far
    more often than the level), so the direction is fitted to every other point and
    tested on the rest; ``both_ways``: also the other way round, the two tests read
    together (their normal scores' sum over the root of their number), which reads
    every point, twice the one-way test's.  Too few points for Mardia's tests are not
    taken for one Gaussian.
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
    scores = []
    for half in (fit_on, ~fit_on) if both_ways else (fit_on,):
        split = two_means(X[half & inside], w[half & inside])
        if split is None:
            break
        test = ~half & inside
        z = flat_top_z(X[test] @ split.direction, w[test], _truncated_kurtosis(q))
        if z is not None:
            scores.append(z)
    if not scores:
        return True
    # The halves' scores are uncorrelated under one Gaussian (each direction is
    # fitted to the points the other half's test does not read; measured).
    return bool(norm_cdf(sum(scores) / np.sqrt(len(scores))) >= level)


def flat_top_z(t, w, kurtosis_scale=1.0) -> float | None:
    """The normal score of the kurtosis along the projection ``t`` (its cdf is the
    one-sided p-value of a flat top): below zero where flatter than a Gaussian's (-inf
    beyond the approximation's range); None where too few points or no spread to read.

    Anscombe and Glynn's (1983) normal approximation for the sample kurtosis, as in
    ``scipy.stats.kurtosistest`` (which takes no weights), with the total weight as the
    sample size.  ``kurtosis_scale``: the expected kurtosis over 3 when the points are
    a Gaussian cut at the stray ellipsoid.
    """
    n = float(w.sum())
    if n < 5:
        return None
    p = w / n
    centred = t - p @ t
    variance = p @ centred**2
    if not variance > 0:
        return None
    b2 = p @ centred**4 / variance**2 / kurtosis_scale
    mean = 3.0 * (n - 1) / (n + 1)
    var_b2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    x = (b2 - mean) / np.sqrt(var_b2)
    skew_b2 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * np.sqrt(6.0 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)))
    A = 6.0 + 8.0 / skew_b2 * (2.0 / skew_b2 + np.sqrt(1 + 4.0 / skew_b2**2))
    denominator = 1 + x * np.sqrt(2 / (A - 4.0))
    if denominator <= 0:
        # Far below the Gaussian's kurtosis the approximation's cube root changes
        # sign (as scipy's kurtosistest does) and would read the flattest samples
        # as peaked.
        return -np.inf
    cube = np.sign(denominator) * np.cbrt((1 - 2 / A) / abs(denominator))
    return float((1 - 2 / (9.0 * A) - cube) / np.sqrt(2 / (9.0 * A)))


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
    fit = _stray_fit(X, w)
    if fit is None:
        return None
    inside, Z, q = fit
    if inside is None:
        return 0.0, 0.0, None, q
    W = float(w[inside].sum())
    p = w[inside] / W
    Z = Z[inside]
    b1 = _skewness(Z, p)
    correction = (q + 1) * (W + 1) * (W + 3) / (W * ((W + 1) * (q + 1) - 6))
    skew_p = chi2_sf(W * b1 * correction / 6, q * (q + 1) * (q + 2) / 6)
    m = (Z * Z).sum(axis=1)
    expected = q * (q + 2) * (W - 1) / (W + 1) * _truncated_kurtosis(q)
    kurtosis_z = (p @ (m * m) - expected) / np.sqrt(8 * q * (q + 2) / W)
    return float(skew_p), float(2 * norm_sf(abs(kurtosis_z))), inside, q


def _stray_fit(X, w):
    """The Gaussian of the points inside its own 1 - STRAY_LEVEL ellipsoid, refitted
    up to STRAY_REFITS times: ``(inside, Z, q)``, ``Z`` every point whitened by it in
    its q leading principal axes and ``inside`` its points, or None in their place
    where more than STRAY_SHARE of the weight lies outside (not a few strays); None
    where too few points to fit it."""
    inside = np.ones(X.shape[0], dtype=bool)
    for attempt in range(STRAY_REFITS):
        W = float(w[inside].sum())
        Z, q = _whitened(X[inside], w[inside] / W, X)
        if q == 0 or W <= q + 2:
            return None
        now = (Z * Z).sum(axis=1) < chi2_ppf(1 - STRAY_LEVEL, q)
        if w[~now].sum() * (1 / STRAY_SHARE) > w.sum():
            return None, Z, q
        if (now == inside).all() or attempt == STRAY_REFITS - 1:
            break
        inside = now
    return inside, Z, q


@lru_cache(maxsize=None)
def _truncated_scale(q):
    """kappa: the covariance of a Gaussian cut at the stray ellipsoid is kappa Sigma.

    The ellipsoid, m < c with c the chi2_q quantile at 1 - STRAY_LEVEL, is drawn with
    the cut points' own covariance, so kappa is the fixed point of
    kappa = P(chi2_{q+2} < c kappa) / P(chi2_q < c kappa).
    """
    c = chi2_ppf(1 - STRAY_LEVEL, q)
    kappa = 1.0
    for _ in range(50):
        kappa = chi2_cdf(c * kappa, q + 2) / chi2_cdf(c * kappa, q)
    return kappa


@lru_cache(maxsize=None)
def _truncated_kurtosis(q):
    """E[m^2] of the cut Gaussian, whitened by its own covariance, over q (q + 2)."""
    kappa = _truncated_scale(q)
    c = chi2_ppf(1 - STRAY_LEVEL, q) * kappa
    return chi2_cdf(c, q + 4) / chi2_cdf(c, q) / kappa**2


def _skewness(Z, p) -> float:
    """Mardia's b1 of the whitened points Z with weights p (summing to 1)."""
    q = Z.shape[1]
    third = np.zeros((q, q * q))
    for start in range(0, Z.shape[0], MOMENT_BLOCK_ROWS):
        block = Z[start : start + MOMENT_BLOCK_ROWS]
        pairs = (block[:, :, None] * block[:, None, :]).reshape(block.shape[0], q * q)
        third += (block * p[start : start + MOMENT_BLOCK_ROWS, None]).T @ pairs
    return float((third * third).sum())


def whitened_together(samples):
    """The weighted samples ``(X, w)``, each centred and whitened by its own Gaussian
    (in its leading principal axes, fitted to its points inside the stray ellipsoid
    as :func:`looks_gaussian` fits them, its strays left out), stacked: ``(Z, w)``;
    None where they span different numbers of dimensions or one is too small to
    test.  If each sample is one Gaussian, Z is one standard Gaussian sample: a few
    far rows would otherwise widen their sample's fit and make it two scales."""
    whitened, weights, dims = [], [], set()
    for X, w in samples:
        fit = _stray_fit(X, w)
        if fit is None or fit[0] is None:
            return None
        inside, Z, q = fit
        whitened.append(Z[inside])
        weights.append(w[inside])
        dims.add(q)
    if len(dims) > 1:
        return None
    return np.vstack(whitened), np.concatenate(weights)


def _whitened(Xfit, p, X):
    """X centred and whitened by the weighted points Xfit, in their leading principal axes."""
    from .pca import leading_axes

    mean = p @ Xfit
    lam, axes = leading_axes(Xfit - mean, p, GAUSSIAN_CHECK_DIMS)
    keep = lam > lam[-1] * 1e-10
    return (X - mean) @ (axes[:, keep] / np.sqrt(lam[keep])), int(keep.sum())


#: The core check reads this share of a part's weight, nearest its centre: a
#: Gaussian's inner half lies within 1.2, 1.5 and 1.8 deviations of its centre in 2-4
#: dimensions, inside the boundary with a neighbour 3.5 or more deviations away.
CORE_SHARE = 0.5
#: The core is refitted to its own points at most this many times.
CORE_STEPS = 50


def core_looks_gaussian(X, w, level) -> bool:
    """Whether the points' core, the CORE_SHARE of their weight nearest their centre,
    is consistent with one Gaussian's.

    A Gaussian blob among touching ones is cut where its neighbours' rows begin; the
    cut rows are skewed and flat-sided, and :func:`looks_gaussian` rejects them.  Its
    core lies inside those boundaries.  The core is the minimum covariance
    determinant's: concentration steps (Rousseeuw and Van Driessen 1999) from all the
    points' mean and covariance, each keeping the CORE_SHARE of the weight nearest the
    centre in the last core's Mahalanobis distance, until the core stays the same.
    A Gaussian's core is that Gaussian cut at the ellipsoid holding CORE_SHARE of it,
    and its Mardia kurtosis and skewness are tested against that cut Gaussian's: the
    kurtosis by its delta-method variance, the skewness by Baringhaus and Henze's
    (1992) limit for spherical laws (two scaled chi-squares, read as one by matching
    their mean and variance).  A curved arc or a random walk's lump has a core that
    is not (skewed, or flat).  A Gaussian's core is nearly flat too: one too light for
    its kurtosis to tell it, on average, from a uniform ball's is not taken for a
    Gaussian's.
    """
    total = float(w.sum())
    inside = np.ones(X.shape[0], dtype=bool)
    for _ in range(CORE_STEPS):
        Z, q = _whitened(X[inside], w[inside] / w[inside].sum(), X)
        order = np.argsort((Z * Z).sum(axis=1), kind="stable")
        held = np.cumsum(w[order])
        now = np.zeros(X.shape[0], dtype=bool)
        now[order[: int(np.searchsorted(held, CORE_SHARE * total)) + 1]] = True
        if (now == inside).all():
            break
        inside = now
    W = float(w[inside].sum())
    p = w[inside] / W
    Z, q = _whitened(X[inside], p, X[inside])
    if q == 0 or W <= q + 2:
        return False
    fourth, fourth_variance, skew_weights, fewest = _core_moments(q, level)
    if W < fewest:
        return False
    m = (Z * Z).sum(axis=1)
    kurtosis_z = (p @ (m * m) - fourth) / np.sqrt(fourth_variance / W)
    # a1 chi2(q) + a2 chi2(q (q - 1) (q + 4) / 6), as g chi2(nu) of the same mean and variance.
    (a1, df1), (a2, df2) = skew_weights
    mean, variance = a1 * df1 + a2 * df2, 2 * (a1 * a1 * df1 + a2 * a2 * df2)
    scale = variance / (2 * mean)
    skew_p = chi2_sf(W * _skewness(Z, p) / scale, mean / scale)
    return min(skew_p, 2 * norm_sf(abs(kurtosis_z))) >= level


@lru_cache(maxsize=None)
def _core_moments(q, level):
    """For a Gaussian's core (cut at the ellipsoid holding CORE_SHARE of it) whitened
    by its own covariance: E[m^2], the variance of m^2 - 2 E[m^2] / E[m] m (the
    kurtosis's influence, the covariance estimated), Baringhaus and Henze's weights
    and degrees of freedom of the skewness's limit, ((a1, q), (a2, df2)), and the
    fewest weight at which a test at ``level`` tells it from a uniform ball's core."""
    cut = chi2_ppf(CORE_SHARE, q)
    held = chi2_cdf(cut, q)
    scale = chi2_cdf(cut, q + 2) / held  # the core's variance, in the Gaussian's
    # E[R^2j] of the whitened core, j = 1..4: the Gaussian's chi-square moments, cut.
    raw, moments = 1.0, []
    for j in range(1, 5):
        raw *= q + 2 * (j - 1)
        moments.append(raw * chi2_cdf(cut, q + 2 * j) / held / scale**j)
    r2, r4, r6, r8 = moments
    slope = 2 * r4 / r2
    fourth_variance = (r8 - 2 * slope * r6 + slope * slope * r4) - (r4 - slope * r2) ** 2
    a1 = 3.0 / q * (r6 / (q + 2) - 2 * r4 + q * (q + 2))
    a2 = 6.0 * r6 / (q * (q + 2) * (q + 4))
    # A uniform ball's core, a smaller uniform ball, has E[m^2] = q (q + 2)^2 / (q + 4):
    # the weight at which its mean kurtosis statistic reaches the level's bound.
    uniform = q * (q + 2) ** 2 / (q + 4)
    fewest = fourth_variance * (norm_isf(level / 2) / (r4 - uniform)) ** 2
    return r4, fourth_variance, ((a1, q), (a2, q * (q - 1) * (q + 4) / 6)), fewest
