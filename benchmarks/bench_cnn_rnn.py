"""CNN and LSTM benchmarks.

Run:  python benchmarks/bench_cnn_rnn.py [--rounds N]

  1. CNN step: batch 32 of 1x28x28, conv 3x3 (16 channels, pad 1), ReLU, 2x2 max pooling,
     linear 10, softmax cross entropy; forward + backward
  2. LSTM (hidden 100, input 1, batch 30) then linear 1 and squared error, one 30-step
     truncated-BPTT update: forward, backward, SGD

Contenders: NumPy by hand (the same math written out), zerograd eager, the zerograd step under
``zerograd.compile`` (traced on its first calls, then replayed; step 1 also runs the SGD update so
that the compiled step is a whole training step), PyTorch (when installed).
"""
from __future__ import annotations

import argparse

import harness

import numpy as np

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd import optimizers
from zerograd.models import Model


# ----------------------------------------------------------------- CNN by hand
def np_cnn_step(x, t, W, b, W2, b2):
    n = x.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    s = xp.strides
    col = np.lib.stride_tricks.as_strided(xp, (n, 1, 3, 3, 28, 28), (s[0], s[1], s[2], s[3], s[2], s[3]))
    mat = col.transpose(1, 2, 3, 0, 4, 5).reshape(9, -1)
    a = (W.reshape(16, -1) @ mat + b[:, None]).reshape(16, n, 28, 28).transpose(1, 0, 2, 3)
    r = np.maximum(a, 0)
    corners = [r[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)]  # the four offsets of each 2x2 window
    p = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    flat = p.reshape(n, -1)
    z = flat @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    sm = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(sm[np.arange(n), t]).mean()
    dz = sm
    dz[np.arange(n), t] -= 1
    dz /= n
    gW2 = flat.T @ dz
    gb2 = dz.sum(axis=0)
    dp = (dz @ W2.T).reshape(n, 16, 14, 14)
    dr = np.zeros_like(r)
    for k, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        dr[:, :, i::2, j::2] = (corners[k] == p) * dp
    da = dr * (a > 0)
    gmat = da.transpose(1, 0, 2, 3).reshape(16, -1)
    gW = (gmat @ mat.T).reshape(W.shape)
    gb = gmat.sum(axis=1)
    return loss, gW, gb, gW2, gb2


class ZgCNN(Model):
    def __init__(self):
        super().__init__()
        self.conv = L.Conv2d(16, kernel_size=3, pad=1)
        self.fc = L.Linear(10)

    def forward(self, x):
        h = F.pooling(F.relu(self.conv(x)), 2, 2)
        return self.fc(F.reshape(h, (h.shape[0], -1)))


# ---------------------------------------------------------------- LSTM by hand
def sig(a):
    return np.tanh(a * 0.5) * 0.5 + 0.5


class NumpyLSTM:
    def __init__(self, H=100, I=1, lr=0.01):
        rng = np.random.default_rng(0)
        self.Wx = (rng.standard_normal((I, 4 * H)) * np.sqrt(1 / I)).astype(np.float32)
        self.Wh = (rng.standard_normal((H, 4 * H)) * np.sqrt(1 / H)).astype(np.float32)
        self.b = np.zeros(4 * H, np.float32)
        self.Wo = (rng.standard_normal((H, 1)) * np.sqrt(1 / H)).astype(np.float32)
        self.bo = np.zeros(1, np.float32)
        self.H = H
        self.lr = np.float32(lr)

    def update(self, xs, ts):
        H = self.H
        n = xs.shape[1]
        h = np.zeros((n, H), np.float32)
        c = np.zeros((n, H), np.float32)
        cache = []
        loss = 0.0
        for x, t in zip(xs, ts):
            a = x @ self.Wx + self.b + h @ self.Wh
            g = sig(a[:, :3 * H])
            f, i, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
            u = np.tanh(a[:, 3 * H:])
            c_new = f * c + i * u
            tc = np.tanh(c_new)
            h_new = o * tc
            y = h_new @ self.Wo + self.bo
            d = y - t
            loss += float((d * d).sum()) / n
            cache.append((x, h, c, f, i, o, u, tc, h_new, d))
            h, c = h_new, c_new
        gWx, gWh, gb = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        gWo, gbo = np.zeros_like(self.Wo), np.zeros_like(self.bo)
        gh_next = np.zeros((n, H), np.float32)
        gc_next = np.zeros((n, H), np.float32)
        for x, h, c, f, i, o, u, tc, h_new, d in reversed(cache):
            gy = d * (2.0 / n)
            gWo += h_new.T @ gy
            gbo += gy.sum(axis=0)
            gh = gy @ self.Wo.T + gh_next
            gct = gc_next + gh * o * (1 - tc * tc)
            ga = np.concatenate([gct * c * f * (1 - f), gct * u * i * (1 - i), gh * tc * o * (1 - o),
                                 gct * i * (1 - u * u)], axis=1)
            gWx += x.T @ ga
            gWh += h.T @ ga
            gb += ga.sum(axis=0)
            gh_next = ga @ self.Wh.T
            gc_next = gct * f
        for p, gp in ((self.Wx, gWx), (self.Wh, gWh), (self.b, gb), (self.Wo, gWo), (self.bo, gbo)):
            p -= self.lr * gp
        return loss


