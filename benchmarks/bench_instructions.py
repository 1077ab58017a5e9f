"""Instructions per unit of work, counted by Valgrind's callgrind: deterministic where timings are not.

The project's machines are shared virtual machines whose timings move by 2x between runs; an
instruction count does not. Each workload runs N and 2N times in a fresh interpreter under
callgrind (``PYTHONHASHSEED=0``, one BLAS thread) and the difference, divided by N, is the cost of
one unit, with imports and warm-up cancelled out. Compare two checkouts in one sitting:

    python3 benchmarks/bench_instructions.py --baseline /path/to/other/checkout/src

Workloads: ``nograd`` (3 ops of bench_core's scalar chain under no_grad), ``chain`` (the same
recorded, forward + backward), ``tanhd`` (tanh's 1st to 6th derivatives), ``mlp`` (bench_nn's
MLP 2-10-3 SGD step, float32), ``mlp_compiled`` (that step under ``zerograd.compile``, replayed),
``mlp_hand`` (that step written in NumPy by hand: bench_nn's ``NumpyMLP``). Needs ``valgrind`` (``apt-get install valgrind``).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = {"nograd": 2000, "chain": 2000, "tanhd": 40, "mlp": 200, "mlp_compiled": 200, "mlp_hand": 200}

CHILD = r'''
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import zerograd as m
F = m.functions

def nograd(n):
    with m.no_grad():
        y = m.Variable(np.array(0.5))
        for _ in range(n):
            y = F.sin(y) * 1.0001 + 0.001

def chain(n):
    x = m.Variable(np.array(0.5))
    y = x
    for _ in range(n):
        y = F.sin(y) * 1.0001 + 0.001
    y.backward()

def tanhd(n):
    for _ in range(n):
        x = m.Variable(np.array(1.0))
        F.tanh(x).backward(create_graph=True)
        for _ in range(5):
            gx = x.grad
            x.cleargrad()
            gx.backward(create_graph=True)

def mlp(n):
    np.random.seed(0)
    model = m.models.MLP((10, 3))
    opt = m.optimizers.SGD(1.0).setup(model)
    x = np.random.randn(30, 2).astype(np.float32)
    t = np.random.randint(0, 3, 30)
    for _ in range(n):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update()

def _mlp_compiled():
    np.random.seed(0)
    model = m.models.MLP((10, 3))
    opt = m.optimizers.SGD(1.0).setup(model)
    x = np.random.randn(30, 2).astype(np.float32)
    t = np.random.randint(0, 3, 30)
    sys.path.insert(0, sys.argv[5])
    from bench_nn import training_step
    step = m.compile(training_step(model, opt))
    step(x, t)
    step(x[::-1].copy(), t)  # a second trace on other values: the program is trusted from here
    return step, x, t


def mlp_compiled(n):
    step, x, t = STATE.get("mlp_compiled") or STATE.setdefault("mlp_compiled", _mlp_compiled())
    for _ in range(n):
        step(x, t)


def mlp_hand(n):
    sys.path.insert(0, sys.argv[5])
    from bench_nn import NumpyMLP
    net = NumpyMLP((2, 10, 3), lr=1.0)
    x = np.random.randn(30, 2).astype(np.float32)
    t = np.random.randint(0, 3, 30)
    for _ in range(n):
        net.step(x, t)


STATE = {}
work, n, times = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import gc
gc.freeze()  # what the imports made is not traversed by the collector: only the work's own objects count
for _ in range(times):
    globals()[work](n)
'''


def count(src: str, work: str, n: int, times: int) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          os.path.realpath(sys.executable), "-c", CHILD, src, work, str(n), str(times), HERE],
                         capture_output=True, text=True, env=env, check=True)
    match = re.search(r"Collected : (\d+)", out.stderr)
    if not match:
        raise RuntimeError(f"callgrind printed no count:\n{out.stderr[-2000:]}")
    return int(match.group(1))


def per_unit(src: str, work: str) -> float:
    n = WORKLOADS[work]
    return (count(src, work, n, 2) - count(src, work, n, 1)) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", default=os.path.join(HERE, "..", "src"), help="the checkout to measure")
    parser.add_argument("--baseline", help="another checkout's src/ to compare with")
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions: valgrind is not installed (apt-get install valgrind)")
    for work in args.workloads:
        new = per_unit(os.path.abspath(args.src), work)
        line = f"{work:8s} {new:14,.0f} instructions per unit"
        if args.baseline:
            base = per_unit(os.path.abspath(args.baseline), work)
            line += f"   baseline {base:14,.0f}   ratio {new / base:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
