"""The GPU backend: CuPy arrays through the engine, the ops, layers, optimizers and loaders.

Skipped where CuPy or a GPU is absent (CI has neither); run on a machine with a GPU.
Each check compares the GPU result with the same computation on the CPU.
"""
import numpy as np
import pytest

cp = pytest.importorskip("cupy")
try:
    if cp.cuda.runtime.getDeviceCount() < 1:
        pytest.skip("no GPU", allow_module_level=True)
except Exception:  # CUDA driver missing
    pytest.skip("no usable GPU", allow_module_level=True)

import zerograd  # noqa: E402
import zerograd.functions as F  # noqa: E402
import zerograd.layers as L  # noqa: E402
from zerograd import DataLoader, Variable, optimizers  # noqa: E402
from zerograd.datasets import Spiral  # noqa: E402
from zerograd.models import MLP, Model  # noqa: E402


def both(fn, *arrays):
    """fn on CPU Variables and on GPU Variables: (cpu outputs, grads), (gpu outputs, grads)."""
    results = []
    for to in (np.asarray, cp.asarray):
        xs = [Variable(to(a)) for a in arrays]
        y = fn(*xs)
        y.backward()
        results.append((cp.asnumpy(y.data) if not isinstance(y.data, np.ndarray) else y.data,
                        [cp.asnumpy(x.grad.data) if not isinstance(x.grad.data, np.ndarray) else x.grad.data
                         for x in xs], y, xs))
    return results


