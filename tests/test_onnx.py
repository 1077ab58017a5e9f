"""ONNX export: each model checked by onnx.checker and run in onnxruntime at another batch size,
within 1e-5 of zerograd in float32."""
import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import zerograd  # noqa: E402
import zerograd.functions as F  # noqa: E402
import zerograd.layers as L  # noqa: E402
from zerograd import onnx as zonnx  # noqa: E402
from zerograd.cli import main  # noqa: E402
from zerograd.models import CNN, MLP, LSTMRegressor, Model, Sequential  # noqa: E402


def run_onnx(path, x):
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def reference(model, x):
    with zerograd.no_grad(), zerograd.test_mode():
        if hasattr(model, "reset_state"):
            model.reset_state()
        return model(x).data


def rand(*shape):
    return np.random.rand(*shape).astype(np.float32)


class Unrolled(Model):
    """A recurrent layer (or model) run over the steps of (N, T, ...) inputs."""

    def __init__(self, cell, keep_dim=False):
        super().__init__()
        self.cell = cell
        self.keep_dim = keep_dim

    def reset_state(self):
        self.cell.reset_state()

    def forward(self, xs):
        self.cell.reset_state()
        y = None
        for t in range(xs.shape[1]):
            y = self.cell(xs[:, t:t + 1] if self.keep_dim else xs[:, t])
        return y


def models():
    np.random.seed(0)
    yield "mlp", MLP((10, 3)), rand(3, 2), rand(7, 2)
    yield "mlp-relu", MLP((16, 16, 4), activation=F.relu), rand(3, 5), rand(1, 5)
    yield "cnn", CNN(20, 10), rand(2, 1, 28, 28), rand(5, 1, 28, 28)
    yield "conv-bn-avgpool-deconv", Sequential(L.Conv2d(4, 3, pad=1), L.BatchNorm(), F.relu,
                                               lambda x: F.average_pooling(x, 2, 2), L.Deconv2d(2, 2, stride=2),
                                               F.sigmoid, F.flatten, L.Linear(5), F.log_softmax), \
        rand(2, 3, 8, 8), rand(4, 3, 8, 8)
    yield "layernorm-gelu-misc", Sequential(L.Linear(6), L.LayerNorm(), F.gelu, lambda x: F.dropout(x, 0.5),
                                            lambda x: F.leaky_relu(x, 0.1), lambda x: F.clip(x, -0.5, 0.5),
                                            lambda x: F.concat([x, x * 2], axis=1), lambda x: x[:, 1:9:2],
                                            lambda x: F.softmax(x, axis=1), F.tanh), rand(3, 4), rand(6, 4)
    yield "lstm", Unrolled(LSTMRegressor(8), keep_dim=True), rand(2, 5), rand(6, 5)
    yield "rnn", Unrolled(L.RNN(5)), rand(2, 3, 4), rand(5, 3, 4)
    yield "gru", Unrolled(L.GRU(5)), rand(2, 3, 4), rand(5, 3, 4)
    yield "embed", Sequential(L.EmbedID(10, 4), lambda h: F.sum(h, axis=1), L.Linear(3)), \
        np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4], [9, 0]])


