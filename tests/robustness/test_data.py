"""Adversarial cases for the data loaders."""
import numpy as np
import pytest

from zerograd import DataLoader
from zerograd.datasets import Spiral


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "10"])
def test_a_batch_size_that_is_not_a_positive_integer_is_a_clear_error(batch_size):
    with pytest.raises(ValueError, match="DataLoader: batch_size must be a positive integer"):
        DataLoader(Spiral(), batch_size)


def test_drop_last_leaves_out_the_short_batch():
    data = Spiral()  # 300 items
    assert len(DataLoader(data, 128)) == 3 and len(DataLoader(data, 128, drop_last=True)) == 2
    sizes = [len(x) for x, _ in DataLoader(data, 128, drop_last=True)]
    assert sizes == [128, 128]
    with pytest.raises(ValueError, match="leaves no batch"):
        DataLoader(data, 301, drop_last=True)


def test_a_seeded_loader_has_its_own_order_and_leaves_the_global_generator_alone():
    data = Spiral()
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    a = [t.copy() for _, t in DataLoader(data, 50, seed=7)]
    assert np.array_equal(before, np.random.get_state()[1])
    b = [t.copy() for _, t in DataLoader(data, 50, seed=7)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_the_default_loader_still_draws_from_the_global_generator_as_the_book_does():
    data = Spiral()
    np.random.seed(1)
    loader = DataLoader(data, 300)
    np.random.seed(1)
    assert np.array_equal(loader.index, np.random.permutation(300))


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/b", "..", "", "a\\b", "x\0y"])
def test_names_in_the_cache_cannot_leave_it(name):
    from zerograd.cache import RemoteFile, cache_dir
    with pytest.raises(ValueError, match="must be a plain name inside the cache"):
        RemoteFile(name, None)
    with pytest.raises(ValueError, match="must be a plain name inside the cache"):
        cache_dir(name)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_a_bad_loader_seed_is_named(seed):
    from zerograd.datasets import Spiral
    with pytest.raises(ValueError, match="DataLoader: seed must be"):
        DataLoader(Spiral(), 10, seed=seed)


def test_a_sequence_batch_longer_than_the_sequence_is_refused():
    from zerograd.dataloaders import SeqDataLoader
    with pytest.raises(ValueError, match="more than the 3 steps"):
        SeqDataLoader(np.arange(3.0), 5)
