"""Merging the mixture's components while the whole mixture's BIC says two are one.

The tree's merge step (:mod:`partitive.merge`) judges a pair of leaves from that
pair's points alone; here a pair of the fitted mixture's components is judged with
all the other components present (see :func:`merge_components`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import logsumexp

from .mixture import MAX_EM_ITER, Mixture, _component_parameters, _em, _ridge, beside_background

#: merge_components scores a pair of components j, k only if they touch: the posterior
#: weight they share, sum(w r_j r_k), exceeds this share of the smaller of their own,
#: sum(w r_j^2) and sum(w r_k^2).
MERGE_OVERLAP = 1e-3
#: ... and only on rows whose posterior of the pair exceeds this.  A row left out can
#: lose at most -log(1 - floor) by the merge, so leaving it out favours a merge by at
#: most 2 * floor of BIC per row; what a row left out might gain is not counted.
MERGE_ROW_FLOOR = 1e-6


def merge_components(
    X, w, mixture, spread=None, sample_size=None, apart=None, background=None
) -> tuple[Mixture, list]:
    """Merge pairs of components while the whole mixture's BIC says they are one.

    The tree's merge step asks of a pair whether its union is one cluster, from that
    pair's points alone.  A Gaussian that a high 2-means cut passed through is left in
    several pieces, and no pair of pieces is one Gaussian (the union of two of them
    still lacks the others), so the pieces stay apart.  In the mixture the other
    pieces are there: replacing two pieces by one component loses little likelihood
    and saves a component's parameters, so BIC prefers it.  Two clusters that are
    there lose much more than the parameters are worth.

    A pair is scored by the BIC change when its two components are replaced by one of
    the pair's weight, mean and covariance (moment-matched; with tied covariances the
    shared one, so tied components seldom merge), with no refit: a lower bound on the
    merged mixture's likelihood (up to MERGE_ROW_FLOOR), so a merge is made only when
    even that is better.  Only pairs that touch (MERGE_OVERLAP) are scored, each on the
    rows where the pair's posterior exceeds MERGE_ROW_FLOOR.  Every round merges the
    best pairs (lowest BIC change first) that touch no other pair merged in the round,
    so that their changes add up, then EM refits the mixture from the merged
    responsibilities; until no pair lowers the BIC.  A component with no posterior
    weight at all stops the merging (EM cannot refit it); the caller drops such
    components first.

    ``apart(rows_i, rows_j, direction)``, when given, says of a pair (the rows most
    probable for each, the line from i's mean to j's) that it is two clusters
    whatever the BIC says; such a pair is not scored.  ``background``: the uniform
    background the mixture was fitted beside (:func:`partitive.mixture._em`); a pair
    is scored with it present (rows it claims are explained by neither the pair nor
    the merged component), and each refit fits it again.

    Returns the mixture (``mixture`` itself when nothing is merged) and the merges as
    if made one at a time: ``(i, j, dbic)`` with ``i < j`` indices into the components
    as they are just before that merge, ``j`` taken out and its weight given to ``i``
    (later indices move down), ``dbic`` the BIC change (negative: one component is
    better).
    """
    original = mixture
    W = float(w.sum())
    n_obs = W if sample_size is None else min(W, float(sample_size))
    center = w @ X / W
    X = X - center
    mixture = replace(mixture, means=mixture.means - center)
    ridge = None  # for the refits: most calls merge nothing and need none
    merges = []
    while mixture.n_components > 1:
        # The background as EM fitted it beside these components: its share is the
        # likeliest one, given them, and each row's likelihood includes it.
        log_joint, log_norm, share = beside_background(w, mixture.log_joint(X, spread), background)
        log_background = np.log(share) + background if share > 0 else -np.inf
        resp = np.exp(log_joint - log_norm[:, None])
        shared = (resp * w[:, None]).T @ resp
        # Two components that barely share a row are two clusters: merging cannot pay.
        touching = shared > MERGE_OVERLAP * np.minimum.outer(np.diag(shared), np.diag(shared))
        np.fill_diagonal(touching, False)
        saved = _component_parameters(mixture.covariance_type, X.shape[1]) * np.log(n_obs)
        scored = []
        label = np.argmax(log_joint, axis=1)
        for i, j in zip(*np.nonzero(np.triu(touching))):
            pair = resp[:, i] + resp[:, j]
            rows = np.flatnonzero(pair > MERGE_ROW_FLOOR)
            weight, merged = _merged_component(mixture, i, j)
            log_merged = merged.log_joint(X[rows], None if spread is None else spread[rows])[:, 0]
            # The other components' share of each row, log(sum over k != i, j), summed
            # directly: 1 - (r_i + r_j) cannot resolve a share below 1e-16.
            others = np.delete(log_joint[rows], [i, j], axis=1)
            log_rest = logsumexp(others, axis=1) if others.shape[1] else -np.inf
            kept = np.logaddexp(log_rest, log_merged + np.log(weight) + np.log1p(-share))
            gain = np.logaddexp(kept, log_background) - log_norm[rows]
            dbic = -2.0 * float(w[rows] @ gain) * (n_obs / W) - saved
            if dbic < 0 and not (apart is not None and apart(label == i, label == j, mixture.means[j] - mixture.means[i])):
                scored.append((dbic, int(i), int(j)))
        if not scored:
            break
        taken = np.zeros(mixture.n_components, dtype=bool)
        chosen = []
        for dbic, i, j in sorted(scored):
            if not (taken[[i, j]].any() or (touching[[i, j]] & taken).any()):
                chosen.append((i, j, dbic))
                taken[[i, j]] = True
        for i, j, _ in chosen:
            resp[:, i] += resp[:, j]
        gone = [j for _, j, _ in chosen]
        if ridge is None:
            ridge = _ridge(X, w, mixture.predict(X), spread)
        refit, _ = _em(
            X, w, spread, np.delete(resp, gone, axis=1), mixture.covariance_type, ridge, MAX_EM_ITER, background
        )
        if refit is None:
            break
        merges.extend(_as_sequential(chosen))
        mixture = refit
    if not merges:
        return original, merges
    return replace(mixture, means=mixture.means + center), merges


def _as_sequential(chosen):
    """One round's merges, in index order, as if made one after another: each merge
    takes its ``j`` out, so later indices above it move down by one."""
    out, gone = [], []
    for i, j, dbic in sorted(chosen):
        out.append((i - sum(g < i for g in gone), j - sum(g < j for g in gone), dbic))
        gone.append(j)
    return out


def _merged_component(mixture, i, j):
    """Components i and j as one: their summed weight, and a one-component mixture of
    their mean and moment-matched covariance (tied: the shared covariance)."""
    weights, means, cov = mixture.weights, mixture.means, mixture.covariances
    total = weights[i] + weights[j]
    share = np.array([weights[i], weights[j]]) / total
    mean = share @ means[[i, j]]
    offsets = means[[i, j]] - mean
    kind = mixture.covariance_type
    if kind == "full":
        merged = (share[:, None, None] * (cov[[i, j]] + offsets[:, :, None] * offsets[:, None, :])).sum(axis=0)[None]
    elif kind == "diag":
        merged = (share @ (cov[[i, j]] + offsets**2))[None]
    elif kind == "spherical":
        merged = np.atleast_1d(share @ (cov[[i, j]] + (offsets**2).mean(axis=1)))
    else:
        merged = cov
    return total, Mixture(kind, np.ones(1), mean[None], merged)
