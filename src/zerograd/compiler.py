"""``zerograd.compile(step)``: capture a training step once, then replay its array operations.

A training step builds the same graph every time: only the numbers change. ``compile`` runs the
step eagerly while watching it, and keeps what it did as a flat program:

* every Function call (its ``forward`` on the arrays of its inputs, the output Variables kept as
  boxes that each replay refills),
* every ``backward()`` as a :class:`~zerograd.core.graph.BackwardPlan` (the ordinary walk worked
  out once: no heap, no pending table),
* the calls that change state outside functions, replayed as the very same calls:
  ``Optimizer.update()`` (so a schedule's or a hook's settings are read at each replay),
  ``Layer.cleargrads()``, ``Variable.cleargrad()``, ``unchain_backward()``.

Where each input comes from is worked out during the trace: an argument of the step (or a view
of one), a parameter or another Variable made before the step (read afresh at each replay),
the state a layer keeps between calls (an LSTM's ``h``, read from the layer at each replay and
written back after it), an earlier call's output, or a constant. **A constant is trusted only
after two traces agree on it**: the step is traced on its first two calls with different
arguments, and a constant or a function setting that differs between them (``x / 255`` computed
with NumPy inside the step, a label array copied by hand, NumPy's random numbers drawn in Python)
means the step depends on work the program cannot see: it then runs eagerly, with one warning
naming the function. Reading a value while tracing (``float(v)``, ``bool(v)``, ``v.item()``,
``np.asarray(v)``, or ``v.data`` of a computed variable other than to return it) would fix a
branch taken in Python: it too makes the step run eagerly, with one warning naming the line.

A replay is used only when the call matches its trace: the same argument structure, shapes,
dtypes and devices, the same ``Config`` (``train``, ``enable_backprop``, ``strict_grad_dtype``),
the same parameters (objects, shapes, dtypes, ``requires_grad``), the same kind of layer state
(an LSTM's ``h`` None or a Variable) and no gradient hook added or removed since. Otherwise the
step is traced again; a few programs are kept per signature.

Python statements that are not zerograd operations (printing, counting, appending to a list)
run only while tracing. What a replay returns is new Variables holding the results (detached: no
graph). See docs/compile.md.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
import warnings
from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy as np

from zerograd.backend import array_types
from zerograd.config import Config
from zerograd.core import anomaly, hooks as _hooks_module
from zerograd.core.function import Function, UnaryFunction, BinaryFunction, _inputs_as_variables, classes_defining_call
from zerograd.core.graph import BackwardPlan
from zerograd.core.variable import Parameter, Variable
from zerograd.layers.base import Layer, _structure as _layer_structure
from zerograd.optimizers import Optimizer

__all__ = ["compile", "CompiledStep", "CompileWarning"]

_asarray = np.asarray
_byte_bounds = np.lib.array_utils.byte_bounds
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class CompileWarning(UserWarning):
    """A compiled step runs eagerly from now on (the message says why), or retraces often."""


def _user_line() -> str:
    """'file:line' of the innermost frame outside zerograd (where the user's step did it)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    return f"{os.path.relpath(frame.f_code.co_filename)}:{frame.f_lineno}"


# ------------------------------------------------------------------------------ the watching
_local = threading.local()
_install_lock = threading.Lock()
_installed = 0
_saved: dict[tuple[type, str], Any] = {}
_VALUE_READS = ("__bool__", "__float__", "__int__", "__index__", "item", "tolist", "numpy", "__array__")
_STATE_CALLS = ((Variable, "cleargrad"), (Variable, "unchain_backward"), (Variable, "unchain"),
                (Layer, "cleargrads"), (Optimizer, "update"))


def _tracer() -> Optional["_Trace"]:
    t = getattr(_local, "trace", None)
    return t if t is not None and not t.paused else None


def _watching_call(call: Callable) -> Callable:
    def __call__(self: Function, *inputs: Any) -> Any:
        t = _tracer()
        if t is None:
            return call(self, *inputs)
        return t.function_call(call, self, inputs)
    return __call__


def _watching_layer(call: Callable) -> Callable:
    def __call__(self: Layer, *inputs: Any) -> Any:
        t = _tracer()
        if t is not None:
            t.layer_called(self)
        return call(self, *inputs)
    return __call__


def _watching_setattr(call: Callable) -> Callable:
    def __setattr__(self: Layer, name: str, value: Any) -> None:
        t = _tracer()
        if t is not None:
            t.layer_write(call, self, name, value)
            with t.pause():
                return call(self, name, value)
        return call(self, name, value)
    return __setattr__


def _watching_backward(call: Callable) -> Callable:
    def backward(self: Variable, retain_grad: bool = False, create_graph: bool = False, inputs: Any = None) -> None:
        t = _tracer()
        if t is None:
            return call(self, retain_grad, create_graph, inputs)
        t.backward_called(self, retain_grad, create_graph, inputs)
        with t.pause():
            return call(self, retain_grad, create_graph, inputs)
    return backward


def _watching_state_call(cls: type, name: str, call: Callable) -> Callable:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        t = _tracer()
        if t is None:
            return call(self, *args, **kwargs)
        t.state_call(cls, name, call, self, args, kwargs)
        with t.pause():
            return call(self, *args, **kwargs)
    method.__name__ = name
    return method


def _watching_read(name: str, call: Callable) -> Callable:
    def method(self: Variable, *args: Any, **kwargs: Any) -> Any:
        t = _tracer()
        if t is not None:
            t.refuse(f"it reads a value while tracing ({_READ_NAMES.get(name, name)} at {_user_line()}), "
                     "so Python may branch on it")
        return call(self, *args, **kwargs)
    method.__name__ = name
    return method


_MISSING = object()
_READ_NAMES = {"__bool__": "bool(v)", "__float__": "float(v)", "__int__": "int(v)", "__index__": "an index",
               "item": "v.item()", "tolist": "v.tolist()", "numpy": "v.numpy()", "__array__": "np.asarray(v)"}


def _from_user_code() -> bool:
    """Whether the caller's caller is outside zerograd (the step's own code)."""
    name = sys._getframe(2).f_globals.get("__name__", "")
    return not (name == "zerograd" or name.startswith("zerograd."))


def _watching_attribute(attribute: Any, name: str) -> property:
    """``v.data`` / ``v.grad`` watched: a read of ``.data`` by the step's own code is a value read
    (allowed only to return it); an assignment by the step's own code is work a replay would miss."""
    get, put = attribute.__get__, attribute.__set__

    def read(self: Variable) -> Any:
        value = get(self, type(self))
        if name == "data" and value is not None:
            t = _tracer()
            if t is not None and id(self) not in t.arg_ids and not isinstance(self, Parameter) and _from_user_code():
                t.data_reads.append((value, _user_line()))
        return value

    def write(self: Variable, value: Any) -> None:
        t = _tracer()
        if t is not None and _from_user_code():
            try:
                old = get(self, type(self))
            except AttributeError:  # (not set yet)
                old = None
            if name == "data" and old is None:
                t.initializing = True  # a book-style layer creating its weights (such a trace is never trusted)
                put(self, value)
                return
            t.refuse(f"it assigns v.{name} at {_user_line()} (Python work on arrays that a replay would not do;"
                     " use optimizer.update(), cleargrads(), or do it between calls)")
        put(self, value)
    return property(read, write)


def _refusing_call(name: str, reason: str, call: Callable) -> Callable:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        t = _tracer()
        if t is not None:
            t.refuse(f"{reason} ({name} at {_user_line()})")
        return call(self, *args, **kwargs)
    method.__name__ = name
    return method


def _watching_optimizer_setattr(call: Callable) -> Callable:
    def __setattr__(self: Optimizer, name: str, value: Any) -> None:
        t = _tracer()
        if t is not None:
            t.refuse(f"it sets the optimizer's {name!r} inside the step (at {_user_line()}); set it, or step a "
                     "schedule, between calls: a replay reads it at each update()")
        call(self, name, value)
    return __setattr__


def _watching_initialize(call: Callable) -> Callable:
    def initialize(self: Parameter, *args: Any, **kwargs: Any) -> Any:
        t = getattr(_local, "trace", None)
        if t is not None:
            t.initializing = True  # (such a trace differs from later ones: it is never the one trusted)
        return call(self, *args, **kwargs)
    return initialize


def _subclasses(cls: type) -> list[type]:
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.__subclasses__())
    return out


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed == 0:
            for cls in classes_defining_call():
                _saved[(cls, "__call__")] = cls.__dict__["__call__"]
                cls.__call__ = _watching_call(cls.__dict__["__call__"])  # type: ignore[method-assign]
            _saved[(Layer, "__call__")] = Layer.__dict__["__call__"]
            Layer.__call__ = _watching_layer(Layer.__dict__["__call__"])  # type: ignore[method-assign]
            _saved[(Layer, "__setattr__")] = Layer.__dict__["__setattr__"]
            Layer.__setattr__ = _watching_setattr(Layer.__dict__["__setattr__"])  # type: ignore[method-assign]
            _saved[(Variable, "backward")] = Variable.__dict__["backward"]
            Variable.backward = _watching_backward(Variable.__dict__["backward"])  # type: ignore[method-assign]
            for cls, name in _STATE_CALLS:
                _saved[(cls, name)] = cls.__dict__[name]
                setattr(cls, name, _watching_state_call(cls, name, cls.__dict__[name]))
            for name in _VALUE_READS:
                _saved[(Variable, name)] = Variable.__dict__[name]
                setattr(Variable, name, _watching_read(name, Variable.__dict__[name]))
            for cls, name in ((Variable, "data"), (Variable, "grad"), (Parameter, "data")):
                _saved[(cls, name)] = cls.__dict__[name]
                setattr(cls, name, _watching_attribute(cls.__dict__[name], name))
            for cls in _subclasses(Optimizer):
                if cls is not Optimizer and "update" in cls.__dict__:  # an update() of its own: replayed as a call
                    _saved[(cls, "update")] = cls.__dict__["update"]
                    setattr(cls, "update", _watching_state_call(cls, "update", cls.__dict__["update"]))
                if "update_one" in cls.__dict__:
                    _saved[(cls, "update_one")] = cls.__dict__["update_one"]
                    setattr(cls, "update_one", _refusing_call(
                        "update_one", "it updates a parameter outside optimizer.update()", cls.__dict__["update_one"]))
                if cls is not Optimizer and "__setattr__" in cls.__dict__:  # (a wrapper's own: distributed's)
                    _saved[(cls, "__setattr__")] = cls.__dict__["__setattr__"]
                    setattr(cls, "__setattr__", _watching_optimizer_setattr(cls.__dict__["__setattr__"]))
            _saved[(Parameter, "initialize")] = Parameter.__dict__["initialize"]
            setattr(Parameter, "initialize", _watching_initialize(Parameter.__dict__["initialize"]))
            _saved[(Optimizer, "__setattr__")] = object.__setattr__
            setattr(Optimizer, "__setattr__", _watching_optimizer_setattr(object.__setattr__))
        _installed += 1


