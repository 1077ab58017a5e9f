"""Loaders that iterate over a dataset in mini-batches.

``DataLoader`` is its own iterator, as in the book: ``for x, t in loader`` runs one epoch,
then reshuffles. It draws exactly one ``np.random.permutation(len(dataset))`` from NumPy's
global generator when created (if shuffling) and one after each epoch, so seeded book
programs reproduce the book's numbers.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from zerograd.backend import as_cupy
from zerograd.datasets.base import Dataset


def _batch_indexable(dataset: Any) -> bool:
    """True when ``dataset[index_array]`` returns a whole batch (our Dataset, unmodified)."""
    return isinstance(dataset, Dataset) and type(dataset).__getitem__ is Dataset.__getitem__


class DataLoader:
    """Mini-batches ``(x, t)`` of ``batch_size`` items (the last one may be short, unless
    ``drop_last``). Shuffling draws from NumPy's global generator, as the book does, unless a
    ``seed`` gives the loader a generator of its own (then the order does not depend on, or
    disturb, anything else that draws random numbers)."""

    def __init__(self, dataset: Any, batch_size: int, shuffle: bool = True, gpu: bool = False,
                 drop_last: bool = False, seed: Optional[int] = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.gpu = gpu
        self.drop_last = drop_last
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"DataLoader: seed must be None or a non-negative integer, got {seed!r}")
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.data_size = len(dataset)
        if self.data_size == 0:
            raise ValueError("DataLoader: the dataset is empty")
        if drop_last:
            self.max_iter = self.data_size // self.batch_size
            if self.max_iter == 0:
                raise ValueError(f"DataLoader: drop_last with batch_size {batch_size} and {self.data_size} items"
                                 " leaves no batch")
        else:
            self.max_iter = math.ceil(self.data_size / self.batch_size)
        self.reset()

    def reset(self) -> None:
        self.iteration = 0
        if self.shuffle:
            random = np.random if self.rng is None else self.rng
            self.index = random.permutation(self.data_size)
        else:
            self.index = np.arange(self.data_size)

    def __iter__(self) -> "DataLoader":
        return self

    def __len__(self) -> int:
        return self.max_iter

    def _batch(self, batch_index: np.ndarray):
        if _batch_indexable(self.dataset):
            x, t = self.dataset[batch_index]
        else:
            items = [self.dataset[int(i)] for i in batch_index]
            x = np.array([item[0] for item in items])
            labels = [item[1] for item in items]
            t = None if all(label is None for label in labels) else np.array(labels)
        if self.gpu:
            x = as_cupy(x)
            t = None if t is None else as_cupy(t)
        return x, t

    def __next__(self):
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        i, b = self.iteration, self.batch_size
        batch = self._batch(self.index[i * b:(i + 1) * b])
        self.iteration += 1
        return batch

    def next(self):
        return self.__next__()

    def to_cpu(self) -> None:
        self.gpu = False

    def to_gpu(self) -> None:
        self.gpu = True


class SeqDataLoader(DataLoader):
    """Batches for truncated BPTT (the book's order): row ``k`` of each batch reads the
    sequence from offset ``k * (len // batch_size)``, advancing one step per batch."""

    def __init__(self, dataset: Any, batch_size: int, gpu: bool = False) -> None:
        super().__init__(dataset, batch_size, shuffle=False, gpu=gpu)
        if self.batch_size > self.data_size:
            raise ValueError(f"SeqDataLoader: batch_size {batch_size} is more than the {self.data_size} steps of the "
                             "sequence (every row would read the same offset)")

    def __next__(self):
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        jump = self.data_size // self.batch_size
        batch_index = np.array([(k * jump + self.iteration) % self.data_size for k in range(self.batch_size)])
        batch = self._batch(batch_index)
        self.iteration += 1
        return batch

__all__ = [
    "DataLoader", "SeqDataLoader",
]
