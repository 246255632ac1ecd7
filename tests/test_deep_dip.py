"""A dip deeper than any 2-means cut through one blob makes is two clusters, whatever
the Gaussians' BIC says: groups in noise, two Gaussians in many features."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from partitive import PPP
from partitive.datasets import groups_in_noise, two_gaussians


@pytest.mark.parametrize("seed", [
    [10, 12],
    # Here the dip is not beyond any 2-means cut, but the groups join only through
    # noise far sparser than they are: a valley of density keeps them apart.
    [24, 12],
    [67, 12],
    # Here the merge step keeps every group apart, and the mixture's EM, each Gaussian
    # widened by the noise its cluster gathered, moved a group to its neighbour's
    # Gaussian or a group's edge to another; the background keeps the noise out.
    [7, 12],
    [11, 12],
    [27, 12],
    [77, 12],
])
def test_each_group_in_noise_is_one_cluster_of_its_own(seed):
    X, truth = groups_in_noise(seed)
    labels = PPP().fit(X).labels_
    groups = truth >= 0
    assert np.unique(labels).size == truth.max() + 1
    assert adjusted_rand_score(truth[groups], labels[groups]) == 1.0


def test_two_gaussians_in_many_features_are_two_clusters():
    # In 128 features (32 principal axes) the pair's dip p-value is below 1e-10, yet
    # with 2,000 rows one Gaussian's BIC beats two: the merge step, then the mixture's
    # component merge, made them one.
    X, truth = two_gaussians(seed=[2, 128, 35], d=128, separation=3.5)
    model = PPP().fit(X)
    assert model.n_clusters_ == 2
    assert adjusted_rand_score(truth, model.labels_) > 0.75  # the two overlap
