"""Combining and selecting: concat, stack, split, where, clip, maximum, minimum, abs."""
from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from zerograd.backend import get_array_module
from zerograd.core import BinaryFunction, Function, UnaryFunction, Variable, apply
from zerograd.core.ops import _sum_to
from zerograd.functions.shape import _normalize_axis, expand_dims


class Concat(Function):
    """y = the inputs joined along ``axis``; each dx is its slice of dy."""

    __slots__ = ("axis", "dim", "sizes")
    keeps_outputs = False
    array_backward = True

    def __init__(self, axis: int = 0) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        ndim = xs[0].ndim
        if ndim == 0:
            raise ValueError("concat: 0-d inputs cannot be concatenated")
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"concat: axis {self.axis} is out of range for inputs of {ndim} dimensions")
        d = self.dim = self.axis % ndim
        for x in xs[1:]:
            if x.ndim != ndim or x.shape[:d] + x.shape[d + 1:] != xs[0].shape[:d] + xs[0].shape[d + 1:]:
                raise ValueError(f"concat: shapes {[tuple(v.shape) for v in xs]} differ outside axis {d}")
        self.sizes = [x.shape[d] for x in xs]
        return xp.concatenate(xs, axis=d)

    def _sections(self) -> list[int]:
        return list(np.cumsum(self.sizes)[:-1])

    def backward(self, gy):
        parts = apply(Split(self._sections(), self.dim), gy)
        return tuple(parts) if isinstance(parts, (list, tuple)) else (parts,)


def concat(xs: Sequence[Any], axis: int = 0) -> Variable:
    """Join a sequence of arrays along an existing axis."""
    if len(xs) == 0:
        raise ValueError("concat: needs at least one input")
    return Concat(axis)(*xs)


def stack(xs: Sequence[Any], axis: int = 0) -> Variable:
    """Join a sequence of same-shaped arrays along a new axis."""
    if len(xs) == 0:
        raise ValueError("stack: needs at least one input")
    shapes = {tuple(x.shape if isinstance(x, Variable) else np.shape(x)) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: all inputs must have the same shape, got {sorted(shapes)}")
    return concat([expand_dims(x, axis) for x in xs], axis=axis)


class Split(Function):
    """ys = x cut along ``axis``; dx = the output gradients joined again (zeros for unused parts)."""

    __slots__ = ("indices_or_sections", "axis")
    array_backward = True

    def __init__(self, indices_or_sections: Union[int, Sequence[int]], axis: int = 0) -> None:
        super().__init__()
        self.indices_or_sections = indices_or_sections
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        if not -x.ndim <= self.axis < x.ndim:
            raise ValueError(f"split: axis {self.axis} is out of range for an input of shape {x.shape}")
        try:
            return tuple(xp.split(x, self.indices_or_sections, axis=self.axis))
        except (ValueError, IndexError) as e:
            raise ValueError(f"split: {e} (input shape {x.shape}, axis {self.axis})") from None

    def backward(self, *gys):
        return apply(Concat(self.axis), *gys)


def split(x: Any, indices_or_sections: Union[int, Sequence[int]], axis: int = 0) -> list:
    """Cut ``x`` into pieces along ``axis`` (as ``np.split``); returns a list of Variables."""
    ys = Split(indices_or_sections, axis)(x)
    return ys if isinstance(ys, list) else [ys]


def scale(g, w):
    """``g * w`` for gradients (an array for an array, a Variable for a Variable), exactly 0 where
    ``w`` is 0 even where ``g`` is infinite (inf * 0 would be NaN: sqrt(relu(x)) at x < 0).

    Multiplication is branch-free, ten times faster than ``where`` on a random mask, so it goes
    first; ``where`` redoes the product only when it made a NaN."""
    if isinstance(g, Variable):
        return Where(w != 0)(g * w, g.xp.zeros((), dtype=g.dtype))
    xp = get_array_module(g)
    with np.errstate(invalid="ignore"):  # inf * 0: mended below
        r = g * w
    if xp.isnan(r).any():
        r = xp.where(w != 0, r, xp.zeros((), dtype=r.dtype))
    return r


def select(cond, g):
    """``g`` where ``cond`` is true, else exactly 0 (see :func:`scale`)."""
    return scale(g, cond)


class Where(BinaryFunction):
    """y = a where cond else b (cond a constant boolean array; all three broadcast).

    da = dy where cond else 0, db = dy where not cond else 0, each summed to its input's shape.
    """

    __slots__ = ("cond",)

    def __init__(self, cond) -> None:
        super().__init__()
        self.cond = cond

    def forward(self, a, b):
        return get_array_module(a).where(self.cond, a, b)

    def backward(self, gy):
        a, b = self.inputs
        ga = _sum_to(select(self.cond, gy), a.data.shape) if a.requires_grad else None
        gb = _sum_to(select(~self.cond, gy), b.data.shape) if b.requires_grad else None
        return ga, gb


def where(cond: Any, a: Any, b: Any) -> Variable:
    """Elementwise choice: ``a`` where ``cond`` is true, ``b`` elsewhere (broadcasting)."""
    cond = cond.data if isinstance(cond, Variable) else cond
    xp = get_array_module(cond)
    cond = xp.asarray(cond, dtype=bool)
    shapes = (cond.shape, np.shape(a.data if isinstance(a, Variable) else a),
              np.shape(b.data if isinstance(b, Variable) else b))
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"where: shapes {shapes[0]} (cond), {shapes[1]} and {shapes[2]} do not broadcast") from None
    if cond.shape != shape:
        cond = xp.broadcast_to(cond, shape)
    return Where(cond)(a, b)


