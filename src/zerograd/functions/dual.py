"""Functions for writing a gradient once: each takes arrays or Variables and returns the same kind.

Inside a Function's ``backward``, ``gy`` and the accessors ``self.input(i)`` / ``self.output(i)``
are raw arrays in the ordinary backward walk and Variables when the backward pass is recorded
(``create_graph=True``). Operators and the methods that arrays and Variables share
(``+ - * / ** @``, ``.T``, ``.reshape``, ``.transpose``, ``.sum``, ``.astype``, ``[]``) work on
both; these are the free functions, dispatching on what they are given::

    import numpy as np
    from zerograd import Function
    from zerograd.functions import dual as D

    class Sin(Function):
        array_backward = True          # backward is written with accessors and dual functions

        def forward(self, x):
            return np.sin(x)

        def backward(self, gy):
            return gy * D.cos(self.input())

On arrays a dual function costs what NumPy costs; on Variables it records the graph, so the same
gradient can be differentiated again.
"""
from __future__ import annotations

from typing import Any, Sequence, Union

from zerograd.backend import get_array_module
from zerograd.core import Variable, apply
from zerograd.core.ops import _broadcast_to as broadcast_to
from zerograd.core.ops import _sum_to as sum_to
from zerograd.functions.activation import Sigmoid, Softmax
from zerograd.functions.combine import Concat, Split, select, where as _where
from zerograd.functions.elementwise import cos_ as cos
from zerograd.functions.elementwise import exp_ as exp
from zerograd.functions.elementwise import log_ as log
from zerograd.functions.elementwise import sin_ as sin
from zerograd.functions.elementwise import sqrt_ as sqrt
from zerograd.functions.elementwise import tanh_ as tanh

__all__ = ["sum_to", "broadcast_to", "exp", "log", "sin", "cos", "tanh", "sqrt", "sigmoid", "softmax",
           "where", "select", "matmul", "concat", "split"]


def sigmoid(x: Any) -> Any:
    """The logistic function."""
    return apply(Sigmoid(), x)


def softmax(x: Any, axis: Any = 1) -> Any:
    """Softmax along ``axis``."""
    return apply(Softmax(axis), x)


def where(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` else ``b`` (broadcasting)."""
    if isinstance(a, Variable) or isinstance(b, Variable):
        return _where(cond, a, b)
    return get_array_module(a).where(cond, a, b)


def matmul(a: Any, b: Any) -> Any:
    """``a @ b``."""
    return a @ b


def concat(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join along an existing axis."""
    return apply(Concat(axis), *xs)


def split(x: Any, indices_or_sections: Union[int, Sequence[int]], axis: int = 0) -> list:
    """Cut along ``axis`` (as ``np.split``); a list of pieces."""
    parts = apply(Split(indices_or_sections, axis), x)
    return list(parts) if isinstance(parts, (list, tuple)) else [parts]
