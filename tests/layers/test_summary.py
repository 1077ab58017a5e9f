"""Models explain themselves: ``repr`` shows the layer tree, ``summary`` runs one pass and
tabulates output shapes and parameter counts, ``Sequential`` names its steps."""
import re
import sys

import numpy as np
import pytest

import zerograd.functions as F
import zerograd.layers as L
from zerograd import Layer, Parameter
from zerograd.config import Config
from zerograd.models import MLP, Model, Sequential

LAZY = "not initialised yet (created at the first call)"


def x52():
    return np.random.randn(5, 2).astype(np.float32)


# ------------------------------------------------------------------- repr
def test_mlp_repr_before_and_after_the_first_call():
    model = MLP((10, 3))
    assert repr(model) == (
        "MLP(\n"
        f"  (l0): Linear(W: {LAZY}, b: (10,))\n"
        f"  (l1): Linear(W: {LAZY}, b: (3,))\n"
        ")")
    model(x52())
    assert repr(model) == (
        "MLP(\n"
        "  (l0): Linear(W: (2, 10), b: (10,))\n"
        "  (l1): Linear(W: (10, 3), b: (3,))\n"
        ")")


def test_leaf_repr_is_one_line():
    assert repr(L.Linear(3, in_size=2)) == "Linear(W: (2, 3), b: (3,))"
    assert repr(L.Linear(3, in_size=2, nobias=True)) == "Linear(W: (2, 3))"


