"""Functional transforms on the define-by-run engine, in the manner of JAX and ``torch.func``.

``grad(f)(x)`` runs ``f`` on fresh leaf Variables, walks the graph back with ``backward(inputs=...)``
(so no other variable's ``.grad`` changes: the parameters of a model ``f`` uses are left alone) and
returns the gradient. Arrays and numbers in give arrays out. Given Variables (which is what an
outer transform passes), a transform records its own backward pass (``create_graph=True``) and
returns Variables, so transforms compose: ``grad(grad(f))``, ``jacobian(grad(f))`` = ``hessian(f)``.

* ``grad(f, argnums=0, has_aux=False)``, ``value_and_grad``: ``f`` returns one element (a loss).
* ``vjp(f, *primals)`` -> ``(out, vjp_fn)``; ``vjp_fn(cotangent)`` -> one gradient per primal.
* ``jvp(f, primals, tangents)`` -> ``(out, J @ tangents)`` by the double-vjp trick: the vjp is
  linear in its cotangent ``u``, so differentiating ``<vjp(u), t>`` with respect to ``u`` gives
  ``J t``. It costs two reverse passes, not one forward pass (there is no forward mode here).
* ``jacobian(f, argnums=0)`` (one reverse pass per output element), ``hessian(f)``,
  ``hvp(f, primals, tangents)`` (Hessian-vector product, reverse over reverse).

``f`` takes and returns Variables (or arrays: the result is wrapped); one output, not a tuple
(``has_aux`` returns ``(output, aux)``). There is no ``vmap``.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator, Sequence, Union

import numpy as np

from zerograd.config import using_config
from zerograd.core import Variable, as_array
from zerograd.functions import reshape, stack

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp"]

Argnums = Union[int, Sequence[int]]


class _Depth(threading.local):
    def __init__(self) -> None:
        self.n = 0


_depth = _Depth()  # transforms running in this thread: inside one, every result stays differentiable


@contextlib.contextmanager
def _inside() -> Iterator[None]:
    """Run f with backprop on, counted as inside a transform (so that a transform f calls records
    its own backward pass even when the outer variable reaches it through a closure)."""
    _depth.n += 1
    try:
        with using_config("enable_backprop", True):
            yield
    finally:
        _depth.n -= 1


def _leaf(x: Any) -> tuple[Variable, bool]:
    """A fresh leaf for an input (an array or number, cast to float if integral), or the Variable
    an outer transform passed; the flag says the result must stay differentiable."""
    if isinstance(x, Variable):
        return x, True
    data = as_array(np.asarray(x) if not hasattr(x, "dtype") else x)
    if data.dtype.kind not in "fc":
        data = data.astype(np.float64)
    return Variable(data), _depth.n > 0


def _leaves(primals: Sequence[Any], tangents: Any = None, name: str = "") -> tuple[list[Variable], bool]:
    """Leaves for the primals, and whether the result must stay differentiable; with ``tangents``,
    one per primal, each of its primal's shape."""
    pairs = [_leaf(p) for p in primals]
    leaves = [p for p, _ in pairs]
    if tangents is not None:
        if len(primals) != len(tangents):
            raise ValueError(f"{name}: {len(primals)} primals but {len(tangents)} tangents")
        for x, t in zip(leaves, tangents):
            if tuple(np.shape(t)) != tuple(x.shape):
                raise ValueError(f"{name}: a tangent of shape {tuple(np.shape(t))} for a primal of shape "
                                 f"{tuple(x.shape)}")
    return leaves, any(outer for _, outer in pairs)


def _as_output(y: Any, name: str) -> Variable:
    if isinstance(y, Variable):
        return y
    if isinstance(y, (tuple, list)):
        raise TypeError(f"{name}: f returned a {type(y).__name__}; it must return one array or Variable "
                        "(use has_aux=True to return (output, aux))")
    return Variable(as_array(np.asarray(y) if not hasattr(y, "dtype") else y), requires_grad=False)


def _pullback(y: Variable, xs: Sequence[Variable], cotangent: Any, graph: bool) -> list:
    """d<y, cotangent>/dx for each x, without touching anything else's ``.grad``."""
    saved = [x.grad for x in xs]
    saved_y = y.grad
    for x in xs:
        x.grad = None
    try:
        y.grad = cotangent if isinstance(cotangent, Variable) else Variable(as_array(cotangent), requires_grad=False)
        if y.creator is None:  # y does not depend on anything: zero gradients (or y itself)
            out = [cotangent if x is y else None for x in xs]
        else:
            with using_config("enable_backprop", True):
                y.backward(create_graph=graph, inputs=list(xs))
            out = [x.grad for x in xs]
    finally:
        y.grad = saved_y
        for x, g in zip(xs, saved):
            x.grad = g
    result = []
    for x, g in zip(xs, out):
        if g is None:
            g = Variable(x.xp.zeros_like(x.data), requires_grad=False)
        elif not isinstance(g, Variable):
            g = Variable(g, requires_grad=False)
        result.append(g if graph else g.data)
    return result


def _dot(gs: Sequence[Variable], ts: Sequence[Any]) -> Variable:
    """The sum over pairs of <g, t> (recorded)."""
    total: Any = None
    for g, t in zip(gs, ts):
        term = (g * (t if isinstance(t, Variable) else as_array(np.asarray(t, dtype=g.dtype)))).sum()
        total = term if total is None else total + term
    return total


