import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Function, Variable
from zerograd.utils import GradientCheckError, gradient_check, numerical_diff, numerical_grad


def test_numerical_diff_of_square():
    x = Variable(np.array(2.0))
    assert np.isclose(numerical_diff(F.square, x).data, 4.0)


def test_numerical_grad_matches_the_analytic_gradient():
    x = np.random.randn(3, 2)
    g = numerical_grad(lambda v: np.sum(np.sin(v)), x)
    assert np.allclose(g, np.cos(x), atol=1e-7)


class WrongSin(Function):
    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        return gy * F.cos(self.inputs[0]) * 1.01


class WrongSecondOrder(Function):
    """Correct first derivative, but its backward is built from constants (no second order)."""

    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * Variable(3 * x ** 2, requires_grad=False)


def test_gradient_check_reports_the_input_and_element():
    x = np.random.randn(2, 3)
    with pytest.raises(GradientCheckError, match=r"input 0 \(order 1\): 6 of 6 elements differ; worst at index"):
        gradient_check(WrongSin(), x)
    assert gradient_check(WrongSin(), x, raise_exception=False) is False


def test_gradient_check_order_two_catches_a_constant_backward():
    x = np.random.randn(4)
    assert gradient_check(WrongSecondOrder(), x)
    with pytest.raises(GradientCheckError, match="order 2"):
        gradient_check(WrongSecondOrder(), x, order=2)


def test_a_gradient_in_another_dtype_takes_its_variables_dtype():
    class OtherDtype(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return Variable((gy.data * 2).astype(np.float32))

    assert gradient_check(OtherDtype(), np.ones(3))


def test_gradient_check_needs_a_float_input():
    with pytest.raises(ValueError, match="no floating-point input"):
        gradient_check(lambda i: i, np.arange(3))


class WrongFastBackward(Function):
    """backward is right; the array fast path (fast_backward) is wrong."""

    array_backward = True

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        return gy * F.cos(self.inputs[0])

    def fast_backward(self, gy):
        return gy * np.cos(self.inputs[0].data) * 1.01


class WrongBackward(WrongFastBackward):
    """fast_backward is right; the generic backward is wrong."""

    def backward(self, gy):
        return gy * F.cos(self.inputs[0]) * 1.01

    def fast_backward(self, gy):
        return gy * np.cos(self.inputs[0].data)


def test_gradient_check_checks_the_fast_backward_and_the_backward():
    x = np.random.randn(5)
    with pytest.raises(GradientCheckError, match=r"input 0 \(order 1\)") as e:
        gradient_check(WrongFastBackward(), x)
    assert "recorded walk" not in str(e.value)
    with pytest.raises(GradientCheckError, match=r"order 1, recorded walk \(backward, not fast_backward\)") as e:
        gradient_check(WrongBackward(), x)
    assert "input 0 (order 1)" not in str(e.value)
