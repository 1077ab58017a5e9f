"""An MLP classifies the spiral data (the book's steps 48-50).

    python examples/spiral_mlp.py

Prints the book's numbers: epoch 1 train loss 1.0944, accuracy 0.4033; test loss 1.0468,
accuracy 0.3267.
"""
from __future__ import annotations

import argparse

import zerograd
import zerograd.functions as F
from zerograd import DataLoader, optimizers
from zerograd.datasets import Spiral
from zerograd.models import MLP


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    batch_size, hidden_size, lr = 30, 10, 1.0

    train_set, test_set = Spiral(train=True), Spiral(train=False)
    train_loader = DataLoader(train_set, batch_size)
    test_loader = DataLoader(test_set, batch_size, shuffle=False)
    model = MLP((hidden_size, 3))
    optimizer = optimizers.SGD(lr).setup(model)

    history = []
    for epoch in range(args.epochs):
        sum_loss, sum_acc = 0.0, 0.0
        for x, t in train_loader:
            y = model(x)
            loss = F.softmax_cross_entropy(y, t)
            acc = F.accuracy(y, t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(t)
            sum_acc += float(acc.data) * len(t)
        train = (sum_loss / len(train_set), sum_acc / len(train_set))
        sum_loss, sum_acc = 0.0, 0.0
        with zerograd.no_grad():
            for x, t in test_loader:
                y = model(x)
                sum_loss += float(F.softmax_cross_entropy(y, t).data) * len(t)
                sum_acc += float(F.accuracy(y, t).data) * len(t)
        test = (sum_loss / len(test_set), sum_acc / len(test_set))
        history.append((train, test))
        if not args.quiet and (epoch == 0 or (epoch + 1) % 50 == 0):
            print(f"epoch {epoch + 1}: train loss {train[0]:.4f}, accuracy {train[1]:.4f}; "
                  f"test loss {test[0]:.4f}, accuracy {test[1]:.4f}")
    return history


if __name__ == "__main__":
    main()
