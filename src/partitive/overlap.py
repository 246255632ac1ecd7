"""Two overlapping Gaussians inside one cluster, read from a mixture fitted softly.

Growth and the merge step read hard sides: a 2-means cut through two overlapping
Gaussians leaves each side carrying the other's tail and missing its own, so neither
side is one Gaussian, and the union's gain over one Gaussian is no larger than a flat
shape's (docs/design/overlapping-gaussians.md).  A mixture fitted by EM has no cut:
the rows weighted by their responsibilities for one component are a sample of that
component wherever the mixture is the data's law (the weights turn the mixture's
density into the component's), so each component can be checked as one Gaussian as
it is, without the truncation of a hard side.

:func:`overlapping_pair` asks it of one cluster: a two-component mixture that fits the
cluster, where one Gaussian does not.  :func:`split_overlapping`, the last stage of a
fit on rows (:mod:`partitive.grow`), asks it of every cluster of the mixture, splits
those that are two, unless density reads them as one flat shape or one isolated cloud,
and records the split in the tree.  Where the mixture was fitted beside a uniform
background (noise), a row counts for a cluster only as far as the background leaves it:
noise about a uniform shape would otherwise be read as two Gaussians' tails.  The
Anderson-Darling distance of a fitted mixture is written out here for weighted rows,
which scipy's tests do not take.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from scipy.stats import norm

from .assemble import background_density, fit_gaussians
from .distributions import norm_cdf
from .judge import GAUSSIAN_LEVEL, _checked_rows, with_rounding
from .merge import blobs_inside, compact_pieces
from .mixture import COVARIANCE_TYPES, MAX_EM_ITER, Mixture, _em, _m_step, _ridge, beside_background
from .one_gaussian import looks_gaussian
from .prepare import weighted_quantile
from .split import two_means

#: The check needs this many rows (effective, :func:`effective_rows`): with fewer a
#: uniform box, disc or bar of one to three features fits two Gaussians as well as
#: two Gaussians do (docs/design/overlapping-gaussians.md).
MIN_ROWS = 600
#: Rows whose share in the cluster is below this fraction of the largest are not read:
#: every row has some responsibility for every cluster, and far rows would crowd the
#: cluster's own out of the rows fitted.
SHARE_FLOOR = 1e-3
#: EM reads at most this many of the cluster's rows (every k-th): the BIC's gain
#: grows with the rows, and two Gaussians in many features need thousands to pay
#: for their covariances.
FIT_ROWS = 10_000
#: The components' means are at least this many of their deviations apart along
#: the line through them (the mean of the two).  A heavy-tailed cluster fits a narrow
#: and a wide Gaussian about one centre, which is no partition of it (their means
#: under one deviation apart): half a deviation above them.  Two Gaussians closer
#: than two deviations make one peak, yet are two where the evidence holds.
SEPARATION = 1.5
#: The mixture fits the rows' projections on the line through the two means: their
#: Anderson-Darling distance from it at most this, above what two Gaussians' own
#: distance from their fitted mixture reaches (measured, as the parameters are fitted
#: to the same rows).  A cut edge or a flat top that the components' weights smooth
#: over shows here.
FIT_DISTANCE = 1.0
#: The k-NN density over a neighbourhood smooths two overlapping Gaussians' peak: it
#: reads about this share of it, in log, where a uniform shape reads none
#: (docs/design/overlapping-gaussians.md).
SEEN_PEAK = 0.5
#: A row on a grid is spread over its cell along the line by this many points: the
#: steps left are this many times smaller than a cell's, and their misfit this many
#: squared (it still grows with the rows).
CELL_POINTS = 32


def overlapping_pair(X, r, covariance_types, counts=None, rounding=None) -> Mixture | None:
    """The two-Gaussian mixture of the rows ``X`` weighted ``r`` (a cluster's rows,
    weighted by their responsibility for it) where it describes them and one Gaussian
    does not; None otherwise.  ``counts``: the rows' own weights, of which ``r`` is a
    share (a row standing for equal rows weighs their number); None: one each.
    ``rounding``: the features' variance of rounding (values on a grid), or None.

    Two Gaussians: MIN_ROWS effective rows at least; they are not one Gaussian (every
    row fitted read, the flat-top test both ways); EM from their
    2-means sides has a lower BIC than one Gaussian (each with the best of
    ``covariance_types``), or the two beat one Gaussian on the line through their means
    (:func:`gain_along`); the means lie SEPARATION deviations apart; the mixture fits
    the projections on the line through them (FIT_DISTANCE); and the rows, whitened by
    each component of the pair with full covariances (where ``covariance_types`` has
    them) and weighted by their responsibility for it, are one Gaussian.  Of
    the rows with SHARE_FLOOR of the largest weight or more, at most FIT_ROWS are
    fitted, and of those GAUSSIAN_CHECK_ROWS read by each component's check (every
    k-th).
    """
    if not r.max(initial=0.0) > 0:
        return None
    read = np.flatnonzero(r >= SHARE_FLOOR * r.max())
    read = read[:: -(-read.size // FIT_ROWS)]
    X, r = X[read], r[read]
    counts = None if counts is None else counts[read]
    n, d = X.shape
    W = float(r.sum())
    # Power comes with rows: a row standing for c equal rows (values on a grid) is c
    # rows; a responsibility is a share of a row, counted as in a weighted sample, so
    # rows held in part unevenly count for less than their shares' sum.
    if effective_rows(r, counts) < MIN_ROWS:
        return None
    # The door to the pair's own checks (below), which keep one shape whole: it reads
    # every row fitted, not the judge's sample of them, and its flat-top test both
    # ways, so that two Gaussians too close for a valley still open it.
    if looks_gaussian(X, r, GAUSSIAN_LEVEL, both_ways=True):
        return None
    split = two_means(X, r)
    if split is None:
        return None
    center = r @ X / W
    Xc = X - center
    start = np.c_[~split.goes_right, split.goes_right].astype(float)
    ridge = _ridge(Xc, r, split.goes_right.astype(np.intp), None)
    best, full_pair = {}, None
    for kind in covariance_types:
        one = _m_step(Xc, r, None, np.ones((n, 1)), kind, ridge)
        two, _ = _em(Xc, r, None, start, kind, ridge, MAX_EM_ITER)
        if kind == "full":
            full_pair = two
        for fit in (one, two):
            if fit is not None:
                bic = -2.0 * float(r @ logsumexp(fit.log_joint(Xc), axis=1)) + fit.n_parameters() * np.log(W)
                if bic < best.get(fit.n_components, (np.inf, None))[0]:
                    best[fit.n_components] = (bic, fit)
    if 2 not in best:
        return None
    two = best[2][1]
    offset = two.means[1] - two.means[0]
    distance = np.linalg.norm(offset)
    if not distance > 0:
        return None
    along = offset / distance
    t = Xc @ along
    # The pair on the line through its means, read from the rows each component claims
    # (weights, centres and deviations alike): a spherical structure spreads one
    # variance over every axis, a diagonal one ignores the correlations along the line,
    # and the leading principal axes of many features hold more variance than the
    # line does.
    held = r[:, None] * two.predict_proba(Xc)
    mass = held.sum(axis=0)
    if not (mass > 0).all():
        return None
    weights, centres = mass / mass.sum(), held.T @ t / mass
    deviations = np.sqrt(np.einsum("ik,ik->k", held, (t[:, None] - centres) ** 2) / mass + along**2 @ ridge)
    if not abs(centres[1] - centres[0]) >= SEPARATION * deviations.mean():
        return None
    # A second covariance can cost more parameters than two overlapping Gaussians gain
    # over one (in many features), though the gain is there, on the line through their
    # means, where two cost three parameters more than one.  The line is fitted to
    # these rows, which this does not charge: the fit on the line (below), SEPARATION
    # and each component's check are what keep one flat or skewed shape whole.
    if best[2][0] >= best.get(1, (np.inf, None))[0] and not gain_along(t, r, weights, centres, deviations):
        return None

    # On a grid a row stands for its cell: along the line, its rows are spread evenly
    # over the cell (as wide as the rounding's variance along the line makes it).
    # Equal values are otherwise steps that read as misfit, more so the more rows
    # they stand for.  Spreading adds the cell's variance to the rounded rows' (which
    # already hold the rounding's once), so the pair is widened by as much.
    cell = 0.0 if rounding is None else float(np.sqrt(12.0 * (along**2 @ rounding)))
    widened = np.sqrt(deviations**2 + cell**2 / 12.0)

    def cdf(x):
        return sum(weights[k] * norm_cdf((x - centres[k]) / widened[k]) for k in range(2))

    if not anderson_darling(t, r, cdf, counts, width=cell) <= FIT_DISTANCE:
        return None
    # Whether each component is one Gaussian is read on the pair with full covariances
    # where there is one: a diagonal or spherical component misreads a turned
    # Gaussian, and its responsibilities mix the two Gaussians' rows.
    shape = two if full_pair is None else full_pair
    covariances, claimed = full_covariances(shape), r[:, None] * shape.predict_proba(Xc)
    for k in range(2):
        Z = solve_triangular(np.linalg.cholesky(covariances[k]), (Xc - shape.means[k]).T, lower=True).T
        if not looks_gaussian(*_checked_rows(Z, claimed[:, k]), GAUSSIAN_LEVEL):
            return None
    return replace(two, means=two.means + center)


def gain_along(t, w, weights, centres, deviations) -> bool:
    """Whether two Gaussians (``weights``, ``centres``, ``deviations``) describe the
    weighted projections ``t`` better than one Gaussian fitted to them, by the BIC
    (three more parameters on the line)."""
    W = w.sum()
    mean = w @ t / W
    one = w @ norm.logpdf(t, mean, np.sqrt(w @ (t - mean) ** 2 / W))
    two = w @ logsumexp(np.log(weights) + norm.logpdf(t[:, None], centres, deviations), axis=1)
    return 2.0 * (two - one) > 3.0 * np.log(W)


def full_covariances(mixture) -> np.ndarray:
    """The mixture's covariances as (k, d, d) matrices, whatever their structure."""
    k, d = mixture.means.shape
    cov = mixture.covariances
    kind = mixture.covariance_type
    if kind == "full":
        return cov
    if kind == "tied":
        return np.broadcast_to(cov, (k, d, d))
    if kind == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([c * np.eye(d) for c in cov])


