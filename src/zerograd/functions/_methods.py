# mypy: disable-error-code="method-assign"
# (this module's purpose: assigning methods to Variable, whose stubs are in core/variable.py)
"""Variable methods and operators backed by functions of this package.

The core knows nothing of these functions (a lower layer never imports a higher
one), so they are attached to Variable here, when ``zerograd.functions`` loads.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from zerograd.core import Variable
from zerograd.core.ops import pow as _const_pow
from zerograd.functions import combine, elementwise, indexing, linalg, reduction, shape


def _reshape(self: Variable, *shape: Any) -> Variable:
    """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
    return shape_mod.reshape(self, shape_mod._shape_arg(shape))


def _transpose(self: Variable, *axes: Any) -> Variable:
    """``x.transpose()``, ``x.transpose(1, 0, 2)`` or ``x.transpose((1, 0, 2))``."""
    if len(axes) == 0 or (len(axes) == 1 and axes[0] is None):
        return shape_mod.transpose(self)
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return shape_mod.transpose(self, axes)


def _sum(self: Variable, axis: Any = None, keepdims: bool = False) -> Variable:
    return reduction.sum(self, axis, keepdims)


def _mean(self: Variable, axis: Any = None, keepdims: bool = False) -> Variable:
    return reduction.mean(self, axis, keepdims)


def _max(self: Variable, axis: Any = None, keepdims: bool = False) -> Variable:
    return reduction.max(self, axis, keepdims)


def _min(self: Variable, axis: Any = None, keepdims: bool = False) -> Variable:
    return reduction.min(self, axis, keepdims)


def _argmax(self: Variable, axis: Any = None):
    return combine.argmax(self, axis)


def _rmatmul(self: Variable, other: Any) -> Variable:
    return linalg.matmul(other, self)


def _pow(self: Variable, c: Any) -> Variable:
    """``v ** c``: a Python-number exponent takes ``pow``; a Variable or array one, ``power``."""
    if isinstance(c, (int, float, np.number)) and not isinstance(c, bool):
        return _const_pow(self, c)
    return elementwise.power(self, c)


def _rpow(self: Variable, base: Any) -> Variable:
    """``2 ** v``: differentiable in the exponent."""
    return elementwise.power(base, self)


shape_mod = shape

Variable.reshape = _reshape
Variable.transpose = _transpose
Variable.T = property(  # type: ignore[assignment]  # (mypy sees the stub's property as a method)
    lambda self: shape_mod.transpose(self), doc="The transpose (axes reversed).")
Variable.sum = _sum
Variable.mean = _mean
Variable.max = _max
Variable.min = _min
Variable.argmax = _argmax
Variable.dot = linalg.matmul
Variable.__matmul__ = linalg.matmul
Variable.__rmatmul__ = _rmatmul
Variable.__getitem__ = indexing.get_item
Variable.__abs__ = combine.abs
Variable.clip = combine.clip
Variable.__pow__ = _pow
Variable.__rpow__ = _rpow
