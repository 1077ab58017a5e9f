"""Embedding lookup."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.core import BinaryFunction, Variable, apply
from zerograd.functions.indexing import GetItemGrad


class EmbedID(BinaryFunction):
    """y = W[ids] (rows of W picked by integer ids of any shape); dW = zeros of W's shape with dy
    added at the ids' rows (repeated ids add up); the ids get no gradient.

    The ids are an input, not a setting: a replayed step (``zerograd.compile``) reads each call's
    own. Forward checks them and keeps a copy (ids edited before backward move no gradient).
    """

    __slots__ = ("ids", "w_shape")

    def forward(self, W, ids):
        if ids.dtype.kind not in "iu":
            raise TypeError(f"embed_id: ids must be integers, got dtype {ids.dtype}")
        vocab = W.shape[0]
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
            raise ValueError(f"embed_id: ids must lie in [0, {vocab}), got values in "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        self.ids = ids.copy()
        self.w_shape = W.shape
        return W[self.ids]

    def backward(self, gy):
        return apply(GetItemGrad(self.ids, self.w_shape), gy), None


def embed_id(x: Any, W: Any) -> Variable:
    """Rows of ``W`` (vocabulary, features) picked by integer ids ``x`` (any shape): W[x]."""
    if isinstance(x, Variable):
        x = x.data
    elif not hasattr(x, "dtype"):
        x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"embed_id: ids must be integers, got dtype {x.dtype}")
    return EmbedID()(W, x)