def effective_rows(r, counts=None) -> float:
    """How many rows' evidence rows weighted ``r`` hold, each standing for ``counts``
    (> 0 where ``r`` is; None: one each) equal rows, so ``r / counts`` is each one's
    share: (sum r)^2 / sum (r^2 / counts), Kish's effective size of the rows weighted
    by their shares.  Rows wholly held count in full; uneven shares count for less
    than their sum."""
    per_row = r * r if counts is None else np.divide(r * r, counts, out=np.zeros(r.shape), where=r > 0)
    return float(r.sum() ** 2 / per_row.sum()) if per_row.sum() > 0 else 0.0


def anderson_darling(t, w, cdf, counts=None, width=0.0) -> float:
    """The Anderson-Darling distance of the weighted sample ``t`` (weights ``w``) from
    the distribution ``cdf``, on the effective number of rows
    (:func:`effective_rows`, ``counts`` the rows' own weights; None: one each).
    ``width`` > 0: each row stands for a cell of that width about it (values on a
    grid), its weight spread evenly over the cell (CELL_POINTS points).

    The integral of (F_n - F)^2 / (F (1 - F)) dF over each step of the weighted
    empirical distribution F_n, where it is constant (c): c^2 ln u - (1 - c)^2
    ln(1 - u) - u.  Equal weights give the usual statistic.
    """
    n_eff = effective_rows(w, counts)
    if width > 0:
        t = (t[:, None] + width * ((np.arange(CELL_POINTS) + 0.5) / CELL_POINTS - 0.5)).ravel()
        w = np.repeat(w, CELL_POINTS)
    order = np.argsort(t, kind="stable")
    u = np.clip(cdf(t[order]), 1e-300, 1.0 - 1e-16)
    share = w[order] / w.sum()
    level = np.cumsum(share)
    edges = np.concatenate([[0.0], u, [1.0]])
    steps = np.concatenate([[0.0], level])
    steps[-1] = 1.0

    def antiderivative(c, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.where(c > 0, c * c * np.log(np.maximum(x, 1e-300)), 0.0)
                    - np.where(c < 1, (1 - c) ** 2 * np.log1p(-np.minimum(x, 1 - 1e-16)), 0.0) - x)

    total = float(np.sum(antiderivative(steps, edges[1:]) - antiderivative(steps, edges[:-1])))
    return n_eff * total


