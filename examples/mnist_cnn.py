"""A convolutional network on MNIST (the book's step 58 ideas, trained properly).

    python examples/mnist_cnn.py --epochs 3

conv 3x3 (16) -> ReLU -> max-pool 2 -> conv 3x3 (32) -> ReLU -> max-pool 2 -> linear 100 -> ReLU
-> linear 10, Adam. MNIST comes from the zerograd cache ($ZEROGRAD_HOME, default ~/.zerograd).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd import DataLoader, optimizers
from zerograd.datasets import MNIST
from zerograd.models import Model
from zerograd.transforms import Compose, Normalize, ToFloat


class CNN(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = L.Conv2d(16, kernel_size=3, pad=1)
        self.conv2 = L.Conv2d(32, kernel_size=3, pad=1)
        self.fc3 = L.Linear(100)
        self.fc4 = L.Linear(10)

    def forward(self, x):
        x = F.pooling(F.relu(self.conv1(x)), 2, 2)
        x = F.pooling(F.relu(self.conv2(x)), 2, 2)
        x = F.relu(self.fc3(F.flatten(x)))
        return self.fc4(x)


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training and test images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    np.random.seed(args.seed)
    image = Compose([ToFloat(), Normalize(0.0, 255.0)])  # keep the (1, 28, 28) shape
    train_set, test_set = MNIST(train=True, transform=image), MNIST(train=False, transform=image)
    if args.limit:
        for ds in (train_set, test_set):
            ds.data, ds.label = ds.data[:args.limit], ds.label[:args.limit]
    train_loader = DataLoader(train_set, args.batch_size)
    test_loader = DataLoader(test_set, args.batch_size, shuffle=False)
    model = CNN()
    optimizer = optimizers.Adam().setup(model)

    acc = 0.0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        sum_loss, sum_acc = 0.0, 0.0
        for x, t in train_loader:
            y = model(x)
            loss = F.softmax_cross_entropy(y, t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(t)
            sum_acc += float(F.accuracy(y, t).data) * len(t)
        seconds = time.perf_counter() - start
        test_acc = 0.0
        with zerograd.no_grad(), zerograd.test_mode():
            for x, t in test_loader:
                test_acc += float(F.accuracy(model(x), t).data) * len(t)
        acc = test_acc / len(test_set)
        print(f"epoch {epoch + 1}: train loss {sum_loss / len(train_set):.4f}, train accuracy "
              f"{sum_acc / len(train_set):.4f}, test accuracy {acc:.4f} ({seconds:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
