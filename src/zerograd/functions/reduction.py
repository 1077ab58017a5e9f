"""Reductions: sum, mean, max, min, logsumexp, var, std."""
from __future__ import annotations

from typing import Any, Optional, Union

from zerograd.backend import get_array_module
from zerograd.core import UnaryFunction, Variable
from zerograd.core.ops import broadcast_to
from zerograd.functions.shape import reshape

Axis = Optional[Union[int, tuple[int, ...]]]


def _normalize_axis(axis: Axis, ndim: int, op: str) -> Optional[tuple[int, ...]]:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim)
    return tuple(out)


def _keepdims_shape(x_shape: tuple[int, ...], axes: Optional[tuple[int, ...]]) -> tuple[int, ...]:
    """Shape of a reduction's result with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(x_shape)
    return tuple(1 if i in axes else s for i, s in enumerate(x_shape))


class Sum(UnaryFunction):
    """y = sum of x over ``axis``; dx = dy broadcast back to x's shape."""

    __slots__ = ("axis", "keepdims", "x_shape")

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        self.axis = _normalize_axis(self.axis, x.ndim, "sum")
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.keepdims:
            gy = reshape(gy, _keepdims_shape(self.x_shape, self.axis))
        return broadcast_to(gy, self.x_shape)

    def vjp(self, gy):
        xp = get_array_module(gy)
        if not self.keepdims:
            gy = xp.reshape(gy, _keepdims_shape(self.x_shape, self.axis))
        return xp.broadcast_to(gy, self.x_shape)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001  (mirrors np.sum)
    """Sum of elements over ``axis`` (an int, a tuple, or None for all)."""
    return Sum(axis, keepdims)(x)

