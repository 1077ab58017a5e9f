"""Gradient hooks: ``v.register_hook(fn)`` calls ``fn(grad)`` when the backward walk has v's whole
gradient, before using it (passing it on to v's creator, or adding it to a leaf's ``.grad``); a
return value other than None replaces the gradient. PyTorch's ``Tensor.register_hook`` is the model.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, cast

from zerograd.core.variable import Variable

#: Variable -> its hooks, in registration order (a variable that is freed takes its hooks along).
hooks: "weakref.WeakKeyDictionary[Variable, list[Callable[[Variable], Any]]]" = weakref.WeakKeyDictionary()
#: How many times a hook was registered or removed: a replayed step (``zerograd.compile``) that
#: planned its backward walk under another count plans again.
changes = 0


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""

    def __init__(self, v: Variable, fn: Callable[[Variable], Any]) -> None:
        self._v = weakref.ref(v)
        self._fn = fn

    def remove(self) -> None:
        v = self._v()
        fns = hooks.get(v) if v is not None else None
        if fns and self._fn in fns:
            global changes
            changes += 1
            fns.remove(self._fn)
            if not fns:
                del hooks[cast(Variable, v)]  # (not None: fns came from it)


def register_hook(self: Variable, fn: Callable[[Variable], Any]) -> RemovableHandle:
    """Call ``fn(grad)`` (grad a Variable) whenever backward computes this variable's gradient;
    if it returns a Variable or an array, that is used instead (it must keep the shape)."""
    if not callable(fn):
        raise TypeError(f"register_hook: expected a callable, got {type(fn).__name__}")
    global changes
    changes += 1
    hooks.setdefault(self, []).append(fn)
    return RemovableHandle(self, fn)


def run_hooks(v: Variable, g: Any, graph: bool) -> Any:
    """``g`` (an array, or a Variable when the walk is recorded) after v's hooks."""
    for fn in hooks.get(v, ()):
        result = fn(g if isinstance(g, Variable) else Variable(g, requires_grad=False))
        if result is None:
            continue
        if graph:
            result = result if isinstance(result, Variable) else Variable(result, requires_grad=False)
        else:
            result = result.data if isinstance(result, Variable) else result
        data = result.data if isinstance(result, Variable) else result
        if not hasattr(data, "shape") or tuple(data.shape) != tuple(v.shape):
            raise ValueError(f"a hook of a variable of shape {tuple(v.shape)} returned "
                             f"{'a gradient of shape ' + str(tuple(data.shape)) if hasattr(data, 'shape') else type(data).__name__}"
                             " (it must return an array or Variable of the variable's shape, or None)")
        old = g.data if isinstance(g, Variable) else g
        if data.dtype != old.dtype:
            raise ValueError(f"a hook changed the gradient's dtype from {old.dtype} to {data.dtype}")
        g = result
    return g


Variable.register_hook = register_hook  # type: ignore[method-assign]
