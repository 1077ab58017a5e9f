"""Metrics (not differentiated)."""
from __future__ import annotations

from typing import Any

from zerograd.backend import get_array_module
from zerograd.config import no_grad
from zerograd.core import Function, Variable


class Accuracy(Function):
    """y = mean over rows n of [argmax_c scores[n, c] == t[n]]; not differentiable.

    A function (not Python around NumPy) so that a replayed step (``zerograd.compile``) computes it
    from each call's own scores and labels."""

    __slots__ = ()

    def forward(self, y, t):
        xp = get_array_module(y)
        if y.ndim != 2 or y.shape[0] != t.size:
            raise ValueError(f"accuracy: expected scores of shape (N, C) and N labels, got shapes {y.shape}"
                             f" and {t.shape}")
        if t.dtype.kind not in "iu":
            raise TypeError(f"accuracy: labels must be integers, got dtype {t.dtype}")
        if t.size and (int(t.min()) < 0 or int(t.max()) >= y.shape[1]):
            raise ValueError(f"accuracy: labels must lie in [0, {y.shape[1]}) for {y.shape[1]} classes, "
                             f"got values from {int(t.min())} to {int(t.max())}")
        pred = y.argmax(axis=1).reshape(t.shape)
        return xp.asarray((pred == t).mean())


def accuracy(y: Any, t: Any) -> Variable:
    """Fraction of rows of scores ``y`` (N, C) whose argmax equals the integer label in ``t``.

    Returns a Variable holding a 0-d float array; no graph is recorded.
    """
    with no_grad():
        return Accuracy()(y, t.data if isinstance(t, Variable) else t)
