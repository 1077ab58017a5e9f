"""The backward walk: reverse topological order by generation, iterative, each function once.

Rules kept here (the heart of the framework):

* A variable that feeds several functions receives the **sum** of their
  gradients, and gradients keep adding up across backward calls until
  ``cleargrad()``.
* Accumulation makes new arrays, and a gradient stored on a variable never
  aliases another stored gradient, so changing one in place cannot touch another.
* Without ``create_graph`` no graph is recorded, so gradients have no creator.

There are two walks. With ``create_graph`` or ``retain_grad`` every gradient
is a Variable and each function's ``backward`` (written in framework ops) runs.
Otherwise (the common training case) the walk carries raw arrays: a function
that defines ``vjp`` (its backward on arrays) is called directly, intermediate
gradients never become Variables, and only the gradients that outlive the
walk (those of leaves) are wrapped. Functions without ``vjp`` still work: their
``backward`` runs with the graph switched off.
"""
from __future__ import annotations

import heapq
import numpy as np

from zerograd.backend import array_types, get_array_module
from zerograd.config import Config
from zerograd.core.variable import Variable  # variable.py imports this module only after defining Variable


def _gradient_error(f, i, x, gx) -> ValueError:
    return ValueError(
        f"{type(f).__name__}.backward returned a gradient of shape {tuple(np.shape(gx))} for input {i}"
        f" of shape {tuple(x.shape)}"
    )


def _count_error(f, n_grads: int, n_inputs: int) -> ValueError:
    return ValueError(f"{type(f).__name__}.backward returned {n_grads} gradients for {n_inputs} inputs")


