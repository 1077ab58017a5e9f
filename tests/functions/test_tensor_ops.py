"""Behaviour of the tensor ops beyond their gradients: values, views, ties, errors, methods."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import gradient_check


def test_reshape_and_transpose_methods_and_views():
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(4, 6).shape == (4, 6)
    assert x.reshape((4, 6)).shape == (4, 6)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose(-1, 0, 1).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2)
    for y in (x.reshape(4, 6), x.T, F.expand_dims(x, 0), F.flatten(x), x[0], F.squeeze(x[:, :1])):
        assert np.shares_memory(y.data, x.data)
    assert F.flatten(x).shape == (2, 12)


def test_transpose_four_axes_gradient():
    x = np.random.randn(2, 3, 4, 5)
    assert gradient_check(lambda v: v.transpose(1, 0, 3, 2) * np.arange(120.0).reshape(3, 2, 5, 4), x)


def test_bad_axes_are_reported():
    x = Variable(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 0\) are not a permutation"):
        x.transpose(0, 0)
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape an array of shape \(2, 3\) into shape \(4,\)"):
        x.reshape(4)
    with pytest.raises(ValueError, match=r"squeeze: axis 0 of shape \(2, 3\) has length 2"):
        F.squeeze(x, 0)


def test_repeated_indices_accumulate():
    x = Variable(np.arange(4.0))
    y = x[np.array([1, 1, 3, 1])]
    y.backward()
    assert np.array_equal(x.grad.data, [0.0, 3.0, 0.0, 1.0])


def test_boolean_mask_indexing():
    x = Variable(np.arange(6.0).reshape(2, 3))
    mask = x.data > 2
    y = x[mask]
    assert np.array_equal(y.data, [3.0, 4.0, 5.0])
    y.backward()
    assert np.array_equal(x.grad.data, mask.astype(float))


def test_index_with_a_variable_and_a_list():
    x = Variable(np.arange(5.0))
    assert np.array_equal(x[Variable(np.array([0, 4]))].data, [0.0, 4.0])
    assert np.array_equal(F.get_item(x, [1, 2]).data, [1.0, 2.0])


def test_index_out_of_range_names_the_op():
    with pytest.raises(IndexError, match=r"get_item: .* \(input shape \(3,\)\)"):
        Variable(np.zeros(3))[5]


def test_tied_maxima_share_the_gradient():
    x = Variable(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    y = F.max(x, axis=1)
    y.backward()
    assert np.allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    assert np.allclose(x.grad.data.sum(axis=1), 1.0)
    x.cleargrad()
    F.min(x).backward()
    assert np.allclose(x.grad.data, [[1, 0, 0], [0, 0, 0]])


def test_maximum_ties_share_equally():
    a = Variable(np.array([1.0, 2.0, 3.0]))
    b = Variable(np.array([3.0, 2.0, 1.0]))
    F.maximum(a, b).backward()
    assert np.array_equal(a.grad.data, [0.0, 0.5, 1.0])
    assert np.array_equal(b.grad.data, [1.0, 0.5, 0.0])


def test_reductions_match_numpy():
    d = np.random.randn(3, 4, 5)
    x = Variable(d)
    assert np.allclose(F.sum(x, axis=(0, 2)).data, d.sum(axis=(0, 2)))
    assert np.allclose(x.mean(axis=1, keepdims=True).data, d.mean(axis=1, keepdims=True))
    assert np.allclose(F.var(x, axis=2).data, d.var(axis=2))
    assert np.allclose(F.std(x, axis=0, ddof=1).data, d.std(axis=0, ddof=1))
    assert np.allclose(x.max(axis=-1).data, d.max(axis=-1))
    assert np.allclose(x.min().data, d.min())


def test_logsumexp_is_stable():
    x = Variable(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]]))
    y = F.logsumexp(x, axis=1)
    assert np.allclose(y.data, [1000 + np.log(2), -1000 + np.log(2)])
    y.backward()
    assert np.allclose(x.grad.data, 0.5)
    assert F.logsumexp(x, axis=1, keepdims=True).shape == (2, 1)


def test_matmul_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"^matmul: shapes \(2, 3\) and \(4, 5\) are not aligned \(3 != 4\)$"):
        F.matmul(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="batch dimensions"):
        F.matmul(np.zeros((2, 2, 3)), np.zeros((3, 3, 4)))


def test_matmul_operator_and_dot():
    a = Variable(np.random.randn(2, 3))
    b = np.random.randn(3, 4)
    assert np.allclose((a @ b).data, a.data @ b)
    assert np.allclose((b.T @ a.T).data, b.T @ a.data.T)
    assert isinstance(b.T @ a.T, Variable)
    assert np.allclose(a.dot(b).data, a.data @ b)


def test_batched_matmul_backward_with_broadcast_batch():
    a = Variable(np.random.randn(5, 2, 3))
    b = Variable(np.random.randn(3, 4))
    (a @ b).backward()
    assert a.grad.shape == (5, 2, 3) and b.grad.shape == (3, 4)
    assert np.allclose(b.grad.data, a.data.sum(axis=0).T @ np.ones((2, 4)))


def test_linear_skips_gradients_nobody_asked_for():
    x = np.random.randn(4, 3)
    W = Variable(np.random.randn(3, 2))
    y = F.linear(x, W)
    y.backward()
    assert W.grad.shape == (3, 2)
    assert y.creator.inputs[0].grad is None


def test_concat_stack_split():
    a = Variable(np.ones((2, 3)))
    b = Variable(np.zeros((2, 2)))
    c = F.concat([a, b], axis=1)
    assert c.shape == (2, 5)
    parts = F.split(c, [3], axis=1)
    assert [p.shape for p in parts] == [(2, 3), (2, 2)]
    s = F.stack([a, a * 2], axis=0)
    assert s.shape == (2, 2, 3)
    with pytest.raises(ValueError, match="concat: shapes"):
        F.concat([a, Variable(np.ones((3, 3)))], axis=1)


def test_where_clip_abs_values():
    x = Variable(np.array([-2.0, -0.5, 0.5, 2.0]))
    assert np.array_equal(F.clip(x, -1, 1).data, [-1, -0.5, 0.5, 1])
    assert np.array_equal(F.where(x.data > 0, x, 0.0).data, [0, 0, 0.5, 2])
    assert np.array_equal(abs(x).data, [2, 0.5, 0.5, 2])


def test_helpers_are_not_differentiated():
    x = Variable(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]]))
    assert np.array_equal(x.argmax(axis=1), [1, 0])
    assert np.array_equal(F.argmax(x, axis=0), [1, 0, 0])
    assert x[0, 1].item() == 5.0
    assert x.tolist() == [[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]]


@given(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), st.sampled_from(["add", "sub", "mul", "div"]))
def test_binary_ops_reduce_gradients_for_any_broadcast(shapes, op):
    a_shape, b_shape = shapes.input_shapes
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape)
    b = rng.uniform(0.5, 2.0, b_shape)
    assert gradient_check(getattr(F, op), a, b)


@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4)), elements=st.floats(-10, 10)),
       st.sampled_from([None, 0, 1, (0, 1)]), st.booleans())
def test_sum_and_mean_any_axis(x, axis, keepdims):
    assert gradient_check(lambda v: F.sum(v, axis=axis, keepdims=keepdims) * 1.5, x)
    assert gradient_check(lambda v: F.mean(v, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32(dtype):
    x = Variable(np.random.randn(2, 3).astype(dtype))
    W = Variable(np.random.randn(3, 4).astype(dtype))
    y = F.logsumexp(F.linear(x, W), axis=1).mean() + F.var(x) + F.max(x) + (x @ W).sum()
    assert y.dtype == dtype
    y.backward()
    assert x.grad.dtype == dtype and W.grad.dtype == dtype
