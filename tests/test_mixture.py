"""The clusters' Gaussian mixture: structure chosen by BIC, weighted EM, prediction."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from partitive import PPP, PartitionTree
from partitive.assemble import _rearranged
from partitive.component_merge import _as_sequential, merge_components
from partitive.datasets import groups_in_noise
from partitive.judge import Rule
from partitive.mixture import COVARIANCE_TYPES, _em, _ridge, fit_mixture, uniform_log_density


def correlated_pair(seed=1, n=400):
    """Two long thin Gaussians at an angle: the tilted one's tail crosses the
    perpendicular bisector of the two centres, so nearest-centre labels are wrong there."""
    rng = np.random.default_rng(seed)
    a = np.deg2rad(60.0)
    tilt = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    A = (rng.normal(size=(n, 2)) * [3.0, 0.3]) @ tilt.T
    B = rng.normal(size=(n, 2)) * [0.3, 3.0] + [6.0, 0.0]
    return np.vstack([A, B]), np.repeat([0, 1], n)


def peaked_pair(seed, d=16, n=1000, gap=1.0):
    """Two clusters far from Gaussian side by side: each row at a half-normal distance
    from its centre in a uniform direction (peaked at the centre, heavy-tailed)."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((2 * n, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    X = directions * np.abs(rng.standard_normal((2 * n, 1)))
    y = np.repeat([0, 1], n)
    X[y == 1, 0] += gap
    return X, y


def nearest_true_centre(X, y):
    centres = np.array([X[y == c].mean(axis=0) for c in np.unique(y)])
    return np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)


# Seed 1's partition is two clusters side by side whatever EM does.
@pytest.mark.parametrize("seed", [0, 2, 3, 4])
def test_em_does_not_turn_two_peaked_clusters_into_a_core_and_the_rest(seed):
    # Gaussian EM fits a narrow component to one cluster's core and a wide one to the
    # rest better than two side by side.
    X, y = peaked_pair(seed)
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(y, model.labels_) >= adjusted_rand_score(y, nearest_true_centre(X, y)) - 0.05


def test_em_still_refines_the_clusters_it_does_not_rearrange():
    # A tilted pair far from a peaked pair keeps the boundary EM gives it alone.
    peaked, y_peaked = peaked_pair(0)
    tilted, y_tilted = correlated_pair()
    tilted = np.hstack([tilted, np.zeros((len(tilted), peaked.shape[1] - 2))]) + 100.0
    alone = PPP().fit(tilted).labels_
    both = PPP().fit(np.vstack([peaked, tilted])).labels_
    assert adjusted_rand_score(y_tilted, both[len(peaked):]) >= adjusted_rand_score(y_tilted, alone) - 0.01
    nearest = nearest_true_centre(peaked, y_peaked)
    assert adjusted_rand_score(y_peaked, both[: len(peaked)]) >= adjusted_rand_score(y_peaked, nearest) - 0.05


