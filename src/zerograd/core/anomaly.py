"""Anomaly mode: ``with zerograd.detect_anomaly():`` raises at the first function whose forward
or backward produces NaN or inf, naming the function and showing where the user's code called it
(PyTorch's ``torch.autograd.detect_anomaly`` is the model).

It costs nothing when off: entering it swaps checking versions of the functions' ``__call__``
methods in, and the backward walk looks at one module attribute per walk. While it is on, it
applies to every thread, and every function call records its caller's stack (slow: for debugging).
"""
from __future__ import annotations

import os
import threading
import traceback
from typing import Any, Callable, Optional

from zerograd.backend import get_array_module
from zerograd.core.function import Function, classes_defining_call
from zerograd.core.variable import Variable

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # src/zerograd
_lock = threading.Lock()
_depth = 0
_saved: dict[type, Callable] = {}
_created: dict[int, traceback.StackSummary] = {}  # id(function) -> where the user's code called it

#: The backward walk's check (None when anomaly mode is off).
check_backward: Optional[Callable[[Function, Any], None]] = None


class AnomalyError(FloatingPointError):
    """A function produced NaN or inf under ``detect_anomaly()``."""


def _user_stack() -> traceback.StackSummary:
    frames = [f for f in traceback.extract_stack()[:-3] if not os.path.abspath(f.filename).startswith(_PACKAGE)]
    return traceback.StackSummary.from_list(frames[-6:])


def _bad(value: Any) -> Optional[str]:
    data = value.data if isinstance(value, Variable) else value
    if data is None or not hasattr(data, "dtype") or data.dtype.kind not in "fc":
        return None
    xp = get_array_module(data)
    finite = xp.isfinite(data)
    if bool(finite.all()):
        return None
    kinds = [k for k, test in (("nan", xp.isnan), ("inf", xp.isinf)) if bool(test(data).any())]
    return f"{' and '.join(kinds)} in an array of shape {tuple(data.shape)}"


def _raise(f: Function, where: str, problem: str) -> None:
    stack = _created.get(id(f))
    called = "".join(stack.format()) if stack else "  (not recorded: it was called before detect_anomaly())\n"
    raise AnomalyError(f"{type(f).__name__}.{where} produced {problem}.\n"
                       f"{type(f).__name__} was called here:\n{called.rstrip()}")


def _checking(call: Callable) -> Callable:
    def __call__(self: Function, *args: Any) -> Any:
        _created[id(self)] = _user_stack()
        outputs = call(self, *args)
        for k, y in enumerate(outputs if isinstance(outputs, (list, tuple)) else (outputs,)):
            problem = _bad(y)
            if problem is not None:
                _raise(self, "forward", f"{problem} (output {k})")
        return outputs
    __call__.__wrapped__ = call  # type: ignore[attr-defined]
    return __call__


def _check_backward(f: Function, gxs: Any) -> None:
    for i, g in enumerate(gxs if isinstance(gxs, (list, tuple)) else (gxs,)):
        if g is not None:
            problem = _bad(g)
            if problem is not None:
                _raise(f, "backward", f"{problem} (the gradient of input {i})")


class detect_anomaly:
    """Context manager: inside it, the first NaN or inf made by a function's forward or
    backward raises :class:`AnomalyError` naming the function and where it was called."""

    def __enter__(self) -> "detect_anomaly":
        global _depth, check_backward
        with _lock:
            if _depth == 0:
                for cls in classes_defining_call():
                    _saved[cls] = cls.__dict__["__call__"]
                    cls.__call__ = _checking(_saved[cls])  # type: ignore[method-assign]
                check_backward = _check_backward
            _depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _depth, check_backward
        with _lock:
            _depth -= 1
            if _depth == 0:
                for cls, call in _saved.items():
                    cls.__call__ = call  # type: ignore[method-assign]
                _saved.clear()
                _created.clear()
                check_backward = None
