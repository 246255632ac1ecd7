"""When a set of points is more than one cluster, and when it is one Gaussian.

:class:`Rule` reads a 2-means split's evidence (the dip test on the split direction and
the paper's Gaussian-mixture validation, :mod:`partitive.validate`) with the guards
that keep one skewed, heavy-tailed or correlated cluster whole; :func:`not_one_gaussian`
is the check of one Gaussian that several of them rely on.  Growth
(:mod:`partitive.grow`) and the merge step (:mod:`partitive.merge`) ask the same
questions here.  The rules: docs/method.md; their evidence: docs/design/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .prepare import weighted_quantile
from .one_gaussian import core_looks_gaussian, looks_gaussian, whitened_together
from .validate import axis_evidence, dip_test, full_evidence, unimodal_gain


#: Mixture evidence needs this many points per dimension the node spans (see Rule).
MIXTURE_POINTS_PER_DIM = 10
#: A node consistent with one Gaussian (``validate.looks_gaussian``, each of its three
#: tests at this level) is not cut on diagonal mixture evidence, nor looked below.  At
#: 1 % about 3 % of single Gaussians failed a test; with a dozen clusters one of them
#: often did, and was cut up.
GAUSSIAN_LEVEL = 0.001
#: The check looks at this many of a node's rows at most (every k-th canonical row).
#: It is to tell one Gaussian from several clusters; on more rows it rejects one
#: Gaussian for departures too small to matter (a cut edge, a few strays), as a BIC
#: difference grows with n alone (docs/method.md).
GAUSSIAN_CHECK_ROWS = 2000
#: Two sides with an empty slab this many standard deviations wide between them are
#: two clusters, however few their rows.  One cluster cut in two by a 2-means
#: direction fitted to its rows has no such slab inside it once it holds
#: EMPTY_GAP_ROWS rows (and at least as many as the dimensions it spans): fewer rows
#: leave gaps that wide between random points along a fitted direction.  The rows, not
#: the representatives, count: a representative's reach spans its own rows.
EMPTY_GAP = 3.0
EMPTY_GAP_ROWS = 60
#: A normal deviation is this many median absolute deviations.
MAD_TO_SD = 1.4826
#: A cut through one blob, fitted to its points, deepens the dip along it, but the dip
#: of a Gaussian or a uniform cube cut by 2-means seldom falls below 0.01 in 2-D (a
#: thousandth in 32 dimensions): a dip p-value below this, times min(1, (2/d)^2) as
#: the dip level, is two clusters whatever the Gaussians' BIC says.
LLOYD_DIP = 1e-4


@dataclass(frozen=True)
class Rule:
    """When a set of points is more than one cluster (defaults: docs/method.md).

    ``reduced`` and ``rounding`` describe the data of one fit (:func:`fit_tree` sets
    them): whether the points are representatives of a reduced input, and the
    per-feature variance of rounding (:func:`rounding_variance`).
    """

    tau: float
    alpha: float
    dip_level: float
    effect: float
    validation: str
    reduced: bool = False
    rounding: np.ndarray | None = field(default=None, compare=False)

    def dip_threshold(self, d_eff: int, leniency: float = 1.0, level: float | None = None) -> float:
        # The split direction is chosen by 2-means from the same points, which makes
        # noise look bimodal on it, more so as dimensions grow: the level shrinks.
        base = self.dip_level if level is None else level
        return min(1.0, leniency * base) * min(1.0, (2.0 / d_eff) ** 2)

    def evaluate(self, X, w, goes_right, direction, leniency=1.0, spread=None, diagonal_ok=True,
                 rows=None):
        """Whether the split node is more than one cluster; its evidence and dip p-value.

        ``diagonal_ok=False``: mixture evidence diagonal in the features does not count.
        ``rows``: when the points are representatives (``reduced``), a uniform
        sample of the rows they stand for.
        """
        spread, t, t_spread = self._projected(X, direction, spread)
        if self.validation == "full":
            evidence = full_evidence(X, w, goes_right, self.tau, spread)
        else:
            evidence = axis_evidence(t, w, goes_right, self.tau, t_spread)
        # Representatives of a reduced input are fewer than the rows they stand for,
        # and the split direction was fitted to them: they, not the rows, are the
        # sample size of the tests.
        W = w.sum()
        # Rows' own spread is their rounding, uniform over the grid step; a
        # representative's rows are nearer a normal group about its mean.
        uniform = not self.reduced
        p_value = self._dip_p_value(X, w, t, t_spread)
        bimodal = p_value < self.dip_threshold(spanned_dims(X), leniency)
        apart = empty_between(t, w, goes_right, t_spread, spanned_dims(X))
        distinct = bimodal or apart or (
            self.trusts_mixture(X, w)
            and min(evidence.scores) >= self.alpha
            and self._clearly_better(evidence.dbic, W)
            # Two Gaussians beat one on any skewed or heavy-tailed shape: they must also
            # beat one cluster of such a shape along the split (two more parameters).
            and self._clearly_better(evidence.dbic - 2.0 * unimodal_gain(t, w, t_spread, uniform) + 2.0 * np.log(W), W)
            and (not evidence.diagonal or (diagonal_ok and not_one_gaussian(X, w, self.reduced, rows)))
        )
        return distinct, evidence, p_value

    def beyond_lloyd(self, p_value, X) -> bool:
        """Whether a dip ``p_value`` of the points ``X`` is deeper than any 2-means cut
        through one blob makes (LLOYD_DIP)."""
        return p_value < LLOYD_DIP * min(1.0, (2.0 / spanned_dims(X)) ** 2)

    def deep_dip(self, X, w, direction, spread=None) -> bool:
        """Whether the points' dip along ``direction`` is :meth:`beyond_lloyd`."""
        _, t, t_spread = self._projected(X, direction, spread)
        return self.beyond_lloyd(self._dip_p_value(X, w, t, t_spread), X)

    def _dip_p_value(self, X, w, t, t_spread):
        """The dip test's p-value of the projections ``t`` of the points ``X``, with
        the tests' sample size and the rows' own spread (see :meth:`evaluate`)."""
        _, p_value = dip_test(t, w, t_spread, sample_size=self._sample_size(X, w), uniform=not self.reduced)
        return p_value

    def apart(self, X, w, goes_right, direction, spread=None) -> bool:
        """Whether empty space separates the two sides along ``direction`` (the rule
        :meth:`evaluate` reads too; see :func:`empty_between`)."""
        _, t, t_spread = self._projected(X, direction, spread)
        return empty_between(t, w, goes_right, t_spread, spanned_dims(X))

    def _projected(self, X, direction, spread):
        """The rows' own spread with the rounding, their projections on ``direction``,
        and that spread along it."""
        spread = with_rounding(spread, self.rounding, X.shape)
        return spread, X @ direction, None if spread is None else spread @ direction**2

    def trusts_mixture(self, X, w) -> bool:
        """Whether the points are enough for mixture evidence: where a node has few
        points per dimension a direction exists along which any split looks clean, and
        the BIC's parameters outweigh any gain, so the evidence is read only with
        MIXTURE_POINTS_PER_DIM points per spanned dimension."""
        return self._sample_size(X, w) >= MIXTURE_POINTS_PER_DIM * spanned_dims(X)

    def _sample_size(self, X, w) -> float:
        W = w.sum()
        return min(W, X.shape[0]) if self.reduced else W

    def _clearly_better(self, dbic: float, W: float) -> bool:
        return dbic > 0 and dbic / W > self.effect


