"""Empty space: two groups whose rows join only across a step far longer than any
that holds either together are two clusters, however the line through their centres
looks."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from partitive import PPP, empty_space
from partitive.density import Density

#: Rows per box; in a 1 x 0.5 box the row spacing is about 0.032.
BOX_ROWS = 500


def box(rng, low, high):
    return rng.uniform(low, high, (BOX_ROWS, 2))


def two_pairs_of_boxes(seed, gap):
    """Two pairs of uniform boxes far apart, the boxes of a pair ``gap`` apart."""
    rng = np.random.default_rng(seed)
    corners = [((0, 0), (1, 0.5)), ((0, 0.5 + gap), (1, 1 + gap)),
               ((4, 0), (4.5, 1)), ((4.5 + gap, 0), (5 + gap, 1))]
    X = np.vstack([box(rng, low, high) for low, high in corners])
    return X, np.repeat(np.arange(4), BOX_ROWS)


@pytest.mark.parametrize("seed", range(3))
def test_boxes_a_narrow_empty_gap_apart_stay_apart_in_a_far_group(seed):
    # A gap of about five row spacings, far narrower than either box: the line through
    # the boxes' centres shows it, but each pair is a group far from the other, whose
    # parts the isolated-group join makes one unless empty space lies between them.
    X, truth = two_pairs_of_boxes(seed, gap=0.15)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


def density_of(X):
    return Density(X, np.ones(X.shape[0]), min_cluster_size=5)


def parallel_stripes(seed, k=4, rows=400, gap=0.2):
    """``k`` uniform stripes 5 x 0.2, ``gap`` apart (a row spacing is about 0.05)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.uniform((0, i * (0.2 + gap)), (5, i * (0.2 + gap) + 0.2), (rows, 2)) for i in range(k)])
    return X, np.repeat(np.arange(k), rows)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_parallel_stripes_four_row_spacings_apart_are_one_cluster_each(seed):
    # A thin uniform stripe is held together by steps of about two row spacings, so an
    # empty gap of four is under twice its hold but more than one and a half times it.
    X, truth = parallel_stripes(seed)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parallel_stripes_three_row_spacings_apart_are_one_cluster_each(seed):
    # Under one and a half times either stripe's hold, so no gap; but a moat: the
    # empty space runs the stripes' whole length, where rows at their own spacing
    # would stand by the hundred.
    X, truth = parallel_stripes(seed, gap=0.14)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_neighbouring_cells_of_one_shape_have_no_empty_space_between(seed):
    # What the moat is read against: inside one shape, single linkage parts groups
    # that face each other with two neighbourhoods of rows only across crossings of
    # a few row spacings, under MOAT_SPACINGS.
    rng = np.random.default_rng(seed)
    n = 3000
    angle, radius = rng.uniform(0, 2 * np.pi, n), np.sqrt(rng.uniform(size=n))
    shapes = [
        rng.uniform(size=(n, 2)),
        rng.uniform(size=(n, 2)) * [5, 0.2],
        np.c_[radius * np.cos(angle), radius * np.sin(angle)],
        rng.standard_normal((n, 2)),
        rng.uniform(size=(n, 3)),
    ]
    for X in shapes:
        # Four by four cells, cut at the quartiles of the first two features.
        column, row = (np.searchsorted(np.quantile(x, [0.25, 0.5, 0.75]), x) for x in X[:, :2].T)
        cell = 4 * column + row
        density = density_of(X)
        assert density.islands() is None
        for a in range(16):
            for b in (a + 1, a + 4):
                if b < 16 and (b == a + 4 or b % 4):
                    assert not density.empty_space(cell == a, cell == b)


