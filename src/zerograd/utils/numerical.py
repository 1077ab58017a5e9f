"""Numerical differentiation and gradient checking (compare backward with central differences).

``gradient_check`` is a product feature, in the spirit of PyTorch's
``gradcheck``: it runs in float64, compares every element of every input's
gradient, and says which input and which element differ and by how much.
``order=k`` checks the k-th derivative (built with ``create_graph=True``).
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
    with fixed random weights, ``S_0 = sum(w * f(*inputs))``, so every element of
    a non-scalar output is checked.

    ``order=k`` checks the k-th derivative: with fixed random probes ``v_j``,
    ``S_j = sum(v_j * dS_{j-1}/dx)`` is built by backward with ``create_graph=True``, and
    ``dS_{k-1}/dx`` is compared with central differences of ``S_{k-1}``. That gradient is
    computed twice, by the ordinary walk (which uses a function's ``fast_backward`` where it
    has one) and by the recorded walk (each function's ``backward``), so both are checked.

    The shape and dtype of every gradient must equal its input's. Returns True;
    on a mismatch raises :class:`GradientCheckError` naming the input, the
    element and the difference (or returns False when ``raise_exception`` is False).
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"gradient_check: order must be a positive integer, got {order!r}")
    rng = np.random.default_rng(seed)

    args: list = []
    wrt: list[int] = []
    for i, a in enumerate(inputs):
        data = a.data if isinstance(a, Variable) else a
        if isinstance(data, (np.ndarray, np.floating)) and np.issubdtype(data.dtype, np.floating):
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
    probes = [[rng.standard_normal(args[i].data.shape) for i in wrt] for _ in range(order - 1)]

    def objective(xs) -> Variable:
        """S_{order-1} at ``xs``, recorded so that it can be differentiated."""
        with using_config("enable_backprop", True):
            s = sum(output(*xs) * weights)
            for level in probes:
                for i in wrt:
                    xs[i].cleargrad()
                if s.creator is None:  # constant: every further derivative is zero
                    return s * 0.0
                s.backward(create_graph=True)
                total = s * 0.0
                for k, i in enumerate(wrt):
                    if xs[i].grad is not None:
                        total = total + sum(xs[i].grad * level[k])
                s = total
            return s

    def analytic(create_graph: bool) -> list:
        s = objective(args)
        for i in wrt:
            args[i].cleargrad()
        if s.creator is not None:
            s.backward(create_graph=create_graph)
        return [args[i].grad.data if args[i].grad is not None else np.zeros_like(args[i].data) for i in wrt]

    walks = {"": analytic(create_graph=False), ", recorded walk (backward, not fast_backward)":
             analytic(create_graph=True)}

    problems = []
    for k, i in enumerate(wrt):
        x = args[i]

        def partial(v, i=i):
            xs = list(args)
            xs[i] = Variable(v)
            return objective(xs)

        numeric = None
        for label, grads in walks.items():
            a = np.asarray(grads[k])
            if a.shape != x.data.shape:
                problems.append(f"input {i}{label}: gradient shape {a.shape} != input shape {x.data.shape}")
                continue
            if a.dtype != x.data.dtype:
                problems.append(f"input {i}{label}: gradient dtype {a.dtype} != input dtype {x.data.dtype}")
                continue
            if numeric is None:
                numeric = numerical_grad(partial, x.data.copy(), eps=eps)
            if not np.allclose(a, numeric, atol=atol, rtol=rtol):
                problems.append(_describe_mismatch(f"input {i} (order {order}{label})", a, numeric, atol, rtol))
    if problems:
        if raise_exception:
            raise GradientCheckError("gradient_check failed:\n  " + "\n  ".join(problems))
        return False
    return True