@pytest.mark.parametrize("background", [False, True])
def test_rows_of_every_cluster_held_give_the_partitions_own_gaussians(background):
    X, y = correlated_pair()
    X = X + 100.0
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    log_background = uniform_log_density(X) if background else None
    seen = []

    def everything(mixture):
        seen.append(np.mean(mixture.predict(X) == y))
        return np.arange(2)

    held, _ = fit_mixture(X, w, y, covariance_types=("full",), background=log_background, rearranged=everything)
    centred = X - w @ X / w.sum()
    start = np.eye(2)[y]
    own, _ = _em(centred, w, None, start, "full", _ridge(centred, w, y, None), 0, log_background)
    np.testing.assert_allclose(held.means, own.means + w @ X / w.sum(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(held.covariances, own.covariances, rtol=1e-9)
    np.testing.assert_allclose(held.weights, own.weights, rtol=1e-12)
    # The check reads the mixture in the data's coordinates.
    assert min(seen) > 0.9


def test_a_mixture_nothing_rearranged_is_ems():
    X, y = correlated_pair()
    w = np.ones(len(X))
    refined, _ = fit_mixture(X, w, y)
    kept, _ = fit_mixture(X, w, y, rearranged=lambda mixture: np.array([], dtype=np.intp))
    np.testing.assert_array_equal(kept.means, refined.means)
    np.testing.assert_array_equal(kept.covariances, refined.covariances)


def test_the_check_names_a_core_and_the_rest_but_not_moved_boundaries():
    rule = Rule(tau=0.5, alpha=0.9, dip_level=0.05, effect=0.3, validation="full")
    X, y = peaked_pair(0)
    w = np.ones(len(X))
    start = nearest_true_centre(X, y)
    em, _ = fit_mixture(X, w, start, covariance_types=("spherical",))
    np.testing.assert_array_equal(_rearranged(X, w, None, start, em.predict(X), rule), [0, 1])
    X, y = correlated_pair()
    start = nearest_true_centre(X, y)
    em, _ = fit_mixture(X, np.ones(len(X)), start)
    assert (em.predict(X) != start).sum() > 10  # EM moved the boundary ...
    assert _rearranged(X, np.ones(len(X)), None, start, em.predict(X), rule).size == 0  # ... and made no mode


def test_bic_picks_full_covariances_for_differently_tilted_clusters():
    X, y = correlated_pair()
    mixture, bics = fit_mixture(X, np.ones(len(X)), y)
    assert mixture.covariance_type == "full"
    assert set(bics) == set(COVARIANCE_TYPES)
    assert adjusted_rand_score(y, mixture.predict(X)) == 1.0


def test_bic_picks_tied_covariances_for_parallel_clusters():
    rng = np.random.default_rng(2)
    shape = np.array([[3.0, 1.0], [1.0, 0.6]])
    X = np.vstack([rng.normal(size=(300, 2)) @ shape + c for c in ([0.0, 0.0], [0.0, 8.0])])
    mixture, _ = fit_mixture(X, np.ones(len(X)), np.repeat([0, 1], 300))
    assert mixture.covariance_type == "tied"


def test_bic_keeps_spherical_covariances_for_round_blobs():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 1.0, size=(300, 4)) for c in (0.0, 8.0, 16.0)])
    y = np.repeat([0, 1, 2], 300)
    mixture, _ = fit_mixture(X, np.ones(len(X)), y)
    assert mixture.covariance_type == "spherical"


def test_weighted_em_agrees_with_scikit_learn_on_unit_weights():
    # Same start (one M-step from the labels), same model: the same optimum.
    X, y = correlated_pair(seed=1)
    start = np.array([X[y == 1].mean(axis=0) + 0.5, X[y == 0].mean(axis=0)])
    labels = np.argmin(((X[:, None, :] - start[::-1][None]) ** 2).sum(-1), axis=1)
    ours, _ = fit_mixture(X, np.ones(len(X)), labels)
    reference = GaussianMixture(2, covariance_type=ours.covariance_type, tol=1e-8, max_iter=500,
                                means_init=ours.means, weights_init=ours.weights,
                                precisions_init=np.linalg.inv(ours.covariances)).fit(X)
    assert adjusted_rand_score(reference.predict(X), ours.predict(X)) == 1.0
    np.testing.assert_allclose(ours.means, reference.means_, atol=0.05)


def test_weight_two_is_a_duplicated_row():
    X, y = correlated_pair(seed=2, n=150)
    once, _ = fit_mixture(X, np.full(len(X), 2.0), y)
    twice, _ = fit_mixture(np.vstack([X, X]), np.ones(2 * len(X)), np.concatenate([y, y]))
    assert once.covariance_type == twice.covariance_type
    np.testing.assert_allclose(once.means, twice.means, rtol=1e-9)
    np.testing.assert_allclose(once.covariances, twice.covariances, rtol=1e-9)


