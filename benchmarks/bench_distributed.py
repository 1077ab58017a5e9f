"""Data-parallel benchmarks over MPI (needs ``pip install 'zerograd[distributed]'``).

Run:  python benchmarks/bench_distributed.py [--processes 2] [--epochs 1]

  1. allreduce of 1 MB and 16 MB of float32 (the packed gradient average of one step), on N processes
     started with mpiexec: median milliseconds of 20 calls, and the bandwidth it implies
  2. one epoch of the MNIST MLP of ``zerograd train --dataset mnist`` on 1 and on N processes
     (``mpiexec -n N zerograd train --distributed``, --batch-size 100 / N each, so the global batch
     is the same): training seconds of the epoch (metrics.csv) and the scaling efficiency
     t1 / (N * tN). MNIST must be in zerograd's cache (``ZEROGRAD_HOME``).

On one machine the processes share its cores and BLAS pins one thread each (OMP_NUM_THREADS=1).
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

CHILD = r"""
import statistics, sys, time
import numpy as np
from zerograd import distributed as D
comm = D.create_communicator()
for mb in (1, 16):
    buffer = np.ones(mb * 2 ** 20 // 4, np.float32)
    times = []
    for _ in range(22):
        comm.barrier()
        t0 = time.perf_counter()
        comm.allreduce_sum_inplace(buffer)
        times.append(time.perf_counter() - t0)
    if comm.rank == 0:
        ms = statistics.median(times[2:]) * 1e3
        print(f"  allreduce {mb:2d} MB on {comm.size} processes: {ms:8.3f} ms  ({mb / ms * 1e3 / 1024:.2f} GB/s)")
"""


def mpiexec() -> str:
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if found is None:
        sys.exit("bench_distributed: no mpiexec (pip install 'zerograd[distributed]')")
    return found


def epoch_seconds(n: int, epochs: int, folder: str) -> float:
    out = os.path.join(folder, f"run{n}")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run([mpiexec(), "-n", str(n), sys.executable, "-m", "zerograd", "train", "--distributed",
                    "--dataset", "mnist", "--epochs", str(epochs), "--batch-size", str(100 // n), "--out", out,
                    "--no-progress"], check=True, env=env, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.csv"), newline="") as fh:
        return sum(float(row["seconds"]) for row in csv.DictReader(fh)) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    n = args.processes
    print(f"zerograd distributed benchmarks: {n} processes on {os.cpu_count()} cores")
    print("\n1. allreduce (MPI_Allreduce, sum, in place)")
    subprocess.run([mpiexec(), "-n", str(n), sys.executable, "-c", CHILD], check=True)
    print("\n2. MNIST MLP (784-1000-10, Adam), global batch 100, training seconds per epoch")
    with tempfile.TemporaryDirectory() as folder:
        t1 = epoch_seconds(1, args.epochs, folder)
        tn = epoch_seconds(n, args.epochs, folder)
    print(f"  1 process: {t1:.2f} s   {n} processes: {tn:.2f} s   speed-up {t1 / tn:.2f}x   "
          f"scaling efficiency {t1 / (n * tn):.0%}")


if __name__ == "__main__":
    main()
