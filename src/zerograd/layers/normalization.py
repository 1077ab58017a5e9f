"""Batch normalization and layer normalization layers."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.backend import get_array_module
from zerograd.core import Parameter, Variable
from zerograd.functions.normalization import batch_norm, layer_norm
from zerograd.layers.base import Layer


class BatchNorm(Layer):
    """Batch normalization for (N, C) or (N, C, H, W) inputs.

    gamma (ones), beta (zeros) and the running statistics ``avg_mean`` (zeros) and ``avg_var``
    (ones) are created at the first call, in the input's dtype. The running statistics are
    buffers: saved, loaded and moved with the weights, never parameters an optimizer sees.
    Training uses batch statistics and updates the running ones with decay 0.9;
    ``test_mode()`` uses the running ones.
    """

    def __init__(self, decay: float = 0.9, eps: float = 2e-5) -> None:
        super().__init__()
        self.decay = decay
        self.eps = eps
        self.register_buffer("avg_mean")
        self.register_buffer("avg_var")
        self.gamma = Parameter(None, name="gamma")
        self.beta = Parameter(None, name="beta")

    def forward(self, x: Any) -> Variable:
        data = x.data if isinstance(x, Variable) else x
        if self.avg_mean.data is None:
            xp = get_array_module(data)
            c = data.shape[1]
            self.avg_mean.data = xp.zeros(c, dtype=data.dtype)
            self.avg_var.data = xp.ones(c, dtype=data.dtype)
            self.gamma.data = xp.ones(c, dtype=data.dtype)
            self.beta.data = xp.zeros(c, dtype=data.dtype)
        return batch_norm(x, self.gamma, self.beta, self.avg_mean.data, self.avg_var.data, self.decay, self.eps)


class LayerNorm(Layer):
    """Layer normalization over the last axis, with gamma (ones) and beta (zeros) of its size."""

    def __init__(self, size: int | None = None, eps: float = 1e-5, dtype=np.float32) -> None:
        super().__init__()
        self.eps = eps
        self.dtype = np.dtype(dtype)
        self.gamma = Parameter(None if size is None else np.ones(size, dtype=self.dtype), name="gamma")
        self.beta = Parameter(None if size is None else np.zeros(size, dtype=self.dtype), name="beta")

    def forward(self, x: Any) -> Variable:
        if self.gamma.data is None:
            data = x.data if isinstance(x, Variable) else x
            xp = get_array_module(data)
            self.gamma.data = xp.ones(data.shape[-1], dtype=data.dtype)
            self.beta.data = xp.zeros(data.shape[-1], dtype=data.dtype)
        return layer_norm(x, self.gamma, self.beta, self.eps)


