"""Linear algebra: matmul (batched, with broadcast batch dimensions) and linear."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from zerograd.backend import add_into
from zerograd.core import BinaryFunction, Function, Variable
from zerograd.core.ops import _sum_to
from zerograd.functions.shape import reshape


def _check_matmul(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> None:
    if len(a_shape) < 2 or len(b_shape) < 2:
        return
    if a_shape[-1] != b_shape[-2]:
        raise ValueError(
            f"matmul: shapes {a_shape} and {b_shape} are not aligned ({a_shape[-1]} != {b_shape[-2]})"
        )
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions {a_shape[:-2]} and {b_shape[:-2]} of shapes {a_shape} and {b_shape}"
            " do not broadcast"
        ) from None


def _mT(a):
    """``a`` with its last two axes swapped (a view of an array, or a Variable's transpose)."""
    n = a.ndim
    return a.transpose(tuple(range(n - 2)) + (n - 1, n - 2))


class MatMul(BinaryFunction):
    """y = a @ b for inputs of 2 or more dimensions (leading batch dimensions broadcast).

    da = dy @ b^T and db = a^T @ dy, each summed back over broadcast batch dimensions.
    """

    __slots__ = ()

    def forward(self, a, b):
        _check_matmul(a.shape, b.shape)
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        ga = _sum_to(gy @ _mT(self.input(1)), a.data.shape) if a.requires_grad else None
        gb = _sum_to(_mT(self.input(0)) @ gy, b.data.shape) if b.requires_grad else None
        return ga, gb


def matmul(a: Any, b: Any) -> Variable:
    """Matrix product ``a @ b`` as in NumPy: 1-D operands are promoted to matrices and the
    added axis removed again; N-D operands are stacks of matrices with broadcast batch axes."""
    a_shape = a.shape if isinstance(a, Variable) else np.shape(a)
    b_shape = b.shape if isinstance(b, Variable) else np.shape(b)
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"matmul: 0-d operands are not allowed (shapes {a_shape} and {b_shape}); use *")
    if len(a_shape) == 1 or len(b_shape) == 1:
        a2 = reshape(a, (1,) + tuple(a_shape)) if len(a_shape) == 1 else a
        b2 = reshape(b, tuple(b_shape) + (1,)) if len(b_shape) == 1 else b
        a2_shape = (1,) + tuple(a_shape) if len(a_shape) == 1 else tuple(a_shape)
        b2_shape = tuple(b_shape) + (1,) if len(b_shape) == 1 else tuple(b_shape)
        if a2_shape[-1] != b2_shape[-2]:
            raise ValueError(
                f"matmul: shapes {tuple(a_shape)} and {tuple(b_shape)} are not aligned"
                f" ({a2_shape[-1]} != {b2_shape[-2]})"
            )
        y = MatMul()(a2, b2)
        out_shape = y.shape
        if len(a_shape) == 1:
            out_shape = out_shape[:-2] + out_shape[-1:]
        if len(b_shape) == 1:
            out_shape = out_shape[:-1]
        return reshape(y, out_shape)
    return MatMul()(a, b)


class Linear(Function):
    """y = x @ W + b for x of shape (N, in), W of shape (in, out), b of shape (out,) or absent.

    dx = dy @ W^T, dW = x^T @ dy, db = sum of dy over the batch. A gradient nobody
    asked for (x given as a plain array, say) is not computed.
    """

    __slots__ = ()
    keeps_outputs = False
    array_backward = True

    def forward(self, x, W, b=None):
        if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
            raise ValueError(f"linear: x of shape {x.shape} and W of shape {W.shape} do not match"
                             " (expected (N, in) and (in, out))")
        y = x @ W
        if b is not None:
            if b.shape != (W.shape[1],) and b.shape != (1, W.shape[1]):
                raise ValueError(f"linear: b of shape {b.shape} does not match W of shape {W.shape}")
            y = add_into(y, b)
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        gx = gy @ self.input(1).T if x.requires_grad else None
        gW = self.input(0).T @ gy if W.requires_grad else None
        if len(self.inputs) == 3:
            b = self.inputs[2]
            gb = _sum_to(gy, b.data.shape) if b.requires_grad else None
            return gx, gW, gb
        return gx, gW


def linear(x: Any, W: Any, b: Optional[Any] = None) -> Variable:
    """Affine map ``x @ W + b``. x may have extra leading axes: (..., in) -> (..., out)."""
    x_shape = getattr(x, "shape", None)
    if x_shape is None:
        x_shape = np.shape(x)
    if len(x_shape) != 2 and len(x_shape) >= 1:
        W_shape = W.shape if isinstance(W, Variable) else np.shape(W)
        if len(W_shape) != 2 or x_shape[-1] != W_shape[0]:
            raise ValueError(f"linear: x of shape {tuple(x_shape)} and W of shape {tuple(W_shape)} do not "
                             "match (expected (..., in) and (in, out))")
        y = linear(reshape(x, (-1, x_shape[-1])), W, b)
        return reshape(y, tuple(x_shape[:-1]) + (W_shape[-1],))
    return Linear()(x, W) if b is None else Linear()(x, W, b)


def dot(a: Any, b: Any) -> Variable:
    """Same as :func:`matmul` (DeZero's name for it)."""
    return matmul(a, b)


