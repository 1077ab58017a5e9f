import numpy as np
import pytest

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd.datasets import DatasetUnavailableError
from zerograd.models import VGG16, ResNet50, ResNet101, ResNet152
from zerograd.utils import get_conv_outsize, get_deconv_outsize, pair


def test_size_helpers():
    assert pair(3) == (3, 3) and pair((2, 1)) == (2, 1)
    assert get_conv_outsize(28, 3, 1, 1) == 28
    assert get_conv_outsize(5, 2, 2, 0) == 2  # floor rule
    assert get_deconv_outsize(4, 3, 2, 1) == 7
    with pytest.raises(ValueError):
        pair("x")


@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), ((2, 1), (0, 1))])
def test_deconv2d_is_the_adjoint_of_conv2d(stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    W = rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(x, W, stride=stride, pad=pad)
    r = rng.standard_normal(y.shape)
    back = F.deconv2d(r, W, stride=stride, pad=pad, outsize=x.shape[2:])
    assert np.isclose(np.sum(y.data * r), np.sum(x * back.data))


def test_conv2d_matches_a_direct_loop():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 4, 4))
    W = rng.standard_normal((3, 2, 3, 3))
    y = F.conv2d(x, W, stride=1, pad=1).data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for o in range(3):
        for i in range(4):
            for j in range(4):
                assert np.isclose(y[0, o, i, j], np.sum(xp[0, :, i:i + 3, j:j + 3] * W[o]))


def test_conv_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"conv2d: x has 3 channels but W of shape \(4, 2, 3, 3\) expects 2"):
        F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="does not fit an input of 2x2"):
        F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))


def test_max_pooling_never_picks_padding():
    x = -np.ones((1, 1, 2, 2)) * 5
    y = F.pooling(x, 2, stride=1, pad=1)
    assert np.all(y.data == -5)


def test_conv2d_layer_initialises_as_the_book_does():
    np.random.seed(0)
    layer = L.Conv2d(4, kernel_size=3, pad=1)
    y = layer(np.ones((2, 3, 5, 5), dtype=np.float32))
    np.random.seed(0)
    expected = np.random.randn(4, 3, 3, 3).astype(np.float32) * np.float32(np.sqrt(1 / 27))
    assert np.array_equal(layer.W.data, expected)
    assert y.shape == (2, 4, 5, 5) and y.dtype == np.float32
    d = L.Deconv2d(2, kernel_size=4, stride=2, pad=1)
    assert d(np.ones((1, 3, 5, 5), dtype=np.float32)).shape == (1, 2, 10, 10)
    assert d.W.shape == (3, 2, 4, 4)


def test_rnn_second_step_works_with_in_size_given():
    rnn = L.RNN(6, in_size=2)
    x = np.ones((3, 2), dtype=np.float32)
    h1 = rnn(x)
    h2 = rnn(x)  # DeZero's h2h takes in_size inputs and breaks here
    assert h2.shape == (3, 6)
    assert rnn.h2h.W.shape == (6, 6)
    rnn.reset_state()
    assert rnn.h is None
    assert h1.dtype == np.float32


@pytest.mark.parametrize("cls", [L.RNN, L.LSTM, L.GRU])
def test_truncated_bptt_with_unchain_backward(cls):
    layer = cls(5)
    fc = L.Linear(1)
    xs = np.sin(np.linspace(0, 3, 12, dtype=np.float32)).reshape(-1, 1, 1)
    loss, count = 0, 0
    for x, t in zip(xs[:-1], xs[1:]):
        y = fc(layer(x))
        loss += F.mean_squared_error(y, t)
        count += 1
        if count % 4 == 0:
            layer.cleargrads()
            fc.cleargrads()
            loss.backward()
            loss.unchain_backward()
            assert layer.h.creator is None  # the state is cut loose: the next window starts from it
            for p in layer.params():
                assert p.grad is not None and p.grad.dtype == np.float32
            loss = 0


def test_lstm_parameters_stay_addressable_like_the_books():
    lstm = L.LSTM(4)
    lstm(np.ones((2, 3), dtype=np.float32))
    names = [k for k, _ in lstm.named_params()]
    assert names[:4] == ["x2f/W", "x2f/b", "x2i/W", "x2i/b"] and "h2u/W" in names and "h2u/b" not in names


def test_lstm_matches_the_unfused_book_formula():
    np.random.seed(3)
    lstm = L.LSTM(4)
    x = np.random.randn(2, 3).astype(np.float32)
    h1 = lstm(x)
    h2 = lstm(x)

    def book_step(h, c):
        def gate(g, act):
            a = getattr(lstm, "x2" + g)(x)
            if h is not None:
                a = a + getattr(lstm, "h2" + g)(h)
            return act(a)
        f, i, o, u = gate("f", F.sigmoid), gate("i", F.sigmoid), gate("o", F.sigmoid), gate("u", F.tanh)
        c_new = i * u if c is None else f * c + i * u
        return o * F.tanh(c_new), c_new

    b1, c1 = book_step(None, None)
    b2, _ = book_step(b1, c1)
    assert np.allclose(h1.data, b1.data, atol=1e-6) and np.allclose(h2.data, b2.data, atol=1e-6)


def test_vgg16_forward_shape():
    np.random.seed(0)
    model = VGG16(num_classes=10)
    with zerograd.test_mode():
        y = model(np.random.rand(1, 3, 32, 32).astype(np.float32))
    assert y.shape == (1, 10) and y.dtype == np.float32
    assert [k for k, _ in model.named_params()][:2] == ["conv1_1/W", "conv1_1/b"]


def test_resnet_forward_shape_and_depths():
    np.random.seed(0)
    model = ResNet50(num_classes=7)
    with zerograd.test_mode():  # one image: batch statistics of one value per channel are refused in training
        y = model(np.random.rand(1, 3, 32, 32).astype(np.float32))
    assert y.shape == (1, 7) and y.dtype == np.float32
    assert len(ResNet101().res4.names) == 22 and len(ResNet152().res3.names) == 7


def test_pretrained_without_a_checksum_is_a_clear_error(cache):
    with pytest.raises(DatasetUnavailableError, match="no published checksum is known for vgg16.npz"):
        VGG16(pretrained=True)


def test_pretrained_offline_error_names_the_file(cache):
    with pytest.raises(DatasetUnavailableError, match=r"resnet50.npz is missing; tried: .*resnet50.npz"):
        ResNet50(pretrained=True, weights_checksum="sha256:" + "0" * 64)


def test_parameter_version_counts_assignments():
    p = zerograd.Parameter(np.zeros(3))
    v = p.version
    p.data -= 1.0  # augmented assignment assigns too
    p.data = np.ones(3)
    assert p.version == v + 2


def test_lstm_sees_updated_weights_after_an_optimizer_step():
    from zerograd import optimizers

    np.random.seed(0)
    lstm = L.LSTM(3)
    fc = L.Linear(1)
    opt = optimizers.SGD(0.5)
    model = zerograd.models.Sequential(lstm, fc)
    opt.setup(model)
    x = np.random.randn(2, 1).astype(np.float32)
    loss = F.sum(model(x) ** 2) + F.sum(model(x) ** 2)
    model.cleargrads()
    loss.backward()
    loss.unchain_backward()
    opt.update()
    lstm.reset_state()
    h = lstm(x)
    a = {g: getattr(lstm, "x2" + g)(x) for g in lstm.GATES}
    f_i_o_u = F.sigmoid(a["i"]) * F.tanh(a["u"])
    expected = F.sigmoid(a["o"]) * F.tanh(f_i_o_u)
    assert np.allclose(h.data, expected.data, atol=1e-6)
