"""``Function``: one operation of the graph, in the style of Chainer's FunctionNode.

A subclass defines ``forward(*arrays)`` on raw ndarrays and ``backward(*gys)``, its gradient,
written once for both kinds of backward walk:

* in the ordinary walk ``gys`` are raw arrays and ``self.input(i)`` / ``self.output(i)`` hand
  out arrays, so the gradient costs what NumPy by hand costs;
* when the backward pass is recorded (``create_graph=True``) ``gys`` are Variables and the
  accessors hand out Variables, so the same expressions build a graph that can be
  differentiated again.

Operators and the methods that ndarrays and Variables share (``+ - * / ** @``, ``.T``,
``.reshape``, ``.transpose``, ``.sum``, ``[]``) work on either; free functions used in gradients
come from :mod:`zerograd.functions.dual` (and ``sum_to``/``broadcast_to`` from the core), which
dispatch on what they are given. Such a function sets ``array_backward = True`` (every function
of zerograd does). A user's function in the book's style (``array_backward = False``, the
default) always receives Variables and may read ``self.inputs[0].data`` or ``x, = self.inputs``.

A function whose gradient has a faster form on arrays whose *math* differs from ``backward``
(reusing forward's intermediate results, a fused update) defines ``fast_backward`` too; the
ordinary walk uses it, the recorded walk uses ``backward``, and ``gradient_check`` compares both.

Memory: a recorded function holds its inputs strongly and its outputs only through weak
references, so the graph has no reference cycles and is freed as soon as the last output is
dropped. A function whose backward never reads its outputs (``keeps_outputs = False``) holds
no reference to them at all: the walk reaches it through the output itself.

Calling one Function instance twice records two nodes: a call on an instance that is already
part of a graph runs on a fresh copy of it, so neither call's gradient is lost or misrouted.
``Function.__init__`` marks an instance as not yet called (``inputs = None``); a subclass's own
``__init__`` calls it (a book-style subclass that does not still works, on a slower path).
"""
from __future__ import annotations

import copy as _copy
import numbers
import weakref
from typing import Any, Optional, Sequence, Union

import numpy as np

from zerograd.backend import array_types, get_array_module
from zerograd.config import Config
from zerograd.core.variable import Variable

_new_object = object.__new__
_asarray = np.asarray
_weakref = weakref.ref
_scalar_types = (numbers.Number, np.generic)


def as_array(x: Any, xp=np):
    """Return ``x`` as an array; NumPy scalars (as returned by 0-d operations) become 0-d arrays."""
    if isinstance(x, array_types):
        return x
    return xp.asarray(x)


def as_variable(obj: Any) -> Variable:
    """Return ``obj`` if it is a Variable, else wrap it as a constant (no gradient)."""
    if isinstance(obj, Variable):
        return obj
    return Variable(as_array(obj), requires_grad=False)


def weak_scalar_array(value: Any, like: Sequence[Any], xp=np):
    """A 0-d array holding Python/NumPy scalar ``value`` with a *weak* dtype.

    The dtype is what the arrays in ``like`` would have after combining with
    the value under NEP 50: a float32 array times 2.0 stays float32.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if like:
        return xp.asarray(value, dtype=np.result_type(*like, value))
    return xp.asarray(value)


def _inputs_as_variables(func: "Function", inputs: tuple) -> list:
    """Variables for a call's inputs: arrays and numbers become constants (no gradient)."""
    xs: list = []
    scalar_at = []
    boolean = False
    for i, x in enumerate(inputs):
        if isinstance(x, Variable):
            xs.append(x)
        elif isinstance(x, array_types):
            boolean = boolean or x.dtype.kind == "b"
            xs.append(Variable(x, requires_grad=False))
        elif isinstance(x, _scalar_types) and not isinstance(x, bool):
            xs.append(x)
            scalar_at.append(i)
        else:
            raise TypeError(
                f"{type(func).__name__}: input {i} has unsupported type {type(x).__name__}"
                " (expected a Variable, an ndarray or a Python number)"
            )
    if boolean and all(isinstance(x, Variable) and x.data is not None and x.data.dtype.kind == "b" for x in xs):
        raise TypeError(f"{type(func).__name__}: every input is a boolean array, which has no numeric "
                        f"meaning here (True + True is True); cast to a number type first (x.astype(np.float32))")
    if scalar_at:
        arrays = [x.data for x in xs if isinstance(x, Variable)]
        xp = get_array_module(arrays[0]) if arrays else np
        for i in scalar_at:
            xs[i] = Variable(weak_scalar_array(xs[i], arrays, xp), requires_grad=False)
    return xs


