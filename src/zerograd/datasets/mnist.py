"""MNIST and Fashion-MNIST from the original IDX gzip files, through the checksummed cache."""
from __future__ import annotations

import gzip
import struct
from typing import Any, Callable, Optional

import numpy as np

from zerograd.datasets.base import Dataset
from zerograd.cache import RemoteFile, fetch
from zerograd.transforms import Compose, Flatten, Normalize, ToFloat

# A working mirror first: the original MNIST site now answers 403.
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
FASHION_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
]

MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}


def read_idx(path: str) -> np.ndarray:
    """Parse a gzip-compressed IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {body.size} bytes of data for dimensions {dims}")
    return body.reshape(dims)


def _default_transform() -> Compose:
    return Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])


class MNIST(Dataset):
    """Handwritten digits: 60,000 training or 10,000 test images with labels 0-9.

    ``data`` is uint8 of shape (N, 1, 28, 28), ``label`` uint8 (N,). By default an item's x is
    a float32 vector of 784 values in [0, 1] (Flatten, ToFloat, Normalize(0, 255)).
    Files come from the cache (``$ZEROGRAD_HOME/datasets/mnist``), downloaded if missing
    and ``download`` is true.
    """

    cache_name = "mnist"
    files = MNIST_FILES
    mirrors = MNIST_MIRRORS

    def __init__(self, train: bool = True, transform: Optional[Callable[[Any], Any]] = None,
                 target_transform: Optional[Callable[[Any], Any]] = None, download: bool = True) -> None:
        self.download = download
        super().__init__(train, _default_transform() if transform is None else transform, target_transform)

    def remote_files(self) -> list[RemoteFile]:
        return self._remote(self.train)

    @classmethod
    def _remote(cls, train: bool) -> list[RemoteFile]:
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
        return [RemoteFile(n, "sha256:" + cls.files[n], tuple(m + n for m in cls.mirrors)) for n in names]

    @classmethod
    def fetch_all(cls, download: bool = True) -> None:
        """Make sure the training and the test files are all in the cache: when some are missing,
        one error names every one of them."""
        fetch(cls.cache_name, cls._remote(True) + cls._remote(False), download=download)

    def prepare(self) -> None:
        remote = self.remote_files()
        paths = fetch(self.cache_name, remote, download=self.download)
        images = read_idx(paths[remote[0].name])
        labels = read_idx(paths[remote[1].name])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: images {images.shape} and labels {labels.shape} do not match")
        self.data = images.reshape(-1, 1, images.shape[1], images.shape[2])
        self.label = labels

    @staticmethod
    def labels() -> dict[int, str]:
        return {i: str(i) for i in range(10)}


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same format as MNIST, ten kinds of clothing."""

    cache_name = "fashion-mnist"
    files = FASHION_FILES
    mirrors = FASHION_MIRRORS

    @staticmethod
    def labels() -> dict[int, str]:
        names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]
        return dict(enumerate(names))