def backward(y: Variable, retain_grad: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(y)/d(v) into ``v.grad`` for every variable ``v`` that ``y`` depends on.

    A non-scalar ``y`` is seeded with ones (the gradient of ``sum(y)``), and so
    is a leaf. ``retain_grad=False`` drops the gradients of intermediate
    variables as soon as they have been used. ``create_graph=True`` records
    the backward computations so the gradients can be differentiated again.
    """

    data = y.data
    if data is None:
        raise ValueError("backward: the variable holds no data")
    fast = not (create_graph or retain_grad) and y.creator is not None
    if y.grad is None:
        seed = _ones(data)
        if fast:  # the array walk takes the seed as an array; y.grad ends as None either way
            return _run(_walk_arrays, y, seed, create_graph)
        y.grad = Variable(seed, requires_grad=False)
    if y.creator is None:
        return
    if fast:
        seed = y.grad.data
        y.grad = None
        return _run(_walk_arrays, y, seed, create_graph)
    return _run(_walk_variables, y, retain_grad, create_graph)


def _run(walk, y, arg, create_graph: bool) -> None:
    """Run a walk with the graph switched on only for create_graph (one switch per walk)."""
    old = Config.enable_backprop
    Config.enable_backprop = create_graph
    try:
        walk(y, arg)
    finally:
        Config.enable_backprop = old


def _ones(data):
    """The seed gradient: ones shaped like ``data`` (a fast path for the usual 0-d loss)."""
    if data.ndim == 0 and type(data) is np.ndarray:
        return np.array(1, dtype=data.dtype)
    return get_array_module(data).ones(data.shape, dtype=data.dtype)


def _walk_variables(y: Variable, retain_grad: bool) -> None:
    """The walk on Variables, through each function's ``backward``."""
    from zerograd.core.ops import copy

    # Functions waiting for their step, deepest generation first, each queued once. Entries are
    # (-generation, tie-breaker, function, the output it was reached through); pushes are inline.
    heap = [(-y.creator.generation, 0, y.creator, y)]
    queued = {y.creator}
    heappop = heapq.heappop
    heappush = heapq.heappush
    counter = 1
    # gradient objects stored where they outlive the walk (on leaves, or everywhere when retained)
    kept_grads = {y.grad} if retain_grad else set()
    while heap:
        _, _, f, out = heappop(heap)
        multi = type(f._out) is tuple
        gxs = f.backward(*_output_grads(f, False)) if multi else f.backward(out.grad)
        inputs = f.inputs
        if type(gxs) is not tuple:
            gxs = (gxs,) if len(inputs) == 1 and type(gxs) is not list else _as_tuple(f, gxs, len(inputs))
        elif len(gxs) != len(inputs):
            raise _count_error(f, len(gxs), len(inputs))
        for x, gx in zip(inputs, gxs):
            if gx is None or not x.requires_grad:
                continue
            if not isinstance(gx, Variable):
                gx = Variable(_as_array(gx, x), requires_grad=False)
            if gx.data.shape != x.data.shape:
                raise _gradient_error(f, inputs.index(x), x, gx.data)
            xc = x.creator
            keep = retain_grad or xc is None
            if x.grad is None:
                # A gradient that a kept variable already holds (`return gy, gy`), or a view
                # into another array, is copied before it is kept: no two kept grads alias.
                if gx in kept_grads or (keep and not gx.data.flags.owndata):
                    gx = copy(gx)
                x.grad = gx
            else:
                x.grad = x.grad + gx
            if keep:
                kept_grads.add(x.grad)
            if xc is not None and xc not in queued:
                queued.add(xc)
                heappush(heap, (-xc.generation, counter, xc, x))
                counter += 1
        if not retain_grad:
            _clear_output_grads(f, out, multi)


def _walk_arrays(y: Variable, seed) -> None:
    """The fast walk on raw arrays (no create_graph, no retain_grad); ``seed`` is dy/dy."""

    # Functions waiting for their step, deepest generation first, each queued once. Entries are
    # (-generation, tie-breaker, function, the output it was reached through); pushes are inline.
    heap = [(-y.creator.generation, 0, y.creator, y)]
    queued = {y.creator}
    heappop = heapq.heappop
    heappush = heapq.heappush
    counter = 1
    grads = {y: seed}  # gradients of intermediate variables, as arrays
    kept = set()  # ids of arrays held by leaf gradients
    owned = set()  # ids of leaf-gradient arrays this walk allocated by summing: safe to add into
    while heap:
        _, _, f, out = heappop(heap)
        multi = type(f._out) is tuple
        vjp = f.vjp
        if multi:
            gys = _output_grads(f, True, grads)
            gxs = vjp(*gys) if vjp is not None else _backward_on_arrays(f, gys)
        else:
            gy = grads.pop(out)
            gxs = vjp(gy) if vjp is not None else _backward_on_arrays(f, (gy,))
        inputs = f.inputs
        if type(gxs) is not tuple:
            gxs = (gxs,) if len(inputs) == 1 and type(gxs) is not list else _as_tuple(f, gxs, len(inputs))
        elif len(gxs) != len(inputs):
            raise _count_error(f, len(gxs), len(inputs))
        for x, gx in zip(inputs, gxs):
            if gx is None or not x.requires_grad:
                continue
            # Intermediate gradients may stay NumPy scalars (0-d arithmetic returns them, and they
            # are faster); a gradient becomes a real array only when a leaf keeps it.
            try:
                shape = gx.shape
            except AttributeError:
                gx = _as_array(gx, x)
                shape = gx.shape
            if shape != x.data.shape:
                raise _gradient_error(f, inputs.index(x), x, gx)
            xc = x.creator
            if xc is None:  # a leaf: its gradient outlives the walk, as a Variable
                g = x.grad
                if g is None:
                    if type(gx) is not np.ndarray:
                        gx = _as_array(gx, x)
                    if id(gx) in kept or not gx.flags.owndata:
                        gx = gx.copy()
                    x.grad = Variable(gx, requires_grad=False)
                elif id(g.data) in owned and g.data.dtype == np.result_type(g.data, gx):
                    g.data += gx  # an array this walk made and nothing else holds: add in place
                    continue
                else:
                    x.grad = Variable(_as_array(g.data + gx, x), requires_grad=False)
                    owned.add(id(x.grad.data))
                kept.add(id(x.grad.data))
                continue
            prev = grads.get(x)
            if prev is None:
                stale = x.grad  # left by an earlier backward(retain_grad=True): it adds up
                if stale is not None:
                    x.grad = None
                    gx = stale.data + gx
                grads[x] = gx
            else:
                grads[x] = prev + gx
            if xc not in queued:
                queued.add(xc)
                heappush(heap, (-xc.generation, counter, xc, x))
                counter += 1
        if multi:
            for ref in f._out:
                o = ref()
                if o is not None:
                    grads.pop(o, None)


def _as_tuple(f, gxs, n_inputs: int) -> tuple:
    """The gradients a function returned, as a tuple of one entry per input."""
    if not isinstance(gxs, list):
        if n_inputs == 1:
            return (gxs,)
        raise _count_error(f, 1, n_inputs)
    if len(gxs) != n_inputs:
        raise _count_error(f, len(gxs), n_inputs)
    return tuple(gxs)


def _backward_on_arrays(f, gys):
    """Run a function's Variable-level ``backward`` for the array walk, returning arrays."""

    x0 = f.inputs[0]
    gxs = f.backward(*[Variable(_as_array(g, x0), requires_grad=False) for g in gys])
    if isinstance(gxs, (tuple, list)):
        return tuple(None if g is None else (g.data if isinstance(g, Variable) else g) for g in gxs)
    return gxs.data if isinstance(gxs, Variable) else gxs


def _output_grads(f, arrays: bool, grads=None) -> list:
    """Gradients of a multi-output function's outputs; zeros for an output that got none (or died)."""

    gys = []
    for k, ref in enumerate(f._out):
        out = ref()
        if arrays:
            g = None if out is None else grads.get(out)
        else:
            g = None if out is None else out.grad
        if g is None:
            shape, dtype = f.output_meta[k]
            g = f.inputs[0].xp.zeros(shape, dtype=dtype)
            if not arrays:
                g = Variable(g, requires_grad=False)
        gys.append(g)
    return gys


def _clear_output_grads(f, out, multi: bool) -> None:
    if multi:
        for ref in f._out:
            o = ref()
            if o is not None:
                o.grad = None
    else:
        out.grad = None


def _as_array(gx, x):
    """A gradient as an array: NumPy scalars (from 0-d arithmetic) and numbers become arrays of x's module."""
    if isinstance(gx, array_types):
        return gx
    return x.xp.asarray(gx, dtype=getattr(gx, "dtype", x.data.dtype))
