"""Initializers: how a :class:`~zerograd.core.Parameter` creates its array once its shape is known.

An initializer is a callable ``init(shape, dtype) -> numpy.ndarray``. ``dtype`` is the dtype of
the first input the layer sees; an initializer created with its own ``dtype`` ignores it (the
book's layers are float32 whatever the input). Random initializers draw from NumPy's global
generator in one call, so a seeded program draws exactly what the book's draws, in the order the
layers first run, on the CPU and the GPU alike (the array moves to the device afterwards).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["Initializer", "Constant", "Zeros", "Ones", "Normal", "LeCunNormal"]

DEFAULT_DTYPE = np.dtype(np.float32)


class Initializer:
    """Base: ``dtype`` fixes the parameter's dtype; None follows the first input's (a float
    dtype; an integer or boolean input gives float32)."""

    def __init__(self, dtype: Any = None) -> None:
        self.dtype = None if dtype is None else np.dtype(dtype)

    def resolve_dtype(self, dtype: Any) -> np.dtype:
        if self.dtype is not None:
            return self.dtype
        if dtype is None:
            return DEFAULT_DTYPE
        dtype = np.dtype(dtype)
        return dtype if dtype.kind in "fc" else DEFAULT_DTYPE

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return self.generate(tuple(int(n) for n in shape), self.resolve_dtype(dtype))

    def generate(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dtype={self.dtype})"


class Constant(Initializer):
    """w = value everywhere."""

    def __init__(self, value: float, dtype: Any = None) -> None:
        super().__init__(dtype)
        self.value = value

    def generate(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.full(shape, self.value, dtype=dtype)


class Zeros(Constant):
    """w = 0."""

    def __init__(self, dtype: Any = None) -> None:
        super().__init__(0, dtype)


class Ones(Constant):
    """w = 1."""

    def __init__(self, dtype: Any = None) -> None:
        super().__init__(1, dtype)


class Normal(Initializer):
    """w = randn(*shape) * scale (``np.random.randn`` cast to the dtype, then scaled in it)."""

    def __init__(self, scale: float = 1.0, dtype: Any = None) -> None:
        super().__init__(dtype)
        self.scale = scale

    def scale_for(self, shape: tuple[int, ...]) -> float:
        return self.scale

    def generate(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        w = np.random.randn(*shape).astype(dtype)
        scale = self.scale_for(shape)
        return w if scale == 1 else w * dtype.type(scale)


class LeCunNormal(Normal):
    """w = randn(*shape) * sqrt(1 / fan_in): the book's Linear and convolution weights.

    ``fan_in_axes``: the axes of the weight whose sizes multiply to the fan-in: (0,) for a
    Linear W (in, out), (1, 2, 3) for a Conv2d W (out, C, KH, KW), (0, 2, 3) for a Deconv2d W
    (C, out, KH, KW)."""

    def __init__(self, fan_in_axes: Sequence[int] = (0,), dtype: Any = None) -> None:
        super().__init__(1.0, dtype)
        self.fan_in_axes = tuple(fan_in_axes)

    def scale_for(self, shape: tuple[int, ...]) -> float:
        fan_in = math.prod(shape[a] for a in self.fan_in_axes)
        if fan_in == 0:
            raise ValueError(f"LeCunNormal: the weight of shape {shape} has fan-in 0 "
                             f"(its input has no features)")
        return float(np.sqrt(1 / fan_in))

    def __repr__(self) -> str:
        return f"LeCunNormal(fan_in_axes={self.fan_in_axes}, dtype={self.dtype})"
