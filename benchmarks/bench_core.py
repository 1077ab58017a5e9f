"""Core engine benchmarks (issue: the define-by-run autodiff engine).

Run:  python benchmarks/bench_core.py [--rounds N]

Workloads (each contender alternated within one run, medians reported):
  1. a 10,000-op scalar chain  y = sin(y) * 1.0001 + 0.001  (3 ops per step), forward + backward, µs per op
  2. the same chain, forward only under no_grad(), µs per op
  3. a 200,000-op chain forward + backward: seconds, and extra peak memory (each contender in a
     fresh subprocess so that peaks do not mix)
  4. 1st to 6th derivative of tanh by repeated create_graph backward, ms
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import harness  # noqa: F401  (pins BLAS threads before numpy loads)

import numpy as np

import zerograd.functions as F
from zerograd import Variable, no_grad

STEP_OPS = 3


def zg_chain(n_ops: int) -> None:
    x = Variable(np.array(0.5))
    y = x
    for _ in range(n_ops // STEP_OPS):
        y = F.sin(y) * 1.0001 + 0.001
    y.backward()


def zg_chain_step(n_ops: int):
    """The chain as a step to compile: a function of the starting value, returning y and dy/dx."""
    def chain_step(x0):
        x = Variable(x0)
        y = x
        for _ in range(n_ops // STEP_OPS):
            y = F.sin(y) * 1.0001 + 0.001
        y.backward()
        return y, x.grad
    return chain_step


def zg_chain_nograd(n_ops: int) -> None:
    with no_grad():
        y = Variable(np.array(0.5))
        for _ in range(n_ops // STEP_OPS):
            y = F.sin(y) * 1.0001 + 0.001


def np_chain(n_ops: int) -> None:
    y = np.array(0.5)
    cosines = []
    for _ in range(n_ops // STEP_OPS):
        cosines.append(np.cos(y))
        y = np.sin(y) * 1.0001 + 0.001
    g = np.float64(1.0)
    for c in reversed(cosines):
        g = g * 1.0001 * c


def np_chain_forward(n_ops: int) -> None:
    y = np.array(0.5)
    for _ in range(n_ops // STEP_OPS):
        y = np.sin(y) * 1.0001 + 0.001


def torch_chain(torch, n_ops: int) -> None:
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(n_ops // STEP_OPS):
        y = torch.sin(y) * 1.0001 + 0.001
    y.backward()


def torch_chain_nograd(torch, n_ops: int) -> None:
    with torch.no_grad():
        y = torch.tensor(0.5, dtype=torch.float64)
        for _ in range(n_ops // STEP_OPS):
            y = torch.sin(y) * 1.0001 + 0.001


def zg_tanh_derivatives() -> None:
    x = Variable(np.array(1.0))
    y = F.tanh(x)
    y.backward(create_graph=True)
    for _ in range(5):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)


def torch_tanh_derivatives(torch) -> None:
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    g = torch.tanh(x)
    for _ in range(6):
        (g,) = torch.autograd.grad(g, x, create_graph=True)


def memory_child(contender: str, n_ops: int) -> None:
    """Run one 200,000-op chain in this (fresh) process and print seconds and extra peak MiB as JSON."""
    import time

    torch = harness.load_torch() if contender == "pytorch" else None
    runs = {"numpy": lambda: np_chain(n_ops), "zerograd": lambda: zg_chain(n_ops),
            "pytorch": lambda: torch_chain(torch, n_ops)}
    small = {"numpy": lambda: np_chain(300), "zerograd": lambda: zg_chain(300),
             "pytorch": lambda: torch_chain(torch, 300)}
    small[contender]()  # import and first-call costs out of the way
    base = harness.peak_rss_mib()
    t0 = time.perf_counter()
    runs[contender]()
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "extra_mib": harness.peak_rss_mib() - base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--memory-child", nargs=2, metavar=("CONTENDER", "N_OPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return

    torch = harness.load_torch()
    print(f"zerograd core benchmarks: numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else ", torch not installed") + ", one BLAS thread")

    n = 10_000
    import time

    import zerograd

    compiled = zerograd.compile(zg_chain_step(n))
    traced = []
    for x0 in (0.5, 0.4):
        t0 = time.perf_counter()
        compiled(np.array(x0))
        traced.append(time.perf_counter() - t0)
    start = np.array(0.5)
    contenders = {"numpy by hand": lambda: np_chain(n), "zerograd": lambda: zg_chain(n),
                  "zerograd.compile": lambda: compiled(start)}
    if torch:
        contenders["pytorch"] = lambda: torch_chain(torch, n)
    times = harness.run_alternating(contenders, args.rounds)
    harness.report(f"1. {n}-op scalar chain, forward + backward", times, "us/op", 1e6 / n, "numpy by hand",
                   target="zerograd <= 3 us/op, compiled <= 3x numpy")
    print(f"  (compile: the two traces took {traced[0] * 1e3:.0f} and {traced[1] * 1e3:.0f} ms; {compiled!r})")

    contenders = {"numpy by hand": lambda: np_chain_forward(n), "zerograd": lambda: zg_chain_nograd(n)}
    if torch:
        contenders["pytorch"] = lambda: torch_chain_nograd(torch, n)
    times = harness.run_alternating(contenders, args.rounds)
    harness.report(f"2. {n}-op scalar chain, forward under no_grad", times, "us/op", 1e6 / n, "numpy by hand",
                   target="zerograd <= 1.0 us/op")

    big = 200_000
    print(f"\n3. {big}-op chain, forward + backward, each in a fresh process (median of 3)   "
          "[target: zerograd <= 0.8 s, <= 150 MiB]")
    names = ["numpy", "zerograd"] + (["pytorch"] if torch else [])
    results: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(3):
        for name in names:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", name, str(big)],
                                 capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    base_s = float(np.median([r["seconds"] for r in results["numpy"]]))
    for name in names:
        s = float(np.median([r["seconds"] for r in results[name]]))
        mib = float(np.median([r["extra_mib"] for r in results[name]]))
        print(f"  {name:<22s} {s:8.3f} s {s / base_s:8.2f}x vs numpy   extra peak memory {mib:7.1f} MiB")

    contenders = {"zerograd": zg_tanh_derivatives}
    if torch:
        contenders["pytorch"] = lambda: torch_tanh_derivatives(torch)
    times = harness.run_alternating(contenders, max(args.rounds, 25), warmup=3)
    harness.report("4. 1st to 6th derivative of tanh (repeated create_graph)", times, "ms", 1e3, "zerograd",
                   target="zerograd <= 0.8 ms")


if __name__ == "__main__":
    main()