def _uninstall() -> None:
    global _installed
    with _install_lock:
        _installed -= 1
        if _installed == 0:
            for (cls, name), value in _saved.items():
                if cls is Optimizer and name == "__setattr__":
                    del Optimizer.__setattr__  # (back to object's)
                else:
                    setattr(cls, name, value)
            _saved.clear()


# ------------------------------------------------------------------------------- the record
class _Pause:
    __slots__ = ("t",)

    def __init__(self, t: "_Trace") -> None:
        self.t = t

    def __enter__(self) -> None:
        self.t.paused += 1

    def __exit__(self, *exc: object) -> None:
        self.t.paused -= 1


def _settings(f: Function) -> dict:
    """A function's own settings before its forward runs (what its constructor stored)."""
    out = {}
    for cls in type(f).__mro__:
        if cls in (Function, UnaryFunction, BinaryFunction, object):
            continue
        for name in cls.__dict__.get("__slots__", ()):
            if hasattr(f, name):
                out[name] = getattr(f, name)
    if hasattr(f, "__dict__"):
        out.update({k: v for k, v in vars(f).items() if k not in ("inputs", "_out", "output_meta")})
    for name in type(f).trace_ignores:
        out.pop(name, None)
    return out


def _arrays_in(value: Any) -> list:
    """The arrays inside a setting (an index tuple holds several)."""
    if isinstance(value, array_types):
        return [value]
    if type(value) in (tuple, list):
        return [a for v in value for a in _arrays_in(v)]
    if type(value) is dict:
        return [a for v in value.values() for a in _arrays_in(v)]
    return []


