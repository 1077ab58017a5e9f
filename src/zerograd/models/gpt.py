"""``GPT``: a decoder-only transformer language model (GPT-2's layout, nanoGPT's sizes).

For token ids idx of shape (B, T), T <= ``context``::

    x = wte[idx] + wpe[:T]                         (B, T, C)   token + learned position embeddings
    x = block_L(... block_1(dropout(x)))           pre-norm causal TransformerBlocks
    logits = layer_norm(x) @ W_head + b_head       (B, T, V)   (tied: layer_norm(x) @ wte^T)

``GPT(65, 64, 4, 4, 128)`` (nanoGPT's character-level Shakespeare on a CPU) has 0.82M parameters.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from zerograd.backend import as_numpy
from zerograd.config import no_grad, test_mode
from zerograd.core import Parameter, Variable
from zerograd.functions.linalg import linear
from zerograd.functions.regularization import dropout as _dropout
from zerograd.functions.shape import transpose
from zerograd.initializers import Normal
from zerograd.layers import EmbedID, LayerList, LayerNorm, Linear, TransformerBlock
from zerograd.models.base import Model

#: Standard deviation of the token and position embeddings (GPT-2's).
EMBEDDING_STD = 0.02


class GPT(Model):
    """A GPT language model: ``forward(idx)`` maps integer ids (B, T) to logits (B, T, vocab_size).

    The embeddings are drawn from N(0, 0.02^2) (GPT-2's), the Linear layers as zerograd's (LeCun
    normal). ``tie_weights``: the LM head reuses the token embedding (logits = h @ wte^T, no bias)
    instead of its own Linear. ``dropout``: on the embeddings, the residual branches and the
    attention weights, in training only.
    """

    def __init__(self, vocab_size: int, context: int, n_layer: int, n_head: int, n_embd: int,
                 dropout: float = 0.0, tie_weights: bool = False, dtype: Any = np.float32) -> None:
        super().__init__()
        if min(vocab_size, context, n_layer, n_head, n_embd) < 1:
            raise ValueError(f"GPT: sizes must be positive, got vocab_size={vocab_size}, context={context}, "
                             f"n_layer={n_layer}, n_head={n_head}, n_embd={n_embd}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"GPT: dropout must lie in [0, 1), got {dropout}")
        dtype = np.dtype(dtype)
        self.vocab_size, self.context, self.dropout, self.tie_weights = vocab_size, context, dropout, tie_weights
        self.wte = EmbedID(vocab_size, n_embd, dtype=dtype)
        self.wte.W.data = self.wte.W.data * dtype.type(EMBEDDING_STD)
        self.wpe = Parameter(name="wpe", initializer=Normal(EMBEDDING_STD, dtype), shape=(context, n_embd))
        self.blocks = LayerList(*[TransformerBlock(n_embd, n_head, dropout, dtype=dtype) for _ in range(n_layer)])
        self.ln_f = LayerNorm(n_embd, dtype=dtype)
        if not tie_weights:
            self.lm_head = Linear(vocab_size, in_size=n_embd, dtype=dtype)

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, context={self.context}, dropout={self.dropout}, "
                f"tie_weights={self.tie_weights}")

    def forward(self, idx: Any) -> Variable:
        ids = idx.data if isinstance(idx, Variable) else np.asarray(idx)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"GPT: expected integer token ids of shape (B, T), got shape {ids.shape} "
                             f"and dtype {ids.dtype}")
        T = ids.shape[1]
        if T > self.context:
            raise ValueError(f"GPT: the input has {T} tokens but the context is {self.context}; "
                             f"keep the last {self.context} (generate crops so)")
        x = self.wte(ids) + self.wpe[:T]
        if self.dropout > 0.0:
            x = _dropout(x, self.dropout)
        x = self.ln_f(self.blocks(x))
        if self.tie_weights:
            return linear(x, transpose(self.wte.W))
        return self.lm_head(x)

    def generate(self, idx: Any, max_new_tokens: int, temperature: float = 1.0,
                 top_k: Optional[int] = None) -> np.ndarray:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T) (or (T,)) and return the ids.

        Each step runs the model on the last ``context`` tokens (under ``no_grad()`` and
        ``test_mode()``), divides the last position's logits by ``temperature``, keeps the
        ``top_k`` largest (all when None) and samples from their softmax with one
        ``np.random.rand`` draw per row (NumPy's global generator: repeatable under
        ``np.random.seed``). ``top_k=1`` is greedy decoding, and so is a temperature so small that
        the divided logits overflow. Returns int64 ids. Non-finite logits are an error.
        """
        ids = np.asarray(idx.data if isinstance(idx, Variable) else idx)
        one_row = ids.ndim == 1
        ids = ids[None] if one_row else ids
        if ids.ndim != 2 or ids.shape[1] == 0 or ids.dtype.kind not in "iu":
            raise ValueError(f"GPT.generate: expected integer ids of shape (B, T) or (T,) with T >= 1, got "
                             f"shape {np.shape(idx)} and dtype {ids.dtype}")
        if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
            raise ValueError(f"GPT.generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        if not temperature > 0:
            raise ValueError(f"GPT.generate: temperature must be positive, got {temperature!r}")
        if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"GPT.generate: top_k must be None or a positive int, got {top_k!r}")
        ids = ids.astype(np.int64)  # (sampled ids need not fit the prompt's dtype)
        with no_grad(), test_mode():
            for _ in range(max_new_tokens):
                raw = as_numpy(self(ids[:, -self.context:]).data)[:, -1, :].astype(np.float64)
                if not np.isfinite(raw).all():
                    raise ValueError("GPT.generate: the model's logits are not finite (NaN or inf): are its weights "
                                     "damaged?")
                with np.errstate(over="ignore"):
                    logits = raw / temperature
                if not np.isfinite(logits).all():  # a temperature so small that only the largest counts
                    logits = np.where(raw == raw.max(axis=-1, keepdims=True), 0.0, -np.inf)
                if top_k is not None and top_k < logits.shape[-1]:
                    kth = np.sort(logits, axis=-1)[:, -top_k, None]
                    logits = np.where(logits < kth, -np.inf, logits)
                p = np.exp(logits - logits.max(axis=-1, keepdims=True))
                cdf = np.cumsum(p, axis=-1)
                cdf /= cdf[:, -1:]  # (the last is exactly 1)
                u = 1.0 - np.random.rand(len(ids), 1)  # in (0, 1]: the first index with cdf >= u has p > 0
                nxt = (cdf < u).sum(axis=-1)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
        return ids[0] if one_row else ids
