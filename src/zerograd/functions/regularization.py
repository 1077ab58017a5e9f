"""Dropout."""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.backend import get_array_module
from zerograd.config import Config
from zerograd.core import Variable, as_variable


def dropout(x: Any, dropout_ratio: float = 0.5) -> Variable:
    """Inverted dropout: in training, zero each element with probability ``dropout_ratio`` and
    scale the rest by 1 / (1 - ratio); the identity in ``test_mode()``.

    The mask comes from one ``np.random.rand(*x.shape)`` call on NumPy's global generator
    (the book's), so seeded programs reproduce the book's numbers.
    """
    x = as_variable(x)
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(f"dropout: dropout_ratio must lie in [0, 1), got {dropout_ratio}")
    if not Config.train:
        return x
    xp = get_array_module(x.data)
    draw = np.asarray(np.random.rand(*x.shape))  # a float, not an array, for a 0-d x
    keep = (draw > dropout_ratio) if xp is np else xp.asarray(draw > dropout_ratio)
    scale = x.dtype.type(1.0 / (1.0 - dropout_ratio))
    mask = keep.astype(x.dtype) * scale
    return x * Variable(xp.asarray(mask), requires_grad=False)
