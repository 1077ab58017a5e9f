"""Dropout, and random draws made by functions (a replayed step draws afresh)."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.backend import float_dtype, get_array_module
from zerograd.config import Config
from zerograd.core import Function, UnaryFunction, Variable, as_variable


class Dropout(UnaryFunction):
    """y = x * mask, where mask = (u > ratio) / (1 - ratio) with u ~ U[0, 1) drawn afresh at each
    forward (one ``np.random.rand(*x.shape)`` call: the book's draw); dx = dy * mask."""

    __slots__ = ("ratio", "mask")
    elementwise = True

    def __init__(self, ratio: float) -> None:
        super().__init__()
        self.ratio = ratio

    def forward(self, x):
        xp = get_array_module(x)
        draw = np.asarray(np.random.rand(*x.shape))  # a float, not an array, for a 0-d x
        keep = (draw > self.ratio) if xp is np else xp.asarray(draw > self.ratio)
        dtype = float_dtype(x.dtype)  # an integer x: the scale stays a fraction
        self.mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.ratio))
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Any, dropout_ratio: float = 0.5) -> Variable:
    """Inverted dropout: in training, zero each element with probability ``dropout_ratio`` and
    scale the rest by 1 / (1 - ratio); the identity in ``test_mode()``.

    The mask comes from one ``np.random.rand(*x.shape)`` call on NumPy's global generator
    (the book's), so seeded programs reproduce the book's numbers; it is drawn inside the
    function's forward, so every run of the forward draws a new one.
    """
    x = as_variable(x)
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(f"dropout: dropout_ratio must lie in [0, 1), got {dropout_ratio}")
    if not Config.train:
        return x
    return Dropout(dropout_ratio)(x)


class RandomNormal(Function):
    """y = draws from the standard normal distribution, of a fixed shape and dtype (no inputs, no
    gradient): ``np.random.randn(*shape).astype(dtype)`` on NumPy's global generator, or
    ``xp.random.randn`` of the array module given. Drawn in forward, so a replayed step
    (``zerograd.compile``) draws afresh, as eager code does."""

    __slots__ = ("shape", "dtype", "xp")

    def __init__(self, shape: tuple[int, ...], dtype: Any, xp: Any) -> None:
        super().__init__()
        self.shape = shape
        self.dtype = dtype
        self.xp = xp

    def forward(self):
        return self.xp.random.randn(*self.shape).astype(self.dtype)


def random_normal(shape: Any, dtype: Any = np.float32, xp: Any = np) -> Variable:
    """Standard normal noise of ``shape`` as a constant Variable (the reparameterisation trick's
    ``eps``, a GAN's ``z``): the numbers of ``np.random.randn(*shape).astype(dtype)``."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"random_normal: the shape must not be negative, got {shape}")
    return RandomNormal(shape, np.dtype(dtype), xp)()
