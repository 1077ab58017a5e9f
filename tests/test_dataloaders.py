import numpy as np
import pytest

from zerograd.dataloaders import DataLoader, SeqDataLoader
from zerograd.datasets import Dataset, SinCurve, Spiral


def test_one_permutation_at_creation_and_one_after_each_epoch():
    ds = Spiral()
    np.random.seed(5)
    loader = DataLoader(ds, batch_size=32)
    same_stream = np.random.RandomState(5)  # the global generator's stream after seed(5)
    first = same_stream.permutation(300)
    second = same_stream.permutation(300)
    assert np.array_equal(loader.index, first)
    batches = list(loader)
    assert len(batches) == 10 and len(batches[-1][0]) == 300 - 9 * 32  # last batch short
    assert np.array_equal(batches[0][0], ds.data[first[:32]])
    assert np.array_equal(loader.index, second)  # reshuffled after the epoch
    assert len(list(loader)) == 10  # the next epoch


def test_no_shuffle_and_len():
    loader = DataLoader(Spiral(), batch_size=100, shuffle=False)
    x, t = next(loader)
    assert np.array_equal(x, Spiral().data[:100])
    assert len(loader) == 3


def test_item_by_item_for_datasets_with_their_own_getitem():
    class Squares(Dataset):
        def prepare(self):
            self.data = np.arange(10)
            self.label = np.arange(10) ** 2

        def __getitem__(self, i):
            return float(self.data[i]), int(self.label[i])

    loader = DataLoader(Squares(), batch_size=4, shuffle=False)
    x, t = next(loader)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and t.tolist() == [0, 1, 4, 9]


def test_seq_loader_reads_in_the_books_interleaved_order():
    ds = SinCurve()
    loader = SeqDataLoader(ds, batch_size=3)
    jump = len(ds) // 3
    x0, t0 = next(loader)
    x1, _ = next(loader)
    assert np.array_equal(x0[:, 0], ds.data[[0, jump, 2 * jump], 0])
    assert np.array_equal(x1[:, 0], ds.data[[1, jump + 1, 2 * jump + 1], 0])
    assert x0.shape == (3, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(Spiral(), batch_size=0)
