"""Adversarial dtypes: boolean arrays, integer inputs against float weights."""
import numpy as np
import pytest

import zerograd.functions as F
import zerograd.layers as L
from zerograd import Variable


def test_a_boolean_variable_cannot_require_a_gradient():
    with pytest.raises(TypeError, match="boolean array has no gradient"):
        Variable(np.array([True, False]))
    mask = Variable(np.array([True, False]), requires_grad=False)  # a constant mask is fine
    x = Variable(np.array([2.0, 3.0]))
    y = x * mask
    y.backward()
    assert y.data.tolist() == [2.0, 0.0] and x.grad.data.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("op", [F.exp, F.sigmoid, F.relu, F.tanh, lambda b: F.add(b, b), lambda b: F.sum(b),
                                lambda b: F.mean_squared_error(b, b), lambda b: F.matmul(b, b.T)])
def test_ops_on_boolean_arrays_alone_name_the_op(op):
    b = np.array([[True, False, True]])
    with pytest.raises(TypeError, match="every input is a boolean array"):
        op(b)


def test_a_boolean_mask_times_a_variable_is_arithmetic():
    x = Variable(np.array([-1.0, 2.0]))
    y = F.sum(x * (x.data > 0))
    y.backward()
    assert float(y.data) == 2.0 and x.grad.data.tolist() == [0.0, 1.0]


def test_integer_inputs_with_float_bias_take_numpys_promotion():
    x = np.arange(6).reshape(2, 3)
    y = F.linear(x, np.ones((3, 4), int), np.full(4, 0.5, np.float32))
    assert y.dtype == np.float64 and np.allclose(y.data, x.sum(1, keepdims=True) + 0.5)
    img = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    assert F.conv2d(img, np.ones((4, 3, 3, 3), int), np.zeros(4, np.float32)).dtype == np.float64
    h, c = F.lstm(np.ones((2, 3), int), np.zeros((2, 4)), np.zeros((2, 4)), np.ones((3, 16), int),
                  np.ones((4, 16)), np.zeros(16))
    assert h.dtype == np.float64 and c.shape == (2, 4)


def test_softmax_of_integers_is_a_float_distribution():
    y = F.softmax(np.arange(6).reshape(2, 3))
    assert y.dtype == np.float64 and np.allclose(y.data.sum(axis=1), 1)


def test_integer_images_through_a_lazy_conv_layer():
    y = L.Conv2d(2, 3, pad=1)(np.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4))
    assert y.dtype == np.float64  # int64 images times float32 weights: NumPy promotes
    assert y.shape == (2, 2, 4, 4)


@pytest.mark.parametrize("shape", [(2, 5, 7), (7,)])
def test_linear_names_the_shape_the_user_gave(shape):
    with pytest.raises(ValueError, match=r"linear: x of shape \(" + ", ".join(map(str, shape))):
        F.linear(np.zeros(shape), np.zeros((3, 4)))


@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("create_graph", [False, True])
def test_max_pooling_of_integers_shares_ties_as_fractions(pad, create_graph):
    x = Variable(np.array([[[[1, 1, 0], [0, 5, 2], [3, 3, 3]]]]))
    y = F.pooling(x, 2, 1, pad=pad)
    y.backward(create_graph=create_graph)
    ref = Variable(x.data.astype(np.float64))
    F.pooling(ref, 2, 1, pad=pad).backward()
    assert y.dtype == x.dtype and x.grad.dtype == np.float64
    assert np.array_equal(x.grad.data, ref.grad.data)


def test_leaky_relu_of_integers_keeps_its_slope_in_the_gradient():
    x = Variable(np.array([-2, 3]))
    F.leaky_relu(x, 0.2).backward()
    assert np.allclose(x.grad.data, [0.2, 1.0])


def test_test_mode_batch_norm_of_integers_uses_float_statistics():
    import zerograd
    bn = L.BatchNorm()
    x = np.arange(8).reshape(4, 2)
    bn(x)
    with zerograd.test_mode():
        y = bn(x).data
    assert y.dtype == np.float64 and np.abs(y).max() > 0


@pytest.mark.parametrize("loss", [F.mean_squared_error, F.binary_cross_entropy, F.sigmoid_cross_entropy])
def test_two_array_losses_compare_element_by_element_when_only_unit_axes_differ(loss):
    p = np.array([[0.2], [0.9]])
    t = np.array([0.0, 1.0])
    assert np.allclose(loss(p, t).data, loss(p, t.reshape(2, 1)).data)   # never an N x N broadcast
    with pytest.raises(ValueError, match="only axes of length 1 may differ"):
        loss(np.full((2, 3), 0.5), np.zeros((3, 2)))


def test_mse_of_a_1x1_prediction_against_a_1_target():   # the book's step 59 shapes
    y = Variable(np.array([[0.5]]))
    loss = F.mean_squared_error(y, np.array([1.0]))
    loss.backward()
    assert float(loss.data) == 0.25 and y.grad.shape == (1, 1)


def test_dropout_draws_the_books_mask_at_each_forward_and_keeps_fractions_for_integers():
    np.random.seed(0)
    y = F.dropout(Variable(np.ones((20, 30))), 0.3)
    np.random.seed(0)
    want = (np.random.rand(20, 30) > 0.3) / 0.7
    assert np.allclose(y.data, want)
    y2 = F.dropout(Variable(np.ones((20, 30))), 0.3)
    assert not np.array_equal(y.data, y2.data)            # a new draw
    z = F.dropout(Variable(np.full(1000, 10), requires_grad=False), 0.3)
    assert z.dtype == np.float64 and np.isclose(z.data.max(), 10 / 0.7)
