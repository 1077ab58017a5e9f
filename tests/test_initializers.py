"""Initializers and lazy parameters: the one place a parameter is created from its shape."""
import numpy as np
import pytest

import zerograd.layers as L
from zerograd.core import Parameter
from zerograd.initializers import Constant, LeCunNormal, Normal, Ones, Zeros


def test_lecun_normal_is_the_books_draw():
    np.random.seed(0)
    w = LeCunNormal((0,), np.float32)((3, 4))
    np.random.seed(0)
    book = np.random.randn(3, 4).astype(np.float32) * np.float32(np.sqrt(1 / 3))
    assert w.dtype == np.float32 and np.array_equal(w, book)


def test_conv_fan_in_axes():
    np.random.seed(1)
    w = LeCunNormal((1, 2, 3), np.float64)((5, 2, 3, 3))
    np.random.seed(1)
    assert np.array_equal(w, np.random.randn(5, 2, 3, 3) * np.sqrt(1 / 18))


def test_dtype_follows_input_unless_fixed():
    assert Ones()((2,), np.float64).dtype == np.float64
    assert Ones()((2,), np.int64).dtype == np.float32      # never an integer parameter
    assert Ones()((2,), None).dtype == np.float32
    assert Zeros(np.float16)((2,), np.float64).dtype == np.float16
    assert Constant(3.0)((2,), np.float64).tolist() == [3.0, 3.0]
    assert Normal(1.0, np.float64)((0, 3)).shape == (0, 3)


def test_fan_in_zero_is_a_clear_error():
    with pytest.raises(ValueError, match="fan-in 0"):
        LeCunNormal((0,))((0, 3))


def test_parameter_initialize_once():
    p = Parameter(name="W", initializer=Ones())
    assert p.data is None
    p.initialize((2, 3), like=np.zeros(1, np.float64))
    assert p.shape == (2, 3) and p.dtype == np.float64
    with pytest.raises(RuntimeError, match="already initialized"):
        p.initialize((2, 3))


def test_parameter_without_initializer():
    with pytest.raises(RuntimeError, match="no initializer"):
        Parameter(name="W").initialize((2,))


def test_parameter_shape_creates_at_once_and_refuses_both():
    assert Parameter(name="b", initializer=Zeros(), shape=(4,)).data.tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="not both"):
        Parameter(np.zeros(2), name="b", initializer=Zeros(), shape=(2,))


def test_layers_declare_and_create_at_first_input():
    np.random.seed(0)
    lazy = L.Linear(4)
    lazy(np.zeros((2, 3), np.float64))
    np.random.seed(0)
    eager = L.Linear(4, in_size=3)
    assert lazy.W.dtype == np.float32 and np.array_equal(lazy.W.data, eager.W.data)


def test_norm_layers_follow_the_input_dtype():
    ln = L.LayerNorm()
    ln(np.zeros((2, 5)))
    assert ln.gamma.dtype == np.float64 and ln.gamma.shape == (5,)
    assert L.LayerNorm(5).gamma.dtype == np.float32
    bn = L.BatchNorm()
    bn(np.arange(8).reshape(4, 2))          # integer input: float32 statistics, not integers
    assert bn.gamma.dtype == np.float32 and bn.avg_mean.dtype == np.float32


@pytest.mark.parametrize("layer, x, message", [
    (lambda: L.Linear(3), np.float64(1.0), "0-d"),
    (lambda: L.Conv2d(3, 3), np.zeros((1, 5, 5)), r"\(N, C, H, W\)"),
    (lambda: L.BatchNorm(), np.zeros(5), r"\(N, C\)"),
    (lambda: L.LSTM(3), np.zeros((2, 3, 4)), r"\(N, features\)"),
])
def test_lazy_layers_name_a_wrong_input_rank(layer, x, message):
    with pytest.raises(ValueError, match=message):
        layer()(x)
