"""Array backend: NumPy always, CuPy when it is installed and a GPU is present.

Everything above this module asks ``get_array_module(x)`` for the module that
owns an array instead of importing NumPy or CuPy directly, so the same code
runs on either device.
"""
from __future__ import annotations

from typing import Any

import numpy as np

try:  # CuPy is optional; zerograd never needs it to import.
    import cupy as cp

    gpu_enable = True
except Exception:  # ImportError, or a CuPy that cannot find CUDA
    cp = None
    gpu_enable = False

#: Types accepted as array data by :class:`zerograd.Variable`.
array_types: tuple[type[Any], ...] = (np.ndarray,) if cp is None else (np.ndarray, cp.ndarray)


def get_array_module(x: Any):
    """Return ``numpy`` or ``cupy``, whichever owns ``x`` (a Variable or an array)."""
    data = _array_of(x)
    if cp is not None and isinstance(data, cp.ndarray):
        return cp
    return np


def _array_of(x: Any) -> Any:
    """The array inside a Variable, or ``x`` itself (a CuPy array's own ``.data`` is a pointer)."""
    return x if isinstance(x, array_types) else getattr(x, "data", x)


def as_numpy(x: Any) -> np.ndarray:
    """Return ``x`` (a Variable, array or scalar) as a NumPy array, copying from the GPU if needed."""
    data = _array_of(x)
    if np.isscalar(data):
        return np.asarray(data)
    if isinstance(data, np.ndarray):
        return data
    if cp is not None and isinstance(data, cp.ndarray):
        return cp.asnumpy(data)
    return np.asarray(data)


def as_cupy(x: Any):
    """Return ``x`` as a CuPy array; raises a clear error when CuPy is unavailable."""
    if cp is None:
        raise RuntimeError("as_cupy: CuPy is not installed (pip install cupy-cuda12x, on a machine with a GPU)")
    data = _array_of(x)
    return cp.asarray(data)


def add_into(y: Any, b: Any) -> Any:
    """``y + b``, in place in ``y`` when its dtype can hold the sum: an integer ``y`` (an integer
    input times integer weights) with a float ``b`` takes NumPy's promotion instead of failing
    with a casting error."""
    if y.dtype.kind in "biu":
        return y + b
    y += b
    return y


def float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` when it is a float (or complex) type, else float64: where an integer or boolean
    input needs a fractional result (NumPy's promotion of integers with floats)."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def manual_seed(seed: int) -> None:
    """Seed what zerograd draws from: NumPy's global generator (initializers, dropout, shuffling,
    the datasets' noise) and CuPy's when it is installed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"manual_seed: the seed must be an integer from 0 to 2**32 - 1, got {seed!r}")
    np.random.seed(seed)
    if cp is not None:
        cp.random.seed(seed)


def keep_freed_memory() -> bool:
    """Ask the C library's allocator (glibc's malloc, on Linux) to keep freed memory for reuse
    instead of giving large blocks back to the system: NumPy's temporaries of a training step are
    then not fresh pages every step (page faults cost a GPT step on the CPU a quarter of its time
    here). It lasts for the process and makes its resident memory stay at its peak; ``zerograd
    train`` calls it. Returns whether it took effect (False where the allocator is not glibc's)."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # (glibc's malloc.h)
    return bool(mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)) and bool(mallopt(M_TRIM_THRESHOLD, 2 ** 30))
