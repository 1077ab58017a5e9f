# mypy: disable-error-code="method-assign"
# (_install_operators assigns Variable's operators, whose stubs are in core/variable.py)
"""Arithmetic that the core itself needs: + - * / ** and unary minus, broadcasting, copy.

Binary operations broadcast like NumPy; their gradients are summed back to
each input's shape with ``sum_to``. A Python scalar operand is a constant
folded into the function (``MulConstant(2.0)``), never a 0-d float64 array,
so it never changes the dtype of a float32 variable (NEP 50's weak scalars).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from zerograd.backend import get_array_module
from zerograd.config import Config
from zerograd.core.function import BinaryFunction, UnaryFunction
from zerograd.core.variable import Variable

_const_types = (numbers.Number, np.generic)


def _constant(value: Any):
    """The Python number for a scalar operand, or None when ``value`` is not a scalar."""
    t = type(value)
    if t is float or t is int:
        return value
    if t is Variable or t is bool or isinstance(value, (complex, np.complexfloating)) or not isinstance(value, _const_types):
        return None  # (a complex constant would change the dtype: it goes through the checked binary path)
    return value.item() if isinstance(value, np.generic) else value


# ----------------------------------------------------------------- broadcasting
class BroadcastTo(UnaryFunction):
    """y = broadcast_to(x, shape); dx = sum_to(dy, x.shape)."""

    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        xp = get_array_module(x)
        try:
            return xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {self.shape}") from None

    def backward(self, gy):
        return _sum_to(gy, self.x_shape)


class SumTo(UnaryFunction):
    """y = x summed over the broadcast axes so that y.shape == shape; dx = broadcast_to(dy, x.shape)."""

    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        return sum_to_array(x, self.shape)

    def backward(self, gy):
        return _broadcast_to(gy, self.x_shape)


def sum_to_array(x, shape: tuple[int, ...]):
    """Sum array ``x`` over leading and size-1 axes so the result has ``shape`` (the adjoint of broadcasting)."""
    xs = x.shape
    if xs == shape:
        return x
    lead = len(xs) - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {xs} to the larger shape {shape}")
    kept_axes = []
    for i, s in enumerate(shape):
        n = xs[i + lead]
        if s == 1 and n != 1:
            kept_axes.append(i + lead)
        elif s != n:
            raise ValueError(f"sum_to: cannot sum shape {xs} to {shape}")
    if kept_axes:
        x = x.sum(axis=tuple(kept_axes), keepdims=True)
    if lead:
        x = x.sum(axis=tuple(range(lead)))
    return x


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Variable:
    """Broadcast ``x`` to ``shape`` (a read-only view in forward)."""
    shape = tuple(shape)
    if isinstance(x, Variable) and x.data.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x: Any, shape: tuple[int, ...]) -> Variable:
    """Sum ``x`` down to ``shape``: the adjoint of :func:`broadcast_to`."""
    shape = tuple(shape)
    if isinstance(x, Variable) and x.data.shape == shape:
        return x
    return SumTo(shape)(x)


def _sum_to(g, shape: tuple[int, ...]):
    """sum_to for gradients: an array for an array, a Variable for a Variable (no-op when shaped)."""
    if isinstance(g, Variable):
        return g if g.data.shape == shape else SumTo(shape)(g)
    return g if g.shape == shape else sum_to_array(g, shape)


def _broadcast_to(g, shape: tuple[int, ...]):
    """broadcast_to for gradients: an array (a read-only view) for an array, a Variable for a Variable."""
    if isinstance(g, Variable):
        return g if g.data.shape == shape else BroadcastTo(shape)(g)
    return g if g.shape == shape else get_array_module(g).broadcast_to(g, shape)


# ---------------------------------------------------------------- dtype
class Cast(UnaryFunction):
    """y = x converted to ``dtype``; dx = dy converted back to x's dtype."""

    __slots__ = ("dtype", "x_dtype")

    def __init__(self, dtype: Any) -> None:
        super().__init__()
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.x_dtype)


def cast(x: Any, dtype: Any) -> Variable:
    """``x`` converted to ``dtype`` (differentiable; the gradient comes back in x's dtype)."""
    if isinstance(x, Variable) and x.data.dtype == np.dtype(dtype):
        return x
    return Cast(dtype)(x)