@pytest.mark.parametrize("name, fn, shapes", [
    ("elementwise", lambda x: F.sin(x) * F.exp(x) + F.tanh(x) / 2.0 - F.log(x * x + 1) + F.sqrt(x * x + 1), [(3, 4)]),
    ("broadcast", lambda a, b: a * b + b, [(2, 3), (3,)]),
    ("matmul", lambda a, b: F.matmul(a, b), [(2, 3, 4), (4, 5)]),
    ("linear", lambda x, W, b: F.sigmoid(F.linear(x, W, b)), [(4, 3), (3, 2), (2,)]),
    ("reductions", lambda x: F.max(x, axis=1) + F.logsumexp(x, axis=1) + F.mean(x, axis=1) + F.var(x, axis=1), [(3, 5)]),
    ("indexing", lambda x: x[np.array([0, 2, 0])] * 2.0 + x[1:, ::2].sum(), [(3, 4)]),
    ("softmax", lambda x: F.softmax(x) * F.log_softmax(x) + F.relu(x) + F.leaky_relu(x), [(3, 4)]),
    ("conv", lambda x, W, b: F.conv2d(x, W, b, stride=1, pad=1), [(2, 3, 6, 6), (4, 3, 3, 3), (4,)]),
    ("pool", lambda x: F.pooling(x, 2, 2) + F.average_pooling(x, 2, 2), [(2, 3, 6, 6)]),
    ("deconv", lambda x, W: F.deconv2d(x, W, stride=2, pad=1), [(1, 2, 3, 3), (2, 3, 3, 3)]),
    ("combine", lambda a, b: F.concat([a, b], axis=1) * F.clip(F.concat([b, a], axis=1), -0.5, 0.5), [(2, 3), (2, 3)]),
    ("lstm", lambda x, h, c, Wx, Wh, b: F.lstm(x, h, c, Wx, Wh, b)[0], [(2, 3), (2, 4), (2, 4), (3, 16), (4, 16), (16,)]),
])
def test_gpu_matches_cpu(name, fn, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    (cpu_y, cpu_g, _, _), (gpu_y, gpu_g, y, xs) = both(fn, *arrays)
    assert isinstance(y.data, cp.ndarray)
    assert y.dtype == np.float32
    np.testing.assert_allclose(gpu_y, cpu_y, rtol=1e-4, atol=1e-5)
    for a, b, x in zip(cpu_g, gpu_g, xs):
        assert isinstance(x.grad.data, cp.ndarray) and x.grad.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_softmax_cross_entropy_and_accuracy_on_gpu():
    x = cp.asarray(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    t = cp.asarray(np.array([0, 2, 1, 1, 0]))
    v = Variable(x)
    loss = F.softmax_cross_entropy(v, t)
    loss.backward()
    assert isinstance(loss.data, cp.ndarray) and isinstance(v.grad.data, cp.ndarray)
    cpu = F.softmax_cross_entropy(cp.asnumpy(x), cp.asnumpy(t))
    assert abs(float(loss.data) - float(cpu.data)) < 1e-5
    assert 0.0 <= float(F.accuracy(v, t).data) <= 1.0


def test_second_order_on_gpu():
    x = Variable(cp.asarray(np.array([0.5, 1.0])))
    y = F.tanh(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    t = np.tanh(np.array([0.5, 1.0]))
    np.testing.assert_allclose(cp.asnumpy(x.grad.data), -2 * t * (1 - t * t), rtol=1e-10)


def test_training_on_gpu_matches_cpu_and_saving_keeps_the_device(tmp_path):
    losses = {}
    for device in ("cpu", "gpu"):
        np.random.seed(0)
        train = Spiral()
        loader = DataLoader(train, 30, gpu=(device == "gpu"))
        model = MLP((10, 3))
        np.random.seed(1)
        model(train.data[:2])
        if device == "gpu":
            model.to_gpu()
        opt = optimizers.Adam().setup(model)
        out = []
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update()
            out.append(float(loss.data))
        losses[device] = out
        if device == "gpu":
            assert isinstance(model.l0.W.data, cp.ndarray)
            model.save_weights(tmp_path / "w.npz")
            assert isinstance(model.l0.W.data, cp.ndarray)  # saving does not move the model
            cpu_model = MLP((10, 3))
            cpu_model.load_weights(tmp_path / "w.npz")
            np.testing.assert_allclose(cpu_model.l0.W.data, cp.asnumpy(model.l0.W.data))
            assert all(isinstance(a, cp.ndarray) for s in opt.state.values() for a in s.values())
    np.testing.assert_allclose(losses["gpu"], losses["cpu"], rtol=1e-4)


def test_conv_and_lstm_layers_on_gpu():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2d(4, 3, pad=1)
            self.bn = L.BatchNorm()
            self.fc = L.Linear(2)

        def forward(self, x):
            return self.fc(F.flatten(F.pooling(F.relu(self.bn(self.conv(x))), 2, 2)))

    np.random.seed(0)
    net = Net()
    x = cp.asarray(np.random.rand(3, 1, 8, 8).astype(np.float32))
    loss = F.softmax_cross_entropy(net(x), cp.asarray(np.array([0, 1, 0])))
    loss.backward()
    assert all(isinstance(p.grad.data, cp.ndarray) for p in net.params() if p.grad is not None)
    lstm = L.LSTM(5)
    xs = cp.asarray(np.random.rand(4, 2, 1).astype(np.float32))
    total = 0
    for step in xs:
        total += F.sum(lstm(step))
    total.backward()
    assert isinstance(lstm.h2f.W.grad.data, cp.ndarray)
    with zerograd.no_grad(), zerograd.test_mode():
        dropped = F.dropout(Variable(x))
    assert isinstance(dropped.data, cp.ndarray)
    with pytest.raises(TypeError, match=r"Net|Conv2d: its parameters are on the GPU but the input is on the CPU"):
        net(cp.asnumpy(x))
    cpu_layer = L.Linear(3, in_size=2)
    with pytest.raises(TypeError, match="Linear: its parameters are on the CPU but the input is on the GPU"):
        cpu_layer(cp.ones((1, 2), dtype=cp.float32))


def test_a_compiled_step_on_the_gpu_equals_eager_on_the_gpu():
    rng = np.random.default_rng(0)
    data = [(cp.asarray(rng.random((16, 2), dtype=np.float32)), cp.asarray(rng.integers(0, 3, 16)))
            for _ in range(5)]
    runs = []
    for compiled in (False, True):
        np.random.seed(0)
        model = MLP((10, 3))
        with zerograd.no_grad():
            model(np.zeros((1, 2), np.float32))
        model.to_gpu()
        opt = optimizers.Adam(0.01).setup(model)

        def step(x, t):
            loss = F.softmax_cross_entropy(F.dropout(model(x), 0.2), t)
            model.cleargrads()
            loss.backward()
            opt.update()
            return loss
        step = zerograd.compile(step) if compiled else step
        np.random.seed(1)
        cp.random.seed(1)
        runs.append(([float(step(x, t).data) for x, t in data], model, step))
    assert runs[0][0] == runs[1][0] and runs[1][2].replays == 3
    for p, q in zip(runs[0][1].params(), runs[1][1].params()):
        assert isinstance(q.data, cp.ndarray) and bool((p.data == q.data).all())
