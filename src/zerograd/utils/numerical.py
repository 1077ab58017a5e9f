"""Numerical differentiation and gradient checking (compare backward with central differences).

``gradient_check`` is a product feature, in the spirit of PyTorch's
``gradcheck``: it runs in float64, compares every element of every input's
gradient, and says which input and which element differ and by how much.
``order=2`` checks the gradient of the gradient (``create_graph=True``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from zerograd.backend import as_numpy, get_array_module
from zerograd.config import no_grad, using_config
from zerograd.core import Variable
from zerograd.functions.reduction import sum


class GradientCheckError(AssertionError):
    """Raised by :func:`gradient_check` when backward and central differences disagree."""


def numerical_diff(f: Callable[[Variable], Variable], x: Variable, eps: float = 1e-4) -> Variable:
    """Central difference ``(f(x + eps) - f(x - eps)) / (2 eps)`` (the book's step 4), elementwise."""
    x0 = Variable(np.asarray(x.data - eps))
    x1 = Variable(np.asarray(x.data + eps))
    y0 = f(x0)
    y1 = f(x1)
    return Variable(np.asarray((y1.data - y0.data) / (2 * eps)))


def _value(out: Any) -> float:
    data = out.data if isinstance(out, Variable) else out
    return float(np.sum(as_numpy(data)))


def numerical_grad(f: Callable[..., Any], x: Any, *args: Any, eps: float = 1e-6):
    """Central-difference gradient of ``sum(f(x, *args))`` with respect to array ``x``.

    ``x`` is a Variable or an ndarray; its elements are perturbed one at a
    time in place (and restored), so ``f`` sees the same object each call.
    ``f`` may return a Variable, an array or a number. The result is float64.
    """
    data = x.data if isinstance(x, Variable) else x
    xp = get_array_module(data)
    grad = xp.zeros(data.shape, dtype=np.float64)
    with no_grad():
        for idx in np.ndindex(*data.shape):
            orig = data[idx].copy()
            data[idx] = orig + eps
            plus = _value(f(x, *args))
            data[idx] = orig - eps
            minus = _value(f(x, *args))
            data[idx] = orig
            grad[idx] = (plus - minus) / (2 * eps)
    return grad


def _describe_mismatch(name: str, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> str:
    diff = np.abs(analytic - numeric)
    bad = diff > atol + rtol * np.abs(numeric)
    idx = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), diff.shape) if diff.ndim else ()
    count = int(bad.sum())
    return (
        f"{name}: {count} of {diff.size} elements differ; worst at index {tuple(int(i) for i in idx)}: "
        f"backward {analytic[idx]!r} vs numerical {numeric[idx]!r} (|diff| = {diff[idx]:.3g}, "
        f"atol={atol}, rtol={rtol})"
    )


