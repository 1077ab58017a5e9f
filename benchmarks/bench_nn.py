"""Neural-network toolkit benchmarks: one SGD training step of an MLP with softmax cross entropy.

Run:  python benchmarks/bench_nn.py [--rounds N]

  1. MLP 784-1000-10 (sigmoid), batch 100, float32: forward, backward, SGD update
  2. MLP 2-10-3 (sigmoid), batch 30, float32: the same (pure framework overhead)

Contenders: NumPy by hand (the same math written out), zerograd eager, the same step under
``zerograd.compile`` (traced on its first calls, then replayed), PyTorch eager (when installed).
"""
from __future__ import annotations

import argparse

import harness

import numpy as np

import zerograd
import zerograd.functions as F
from zerograd import optimizers
from zerograd.models import MLP


class NumpyMLP:
    """The same two-layer network and SGD step written directly in NumPy."""

    def __init__(self, sizes, lr=0.1):
        rng = np.random.default_rng(0)
        i, h, o = sizes
        self.W1 = (rng.standard_normal((i, h)) * np.sqrt(1 / i)).astype(np.float32)
        self.b1 = np.zeros(h, np.float32)
        self.W2 = (rng.standard_normal((h, o)) * np.sqrt(1 / h)).astype(np.float32)
        self.b2 = np.zeros(o, np.float32)
        self.lr = np.float32(lr)

    def step(self, x, t):
        n = x.shape[0]
        a = x @ self.W1 + self.b1
        h = np.tanh(a * 0.5) * 0.5 + 0.5
        y = h @ self.W2 + self.b2
        y = y - y.max(axis=1, keepdims=True)
        e = np.exp(y)
        s = e.sum(axis=1, keepdims=True)
        loss = -(y[np.arange(n), t] - np.log(s[:, 0])).mean()
        dy = e / s
        dy[np.arange(n), t] -= 1
        dy /= n
        gW2 = h.T @ dy
        gb2 = dy.sum(axis=0)
        dh = dy @ self.W2.T
        da = dh * h * (1 - h)
        gW1 = x.T @ da
        gb1 = da.sum(axis=0)
        self.W1 -= self.lr * gW1
        self.b1 -= self.lr * gb1
        self.W2 -= self.lr * gW2
        self.b2 -= self.lr * gb2
        return loss


def training_step(model, opt):
    """One zerograd training step with softmax cross entropy, as a function of (x, t)."""
    def step(x, t):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update()
        return loss
    return step


def zerograd_step_fn(sizes, lr=0.1):
    np.random.seed(0)
    model = MLP(sizes[1:])
    return training_step(model, optimizers.SGD(lr).setup(model))


def torch_step_fn(torch, sizes, lr=0.1):
    torch.manual_seed(0)
    i, h, o = sizes
    model = torch.nn.Sequential(torch.nn.Linear(i, h), torch.nn.Sigmoid(), torch.nn.Linear(h, o))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, t):
        loss = loss_fn(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def bench(sizes, batch, rounds, repeat, torch):
    rng = np.random.default_rng(1)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    t = rng.integers(0, sizes[-1], batch)
    by_hand = NumpyMLP(sizes)
    zg = zerograd_step_fn(sizes)
    compiled = zerograd.compile(zerograd_step_fn(sizes))
    for k in range(3):  # two traces on different batches, then replays
        compiled(x[::-1].copy() if k == 1 else x, t)
    contenders = {
        "numpy by hand": lambda: [by_hand.step(x, t) for _ in range(repeat)],
        "zerograd": lambda: [zg(x, t) for _ in range(repeat)],
        "zerograd.compile": lambda: [compiled(x, t) for _ in range(repeat)],
    }
    if torch:
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)
        ts = torch_step_fn(torch, sizes)
        contenders["pytorch"] = lambda: [ts(tx, tt) for _ in range(repeat)]
    return harness.run_alternating(contenders, rounds, warmup=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch = harness.load_torch()
    print(f"zerograd NN benchmarks: numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else ", torch not installed") + ", one BLAS thread")
    times = bench((784, 1000, 10), 100, args.rounds, 5, torch)
    harness.report("1. MLP 784-1000-10, batch 100, one SGD step", times, "ms", 1e3 / 5, "numpy by hand",
                   target="zerograd <= 1.15x numpy, compiled <= 1.02x")
    times = bench((2, 10, 3), 30, args.rounds, 200, torch)
    harness.report("2. MLP 2-10-3, batch 30, one SGD step", times, "us", 1e6 / 200, "numpy by hand",
                   target="zerograd <= 90 us, compiled <= 1.2x numpy")


if __name__ == "__main__":
    main()
