"""Shared benchmark harness: one BLAS thread, contenders alternated, medians and ratios.

Import this module before NumPy is imported anywhere else (it pins BLAS to one thread).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable, Optional  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))


def load_torch():
    """PyTorch pinned to one thread, or None when it is not installed."""
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def run_alternating(contenders: dict[str, Callable[[], None]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Call each contender once per round, in turn, and return the seconds each call took."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def report(title: str, times: dict[str, list[float]], unit: str, scale: float, baseline: str,
           target: Optional[str] = None) -> dict[str, float]:
    """Print the median of each contender (seconds * scale, in ``unit``) and its ratio to ``baseline``."""
    medians = {name: statistics.median(ts) * scale for name, ts in times.items()}
    print(f"\n{title}" + (f"   [target: {target}]" if target else ""))
    base = medians[baseline]
    other = "pytorch" if "pytorch" in medians and baseline != "pytorch" else None
    for name, m in medians.items():
        line = f"  {name:<22s} {m:12.3f} {unit:<6s} {m / base:7.2f}x vs {baseline}"
        if other:
            line += f"   {m / medians[other]:6.2f}x vs {other}"
        print(line)
    return medians


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    Reads VmHWM from /proc (Linux): unlike getrusage's ru_maxrss, it is not inherited
    from the parent process across fork and exec.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