def empty_between(t, w, goes_right, spread=None, n_dims=1) -> bool:
    """Whether an empty slab wider than EMPTY_GAP standard deviations of either side
    (the wider) separates the projections ``t`` of the two sides (``goes_right``: the
    far side), with at least EMPTY_GAP_ROWS rows (``w``) and ``n_dims``.

    A point standing for a group of rows (``spread``: their variance along the
    projection) reaches two of its deviations either way.  The wider side's deviation,
    not the pooled one: a skewed cluster's sparse tail cut off by 2-means is as spread
    as the gap before it, a far group is compact.
    """
    if w.sum() < max(EMPTY_GAP_ROWS, n_dims):
        return False
    along = np.zeros_like(t) if spread is None else spread
    reach = 2.0 * np.sqrt(along)
    gap = np.min((t - reach)[goes_right]) - np.max((t + reach)[~goes_right])
    if gap <= 0:
        return False
    deviation = 0.0
    for side in (~goes_right, goes_right):
        ts, ws = t[side], w[side]
        centre = weighted_quantile(ts, ws, 0.5)
        spread = weighted_quantile(np.abs(ts - centre), ws, 0.5) * MAD_TO_SD
        deviation = max(deviation, np.sqrt(spread**2 + ws @ along[side] / ws.sum()))
    return gap > EMPTY_GAP * deviation


def spanned_dims(X) -> int:
    """n points span at most n - 1 dimensions: that, not d, is what the 2-means
    direction can be fitted to."""
    return max(1, min(X.shape[1], X.shape[0] - 1))