class Clip(UnaryFunction):
    """y = min(max(x, lo), hi); dx = dy where lo <= x <= hi, else 0."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi) -> None:
        super().__init__()
        self.lo = lo
        self.hi = hi

    def forward(self, x):
        y = get_array_module(x).clip(x, self.lo, self.hi)
        if y.shape != x.shape:
            raise ValueError(f"clip: bounds of shapes {np.shape(self.lo)} and {np.shape(self.hi)} would"
                             f" broadcast the input of shape {x.shape} to {y.shape}")
        return y

    def _mask(self):
        x = self.inputs[0].data
        mask = get_array_module(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            mask &= x >= self.lo
        if self.hi is not None:
            mask &= x <= self.hi
        return mask

    def backward(self, gy):
        return select(self._mask(), gy)


def clip(x: Any, lo: Any, hi: Any) -> Variable:
    """Limit values to [lo, hi] (either bound may be None)."""
    if lo is None and hi is None:
        raise ValueError("clip: lo and hi cannot both be None")
    if isinstance(lo, Variable) or isinstance(hi, Variable):
        raise TypeError("clip: the bounds must be numbers or arrays, not Variables (no gradient flows to"
                        " them; use F.maximum and F.minimum for bounds that need one)")
    return Clip(lo, hi)(x)


class _Pick(BinaryFunction):
    """maximum/minimum: the gradient goes to the chosen input, shared equally on ties."""

    __slots__ = ()
    pick = staticmethod(np.maximum)

    def forward(self, a, b):
        try:
            return self.pick(a, b)
        except ValueError:
            raise ValueError(f"{self.pick.__name__}: shapes {np.shape(a)} and {np.shape(b)} do not broadcast") from None

    def _shares(self):
        """Each input's share of the gradient: 1 where it is picked, 1/2 on ties, and NaN wins
        (NumPy's maximum and minimum propagate it)."""
        a, b = self.inputs[0].data, self.inputs[1].data
        xp = get_array_module(a)
        first = (a > b) if self.pick is np.maximum else (a < b)
        tie = a == b
        if np.result_type(a, b).kind in "fc":
            nan_a, nan_b = xp.isnan(a), xp.isnan(b)
            first = first | (nan_a & ~nan_b)
            tie = tie | (nan_a & nan_b)
        dtype = np.result_type(a, b)
        share_a = (first + 0.5 * tie).astype(dtype)
        return share_a, (1 - share_a).astype(dtype)

    def backward(self, gy):
        a, b = self.inputs
        sa, sb = self._shares()
        ga = _sum_to(scale(gy, sa), a.data.shape) if a.requires_grad else None
        gb = _sum_to(scale(gy, sb), b.data.shape) if b.requires_grad else None
        return ga, gb


class Maximum(_Pick):
    """y = elementwise max(a, b) (broadcasting); ties share the gradient equally."""

    __slots__ = ()
    pick = staticmethod(np.maximum)


class Minimum(_Pick):
    """y = elementwise min(a, b) (broadcasting); ties share the gradient equally."""

    __slots__ = ()
    pick = staticmethod(np.minimum)


def maximum(a: Any, b: Any) -> Variable:
    """Elementwise maximum of two inputs (broadcasting)."""
    return Maximum()(a, b)


def minimum(a: Any, b: Any) -> Variable:
    """Elementwise minimum of two inputs (broadcasting)."""
    return Minimum()(a, b)


class Abs(UnaryFunction):
    """y = |x|; dx = sign(x) * dy (0 at x = 0)."""

    __slots__ = ()
    elementwise = True

    def forward(self, x):
        return get_array_module(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * get_array_module(x).sign(x)


def abs(x: Any) -> Variable:  # noqa: A001  (mirrors np.abs)
    """Elementwise absolute value."""
    return Abs()(x)


def argmax(x: Any, axis: Any = None) -> Any:
    """Indices of the maxima along ``axis`` as a plain integer array (not differentiated)."""
    data = x.__array__() if isinstance(x, Variable) else x  # (a value read: a compiled step's trace sees it)
    if axis is not None:
        axis = _normalize_axis(axis, data.ndim, "argmax")
        if len(axis) != 1:
            raise ValueError(f"argmax: axis must be one axis, got {axis}")
        axis = axis[0]
    return data.argmax(axis=axis)
