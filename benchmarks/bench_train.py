"""Where the time of ``zerograd train`` goes (the book's spiral MLP, 300 epochs), part by part.

Run:  python benchmarks/bench_train.py [--runs N] [--epochs E]

  1. the run in-process, split by ``Trainer.timings``: training epochs, evaluation, and keeping
     the files (metrics appended, state kept, checkpoint and best weights written);
     the target is files <= 30% of the training epochs' own time;
  2. the plots in a fresh interpreter (matplotlib's import included): target <= 1 s;
  3. the whole command, ``python -m zerograd train``, in a fresh interpreter;
  4. one checkpoint written compressed and uncompressed (why files are uncompressed).

Medians of N runs (the machines are shared: quote the ratios).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import harness  # noqa: F401  (one BLAS thread; src/ on the path)

import numpy as np

from zerograd.serialization import save_arrays
from zerograd.training import Trainer, TrainConfig, build_task

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

PLOTS = r'''
import sys, time
t0 = time.perf_counter()
import numpy as np
import zerograd
from zerograd.datasets import Spiral
from zerograd.models import MLP
t1 = time.perf_counter()
from zerograd import plotting
data = Spiral()
model = MLP((10, 3))
history = [{"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.1 / e, "train_accuracy": 0.5, "test_accuracy": 0.5}
           for e in range(1, 301)]
plotting.learning_curve(history, sys.argv[1] + "/lc.png", title="MLP on spiral")
plotting.decision_boundary(model, data.data, data.label, sys.argv[1] + "/db.png", title="MLP on spiral")
print(time.perf_counter() - t1)
'''


def run_in_process(epochs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(epochs=epochs).resolved()
        np.random.seed(config.seed)
        trainer = Trainer(build_task(config), out, log=lambda line: None, progress=False)
        start = time.perf_counter()
        trainer.run()
        total = time.perf_counter() - start
        return dict(trainer.timings, total=total)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=SRC)

    parts = [run_in_process(args.epochs) for _ in range(args.runs)]
    med = {k: statistics.median(p[k] for p in parts) for k in parts[0]}
    print(f"1. zerograd train (spiral MLP, {args.epochs} epochs) in-process, median of {args.runs}:")
    for key in ("train", "evaluate", "files", "total"):
        print(f"  {key:<10} {med[key]:7.3f} s")
    print(f"  files / train = {med['files'] / med['train']:.2f}   [target: <= 0.30]")

    with tempfile.TemporaryDirectory() as out:
        plots = [float(subprocess.run([sys.executable, "-c", PLOTS, out], env=env, capture_output=True, text=True,
                                      check=True).stdout) for _ in range(args.runs)]
    print(f"2. plots (learning curve + decision boundary, matplotlib imported): {statistics.median(plots):.3f} s"
          "   [target: <= 1 s]")

    walls = []
    for _ in range(max(1, args.runs // 2)):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "zerograd", "train", "--out", out, "--epochs", str(args.epochs),
                            "--no-progress"], env=env, capture_output=True, check=True)
            walls.append(time.perf_counter() - t0)
    print(f"3. python -m zerograd train, whole command: {statistics.median(walls):.3f} s")

    rng = np.random.default_rng(0)
    state = {f"l{i}/W": rng.standard_normal((784, 1000)).astype(np.float32) for i in range(2)}
    with tempfile.TemporaryDirectory() as out:
        times = {}
        for compress in (False, True, False, True):
            t0 = time.perf_counter()
            save_arrays(os.path.join(out, f"c{compress}.npz"), state, compress=compress)
            times.setdefault(compress, []).append(time.perf_counter() - t0)
        sizes = {c: os.path.getsize(os.path.join(out, f"c{c}.npz")) for c in (False, True)}
    print(f"4. a 6 MB checkpoint: uncompressed {min(times[False]) * 1e3:.1f} ms, {sizes[False] / 1e6:.2f} MB; "
          f"compressed {min(times[True]) * 1e3:.1f} ms, {sizes[True] / 1e6:.2f} MB "
          f"({min(times[True]) / min(times[False]):.0f}x slower, {1 - sizes[True] / sizes[False]:.0%} smaller)")


if __name__ == "__main__":
    main()
