import pytest

from partitive.datasets import well_separated_blobs


@pytest.fixture
def three_blobs():
    return well_separated_blobs(3, 2, n_per=80, seed=1)
