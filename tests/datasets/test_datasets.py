import io
import os
import tarfile

import numpy as np
import pytest

from zerograd.dataloaders import DataLoader
from zerograd.datasets import CIFAR10, MNIST, Dataset, FashionMNIST, Shakespeare, SinCurve, Spiral
from zerograd.transforms import Compose, Flatten, Normalize, ToFloat


def link_shared(cache, shared_file, name, folder, files):
    target = cache / "datasets" / name
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        os.symlink(shared_file(folder, f), target / f)


@pytest.fixture
def mnist_cache(mnist_home):
    return mnist_home


def test_spiral_is_the_books():
    train = Spiral(train=True)
    assert train.data.shape == (300, 2) and train.data.dtype == np.float32
    assert train.label.dtype == np.int64 and np.bincount(train.label).tolist() == [100, 100, 100]
    assert np.all(np.linalg.norm(train.data, axis=1) < 1.0)
    again = Spiral(train=True)
    assert np.array_equal(train.data, again.data)
    test = Spiral(train=False)
    assert not np.array_equal(train.data, test.data)
    # the reseeding is part of the book's recipe: it leaves the global generator in a known state
    np.random.seed(1984)
    for _ in range(300):
        np.random.randn()
    expected_perm = np.random.permutation(300)
    Spiral(train=True)
    after = np.random.rand()
    np.random.seed(1984)
    for _ in range(300):
        np.random.randn()
    np.random.permutation(300)
    assert np.random.rand() == after
    assert len(expected_perm) == 300


def test_sincurve():
    train = SinCurve(train=True)
    assert train.data.shape == (999, 1) and train.label.shape == (999, 1)
    assert np.array_equal(train.data[1:], train.label[:-1])
    assert np.max(np.abs(train.data[:, 0] - np.sin(np.linspace(0, 2 * np.pi, 1000)[:-1]))) <= 0.05
    test = SinCurve(train=False)
    assert np.allclose(test.data[:, 0], np.cos(np.linspace(0, 2 * np.pi, 1000)[:-1]))


def test_items_slices_and_index_arrays():
    ds = Spiral()
    x, t = ds[0]
    assert x.shape == (2,) and np.isscalar(t) or t.shape == ()
    xs, ts = ds[10:20]
    assert xs.shape == (10, 2) and ts.shape == (10,)
    xs, ts = ds[np.array([3, 1, 3])]
    assert np.array_equal(xs[0], xs[2]) and np.array_equal(xs[1], ds[1][0])
    assert len(list(iter(ds))) == 300
    with pytest.raises(IndexError, match="out of range"):
        ds[300]
    with pytest.raises(TypeError, match="index arrays must be integers"):
        ds[np.array([0.5])]


def test_dataset_without_labels_and_with_transforms():
    class Plain(Dataset):
        def prepare(self):
            self.data = np.arange(6.0).reshape(3, 2)

    ds = Plain(transform=lambda x: x * 2)
    assert ds[1][1] is None
    assert np.array_equal(ds[1][0], [4.0, 6.0])
    xs, ts = ds[0:2]
    assert ts is None and np.array_equal(xs, [[0, 2], [4, 6]])


def test_mnist_from_the_shared_files(mnist_cache):
    train = MNIST(train=True)
    test = MNIST(train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert train.data.shape == (60000, 1, 28, 28) and train.data.dtype == np.uint8
    x, t = train[0]
    assert x.shape == (784,) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert t == 5  # the famous first training digit
    assert test[0][1] == 7
    assert np.bincount(train.label).tolist()[:3] == [5923, 6742, 5958]
    xs, ts = train[np.arange(100)]
    assert xs.shape == (100, 784) and xs.dtype == np.float32
    assert np.array_equal(xs[0], x)


def test_fashion_mnist_from_the_shared_files(mnist_cache):
    ds = FashionMNIST(train=False)
    assert len(ds) == 10000
    assert ds[0][1] == 9 and FashionMNIST.labels()[9] == "Ankle boot"


def test_one_mnist_epoch_in_batches(mnist_cache):
    # (its speed is measured by benchmarks/bench_data.py, not asserted here)
    np.random.seed(0)
    train = MNIST(train=True)
    loader = DataLoader(train, batch_size=100)
    n, seen = 0, np.zeros(10, dtype=np.int64)
    for x, t in loader:
        n += len(x)
        seen += np.bincount(t, minlength=10)
    assert n == 60000 and loader.iteration == 0
    assert x.dtype == np.float32 and x.shape == (100, 784)
    assert np.array_equal(seen, np.bincount(train.label, minlength=10))  # every item exactly once


def test_shakespeare(cache, shared_file):
    link_shared(cache, shared_file, "shakespeare", "tinyshakespeare", ["input.txt"])
    ds = Shakespeare()
    assert len(ds) == 1115394 - 1
    assert ds.decode(ds.data[:9]) == "First Cit"
    assert ds.label[0] == ds.data[1]
    assert len(ds.char_to_id) == 65


def test_cifar10_parser_on_a_small_archive(cache):
    rng = np.random.default_rng(0)

    def records(n, offset):
        labels = (np.arange(n) + offset) % 10
        pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        return labels, pixels, np.concatenate([labels[:, None].astype(np.uint8), pixels], axis=1).tobytes()

    folder = cache / "datasets" / "cifar-10"
    folder.mkdir(parents=True)
    archive = folder / "cifar-10-binary.tar.gz"
    expected = {}
    with tarfile.open(archive, "w:gz") as tar:
        for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
            labels, pixels, raw = records(4, i)
            expected[name] = (labels, pixels)
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    import hashlib
    import zerograd.datasets.cifar as cifar

    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    original = cifar.CIFAR10_CHECKSUM
    cifar.CIFAR10_CHECKSUM = "md5:" + md5
    try:
        train = CIFAR10(train=True, download=False)
        test = CIFAR10(train=False, download=False)
    finally:
        cifar.CIFAR10_CHECKSUM = original
    assert train.data.shape == (20, 3, 32, 32) and test.data.shape == (4, 3, 32, 32)
    assert np.array_equal(test.label, expected["test_batch.bin"][0])
    assert np.array_equal(test.data[1].reshape(-1), expected["test_batch.bin"][1][1])
    x, t = test[1]
    assert x.dtype == np.float32 and x.shape == (3, 32, 32) and x.max() <= 1.0
    # the real checksum refuses this archive: a corrupt cache is never parsed
    from zerograd.datasets import DatasetUnavailableError

    with pytest.raises(DatasetUnavailableError, match="corrupt"):
        CIFAR10(train=False, download=False)


def test_transforms_item_and_batch_agree():
    t = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])
    items = np.random.default_rng(0).integers(0, 256, (5, 1, 4, 4), dtype=np.uint8)
    batch = t.batch(items)
    assert batch.shape == (5, 16) and batch.dtype == np.float32
    for i in range(5):
        assert np.array_equal(batch[i], t(items[i]))
    per_channel = Normalize(mean=[1.0, 2.0], std=[2.0, 4.0])
    x = np.ones((2, 3, 3))
    assert np.allclose(per_channel(x)[1], -0.25)
    assert np.allclose(per_channel.batch(np.stack([x, x]))[0, 1], -0.25)
