"""The backward walk: one loop, reverse topological order by generation, each function once.

``y.backward()`` fills ``v.grad`` for every variable ``v`` that ``y`` depends on:

* **The seed.** ``y``'s own gradient, ``y.grad`` when set, else ones shaped like ``y`` (the
  gradient of ``sum(y)``). A leaf's backward only sets that seed.
* **The sum rule.** A variable used several times gets the sum of its gradients; gradients keep
  adding up across backward calls until ``cleargrad()``.
* **One loop for both kinds of walk.** A gradient in flight is a raw array in the ordinary walk
  and a Variable when the backward pass is recorded (``create_graph=True``). The walk switches
  ``Config.enable_backprop`` to ``create_graph`` while it runs, which is what each function's
  ``backward`` and its accessors ``input()`` / ``output()`` follow (see ``core/function.py``).
* **Order.** Functions wait in a heap, deepest generation first, each queued once; when a
  function is taken, every gradient of its outputs has arrived. The walk is a loop, not a
  recursion, so graphs of any depth work.
* **Ownership travels with the gradient.** ``pending[v]`` is what has arrived for ``v`` so far:
  either a value some backward returned (others may hold it, so it is never changed in place),
  or a :class:`_Sum`, a total this walk made, which nobody else holds, so later contributions
  are added into it in place.
* **Conformance.** Every gradient gets its variable's shape (a mismatch is an error naming the
  function), and, for a floating-point variable, its device and dtype, whatever it met on the way
  (the dtype unless ``Config.strict_grad_dtype`` is off: DeZero's rule, for the book's numbers).
* **Storing.** An intermediate variable's gradient is dropped once used, unless ``retain_grad``,
  which adds it to ``.grad`` when its creator runs; a retained gradient never flows back into
  propagation. Leaves receive theirs at the end, added to ``.grad`` under a lock (two threads
  backpropagating into one leaf lose no update). A stored gradient never aliases another stored
  gradient or a view: such a value is copied first.
"""
from __future__ import annotations

import heapq
import threading
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from zerograd.backend import array_types, as_cupy, as_numpy, get_array_module
from zerograd.config import Config, using_config
from zerograd.core import anomaly
from zerograd.core.function import Function, _output_variable
from zerograd.core.hooks import hooks as _hooks, run_hooks
from zerograd.core.ops import cast, copy
from zerograd.core.variable import Variable

_store_lock = threading.Lock()


class _Sum:
    """A gradient total made by this walk: nobody else holds it, so more may be added in place."""

    __slots__ = ("g",)

    def __init__(self, g) -> None:
        self.g = g


def backward(y: Variable, retain_grad: bool = False, create_graph: bool = False,
             inputs: Optional[Sequence[Variable]] = None) -> None:
    """Accumulate d(y)/d(v) into ``v.grad`` for every variable ``v`` that ``y`` depends on.

    ``retain_grad=True`` also keeps the gradients of intermediate variables.
    ``create_graph=True`` records the backward computations, so that the gradients can be
    differentiated again. ``inputs`` (PyTorch's): only these variables' ``.grad`` change
    (an intermediate one among them gets its gradient as with ``retain_grad``).
    """
    if isinstance(inputs, Variable):
        inputs = [inputs]
    if inputs is not None and len(inputs) == 0:
        raise ValueError("backward: inputs is empty (give the variables whose .grad to fill, or None for all)")
    only = None if inputs is None else {id(v) for v in inputs}
    data = y.data
    if data is None:
        raise ValueError("backward: the variable holds no data")
    held = set()  # ids of the arrays that .grad attributes touched by this walk hold
    given = y.grad
    if given is None:
        seed = _ones(data)
        if retain_grad or y.creator is None:
            y.grad = Variable(seed, requires_grad=False)
            held.add(id(seed))
    else:
        if isinstance(given, array_types):  # DeZero's early steps set y.grad to an array
            y.grad = given = Variable(given, requires_grad=False)
        elif not isinstance(given, Variable):
            raise TypeError(f"backward: y.grad must be a Variable or an array, got {type(given).__name__}")
        seed = given.data
        if seed.shape != data.shape:
            raise ValueError(f"backward: y.grad has shape {seed.shape} but y has shape {data.shape}")
        held.add(id(seed))
        if seed.dtype != data.dtype and data.dtype.kind in "fc" and Config.strict_grad_dtype:
            seed = seed.astype(data.dtype)
            if create_graph:
                with using_config("enable_backprop", True):
                    given = cast(given, data.dtype)  # differentiable: the seed's own gradient flows
    if y.creator is None:
        return
    old = Config.enable_backprop
    Config.enable_backprop = create_graph
    try:
        if create_graph:
            seed = given if given is not None else Variable(seed, requires_grad=False)
        _walk(y, seed, retain_grad, held, only)
    finally:
        Config.enable_backprop = old


