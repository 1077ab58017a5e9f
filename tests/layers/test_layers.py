import os

import numpy as np
import pytest

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd import Layer, Parameter, Variable
from zerograd.models import MLP, Model, Sequential
from zerograd.serialization import CheckpointError


def test_parameters_register_in_assignment_order():
    class Net(Layer):
        def __init__(self):
            super().__init__()
            self.z = Parameter(np.zeros(1), name="z")
            self.a = Parameter(np.zeros(2), name="a")
            self.inner = L.Linear(3, in_size=2)
            self.m = Parameter(np.zeros(3), name="m")
            self.not_a_param = np.zeros(4)

    net = Net()
    assert [k for k, _ in net.named_params()] == ["z", "a", "inner/W", "inner/b", "m"]
    assert [p.name for p in net.params()] == ["z", "a", "W", "b", "m"]
    net.a = 5  # reassigning with something else unregisters it
    assert [k for k, _ in net.named_params()] == ["z", "inner/W", "inner/b", "m"]


def test_forgetting_super_init_is_a_clear_error():
    class Bad(Layer):
        def __init__(self):
            self.W = Parameter(np.zeros(1))

    with pytest.raises(RuntimeError, match="call super"):
        Bad()


def test_linear_initialises_as_the_book_does():
    np.random.seed(0)
    layer = L.Linear(3)
    x = np.ones((2, 4), dtype=np.float32)
    y = layer(x)
    np.random.seed(0)
    expected = np.random.randn(4, 3).astype(np.float32) * np.float32(np.sqrt(1 / 4))
    assert layer.W.data.dtype == np.float32
    assert np.array_equal(layer.W.data, expected)
    assert layer.b.data.dtype == np.float32 and not layer.b.data.any()
    assert y.shape == (2, 3) and y.dtype == np.float32


def test_linear_with_in_size_and_nobias():
    layer = L.Linear(5, nobias=True, in_size=3, dtype=np.float64)
    assert layer.W.shape == (3, 5) and layer.W.dtype == np.float64
    assert layer.b is None
    assert [k for k, _ in layer.named_params()] == ["W"]


def test_float32_model_float32_everything():
    model = MLP((8, 3))
    x = np.random.randn(5, 4).astype(np.float32)
    t = np.array([0, 1, 2, 1, 0], dtype=np.int8)
    loss = F.softmax_cross_entropy(model(x), t)
    assert loss.dtype == np.float32
    loss.backward()
    for p in model.params():
        assert p.grad.dtype == np.float32


def test_cleargrads():
    model = MLP((4, 2))
    model(np.ones((1, 3), dtype=np.float32)).sum().backward()
    assert all(p.grad is not None for p in model.params())
    model.cleargrads()
    assert all(p.grad is None for p in model.params())


def test_sequential_accepts_plain_callables():
    model = Sequential(L.Linear(4), F.relu, L.Linear(2))
    y = model(np.ones((3, 5), dtype=np.float32))
    assert y.shape == (3, 2)
    assert [k for k, _ in model.named_params()] == ["l0/W", "l0/b", "l2/W", "l2/b"]
    with pytest.raises(TypeError, match="not callable"):
        Sequential(L.Linear(2), 3)


def test_mlp_keys_and_activation():
    model = MLP((10, 10, 3), activation=F.relu)
    model(np.zeros((1, 2), dtype=np.float32))
    assert [k for k, _ in model.named_params()] == ["l0/W", "l0/b", "l1/W", "l1/b", "l2/W", "l2/b"]


def test_save_and_load_weights_roundtrip(tmp_path):
    model = MLP((5, 2))
    x = np.random.randn(3, 4).astype(np.float32)
    y0 = model(x).data
    path = tmp_path / "w.npz"
    model.save_weights(path)
    with np.load(path) as data:
        assert sorted(data.files) == ["l0/W", "l0/b", "l1/W", "l1/b"]
    other = MLP((5, 2))
    other.load_weights(path)  # lazy parameters get created from the file
    assert np.array_equal(other(x).data, y0)
    assert other.l0.W.dtype == np.float32


