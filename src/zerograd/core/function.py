"""``Function``: one operation of the graph, in the style of Chainer's FunctionNode.

A subclass defines ``forward(*arrays)`` on raw ndarrays and ``backward(*gys)``
with framework operations (so a gradient can be differentiated again).
Calling the function records the graph when ``Config.enable_backprop`` is on
and some input requires a gradient.

Memory and speed: a recorded function holds its inputs strongly and its
outputs only through weak references, so the graph has no reference cycles
and is freed as soon as the last output is dropped. Built-in functions whose
backward never looks at their output (``keeps_outputs = False``) store no
reference to it at all: the backward walk reaches a single-output function
through that very output. This keeps the number of objects the cyclic garbage
collector tracks per node to three (function, output, input tuple).
"""
from __future__ import annotations

import numbers
import weakref
from typing import Any, Sequence

import numpy as np

from zerograd.backend import array_types, get_array_module
from zerograd.config import Config
from zerograd.core.variable import Variable

_new_object = object.__new__
_asarray = np.asarray
_weakref = weakref.ref


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


_scalar_types = (numbers.Number, np.generic)


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
    for i, x in enumerate(inputs):
        if isinstance(x, Variable):
            xs.append(x)
        elif isinstance(x, array_types):
            xs.append(Variable(x, requires_grad=False))
        elif isinstance(x, _scalar_types) and not isinstance(x, bool):
            xs.append(x)
            scalar_at.append(i)
        else:
            raise TypeError(
                f"{type(func).__name__}: input {i} has unsupported type {type(x).__name__}"
                " (expected a Variable, an ndarray or a Python number)"
            )
    if scalar_at:
        arrays = [x.data for x in xs if isinstance(x, Variable)]
        xp = get_array_module(arrays[0]) if arrays else np
        for i in scalar_at:
            xs[i] = Variable(weak_scalar_array(xs[i], arrays, xp), requires_grad=False)
    return xs


def _output_variable(y) -> Variable:
    """A new constant Variable around forward result ``y`` (0-d NumPy scalars become 0-d arrays)."""
    v = _new_object(Variable)
    v.data = y if isinstance(y, array_types) else _asarray(y)
    v.name = None
    v.grad = None
    v.creator = None
    v.generation = 0
    v.requires_grad = False
    return v


class Function:
    """Base class of every differentiable operation.

    After a recorded call: ``inputs`` is the tuple of input Variables,
    ``outputs`` a list of weak references to the outputs, ``generation`` the
    largest input generation. Set ``keeps_outputs = False`` in a subclass whose
    backward never reads ``self.outputs``, to save memory.
    """

    __slots__ = ("inputs", "_out", "generation", "output_meta")
    keeps_outputs = True
    #: Optional fast path: ``vjp(*gys)`` takes raw arrays (or NumPy scalars) and returns raw
    #: arrays, one per input (None for an input that needs no gradient): the same math as
    #: ``backward``. The backward walk uses it when no graph of the backward pass is needed.
    vjp = None

    def __call__(self, *inputs: Any):
        xs = inputs
        for x in inputs:
            if not isinstance(x, Variable):
                xs = _inputs_as_variables(self, inputs)
                break
        ys = self.forward(*[x.data for x in xs])
        record = False
        if Config.enable_backprop:
            gen = 0
            for x in xs:
                if x.requires_grad:
                    record = True
                if x.generation > gen:
                    gen = x.generation

        if type(ys) is not tuple:  # one output: the common case
            y = _output_variable(ys)
            if record:
                self.generation = gen
                y.requires_grad = True
                y.creator = self
                y.generation = gen + 1
                self.inputs = tuple(xs)
                self._out = _weakref(y) if self.keeps_outputs else None
            return y

        outputs = [_output_variable(y) for y in ys]
        if record:
            self.generation = gen
            for y in outputs:
                y.requires_grad = True
                y.creator = self
                y.generation = gen + 1
            self.inputs = tuple(xs)
            if len(outputs) > 1:
                self._out = tuple(_weakref(y) for y in outputs)
                self.output_meta = tuple((y.data.shape, y.data.dtype) for y in outputs)
            else:
                self._out = _weakref(outputs[0]) if self.keeps_outputs else None
        return outputs if len(outputs) > 1 else outputs[0]

    @property
    def outputs(self) -> list:
        """Weak references to the outputs (call one to get the Variable, or None once it is freed)."""
        out = getattr(self, "_out", None)
        if out is None:
            raise AttributeError(
                f"{type(self).__name__} keeps no reference to its outputs"
                " (keeps_outputs is False, or it was never recorded in a graph)"
            ) from None
        return list(out) if type(out) is tuple else [out]

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

    def __call__(self, x: Any) -> Variable:
        if not isinstance(x, Variable):
            x = _inputs_as_variables(self, (x,))[0]
        y = self.forward(x.data)
        v = _new_object(Variable)
        v.data = y if isinstance(y, array_types) else _asarray(y)
        v.name = None
        v.grad = None
        if x.requires_grad and Config.enable_backprop:
            self.generation = gen = x.generation
            v.creator = self
            v.generation = gen + 1
            v.requires_grad = True
            self.inputs = (x,)
            self._out = _weakref(v) if self.keeps_outputs else None
        else:
            v.creator = None
            v.generation = 0
            v.requires_grad = False
        return v


class BinaryFunction(Function):
    """A function of exactly two inputs and one output, with a leaner call path."""

    __slots__ = ()
    keeps_outputs = False

    def __call__(self, x0: Any, x1: Any) -> Variable:
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
            self.generation = gen = g0 if g0 > g1 else g1
            v.creator = self
            v.generation = gen + 1
            v.requires_grad = True
            self.inputs = (x0, x1)
            self._out = _weakref(v) if self.keeps_outputs else None
        else:
            v.creator = None
            v.generation = 0
            v.requires_grad = False
        return v