def _walk(y: Variable, seed, retain_grad: bool, held: set, only: Optional[set] = None) -> None:
    graph = Config.enable_backprop
    heappop, heappush = heapq.heappop, heapq.heappush
    # (-generation, tie-breaker, function, an output); backward() calls this only when y has a creator
    heap: list[tuple[int, int, Function, Variable]] = [(-y.generation, 0, y.creator, y)]  # type: ignore[list-item]
    queued = {y.creator}
    counter = 1
    pending = {y: seed}
    leaves = []
    hooks = _hooks if len(_hooks) else None  # (looked up once per walk: no cost without hooks)
    check = anomaly.check_backward  # None unless detect_anomaly() is on
    while heap:
        _, _, f, out = heappop(heap)
        if type(f._out) is tuple:  # several outputs
            gys, got = _output_grads(f, pending, graph)
            if hooks is not None:
                outs = [ref() for ref in f._out]
                gys = [run_hooks(o, g, graph) if o is not None and o in hooks else g for o, g in zip(outs, gys)]
            if retain_grad or only is not None:
                _retain(f, gys, got, y, held, only)
            if graph:
                gxs = f.backward(*gys)
                if not f.array_backward:
                    _hold(gxs, held)
            else:
                array_backward = f._array_walk_backward
                gxs = array_backward(*gys) if array_backward else _book_style_backward(f, gys, held)
        else:
            gy = pending.pop(out)
            if type(gy) is _Sum:
                gy = gy.g
            if hooks is not None and out in hooks:
                gy = run_hooks(out, gy, graph)
            if (retain_grad or only is not None and id(out) in only) and out is not y:  # y.grad is the seed
                with _store_lock:
                    _store(out, gy, held)
            if graph:
                gxs = f.backward(gy)
                if not f.array_backward:
                    _hold(gxs, held)
            else:
                array_backward = f._array_walk_backward
                gxs = array_backward(gy) if array_backward else _book_style_backward(f, (gy,), held)
        if check is not None:
            check(f, gxs)
        inputs: tuple[Variable, ...] = f.inputs  # type: ignore[assignment]  # (set: f was recorded)
        checked = not f.elementwise  # an elementwise dx is shaped and typed like x by construction
        pairs: Iterable[tuple[Variable, Any]]
        if not checked:
            pairs = ((inputs[0], gxs[0] if type(gxs) is tuple or type(gxs) is list else gxs),)
        elif type(gxs) is not tuple:
            pairs = zip(inputs, (gxs,) if len(inputs) == 1 and type(gxs) is not list
                        else _as_tuple(f, gxs, len(inputs)))
        elif len(gxs) != len(inputs):
            raise _count_error(f, len(gxs), len(inputs))
        else:
            pairs = zip(inputs, gxs)
        for x, gx in pairs:
            if gx is None or not x.requires_grad:
                continue
            if checked:
                xd = x.data
                if graph:  # a Variable whose array has x's dtype and shape passes
                    conform = (type(gx) is not Variable or gx.data.dtype is not xd.dtype
                               or gx.data.shape != xd.shape)
                else:
                    try:  # an array (or a NumPy scalar, from 0-d arithmetic) of x's dtype and shape passes
                        conform = gx.dtype is not xd.dtype or gx.shape != xd.shape
                    except AttributeError:  # a Python number
                        conform = True
                if conform:
                    gx = _conform(f, inputs.index(x), x, gx, graph)
            prev = pending.get(x)
            if prev is not None:  # one more gradient for x
                if type(prev) is _Sum and prev.g.dtype == gx.dtype:
                    prev.g += gx  # in place: a total this walk made
                elif type(prev) is _Sum:  # (kept in its own dtype: strict_grad_dtype off, an integer x)
                    prev.g = prev.g + gx
                else:  # a new total; a recorded one (a Variable) is never added into in place
                    pending[x] = prev + gx if type(prev) is Variable else _Sum(prev + gx)
            else:
                pending[x] = gx
                xc = x.creator
                if xc is None:
                    leaves.append(x)
                elif xc not in queued:
                    queued.add(xc)
                    heappush(heap, (-x.generation, counter, xc, x))
                    counter += 1
    if hooks is not None:
        for x in leaves:
            if x in hooks:
                g = pending[x]
                pending[x] = run_hooks(x, g.g if type(g) is _Sum else g, graph)
    with _store_lock:
        for x in leaves:
            if only is None or id(x) in only:
                _store(x, pending[x], held)


