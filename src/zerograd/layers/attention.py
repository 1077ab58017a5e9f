"""Attention layers: ``MultiHeadAttention`` and the pre-norm ``TransformerBlock`` (GPT-2's).

For x of shape (B, T, C) with H heads of size D = C / H::

    q, k, v = split(x @ W_qkv + b_qkv, 3)             each (B, T, C) -> (B, H, T, D)
    y = scaled_dot_product_attention(q, k, v)          (B, H, T, D), heads as a batch axis
    out = (y -> (B, T, C)) @ W_o + b_o

    block(x) = x + dropout(attn(layer_norm(x)));  block(x) = x + dropout(mlp(layer_norm(x)))
    mlp(x)   = gelu(x @ W_1 + b_1) @ W_2 + b_2       (hidden size 4 C)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.core import Variable
from zerograd.functions.activation import gelu
from zerograd.functions.attention import scaled_dot_product_attention
from zerograd.functions.combine import split
from zerograd.functions.regularization import dropout as _dropout
from zerograd.functions.shape import reshape, transpose
from zerograd.layers.base import Layer
from zerograd.layers.linear import Linear
from zerograd.layers.normalization import LayerNorm


def _residual_dropout(x: Variable, ratio: float) -> Variable:
    """Dropout of a residual branch (none at ratio 0: no mask drawn)."""
    return _dropout(x, ratio) if ratio > 0.0 else x


def _check_ratio(owner: str, ratio: float) -> float:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"{owner}: dropout must lie in [0, 1), got {ratio}")
    return float(ratio)


class MultiHeadAttention(Layer):
    """Multi-head self-attention over (B, T, C) inputs, C = ``n_embd``: one joined Linear makes
    q, k and v, the heads are a batch axis of one batched matmul (no loop over heads), and an
    output Linear mixes them. ``dropout``: on the attention weights, in training only.
    ``causal``: position t attends to positions <= t only."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, causal: bool = False,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in (n_embd, n_head)):
            raise TypeError(f"MultiHeadAttention: n_embd and n_head must be integers, got {n_embd!r} and {n_head!r}")
        if n_head < 1 or n_embd % n_head:
            raise ValueError(f"MultiHeadAttention: n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.n_embd = n_embd
        self.n_head = n_head
        self.dropout = _check_ratio("MultiHeadAttention", dropout)
        self.causal = causal
        self.c_attn = Linear(3 * n_embd, in_size=n_embd, dtype=dtype)
        self.c_proj = Linear(n_embd, in_size=n_embd, dtype=dtype)

    def extra_repr(self) -> str:
        return f"n_embd={self.n_embd}, n_head={self.n_head}, dropout={self.dropout}, causal={self.causal}"

    def forward(self, x: Any) -> Variable:
        shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
        if len(shape) != 3 or shape[2] != self.n_embd:
            raise ValueError(f"MultiHeadAttention: expected an input of shape (B, T, {self.n_embd}), got {shape}")
        B, T, C = shape
        H, D = self.n_head, C // self.n_head
        q, k, v = [transpose(reshape(part, (B, T, H, D)), (0, 2, 1, 3))
                   for part in split(self.c_attn(x), 3, axis=-1)]
        y = scaled_dot_product_attention(q, k, v, causal=self.causal, dropout=self.dropout)
        return self.c_proj(reshape(transpose(y, (0, 2, 1, 3)), (B, T, C)))


class TransformerBlock(Layer):
    """A GPT-2 block: pre-norm causal self-attention and a 4x GELU MLP, each added back to the
    residual stream; ``dropout`` on both residual branches and on the attention weights."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, dtype: Any = np.float32) -> None:
        super().__init__()
        self.dropout = _check_ratio("TransformerBlock", dropout)
        self.ln1 = LayerNorm(n_embd, dtype=dtype)
        self.attn = MultiHeadAttention(n_embd, n_head, dropout=dropout, causal=True, dtype=dtype)
        self.ln2 = LayerNorm(n_embd, dtype=dtype)
        self.fc = Linear(4 * n_embd, in_size=n_embd, dtype=dtype)
        self.proj = Linear(n_embd, in_size=4 * n_embd, dtype=dtype)

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}"

    def forward(self, x: Any) -> Variable:
        x = x + _residual_dropout(self.attn(self.ln1(x)), self.dropout)
        return x + _residual_dropout(self.proj(gelu(self.fc(self.ln2(x)))), self.dropout)
