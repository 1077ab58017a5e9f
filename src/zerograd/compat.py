"""What exists only so that DeZero's programs run unchanged: the one compatibility module.

zerograd's own API stays strict; these names are served to programs run by ``zerograd book``
(see :mod:`zerograd.book`), as parts of the ``dezero`` modules they import:

* the book's teaching variants: ``softmax_simple``, ``softmax_cross_entropy_simple``,
  ``mean_squared_error_simple``, ``sigmoid_simple``, ``linear_simple``, and DeZero's misspelt
  ``batch_nrom``;
* DeZero's simple core (steps 23-32): :class:`SimpleVariable`, whose ``grad`` reads as a plain array;
* DeZero's ``utils``: ``array_equal``, ``array_allclose``, its ``gradient_check`` (integer inputs
  cast to float64, True or False with a report) and ``numerical_grad``, ``reshape_sum_backward``,
  ``max_backward_shape``, ``logsumexp`` on arrays, ``get_file`` (into zerograd's cache),
  ``show_progress``, ``cache_dir``;
* DeZero's names for zerograd's things: ``Shakespear``, ``im2col_array``, ``col2im_array``,
  ``gpu_enable``, ``setup_variable``.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Optional

import numpy as np

import zerograd.functions as F
from zerograd import backend
from zerograd.backend import as_numpy, get_array_module
from zerograd.cache import DatasetUnavailableError, RemoteFile, cache_root, fetch
from zerograd.config import no_grad
from zerograd.core import Variable, as_array
from zerograd.datasets import Shakespeare
from zerograd.utils import numerical
from zerograd.utils import plot_dot_graph as _plot_dot_graph

__all__ = ["SimpleVariable", "setup_variable", "as_variable", "softmax_simple", "softmax_cross_entropy_simple",
           "mean_squared_error_simple", "sigmoid_simple", "linear_simple", "batch_nrom", "array_equal",
           "array_allclose", "gradient_check", "numerical_grad", "reshape_sum_backward", "max_backward_shape",
           "logsumexp", "get_file", "show_progress", "cache_dir", "Shakespear", "im2col_array", "col2im_array",
           "gpu_enable", "KNOWN_FILES", "sum_to", "sum_to_array", "plot_dot_graph"]

gpu_enable = backend.cp is not None
Shakespear = Shakespeare  # DeZero's spelling


class SimpleVariable(Variable):
    """A Variable of DeZero's simple core (steps 23-32): its ``grad`` reads as a plain array
    (``x.data -= lr * x.grad`` works as the book writes it)."""

    __slots__ = ("_grad",)

    @property
    def grad(self) -> Any:
        g = self._grad
        return g.data if isinstance(g, Variable) else g

    @grad.setter
    def grad(self, g: Any) -> None:
        self._grad = g


def setup_variable() -> None:
    """DeZero installs Variable's operators here; zerograd's Variable always has them."""


def as_variable(obj: Any) -> Variable:
    """DeZero's as_variable: an array becomes a Variable that gets a gradient (zerograd's own
    makes a constant)."""
    return obj if isinstance(obj, Variable) else Variable(as_array(obj))


# ------------------------------------------------------------------- the book's teaching variants
def softmax_simple(x: Any, axis: int = 1) -> Variable:
    """The book's softmax from exp and sum (the stable one is ``softmax``)."""
    x = as_variable(x)
    y = F.exp(x)
    return y / F.sum(y, axis=axis, keepdims=True)


def softmax_cross_entropy_simple(x: Any, t: Any) -> Variable:
    """The book's softmax cross entropy from softmax_simple, clip and log."""
    x, t = as_variable(x), as_variable(t)
    n = x.shape[0]
    p = F.clip(softmax_simple(x), 1e-15, 1.0)
    tlog_p = F.log(p)[np.arange(n), t.data]
    return -1 * F.sum(tlog_p) / n


def mean_squared_error_simple(x0: Any, x1: Any) -> Variable:
    """sum((x0 - x1)^2) / len(x0), from primitive ops."""
    x0, x1 = as_variable(x0), as_variable(x1)
    diff = x0 - x1
    return F.sum(diff ** 2) / len(diff)


def sigmoid_simple(x: Any) -> Variable:
    """1 / (1 + exp(-x)) from primitive ops."""
    x = as_variable(x)
    return 1 / (1 + F.exp(-x))


def linear_simple(x: Any, W: Any, b: Any = None) -> Variable:
    """x @ W + b from matmul and add."""
    t = F.matmul(x, W)
    return t if b is None else t + b


def batch_nrom(x: Any, gamma: Any, beta: Any, mean: Any, var: Any, decay: float = 0.9, eps: float = 2e-5) -> Variable:
    """DeZero's misspelt name of ``batch_norm``."""
    return F.batch_norm(x, gamma, beta, mean, var, decay, eps)