@pytest.mark.parametrize("cov_type", COVARIANCE_TYPES)
def test_densities_match_scipy(cov_type):
    from scipy.stats import multivariate_normal

    X, y = correlated_pair(seed=4, n=100)
    mixture, _ = fit_mixture(X + 1e3, np.ones(len(X)), y, covariance_types=(cov_type,))
    cov = mixture.covariances
    full = {
        "spherical": lambda j: cov[j] * np.eye(2), "diag": lambda j: np.diag(cov[j]),
        "tied": lambda j: cov, "full": lambda j: cov[j],
    }[cov_type]
    expected = np.column_stack([
        np.log(mixture.weights[j]) + multivariate_normal(mixture.means[j], full(j)).logpdf(X + 1e3)
        for j in range(2)
    ])
    np.testing.assert_allclose(mixture.log_joint(X + 1e3), expected, rtol=1e-9)
    np.testing.assert_allclose(mixture.predict_proba(X + 1e3).sum(axis=1), 1.0)


def test_ppp_labels_tilted_clusters_where_nearest_centre_cannot():
    X, y = correlated_pair()
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert model.tree_.mixture.covariance_type == "full"
    assert adjusted_rand_score(y, model.labels_) == 1.0
    centres = model.cluster_centers_
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=-1), axis=1)
    assert adjusted_rand_score(y, nearest) < 0.97
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_labels_are_the_most_probable_cluster():
    X, _ = correlated_pair(seed=5)
    model = PPP().fit(X)
    np.testing.assert_array_equal(np.argmax(model.predict_proba(X), axis=1), model.labels_)


def test_cluster_centres_are_their_members_means():
    X, _ = correlated_pair(seed=6)
    model = PPP().fit(X)
    for c in model.tree_.clusters:
        np.testing.assert_allclose(c.center, X[model.labels_ == c.label].mean(axis=0))


@pytest.mark.parametrize("cov_type", COVARIANCE_TYPES)
def test_each_structure_on_request_and_json_round_trip(cov_type):
    X, y = correlated_pair(seed=7, n=120)
    model = PPP(covariance_type=cov_type).fit(X)
    assert model.tree_.mixture.covariance_type == cov_type
    loaded = PartitionTree.from_json(model.tree_.to_json())
    assert loaded.mixture.covariance_type == cov_type
    np.testing.assert_array_equal(loaded.predict(X), model.labels_)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-12)


def test_a_version_1_tree_without_mixture_predicts_the_nearest_centre():
    X, _ = correlated_pair(seed=8, n=100)
    data = PPP().fit(X).tree_.to_dict()
    data["version"], data["mixture"] = 1, None
    old = PartitionTree.from_dict(data)
    centres = old.cluster_centers
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=-1), axis=1)
    np.testing.assert_array_equal(old.predict(X), nearest)


def test_full_structure_needs_more_rows_than_dimensions_per_cluster():
    rng = np.random.default_rng(9)
    X = np.vstack([rng.normal(0, 1, size=(6, 10)), rng.normal(20, 1, size=(40, 10))])
    y = np.repeat([0, 1], [6, 40])
    mixture, bics = fit_mixture(X, np.ones(len(X)), y)
    assert "full" not in bics
    forced, _ = fit_mixture(X, np.ones(len(X)), y, covariance_types=("full",))
    assert forced.covariance_type == "diag"


def test_structures_that_cannot_win_are_not_scored_and_the_choice_is_unchanged(monkeypatch):
    # 150 rows a cluster in 100-D: full covariances (15,150 parameters each) lose on
    # their penalty alone, so their densities are never computed.
    from partitive import mixture as module

    rng = np.random.default_rng(12)
    X = np.vstack([rng.normal(c, 1.0, size=(150, 100)) for c in (0.0, 5.0, 10.0)])
    y = np.repeat([0, 1, 2], 150)
    chosen, bics = fit_mixture(X, np.ones(len(X)), y)
    assert "full" not in bics and "spherical" in bics
    monkeypatch.setattr(module, "_peak_loglik", lambda mixture, W: np.inf)
    scored, all_bics = fit_mixture(X, np.ones(len(X)), y)
    assert set(all_bics) == set(COVARIANCE_TYPES)
    assert all_bics["full"] > min(all_bics.values())
    assert scored.covariance_type == chosen.covariance_type
    np.testing.assert_array_equal(scored.means, chosen.means)


