"""GPU check and timing (needs CuPy and a GPU): a CNN training step and an MLP step, CPU vs GPU.

Run:  python benchmarks/bench_gpu.py
"""
from __future__ import annotations

import time

import harness  # noqa: F401  (pins BLAS threads, puts src on the path)

import numpy as np

import zerograd.functions as F
from zerograd import optimizers
from zerograd.models import MLP
from zerograd.models import CNN

from bench_nn import training_step


def timed(step, sync, repeat):
    step()
    sync()
    t0 = time.perf_counter()
    for _ in range(repeat):
        step()
    sync()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    import cupy as cp

    print(f"GPU: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy {cp.__version__}")
    rng = np.random.default_rng(0)
    for name, make, shape in [("CNN (conv16-conv32-fc100), batch 100 of 1x28x28", lambda: CNN(100, 10),
                               (100, 1, 28, 28)),
                              ("MLP 784-1000-1000-10, batch 100", lambda: MLP((1000, 1000, 10), activation=F.relu),
                               (100, 784))]:
        x = rng.random(shape, dtype=np.float32)
        t = rng.integers(0, 10, shape[0])
        results = {}
        for device in ("cpu", "gpu"):
            np.random.seed(0)
            model = make()
            model(x[:2])
            xx, tt = x, t
            if device == "gpu":
                model.to_gpu()
                xx, tt = cp.asarray(x), cp.asarray(t)
            opt = optimizers.Adam().setup(model)
            sync = cp.cuda.Device().synchronize if device == "gpu" else (lambda: None)
            step = training_step(model, opt)
            results[device] = timed(lambda: step(xx, tt), sync, 20 if device == "gpu" else 5)
        print(f"{name}: CPU {results['cpu'] * 1e3:.1f} ms, GPU {results['gpu'] * 1e3:.2f} ms per step "
              f"({results['cpu'] / results['gpu']:.1f}x)")


if __name__ == "__main__":
    main()