@pytest.mark.parametrize("seed", range(3))
def test_a_gap_inside_a_far_group_must_be_twice_the_holds(seed, monkeypatch):
    # Two boxes about 2.5 row spacings apart: a gap on their own (more than
    # EMPTY_SPACE times their holds), but not as parts of a group far from a third
    # box (ISOLATED_EMPTY_SPACE), whose isolation makes it one cluster unless its
    # parts stand further apart.  Their long straight border makes the gap a moat
    # too (the next test): here the gap rule is read alone.
    monkeypatch.setattr(empty_space, "MOAT_WEIGHT", np.inf)
    monkeypatch.setattr(empty_space, "ISOLATED_MOAT_WEIGHT", np.inf)
    rng = np.random.default_rng(seed)
    pair = np.vstack([box(rng, (0, 0), (1, 0.5)), box(rng, (0, 0.58), (1, 1.08))])
    lower = np.arange(2 * BOX_ROWS) < BOX_ROWS
    assert density_of(pair).empty_space(lower, ~lower)
    with_far = np.vstack([pair, box(rng, (10, 0), (11, 1))])
    lower, upper = (np.arange(3 * BOX_ROWS) // BOX_ROWS == part for part in (0, 1))
    assert not density_of(with_far).empty_space(lower, upper)


@pytest.mark.parametrize("seed", range(3))
def test_boxes_a_moat_apart_are_apart_in_a_far_group_too(seed):
    # The boxes of the test above: their gap runs along their whole width, a moat,
    # which is empty space inside an isolated group as well.
    rng = np.random.default_rng(seed)
    X = np.vstack([box(rng, (0, 0), (1, 0.5)), box(rng, (0, 0.58), (1, 1.08)), box(rng, (10, 0), (11, 1))])
    truth = np.repeat(np.arange(3), BOX_ROWS)
    lower, upper = (truth == part for part in (0, 1))
    assert density_of(X).empty_space(lower, upper)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


def test_a_gap_between_boxes_is_empty_space_and_a_cut_through_one_is_not():
    rng = np.random.default_rng(0)
    X = np.vstack([box(rng, (0, 0), (1, 0.5)), box(rng, (0, 0.65), (1, 1.15))])
    lower = np.arange(X.shape[0]) < BOX_ROWS
    density = density_of(X)
    assert density.empty_space(lower, ~lower)
    # Two halves of one box join across steps as long as their own.
    left = lower & (X[:, 0] < 0.5)
    assert not density.empty_space(left, lower & ~left)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_a_second_gap_as_wide_as_the_first_is_empty_space(seed):
    # Three boxes in a column, the upper gap a little narrower: the upper two join
    # first, across their gap, and that step does not hold them together, so the
    # lower gap reads as empty space too.  (In these draws the lower box does join
    # the others among neighbours; where it does not, it is apart anyway.)
    rng = np.random.default_rng(seed)
    X = np.vstack([box(rng, (0, 0), (1, 0.5)), box(rng, (0, 0.65), (1, 1.15)), box(rng, (0, 1.29), (1, 1.79))])
    lower, middle = (np.arange(X.shape[0]) // BOX_ROWS == part for part in (0, 1))
    density = density_of(X)
    assert density.empty_space(middle, ~(lower | middle))
    assert density.empty_space(lower, middle)
    assert density.empty_space(lower, ~lower)


def test_a_side_lighter_than_a_neighbourhood_is_not_judged():
    rng = np.random.default_rng(2)
    X = np.vstack([box(rng, (0, 0), (1, 1)), rng.uniform(3, 3.1, (10, 2))])
    few = np.arange(X.shape[0]) >= BOX_ROWS
    assert not density_of(X).empty_space(~few, few)


def test_a_cluster_that_no_group_holds_most_of_is_not_judged():
    # Half of one box with as many rows of a far box: no group of rows holds most of
    # it, so whether its rows touch the other half's is not read as empty space.
    rng = np.random.default_rng(3)
    X = np.vstack([box(rng, (0, 0), (1, 0.5)), box(rng, (20, 0), (21, 0.5))])
    near = np.arange(X.shape[0]) < BOX_ROWS
    left = near & (X[:, 0] < 0.5)
    mixed = (near & ~left) | (~near & (np.arange(X.shape[0]) < BOX_ROWS + (near & ~left).sum()))
    assert not density_of(X).empty_space(left, mixed)


@pytest.mark.parametrize("seed", range(3))
def test_layers_of_values_on_a_grid_are_no_moat(seed):
    # One Gaussian with a feature rounded to tenths: layers a grid step apart, the
    # rows of each close together along the other feature.  The grid step alone
    # makes such layers, so a moat is read only beyond it.
    from partitive.prepare import grid_rounding

    rng = np.random.default_rng(seed)
    X = np.c_[rng.standard_normal(3000), np.round(rng.standard_normal(3000), 1)]
    density = Density(X, np.ones(X.shape[0]), 5, rounding=grid_rounding(X, np.ones(X.shape[0]), None))
    assert not density.empty_space(X[:, 1] < 0, X[:, 1] >= 0)
    assert density.islands() is None
    assert PPP().fit(X).n_clusters_ == 1


def lumpy_clouds(seed):
    """3-6 clouds of 500-3,000 rows, each a random walk with a little jitter (its
    strands pass close to one another), far apart on a line."""
    rng = np.random.default_rng(seed)
    clouds = []
    for i in range(int(rng.integers(3, 7))):
        n = int(rng.integers(500, 3000))
        walk = np.cumsum(rng.standard_normal((n, 2)), axis=0) / np.sqrt(n)
        walk += 0.03 * rng.standard_normal((n, 2))
        clouds.append(walk - walk.mean(axis=0) + [10.0 * i, 0.0])
    return np.vstack(clouds), np.repeat(np.arange(len(clouds)), [len(c) for c in clouds])


# Seeded as benchmarks/families.py seeds its lumps draws ([seed, len("lumps")]).
@pytest.mark.parametrize("seed", [[1005, 5], [1010, 5]])
def test_strands_of_a_far_cloud_facing_along_a_short_border_are_one_cluster(seed):
    # Two strands of one walk can face each other across an empty band a few
    # spacings wide, but along a short stretch: a few dozen rows on either side.
    X, truth = lumpy_clouds(seed)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0