@pytest.mark.parametrize("cov_type", ["tied", "full"])
def test_the_peak_bound_is_above_the_log_likelihood(cov_type):
    from partitive.mixture import _m_step, _peak_loglik

    from scipy.special import logsumexp

    X, y = correlated_pair(seed=4, n=200)
    w = np.ones(len(X))
    resp = np.eye(2)[y]
    mixture = _m_step(X - X.mean(axis=0), w, None, resp, cov_type, np.full(2, 1e-9))
    loglik = w @ logsumexp(mixture.log_joint(X - X.mean(axis=0)), axis=1)
    assert loglik < _peak_loglik(mixture, w.sum())


@pytest.mark.parametrize("cov_type", ["spherical", "diag", "full"])
def test_the_halves_of_one_gaussian_are_merged_into_one_component(cov_type):
    # Spherical components cannot follow an elongated Gaussian: two describe it better.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(4000, 3)) * ([1.0, 1.0, 1.0] if cov_type == "spherical" else [3.0, 1.0, 1.0])
    halves = (X[:, 0] > 0).astype(np.intp)
    mixture, _ = fit_mixture(X, np.ones(len(X)), halves, covariance_types=(cov_type,))
    merged, merges = merge_components(X, np.ones(len(X)), mixture)
    assert merged.n_components == 1
    assert [(i, j) for i, j, _ in merges] == [(0, 1)] and merges[0][2] < 0
    np.testing.assert_allclose(merged.means[0], X.mean(axis=0), atol=1e-9)


def test_clusters_that_are_there_are_not_merged():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) + [4.0, 0.0]])
    labels = np.repeat([0, 1], 500)
    mixture, _ = fit_mixture(X, np.ones(len(X)), labels)
    merged, merges = merge_components(X, np.ones(len(X)), mixture)
    assert merges == [] and merged is mixture


def test_one_rounds_merges_are_recorded_as_if_made_one_at_a_time():
    # Merging (0, 1), (2, 3) and (4, 5) at once: after the first, 2 and 3 are 1 and 2.
    assert _as_sequential([(4, 5, -3.0), (0, 1, -1.0), (2, 3, -2.0)]) == [
        (0, 1, -1.0), (1, 2, -2.0), (2, 3, -3.0)
    ]


def test_a_cluster_of_several_components_has_the_sum_of_their_densities():
    from dataclasses import replace

    from partitive.mixture import Mixture

    pieces = Mixture(
        covariance_type="spherical", weights=np.array([0.25, 0.25, 0.5]),
        means=np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 0.0]]), covariances=np.array([0.5, 0.5, 0.2]),
    )
    grouped = replace(pieces, owner=np.array([0, 0, 1]))
    X = np.random.default_rng(0).normal(size=(200, 2)) * 2
    each = pieces.predict_proba(X)
    expected = np.c_[each[:, 0] + each[:, 1], each[:, 2]]
    np.testing.assert_allclose(grouped.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(grouped.predict(X), np.argmax(expected, axis=1))
    assert grouped.n_clusters == 2 and grouped.n_components == 3
    np.testing.assert_allclose(grouped.cluster_means, [[0.0, 0.0], [0.0, 0.0]], atol=1e-15)
    # Clusters in another order: the components follow their cluster.
    swapped = grouped.subset(np.array([1, 0]))
    np.testing.assert_array_equal(swapped.owner, [0, 1, 1])
    np.testing.assert_allclose(swapped.predict_proba(X), expected[:, ::-1], rtol=1e-12)
    loaded = Mixture.from_dict(grouped.to_dict())
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=1e-12)