def gradient_check(
    f: Callable[..., Any],
    *inputs: Any,
    order: int = 1,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: Optional[int] = 0,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``f(*inputs)`` against central differences in float64.

    Floating-point inputs (Variables or ndarrays) are converted to float64
    Variables and differentiated; anything else (integer index arrays, Python
    objects) is passed through unchanged. The output is reduced to a scalar
    with fixed random weights, ``L = sum(w * f(*inputs))``, so every element of
    a non-scalar output is checked.

    ``order=1`` compares ``dL/dx`` with central differences of L, computed twice: by the
    default backward walk (which uses a function's array ``vjp`` when it has one) and by
    the Variable walk (each function's ``backward``), so both are checked.
    ``order=2`` compares the gradient of ``S = sum(v * dL/dx)`` (computed by
    backward with ``create_graph=True``) with central differences of S.

    The shape and dtype of every gradient must equal its input's. Returns True;
    on a mismatch raises :class:`GradientCheckError` naming the input, the
    element and the difference (or returns False when ``raise_exception`` is False).
    """
    if order not in (1, 2):
        raise ValueError(f"gradient_check: order must be 1 or 2, got {order}")
    rng = np.random.default_rng(seed)

    args: list = []
    wrt: list[int] = []
    for i, a in enumerate(inputs):
        data = a.data if isinstance(a, Variable) else a
        if isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.floating):
            args.append(Variable(np.array(data, dtype=np.float64)))
            wrt.append(i)
        else:
            args.append(a)
    if not wrt:
        raise ValueError("gradient_check: no floating-point input to differentiate")

    def output(*xs):
        y = f(*xs)
        if not isinstance(y, Variable):
            raise TypeError(f"gradient_check: f must return a Variable, got {type(y).__name__}")
        return y

    with no_grad():
        y0 = output(*args)
    weights = rng.standard_normal(y0.data.shape)

    def scalar_loss(*xs):
        return sum(output(*xs) * weights)

    def first_grads(create_graph: bool, retain_grad: bool = False) -> list:
        for i in wrt:
            args[i].cleargrad()
        loss = scalar_loss(*args)
        loss.backward(create_graph=create_graph, retain_grad=retain_grad)
        grads = []
        for i in wrt:
            g = args[i].grad
            if g is None:
                g = Variable(np.zeros_like(args[i].data))
            grads.append(g)
        return grads

    if order == 1:
        def objective(*xs):
            return scalar_loss(*xs)

        analytic = [g.data for g in first_grads(create_graph=False)]
        # The same gradients through the other walk (Variables and each function's ``backward``,
        # where the default walk used its array ``vjp``): both must agree with the numbers.
        analytic_variable_walk = [g.data for g in first_grads(create_graph=False, retain_grad=True)]
    else:
        probes = [rng.standard_normal(args[i].data.shape) for i in wrt]

        def objective(*xs):
            for i in wrt:
                xs[i].cleargrad()
            with using_config("enable_backprop", True):
                loss = scalar_loss(*xs)
                loss.backward()
            total = 0.0
            for k, i in enumerate(wrt):
                if xs[i].grad is not None:
                    total += float(np.sum(xs[i].grad.data * probes[k]))
            return total

        grads = first_grads(create_graph=True)
        s = None
        for k, g in enumerate(grads):
            term = sum(g * probes[k])
            s = term if s is None else s + term
        for i in wrt:
            args[i].cleargrad()
        if s.creator is not None:
            s.backward()
        analytic = [
            args[i].grad.data if args[i].grad is not None else np.zeros_like(args[i].data) for i in wrt
        ]

    problems = []
    for k, i in enumerate(wrt):
        x = args[i]
        a = np.asarray(analytic[k])
        if a.shape != x.data.shape:
            problems.append(f"input {i}: gradient shape {a.shape} != input shape {x.data.shape}")
            continue
        if a.dtype != x.data.dtype:
            problems.append(f"input {i}: gradient dtype {a.dtype} != input dtype {x.data.dtype}")
            continue

        def partial(v, i=i):
            xs = list(args)
            xs[i] = v
            return objective(*xs)

        numeric = numerical_grad(lambda v: partial(Variable(v)), x.data.copy(), eps=eps)
        if not np.allclose(a, numeric, atol=atol, rtol=rtol):
            problems.append(_describe_mismatch(f"input {i} (order {order})", a, numeric, atol, rtol))
        if order == 1:
            b = np.asarray(analytic_variable_walk[k])
            if b.dtype != x.data.dtype or b.shape != x.data.shape:
                problems.append(f"input {i}: backward (not vjp) gives dtype {b.dtype} shape {b.shape}")
            elif not np.allclose(b, numeric, atol=atol, rtol=rtol):
                problems.append(_describe_mismatch(f"input {i} (order 1, backward rather than vjp)",
                                                   b, numeric, atol, rtol))
    if problems:
        if raise_exception:
            raise GradientCheckError("gradient_check failed:\n  " + "\n  ".join(problems))
        return False
    return True
