"""Losses and activations at extreme inputs, dropout's book-compatible mask, accuracy."""
import numpy as np
import pytest

import zerograd
import zerograd.functions as F
from zerograd import Variable


@pytest.mark.parametrize("logit", [-1000.0, -40.0, 0.0, 40.0, 1000.0])
def test_sigmoid_cross_entropy_is_finite_for_any_logit(logit):
    x = Variable(np.array([[logit], [logit]], dtype=np.float32))
    for t in (np.array([0, 1]), np.array([1, 1])):
        x.cleargrad()
        loss = F.sigmoid_cross_entropy(x, t)
        loss.backward()
        assert np.isfinite(loss.data) and np.all(np.isfinite(x.grad.data))
    # DeZero returns inf at logit 40 with target 0; the exact value is softplus(40) / 1 = 40
    y = F.sigmoid_cross_entropy(np.array([[40.0]]), np.array([0]))
    assert y.data == pytest.approx(40.0)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    x = Variable(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], dtype=np.float32))
    loss = F.softmax_cross_entropy(x, np.array([1, 2], dtype=np.int8))
    loss.backward()
    assert np.isfinite(loss.data) and np.all(np.isfinite(x.grad.data))
    assert loss.data == pytest.approx((2000.0 + 1.0 + np.log1p(np.exp(-1.0))) / 2, rel=1e-5)
    assert loss.dtype == np.float32


def test_binary_cross_entropy_and_sigmoid_at_the_edges():
    p = F.sigmoid(Variable(np.array([-1000.0, 1000.0])))
    assert np.all(np.isfinite(p.data))
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0]))
    loss.backward()
    assert np.isfinite(loss.data)


@pytest.mark.parametrize("bad, message", [
    (np.array([0, 3]), r"labels must lie in \[0, 3\), got values in \[0, 3\]"),
    (np.array([-1, 0]), "got values in"),
    (np.array([0.0, 1.0]), "labels must be integers"),
    (np.array([0, 1, 2]), "expected scores of shape"),
])
def test_softmax_cross_entropy_rejects_bad_labels(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        F.softmax_cross_entropy(np.zeros((2, 3)), bad)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_integer_labels_of_any_dtype_never_promote(dtype):
    x = Variable(np.random.randn(4, 3).astype(np.float32))
    loss = F.softmax_cross_entropy(x, np.array([0, 1, 2, 1], dtype=dtype))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_dropout_mask_is_one_rand_call_on_the_global_generator():
    x = np.ones((3, 4), dtype=np.float32)
    np.random.seed(3)
    y = F.dropout(x, 0.4)
    np.random.seed(3)
    mask = np.random.rand(3, 4) > 0.4
    assert np.allclose(y.data, mask / 0.6)
    assert y.dtype == np.float32
    with zerograd.test_mode():
        assert F.dropout(x, 0.4).data is x


def test_accuracy_is_a_variable_holding_a_0d_array():
    acc = F.accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 0, 0]))
    assert isinstance(acc, Variable) and acc.data.ndim == 0 and type(acc.data) is np.ndarray
    assert acc.data == pytest.approx(2 / 3) and acc.creator is None


def test_mean_squared_error_is_the_books():
    x0 = np.array([[1.0, 2.0], [3.0, 5.0]])
    x1 = np.zeros((2, 2))
    assert F.mean_squared_error(x0, x1).data == pytest.approx((1 + 4 + 9 + 25) / 2)
    with pytest.raises(ValueError, match="shapes"):
        F.mean_squared_error(np.zeros(3), np.zeros(4))
