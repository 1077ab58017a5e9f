"""Indexing: ``x[index]`` with ints, slices, Ellipsis, None, integer arrays and boolean masks."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.backend import get_array_module
from zerograd.core import UnaryFunction, Variable, apply


def _plain_index(index: Any) -> Any:
    """The index with any Variables replaced by their arrays, and index arrays copied (editing
    them before backward cannot move the gradient)."""
    if isinstance(index, Variable):
        return index.data.copy()
    if isinstance(index, tuple):
        return tuple(_plain_index(i) if isinstance(i, (Variable, list)) or hasattr(i, "__array__") else i
                     for i in index)
    if isinstance(index, list):
        return np.array(index)
    if hasattr(index, "copy") and hasattr(index, "__array__"):
        return index.copy()
    return index


def _is_basic(index: Any) -> bool:
    """True when the index selects without repetition (ints, slices, Ellipsis, None)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items)


def _scatter_add(xp, target, index, values) -> None:
    """target[index] += values, where repeated indices add up."""
    if _is_basic(index):
        target[index] += values
    elif xp is np:
        np.add.at(target, index, values)
    elif hasattr(xp.add, "at"):  # CuPy 13 and newer
        xp.add.at(target, index, values)
    else:  # older CuPy
        import cupyx

        cupyx.scatter_add(target, index, values)


class GetItem(UnaryFunction):
    """y = x[index]; dx = zeros of x's shape with dy added at ``index`` (repeated indices add up)."""

    __slots__ = ("index", "x_shape")

    def __init__(self, index: Any) -> None:
        super().__init__()
        self.index = index

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"get_item: {e} (input shape {x.shape})") from None

    def backward(self, gy):
        return apply(GetItemGrad(self.index, self.x_shape), gy)


class GetItemGrad(UnaryFunction):
    """The gradient of get_item: y = zeros(shape) with x added at ``index``; dx = dy[index]."""

    __slots__ = ("index", "in_shape")

    def __init__(self, index: Any, in_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.index = index
        self.in_shape = in_shape

    def forward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.in_shape, dtype=gy.dtype)
        _scatter_add(xp, gx, self.index, gy)
        return gx

    def backward(self, ggx):
        return ggx[self.index]


def get_item(x: Any, index: Any) -> Variable:
    """``x[index]``: ints, slices, Ellipsis, None, integer arrays and boolean masks, as NumPy does."""
    return GetItem(_plain_index(index))(x)
