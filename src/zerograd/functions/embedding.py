"""Embedding lookup."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.core import Variable
from zerograd.functions.indexing import get_item


def embed_id(x: Any, W: Any) -> Variable:
    """Rows of ``W`` (vocabulary, features) picked by integer ids ``x`` (any shape): W[x]."""
    ids = x.data if isinstance(x, Variable) else np.asarray(x) if not hasattr(x, "dtype") else x
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"embed_id: ids must be integers, got dtype {ids.dtype}")
    vocab = (W.shape if isinstance(W, Variable) else np.shape(W))[0]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
        raise ValueError(f"embed_id: ids must lie in [0, {vocab}), got values in [{int(ids.min())}, {int(ids.max())}]")
    return get_item(W, ids)  # (get_item copies index arrays: editing the ids later moves no gradient)