def _flatten(tree: Any, leaves: list) -> Any:
    """The structure of ``tree`` (tuples, lists, dicts) with its leaves appended to ``leaves``."""
    if type(tree) in (tuple, list) or isinstance(tree, tuple) and hasattr(type(tree), "_fields"):
        return (type(tree), tuple(_flatten(x, leaves) for x in tree))
    if type(tree) is dict:
        keys = tuple(tree)
        return (dict, keys, tuple(_flatten(tree[k], leaves) for k in keys))
    leaves.append(tree)
    return None


def _unflatten(structure: Any, leaves: Any) -> Any:
    if structure is None:
        return next(leaves)
    if structure[0] is dict:
        return {k: _unflatten(s, leaves) for k, s in zip(structure[1], structure[2])}
    items = [_unflatten(s, leaves) for s in structure[1]]
    return structure[0](*items) if hasattr(structure[0], "_fields") else structure[0](items)


def _leaf_key(x: Any) -> Any:
    if isinstance(x, array_types):
        return (type(x), x.shape, x.dtype, x.strides)
    if isinstance(x, Variable):
        d = x.data
        return (Variable, type(d), None if d is None else (d.shape, d.dtype, d.strides), x.requires_grad)
    try:
        hash(x)
        return (type(x), x)
    except TypeError:
        return (type(x), id(x))


