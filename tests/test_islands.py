"""Islands: groups of rows that empty space separates.  Growth splits them first, Lloyd
keeps every row in its own, and the parts of one are joined unless a valley or two
Gaussians lie between them."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from partitive import PPP
from partitive.density import Density
from partitive.refine import nearest_center


def uniform_box(rng, n, low, high):
    return rng.uniform(low, high, (n, 2))


def ring(rng, n, centre, radius, width):
    angle = rng.uniform(0, 2 * np.pi, n)
    r = radius * (1 + width * rng.standard_normal(n))
    return np.asarray(centre) + np.c_[r * np.cos(angle), r * np.sin(angle)]


def face(seed):
    """A thin ring outline around two round eyes and a curved mouth: four clusters,
    none far from the others beside how the ring's own rows hold together."""
    rng = np.random.default_rng(seed)
    n = rng.integers(200, 450, 4)
    outline = ring(rng, n[0], (0, 0), 1.0, 0.02)
    eyes = [0.06 * rng.standard_normal((m, 2)) + c for m, c in zip(n[1:3], [(-0.35, 0.3), (0.35, 0.3)])]
    angle = rng.uniform(1.15 * np.pi, 1.85 * np.pi, n[3])
    mouth = np.c_[0.55 * np.cos(angle), 0.55 * np.sin(angle) + 0.05] + 0.02 * rng.standard_normal((n[3], 2))
    return np.vstack([outline, *eyes, mouth]), np.repeat(np.arange(4), n)


