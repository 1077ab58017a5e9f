"""Shape operations: reshape, transpose, expand_dims, squeeze, flatten, swapaxes.

Forward results are views of the input wherever NumPy can make one (no copies).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from zerograd.core import UnaryFunction, Variable


Axis = Optional[Union[int, tuple[int, ...]]]


def _normalize_axis(axis: Axis, ndim: int, op: str) -> Optional[tuple[int, ...]]:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for an array of {ndim} dimensions")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} names an axis twice")
    return tuple(out)


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    """Accept ``reshape(2, 3)`` and ``reshape((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"reshape: the shape must be integers, got {shape!r}")
    return tuple(int(s) for s in shape)


class Reshape(UnaryFunction):
    """y = x reshaped to ``shape``; dx = dy reshaped back to x's shape."""

    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} into shape {self.shape}") from None

    def backward(self, gy):
        return gy.reshape(self.x_shape)


def reshape(x: Any, shape: Sequence[int]) -> Variable:
    """``x`` with a new shape (one dimension may be -1). A view when NumPy can make one."""
    shape = tuple(shape)
    if isinstance(x, Variable) and x.data.shape == shape:
        return x
    return Reshape(shape)(x)


class Transpose(UnaryFunction):
    """y = x with its axes permuted; dx = dy permuted back by the inverse permutation."""

    __slots__ = ("axes", "perm")

    def __init__(self, axes: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        if self.axes is None:
            self.perm = tuple(range(x.ndim - 1, -1, -1))
        else:
            if (len(self.axes) != x.ndim or any(not -x.ndim <= a < x.ndim for a in self.axes)
                    or sorted(a % x.ndim for a in self.axes) != list(range(x.ndim))):
                raise ValueError(f"transpose: axes {self.axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
            self.perm = tuple(a % x.ndim for a in self.axes)
        return x.transpose(self.perm)

    def _inverse(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.argsort(self.perm))

    def backward(self, gy):
        return gy.transpose(self._inverse())


def transpose(x: Any, axes: Optional[Sequence[int]] = None) -> Variable:
    """Permute the axes of ``x`` (reverse them when ``axes`` is None); negative axes allowed."""
    return Transpose(axes)(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Variable:
    """Exchange two axes of ``x``."""
    ndim = x.ndim if isinstance(x, Variable) else np.ndim(x)
    for a in (axis1, axis2):
        if not -ndim <= a < ndim:
            raise ValueError(f"swapaxes: axis {a} is out of range for a {ndim}-d input")
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def expand_dims(x: Any, axis: int) -> Variable:
    """Insert an axis of length 1 at position ``axis``."""
    shape = x.shape if isinstance(x, Variable) else np.shape(x)
    ndim = len(shape) + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a result of {ndim} dimensions")
    axis %= ndim
    return reshape(x, shape[:axis] + (1,) + shape[axis:])


def squeeze(x: Any, axis: Optional[Union[int, Sequence[int]]] = None) -> Variable:
    """Remove axes of length 1 (all of them, or those named by ``axis``)."""
    shape = x.shape if isinstance(x, Variable) else np.shape(x)
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axes = set()
        for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis):
            if not -len(shape) <= a < len(shape):
                raise ValueError(f"squeeze: axis {a} is out of range for a {len(shape)}-d input of shape {shape}")
            axes.add(int(a) % len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has length {shape[a]}, not 1")
        new = tuple(s for i, s in enumerate(shape) if i not in axes)
    return reshape(x, new)


def flatten(x: Any) -> Variable:
    """Keep axis 0 and flatten the rest: shape (N, ...) -> (N, prod(...)) (the book's)."""
    shape = x.shape if isinstance(x, Variable) else np.shape(x)
    if len(shape) == 0:
        raise ValueError("flatten: a 0-d input has no axis 0 to keep")
    return reshape(x, (shape[0], -1))
