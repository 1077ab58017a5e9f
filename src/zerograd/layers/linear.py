"""Fully connected and embedding layers."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from zerograd.core import Parameter, Variable
from zerograd.functions.embedding import embed_id
from zerograd.functions.linalg import linear
from zerograd import backend
from zerograd.backend import get_array_module
from zerograd.layers.base import Layer, adopt_device, check_device


class Linear(Layer):
    """y = x @ W + b, with W of shape (in_size, out_size).

    W is created at the first call when ``in_size`` is None, exactly as the book does:
    ``np.random.randn(in, out)`` from NumPy's global generator, cast to ``dtype``, times
    ``sqrt(1 / in)`` (in ``dtype``). b is zeros(out_size) of ``dtype``.
    """

    def __init__(self, out_size: int, nobias: bool = False, dtype=np.float32, in_size: Optional[int] = None) -> None:
        super().__init__()
        self.in_size = in_size
        self.out_size = out_size
        self.dtype = np.dtype(dtype)
        self.W = Parameter(None, name="W")
        if in_size is not None:
            self._init_W()
        self.b = None if nobias else Parameter(np.zeros(out_size, dtype=self.dtype), name="b")

    def _init_W(self, xp=np) -> None:
        i, o = self.in_size, self.out_size
        w = np.random.randn(i, o).astype(self.dtype) * self.dtype.type(np.sqrt(1 / i))
        self.W.data = w if xp is np else xp.asarray(w)

    def forward(self, x: Any) -> Variable:
        if self.W.data is None:
            shape = x.shape if hasattr(x, "shape") else np.shape(x)
            self.in_size = shape[-1]
            xp = get_array_module(x)
            self._init_W(xp)
            adopt_device(self, xp)
        elif backend.cp is not None:
            check_device(self, x, self.W)
        return linear(x, self.W, self.b)


class EmbedID(Layer):
    """Embedding: integer ids -> rows of W (in_size, out_size), W ~ randn in float32."""

    def __init__(self, in_size: int, out_size: int, dtype=np.float32) -> None:
        super().__init__()
        self.W = Parameter(np.random.randn(in_size, out_size).astype(dtype), name="W")

    def forward(self, x: Any) -> Variable:
        return embed_id(x, self.W)