@pytest.mark.parametrize("name, model, traced, other", list(models()), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("opset", [17, 18])
def test_export_runs_in_onnxruntime_at_another_batch_size(name, model, traced, other, opset, tmp_path):
    model(traced)  # create lazy parameters
    if hasattr(model, "reset_state"):
        model.reset_state()
    path = tmp_path / f"{name}.onnx"
    zonnx.export(model, traced, path, opset=opset)
    got = run_onnx(path, other)
    want = reference(model, other)
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-5


def test_a_function_without_mapping_is_named(tmp_path):
    with pytest.raises(zonnx.ExportError, match="SoftmaxCrossEntropy has no ONNX mapping"):
        zonnx.export(lambda x: F.softmax_cross_entropy(x, np.array([0, 1])), rand(2, 3), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_the_batch_axis_is_symbolic_unless_asked_otherwise(tmp_path):
    import onnx
    model = MLP((4, 2))
    zonnx.export(model, rand(3, 5), tmp_path / "d.onnx")
    zonnx.export(model, rand(3, 5), tmp_path / "s.onnx", dynamic_batch=False)
    dim = lambda p: onnx.load(str(p)).graph.input[0].type.tensor_type.shape.dim[0]  # noqa: E731
    assert dim(tmp_path / "d.onnx").dim_param == "batch" and dim(tmp_path / "s.onnx").dim_value == 3


@pytest.mark.parametrize("argv, shape", [([], (4, 2)), (["--dataset", "sincurve", "--hidden", "6"], (4, 30))])
def test_zerograd_export_writes_a_trained_run(tmp_path, capsys, argv, shape):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--epochs", "2", "--no-progress", *argv]) == 0
    assert main(["export", str(run)]) == 0
    assert "wrote" in capsys.readouterr().out
    out = run_onnx(run / "model.onnx", np.random.rand(*shape).astype(np.float32))
    assert out.shape[0] == 4


def test_export_of_a_folder_without_a_run_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "holds no finished run" in capsys.readouterr().err


@pytest.mark.parametrize("fn, traced, other", [
    (lambda x: x[1:], rand(4, 5), rand(7, 5)),
    (lambda x: x[::-1], rand(4, 5), rand(7, 5)),
    (lambda x: x[-1], rand(4, 5), rand(7, 5)),
    (lambda x: x[:, -2:] * 2, rand(4, 5), rand(7, 5)),
    (lambda x: F.reshape(x, (-1,)), rand(4, 2, 3), rand(7, 2, 3)),
    (lambda x: F.deconv2d(x, np.full((3, 2, 3, 3), 0.1, np.float32), None, 2, 1, outsize=(8, 8)),
     rand(2, 3, 4, 4), rand(5, 3, 4, 4)),
])
def test_slices_and_shapes_follow_the_batch(fn, traced, other, tmp_path):
    zonnx.export(fn, traced, tmp_path / "f.onnx")
    got = run_onnx(tmp_path / "f.onnx", other)
    with zerograd.no_grad():
        want = fn(other).data
    assert got.shape == want.shape and np.allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("fn, x, kwargs, message", [
    (lambda x: F.where(x.data > 0, x, x * 0), rand(4, 5), {}, "condition is an array made at trace time"),
    (lambda x: F.conv2d_simple(x, np.ones((2, 3, 3, 3), np.float32), None, 1, 1), rand(2, 3, 5, 5), {},
     "Im2col .* has no ONNX mapping"),
    (lambda x: F.reshape(x, (x.shape[0] * 2, -1)), rand(4, 2, 3), {}, "folds the batch axis"),
    (lambda x: x * 2, rand(4, 5), {"opset": 12}, "opset 12 is not supported"),
    (lambda x: F.linear(x, np.ones((5, 2), np.float32)), np.ones((4, 5)), {}, "does not check"),
])
def test_what_cannot_be_exported_right_is_an_error_and_no_file(fn, x, kwargs, message, tmp_path):
    with pytest.raises((zonnx.ExportError, ValueError), match=message):
        zonnx.export(fn, x, tmp_path / "bad.onnx", **kwargs)
    assert not (tmp_path / "bad.onnx").exists()


@pytest.mark.parametrize("opset", [17, 18])
def test_a_gpt_exports_with_its_batch_fixed(opset, tmp_path):
    from zerograd.models import GPT
    np.random.seed(0)
    model = GPT(11, 8, 2, 2, 8)
    x = np.random.randint(0, 11, (2, 8))
    with zerograd.no_grad(), zerograd.test_mode():
        expected = model(x).data
    with pytest.raises(zonnx.ExportError, match="folds the batch axis"):
        zonnx.export(model, x, str(tmp_path / "dynamic.onnx"))
    zonnx.export(model, x, str(tmp_path / "gpt.onnx"), opset=opset, dynamic_batch=False)
    session = ort.InferenceSession(str(tmp_path / "gpt.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.abs(out - expected).max() < 1e-5


def test_masked_softmax_exports_with_fully_masked_rows(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    mask[2, 1:] = False
    fn = lambda v: F.masked_softmax(v, mask)  # noqa: E731
    zonnx.export(fn, x, str(tmp_path / "ms.onnx"))
    session = ort.InferenceSession(str(tmp_path / "ms.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.array_equal(out[:, 1], np.zeros((2, 4), np.float32))
    assert np.allclose(out, F.masked_softmax(x, mask).data, atol=1e-6)
