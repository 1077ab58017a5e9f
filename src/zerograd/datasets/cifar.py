"""CIFAR-10 from the binary version of the archive (no pickle)."""
from __future__ import annotations

import tarfile
from typing import Any, Callable, Optional

import numpy as np

from zerograd.datasets.base import Dataset
from zerograd.cache import RemoteFile, fetch
from zerograd.transforms import Compose, Normalize, ToFloat

CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_CHECKSUM = "md5:c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
RECORD = 1 + 3 * 32 * 32


def read_cifar_binary(archive: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) uint8 from the binary CIFAR-10 archive:
    records of one label byte and 3,072 pixel bytes (red, green, blue planes)."""
    wanted = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    found: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            base = member.name.rsplit("/", 1)[-1]
            if base in wanted and member.isfile():
                fh = tar.extractfile(member)
                if fh is not None:
                    found[base] = fh.read()
    missing = [w for w in wanted if w not in found]
    if missing:
        raise ValueError(f"{archive}: missing {missing} (not a binary CIFAR-10 archive?)")
    raw = b"".join(found[w] for w in wanted)
    if len(raw) % RECORD:
        raise ValueError(f"{archive}: {len(raw)} bytes is not a whole number of {RECORD}-byte records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].copy()


class CIFAR10(Dataset):
    """CIFAR-10: 50,000 training or 10,000 test colour images of 32x32 in 10 classes.

    ``data`` is uint8 (N, 3, 32, 32); by default an item's x is float32 in [0, 1] of shape
    (3, 32, 32). The archive (``cifar-10-binary.tar.gz``) comes from the cache.
    """

    cache_name = "cifar-10"

    def __init__(self, train: bool = True, transform: Optional[Callable[[Any], Any]] = None,
                 target_transform: Optional[Callable[[Any], Any]] = None, download: bool = True) -> None:
        self.download = download
        if transform is None:
            transform = Compose([ToFloat(), Normalize(0.0, 255.0)])
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        remote = RemoteFile(CIFAR10_ARCHIVE, CIFAR10_CHECKSUM, tuple(m + CIFAR10_ARCHIVE for m in CIFAR10_MIRRORS))
        paths = fetch(self.cache_name, [remote], download=self.download)
        self.data, self.label = read_cifar_binary(paths[CIFAR10_ARCHIVE], self.train)

    @staticmethod
    def labels() -> dict[int, str]:
        names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        return dict(enumerate(names))
