import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import gradient_check

POSITIVE = {"log", "sqrt"}
FUNCS = {"exp": (F.exp, np.exp), "log": (F.log, np.log), "sin": (F.sin, np.sin), "cos": (F.cos, np.cos),
         "tanh": (F.tanh, np.tanh), "square": (F.square, np.square), "sqrt": (F.sqrt, np.sqrt)}


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("order", [1, 2])
def test_gradients_match_central_differences(name, order):
    f, _ = FUNCS[name]
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, (2, 3)) if name in POSITIVE else rng.standard_normal((2, 3))
    assert gradient_check(f, x, order=order)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_values_shape_and_dtype(name):
    f, ref = FUNCS[name]
    x = Variable(np.array([[0.5, 1.5]], dtype=np.float32))
    y = f(x)
    assert y.dtype == np.float32
    assert np.allclose(y.data, ref(x.data))
    y.backward()
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32


@given(arrays(np.float64, array_shapes(min_dims=0, max_dims=3, max_side=3),
              elements=st.floats(-3, 3)))
def test_tanh_and_sin_first_order_on_any_shape(x):
    assert gradient_check(lambda v: F.tanh(v) * F.sin(v), x)


def test_third_derivative_of_sin_is_minus_cos():
    x = Variable(np.linspace(-2, 2, 5))
    y = F.sin(x)
    y.backward(create_graph=True)
    for _ in range(2):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    assert np.allclose(x.grad.data, -np.cos(x.data))