def _dezero_sum_axes(x_shape: tuple, shape: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    lead = len(x_shape) - len(shape)
    return tuple(range(lead)), tuple(i + lead for i, n in enumerate(shape) if n == 1)


def sum_to_array(x: Any, shape: tuple) -> Any:
    """DeZero's ``utils.sum_to``: sum the leading axes and those where ``shape`` has 1. Where x does
    not broadcast from ``shape`` the result is not of that shape (zerograd's own refuses)."""
    lead_axes, ones = _dezero_sum_axes(x.shape, tuple(shape))
    y = x.sum(lead_axes + ones, keepdims=True)
    return y.squeeze(lead_axes) if lead_axes else y


def sum_to(x: Any, shape: tuple) -> Variable:
    """DeZero's ``F.sum_to``: zerograd's where x broadcasts from ``shape``; otherwise DeZero's
    result of :func:`sum_to_array` (its own tests check that gradient)."""
    x = as_variable(x)
    lead_axes, ones = _dezero_sum_axes(x.shape, tuple(shape))
    if all(n == 1 or n == m for n, m in zip(shape, x.shape[len(lead_axes):])):
        return F.sum_to(x, tuple(shape))
    y = F.sum(x, axis=lead_axes + ones, keepdims=True)
    return F.reshape(y, y.shape[len(lead_axes):]) if lead_axes else y


def plot_dot_graph(output: Variable, verbose: bool = True, to_file: str = "graph.png") -> Optional[str]:
    """DeZero's: draw the graph with Graphviz; without Graphviz, say so on stderr and go on (as
    DeZero's shell call does) instead of stopping the program."""
    try:
        return _plot_dot_graph(output, verbose=verbose, to_file=to_file)
    except RuntimeError as e:
        print(f"{e} (the program goes on)", file=sys.stderr)
        return None


# -------------------------------------------------------------------------------- DeZero's utils
def _array(a: Any) -> np.ndarray:
    return as_numpy(a.data if isinstance(a, Variable) else a)


def array_equal(a: Any, b: Any) -> bool:
    """Same shape and elements (arrays or Variables, on any device)."""
    return bool(np.array_equal(_array(a), _array(b)))


def array_allclose(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Elementwise equal within the tolerances (DeZero's defaults)."""
    return bool(np.allclose(_array(a), _array(b), rtol=rtol, atol=atol))


def numerical_grad(f: Any, x: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    """DeZero's numerical gradient of sum(f(x, ...)) by central differences (eps 1e-4)."""
    return numerical.numerical_grad(lambda v: f(v, *args, **kwargs), x, eps=1e-4)


def gradient_check(f: Any, x: Any, *args: Any, rtol: float = 1e-4, atol: float = 1e-5, **kwargs: Any) -> bool:
    """DeZero's gradient check: x (cast to float64, integers too) against central differences;
    True or False, with a report of both gradients when they differ."""
    x = as_variable(x)
    x.data = x.data.astype(np.float64)
    num_grad = numerical_grad(f, x, *args, **kwargs)
    y = f(x, *args, **kwargs)
    y.backward()
    bp_grad = _array(x.grad)
    ok = bp_grad.shape == num_grad.shape and array_allclose(num_grad, bp_grad, rtol=rtol, atol=atol)
    if not ok:
        print("\n========== FAILED (Gradient Check) ==========")
        for name, g in (("Numerical Grad", num_grad), ("Backprop Grad", bp_grad)):
            print(f"{name}\n shape: {g.shape}\n values: {str(g.flatten()[:10])[1:-1]} ...")
    return ok


def reshape_sum_backward(gy: Any, x_shape: tuple, axis: Any, keepdims: bool) -> Any:
    """gy reshaped so that it broadcasts back over the axes a sum removed."""
    ndim = len(x_shape)
    if ndim == 0 or axis is None or keepdims:
        return gy.reshape(gy.shape)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shape = list(gy.shape)
    for a in sorted(a % ndim for a in axes):
        shape.insert(a, 1)
    return gy.reshape(tuple(shape))


def max_backward_shape(x: Any, axis: Any) -> list:
    """x's shape with the reduced axes set to 1."""
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    return [1 if ax in axes else s for ax, s in enumerate(x.shape)]


def logsumexp(x: Any, axis: int = 1) -> Any:
    """log(sum(exp(x))) along ``axis`` of an array, stably, keeping the axis."""
    xp = get_array_module(x)
    m = x.max(axis=axis, keepdims=True)
    return m + xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True))


def im2col_array(img: Any, kernel_size: Any, stride: Any, pad: Any, to_matrix: bool = True) -> Any:
    """DeZero's im2col on arrays: the forward of :func:`zerograd.functions.im2col`."""
    with no_grad():
        return F.im2col(img, kernel_size, stride, pad, to_matrix).data


def col2im_array(col: Any, img_shape: tuple, kernel_size: Any, stride: Any, pad: Any, to_matrix: bool = True) -> Any:
    """DeZero's col2im on arrays: the forward of :func:`zerograd.functions.col2im`."""
    with no_grad():
        return F.col2im(col, img_shape, kernel_size, stride, pad, to_matrix).data


# ------------------------------------------------------------------------------------ downloads
#: Where get_file keeps what it downloads (``$ZEROGRAD_HOME`` as it was at import).
cache_dir = os.path.join(cache_root(), "downloads", "book")

#: Checksums of files the book downloads, where known ("sha256:<hex>"); others are used unverified.
KNOWN_FILES: dict[str, str] = {}


def show_progress(block_num: int, block_size: int, total_size: int) -> None:
    """DeZero's download progress line."""
    done = min(block_num * block_size / total_size, 1.0) if total_size > 0 else 1.0
    print(f"\r[{'#' * int(done * 30):.<30}] {done * 100:.2f}%", end="")


def get_file(url: str, file_name: Optional[str] = None) -> str:
    """The file at ``url`` from zerograd's cache (``$ZEROGRAD_HOME/downloads``), downloaded the first
    time (``$ZEROGRAD_HOME/downloads/book/``); checked against :data:`KNOWN_FILES` where its checksum
    is known, used as it is otherwise (a file put there by hand too). Offline, the error names the file, the address and where to put it."""
    name = file_name or url[url.rfind("/") + 1:]
    try:
        return fetch("book", [RemoteFile(name, KNOWN_FILES.get(name), (url,))], kind="downloads",
                     allow_unverified=True)[name]
    except DatasetUnavailableError as e:
        raise DatasetUnavailableError(f"get_file: {e}") from None
