"""Fully connected and embedding layers."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from zerograd.core import Parameter, Variable
from zerograd.functions.embedding import embed_id
from zerograd.functions.linalg import linear
from zerograd import backend
from zerograd.initializers import LeCunNormal, Normal
from zerograd.layers.base import Layer, check_device, create_lazily


class Linear(Layer):
    """y = x @ W + b, with W of shape (in_size, out_size).

    W is :class:`~zerograd.initializers.LeCunNormal` exactly as the book draws it:
    ``np.random.randn(in, out)`` from NumPy's global generator, cast to ``dtype``, times
    ``sqrt(1 / in)`` (in ``dtype``); created at the first call when ``in_size`` is None.
    b is zeros(out_size) of ``dtype``.
    """

    def __init__(self, out_size: int, nobias: bool = False, dtype=np.float32, in_size: Optional[int] = None) -> None:
        super().__init__()
        self.in_size = in_size
        self.out_size = out_size
        self.dtype = np.dtype(dtype)
        self.W = Parameter(name="W", initializer=LeCunNormal((0,), self.dtype),
                           shape=None if in_size is None else (in_size, out_size))
        self.b = None if nobias else Parameter(np.zeros(out_size, dtype=self.dtype), name="b")

    def forward(self, x: Any) -> Variable:
        if self.W.data is None:
            shape = x.shape if hasattr(x, "shape") else np.shape(x)
            if len(shape) == 0:
                raise ValueError(f"Linear: the input must have at least one axis (features), got a 0-d input")
            self.in_size = shape[-1]
            create_lazily(self, self.W, (self.in_size, self.out_size), x)
        elif backend.cp is not None:
            check_device(self, x, self.W)
        return linear(x, self.W, self.b)


class EmbedID(Layer):
    """Embedding: integer ids -> rows of W (in_size, out_size), W ~ randn in float32."""

    def __init__(self, in_size: int, out_size: int, dtype=np.float32) -> None:
        super().__init__()
        self.W = Parameter(name="W", initializer=Normal(1.0, dtype), shape=(in_size, out_size))

    def forward(self, x: Any) -> Variable:
        return embed_id(x, self.W)
