import numpy as np

from partitive.pca import canonical_sign
from partitive.split import two_means


def test_child_zero_is_the_lower_side_and_split_is_the_bisector():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-5, 1, (50, 2)), rng.normal(5, 1, (70, 2))])
    split = two_means(X, np.ones(len(X)))
    assert split.centroids[0] @ split.principal_axis < split.centroids[1] @ split.principal_axis
    assert split.goes_right.sum() == 70 and not split.goes_right[:50].any()
    mid = split.centroids.mean(axis=0)
    np.testing.assert_allclose(mid @ split.direction, split.threshold)


def test_identical_points_cannot_be_split():
    assert two_means(np.ones((10, 3)), np.ones(10)) is None


def test_weights_act_as_repetition():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    w = rng.integers(1, 4, size=40).astype(float)
    weighted = two_means(X, w)
    repeated = two_means(np.repeat(X, w.astype(int), axis=0), np.ones(int(w.sum())))
    np.testing.assert_allclose(weighted.direction, repeated.direction)
    np.testing.assert_allclose(weighted.threshold, repeated.threshold)


def test_canonical_sign():
    assert canonical_sign(np.array([0.1, -0.9]))[1] > 0
    assert canonical_sign(np.array([0.5, -0.5]))[0] > 0


def test_concurrent_eigensolves_leave_blas_threads_as_they_were():
    # The eigensolves run on one BLAS thread; overlapping limits from two threads used
    # to restore each other's values and leave the process on one thread.
    import threading

    from threadpoolctl import threadpool_info

    from partitive.pca import leading_axes

    before = [info["num_threads"] for info in threadpool_info()]
    Xc = np.random.default_rng(0).normal(size=(200, 64))
    Xc -= Xc.mean(axis=0)

    def solve_many():
        for _ in range(200):
            leading_axes(Xc, np.ones(200), 1)

    workers = [threading.Thread(target=solve_many) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [info["num_threads"] for info in threadpool_info()] == before
