"""An MLP on MNIST (the book's step 51, improved: ReLU and Adam).

    python examples/mnist_mlp.py --epochs 5
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import zerograd
import zerograd.functions as F
from zerograd import DataLoader, optimizers
from zerograd.datasets import MNIST
from zerograd.models import MLP


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training and test images")
    args = parser.parse_args(argv)

    np.random.seed(0)
    train_set, test_set = MNIST(train=True), MNIST(train=False)
    if args.limit:
        for ds in (train_set, test_set):
            ds.data, ds.label = ds.data[:args.limit], ds.label[:args.limit]
    train_loader = DataLoader(train_set, args.batch_size)
    test_loader = DataLoader(test_set, args.batch_size, shuffle=False)
    model = MLP((args.hidden, args.hidden, 10), activation=F.relu)
    optimizer = optimizers.Adam().setup(model)

    acc = 0.0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        sum_loss = 0.0
        for x, t in train_loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(t)
        seconds = time.perf_counter() - start
        correct = 0.0
        with zerograd.no_grad():
            for x, t in test_loader:
                correct += float(F.accuracy(model(x), t).data) * len(t)
        acc = correct / len(test_set)
        print(f"epoch {epoch + 1}: train loss {sum_loss / len(train_set):.4f}, test accuracy {acc:.4f} "
              f"({seconds:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