def _broadcast_error(op: str, x0, x1) -> ValueError:
    return ValueError(f"{op}: shapes {np.shape(x0)} and {np.shape(x1)} do not broadcast")


# ------------------------------------------------------------- binary, arrays
class Add(BinaryFunction):
    """y = x0 + x1; dx0 = dy, dx1 = dy (summed back over broadcast axes)."""

    __slots__ = ()

    def forward(self, x0, x1):
        try:
            return x0 + x1
        except ValueError:
            raise _broadcast_error("add", x0, x1) from None

    def backward(self, gy):
        x0, x1 = self.inputs
        return _sum_to(gy, x0.data.shape), _sum_to(gy, x1.data.shape)


class Sub(BinaryFunction):
    """y = x0 - x1; dx0 = dy, dx1 = -dy."""

    __slots__ = ()

    def forward(self, x0, x1):
        try:
            return x0 - x1
        except ValueError:
            raise _broadcast_error("sub", x0, x1) from None

    def backward(self, gy):
        x0, x1 = self.inputs
        return _sum_to(gy, x0.data.shape), (_sum_to(-gy, x1.data.shape) if x1.requires_grad else None)


class Mul(BinaryFunction):
    """y = x0 * x1; dx0 = dy * x1, dx1 = dy * x0."""

    __slots__ = ()

    def forward(self, x0, x1):
        try:
            return x0 * x1
        except ValueError:
            raise _broadcast_error("mul", x0, x1) from None

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = _sum_to(gy * self.input(1), x0.data.shape) if x0.requires_grad else None
        gx1 = _sum_to(gy * self.input(0), x1.data.shape) if x1.requires_grad else None
        return gx0, gx1


class Div(BinaryFunction):
    """y = x0 / x1; dx0 = dy / x1, dx1 = -dy * x0 / x1**2."""

    __slots__ = ()

    def forward(self, x0, x1):
        try:
            return x0 / x1
        except ValueError:
            raise _broadcast_error("div", x0, x1) from None

    def backward(self, gy):
        x0, x1 = self.inputs
        d1 = self.input(1)
        gx0 = _sum_to(gy / d1, x0.data.shape) if x0.requires_grad else None
        gx1 = _sum_to(-gy * self.input(0) / (d1 * d1), x1.data.shape) if x1.requires_grad else None
        return gx0, gx1


# ------------------------------------------------------ with a scalar constant
class AddConstant(UnaryFunction):
    """y = x + c for a Python number c; dx = dy."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c) -> None:
        super().__init__()
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return gy


class MulConstant(UnaryFunction):
    """y = c * x for a Python number c; dx = c * dy."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c) -> None:
        super().__init__()
        self.c = c

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return gy * self.c


class SubFromConstant(UnaryFunction):
    """y = c - x for a Python number c; dx = -dy."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c) -> None:
        super().__init__()
        self.c = c

    def forward(self, x):
        return self.c - x

    def backward(self, gy):
        return -gy


class DivByConstant(UnaryFunction):
    """y = x / c for a Python number c; dx = dy / c."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c) -> None:
        super().__init__()
        self.c = c

    def forward(self, x):
        return x / self.c

    def backward(self, gy):
        return gy / self.c


class DivideConstant(UnaryFunction):
    """y = c / x for a Python number c; dx = -c * dy / x**2."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c) -> None:
        super().__init__()
        self.c = c

    def forward(self, x):
        return self.c / x

    def backward(self, gy):
        x = self.input()
        return gy * -self.c / (x * x)


class Neg(UnaryFunction):
    """y = -x; dx = -dy."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(UnaryFunction):
    """y = x ** c for a constant c; dx = c * x ** (c - 1) * dy, exactly 0 for c = 0 and dy for c = 1
    (so that x ** 0 and x ** 1 have finite derivatives of every order at x = 0)."""

    __slots__ = ("c",)
    elementwise = True

    def __init__(self, c) -> None:
        super().__init__()
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        c = self.c
        if c == 0:
            return gy * 0
        if c == 1:
            return gy
        x = self.input()
        return gy * (x * 2) if c == 2 else gy * (c * x ** (c - 1))


class Detach(UnaryFunction):
    """y = x, cut from the graph (the same array; recorded by nobody, so no gradient flows back).
    A function rather than a new Variable so that a replayed step (``zerograd.compile``) reads
    each call's own value."""

    __slots__ = ()

    def forward(self, x):
        return x


