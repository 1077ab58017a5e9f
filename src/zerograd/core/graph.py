"""The backward walk: reverse topological order by generation, iterative, each function once.

Rules kept here (the heart of the framework):

* A variable that feeds several functions receives the **sum** of their
  gradients, and gradients keep adding up across backward calls until
  ``cleargrad()``.
* Accumulation makes new arrays, and a gradient stored on a variable never
  aliases another stored gradient, so changing one in place cannot touch another.
* Without ``create_graph`` the walk runs with the graph switched off (one
  switch for the whole walk, not one per step), so gradients have no creator.
"""
from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from zerograd.backend import array_types
from zerograd.config import Config

if TYPE_CHECKING:
    from zerograd.core.variable import Variable


def _gradient_error(f, i, x, gx) -> ValueError:
    return ValueError(
        f"{type(f).__name__}.backward returned a gradient of shape {tuple(gx.shape)} for input {i}"
        f" of shape {tuple(x.shape)}"
    )


def backward(y: "Variable", retain_grad: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(y)/d(v) into ``v.grad`` for every variable ``v`` that ``y`` depends on.

    A non-scalar ``y`` is seeded with ones (the gradient of ``sum(y)``), and so
    is a leaf. ``retain_grad=False`` drops the gradients of intermediate
    variables as soon as they have been used. ``create_graph=True`` records
    the backward computations so the gradients can be differentiated again.
    """
    from zerograd.core.function import Variable  # local: avoids an import cycle at load time
    from zerograd.core.ops import copy

    if y.data is None:
        raise ValueError("backward: the variable holds no data")
    if y.grad is None:
        xp = y.xp
        y.grad = Variable(xp.ones_like(y.data), requires_grad=False)

    creator = y.creator
    if creator is None:
        return

    # Heap entries: (-generation, tie-breaker, function, the output we reached it through).
    heap = [(-creator.generation, 0, creator, y)]
    queued = {creator}
    counter = 1
    # gradient objects stored where they outlive the walk (on leaves, or everywhere when retained)
    kept_grads = {y.grad} if retain_grad else set()
    heappop = heapq.heappop
    heappush = heapq.heappush

    old = Config.enable_backprop
    Config.enable_backprop = create_graph
    try:
        while heap:
            _, _, f, out = heappop(heap)
            multi = type(f._out) is tuple
            if multi:
                gxs = f.backward(*_output_grads(f))
            else:
                gxs = f.backward(out.grad)
            if type(gxs) is not tuple:
                gxs = tuple(gxs) if isinstance(gxs, list) else (gxs,)

            inputs = f.inputs
            if len(gxs) != len(inputs):
                raise ValueError(
                    f"{type(f).__name__}.backward returned {len(gxs)} gradients for {len(inputs)} inputs"
                )
            for x, gx in zip(inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if type(gx) is not Variable and not isinstance(gx, Variable):
                    gx = _as_gradient(gx, x)
                if gx.data.shape != x.data.shape:
                    raise _gradient_error(f, inputs.index(x), x, gx)
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
                if multi:
                    for ref in f._out:
                        o = ref()
                        if o is not None:
                            o.grad = None
                else:
                    out.grad = None
    finally:
        Config.enable_backprop = old


def _output_grads(f) -> list:
    """Gradients of a multi-output function's outputs; zeros for an output that got none (or died)."""
    from zerograd.core.variable import Variable

    gys = []
    for k, ref in enumerate(f._out):
        out = ref()
        g = None if out is None else out.grad
        if g is None:
            shape, dtype = f.output_meta[k]
            g = Variable(f.inputs[0].xp.zeros(shape, dtype=dtype), requires_grad=False)
        gys.append(g)
    return gys


def _as_gradient(gx, x):
    """Accept a raw array (or number) returned by a user's backward as a constant gradient."""
    from zerograd.core.variable import Variable

    if not isinstance(gx, array_types):
        gx = x.xp.asarray(gx, dtype=x.data.dtype)
    return Variable(gx, requires_grad=False)