def split_overlapping(growth, X, w, spread, fitted, pieces, covariance_type, rule, density):
    """The fitted clusters, each that is two overlapping Gaussians split in two
    (:func:`overlapping_pair`, read through the mixture's responsibilities,
    :func:`_cluster_responsibilities`) and the mixture refitted by EM after each
    split; ``fitted`` and the result are ``(mixture, labels, posterior, groups,
    merges)``, ``pieces`` the merge step's ``(each row's piece, each piece's
    cluster)`` (read where a cluster is a group of pieces) or None.

    The pair is read by :func:`overlapping_pair` (its BIC as the mixture's merges read
    it, or its gain on the line through its means); a split stands where the refit
    leaves both new clusters rows.  A shape joined from pieces that splits becomes two
    Gaussians.  The tree records it: the cluster's leaves go to the side holding most
    of their rows, and a cluster of one leaf takes that leaf's refused 2-means split
    where its children follow the two sides (reason "two Gaussians"); otherwise the
    cluster stays whole.
    """
    mixture, labels, posterior, groups, merges = fitted
    if mixture.owner is not None and pieces[1].size != mixture.n_components:
        return fitted  # a cluster was dropped: the pieces no longer match the mixture
    whole = set()  # the clusters (their leaves) found to be one
    kinds = COVARIANCE_TYPES if covariance_type == "auto" else (covariance_type,)
    rounded = with_rounding(spread, rule.rounding, X.shape)
    resp = None  # the mixture's responsibilities, read again after each split
    background = background_density(X, rule.reduced)
    while growth.cap is None or len(groups) < growth.cap:
        if mixture.owner is None:
            pieces = (labels, np.arange(len(groups)))
        if resp is None:
            resp = _cluster_responsibilities(X, w, mixture, rounded, background)
        found = None
        for c in range(len(groups)):
            if groups[c] not in whole:
                pair = overlapping_pair(X, w * resp[:, c], kinds, counts=w, rounding=rule.rounding)
                if pair is not None:
                    found = c, pair
                    break
                whole.add(groups[c])
        if found is None:
            break
        c, pair = found
        piece_of, owner = pieces
        members = np.flatnonzero(owner[piece_of] == c)
        second = members[pair.predict(X[members]) == 1]
        refit = None
        if 0 < second.size < members.size and _density_allows(X, w, density, members, second, pair):
            refit = _refit(X, w, spread, pieces, c, second, groups, covariance_type, rule, density)
        sides = None if refit is None else _leaves_of_sides(growth, groups[c], members, second)
        if sides is None:
            whole.add(groups[c])
            continue
        mixture, labels, posterior, pieces = refit
        resp = None
        groups = groups[:c] + [sides[0]] + groups[c + 1:] + [sides[1]]
    return mixture, labels, posterior, groups, merges


