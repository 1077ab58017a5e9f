"""Metrics (not differentiated)."""
from __future__ import annotations

from typing import Any

from zerograd.backend import get_array_module
from zerograd.core import Variable


def accuracy(y: Any, t: Any) -> Variable:
    """Fraction of rows of scores ``y`` (N, C) whose argmax equals the integer label in ``t``.

    Returns a Variable holding a 0-d float array; no graph is recorded.
    """
    y_data = y.data if isinstance(y, Variable) else y
    t_data = t.data if isinstance(t, Variable) else t
    xp = get_array_module(y_data)
    if y_data.ndim != 2 or y_data.shape[0] != t_data.size:
        raise ValueError(f"accuracy: expected scores of shape (N, C) and N labels, got shapes {y_data.shape}"
                         f" and {t_data.shape}")
    if t_data.dtype.kind not in "iu":
        raise TypeError(f"accuracy: labels must be integers, got dtype {t_data.dtype}")
    if t_data.size and (int(t_data.min()) < 0 or int(t_data.max()) >= y_data.shape[1]):
        raise ValueError(f"accuracy: labels must lie in [0, {y_data.shape[1]}) for {y_data.shape[1]} classes, "
                         f"got values from {int(t_data.min())} to {int(t_data.max())}")
    pred = y_data.argmax(axis=1).reshape(t_data.shape)
    return Variable(xp.asarray((pred == t_data).mean()), requires_grad=False)