def not_one_gaussian(X, w, reduced=False, rows=None) -> bool:
    """Whether the points are not (known to be) one Gaussian.

    Two diagonal Gaussians side by side follow a correlation that one cannot, so they
    read one Gaussian at an angle to the features as several clusters: diagonal
    evidence is believed only where this holds.  Representatives' means are not a
    sample of the rows (averaging shrinks the tails), so for them the test runs on
    ``rows``, a sample of the rows they stand for; without one it is not made.
    """
    checked = _checked_sample(X, w, reduced, rows)
    return checked is None or not looks_gaussian(*checked, GAUSSIAN_LEVEL)


def _checked_sample(X, w, reduced, rows):
    """The rows the one-Gaussian check reads, at most GAUSSIAN_CHECK_ROWS of them: on
    representatives ``rows``, a sample of the rows they stand for (None without one)."""
    if reduced:
        if rows is None:
            return None
        X, w = rows, np.ones(rows.shape[0])
    return _checked_rows(X, w)


def _checked_rows(X, w):
    """Every k-th of the rows, k the fewest that leaves at most GAUSSIAN_CHECK_ROWS."""
    step = -(-X.shape[0] // GAUSSIAN_CHECK_ROWS)
    return X[::step], w[::step]


@dataclass(frozen=True)
class RowSample:
    """Rows of those that representatives stand for, one per representative, by
    owner (:attr:`partitive.reduce.Representatives.sample`)."""

    rows: np.ndarray
    owner: np.ndarray  # the representative (canonical row) each sampled row belongs to

    def of(self, members: np.ndarray) -> np.ndarray:
        """The sampled rows of the representatives ``members`` (indices or a mask)."""
        mask = members
        if members.dtype != bool:
            mask = np.zeros(self.owner.max() + 1, dtype=bool)
            mask[members] = True
        return self.rows[mask[self.owner]]


def rows_of(sample, members):
    return None if sample is None else sample.of(members)


def spread_of(spread, members):
    return None if spread is None else spread[members]


def with_rounding(spread, rounding, shape):
    """The rows' within variance: their own spread plus the features' rounding."""
    if rounding is None:
        return spread
    if spread is None:
        # Contiguous, not a broadcast view: BLAS takes no zero strides (3x slower).
        spread = np.zeros(shape)
    return spread + rounding


def each_one_gaussian(X, w, parts, reduced, sample, level=GAUSSIAN_LEVEL) -> bool:
    """Whether the rows ``parts`` (masks or index arrays) are each one Gaussian, read
    with the power of their union: none is rejected at ``level``, and their rows,
    each whitened by its own Gaussian (its strays set aside as the check does), are
    one Gaussian sample together at ``level`` too.  Parts that span different numbers
    of dimensions cannot be read together; for them the first condition alone answers.

    The merge step keeps two clusters apart on this claim where their union is not
    one Gaussian.  Each part alone has fewer rows than the union whose test it
    answers: a uniform square's halves of a hundred rows each pass as Gaussians while
    the square fails, and its pieces stayed apart as "two Gaussians".
    """
    samples = []
    for members in parts:
        checked = _checked_sample(X[members], w[members], reduced, rows_of(sample, members))
        if checked is None or not looks_gaussian(*checked, level):
            return False
        samples.append(checked)
    together = whitened_together(samples)
    return together is None or looks_gaussian(*_checked_rows(*together), level)


def two_gaussians(X, w, parts, reduced, sample, level=GAUSSIAN_LEVEL) -> bool:
    """Whether the two row masks ``parts`` are two Gaussians whose union is not one:
    the union is :func:`not_one_gaussian` and the parts are :func:`each_one_gaussian`
    (at ``level``)."""
    union = parts[0] | parts[1]
    return not_one_gaussian(X[union], w[union], reduced, rows_of(sample, union)) and each_one_gaussian(
        X, w, parts, reduced, sample, level
    )


def gaussian_parts(X, w, parts, reduced, sample) -> list[bool]:
    """Whether each of ``parts`` (index arrays or masks of rows) is one Gaussian, up to
    the first that is not (the rest are not checked)."""
    out = []
    for members in parts:
        out.append(not not_one_gaussian(X[members], w[members], reduced, rows_of(sample, members)))
        if not out[-1]:
            break
    return out


def has_gaussian_core(X, w, members) -> bool:
    """Whether the rows ``members`` (a mask) have a core that is one Gaussian's
    (:func:`partitive.one_gaussian.core_looks_gaussian`), read on at most
    GAUSSIAN_CHECK_ROWS of them."""
    return core_looks_gaussian(*_checked_rows(X[members], w[members]), GAUSSIAN_LEVEL)
