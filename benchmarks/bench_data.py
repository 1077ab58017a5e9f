"""Data-loading benchmark: one epoch of MNIST (600 batches of 100, default transform).

Run:  python benchmarks/bench_data.py [--mnist-dir ../shared/data/mnist]

The MNIST files are taken from ``--mnist-dir`` (linked into a temporary cache) or from the
zerograd cache ($ZEROGRAD_HOME). Compared with plain NumPy fancy indexing of the same arrays.
"""
from __future__ import annotations

import argparse
import os
import tempfile

import harness

import numpy as np

from zerograd.dataloaders import DataLoader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "mnist")
    parser.add_argument("--mnist-dir", default=default_dir if os.path.isdir(default_dir) else None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.mnist_dir:
        home = tempfile.mkdtemp(prefix="zg-bench-")
        target = os.path.join(home, "datasets", "mnist")
        os.makedirs(target)
        for name in os.listdir(args.mnist_dir):
            os.symlink(os.path.abspath(os.path.join(args.mnist_dir, name)), os.path.join(target, name))
        os.environ["ZEROGRAD_HOME"] = home
    from zerograd.datasets import MNIST

    train = MNIST(train=True)
    np.random.seed(0)
    loader = DataLoader(train, batch_size=100)
    images = train.data

    def zerograd_epoch():
        for x, t in loader:
            pass

    def numpy_epoch():
        index = np.random.permutation(len(images))
        for i in range(600):
            b = index[i * 100:(i + 1) * 100]
            (images[b].reshape(100, -1).astype(np.float32) - 0.0) / 255.0, train.label[b]

    times = harness.run_alternating({"numpy by hand": numpy_epoch, "zerograd": zerograd_epoch}, args.rounds)
    harness.report("MNIST, one epoch of 600 batches of 100 (Flatten, ToFloat, Normalize)", times, "s", 1.0,
                   "numpy by hand", target="well under 1 s")


if __name__ == "__main__":
    main()
