"""Activation functions: sigmoid, relu, leaky_relu, softmax, log_softmax, gelu."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from zerograd.backend import float_dtype, get_array_module
from zerograd.core import UnaryFunction, Variable, as_array
from zerograd.functions._naming import names_errors
from zerograd.functions.combine import select
from zerograd.functions.elementwise import tanh
from zerograd.functions.reduction import logsumexp
from zerograd.functions.shape import _normalize_axis


class Sigmoid(UnaryFunction):
    """y = 1 / (1 + exp(-x)), computed as 0.5 tanh(x / 2) + 0.5 (no overflow); dx = dy y (1 - y)."""

    __slots__ = ()
    elementwise = True
    keeps_outputs = True

    def forward(self, x):
        xp = get_array_module(x)
        return xp.tanh(x * 0.5) * 0.5 + 0.5

    def backward(self, gy):
        y = self.output()
        return gy * y * (1 - y)


def sigmoid(x: Any) -> Variable:
    """The logistic function, elementwise."""
    return Sigmoid()(x)


class ReLU(UnaryFunction):
    """y = max(x, 0); dx = dy where x > 0, else 0."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        xp = get_array_module(x)
        return xp.maximum(x, 0)

    def backward(self, gy):
        return select(self.inputs[0].data > 0, gy)


def relu(x: Any) -> Variable:
    """Rectified linear unit, elementwise."""
    return ReLU()(x)


class LeakyReLU(UnaryFunction):
    """y = x where x > 0, else slope * x; dx = dy times 1 or slope."""

    __slots__ = ("slope",)

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, x):
        xp = get_array_module(x)
        return xp.where(x > 0, x, x * self.slope)

    def _factor(self):
        x = self.inputs[0].data
        xp = get_array_module(x)
        return xp.where(x > 0, 1, self.slope).astype(float_dtype(x.dtype))

    def backward(self, gy):
        return gy * self._factor()


def leaky_relu(x: Any, slope: float = 0.2) -> Variable:
    """Leaky ReLU with the given negative slope (a number)."""
    if isinstance(slope, Variable) or np.ndim(slope) != 0:
        raise TypeError(f"leaky_relu: slope must be a number, got {type(slope).__name__}")
    return LeakyReLU(float(slope))(x)


class Softmax(UnaryFunction):
    """y = exp(x - max) / sum(exp(x - max)) along ``axis`` (all axes for None); dx = y * (dy - sum(dy * y))."""

    __slots__ = ("axis", "axes")
    elementwise = True
    keeps_outputs = True

    def __init__(self, axis: Any = 1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        self.axes = _normalize_axis(self.axis, x.ndim, "softmax")
        y = as_array(x - x.max(axis=self.axes, keepdims=True), xp)
        y = xp.exp(y, out=y) if y.dtype.kind in "fc" else xp.exp(y)  # integers: NumPy's float
        y /= y.sum(axis=self.axes, keepdims=True)
        return y

    def backward(self, gy):
        y = self.output()
        gx = y * gy
        return gx - y * gx.sum(axis=self.axes, keepdims=True)


def softmax(x: Any, axis: Any = 1) -> Variable:
    """Softmax along ``axis`` (an int, a tuple, or None for all axes; stable: the maximum is subtracted first)."""
    return Softmax(axis)(x)


@names_errors("log_softmax")
def log_softmax(x: Any, axis: int = 1) -> Variable:
    """log(softmax(x)) computed stably as x - logsumexp(x)."""
    return x - logsumexp(x, axis=axis, keepdims=True)


_GELU_C = math.sqrt(2.0 / math.pi)


def gelu(x: Any) -> Variable:
    """Gaussian error linear unit, tanh approximation:
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1 + tanh(_GELU_C * (x + 0.044715 * x * x * x)))