class ZgLSTMNet(Model):
    def __init__(self):
        super().__init__()
        self.rnn = L.LSTM(100)
        self.fc = L.Linear(1)

    def forward(self, x):
        return self.fc(self.rnn(x))


def zg_lstm_update(model, opt, xs, ts):
    model.rnn.reset_state()
    loss = 0
    for x, t in zip(xs, ts):
        loss += F.mean_squared_error(model(x), t)
    model.cleargrads()
    loss.backward()
    loss.unchain_backward()
    opt.update()
    return loss


def time_traces(step, *calls):
    """Seconds each of the first calls of a compiled step took (its traces), checking it then replays."""
    import time

    took = []
    for args in calls:
        t0 = time.perf_counter()
        step(*args)
        took.append(time.perf_counter() - t0)
    step(*calls[0])
    if step.replays != 1:
        raise SystemExit(f"the compiled step does not replay: {step!r}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch = harness.load_torch()
    print(f"zerograd CNN/RNN benchmarks: numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else ", torch not installed") + ", one BLAS thread")

    rng = np.random.default_rng(0)
    x = rng.random((32, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, 32)
    W = (rng.standard_normal((16, 1, 3, 3)) / 3).astype(np.float32)
    b = np.zeros(16, np.float32)
    W2 = (rng.standard_normal((16 * 14 * 14, 10)) * 0.02).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    np.random.seed(0)
    zg = ZgCNN()

    def zg_cnn():
        loss = F.softmax_cross_entropy(zg(x), t)
        zg.cleargrads()
        loss.backward()

    np.random.seed(0)
    zc = ZgCNN()

    @zerograd.compile
    def zg_cnn_compiled(x, t):
        loss = F.softmax_cross_entropy(zc(x), t)
        zc.cleargrads()
        loss.backward()
        return loss
    traced = time_traces(zg_cnn_compiled, (x, t), (x[::-1].copy(), t))
    contenders = {"numpy by hand": lambda: np_cnn_step(x, t, W, b, W2, b2), "zerograd": zg_cnn,
                  "zerograd.compile": lambda: zg_cnn_compiled(x, t)}
    if torch:
        tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                   torch.nn.Flatten(), torch.nn.Linear(16 * 14 * 14, 10))
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)
        loss_fn = torch.nn.CrossEntropyLoss()

        def torch_cnn():
            tnet.zero_grad()
            loss_fn(tnet(tx), tt).backward()

        contenders["pytorch"] = torch_cnn
    times = harness.run_alternating(contenders, args.rounds, warmup=3)
    harness.report("1. CNN step (conv 3x3x16, ReLU, max-pool 2, linear 10, softmax CE), batch 32", times, "ms",
                   1e3, "numpy by hand", target="zerograd <= 1.4x numpy, compiled <= 1.1x")
    print(f"  (compile: the two traces took {traced[0] * 1e3:.1f} and {traced[1] * 1e3:.1f} ms)")

    steps, batch = 30, 30
    series = np.sin(np.linspace(0, 8 * np.pi, steps * batch + 1)).astype(np.float32)
    xs = series[:-1].reshape(batch, steps).T.reshape(steps, batch, 1).copy()
    ts = series[1:].reshape(batch, steps).T.reshape(steps, batch, 1).copy()
    by_hand = NumpyLSTM()
    np.random.seed(0)
    model = ZgLSTMNet()
    opt = optimizers.SGD(0.01).setup(model)
    np.random.seed(0)
    model_c = ZgLSTMNet()
    opt_c = optimizers.SGD(0.01).setup(model_c)
    compiled = zerograd.compile(lambda xs, ts: zg_lstm_update(model_c, opt_c, xs, ts))
    traced = time_traces(compiled, (xs, ts), (xs[::-1].copy(), ts))
    contenders = {"numpy by hand": lambda: by_hand.update(xs, ts), "zerograd": lambda: zg_lstm_update(model, opt, xs, ts),
                  "zerograd.compile": lambda: compiled(xs, ts)}
    if torch:
        tl = torch.nn.LSTM(1, 100)
        tfc = torch.nn.Linear(100, 1)
        params = list(tl.parameters()) + list(tfc.parameters())
        topt = torch.optim.SGD(params, lr=0.01)
        txs, tts = torch.from_numpy(xs), torch.from_numpy(ts)

        def torch_lstm():
            out, _ = tl(txs)
            loss = ((tfc(out) - tts) ** 2).sum() / batch
            topt.zero_grad()
            loss.backward()
            topt.step()

        contenders["pytorch"] = torch_lstm
    times = harness.run_alternating(contenders, args.rounds, warmup=2)
    harness.report("2. LSTM hidden 100, input 1, batch 30: one 30-step truncated-BPTT update", times, "ms", 1e3,
                   "numpy by hand", target="zerograd <= 1.8x numpy, compiled <= 1.2x")
    print(f"  (compile: the two traces took {traced[0] * 1e3:.1f} and {traced[1] * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
