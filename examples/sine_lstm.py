"""An LSTM learns to continue a sine curve (the book's step 60).

    python examples/sine_lstm.py --epochs 100

Trains on SinCurve with truncated BPTT (30 steps, batch 30, Adam), then predicts the cos
curve one step ahead and reports the mean squared error.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd import SeqDataLoader, optimizers
from zerograd.datasets import SinCurve
from zerograd.models import Model


class BetterRNN(Model):
    def __init__(self, hidden_size, out_size):
        super().__init__()
        self.rnn = L.LSTM(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self):
        self.rnn.reset_state()

    def forward(self, x):
        return self.fc(self.rnn(x))


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--bptt", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    np.random.seed(args.seed)
    train_set = SinCurve(train=True)
    loader = SeqDataLoader(train_set, batch_size=args.batch_size)
    model = BetterRNN(args.hidden, 1)
    optimizer = optimizers.Adam().setup(model)
    seqlen = len(train_set)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.reset_state()
        loss, count, sum_loss = 0, 0, 0.0
        for x, t in loader:
            y = model(x)
            loss += F.mean_squared_error(y, t)
            count += 1
            if count % args.bptt == 0 or count == seqlen:
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
                sum_loss += float(loss.data)
                loss = 0
        if (epoch + 1) % 10 == 0 or epoch == 0:
            print(f"epoch {epoch + 1}: loss {sum_loss / count:.6f}")
    seconds = time.perf_counter() - start

    test = SinCurve(train=False)
    model.reset_state()
    predictions = []
    with zerograd.no_grad():
        for x in test.data:
            predictions.append(model(x.reshape(1, 1)).item())
    mse = float(np.mean((np.array(predictions) - test.label[:, 0]) ** 2))
    print(f"test: one-step prediction of cos, mean squared error {mse:.5f}; "
          f"{seconds / args.epochs:.2f} s per epoch")
    return mse


if __name__ == "__main__":
    main()
