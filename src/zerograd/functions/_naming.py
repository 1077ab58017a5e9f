"""Errors raised inside a composite function name the function the user called."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def names_errors(op: str) -> Callable[[F], F]:
    """Prefix a ValueError or TypeError raised by the inner operations with ``op``, so that
    ``layer_norm`` with a mismatched gamma says ``layer_norm: mul: shapes ... do not broadcast``."""
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (ValueError, TypeError) as e:
                if str(e).startswith(op + ":") or type(e) not in (ValueError, TypeError):
                    raise
                raise type(e)(f"{op}: {e}") from None
        return wrapper  # type: ignore[return-value]
    return decorate
