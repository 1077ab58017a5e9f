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
    pred = y_data.argmax(axis=1).reshape(t_data.shape)
    return Variable(xp.asarray((pred == t_data).mean()), requires_grad=False)
