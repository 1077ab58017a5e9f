"""Batch normalization and layer normalization layers."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.backend import get_array_module
from zerograd.core import Parameter, Variable
from zerograd.functions.normalization import batch_norm, layer_norm
from zerograd.initializers import Ones, Zeros
from zerograd.layers.base import Layer, create_lazily


class BatchNorm(Layer):
    """Batch normalization for (N, C) or (N, C, H, W) inputs.

    gamma (ones), beta (zeros) and the running statistics ``avg_mean`` (zeros) and ``avg_var``
    (ones) are created at the first call, in the input's dtype. The running statistics are
    buffers: saved, loaded and moved with the weights, never parameters an optimizer sees.
    Training uses batch statistics and updates the running ones with decay 0.9;
    ``test_mode()`` uses the running ones.
    """

    avg_mean: Variable  # (buffers: see register_buffer)
    avg_var: Variable

    def __init__(self, decay: float = 0.9, eps: float = 2e-5) -> None:
        super().__init__()
        self.decay = decay
        self.eps = eps
        self.register_buffer("avg_mean")
        self.register_buffer("avg_var")
        self.gamma = Parameter(name="gamma", initializer=Ones())
        self.beta = Parameter(name="beta", initializer=Zeros())

    def forward(self, x: Any) -> Variable:
        data = x.data if isinstance(x, Variable) else x
        if self.gamma.data is None:
            if data.ndim not in (2, 4):
                raise ValueError(f"BatchNorm: the input must be (N, C) or (N, C, H, W), got shape {data.shape}")
            c = data.shape[1]
            create_lazily(self, self.gamma, (c,), data)
            create_lazily(self, self.beta, (c,), data)
            xp = get_array_module(data)
            self.avg_mean.data = xp.zeros(c, dtype=self.gamma.dtype)
            self.avg_var.data = xp.ones(c, dtype=self.gamma.dtype)
        return batch_norm(x, self.gamma, self.beta, self.avg_mean, self.avg_var, self.decay, self.eps)


class LayerNorm(Layer):
    """Layer normalization over the last axis, with gamma (ones) and beta (zeros) of its size:
    of ``size`` at once, else created at the first call. ``dtype`` None: the first input's
    (float32 when created at once)."""

    def __init__(self, size: int | None = None, eps: float = 1e-5, dtype: Any = None) -> None:
        super().__init__()
        self.eps = eps
        shape = None if size is None else (size,)
        self.gamma = Parameter(name="gamma", initializer=Ones(dtype), shape=shape)
        self.beta = Parameter(name="beta", initializer=Zeros(dtype), shape=shape)

    def forward(self, x: Any) -> Variable:
        if self.gamma.data is None:
            data = x.data if isinstance(x, Variable) else x
            if data.ndim == 0:
                raise ValueError("LayerNorm: the input must have at least one axis, got a 0-d input")
            create_lazily(self, self.gamma, data.shape[-1:], data)
            create_lazily(self, self.beta, data.shape[-1:], data)
        return layer_norm(x, self.gamma, self.beta, self.eps)