class Encoder(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = L.Conv2d(4, 3, pad=1, in_channels=1)
        self.block = MLP((6, 2))
        self.scale = Parameter(np.ones(2, dtype=np.float32), name="scale")

    def forward(self, x):
        h = F.relu(self.conv1(x))
        return self.block(F.flatten(F.pooling(h, 2, 2))) * self.scale


def test_nested_repr_indents_and_shows_a_containers_own_parameters():
    assert repr(Encoder()) == (
        "Encoder(\n"
        "  (conv1): Conv2d(W: (4, 1, 3, 3), b: (4,))\n"
        "  (block): MLP(\n"
        f"    (l0): Linear(W: {LAZY}, b: (6,))\n"
        f"    (l1): Linear(W: {LAZY}, b: (2,))\n"
        "  )\n"
        "  (scale): Parameter (2,)\n"
        ")")


def test_tied_parameter_and_shared_layer_are_marked_at_the_repeat():
    class Tied(Model):
        def __init__(self):
            super().__init__()
            self.a = L.Linear(3, in_size=3)
            self.b = L.Linear(3, in_size=3)
            self.b.W = self.a.W

    model = Tied()
    assert repr(model) == (
        "Tied(\n"
        "  (a): Linear(W: (3, 3), b: (3,))\n"
        "  (b): Linear(W: (3, 3) (shared with a/W), b: (3,))\n"
        ")")
    assert [k for k, _ in model.named_params()] == ["a/W", "a/b", "b/b"]

    lin = L.Linear(4, in_size=4)
    assert repr(Sequential(lin, F.tanh, lin)) == (
        "Sequential(\n"
        "  (l0): Linear(W: (4, 4), b: (4,))\n"
        "  (l1): tanh\n"
        "  (l2): Linear(W: (4, 4), b: (4,)) (shared with l0)\n"
        ")")

    class Twice(Model):  # a whole sub-tree reached twice is one line the second time
        def __init__(self):
            super().__init__()
            self.first = MLP((2,))
            self.again = self.first

    assert repr(Twice()).splitlines()[-2] == "  (again): MLP(...) (shared with first)"


# ------------------------------------------------------------- Sequential
def test_sequential_by_position_keeps_l_index_keys(tmp_path):
    model = Sequential(L.Linear(4), F.relu, L.Linear(2))
    model(x52())
    assert [k for k, _ in model.named_params()] == ["l0/W", "l0/b", "l2/W", "l2/b"]
    assert repr(model) == (
        "Sequential(\n"
        "  (l0): Linear(W: (2, 4), b: (4,))\n"
        "  (l1): relu\n"
        "  (l2): Linear(W: (4, 2), b: (2,))\n"
        ")")
    model.save_weights(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as data:
        assert sorted(data.files) == ["l0/W", "l0/b", "l2/W", "l2/b"]


@pytest.mark.parametrize("by", ["keywords", "dict"])
def test_sequential_by_name(tmp_path, by):
    steps = dict(fc1=L.Linear(4), act=F.relu, fc2=L.Linear(2))
    model = Sequential(**steps) if by == "keywords" else Sequential(steps)
    x = x52()
    y = model(x)
    assert y.shape == (5, 2)
    assert model.fc1 is steps["fc1"] and model.fc2 is steps["fc2"]
    assert [k for k, _ in model.named_params()] == ["fc1/W", "fc1/b", "fc2/W", "fc2/b"]
    assert repr(model) == (
        "Sequential(\n"
        "  (fc1): Linear(W: (2, 4), b: (4,))\n"
        "  (act): relu\n"
        "  (fc2): Linear(W: (4, 2), b: (2,))\n"
        ")")
    model.save_weights(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as data:
        assert sorted(data.files) == ["fc1/W", "fc1/b", "fc2/W", "fc2/b"]
    twin = Sequential(fc1=L.Linear(4), act=F.relu, fc2=L.Linear(2))
    twin(x)
    twin.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(twin(x).data, y.data)


def test_sequential_refuses_mixed_forms_and_bad_names():
    with pytest.raises(TypeError, match="not both"):
        Sequential(L.Linear(2), fc=L.Linear(2))
    with pytest.raises(TypeError, match="not both"):
        Sequential({"fc": L.Linear(2)}, act=F.relu)
    with pytest.raises(TypeError, match="dict"):
        Sequential(L.Linear(2), {"fc": L.Linear(2)})
    with pytest.raises(TypeError, match="'act'.*not callable"):
        Sequential(fc=L.Linear(2), act=3)
    with pytest.raises(TypeError, match="item 1 .*not callable"):
        Sequential(L.Linear(2), 3)
    for bad in ("forward", "params", "steps", "_names", "a/b", "1x"):
        with pytest.raises(ValueError, match="name"):
            Sequential({bad: L.Linear(2)})
    with pytest.raises(ValueError, match="at least one"):
        Sequential()
    with pytest.raises(ValueError, match="at least one"):
        Sequential({})


# ---------------------------------------------------------------- summary
def test_summary_of_an_mlp(capsys):
    model = MLP((10, 3))
    text = model.summary(x52())
    assert capsys.readouterr().out == text + "\n"
    assert text == (
        "MLP: input (5, 2) -> output (5, 3)\n"
        "Layer  Type    Output shape  Params\n"
        "-----------------------------------\n"
        "l0     Linear  (5, 10)           30\n"
        "l1     Linear  (5, 3)            33\n"
        "-----------------------------------\n"
        "Total parameters: 63\n"
        "Trainable parameters: 63")
    # the pass created the lazy weights
    assert model.l0.W.shape == (2, 10) and model.l1.W.shape == (10, 3)


class SmallCNN(Model):
    def __init__(self):
        super().__init__()
        self.conv = L.Conv2d(8, kernel_size=3, pad=1)
        self.bn = L.BatchNorm()
        self.fc = L.Linear(10)

    def forward(self, x):
        h = F.pooling(F.relu(self.bn(self.conv(x))), 2, 2)
        return self.fc(F.flatten(h))


def rows(text):
    """The table's rows as lists of cells split on runs of two or more spaces."""
    lines = text.splitlines()
    body = lines[3:lines.index(lines[2], 3)]
    return [re.split(r"\s{2,}", line) for line in body]


def test_summary_of_a_small_cnn():
    model = SmallCNN()
    text = model.summary(np.random.randn(2, 3, 8, 8).astype(np.float32), quiet=True)
    assert text.splitlines()[0] == "SmallCNN: input (2, 3, 8, 8) -> output (2, 10)"
    assert rows(text) == [
        ["conv", "Conv2d", "(2, 8, 8, 8)", "224"],        # 8*3*3*3 + 8
        ["bn", "BatchNorm", "(2, 8, 8, 8)", "16"],
        ["fc", "Linear", "(2, 10)", "1,290"],              # 8*4*4*10 + 10
    ]
    tail = text.splitlines()[-3:]
    assert tail == ["Total parameters: 1,530", "Trainable parameters: 1,530", "Buffers: 2 (16 values)"]
    # test_mode: batch norm's running statistics are not updated by the pass
    np.testing.assert_array_equal(model.bn.avg_mean.data, np.zeros(8, dtype=np.float32))


def test_summary_of_nested_named_sequential_and_shared_calls():
    lin = L.Linear(4, in_size=2)
    model = Sequential(enc=Sequential(fc=lin, act=F.tanh), head=L.Linear(3))
    text = model.summary(x52(), quiet=True)
    assert rows(text) == [
        ["enc", "Sequential", "(5, 4)", "-"],
        ["enc/fc", "Linear", "(5, 4)", "12"],
        ["enc/act", "tanh", "(5, 4)", "0"],
        ["head", "Linear", "(5, 3)", "15"],
    ]
    shared = L.Linear(2, in_size=2)
    text = Sequential(shared, F.relu, shared).summary(x52(), quiet=True)
    assert rows(text) == [
        ["l0 (also l2)", "Linear", "(5, 2)", "6"],
        ["l1", "relu", "(5, 2)", "0"],
        ["l0 (call 2)", "Linear", "(5, 2)", "-"],
    ]
    assert "Total parameters: 6" in text


def test_summary_lists_layers_not_called_and_restores_recurrent_state():
    rnn = L.RNN(3)
    text = rnn.summary(np.ones((2, 4), dtype=np.float32), quiet=True)
    assert rows(text) == [["x2h", "Linear", "(2, 3)", "15"], ["h2h", "Linear", "not called", "?"]]
    assert "Parameters not created yet (not counted): h2h/W" in text
    assert rnn.h is None  # the example pass left no hidden state behind


def test_summary_restores_the_call_methods():
    model = SmallCNN()
    call, forward = type(model.conv).__call__, type(model.conv).forward
    x = np.random.randn(2, 3, 8, 8).astype(np.float32)
    model.summary(x, quiet=True)
    for layer in (model, model.conv, model.bn, model.fc):
        assert "forward" not in vars(layer) and "__call__" not in vars(layer)
    assert type(model.conv).__call__ is call is Layer.__call__ and type(model.conv).forward is forward
    assert model(x).shape == (2, 10)  # a later call works, with a graph
    assert model(x).creator is not None

    seq = Sequential(L.Linear(3), F.relu)
    steps = seq.steps
    seq.summary(x52(), quiet=True)
    assert seq.steps is steps and seq.steps[1] is F.relu


def test_summary_restores_on_an_exception():
    model = Sequential(fc=L.Linear(3, in_size=4), act=F.relu)
    with pytest.raises(ValueError) as info:
        model.summary(x52(), quiet=True)  # 2 features where the layer wants 4
    if sys.version_info >= (3, 11):  # exceptions carry notes from 3.11 on
        assert info.value.__notes__ == ["(raised in fc (Linear) during Sequential.summary)"]
    assert "forward" not in vars(model.fc) and model.steps[1] is F.relu
    assert Config.enable_backprop and Config.train
    assert model(np.ones((5, 4), dtype=np.float32)).shape == (5, 3)


def test_summary_records_no_graph():
    outputs = []

    class Probe(Layer):
        def forward(self, x):
            outputs.append(F.relu(x))
            return outputs[-1]

    model = Sequential(L.Linear(3), Probe())
    model.summary(x52(), quiet=True)
    assert outputs[0].creator is None
    assert all(p.grad is None for p in model.params())
    assert Config.enable_backprop and Config.train


def test_summary_marks_tied_parameters_and_own_parameters_of_the_root():
    class Tied(Model):
        def __init__(self):
            super().__init__()
            self.a = L.Linear(3, in_size=3)
            self.b = L.Linear(3, in_size=3)
            self.b.W = self.a.W
            self.scale = Parameter(np.ones(3, dtype=np.float32), name="scale")

        def forward(self, x):
            return self.b(self.a(x)) * self.scale

    text = Tied().summary(np.ones((1, 3), dtype=np.float32), quiet=True)
    assert rows(text) == [
        ["(self)", "Tied", "(1, 3)", "3"],
        ["a", "Linear", "(1, 3)", "12"],
        ["b", "Linear", "(1, 3)", "3 (+9 shared)"],
    ]
    assert "Total parameters: 18" in text


def test_summary_of_a_leaf_layer():
    text = L.Linear(3).summary(np.ones((1, 2), dtype=np.float32), quiet=True)
    assert rows(text) == [["(self)", "Linear", "(1, 3)", "9"]]