def _retain(f, gys, got, y: Variable, held: set, only: Optional[set] = None) -> None:
    """retain_grad (or ``inputs``): keep the gradients of a multi-output function's outputs that
    received one (those listed in ``only``, when given)."""
    for ref, g, arrived in zip(f._out, gys, got):
        o = ref()
        if only is not None and id(o) not in only:
            continue
        if arrived and o is not None and o.creator is f and o is not y:
            with _store_lock:
                _store(o, g, held)


def _store(v: Variable, g, held: set) -> None:
    """Add gradient ``g`` (a pending value) to ``v.grad`` (the caller holds ``_store_lock``),
    copying it first if it could alias another stored gradient or be a view."""
    owned = type(g) is _Sum
    if owned:
        g = g.g
    if isinstance(g, Variable):
        if not owned and (g.data.base is not None or id(g.data) in held):
            g = copy(g)
    else:
        if type(g) is not type(v.data):  # a NumPy scalar from 0-d arithmetic, or another device
            g = _conform_array(g, v)
        elif not owned and (g.base is not None or id(g) in held):
            g = g.copy()
        g = _output_variable(g, False)
    old = v.grad
    if old is not None:
        if not isinstance(old, Variable):  # an array (DeZero's simple core keeps gradients so)
            old = Variable(old, requires_grad=False)
        g = old + g if Config.enable_backprop else Variable(old.data + g.data, requires_grad=False)
    v.grad = g
    held.add(id(g.data))


def _ones(data):
    """The seed gradient: ones shaped like ``data`` (a fast path for the usual 0-d loss)."""
    if data.ndim == 0 and type(data) is np.ndarray:
        return np.array(1, dtype=data.dtype)
    return get_array_module(data).ones(data.shape, dtype=data.dtype)


def _output_grads(f, pending: dict, graph: bool) -> tuple[list[Any], list[bool]]:
    """Gradients of a multi-output function's outputs; zeros for an output that got none, died, or
    was cut from ``f`` by ``unchain()`` (a leaf now: its gradient stays its own)."""
    gys = []
    got = []
    for k, ref in enumerate(f._out):
        out = ref()
        g = pending.pop(out, None) if out is not None and out.creator is f else None
        got.append(g is not None)
        if g is None:
            shape, dtype = f.output_meta[k]
            g = f.inputs[0].xp.zeros(shape, dtype=dtype)
            if graph:
                g = Variable(g, requires_grad=False)
        gys.append(g.g if type(g) is _Sum else g)
    return gys, got


def _book_style_backward(f, gys, held: set):
    """A user's function in the book's style gets Variables; its results become arrays again.
    They may be arrays it keeps (a constant, a cache): their ids join ``held``, so a stored
    gradient is a copy."""
    gxs = f.backward(*[Variable(_as_array(g, f.inputs[0]), requires_grad=False) for g in gys])
    several = isinstance(gxs, (tuple, list))
    gxs = [g.data if isinstance(g, Variable) else g for g in (gxs if several else (gxs,))]
    _hold(gxs, held)
    return tuple(gxs) if several else gxs[0]


