"""Operators, scalars as weak constants, dtypes, reflected forms, errors."""
import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import gradient_check


def test_operators_values_and_gradients():
    a = Variable(np.array(3.0))
    b = Variable(np.array(2.0))
    y = a * b + a / b - b ** 2 - (-a)
    y.backward()
    assert y.data == pytest.approx(3 * 2 + 1.5 - 4 + 3)
    assert a.grad.data == pytest.approx(2 + 1 / 2 + 1)
    assert b.grad.data == pytest.approx(3 - 3 / 4 - 4)


@pytest.mark.parametrize(
    "expr, value",
    [
        (lambda x: 3.0 + x, 5.0),
        (lambda x: 3.0 - x, 1.0),
        (lambda x: 3.0 * x, 6.0),
        (lambda x: 3.0 / x, 1.5),
        (lambda x: np.array(3.0) + x, 5.0),
        (lambda x: np.array(3.0) - x, 1.0),
        (lambda x: np.array(3.0) * x, 6.0),
        (lambda x: np.array(3.0) / x, 1.5),
        (lambda x: x - np.array(3.0), -1.0),
        (lambda x: x ** 3, 8.0),
    ],
)
def test_reflected_forms_return_variables(expr, value):
    x = Variable(np.array(2.0))
    y = expr(x)
    assert isinstance(y, Variable)
    assert y.data == pytest.approx(value)
    assert type(y.data) is np.ndarray


@pytest.mark.parametrize("scalar", [2.0, 2, np.float64(2.0), np.int64(2)])
def test_a_python_scalar_never_changes_the_dtype(scalar):
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    for y in (x * scalar, scalar * x, x + scalar, scalar - x, x / scalar, scalar / x, x ** scalar):
        assert y.dtype == np.float32
    y = (x * scalar + scalar) / scalar
    y.backward()
    assert x.grad.dtype == np.float32


def test_scalars_through_a_general_function_are_weak_too():
    x = Variable(np.array([1.0], dtype=np.float32))
    from zerograd.core.ops import Mul

    y = Mul()(x, 2.0)
    assert y.dtype == np.float32


def test_forward_results_are_arrays_never_numpy_scalars():
    x = Variable(np.array(0.5))
    for y in (F.sin(x), F.exp(x), x * 2.0, x + x, F.sum(x * x)):
        assert type(y.data) is np.ndarray and y.data.ndim == 0


def test_functions_accept_arrays_and_scalars():
    assert F.exp(np.array(0.0)).data == 1.0
    assert F.add(np.array(1.0), 2.0).data == 3.0
    assert F.mul(2.0, np.array(3.0)).data == 6.0
    assert F.sub(1.0, Variable(np.array(3.0))).data == -2.0
    assert F.rsub(Variable(np.array(3.0)), 1.0).data == -2.0
    assert F.div(1.0, Variable(np.array(4.0))).data == 0.25
    assert F.rdiv(Variable(np.array(4.0)), 1.0).data == 0.25
    assert F.neg(np.array(2.0)).data == -2.0
    assert F.pow(np.array(2.0), 3).data == 8.0


def test_bad_inputs_name_the_function_and_the_type():
    x = Variable(np.array(1.0))
    with pytest.raises(TypeError, match=r"Sin: input 0 has unsupported type str"):
        F.sin("a")
    with pytest.raises(TypeError, match=r"Add: input 1 has unsupported type list"):
        F.add(x, [1, 2])
    with pytest.raises(TypeError, match="pow: the exponent must be a Python number"):
        F.pow(x, x)


def test_broadcasting_binary_ops_reduce_gradients():
    a = Variable(np.random.randn(2, 3))
    b = Variable(np.random.randn(3))
    y = a * b + b
    y.backward()
    assert a.grad.shape == (2, 3)
    assert b.grad.shape == (3,)
    assert np.allclose(b.grad.data, a.data.sum(axis=0) + 2)


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((2, 1, 4), (3, 1)), ((2, 3), ())])
@pytest.mark.parametrize("op", [F.add, F.sub, F.mul, F.div])
def test_binary_op_gradients_with_broadcasting(op, shapes):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shapes[0])
    b = rng.uniform(0.5, 2.0, shapes[1])
    assert gradient_check(op, a, b)
    assert gradient_check(op, a, b, order=2)
    assert gradient_check(op, b, a, order=2)


@pytest.mark.parametrize("c", [2, 3, 0.5, -1.5])
def test_pow_gradient(c):
    x = np.random.default_rng(2).uniform(0.5, 2.0, (2, 3))
    assert gradient_check(lambda v: v ** c, x, order=2)


@pytest.mark.parametrize("c", [2.0, -3])
def test_constant_forms_gradients(c):
    x = np.random.default_rng(3).uniform(0.5, 2.0, (3,))
    for f in (lambda v: v + c, lambda v: c - v, lambda v: v * c, lambda v: v / c, lambda v: c / v, lambda v: -v):
        assert gradient_check(f, x, order=2)