def test_load_rejects_missing_extra_and_misshaped_keys(tmp_path):
    model = MLP((5, 2))
    model(np.zeros((1, 4), dtype=np.float32))
    path = tmp_path / "w.npz"
    np.savez(path, **{"l0/W": np.zeros((4, 5), np.float32), "l0/b": np.zeros(5, np.float32),
                      "l1/W": np.zeros((5, 2), np.float32)})
    with pytest.raises(CheckpointError, match=r"missing keys \['l1/b'\]"):
        model.load_weights(path)
    np.savez(path, **{"l0/W": np.zeros((4, 5), np.float32), "l0/b": np.zeros(5, np.float32),
                      "l1/W": np.zeros((5, 2), np.float32), "l1/b": np.zeros(2, np.float32),
                      "l9/W": np.zeros(1)})
    with pytest.raises(CheckpointError, match=r"unexpected keys \['l9/W'\]"):
        model.load_weights(path)
    np.savez(path, **{"l0/W": np.zeros((4, 6), np.float32), "l0/b": np.zeros(5, np.float32),
                      "l1/W": np.zeros((5, 2), np.float32), "l1/b": np.zeros(2, np.float32)})
    with pytest.raises(CheckpointError, match=r"'l0/W' has shape \(4, 6\) in the file but \(4, 5\)"):
        model.load_weights(path)


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"l0/W": np.array([object()], dtype=object)})
    model = MLP((2,))
    with pytest.raises(CheckpointError, match="never unpickles"):
        model.load_weights(path)


def test_a_failed_save_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    model = MLP((3, 2))
    model(np.ones((1, 2), dtype=np.float32))
    path = tmp_path / "w.npz"
    model.save_weights(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary file left behind


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MLP((2,)).save_weights(tmp_path / "nope" / "w.npz")


def test_state_dict_roundtrip():
    a = MLP((4, 2))
    a(np.ones((1, 3), dtype=np.float32))
    b = MLP((4, 2))
    b.load_state_dict(a.state_dict())
    for (ka, pa), (kb, pb) in zip(a.named_params(), b.named_params()):
        assert ka == kb and np.array_equal(pa.data, pb.data) and pa.data is not pb.data


def test_embed_id_layer():
    layer = L.EmbedID(10, 4)
    y = layer(np.array([[1, 2], [3, 1]]))
    assert y.shape == (2, 2, 4) and y.dtype == np.float32
    y.sum().backward()
    assert layer.W.grad.data[1].sum() == pytest.approx(8.0)
    with pytest.raises(TypeError, match="ids must be integers"):
        layer(np.array([0.5]))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 2)])
def test_batchnorm_train_and_test_mode(shape):
    layer = L.BatchNorm()
    x = (np.random.randn(*shape) * 3 + 2).astype(np.float32)
    y = layer(x)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    assert np.allclose(y.data.mean(axis=axes), 0, atol=1e-5)
    assert np.allclose(y.data.var(axis=axes), 1, atol=1e-2)
    m = x.size // shape[1]
    assert np.allclose(layer.avg_mean.data, 0.1 * x.mean(axis=axes), atol=1e-5)
    assert np.allclose(layer.avg_var.data, 0.9 + 0.1 * x.var(axis=axes) * m / (m - 1), atol=1e-4)
    with zerograd.test_mode():
        y_test = layer(x)
    expected = (x - layer.avg_mean.data.reshape((1, -1) + (1,) * (len(shape) - 2))) / np.sqrt(
        layer.avg_var.data.reshape((1, -1) + (1,) * (len(shape) - 2)) + 2e-5)
    assert np.allclose(y_test.data, expected, atol=1e-5)
    assert y.dtype == np.float32


def test_layernorm_layer():
    layer = L.LayerNorm()
    y = layer(np.random.randn(3, 5).astype(np.float32))
    assert np.allclose(y.data.mean(axis=-1), 0, atol=1e-5)
    assert layer.gamma.shape == (5,)


def test_model_plot_writes_dot(tmp_path):
    model = MLP((3, 2))
    path = model.plot(np.ones((1, 2), dtype=np.float32), to_file=str(tmp_path / "m.dot"))
    assert "Linear" in open(path).read()


def test_to_cpu_is_harmless_without_a_gpu():
    model = MLP((2,))
    model(np.ones((1, 2), dtype=np.float32))
    model.to_cpu()
    assert isinstance(model.l0.W.data, np.ndarray)


def test_layer_call_with_variable_input():
    layer = L.Linear(2, in_size=3)
    y = layer(Variable(np.ones((4, 3), dtype=np.float32)))
    assert isinstance(y, Variable)
    assert isinstance(Model, type)