def _hold(gxs, held: set) -> None:
    """Mark what a book-style backward returned as held elsewhere (it may keep it, or return one
    of its inputs): a stored gradient is then a copy."""
    for g in (gxs if isinstance(gxs, (tuple, list)) else (gxs,)):
        if g is not None:
            held.add(id(g.data) if isinstance(g, Variable) else id(g))


def _conform(f, i: int, x: Variable, gx, graph: bool):
    """``gx`` as x's gradient: an array (a Variable when recorded) of x's shape, dtype and device."""
    xd = x.data
    if graph:
        if not isinstance(gx, Variable):
            gx = Variable(_as_array(gx, x), requires_grad=False)
        data = gx.data
    else:
        data = gx = _as_array(gx, x)
    if tuple(data.shape) != tuple(xd.shape):
        raise _shape_error(f, i, x, data)
    if get_array_module(data) is not get_array_module(xd):
        if graph:
            raise TypeError(f"{type(f).__name__}.backward returned a gradient on another device than input {i}"
                            " (move both to one device)")
        gx = data = _conform_array(data, x)
    if data.dtype != xd.dtype and xd.dtype.kind in "fc" and Config.strict_grad_dtype:
        gx = cast(gx, xd.dtype) if graph else data.astype(xd.dtype)
    return gx


def _conform_array(g, v: Variable):
    """A NumPy scalar, or an array of the other device, as an array of v's device."""
    if isinstance(v.data, np.ndarray):
        return as_numpy(g) if isinstance(g, array_types) else np.asarray(g)
    return as_cupy(g)


def _as_array(gx, x: Variable):
    """A gradient as an array: Variables give their data; NumPy scalars and numbers become arrays."""
    if isinstance(gx, Variable):
        gx = gx.data
    if isinstance(gx, array_types):
        return gx
    return x.xp.asarray(gx, dtype=getattr(gx, "dtype", x.data.dtype))


def _as_tuple(f, gxs, n_inputs: int) -> tuple:
    """The gradients a function returned, as a tuple of one entry per input."""
    if not isinstance(gxs, list):
        if n_inputs == 1:
            return (gxs,)
        raise _count_error(f, 1, n_inputs)
    if len(gxs) != n_inputs:
        raise _count_error(f, len(gxs), n_inputs)
    return tuple(gxs)


def _shape_error(f, i: int, x: Variable, gx) -> ValueError:
    return ValueError(
        f"{type(f).__name__}.backward returned a gradient of shape {tuple(np.shape(gx))} for input {i}"
        f" of shape {tuple(x.shape)}"
    )


def _count_error(f, n_grads: int, n_inputs: int) -> ValueError:
    return ValueError(f"{type(f).__name__}.backward returned {n_grads} gradients for {n_inputs} inputs")



