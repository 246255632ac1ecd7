"""Two overlapping Gaussians inside one cluster, read from a mixture fitted softly.

Growth and the merge step read hard sides: a 2-means cut through two overlapping
Gaussians leaves each side carrying the other's tail and missing its own, so neither
side is one Gaussian, and the union's gain over one Gaussian is no larger than a flat
shape's (docs/design/overlapping-gaussians.md).  A mixture fitted by EM has no cut:
the rows weighted by their responsibilities for one component are a sample of that
component wherever the mixture is the data's law (the weights turn the mixture's
density into the component's), so each component can be checked as one Gaussian as
it is, without the truncation of a hard side.

:func:`two_gaussians` asks it of one cluster: a two-component mixture that fits the
cluster, where one Gaussian does not.  :func:`split_overlapping`, the last stage of a
fit on rows (:mod:`partitive.grow`), asks it of every cluster of the mixture, splits
those that are two, where density does not read them as flat or as one isolated
cloud, and records the split in the tree.  The Anderson-Darling distance of a
fitted mixture is written out here for weighted rows, which scipy's tests do not
take.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from .assemble import fit_gaussians
from .judge import GAUSSIAN_CHECK_ROWS, GAUSSIAN_LEVEL, with_rounding
from .merge import blobs_inside
from .mixture import COVARIANCE_TYPES, MAX_EM_ITER, Mixture, _em, _m_step, _ridge
from .one_gaussian import looks_gaussian
from .split import two_means

#: The check needs this many rows (effective: (sum r)^2 / sum r^2): with fewer a
#: uniform box, disc or bar of 1-3 features fits two Gaussians as well as two
#: Gaussians do (in 1 to 5 of 10 draws of 300 rows; none from 600 rows on, in 1-10
#: features).
MIN_WEIGHT = 600
#: EM reads at most this many of the cluster's rows (every k-th): the BIC's gain
#: grows with the rows, and two Gaussians in many features need thousands to pay
#: for their covariances.
FIT_ROWS = 10_000
#: The components' means are at least this many of their deviations apart along
#: the line through them (the mean of the two): where two equal Gaussians stop being
#: one peak.  A heavy-tailed cluster fits a narrow and a wide Gaussian about one
#: centre, which is no partition of it.
SEPARATION = 2.0
#: The mixture fits the rows' projections on the line through the two means: their
#: Anderson-Darling distance from it at most this (two Gaussians' own distance stays
#: below 0.8 in 99 of 100 draws of 200-4,000 rows).  A cut edge or a flat top that
#: the components' weights smooth over shows here.
FIT_DISTANCE = 1.0


def two_gaussians(X, r, covariance_types) -> Mixture | None:
    """The two-Gaussian mixture of the rows ``X`` weighted ``r`` (a cluster's rows,
    weighted by their responsibility for it) where it describes them and one Gaussian
    does not; None otherwise.

    Two Gaussians: MIN_WEIGHT rows at least; they are not one Gaussian; EM from their
    2-means sides has a lower BIC than one Gaussian (each with the best of
    ``covariance_types``); the means lie SEPARATION deviations apart; the mixture fits
    the projections on the line through them (FIT_DISTANCE); and the rows, whitened by
    each component and weighted by their responsibility for it, are one Gaussian.  At
    most FIT_ROWS rows are fitted and GAUSSIAN_CHECK_ROWS checked (every k-th).
    """
    held = np.flatnonzero(r > 0)
    held = held[:: -(-held.size // FIT_ROWS)]
    X, r = X[held], r[held]
    n, d = X.shape
    W = float(r.sum())
    # Power comes with rows: a row of weight 10 is one row, not ten.
    if not W > 0 or W**2 / (r @ r) < MIN_WEIGHT:
        return None
    # The checks of one Gaussian read every k-th of these rows, as the judge's do.
    checked = slice(None, None, -(-n // GAUSSIAN_CHECK_ROWS))
    if looks_gaussian(X[checked], r[checked], GAUSSIAN_LEVEL):
        return None
    split = two_means(X, r)
    if split is None:
        return None
    center = r @ X / W
    Xc = X - center
    start = np.c_[~split.goes_right, split.goes_right].astype(float)
    ridge = _ridge(Xc, r, split.goes_right.astype(np.intp), None)
    best = {}
    for kind in covariance_types:
        one = _m_step(Xc, r, None, np.ones((n, 1)), kind, ridge)
        two, _ = _em(Xc, r, None, start, kind, ridge, MAX_EM_ITER)
        for fit in (one, two):
            if fit is not None:
                bic = -2.0 * float(r @ logsumexp(fit.log_joint(Xc), axis=1)) + fit.n_parameters() * np.log(W)
                if bic < best.get(fit.n_components, (np.inf, None))[0]:
                    best[fit.n_components] = (bic, fit)
    if 2 not in best or best[2][0] >= best.get(1, (np.inf, None))[0]:
        return None
    two = best[2][1]
    covariances = full_covariances(two)
    offset = two.means[1] - two.means[0]
    distance = np.linalg.norm(offset)
    if distance == 0:
        return None
    along = offset / distance
    deviations = np.sqrt(np.einsum("i,kij,j->k", along, covariances, along))
    if distance < SEPARATION * deviations.mean():
        return None
    t = Xc @ along
    centres = two.means @ along

    def cdf(x):
        return sum(two.weights[k] * norm.cdf((x - centres[k]) / deviations[k]) for k in range(2))

    if anderson_darling(t, r, cdf) > FIT_DISTANCE:
        return None
    log_joint = two.log_joint(Xc)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    for k in range(2):
        Z = np.linalg.solve(np.linalg.cholesky(covariances[k]), (Xc - two.means[k]).T).T
        weight = r * resp[:, k]
        if not looks_gaussian(Z[checked], weight[checked], GAUSSIAN_LEVEL):
            return None
    return replace(two, means=two.means + center)


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


def anderson_darling(t, w, cdf) -> float:
    """The Anderson-Darling distance of the weighted sample ``t`` (weights ``w``) from
    the distribution ``cdf``, on the effective number of rows (sum w)^2 / sum w^2.

    The integral of (F_n - F)^2 / (F (1 - F)) dF over each step of the weighted
    empirical distribution F_n, where it is constant (c): c^2 ln u - (1 - c)^2
    ln(1 - u) - u.  Equal weights give the usual statistic.
    """
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
    n_eff = w.sum() ** 2 / (w @ w)
    return n_eff * total


def split_overlapping(growth, X, w, spread, fitted, pieces, covariance_type, rule, density):
    """The fitted clusters, each that is two overlapping Gaussians split in two
    (:func:`partitive.overlap.two_gaussians`, read through the mixture's
    responsibilities), the mixture refitted after each split; ``fitted`` and the
    result are ``(mixture, labels, posterior, groups, merges)``, ``pieces`` the merge
    step's ``(each row's piece, each piece's cluster)`` (read where a cluster is a
    group of pieces) or None.

    A split stands where the refitted mixture keeps both new clusters, neither merged
    nor emptied; a shape joined from pieces that splits becomes two Gaussians.  The
    tree records it: the cluster's leaves go to the side holding most of their rows,
    and a cluster of one leaf takes that leaf's own 2-means split (reason "two
    Gaussians").
    """
    mixture, labels, posterior, groups, merges = fitted
    if mixture.owner is not None and pieces[1].size != mixture.n_components:
        return fitted  # a cluster was dropped: the pieces no longer match the mixture
    one = set()  # clusters (their leaves) found to be one
    kinds = COVARIANCE_TYPES if covariance_type == "auto" else (covariance_type,)
    while growth.cap is None or len(groups) < growth.cap:
        if mixture.owner is None:
            pieces = (labels, np.arange(len(groups)))
        log_joint = mixture.log_joint(X, with_rounding(spread, rule.rounding, X.shape))
        resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
        found = None
        for c in range(len(groups)):
            if groups[c] not in one:
                two = two_gaussians(X, w * resp[:, c], kinds)
                if two is not None:
                    found = c, two
                    break
                one.add(groups[c])
        if found is None:
            break
        c, two = found
        piece_of, owner = pieces
        members = np.flatnonzero(owner[piece_of] == c)
        second = members[two.predict(X[members]) == 1]
        shares = (w * resp[:, c])[:, None] * two.predict_proba(X)
        if not _apart_inside(X, w, density, members, second, shares):
            one.add(groups[c])
            continue
        # Cluster c's pieces become its first side, one new piece its second.
        first_piece = np.flatnonzero(owner == c)[0]
        trial_piece = np.where(owner[piece_of] == c, first_piece, piece_of)
        trial_piece[second] = owner.size
        trial_owner = np.append(owner, len(groups))
        trial_piece, trial_owner = _compact_pieces(trial_piece, trial_owner, w)
        # Placeholders for the two new clusters' leaves until the refit keeps both.
        marks = [(-1,), (-2,)]
        refit = fit_gaussians(
            X, w, spread, trial_owner[trial_piece], groups[:c] + [marks[0]] + groups[c + 1:] + [marks[1]],
            covariance_type, rule, merge=True, pieces=(trial_piece, trial_owner), density=density,
        )
        kept = refit[3]
        if (len(kept) != len(groups) + 1 or not all(m in kept for m in marks)
                or any(m in merge.leaves for merge in refit[4] for m in marks)):
            one.add(groups[c])
            continue
        sides = _leaves_of_sides(growth, groups[c], members, second)
        if sides is None:
            one.add(groups[c])
            continue
        mixture, labels, posterior = refit[:3]
        groups = [sides[marks.index(g)] if g in marks else g for g in kept]
        merges = merges + refit[4]
        pieces = (trial_piece, trial_owner)
    return mixture, labels, posterior, groups, merges


def _apart_inside(X, w, density, members, second, shares) -> bool:
    """Whether the two sides of a cluster (``second``: the rows of ``members`` on the
    second; ``shares``: each row's weight in either Gaussian) may be two clusters as
    density reads them (where it is read): neither Gaussian's rows flat (a uniform
    shape with noise about it fits two Gaussians, its noise their tails; in two
    features the k-NN density reads the flat top of two overlapping Gaussians so
    too), and, where they lie in an isolated group, blobs, as the merge step asks of
    the group's parts (:func:`partitive.merge.blobs_inside`; the lumps of one cloud
    fit two Gaussians too)."""
    if density is None:
        return True
    if any(density.flat(share) for share in shares.T):
        return False
    b = np.zeros(X.shape[0], dtype=bool)
    b[second] = True
    a = np.zeros(X.shape[0], dtype=bool)
    a[members] = True
    a &= ~b
    isolation = density.isolation(a, b)
    if isolation <= 0:
        return True
    level = density.join_level(a, b)
    return not np.isfinite(level) or blobs_inside(X, w, density, a, b, level, isolation)


def _compact_pieces(piece_of, owner, w):
    """Pieces that hold no row dropped and the rest numbered in order."""
    alive = np.flatnonzero(np.bincount(piece_of, weights=w, minlength=owner.size) > 0)
    remap = np.full(owner.size, -1)
    remap[alive] = np.arange(alive.size)
    return remap[piece_of], owner[alive]


def _leaves_of_sides(growth, leaves, members, second):
    """The leaves of a cluster's two sides (``second``: the rows of ``members`` on the
    second), each leaf on the side holding most of its rows; a cluster of one leaf,
    or whose leaves all fall on one side, is divided by its largest leaf's 2-means
    split.  None where that leaf has none."""
    on_second = np.zeros(growth.leaf_of.size, dtype=bool)
    on_second[second] = True
    rows = [members[growth.leaf_of[members] == leaf] for leaf in leaves]
    share = [growth.w[r[on_second[r]]].sum() / growth.w[r].sum() if r.size else 0.0 for r in rows]
    first_side = tuple(leaf for leaf, s in zip(leaves, share) if s <= 0.5)
    second_side = tuple(leaf for leaf, s in zip(leaves, share) if s > 0.5)
    if first_side and second_side:
        return first_side, second_side
    weight = [growth.w[r].sum() for r in rows]
    largest = leaves[int(np.argmax(weight))]
    children = growth.split_leaf(largest, "two Gaussians")
    if children is None:
        return None
    held = [np.flatnonzero(growth.leaf_of == child) for child in children]
    towards = int(np.argmax([growth.w[r[on_second[r]]].sum() / growth.w[r].sum() for r in held]))
    to_first, to_second = children[1 - towards], children[towards]
    rest = tuple(leaf for leaf in leaves if leaf != largest)
    if second_side:
        return (to_first,), tuple(sorted(rest + (to_second,)))
    return tuple(sorted(rest + (to_first,))), (to_second,)
