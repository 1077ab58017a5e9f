"""Batch normalization and layer normalization (composites of differentiable ops: any order)."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.backend import float_dtype
from zerograd.config import Config, no_grad
from zerograd.core import Function, Variable, as_variable
from zerograd.core.ops import cast
from zerograd.functions._naming import names_errors
from zerograd.functions.elementwise import sqrt
from zerograd.functions.reduction import mean
from zerograd.functions.shape import reshape


def _channel_layout(x: Variable, op: str):
    """(axes to reduce, broadcast shape of per-channel values) for 2-D (N, C) or 4-D (N, C, H, W)."""
    if x.ndim == 2:
        return (0,), (1, x.shape[1])
    if x.ndim == 4:
        return (0, 2, 3), (1, x.shape[1], 1, 1)
    raise ValueError(f"{op}: expected a 2-D (N, C) or 4-D (N, C, H, W) input, got shape {x.shape}")


class UpdateRunningStatistics(Function):
    """running = decay * running + (1 - decay) * batch, in place in the arrays of inputs 2 and 3, for the
    batch mean (input 0) and the unbiased batch variance (input 1 times ``unbias``); not differentiable.
    A function, not Python around NumPy, so that a replayed step (``zerograd.compile``) updates them too.
    Returns an empty array."""

    __slots__ = ("decay", "unbias")

    def __init__(self, decay: float, unbias: float) -> None:
        super().__init__()
        self.decay = decay
        self.unbias = unbias

    def forward(self, mu, v, running_mean, running_var):
        decay = self.decay
        running_mean *= decay
        running_mean += (1 - decay) * mu.reshape(-1)
        running_var *= decay
        running_var += (1 - decay) * self.unbias * v.reshape(-1)
        return mu.reshape(-1)[:0]


def batch_norm(x: Any, gamma: Any, beta: Any, mean_: Any, var_: Any, decay: float = 0.9,
               eps: float = 2e-5) -> Variable:
    """Batch normalization over the batch (and spatial) axes, per channel.

    Training (``Config.train``): normalise with the batch mean and variance, and update the
    running statistics ``mean_`` and ``var_`` (arrays, or Variables of them: changed in place) as
    ``running = decay * running + (1 - decay) * batch``, with the unbiased batch variance.
    Test mode: normalise with the running statistics. y = gamma * x_hat + beta.
    """
    x = as_variable(x)
    axes, shape = _channel_layout(x, "batch_norm")
    mean_arr = mean_.data if isinstance(mean_, Variable) else mean_
    var_arr = var_.data if isinstance(var_, Variable) else var_
    channels = x.shape[1]
    for name, v in (("gamma", gamma), ("beta", beta), ("running mean", mean_arr), ("running var", var_arr)):
        if (v.shape if isinstance(v, Variable) else np.shape(v)) != (channels,):
            raise ValueError(f"batch_norm: {name} of shape {np.shape(v.data if isinstance(v, Variable) else v)}"
                             f" does not match {channels} channels of an input of shape {x.shape}")
    gamma_b = reshape(gamma, shape)
    beta_b = reshape(beta, shape)
    if Config.train:
        if x.size // x.shape[1] < 2:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input shape"
                             f" {x.shape}")
        mu = mean(x, axis=axes, keepdims=True)
        d = x - mu
        v = mean(d * d, axis=axes, keepdims=True)
        x_hat = d / sqrt(v + eps)
        m = x.size // x.shape[1]
        unbias = m / max(m - 1.0, 1.0)
        with no_grad():
            UpdateRunningStatistics(decay, unbias)(mu, v, mean_, var_)
    else:  # (functions of the running statistics, not NumPy around them: a replayed step reads them afresh)
        inv_std = 1 / sqrt(reshape(as_variable(var_arr if var_ is var_arr else var_), shape) + eps)
        x_hat = (x - reshape(as_variable(mean_arr if mean_ is mean_arr else mean_), shape)) \
            * cast(inv_std, float_dtype(x.dtype))
    return gamma_b * x_hat + beta_b


@names_errors("layer_norm")
def layer_norm(x: Any, gamma: Any, beta: Any, eps: float = 1e-5) -> Variable:
    """Layer normalization over the last axis: gamma * (x - mean) / sqrt(var + eps) + beta."""
    x = as_variable(x)
    mu = mean(x, axis=-1, keepdims=True)
    d = x - mu
    v = mean(d * d, axis=-1, keepdims=True)
    return d / sqrt(v + eps) * gamma + beta
