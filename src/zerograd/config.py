"""Thread-local switches that change how functions behave.

``Config.enable_backprop``: record the graph (False inside ``no_grad()``).
``Config.train``: training behaviour of dropout and batch norm (False inside ``test_mode()``).
``Config.strict_grad_dtype``: a gradient takes its variable's dtype, as in PyTorch (False:
DeZero's rule, which the book's printed numbers depend on: a gradient keeps the dtype it was
computed in, so a float32 weight used with float64 data gets a float64 gradient).

Each thread sees its own values, so one thread inside ``no_grad()`` never
switches off the graph of another.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class _Config(threading.local):
    """Per-thread configuration; ``threading.local`` runs ``__init__`` once per thread."""

    def __init__(self) -> None:
        self.enable_backprop = True
        self.train = True
        self.strict_grad_dtype = True


Config = _Config()


class using_config:
    """Context manager that sets ``Config.<name> = value`` for the current thread and restores it;
    also a decorator (``@no_grad()`` runs the whole function so)."""

    __slots__ = ("name", "value", "old")

    def __init__(self, name: str, value: Any) -> None:
        if not hasattr(Config, name):
            raise AttributeError(f"using_config: unknown config name {name!r}"
                                 f" (known: {', '.join(vars(Config))})")
        self.name = name
        self.value = value

    def __enter__(self) -> None:
        self.old = getattr(Config, self.name)
        setattr(Config, self.name, self.value)

    def __exit__(self, *exc_info: object) -> None:
        setattr(Config, self.name, self.old)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        name, value = self.name, self.value

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with using_config(name, value):
                return fn(*args, **kwargs)
        return wrapper


def no_grad() -> using_config:
    """Do not record the graph: forward only, faster and without memory for backward."""
    return using_config("enable_backprop", False)


def enable_grad() -> using_config:
    """Record the graph again (inside ``no_grad()``)."""
    return using_config("enable_backprop", True)


class set_grad_enabled(using_config):
    """Record the graph or not, as ``mode`` says, at once (PyTorch's): called plainly it switches
    for the current thread; used in ``with`` it switches back on exit."""

    __slots__ = ()

    def __init__(self, mode: bool) -> None:
        super().__init__("enable_backprop", bool(mode))
        self.old = Config.enable_backprop
        Config.enable_backprop = self.value

    def __enter__(self) -> None:
        pass


def test_mode() -> using_config:
    """Switch dropout and batch norm to inference behaviour."""
    return using_config("train", False)
