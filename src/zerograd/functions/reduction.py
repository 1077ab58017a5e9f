"""Reductions: sum, mean (average), max, min, logsumexp, var, std.

``axis`` is an int, a tuple of ints (negative allowed) or None for all axes;
``keepdims`` keeps the reduced axes with length 1, as in NumPy.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from zerograd.backend import get_array_module
from zerograd.core import UnaryFunction, Variable
from zerograd.core.ops import _broadcast_to
from zerograd.functions.combine import scale
from zerograd.functions.elementwise import exp_, sqrt
from zerograd.functions.shape import Axis, _normalize_axis

def _keepdims_shape(x_shape: tuple[int, ...], axes: Optional[tuple[int, ...]]) -> tuple[int, ...]:
    """Shape of a reduction's result with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(x_shape)
    return tuple(1 if i in axes else s for i, s in enumerate(x_shape))


def _accumulator(dtype) -> Optional[np.dtype]:
    """The dtype a reduction accumulates in when it differs from the input's: float32 for float16."""
    return np.dtype(np.float32) if dtype == np.float16 else None


def _count(x_shape: tuple[int, ...], axes: Optional[tuple[int, ...]]) -> int:
    if axes is None:
        return int(np.prod(x_shape, dtype=np.int64))
    return int(np.prod([x_shape[a] for a in axes], dtype=np.int64))


class Sum(UnaryFunction):
    """y = sum of x over ``axis`` (float16 accumulates in float32); dx = dy broadcast back to x's shape."""

    __slots__ = ("axis", "keepdims", "axes", "x_shape", "n")
    name = "sum"

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        self.axes = _normalize_axis(self.axis, x.ndim, self.name)
        acc = _accumulator(x.dtype)
        y = self._finish(x.sum(axis=self.axes, keepdims=self.keepdims, dtype=acc))
        return y if acc is None else y.astype(x.dtype)

    def _finish(self, total):
        return total

    def backward(self, gy):
        if not self.keepdims:
            gy = gy.reshape(_keepdims_shape(self.x_shape, self.axes))
        return _broadcast_to(self._finish_gradient(gy), self.x_shape)

    def _finish_gradient(self, gy):
        return gy


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001  (mirrors np.sum)
    """Sum of elements over ``axis``."""
    return Sum(axis, keepdims)(x)


class Mean(Sum):
    """y = sum of x over ``axis`` / n, n the number of elements reduced; dx = dy / n broadcast back.

    float16 accumulates and divides in float32 (n itself may exceed float16's range) and
    returns float16.
    """

    __slots__ = ()
    name = "mean"

    def _finish(self, total):
        self.n = _count(self.x_shape, self.axes)
        if self.n == 0:
            raise ValueError(f"mean: no elements to average (input shape {self.x_shape}, axis {self.axis})")
        return total / self.n

    def _finish_gradient(self, gy):
        if _accumulator(gy.dtype) is None:
            return gy / self.n
        return (gy.astype(np.float32) / self.n).astype(gy.dtype)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Arithmetic mean over ``axis`` (sum divided by the number of elements reduced)."""
    return Mean(axis, keepdims)(x)


average = mean


class _Extreme(UnaryFunction):
    """Shared by Max and Min: dx = dy at the extreme elements, shared equally among ties."""

    __slots__ = ("axis", "keepdims", "axes")
    keeps_outputs = True
    reduce_name = ""

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim, self.reduce_name)
        if x.size == 0:
            raise ValueError(f"{self.reduce_name}: zero-size input of shape {x.shape}")
        return getattr(x, self.reduce_name)(axis=self.axes, keepdims=self.keepdims)

    def _share(self):
        """mask / count: each extreme element's share of the gradient (a constant array). NaN is
        the extreme when present (NumPy's max and min propagate it): the NaNs share the gradient."""
        x = self.inputs[0].data
        xp = get_array_module(x)
        y = xp.asarray(self.outputs[0]().data).reshape(_keepdims_shape(x.shape, self.axes))
        mask = x == y
        if x.dtype.kind in "fc" and xp.isnan(y).any():
            mask |= xp.isnan(x) & xp.isnan(y)
        count = mask.sum(axis=self.axes, keepdims=True)
        return mask / count.astype(x.dtype)

    def backward(self, gy):
        gy = gy.reshape(_keepdims_shape(self.inputs[0].data.shape, self.axes))
        return scale(gy, self._share())


class Max(_Extreme):
    """y = max of x over ``axis``; the gradient goes to the maxima, split equally among ties."""

    __slots__ = ()
    reduce_name = "max"


class Min(_Extreme):
    """y = min of x over ``axis``; the gradient goes to the minima, split equally among ties."""

    __slots__ = ()
    reduce_name = "min"


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Largest element over ``axis``; tied maxima share the gradient equally (it sums to dy)."""
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Smallest element over ``axis``; tied minima share the gradient equally."""
    return Min(axis, keepdims)(x)


class LogSumExp(UnaryFunction):
    """y = log(sum(exp(x), axis)), computed stably as m + log(sum(exp(x - m))) with m = max(x).

    dx = dy * exp(x - y) (the softmax of x along ``axis``).
    """

    __slots__ = ("axis", "keepdims", "axes")
    keeps_outputs = True

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        xp = get_array_module(x)
        self.axes = _normalize_axis(self.axis, x.ndim, "logsumexp")
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        acc = _accumulator(x.dtype)
        y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True, dtype=acc)) + m
        if acc is not None:
            y = y.astype(x.dtype)
        return y if self.keepdims else y.reshape([s for i, s in enumerate(y.shape)
                                                  if not (self.axes is None or i in self.axes)])

    def backward(self, gy):
        shape = _keepdims_shape(self.inputs[0].data.shape, self.axes)
        return gy.reshape(shape) * exp_(self.input() - self.output().reshape(shape))


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """log(sum(exp(x))) over ``axis``, without overflow for large inputs."""
    return LogSumExp(axis, keepdims)(x)


def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Variable:
    """Variance over ``axis``: mean squared deviation, divided by (n - ddof)."""
    shape = x.shape if isinstance(x, Variable) else np.shape(x)
    n = _count(shape, _normalize_axis(axis, len(shape), "var"))
    if n - ddof <= 0:
        raise ValueError(f"var: {n} elements with ddof={ddof} leave no degrees of freedom")
    d = x - mean(x, axis, keepdims=True)
    v = mean(d * d, axis, keepdims)
    return v if ddof == 0 else v * (n / (n - ddof))


def std(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Variable:
    """Standard deviation over ``axis``: sqrt(var)."""
    return sqrt(var(x, axis, keepdims, ddof))