def spirals(seed):
    """Two interleaved spiral arms, empty space between them all along: one cluster each."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(400, 800, 2)
    arms = []
    for m, phase in zip(sizes, (0.0, np.pi)):
        t = np.sqrt(rng.uniform(0.1, 1, m)) * 3 * np.pi
        arms.append(np.c_[t * np.cos(t + phase), t * np.sin(t + phase)] + 0.15 * rng.standard_normal((m, 2)))
    return np.vstack(arms), np.repeat([0, 1], sizes)


def frame(seed):
    """A uniform square frame around four uniform squares, empty space between."""
    rng = np.random.default_rng(seed)
    P = rng.uniform(0, 10, (3000, 2))
    inside = (P > 0.8).all(axis=1) & (P < 9.2).all(axis=1)
    squares = [uniform_box(rng, 120, c, np.add(c, 1.8)) for c in [(2.2, 2.2), (2.2, 5.8), (5.8, 2.2), (5.8, 5.8)]]
    return np.vstack([P[~inside], *squares]), np.repeat(np.arange(5), [(~inside).sum()] + [120] * 4)


def density_of(X):
    return Density(X, np.ones(X.shape[0]), min_cluster_size=5)


def test_islands_are_the_groups_that_empty_space_separates():
    rng = np.random.default_rng(0)
    # Gaps of about five row spacings between boxes of 500 rows.
    X = np.vstack([uniform_box(rng, 500, (0, 0), (1, 0.5)), uniform_box(rng, 500, (0, 0.65), (1, 1.15)),
                   uniform_box(rng, 500, (1.15, 0), (2.15, 1.15))])
    island, paths = density_of(X).islands()
    assert adjusted_rand_score(np.repeat(np.arange(3), 500), island) == 1.0
    assert paths == sorted(paths) and len(paths) == 3


@pytest.mark.parametrize("shape", ["box", "ring"])
def test_one_box_or_one_thin_ring_is_one_island(shape):
    rng = np.random.default_rng(1)
    X = uniform_box(rng, 1500, (0, 0), (2, 1)) if shape == "box" else ring(rng, 800, (0, 0), 1.0, 0.02)
    assert density_of(X).islands() is None


def test_lloyd_keeps_a_row_with_the_centres_of_its_own_island():
    X = np.array([[0.0, 0.0], [1.2, 0.0], [1.6, 0.0]])
    centers = np.array([[0.0, 0.0], [2.0, 0.0]])
    # The row at 1.2 is nearer the other island's centre (at 2.0) than its own.
    assert nearest_center(X, centers).tolist() == [0, 1, 1]
    islands = (np.array([0, 0, 1]), np.array([0, 1]))
    assert nearest_center(X, centers, islands).tolist() == [0, 0, 1]
    # A row whose island has no centre goes to the nearest centre.
    assert nearest_center(X, centers, (np.array([0, 2, 1]), np.array([0, 1]))).tolist() == [0, 1, 1]


@pytest.mark.parametrize("seed", range(3))
def test_a_face_is_its_outline_its_eyes_and_its_mouth(seed):
    # The outline's arcs each pass as a thin Gaussian, so the pair tests keep them
    # apart; the outline is one island, and no valley lies between its arcs.
    X, truth = face(seed)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


@pytest.mark.parametrize("seed", [1, 2, 5, 7])
def test_interleaved_spiral_arms_are_one_cluster_each(seed):
    # A Lloyd step would carry rows of one arm to the centre of the next arm's arc.
    # Arcs of an arm, a few dozen rows each, pass as Gaussians at the judge's level,
    # and two that bend dip on the line through them at the pair tests' level: parts
    # of one island are kept apart by either only at the stricter ISLAND_LEVEL.
    X, truth = spirals(seed)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


@pytest.mark.parametrize("seed", range(2))
def test_a_frame_around_squares_is_one_cluster_each(seed):
    # The frame's two halves meet at corners farther apart, centre to centre, than
    # the squares inside: they are judged as a pair because rows join them.
    X, truth = frame(seed)
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) == 1.0


def test_a_pair_is_judged_on_pieces_that_hold_rows():
    # Lloyd within islands can leave a piece of a many-piece cluster without rows:
    # judged on it, the pair would have an empty side.
    from partitive.merge import _nearest_pieces

    pieces = np.array([[0.0, 0.0], [0.9, 0.0], [1.0, 0.0], [3.0, 0.0]])
    owner = np.array([0, 0, 1, 1])
    everyone = np.ones(4, dtype=bool)
    assert _nearest_pieces(pieces, owner, 0, 1, everyone) == (1, 2)
    assert _nearest_pieces(pieces, owner, 0, 1, np.array([True, False, True, True])) == (0, 2)
    assert _nearest_pieces(pieces, owner, 0, 1, np.array([True, True, False, True])) == (1, 3)


def thinning_boxes(seed, rows=700, gap=0.2):
    """Two 2 x 1 boxes side by side ``gap`` apart, each denser (e^2.5 times) at the
    corner next to the gap, the two corners at opposite ends of it."""
    rng = np.random.default_rng(seed)

    def thinning():
        u = rng.uniform(size=(rows * 4, 2))
        return u[rng.uniform(size=rows * 4) < np.exp(-1.25 * (u[:, 0] + u[:, 1]))][:rows] * [2, 1]

    left, right = thinning(), thinning()
    X = np.vstack([left, -right + [-gap, 1]])
    return X, np.repeat([0, 1], rows)


@pytest.mark.parametrize("seed", range(4))
def test_the_labels_of_two_islands_do_not_cross_the_gap(seed):
    # Each box's Gaussian fits it poorly, and EM, started from the two islands, gave
    # the denser half of one to the other's Gaussian across the gap.
    X, truth = thinning_boxes(seed)
    assert density_of(X).islands() is not None
    assert adjusted_rand_score(truth, PPP().fit(X).labels_) > 0.8


def interlocking_combs(seed, teeth=3, gap=0.4, density=60.0, length=8.0):
    """Two combs of uniform rows whose teeth (1 high, ``length`` long) interlock
    ``gap`` apart, each comb's teeth reaching to the other's spine."""
    rng = np.random.default_rng(seed)
    total = 2 * teeth * (1 + gap) - gap
    boxes = [[(0, 0, 1, total)], [(1 + length + 2 * gap, 0, 2 + length + 2 * gap, total)]]
    for i in range(2 * teeth):
        left = 1 if i % 2 == 0 else 1 + 2 * gap
        boxes[i % 2].append((left, i * (1 + gap), left + length, i * (1 + gap) + 1))
    X = [
        rng.uniform(b[:2], b[2:], (int(density * (b[2] - b[0]) * (b[3] - b[1])), 2))
        for comb in boxes for b in comb
    ]
    truth = np.repeat(np.arange(len(X)) >= len(boxes[0]), [len(x) for x in X])
    return np.vstack(X), truth


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_a_comb_is_labelled_by_its_pieces_where_its_gaussian_reaches_across(seed):
    # One Gaussian per comb spans the other comb's teeth, so the most probable
    # Gaussian of a row in one tooth was often the other comb's.
    X, truth = interlocking_combs(seed)
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(truth, model.labels_) > 0.99
    # The labels are the mixture's: predict gives them back.
    np.testing.assert_array_equal(model.predict(X), model.labels_)