def test_the_background_share_maximises_the_likelihood():
    from scipy.optimize import minimize_scalar

    from partitive.mixture import BACKGROUND_CAP, _background_share

    rng = np.random.default_rng(0)
    for _ in range(5):
        log_mixture, w = rng.normal(-3.0, 2.0, 500), rng.uniform(0.5, 2.0, 500)
        share = _background_share(w, log_mixture, -4.0)

        def loss(p):
            return -w @ np.log((1 - p) * np.exp(log_mixture) + p * np.exp(-4.0))

        best = minimize_scalar(loss, bounds=(0, BACKGROUND_CAP), method="bounded", options={"xatol": 1e-10}).x
        assert 0 < share < BACKGROUND_CAP and share == pytest.approx(best, abs=1e-6)
    # Rows all far denser than the background: none of it.
    assert _background_share(np.ones(100), np.zeros(100), -5.0) == 0.0
    # Rows all sparser than it: at most the cap (they are the data, not noise about it).
    assert _background_share(np.ones(100), np.full(100, -9.0), -5.0) == BACKGROUND_CAP


def _started_at_the_groups(X, y):
    centres = np.array([X[y == g].mean(axis=0) for g in range(y.max() + 1)])
    return np.argmin(((X[:, None] - centres) ** 2).sum(axis=-1), axis=1)


@pytest.mark.parametrize("cov_type", COVARIANCE_TYPES)
def test_the_background_keeps_the_noise_out_of_the_gaussians(cov_type):
    from partitive.mixture import uniform_log_density

    X, y = groups_in_noise([77, 12])
    groups = y >= 0
    own = np.array([np.diag(np.cov(X[y == g].T)) for g in range(y.max() + 1)])
    start, w = _started_at_the_groups(X, y), np.ones(len(X))
    plain, _ = fit_mixture(X, w, start, covariance_types=(cov_type,))
    robust, _ = fit_mixture(X, w, start, covariance_types=(cov_type,), background=uniform_log_density(X))

    def variances(mixture):
        cov = mixture.covariances
        if cov_type == "spherical":
            return np.repeat(cov[:, None], 2, axis=1)
        if cov_type == "tied":
            return np.tile(np.diag(cov), (len(own), 1))
        return cov if cov_type == "diag" else np.diagonal(cov, axis1=1, axis2=2)

    # Within half again the groups' own variance (tied: their largest, pooled).
    assert np.all(variances(robust) < 1.5 * (own.max() if cov_type == "tied" else own))
    assert np.array_equal(robust.predict(X[groups]), y[groups])
    # Without it, the noise widens the Gaussians to many times a group's variance.
    assert variances(plain).max() > 10 * own.max()


def test_merges_are_scored_beside_the_background():
    # Gaussians fitted beside the background are narrow: scored without it, the noise
    # rows they leave unexplained would pay for merging groups far apart.
    from partitive.mixture import uniform_log_density

    X, y = groups_in_noise([77, 12])
    background, w = uniform_log_density(X), np.ones(len(X))
    mixture, _ = fit_mixture(X, w, _started_at_the_groups(X, y), background=background)
    merged, merges = merge_components(X, w, mixture, background=background)
    assert merges == [] and merged.n_components == y.max() + 1


def test_the_background_is_fitted_on_rows_in_few_features_only():
    from partitive.assemble import background_density

    rng = np.random.default_rng(0)
    assert background_density(rng.normal(size=(500, 2)), reduced=False) is not None
    assert background_density(rng.normal(size=(500, 2)), reduced=True) is None
    assert background_density(rng.normal(size=(500, 20)), reduced=False) is None
    assert background_density(rng.normal(size=(500, 1)), reduced=False) is None
    # A flat box has no uniform density.
    assert background_density(np.c_[rng.normal(size=500), np.zeros(500)], reduced=False) is None