class BackwardPlan:
    """The ordinary walk from ``y`` worked out once, for a graph that will be run again on new
    values (``zerograd.compile``): the same functions in the same order, the same gradient sums
    in the same order, the same conformance and stores, but no heap, no pending dictionary and
    no per-variable bookkeeping. The second path of the walk, kept only for speed; the tests of
    ``zerograd.compile`` compare its results with :func:`backward`'s, bit for bit.

    The plan holds the graph's functions and variables; ``run()`` reads their current ``.data``
    (what a replayed forward wrote there). Only the plain walk is planned: no ``retain_grad``,
    ``create_graph`` or ``inputs``.
    """

    def __init__(self, y: Variable) -> None:
        if y.creator is None:
            raise ValueError("BackwardPlan: y has no creator")
        self.y = y
        slot = {y: 0}
        self.variables: list[Variable] = [y]
        arrivals = [1]
        steps = []
        leaves: list[int] = []
        heap: list[tuple[int, int, Any, Variable]] = [(-y.generation, 0, y.creator, y)]
        queued = {y.creator}
        counter = 1
        while heap:
            _, _, f, out = heapq.heappop(heap)
            if type(f._out) is tuple:
                outs = [ref() for ref in f._out]
                out_slots: Any = tuple(slot.get(o) if o is not None and o.creator is f else None for o in outs)
            else:
                out_slots = slot[out]
            inputs: tuple[Variable, ...] = f.inputs
            in_slots: list[Optional[int]] = []
            for i, x in enumerate(inputs[:1] if f.elementwise else inputs):
                if not x.requires_grad:
                    in_slots.append(None)
                    continue
                k = slot.get(x)
                if k is None:
                    k = slot[x] = len(self.variables)
                    self.variables.append(x)
                    arrivals.append(0)
                    if x.creator is None:
                        leaves.append(k)
                    elif x.creator not in queued:
                        queued.add(x.creator)
                        heapq.heappush(heap, (-x.generation, counter, x.creator, x))
                        counter += 1
                arrivals[k] += 1
                in_slots.append(k)
            steps.append((f, out_slots, tuple(in_slots), f._array_walk_backward))
        self.steps = steps
        #: (slot, variable, whether its gradient is a sum this walk made: see ``_Sum``)
        self.leaves = [(k, self.variables[k], arrivals[k] > 1) for k in leaves]
        hooked = [v for v in self.variables if v in _hooks] if len(_hooks) else []
        self.hooked = {slot[v] for v in hooked}
        for f, out_slots, _, _ in steps:
            if type(out_slots) is tuple and len(_hooks) and any(
                    o is not None and o in _hooks for o in (ref() for ref in f._out)):
                raise NotImplementedError(f"BackwardPlan: a hook on an output of {type(f).__name__} (several outputs)")

    def run(self) -> None:
        """Backpropagate from ``y`` (seed: ones) and add the leaves' gradients to their ``.grad``."""
        old = Config.enable_backprop
        Config.enable_backprop = False
        try:
            self._run()
        finally:
            Config.enable_backprop = old

    def _run(self) -> None:
        variables = self.variables
        g: list[Any] = [None] * len(variables)
        g[0] = _ones(self.y.data)
        held: set = set()
        hooked = self.hooked
        for f, out_slot, in_slots, array_backward in self.steps:
            if type(out_slot) is tuple:
                arrived = [g[k] if k is not None else None for k in out_slot]
                if all(a is None for a in arrived):  # (the walk never queues such a function)
                    continue
                gys = []
                for j, k in enumerate(out_slot):
                    gy = arrived[j]
                    if gy is None:
                        shape, dtype = f.output_meta[j]
                        gy = f.inputs[0].xp.zeros(shape, dtype=dtype)
                    else:
                        g[k] = None
                        if k in hooked:
                            gy = run_hooks(variables[k], gy, False)
                    gys.append(gy)
                gxs = array_backward(*gys) if array_backward else _book_style_backward(f, gys, held)
            else:
                gy = g[out_slot]
                if gy is None:  # no gradient arrived (a backward returned None): the walk skips f too
                    continue
                g[out_slot] = None
                if out_slot in hooked:
                    gy = run_hooks(variables[out_slot], gy, False)
                gxs = array_backward(gy) if array_backward else _book_style_backward(f, (gy,), held)
            if type(gxs) is not tuple:
                gxs = (gxs[0],) if f.elementwise and type(gxs) is list else \
                    (gxs,) if type(gxs) is not list else tuple(gxs)
            for i, k in enumerate(in_slots):
                if k is None:
                    continue
                gx = gxs[i]
                if gx is None:
                    continue
                x = variables[k]
                if not f.elementwise:
                    xd = x.data
                    try:
                        conform = gx.dtype is not xd.dtype or gx.shape != xd.shape
                    except AttributeError:
                        conform = True
                    if conform:
                        gx = _conform(f, i, x, gx, False)
                prev = g[k]
                g[k] = gx if prev is None else prev + gx
        with _store_lock:
            for k, x, summed in self.leaves:
                gk = g[k]
                if gk is None:
                    continue
                if k in hooked:
                    gk = run_hooks(x, gk, False)
                _store(x, _Sum(gk) if summed else gk, held)

Variable.backward = backward  # type: ignore[method-assign]