def detach(x: Variable) -> Variable:
    """``x.detach()``: a constant Variable on the same data, no creator, no gradient."""
    old = Config.enable_backprop
    Config.enable_backprop = False
    try:
        y = Detach()(x)
    finally:
        Config.enable_backprop = old
    y.name = x.name
    return y


class Copy(UnaryFunction):
    """y = a copy of x with its own memory; dx = dy."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


# ---------------------------------------------------------------- public API
_new_object = object.__new__


def _with_constant(cls, c):
    """``cls(c)`` without the cost of calling ``__init__`` (these run once per operation)."""
    f = _new_object(cls)
    f.inputs = None
    f.c = c
    return f


def _bare(cls):
    """``cls()`` for a function without settings, without the cost of calling ``__init__``."""
    f = _new_object(cls)
    f.inputs = None
    return f


def add(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 + x1`` with broadcasting."""
    t = type(x1)
    if t is float or t is int:  # the hot case, inlined: x + 1.0
        f = _new_object(AddConstant)
        f.inputs = None
        f.c = x1
        return f(x0)
    if isinstance(x0, Variable) and isinstance(x1, Variable):  # the other hot case (sums of gradients)
        fb = _new_object(Add)
        fb.inputs = None
        return fb(x0, x1)
    c = _constant(x1)
    if c is not None:
        return _with_constant(AddConstant, c)(x0)
    c = _constant(x0)
    if c is not None:
        return _with_constant(AddConstant, c)(x1)
    return Add()(x0, x1)


def sub(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 - x1`` with broadcasting."""
    if isinstance(x0, Variable) and isinstance(x1, Variable):
        return _bare(Sub)(x0, x1)
    c = _constant(x1)
    if c is not None:
        return _with_constant(AddConstant, -c)(x0)
    c = _constant(x0)
    if c is not None:
        return _with_constant(SubFromConstant, c)(x1)
    return Sub()(x0, x1)


def rsub(x0: Any, x1: Any) -> Variable:
    """``x1 - x0`` (the reflected form used by ``3 - x``)."""
    return sub(x1, x0)


def mul(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 * x1`` with broadcasting."""
    t = type(x1)
    if t is float or t is int:  # the hot case, inlined: x * 2.0
        f = _new_object(MulConstant)
        f.inputs = None
        f.c = x1
        return f(x0)
    if isinstance(x0, Variable) and isinstance(x1, Variable):  # the other hot case
        fb = _new_object(Mul)
        fb.inputs = None
        return fb(x0, x1)
    c = _constant(x1)
    if c is not None:
        return _with_constant(MulConstant, c)(x0)
    c = _constant(x0)
    if c is not None:
        return _with_constant(MulConstant, c)(x1)
    return Mul()(x0, x1)


def div(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 / x1`` with broadcasting."""
    if isinstance(x0, Variable) and isinstance(x1, Variable):
        return _bare(Div)(x0, x1)
    c = _constant(x1)
    if c is not None:
        return _with_constant(DivByConstant, c)(x0)
    c = _constant(x0)
    if c is not None:
        return _with_constant(DivideConstant, c)(x1)
    return Div()(x0, x1)


def rdiv(x0: Any, x1: Any) -> Variable:
    """``x1 / x0`` (the reflected form used by ``3 / x``)."""
    return div(x1, x0)


def neg(x: Any) -> Variable:
    """``-x``."""
    return _bare(Neg)(x)


def pow(x: Any, c: Any) -> Variable:
    """``x ** c`` for a constant exponent ``c`` (a Python number)."""
    const = _constant(c)
    if const is None:
        raise TypeError(f"pow: the exponent must be a Python number, got {type(c).__name__}")
    return Pow(const)(x)


def copy(x: Any) -> Variable:
    """A copy of ``x`` that owns its memory (identity gradient)."""
    return Copy()(x)


def _install_operators() -> None:
    Variable.astype = cast
    Variable.detach = detach  # type: ignore[assignment]
    Variable.__add__ = add
    Variable.__radd__ = add
    Variable.__sub__ = sub
    Variable.__rsub__ = rsub
    Variable.__mul__ = mul
    Variable.__rmul__ = mul
    Variable.__truediv__ = div
    Variable.__rtruediv__ = rdiv
    Variable.__neg__ = neg
    Variable.__pow__ = pow


_install_operators()
