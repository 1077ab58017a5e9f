"""Loaders that iterate over a dataset in mini-batches.

``DataLoader`` is its own iterator, as in the book: ``for x, t in loader`` runs one epoch,
then reshuffles. It draws exactly one ``np.random.permutation(len(dataset))`` from NumPy's
global generator when created (if shuffling) and one after each epoch, so seeded book
programs reproduce the book's numbers.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from zerograd.backend import as_cupy
from zerograd.datasets.base import Dataset


def _batch_indexable(dataset: Any) -> bool:
    """True when ``dataset[index_array]`` returns a whole batch (our Dataset, unmodified)."""
    return isinstance(dataset, Dataset) and type(dataset).__getitem__ is Dataset.__getitem__


class DataLoader:
    """Mini-batches ``(x, t)`` of ``batch_size`` items (the last one may be short)."""

    def __init__(self, dataset: Any, batch_size: int, shuffle: bool = True, gpu: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.gpu = gpu
        self.data_size = len(dataset)
        if self.data_size == 0:
            raise ValueError("DataLoader: the dataset is empty")
        self.max_iter = math.ceil(self.data_size / batch_size)
        self.reset()

    def reset(self) -> None:
        self.iteration = 0
        if self.shuffle:
            self.index = np.random.permutation(self.data_size)
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

    def __next__(self):
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        jump = self.data_size // self.batch_size
        batch_index = np.array([(k * jump + self.iteration) % self.data_size for k in range(self.batch_size)])
        batch = self._batch(batch_index)
        self.iteration += 1
        return batch