def _same(a: Any, b: Any) -> bool:
    """Whether two constants or settings of two traces are the same (arrays: equal values)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, array_types):
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all() if a.dtype.kind not in "fc"
                                                                 else np.array_equal(_np(a), _np(b), equal_nan=True))
    if isinstance(a, Variable):
        return _same(a.data, b.data)
    if type(a) in (tuple, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if type(a) is slice:
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    try:
        return bool(a == b)
    except Exception:
        return False


def _np(a: Any) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else a.get()


def _overlaps(leaves: list) -> tuple:
    """For argument arrays that are views of one array: which one each follows and at what byte distance
    (a view of the arguments is read from the one the trace found; this keeps that choice right)."""
    firsts: dict[int, tuple[int, int]] = {}
    out = []
    for i, x in enumerate(leaves):
        if type(x) is np.ndarray and x.base is not None:
            at = x.__array_interface__["data"][0]
            k, first_at = firsts.setdefault(id(x.base), (i, at))
            out.append((i, k, at - first_at))
    return tuple(out)


def _view_of(a: Any, args: list) -> Optional[tuple]:
    """(argument index, byte offset) when ``a`` is a NumPy view into argument array ``args[i]``."""
    if type(a) is not np.ndarray or a.base is None:
        return None
    for i, arg in enumerate(args):
        if type(arg) is not np.ndarray or not (arg.flags.c_contiguous or arg.flags.f_contiguous):
            continue
        owner = arg if arg.base is None else arg.base
        if a.base is not owner and a.base is not arg:
            continue
        lo, hi = _byte_bounds(a)
        alo, ahi = _byte_bounds(arg)
        if alo <= lo and hi <= ahi:
            offset = a.__array_interface__["data"][0] - arg.__array_interface__["data"][0]
            made = np.ndarray(a.shape, a.dtype, buffer=arg, offset=offset, strides=a.strides)
            if made.__array_interface__["data"][0] == a.__array_interface__["data"][0]:
                return i, offset
    return None


def _names_of(fn: Any, cells: list, names: list, seen: set) -> None:
    """The closure cells and (globals dict, name) pairs that ``fn`` reads: through decorators
    (``__wrapped__``), ``functools.partial``, bound methods, and the code objects nested in its
    code (comprehensions, generator expressions, inner functions)."""
    if id(fn) in seen:
        return
    seen.add(id(fn))
    if isinstance(fn, functools.partial):
        cells.extend(("value", v) for v in (fn.func,) + fn.args + tuple(fn.keywords.values()))
        _names_of(fn.func, cells, names, seen)
        return
    fn = getattr(fn, "__func__", fn)
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None:
        _names_of(wrapped, cells, names, seen)
    code = getattr(fn, "__code__", None)
    if code is None:
        return
    cells.extend(("cell", c) for c in getattr(fn, "__closure__", None) or ())
    g = fn.__globals__
    stack = [code]
    while stack:
        c = stack.pop()
        names.extend((g, name) for name in c.co_names if name in g)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))


def _same_binding(a: Any, b: Any) -> bool:
    """One name's values at two times: the same object, or equal numbers or strings (a global
    recomputed to the same value)."""
    return a is b or (type(a) is type(b) and type(a) in (int, float, str, bool, complex) and a == b)


def _capture_check(fn: Callable) -> Callable[[], bool]:
    """A check that the names the step reads (closure cells, globals) still point where they do now:
    a model rebound between calls, a global hyperparameter changed, make a new trace."""
    cells: list = []
    names: list = []
    _names_of(fn, cells, names, set())

    def now() -> list:
        out = []
        for kind, c in cells:
            if kind == "value":
                out.append(c)
            else:
                try:
                    out.append(c.cell_contents)
                except ValueError:  # an empty cell
                    out.append(_MISSING)
        out.extend(g.get(name, _MISSING) for g, name in names)
        return out
    before = now()

    def holds() -> bool:
        return all([_same_binding(a, b) for a, b in zip(now(), before)])
    holds.values = before  # type: ignore[attr-defined]
    return holds


def _reaches_parameter(v: Variable) -> bool:
    """Whether backward from ``v`` would reach a parameter (through a graph made before the step).
    A graph cut by ``unchain_backward`` ends in plain leaves: gradients stored there are dropped."""
    stack = [v.creator]
    seen = set()
    while stack:
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        for x in f.inputs or ():
            if x.requires_grad and (isinstance(x, Parameter) or x.creator is not None and x.creator not in seen):
                if isinstance(x, Parameter):
                    return True
                stack.append(x.creator)
    return False


class _Trace:
    """What one eager run of the step did, and where every value came from."""

    def __init__(self, args: list) -> None:
        self.args = args
        #: copies of the array arguments: two traces are compared on them, and the step must not edit them
        self.arg_values = [a.copy() if isinstance(a, array_types) else a for a in args]
        self.arg_ids = {id(a): i for i, a in enumerate(args) if isinstance(a, array_types + (Variable,))}
        self.paused = 0
        self.reason: Optional[str] = None
        self.ops: list = []  # ("call", f, in_vars, outs, train) | ("backward", plan) | ("state", method, obj, args, kwargs)
        self.skeleton: list = []  # hashable description: two traces of one program have equal skeletons
        self.values: list = []  # (what, value): constants and settings two traces must agree on
        self.boxes: dict[int, tuple[int, int]] = {}  # id(output Variable) -> (call number, output number)
        self.box_vars: list[Variable] = []
        self.n_calls = 0
        self.inputs: list = []  # (placeholder Variable, source) for the inputs read afresh at each replay
        self.live: list = []  # Variables made before the step and read at each replay
        self.layers: dict[int, tuple[Layer, dict]] = {}
        self.state_of: dict[int, tuple[int, str]] = {}
        self.state_used: set[tuple[int, str]] = set()
        self.written: set[tuple[int, str]] = set()  # (id(layer), name) assigned by the step's Python code
        self.written_layers: dict[int, Layer] = {}
        self.data_reads: list = []
        self.hook_changes = _hooks_module.changes
        self.initializing = False  # a layer created lazy parameters during this trace
        self.python_writes: list[str] = []  # layer attributes changed to Python values (fine while initializing)
        self.keep: list = []  # (everything seen stays alive, so ids stay unique)

    def pause(self) -> _Pause:
        return _Pause(self)

    def refuse(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    # ---------------------------------------------------------------- hooks called while tracing
    def layer_called(self, layer: Layer) -> None:
        if id(layer) in self.layers:
            return
        k = len(self.layers)
        snapshot = {name: v for name, v in vars(layer).items() if (id(layer), name) not in self.written
                    and (v is None or isinstance(v, (Variable, Layer) + array_types))}
        self.layers[id(layer)] = (layer, snapshot)
        for name, v in snapshot.items():
            if isinstance(v, Variable) and not isinstance(v, Parameter):
                self.state_of.setdefault(id(v), (k, name))

    def function_call(self, call: Callable, f: Function, raw: tuple) -> Any:
        settings: Optional[dict] = None  # (a kept instance runs as a fresh copy: its settings were fixed before)
        if getattr(f, "inputs", None) is not None:
            f = f._fresh()
        else:
            settings = _settings(f)
        xs = list(raw) if all(isinstance(x, Variable) for x in raw) else _inputs_as_variables(f, raw)
        kinds = []
        for i, (r, x) in enumerate(zip(raw, xs)):
            kinds.append(self._source(f, i, r, x, xs))
        with self.pause():
            out = call(f, *xs)
        outs = tuple(out) if type(out) in (list, tuple) else (out,)
        n = self.n_calls
        self.n_calls += 1
        for j, o in enumerate(outs):
            self.boxes[id(o)] = (n, j)
            self.box_vars.append(o)
        self.ops.append(("call", f, tuple(xs), outs, Config.train))
        self.skeleton.append(("call", type(f), tuple(kinds), len(outs), Config.train))
        self.values.append((f"a setting of {type(f).__name__} (call {n + 1} of the step)", settings))
        self.keep.extend((f, raw, xs))
        return out

    def _source(self, f: Function, i: int, r: Any, x: Variable, xs: list) -> tuple:
        """Where input ``i`` comes from; inputs read afresh at each replay get a placeholder in ``xs``."""
        name = type(f).__name__
        if isinstance(r, Variable):
            box = self.boxes.get(id(r))
            if box is not None:
                return ("box",) + box
            if id(r) in self.arg_ids:
                if r.requires_grad:  # (kept as it is: this call stays an eager one)
                    self.refuse(f"argument {self.arg_ids[id(r)]} is a Variable that requires a gradient")
                    return ("arg", self.arg_ids[id(r)])
                xs[i] = ph = Variable(r.data, requires_grad=False)
                self.inputs.append((ph, ("arg", self.arg_ids[id(r)], None, False)))
                return ("arg", self.arg_ids[id(r)])
            if isinstance(r, Parameter):
                self.live.append(r)
                return ("param", id(r))
            if r.creator is None and r.data is not None:  # Variable(x) made in the step from an argument
                k = self.arg_ids.get(id(r.data))
                view = None if k is not None else _view_of(r.data, self.args)
                if k is not None or view is not None:
                    spec = None if view is None else (r.shape, r.dtype, view[1], r.data.strides)
                    k = k if view is None else view[0]
                    self.inputs.append((r, ("arg", k, spec, True)))  # (its .grad is cleared at each replay)
                    return ("arg variable", k, spec, r.requires_grad)
            state = self.state_of.get(id(r))
            if r.creator is not None and r.requires_grad and _reaches_parameter(r):
                where = f"the layer state {state[1]!r}" if state else \
                    f"input {i} of {name} (made by {type(r.creator).__name__} before this call)"
                self.refuse(f"{where} is still linked to a graph that reaches parameters, so backward would reach "
                            "back into an earlier call, which a replay cannot (cut it with unchain_backward(); "
                            "an LSTM keeps its joined weights linked until then)")
                return ("linked",)  # (kept as it is: this call stays an eager one)
            if state is not None:
                self.state_used.add(state)
                xs[i] = ph = Variable(r.data, requires_grad=False)
                self.inputs.append((ph, ("state",) + state))
                return ("state",) + state
            self.live.append(r)
            self.values.append((f"input {i} of {name}, a Variable made outside the step's functions", r))
            return ("outside",)
        if isinstance(r, array_types):
            k = self.arg_ids.get(id(r))
            if k is not None:
                self.inputs.append((x, ("arg", k, None, False)))
                return ("arg", k)
            view = _view_of(r, self.args)
            if view is not None:
                self.inputs.append((x, ("arg", view[0], (r.shape, r.dtype, view[1], r.strides), False)))
                return ("view", view[0], r.shape, r.dtype, view[1], r.strides)
        self.values.append((f"input {i} of {name}, an array computed outside zerograd's functions (or a view of "
                            "a non-contiguous argument)", x.data))
        return ("const",)

    def layer_write(self, call: Callable, layer: Layer, name: str, value: Any) -> None:
        """The step's Python code assigns a layer attribute a Variable, an array or None (``reset_state()``):
        a replay assigns it too. (Other values are Python's business: assigned while tracing only.)"""
        if not (value is None or isinstance(value, (Variable,) + array_types)):
            old = layer.__dict__.get(name, _MISSING)
            if not (old is _MISSING or _same(old, value)) and not isinstance(value, Layer):
                self.python_writes.append(f"it changes the layer attribute {name!r} of {type(layer).__name__} to {value!r} inside "
                            f"the step (at {_user_line()}): Python state a replay would not update")
            return
        self.written.add((id(layer), name))
        self.written_layers[id(layer)] = layer
        box = self.boxes.get(id(value))
        self.ops.append(("setattr", call, layer, name, value, box is not None))
        self.skeleton.append(("setattr", id(layer), name, ("box",) + box if box else
                              ("obj", id(value)) if isinstance(value, (Variable,) + array_types) else type(value)))
        self.keep.append(value)

    def all_layers(self) -> list[Layer]:
        return list(self.written_layers.values()) + [layer for layer, _ in self.layers.values()]

    def release_boxes(self) -> None:
        """Layer state left pointing at a computed value (an RNN's ``h``) gets a Variable of its own:
        the program's boxes are refilled by every replay, and the user may keep that state."""
        for layer in self.all_layers():
            for name, v in list(vars(layer).items()):
                if isinstance(v, Variable) and id(v) in self.boxes and v.creator is None:
                    layer.__dict__[name] = Variable(v.data, requires_grad=v.requires_grad)

    def backward_called(self, y: Variable, retain_grad: bool, create_graph: bool, inputs: Any) -> None:
        if retain_grad or create_graph or inputs is not None:
            self.refuse("it calls backward(retain_grad=..., create_graph=... or inputs=...), which is not replayed")
        elif id(y) not in self.boxes:
            self.refuse("it calls backward() on a variable not computed inside the step")
        elif y.grad is not None:
            self.refuse("it calls backward() on a variable whose .grad was set")
        elif y.creator is not None:
            try:
                plan = BackwardPlan(y)
            except NotImplementedError as e:
                self.refuse(str(e))
                return
            self.ops.append(("backward", plan, Config.strict_grad_dtype))
            self.skeleton.append(("backward", self.boxes[id(y)]))
        else:
            self.skeleton.append(("backward of a leaf",))

    def state_call(self, cls: type, name: str, call: Callable, obj: Any, args: tuple, kwargs: dict) -> None:
        if isinstance(obj, Variable):
            where = self.boxes.get(id(obj))
            if where is None and (id(obj) in self.arg_ids or not (isinstance(obj, Parameter) or obj in self.live)):
                self.refuse(f"it calls {name}() on a variable that is not a parameter or computed in the step")
                return
            target: Any = ("box",) + where if where is not None else ("obj", id(obj))
        else:
            target = ("obj", id(obj))
        self.ops.append(("state", call, obj, args, kwargs))
        self.skeleton.append(("state", cls, name, target))
        self.values.append((f"the arguments of {name}()", (args, kwargs)))


# ------------------------------------------------------------------------------ the program
class _Program:
    """A trace turned into what a replay runs, with the guards that say when it may."""

    def __init__(self, t: _Trace, out: Any, fn: Callable) -> None:
        self.fn = fn
        self.captured_holds = _capture_check(fn)  # (taken after the run: what the step's names point to now)
        self.captured = tuple(self.captured_holds.values)  # type: ignore[attr-defined]
        self.initializing = t.initializing
        self.skeleton = t.skeleton
        self.values = t.values
        self.arg_values = t.arg_values
        self.keep = t.keep
        self.layers = [layer for layer, _ in t.layers.values()]
        self.provisional = False
        for k, (a, copy) in enumerate(zip(t.args, t.arg_values)):
            if isinstance(a, array_types) and not _same(a, copy):
                t.refuse(f"it changes argument {k} in place (an array operation the program cannot replay)")
        # the operations, consecutive calls grouped into blocks
        ops: list = []
        block: list = []
        train = None
        for op in t.ops:
            if op[0] == "call":
                _, f, xs, outs, op_train = op
                if block and op_train != train:
                    ops.append(("calls", tuple(block), train))
                    block = []
                train = op_train
                block.append((f.forward, xs, outs[0] if len(outs) == 1 else outs, len(xs), len(outs) > 1))
            else:
                if block:
                    ops.append(("calls", tuple(block), train))
                    block = []
                ops.append(op)
        if block:
            ops.append(("calls", tuple(block), train))
        self.ops = ops
        self.inputs = t.inputs
        # guards: what the step reads from outside (parameters, layer state) must be what it was
        self.live = [(v, v.data.shape if v.data is not None else None, v.data.dtype if v.data is not None else None,
                      type(v.data), v.requires_grad) for v in {id(v): v for v in t.live}.values()]
        self.layer_guards: list[tuple[Any, ...]] = []
        self.layer_writes: list[tuple[Layer, str, Any]] = []
        layers = list(t.layers.values())
        for k, (layer, start) in enumerate(layers):
            for name, v in start.items():
                if (k, name) in t.state_used:
                    self.layer_guards.append((layer, name, "state", v.data.shape, v.data.dtype, type(v.data)))
                elif v is None or isinstance(v, (Parameter, Layer) + array_types):
                    self.layer_guards.append((layer, name, "is", v, None, None))
            now = vars(layer)
            for name in set(start) | {n for n, v in now.items() if isinstance(v, Variable)}:
                if (id(layer), name) in t.written:  # (assigned by a recorded setattr)
                    continue
                end = now.get(name, start.get(name))
                if end is not start.get(name) and (end is None or isinstance(end, (Variable,) + array_types)):
                    self.layer_writes.append((layer, name, end))
                    self.skeleton.append(("layer write", k, name, ("box",) + t.boxes[id(end)]
                                          if id(end) in t.boxes else ("obj", id(end))))
        self.box_set = {id(v) for v in t.box_vars}
        self.holding = tuple(t.box_vars) + tuple(v for v, _ in t.inputs)
        self.hook_changes = _hooks_module.changes
        self.structure = _layer_structure[0]
        if t.python_writes and not t.initializing:
            t.refuse(t.python_writes[0])
        if t.hook_changes != _hooks_module.changes:
            t.refuse("it adds or removes a gradient hook inside the step (register hooks between calls)")
        # what the step returns
        leaves: list = []
        self.out_structure = _flatten(out, leaves)
        returned: list[tuple[str, Any]] = []
        box_arrays = {id(v.data): (v, k) for k, v in enumerate(t.box_vars) if v.data is not None}
        grads = {id(v.grad): (v, k) for k, v in enumerate([v for v, _ in t.inputs] + t.live) if v.grad is not None}
        kinds: list[tuple] = []
        for leaf in leaves:
            if isinstance(leaf, Variable) and id(leaf) in t.boxes:
                returned.append(("variable", leaf))
                kinds.append(("box",) + t.boxes[id(leaf)])
            elif isinstance(leaf, array_types) and id(leaf) in box_arrays:
                returned.append(("array", box_arrays[id(leaf)][0]))
                kinds.append(("box data", box_arrays[id(leaf)][1]))
            elif isinstance(leaf, Variable) and id(leaf) in grads:
                returned.append(("grad", grads[id(leaf)][0]))
                kinds.append(("grad", grads[id(leaf)][1]))
            elif isinstance(leaf, Variable) and isinstance(leaf, Parameter):
                returned.append(("same", leaf))
                kinds.append(("param", id(leaf)))
            elif isinstance(leaf, Variable) and (id(leaf) in t.state_of or any(leaf is v for v in t.live)):
                returned.append(("same", leaf))
                kinds.append(("outside", id(leaf)))
            elif id(leaf) in t.arg_ids:
                returned.append(("argument", t.arg_ids[id(leaf)]))
                kinds.append(("argument", t.arg_ids[id(leaf)]))
            elif isinstance(leaf, (Variable,) + array_types):
                returned.append(("same", leaf))
                kinds.append(("const",))
                t.refuse(f"it returns {'a Variable' if isinstance(leaf, Variable) else 'an array'} computed outside "
                         "zerograd's functions (a replay cannot compute it; return values of functions)")
            else:
                returned.append(("same", leaf))
                kinds.append(("const",))
                self.values.append(("a value the step returns", leaf))
        self.returned = returned
        if not any(op[0] == "backward" for op in t.ops) and any(
                isinstance(leaf, Variable) and leaf.creator is not None and id(leaf) in t.boxes for leaf in leaves):
            t.refuse("it returns a Variable with a graph and calls no backward(): a compiled step returns values, "
                     "not graphs (call backward() and update() inside the step)")
        self.skeleton.append(("returns", self.out_structure, tuple(kinds)))
        returned_arrays = {id(leaf) for leaf in leaves if isinstance(leaf, array_types)}
        for value, where in t.data_reads:
            if id(value) not in returned_arrays:
                t.refuse(f"it reads .data of a computed variable at {where} (only returning it is replayable;"
                         " use the Variable's shape, or return the value)")
                break

    def guards_hold(self) -> bool:
        if self.hook_changes != _hooks_module.changes or self.structure != _layer_structure[0]:
            return False
        if not self.captured_holds():
            return False
        for v, shape, dtype, kind, requires_grad in self.live:
            d = v.data
            if type(d) is not kind or v.requires_grad is not requires_grad or (
                    d is not None and (d.shape != shape or d.dtype != dtype)):
                return False
        for layer, name, how, a, b, c in self.layer_guards:
            now = layer.__dict__.get(name)
            if how == "is":
                if now is not a:
                    return False
            elif not (isinstance(now, Variable) and type(now.data) is c and now.data.shape == a
                      and now.data.dtype == b and (now.creator is None or not now.requires_grad
                                                   or not _reaches_parameter(now))):
                return False
        return True

    def replay(self, args: list) -> Any:
        for v, source in self.inputs:
            kind = source[0]
            if kind == "arg":
                a = args[source[1]]
                a = a.data if isinstance(a, Variable) else a
                view = source[2]
                if view is not None:
                    shape, dtype, offset, strides = view
                    a = np.ndarray(shape, dtype, buffer=a, offset=offset, strides=strides)
                v.data = a
                if source[3]:
                    v.grad = None
            else:  # layer state, checked by guards_hold
                v.data = self.layers[source[1]].__dict__[source[2]].data
        train = Config.train
        try:
            for op in self.ops:
                kind = op[0]
                if kind == "calls":
                    Config.train = op[2]
                    _run_calls(op[1])
                elif kind == "setattr":  # (a computed value as a new Variable: a later replay must not change it)
                    value = op[4]
                    op[1](op[2], op[3], Variable(value.data, requires_grad=value.requires_grad) if op[5] else value)
                elif kind == "backward":
                    if op[2] is Config.strict_grad_dtype:
                        op[1].run()
                    else:
                        strict, Config.strict_grad_dtype = Config.strict_grad_dtype, op[2]
                        try:
                            op[1].run()
                        finally:
                            Config.strict_grad_dtype = strict
                else:
                    op[1](op[2], *op[3], **op[4])
        finally:
            Config.train = train
        for layer, name, value in self.layer_writes:
            if id(value) in self.box_set:  # (a computed value as a new Variable: a later replay must not change it)
                value = Variable(value.data, requires_grad=value.requires_grad)
            layer.__dict__[name] = value
        out = self.results(args)
        self.release()
        return out

    def release(self) -> None:
        """Let go of this call's arrays (activations, arguments): like an eager step's graph, they
        are not kept between calls."""
        for v in self.holding:
            v.data = None

    def results(self, args: list) -> Any:
        """What the step returns: new Variables (no graph) holding the computed values."""
        out = []
        for how, value in self.returned:
            if how == "variable":
                out.append(Variable(value.data, requires_grad=False))
            elif how == "array":
                out.append(value.data)
            elif how == "grad":
                out.append(value.grad)
            elif how == "argument":
                out.append(args[value])
            else:
                out.append(value)
        return _unflatten(self.out_structure, iter(out))


def _run_calls(block: tuple) -> None:
    """Each function's forward on its inputs' current arrays, into its output boxes."""
    for forward, xs, out, n, multi in block:
        if n == 1:
            y = forward(xs[0].data)
        elif n == 2:
            y = forward(xs[0].data, xs[1].data)
        else:
            y = forward(*[x.data for x in xs])
        if multi:
            for o, yk in zip(out, y):
                o.data = yk if isinstance(yk, array_types) else _asarray(yk)
        else:
            out.data = y if isinstance(y, array_types) else _asarray(y)


def _differing(a: _Program, b: _Program) -> Optional[str]:
    """What the two traces of one program disagree on (None: nothing)."""
    for (what, x), (_, y) in zip(a.values, b.values):
        if x is None or y is None:
            continue
        if what.startswith("a setting") and any(u is not v for u, v in zip(_arrays_in(x), _arrays_in(y))):
            return what + " (an array made in the step and kept by the function, such as F.where's condition " \
                "or an index array: a replay could not follow a new one)"
        if not _same(x, y):
            return what
    return None


def _args_differ(a: list, b: list) -> bool:
    """Whether two calls' arguments differ in value (else two traces say nothing about constants)."""
    for x, y in zip(a, b):
        x = x.data if isinstance(x, Variable) else x
        y = y.data if isinstance(y, Variable) else y
        if isinstance(x, array_types) and not _same(x, y):
            return True
    return False


# ------------------------------------------------------------------------------- the step
class _Signature:
    __slots__ = ("pending", "ready")

    def __init__(self) -> None:
        self.pending: list[_Program] = []  # traced once: not trusted yet
        #: programs two traces agreed on; one traced twice on equal arguments is ``provisional``: it
        #: replays only for those arguments, and the first call with others is traced to check it
        self.ready: list[_Program] = []


class CompiledStep:
    """What :func:`compile` returns: call it like the step. Attributes for the curious:
    ``traces`` and ``replays`` (counts), ``trace_seconds`` (time spent tracing), ``eager_reason``
    (why it runs eagerly, or None)."""

    def __init__(self, fn: Callable, max_programs: int = 8) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.max_programs = max_programs
        self.signatures: "OrderedDict[Any, _Signature]" = OrderedDict()
        self.traces = 0
        self.replays = 0
        self.trace_seconds = 0.0
        self.eager_reason: Optional[str] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<zerograd.compile of {getattr(self.fn, '__qualname__', self.fn)!r}: {self.traces} traces, " \
               f"{self.replays} replays{', eager: ' + self.eager_reason if self.eager_reason else ''}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.eager_reason is not None or getattr(_local, "trace", None) is not None \
                or anomaly.check_backward is not None:
            return self.fn(*args, **kwargs)
        if not kwargs and all(type(a) is np.ndarray for a in args):  # the usual call, keyed quicker
            leaves: list = list(args)
            structure: Any = len(args)
            arrays = tuple([(a.shape, a.dtype, a.strides) for a in args])
        else:
            leaves = []
            structure = _flatten((args, kwargs), leaves)
            arrays = tuple([_leaf_key(x) for x in leaves])
        ids = [id(x) for x in leaves]
        aliases: Any = None if len(set(ids)) == len(ids) else tuple(ids.index(i) for i in ids)
        for x in leaves:
            if type(x) is np.ndarray and x.base is not None:  # views: how they overlap is part of the signature
                aliases = (aliases, _overlaps(leaves))
                break
        key = (structure, arrays, aliases, Config.train, Config.enable_backprop, Config.strict_grad_dtype)
        with self._lock:
            sig = self.signatures.get(key)
            if sig is not None:
                self.signatures.move_to_end(key)
                for program in sig.ready:
                    if program.guards_hold() and (not program.provisional or not _args_differ(program.arg_values,
                                                                                               leaves)):
                        self.replays += 1
                        return program.replay(leaves)
        return self._trace(key, sig, args, kwargs, leaves)

    def _trace(self, key: Any, sig: Optional[_Signature], args: tuple, kwargs: dict, leaves: list) -> Any:
        start = time.perf_counter()
        with self._lock:
            holding = [p for p in (sig.pending + sig.ready if sig else []) if not p.initializing and p.guards_hold()]
        t = _Trace(leaves)
        _install()
        _local.trace = t
        try:
            out = self.fn(*args, **kwargs)
        finally:
            _local.trace = None
            _uninstall()
        self.traces += 1
        program = _Program(t, out, self.fn)
        if t.reason is None:
            t.release_boxes()
            kept = {id(v) for layer in t.all_layers() for v in vars(layer).values() if isinstance(v, Variable)}
            program.holding = tuple(v for v in program.holding if id(v) not in kept)
            result = program.results(leaves)
            program.release()
        self.trace_seconds += time.perf_counter() - start
        if t.reason is not None:
            self._go_eager(t.reason)
            return out  # (this run was an eager one: its results as they are, graph and all)
        with self._lock:
            if sig is None:
                sig = self.signatures[key] = _Signature()
                while len(self.signatures) > self.max_programs:
                    self.signatures.popitem(last=False)
            match = next((p for p in sig.pending + sig.ready if p.skeleton == program.skeleton
                          and len(p.captured) == len(program.captured)
                          and all(_same_binding(a, b) for a, b in zip(p.captured, program.captured))), None)
            if match is None and holding and not program.initializing:
                self._go_eager("what it does changed between two calls although nothing the guards watch changed "
                               "(Python control flow on a counter, a flag or a value the trace did not see)")
            elif match is None:
                sig.pending.append(program)
                if len(sig.pending) + len(sig.ready) > self.max_programs:
                    self._go_eager(f"its structure changed {len(sig.pending)} times for one signature "
                                   "(Python control flow that a trace cannot see?)")
            else:
                differing = _differing(match, program)
                if differing is not None:
                    self._go_eager(f"{differing} differs between two calls: the step computes it with code the "
                                   "program cannot replay (use zerograd functions, or pass it as an argument)")
                else:
                    (sig.pending if match in sig.pending else sig.ready).remove(match)
                    program.provisional = not _args_differ(match.arg_values, program.arg_values)
                    sig.ready.append(program)
        if self.traces == 4 * self.max_programs and self.eager_reason is None and self.traces > self.replays:
            warnings.warn(f"zerograd.compile({getattr(self.fn, '__qualname__', 'step')}) traced {self.traces} times "
                          f"and replayed {self.replays} times: its arguments' shapes, dtypes or Python values, or "
                          "the objects its names point to, keep changing (each is a new signature)",
                          CompileWarning, stacklevel=3)
        return result

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """``@zerograd.compile`` on a method: the instance is the first argument (one cache per instance)."""
        return self if obj is None else functools.partial(self, obj)

    def _go_eager(self, reason: str) -> None:
        self.eager_reason = reason
        self.signatures.clear()
        warnings.warn(f"zerograd.compile({getattr(self.fn, '__qualname__', 'step')}) runs eagerly from now on: "
                      f"{reason}", CompileWarning, stacklevel=4)


def compile(fn: Optional[Callable] = None, *, max_programs: int = 8) -> Any:
    """Compile a training step (also a decorator: ``@zerograd.compile``).

    ``step = zerograd.compile(train_step)`` returns a callable that runs ``train_step`` eagerly
    while tracing it on its first calls, and then replays the traced program: the same array
    operations on the new arguments, without building Variables, Functions or a heap. Results,
    parameters, gradients and optimizer state are those of eager execution, bit for bit. A step
    whose work the program cannot see runs eagerly, with one :class:`CompileWarning` saying why.
    See the module's docstring and docs/compile.md.
    """
    if fn is None:
        return functools.partial(compile, max_programs=max_programs)
    if not callable(fn):
        raise TypeError(f"zerograd.compile: expected a function, got {type(fn).__name__}")
    return CompiledStep(fn, max_programs)
