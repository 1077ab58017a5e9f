"""Loss functions, all numerically stable: logits of +-1000 give finite values and gradients."""
from __future__ import annotations

from typing import Any

from zerograd.backend import get_array_module
from zerograd.core import BinaryFunction, Variable, apply, as_variable
from zerograd.functions._naming import names_errors
from zerograd.functions.activation import Sigmoid, Softmax
from zerograd.functions.combine import clip
from zerograd.functions.elementwise import log
from zerograd.functions.reduction import mean
from zerograd.functions.shape import reshape


def _batch_size(x) -> int:
    """len(x), the book's divisor; 1 for a 0-d input."""
    return x.shape[0] if x.ndim else 1


class MeanSquaredError(BinaryFunction):
    """y = sum((x0 - x1)^2) / len(x0) (the book's); dx0 = 2 dy (x0 - x1) / len, dx1 = -dx0."""

    __slots__ = ()

    def forward(self, x0, x1):
        if x0.shape != x1.shape:
            raise ValueError(f"mean_squared_error: shapes {x0.shape} and {x1.shape} differ")
        diff = x0 - x1
        return (diff * diff).sum() / _batch_size(x0)

    def backward(self, gy):
        x0, x1 = self.inputs
        diff = self.input(0) - self.input(1)
        gx0 = gy * diff * (2.0 / _batch_size(x0.data))  # the book's order of operations: same rounding
        return (gx0 if x0.requires_grad else None), (-gx0 if x1.requires_grad else None)


def mean_squared_error(x0: Any, x1: Any) -> Variable:
    """Sum of squared differences divided by the length of axis 0 (the book's definition).
    A plain-array target takes the prediction's dtype. Shapes that differ only by axes of length
    1 ((N, 1) and (N,)) are compared element by element, never broadcast into N x N."""
    x0 = as_variable(x0)
    return MeanSquaredError()(x0, _target_like("mean_squared_error", x1, x0))


def _check_labels(op: str, x, t) -> None:
    """Labels must be integers of shape (N,). Negative ones are refused here; those too large
    are caught where they index the scores (see :func:`_label_error`)."""
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integers, got dtype {t.dtype}")
    if x.ndim != 2 or t.shape != (x.shape[0],):
        raise ValueError(f"{op}: expected scores of shape (N, C) and labels of shape (N,),"
                         f" got {x.shape} and {t.shape}")
    if t.dtype.kind == "i" and t.size and int(t.min()) < 0:
        raise _label_error(op, x, t)


def _label_error(op: str, x, t) -> ValueError:
    lo, hi = int(t.min()), int(t.max())
    return ValueError(f"{op}: labels must lie in [0, {x.shape[1]}), got values in [{lo}, {hi}]")


class SoftmaxCrossEntropy(BinaryFunction):
    """y = -mean_n log softmax(x)[n, t[n]] for integer labels t; dx = (softmax(x) - onehot(t)) dy / N.

    ``fast_backward`` reuses the probabilities computed in forward (``backward`` recomputes them).
    """

    __slots__ = ("probs", "labels")

    def forward(self, x, t):
        _check_labels("softmax_cross_entropy", x, t)
        self.labels = t = t.copy()  # (labels edited before backward change nothing)
        xp = get_array_module(x)
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        try:
            picked = z[xp.arange(n), t]
        except IndexError:
            raise _label_error("softmax_cross_entropy", x, t) from None
        loss = (xp.log(s[:, 0]) - picked).sum() / x.dtype.type(n)
        e /= s
        self.probs = e
        return loss

    def _onehot(self, like):
        x, t = self.inputs
        xp = get_array_module(like)
        onehot = xp.zeros(x.shape, dtype=x.dtype)
        onehot[xp.arange(x.shape[0]), self.labels] = 1
        return onehot

    def backward(self, gy):
        n = self.inputs[0].data.shape[0]
        y = apply(Softmax(1), self.input(0))
        return (y - self._onehot(self.inputs[0].data)) * (gy / n), None

    def fast_backward(self, gy):
        x = self.inputs[0].data
        xp = get_array_module(x)
        n = x.shape[0]
        g = self.probs.copy()
        g[xp.arange(n), self.labels] -= 1
        g *= gy / x.dtype.type(n)
        return g, None


def softmax_cross_entropy(x: Any, t: Any) -> Variable:
    """Cross entropy of softmax(x) (scores of shape (N, C)) against integer labels t of shape (N,)."""
    return SoftmaxCrossEntropy()(x, t.data if isinstance(t, Variable) else t)


class SigmoidCrossEntropy(BinaryFunction):
    """y = sum(max(x, 0) - x t + log(1 + exp(-|x|))) / N  (stable); dx = (sigmoid(x) - t) dy / N."""

    __slots__ = ()

    def forward(self, x, t):
        xp = get_array_module(x)
        loss = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-abs(x)))
        return loss.sum() / x.dtype.type(_batch_size(x))

    def backward(self, gy):
        x, t = self.inputs
        g = gy / _batch_size(x.data)
        gx = (apply(Sigmoid(), self.input(0)) - self.input(1)) * g if x.requires_grad else None
        gt = -self.input(0) * g if t.requires_grad else None
        return gx, gt


def sigmoid_cross_entropy(x: Any, t: Any) -> Variable:
    """Binary cross entropy of sigmoid(x) (logits) against targets t in {0, 1} (or [0, 1]),
    summed and divided by len(x) as in the book; stable for any logit. ``t`` whose shape differs
    only by axes of length 1 (labels (N,) for logits (N, 1)) is reshaped to x's shape."""
    x = as_variable(x)
    return SigmoidCrossEntropy()(x, _target_like("sigmoid_cross_entropy", t, x))


@names_errors("binary_cross_entropy")
def binary_cross_entropy(p: Any, t: Any, eps: float = 1e-7) -> Variable:
    """-mean(t log p + (1 - t) log(1 - p)) over all elements, for probabilities p
    (clipped to [eps, 1 - eps] so that p of exactly 0 or 1 stays finite)."""
    p = clip(p, eps, 1 - eps)
    t = _target_like("binary_cross_entropy", t, p)
    return -mean(t * log(p) + (1 - t) * log(1 - p))


def _target_like(op: str, t: Any, x: Variable) -> Any:
    """``t`` as the target of prediction ``x``: a constant takes x's dtype; a shape that differs
    from x's only by axes of length 1 is reshaped to x's (element by element, as the numbers mean);
    any other difference is an error naming ``op``."""
    t = _constant_target(t, x)
    if t.shape != x.shape:
        if t.size != x.size or [n for n in t.shape if n != 1] != [n for n in x.shape if n != 1]:
            raise ValueError(f"{op}: shapes {x.shape} and {t.shape} differ (only axes of length 1 may differ)")
        t = reshape(t, x.shape) if isinstance(t, Variable) else t.reshape(x.shape)
    return t


def _constant_target(t: Any, like: Variable) -> Any:
    """A target that needs no gradient, as an array of the prediction's dtype (targets never promote)."""
    if isinstance(t, Variable) and t.requires_grad:
        return t
    data = t.data if isinstance(t, Variable) else t
    return get_array_module(like.data).asarray(data, dtype=like.dtype)