#: An output computed without recording (under ``no_grad()``, or from constants alone) is a constant
#: (False: zerograd's and PyTorch's rule), or a new leaf that gets a gradient when used later (True:
#: DeZero's, where every Variable does; ``zerograd book`` sets it for its process). A module global,
#: not a Config switch: it is read on the hot no-record path.
UNRECORDED_OUTPUTS_REQUIRE_GRAD = False


def _output_variable(y, record: bool) -> Variable:
    """A new Variable around forward result ``y`` (a 0-d NumPy scalar becomes a 0-d array)."""
    v = _new_object(Variable)
    v.data = y if isinstance(y, array_types) else _asarray(y)
    v.name = None
    v.grad = None
    v.creator = None
    v.generation = 0
    v.requires_grad = record
    return v


class Function:
    """Base class of every differentiable operation.

    After a recorded call: ``inputs`` is the tuple of input Variables and the outputs are
    reachable through :meth:`output` (weak references). ``inputs`` is None until then.
    """

    __slots__ = ("inputs", "_out", "output_meta")
    inputs: Optional[tuple[Variable, ...]]
    #: A weak reference to the output, a tuple of them (several outputs), or None (none kept).
    _out: Union["weakref.ReferenceType[Variable]", "tuple[weakref.ReferenceType[Variable], ...]", None]
    output_meta: tuple[tuple[Any, Any], ...]
    #: False: backward never reads the outputs, so no reference to them is kept.
    keeps_outputs = True
    #: True: backward is written with accessors and dual operations (see the module docstring)
    #: and receives raw arrays in the ordinary walk. False (the book's style): Variables always.
    array_backward = False
    #: Optional ``fast_backward(*gys)`` on arrays, used by the ordinary walk instead of
    #: ``backward`` where the faster math differs; ``gradient_check`` compares the two.
    fast_backward = None
    #: True for an elementwise function of one input: y, dy and dx = backward(dy) all have x's
    #: shape and dtype by construction, so the walk need not check dx (it checks every other).
    elementwise = False
    #: Settings that cache live state rather than fix the computation (an LSTM's joined weights):
    #: ``zerograd.compile`` does not compare them between two traces.
    trace_ignores: tuple[str, ...] = ()
    #: What the ordinary walk calls, resolved once per class from the two attributes above:
    #: ``fast_backward``, else ``backward`` when ``array_backward``, else None (the book's style).
    _array_walk_backward: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._array_walk_backward = cls.fast_backward or (cls.backward if cls.array_backward else None)

    def __init__(self) -> None:
        #: The input Variables of the recorded call (None before it).
        self.inputs = None

    def __call__(self, *inputs: Any):
        if getattr(self, "inputs", None) is not None:  # (a book-style __init__ may not call ours)
            return self._fresh()(*inputs)
        xs: Sequence[Any] = inputs
        for x in inputs:
            if not isinstance(x, Variable):
                xs = _inputs_as_variables(self, inputs)
                break
        ys = self.forward(*[x.data for x in xs])
        record = False
        gen = 0
        if Config.enable_backprop:
            for x in xs:
                if x.requires_grad:
                    record = True
                if x.generation > gen:
                    gen = x.generation
        multi = type(ys) is tuple
        keep = record or UNRECORDED_OUTPUTS_REQUIRE_GRAD
        outputs = [_output_variable(y, keep) for y in ys] if multi else [_output_variable(ys, keep)]
        if record:
            for y in outputs:
                y.creator = self
                y.generation = gen + 1
            self.inputs = tuple(xs)
            if len(outputs) > 1:
                self._out = tuple(_weakref(y) for y in outputs)
                self.output_meta = tuple((y.data.shape, y.data.dtype) for y in outputs)
            else:
                self._out = _weakref(outputs[0]) if self.keeps_outputs else None
        return outputs if len(outputs) > 1 else outputs[0]

    def _fresh(self) -> "Function":
        """A copy of this (already recorded) function for a new call: same settings, no graph."""
        f = _copy.copy(self)
        f.inputs = None
        f._out = None
        return f

    # ------------------------------------------------------------ accessors
    def input(self, i: int = 0):
        """Input ``i``: its array in the ordinary walk, the Variable when the pass is recorded."""
        x = self.inputs[i]  # type: ignore[index]  # (set by the recorded call; no cast on this hot path)
        return x if Config.enable_backprop else x.data

    def output(self, i: int = 0):
        """Output ``i`` (needs ``keeps_outputs``): an array, or the Variable when recorded."""
        out = getattr(self, "_out", None)
        if out is None:
            raise AttributeError(f"{type(self).__name__} keeps no reference to its outputs"
                                 " (keeps_outputs is False, or it was never recorded in a graph)")
        y = (out[i] if type(out) is tuple else out)()
        if y is None:
            raise RuntimeError(f"{type(self).__name__}: output {i} was freed before backward")
        return y if Config.enable_backprop else y.data

    @property
    def outputs(self) -> list:
        """Weak references to the outputs (call one to get the Variable, or None once it is freed)."""
        out = getattr(self, "_out", None)
        if out is None:
            raise AttributeError(
                f"{type(self).__name__} keeps no reference to its outputs"
                " (keeps_outputs is False, or it was never recorded in a graph)"
            )
        return list(out) if type(out) is tuple else [out]

    @property
    def generation(self) -> int:
        """Depth in the graph: the largest generation among the inputs (0 before a call)."""
        inputs = getattr(self, "inputs", None)
        return max((x.generation for x in inputs), default=0) if inputs else 0

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def backward(self, *gys):
        raise NotImplementedError(
            f"{type(self).__name__}.backward is not defined: this function is not differentiable"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UnaryFunction(Function):
    """A function of exactly one input and one output, with a leaner call path."""

    __slots__ = ()
    keeps_outputs = False
    array_backward = True

    def __call__(self, x: Any) -> Variable:
        try:
            if self.inputs is not None:
                return self._fresh()(x)
        except AttributeError:  # a subclass whose __init__ does not call Function.__init__
            pass
        if not isinstance(x, Variable):
            x = _inputs_as_variables(self, (x,))[0]
        y = self.forward(x.data)
        v = _new_object(Variable)
        v.data = y if isinstance(y, array_types) else _asarray(y)
        v.name = None
        v.grad = None
        if x.requires_grad and Config.enable_backprop:
            v.creator = self
            v.generation = x.generation + 1
            v.requires_grad = True
            self.inputs = (x,)
            self._out = _weakref(v) if self.keeps_outputs else None
        else:
            v.creator = None
            v.generation = 0
            v.requires_grad = UNRECORDED_OUTPUTS_REQUIRE_GRAD
        return v


class BinaryFunction(Function):
    """A function of exactly two inputs and one output, with a leaner call path."""

    __slots__ = ()
    keeps_outputs = False
    array_backward = True

    def __call__(self, x0: Any, x1: Any) -> Variable:
        try:
            if self.inputs is not None:
                return self._fresh()(x0, x1)
        except AttributeError:  # a subclass whose __init__ does not call Function.__init__
            pass
        if not (isinstance(x0, Variable) and isinstance(x1, Variable)):
            x0, x1 = _inputs_as_variables(self, (x0, x1))
        y = self.forward(x0.data, x1.data)
        v = _new_object(Variable)
        v.data = y if isinstance(y, array_types) else _asarray(y)
        v.name = None
        v.grad = None
        if (x0.requires_grad or x1.requires_grad) and Config.enable_backprop:
            g0 = x0.generation
            g1 = x1.generation
            v.creator = self
            v.generation = (g0 if g0 > g1 else g1) + 1
            v.requires_grad = True
            self.inputs = (x0, x1)
            self._out = _weakref(v) if self.keeps_outputs else None
        else:
            v.creator = None
            v.generation = 0
            v.requires_grad = UNRECORDED_OUTPUTS_REQUIRE_GRAD
        return v


def apply(f: Function, *args: Any):
    """Run ``f`` as a gradient expression: on Variables a recorded call, on arrays its forward alone.

    This is how a function of :mod:`zerograd.functions.dual` serves both walks with one rule.
    """
    for a in args:
        if isinstance(a, Variable):
            return f(*args)
    return f.forward(*args)


def classes_defining_call() -> list[type]:
    """Function and every subclass that defines its own ``__call__``: what a tool that watches
    every call (anomaly mode, ONNX tracing) swaps a wrapper into, and restores afterwards."""
    out, stack = [], [Function]
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return [c for c in out if "__call__" in c.__dict__]
