"""Attention: ``masked_softmax`` and ``scaled_dot_product_attention``.

For queries q (..., Tq, d), keys k (..., Tk, d) and values v (..., Tk, dv)::

    scores = (q / sqrt(d)) @ k^T                                (..., Tq, Tk)
    w      = masked_softmax(scores, mask)   along the keys      (..., Tq, Tk)
    y      = dropout(w) @ v                                     (..., Tq, dv)

``masked_softmax`` is the one new Function: y_j = exp(x_j - m) / sum_{i attended} exp(x_i - m)
over the attended positions (m: their maximum), exactly 0 at masked ones, and a row with no
attended position is all zeros (not NaN). Its gradient is softmax's, dx = y * (dy - sum(dy * y)),
which is exactly 0 where y is 0; it is written with ``self.output()`` and dual operations, so
it can be differentiated again. The rest is composed of matmul, swapaxes and dropout: every
order of gradient comes for free.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from zerograd.backend import get_array_module
from zerograd.config import Config
from zerograd.core import BinaryFunction, Variable
from zerograd.functions.activation import softmax
from zerograd.functions.linalg import matmul
from zerograd.functions.regularization import dropout as _dropout
from zerograd.functions.shape import _normalize_axis, swapaxes


class MaskedSoftmax(BinaryFunction):
    """y = softmax of x over the positions where ``mask`` is True along ``axis``, 0 elsewhere
    (a row with no True: all 0). Inputs: x (float) and mask (bool, broadcast to x's shape; no
    gradient). dx = y * (dy - sum(dy * y)) along ``axis``: exactly 0 at masked positions."""

    __slots__ = ("axis", "axes")
    keeps_outputs = True

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x, mask):
        xp = get_array_module(x)
        if x.dtype.kind != "f":
            raise TypeError(f"masked_softmax: x must be a floating-point array, got dtype {x.dtype}")
        if mask.dtype != bool:
            raise TypeError(f"masked_softmax: mask must be a boolean array (True = keep), got dtype {mask.dtype}")
        self.axes = _normalize_axis(self.axis, x.ndim, "masked_softmax")
        try:
            if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"masked_softmax: mask of shape {mask.shape} does not broadcast to the input's "
                             f"shape {x.shape}") from None
        neg_inf = xp.asarray(-np.inf, dtype=x.dtype)
        m = xp.where(mask, x, neg_inf).max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isneginf(m), xp.zeros((), x.dtype), m)  # a fully masked row: any finite shift
        e = xp.exp(xp.where(mask, x - m, neg_inf))  # exp(-inf) = 0: exactly zero where masked
        s = e.sum(axis=self.axes, keepdims=True)
        e /= xp.where(s == 0, xp.ones((), x.dtype), s)
        return e

    def backward(self, gy):
        y = self.output()
        gx = y * gy
        return gx - y * gx.sum(axis=self.axes, keepdims=True), None


def masked_softmax(x: Any, mask: Any, axis: int = -1) -> Variable:
    """Softmax along ``axis`` over the positions where boolean ``mask`` (broadcast to x) is True;
    masked positions get exactly 0, and a slice with nothing kept is all zeros (no NaN)."""
    mask = mask.data if isinstance(mask, Variable) else mask
    if not hasattr(mask, "dtype"):
        mask = np.asarray(mask)
    return MaskedSoftmax(axis)(x, mask)


# ------------------------------------------------------------------- scaled dot-product attention
_OP = "scaled_dot_product_attention"


def _shape_dtype(name: str, x: Any) -> tuple[tuple[int, ...], np.dtype]:
    data = x.data if isinstance(x, Variable) else x
    if not hasattr(data, "dtype"):
        raise TypeError(f"{_OP}: {name} must be a Variable or an array, got {type(x).__name__}")
    shape = tuple(data.shape)
    if len(shape) < 2:
        raise ValueError(f"{_OP}: {name} must have at least 2 axes (..., T, d), got shape {shape}")
    if data.dtype.kind != "f":
        raise TypeError(f"{_OP}: {name} must be floating point, got dtype {data.dtype}")
    return shape, data.dtype


def causal_mask(tq: int, tk: int, xp: Any = np) -> Any:
    """Boolean (tq, tk): query i may attend to key j when j <= i + (tk - tq), i.e. the queries are
    the last tq positions of the tk keys (aligned to the end; plain lower-triangular when tq == tk)."""
    return xp.tril(xp.ones((tq, tk), dtype=bool), k=tk - tq)


def scaled_dot_product_attention(q: Any, k: Any, v: Any, mask: Optional[Any] = None, causal: bool = False,
                                 dropout: float = 0.0) -> Variable:
    """softmax(q k^T / sqrt(d) restricted to the attended keys) v, for q (..., Tq, d),
    k (..., Tk, d), v (..., Tk, dv) -> (..., Tq, dv); batch axes broadcast as in matmul.

    ``mask``: boolean, broadcastable to (..., Tq, Tk), True = attend. ``causal``: query i attends
    to keys j <= i (when Tq != Tk the queries are aligned to the end of the keys, as for a query
    block after cached keys; PyTorch's ``is_causal`` aligns to the start instead). Masked keys get
    weight exactly 0; a query with no key to attend to gets zeros (and zero gradients).
    ``dropout``: ratio of attention weights dropped in training (``Config.train``), drawn inside
    the Dropout function's forward; none in ``test_mode()``.
    """
    (q_shape, q_dtype), (k_shape, k_dtype), (v_shape, v_dtype) = (
        _shape_dtype("q", q), _shape_dtype("k", k), _shape_dtype("v", v))
    if not q_dtype == k_dtype == v_dtype:
        raise TypeError(f"{_OP}: q, k and v must have the same dtype, got {q_dtype}, {k_dtype} and {v_dtype}")
    if q_shape[-1] != k_shape[-1]:
        raise ValueError(f"{_OP}: q of shape {q_shape} and k of shape {k_shape} differ in the feature size "
                         f"({q_shape[-1]} != {k_shape[-1]})")
    if k_shape[-2] != v_shape[-2]:
        raise ValueError(f"{_OP}: k of shape {k_shape} and v of shape {v_shape} differ in the number of keys "
                         f"({k_shape[-2]} != {v_shape[-2]})")
    try:
        batch = np.broadcast_shapes(q_shape[:-2], k_shape[:-2], v_shape[:-2])
    except ValueError:
        raise ValueError(f"{_OP}: the batch axes of q {q_shape}, k {k_shape} and v {v_shape} "
                         "do not broadcast") from None
    tq, tk = q_shape[-2], k_shape[-2]
    if tk == 0 or q_shape[-1] == 0:
        raise ValueError(f"{_OP}: k of shape {k_shape} has no keys to attend to, or no features")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{_OP}: dropout must lie in [0, 1), got {dropout}")
    scores_shape = batch + (tq, tk)
    xp = get_array_module(q.data if isinstance(q, Variable) else q)
    if mask is not None:
        mask = mask.data if isinstance(mask, Variable) else mask
        if not hasattr(mask, "dtype"):
            mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"{_OP}: mask must be a boolean array (True = attend), got dtype {mask.dtype}")
        try:
            if np.broadcast_shapes(mask.shape, scores_shape) != scores_shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"{_OP}: mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                             f"shape {scores_shape} (..., Tq, Tk)") from None
    if causal:
        mask = causal_mask(tq, tk, xp) if mask is None else mask & causal_mask(tq, tk, xp)
    scores = matmul(q * (1.0 / math.sqrt(q_shape[-1])), swapaxes(k, -1, -2))  # (scaled first: float16 holds it)
    w = masked_softmax(scores, mask, axis=-1) if mask is not None else softmax(scores, axis=-1)
    if dropout > 0.0 and Config.train:
        w = _dropout(w, dropout)
    return matmul(w, v)

