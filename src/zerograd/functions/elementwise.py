"""Elementwise mathematical functions, each differentiable to any order.

Forward calls NumPy's ufuncs, which CuPy arrays also accept (``__array_ufunc__``), so no module
lookup is needed per call. Each gradient is written once, on arrays or Variables alike (see
``core/function.py``), so ``create_graph=True`` can differentiate it again.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.core import BinaryFunction, UnaryFunction, Variable
from zerograd.core.ops import _sum_to


class Exp(UnaryFunction):
    """y = exp(x); dx = y * dy."""

    __slots__ = ()
    elementwise = True
    keeps_outputs = True

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(UnaryFunction):
    """y = log(x); dx = dy / x."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        return gy / self.input()


class Sin(UnaryFunction):
    """y = sin(x); dx = cos(x) * dy."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        return gy * cos_(self.input())


class Cos(UnaryFunction):
    """y = cos(x); dx = -sin(x) * dy."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return np.cos(x)

    def backward(self, gy):
        return gy * -sin_(self.input())


class Tanh(UnaryFunction):
    """y = tanh(x); dx = (1 - y^2) * dy."""

    __slots__ = ()
    elementwise = True
    keeps_outputs = True

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)


class Square(UnaryFunction):
    """y = x^2; dx = 2x * dy."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * (self.input() * 2)


class Sqrt(UnaryFunction):
    """y = sqrt(x); dx = dy / (2 y)."""

    __slots__ = ()
    elementwise = True
    keeps_outputs = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy):
        return gy / (self.output() * 2)


class Power(BinaryFunction):
    """y = x0 ** x1 where the exponent may vary too; dx0 = dy * x1 * x0 ** (x1 - 1) (0 where x1 == 0),
    dx1 = dy * y * log(x0), taken as 0 where x0 == 0 (so 0 ** x has a finite exponent gradient,
    as in PyTorch). Both sum back over broadcast axes."""

    __slots__ = ()
    keeps_outputs = True

    def forward(self, x0, x1):
        return x0 ** x1

    def backward(self, gy):
        v0, v1 = self.inputs
        x0, x1 = self.input(0), self.input(1)
        gx0 = gx1 = None
        if v0.requires_grad:  # (where x1 == 0 the term is 0, also at x0 == 0: x0 ** 0 there, not x0 ** -1)
            zero_exp = (v1.data == 0).astype(v0.data.dtype)
            gx0 = _sum_to(gy * x1 * x0 ** (x1 - 1 + zero_exp), v0.data.shape)
        if v1.requires_grad:
            at_zero = (v0.data == 0).astype(v0.data.dtype)  # log(x0 + 1) = 0 there
            gx1 = _sum_to(gy * self.output() * log_(x0 + at_zero), v1.data.shape)
        return gx0, gx1


def power(x0: Any, x1: Any) -> Variable:
    """``x0 ** x1``, differentiable in both (``v ** w``, ``2 ** v``); a Python-number exponent
    takes the lighter ``pow``."""
    return Power()(x0, x1)


def exp(x: Any) -> Variable:
    """Elementwise e^x."""
    return Exp()(x)


def log(x: Any) -> Variable:
    """Elementwise natural logarithm."""
    return Log()(x)


def sin(x: Any) -> Variable:
    """Elementwise sine."""
    return Sin()(x)


def cos(x: Any) -> Variable:
    """Elementwise cosine."""
    return Cos()(x)


def tanh(x: Any) -> Variable:
    """Elementwise hyperbolic tangent."""
    return Tanh()(x)


def square(x: Any) -> Variable:
    """Elementwise x^2."""
    return Square()(x)


def sqrt(x: Any) -> Variable:
    """Elementwise square root."""
    return Sqrt()(x)


# Dual forms for gradients: a ufunc on an array, the recorded function on a Variable (this module's
# forwards are the ufuncs themselves, so both are one rule). ``zerograd.functions.dual`` exports them.
def _dual(cls: type, ufunc: Any):
    def on_array_or_variable(x: Any) -> Any:
        return cls()(x) if isinstance(x, Variable) else ufunc(x)

    on_array_or_variable.__name__ = on_array_or_variable.__qualname__ = ufunc.__name__ + "_"
    on_array_or_variable.__doc__ = f"{ufunc.__name__} of an array (an array) or of a Variable (recorded)."
    return on_array_or_variable


exp_ = _dual(Exp, np.exp)
log_ = _dual(Log, np.log)
sin_ = _dual(Sin, np.sin)
cos_ = _dual(Cos, np.cos)
tanh_ = _dual(Tanh, np.tanh)
sqrt_ = _dual(Sqrt, np.sqrt)