def _argnums(argnums: Argnums, n: int, name: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, int)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, int) or not -n <= a < n:
            raise ValueError(f"{name}: argnums {argnums!r} does not name one of the {n} arguments")
    return tuple(a % n for a in nums), single


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """``f`` and its gradient with respect to argument ``argnums`` (an int, or a tuple of ints for
    a tuple of gradients): ``(value, grad)``, or ``((value, aux), grad)`` with ``has_aux``."""
    def wrapped(*args: Any) -> Any:
        nums, single = _argnums(argnums, len(args), "value_and_grad")
        leaves = list(args)
        traced = False
        for a in nums:
            leaves[a], outer = _leaf(args[a])
            traced = traced or outer
        with _inside():
            out = f(*leaves)
        aux = None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("value_and_grad: with has_aux=True, f must return (output, aux)")
            out, aux = out
        y = _as_output(out, "grad")
        if y.data.size != 1:
            raise TypeError(f"grad: f must return one element (a loss), got shape {y.shape}; "
                            "use jacobian or vjp for other outputs")
        grads = _pullback(y, [leaves[a] for a in nums], y.xp.ones_like(y.data), traced)
        value = y if traced else y.data
        result = grads[0] if single else tuple(grads)
        return ((value, aux) if has_aux else value), result
    return wrapped


def grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of ``f`` (which returns one element) with respect to argument ``argnums``;
    ``(grad, aux)`` with ``has_aux``."""
    vg = value_and_grad(f, argnums, has_aux)

    def wrapped(*args: Any) -> Any:
        value, g = vg(*args)
        return (g, value[1]) if has_aux else g
    return wrapped


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple]]:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` is the tuple of cotangent @ J for each primal."""
    leaves, traced = _leaves(primals)
    with _inside():
        y = _as_output(f(*leaves), "vjp")

    def vjp_fn(cotangent: Any) -> tuple:
        ct = cotangent if isinstance(cotangent, Variable) else as_array(np.asarray(cotangent, dtype=y.dtype))
        if tuple(ct.shape) != tuple(y.shape):
            raise ValueError(f"vjp: the cotangent has shape {tuple(ct.shape)} but f's output has {tuple(y.shape)}")
        graph = traced or isinstance(cotangent, Variable)
        return tuple(_pullback(y, leaves, ct, graph))
    return (y if traced else y.data), vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J @ tangents)``, by the double-vjp trick (two reverse passes)."""
    leaves, traced = _leaves(primals, tangents, "jvp")
    with _inside():
        y = _as_output(f(*leaves), "jvp")
    u = Variable(y.xp.zeros_like(y.data))  # the cotangent, as a variable: vjp(u) is linear in it
    pulled = _pullback(y, leaves, u, True)
    with using_config("enable_backprop", True):
        inner = _dot(pulled, tangents)
    (tangent_out,) = _pullback(inner, [u], inner.xp.ones((), dtype=inner.dtype), traced)
    return (y if traced else y.data), tangent_out


def jacobian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The Jacobian of ``f`` with respect to argument ``argnums``: shape out.shape + x.shape (one
    reverse pass per output element)."""
    def wrapped(*args: Any) -> Any:
        (a,), _ = _argnums(argnums, len(args), "jacobian")
        leaves = list(args)
        leaves[a], traced = _leaf(args[a])
        x = leaves[a]
        with _inside():
            y = _as_output(f(*leaves), "jacobian")
        rows = []
        for k in range(y.data.size):
            e = y.xp.zeros(y.data.size, dtype=y.dtype)
            e[k] = 1
            (row,) = _pullback(y, [x], e.reshape(y.shape), traced)
            rows.append(row)
        if traced:
            if not rows:
                return Variable(x.xp.zeros(tuple(y.shape) + tuple(x.shape), dtype=x.dtype), requires_grad=False)
            return reshape(stack(rows), tuple(y.shape) + tuple(x.shape))
        xp = x.xp
        if not rows:
            return xp.zeros(tuple(y.shape) + tuple(x.shape), dtype=x.dtype)
        return xp.stack(rows).reshape(tuple(y.shape) + tuple(x.shape))
    return wrapped


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """The Hessian of ``f`` (one element out): ``jacobian(grad(f))``, shape x.shape + x.shape."""
    return jacobian(grad(f, argnums), argnums)


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), H @ tangents)`` for ``f`` of one element out, without forming H: the
    gradient of ``<grad f, tangents>`` (reverse over reverse)."""
    leaves, traced = _leaves(primals, tangents, "hvp")
    with _inside():
        y = _as_output(f(*leaves), "hvp")
    if y.data.size != 1:
        raise TypeError(f"hvp: f must return one element, got shape {y.shape}")
    grads = _pullback(y, leaves, y.xp.ones_like(y.data), True)
    with using_config("enable_backprop", True):
        inner = _dot(grads, tangents)
    result = _pullback(inner, leaves, inner.xp.ones((), dtype=inner.dtype), traced)
    return (y if traced else y.data), (result[0] if len(result) == 1 else tuple(result))
