"""Shape operations: reshape, transpose, expand_dims, squeeze, flatten. Views, no copies, where NumPy allows."""
from __future__ import annotations

from typing import Any

from zerograd.core import UnaryFunction, Variable


class Reshape(UnaryFunction):
    """y = x reshaped to ``shape``; dx = dy reshaped back to x's shape."""

    __slots__ = ("shape", "x_shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} into shape {self.shape}") from None

    def backward(self, gy):
        return reshape(gy, self.x_shape)

    def vjp(self, gy):
        return gy.reshape(self.x_shape)


def reshape(x: Any, shape: tuple[int, ...]) -> Variable:
    """``x`` with a new shape (one dimension may be -1)."""
    shape = tuple(shape)
    if isinstance(x, Variable) and x.data.shape == shape:
        return x
    return Reshape(shape)(x)