def _cluster_responsibilities(X, w, mixture, spread, background):
    """Each row's responsibility of each cluster; where a background is fitted beside
    the mixture (:func:`partitive.mixture._em`), the clusters share only what it
    leaves of the row, so noise about a cluster is not read as its tails."""
    log_joint, log_norm, _ = beside_background(w, mixture.log_joint(X, spread), background)
    return np.exp(log_joint - log_norm[:, None])


def _refit(X, w, spread, pieces, c, second, groups, covariance_type, rule, density):
    """The mixture refitted by EM with cluster ``c``'s rows ``second`` as a new last
    cluster (c's pieces, where it has several, become its other side): ``(mixture,
    labels, posterior, pieces)``, or None where either side is left without rows."""
    piece_of, owner = pieces
    in_c = owner[piece_of] == c
    trial_piece = np.where(in_c, np.flatnonzero(owner == c)[0], piece_of)
    trial_piece[second] = owner.size
    trial_piece, trial_owner = compact_pieces(trial_piece, np.append(owner, len(groups)), w)
    # The groups only name the clusters here; the caller sets the new ones' leaves.
    names = [(i,) for i in range(len(groups) + 1)]
    mixture, labels, posterior, kept, _ = fit_gaussians(
        X, w, spread, trial_owner[trial_piece], names, covariance_type, rule, merge=False,
        pieces=(trial_piece, trial_owner), density=density,
    )
    if len(kept) != len(names):
        return None
    return mixture, labels, posterior, (trial_piece, trial_owner)


