"""``Dataset``: items ``(x, t)`` with optional transforms; batches by array indexing."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

from zerograd.transforms import apply_batch


def _identity(x: Any) -> Any:
    return x


class Dataset:
    """A dataset of ``data`` (and ``label``, which may be None), prepared by ``prepare()``.

    ``dataset[i]`` is one ``(x, t)`` pair; ``dataset[slice]`` or ``dataset[index_array]`` is a
    batch ``(xs, ts)`` built by array indexing, with the transforms applied to the whole batch
    where they allow it.
    """

    def __init__(self, train: bool = True, transform: Optional[Callable[[Any], Any]] = None,
                 target_transform: Optional[Callable[[Any], Any]] = None) -> None:
        self.train = train
        self.transform = transform if transform is not None else _identity
        self.target_transform = target_transform if target_transform is not None else _identity
        self.data: Any = None
        self.label: Any = None
        self.prepare()

    def prepare(self) -> None:
        """Fill ``self.data`` and ``self.label`` (subclasses)."""

    def __getitem__(self, index: Any):
        if self.data is None:
            raise IndexError(f"{type(self).__name__}: the dataset holds no data")
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} items")
            x = self.transform(self.data[index])
            t = None if self.label is None else self.target_transform(self.label[index])
            return x, t
        if isinstance(index, (list, tuple)):
            index = np.asarray(index)
        if isinstance(index, np.ndarray) and index.dtype.kind not in "iub":
            raise TypeError(f"{type(self).__name__}: index arrays must be integers or booleans, got {index.dtype}")
        if not isinstance(index, (slice, np.ndarray)):
            raise TypeError(f"{type(self).__name__}: unsupported index type {type(index).__name__}")
        xs = self._apply(self.transform, self.data[index])
        ts = None if self.label is None else self._apply(self.target_transform, self.label[index])
        return xs, ts

    @staticmethod
    def _apply(transform: Callable[[Any], Any], items: Any) -> Any:
        return items if transform is _identity else apply_batch(transform, items)

    def __len__(self) -> int:
        return 0 if self.data is None else len(self.data)

    def __iter__(self) -> Iterator[tuple]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(train={self.train}, items={len(self)})"