def _density_allows(X, w, density, members, second, pair) -> bool:
    """Whether density (where it is read) lets a cluster's two sides (``second``: the
    rows of ``members`` on the second) be the two Gaussians of ``pair``: not where the
    cluster is flat beside them (:func:`flat_beside_pair`), and where the sides lie in
    an isolated group, only if they are blobs by density (a valley, or a Gaussian
    core beside a seam: :func:`partitive.merge.blobs_inside` without the merge step's
    dip, which reads the line through a pair's nearest pieces; the lumps of one cloud
    fit two Gaussians too)."""
    if density is None:
        return True
    cluster = np.zeros(X.shape[0], dtype=bool)
    cluster[members] = True
    if flat_beside_pair(X, w, density, cluster, pair):
        return False
    b = np.zeros(X.shape[0], dtype=bool)
    b[second] = True
    a = cluster & ~b
    isolation = density.isolation(a, b)
    if isolation <= 0:
        return True
    level = density.join_level(a, b)
    return not np.isfinite(level) or blobs_inside(X, w, density, a, b, level, isolation)


def flat_beside_pair(X, w, density, cluster, pair) -> bool:
    """Whether the rows ``cluster`` (a mask) are flat beside the two Gaussians
    ``pair`` fitted to them: their density, as the k-NN estimate reads it, varies from
    their median row to their densest tenth less than halfway (in log) from a flat
    shape's to the pair's peak as that estimate would see it (SEEN_PEAK).  Two
    overlapping Gaussians make the density peak about their means, a uniform box,
    disc or bar does not, though two Gaussians fit it too
    (docs/design/overlapping-gaussians.md).

    The pair's peak is its densest tenth of these rows over its median row, by its own
    density (:meth:`partitive.density.Density.flat_beside` carries it to the dimension
    density is read in).  A cluster that peaks like one Gaussian is no flat shape
    either way.
    """
    log_density = logsumexp(pair.log_joint(X[cluster]), axis=1)
    weights = w[cluster]
    log_peak = weighted_quantile(log_density, weights, 0.9) - weighted_quantile(log_density, weights, 0.5)
    return density.flat_beside(cluster, log_peak, X.shape[1], SEEN_PEAK)


def _leaves_of_sides(growth, leaves, members, second):
    """The leaves of a cluster's two sides (``second``: the rows of ``members`` on the
    second), each leaf on the side that holds most of its rows; a cluster of one leaf
    is divided by that leaf's 2-means split where each child lies mostly on its own
    side.  None where the sides cannot be told by leaves."""
    on_second = np.zeros(growth.leaf_of.size, dtype=bool)
    on_second[second] = True

    def share_on_second(rows):
        return growth.w[rows[on_second[rows]]].sum() / growth.w[rows].sum() if rows.size else 0.0

    if len(leaves) > 1:
        shares = [share_on_second(members[growth.leaf_of[members] == leaf]) for leaf in leaves]
        first_side = tuple(leaf for leaf, s in zip(leaves, shares) if s <= 0.5)
        second_side = tuple(leaf for leaf, s in zip(leaves, shares) if s > 0.5)
        return (first_side, second_side) if first_side and second_side else None
    split = growth.leaf_split(leaves[0])
    if split is None:
        return None
    low, high = (share_on_second(side) for side in split)
    if not (low <= 0.5 < high or high <= 0.5 < low):
        return None
    children = growth.split_leaf(leaves[0], split, "two Gaussians")
    return ((children[0],), (children[1],)) if low <= 0.5 else ((children[1],), (children[0],))
