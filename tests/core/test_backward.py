"""The backward walk: the seed's rules, accumulation, retain_grad, create_graph, memory."""
import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Function, Variable, no_grad


def test_a_variable_used_twice_gets_the_sum_of_its_gradients():
    x = Variable(np.array(3.0))
    y = F.add(x, x)
    y.backward()
    assert x.grad.data == 2.0


def test_gradients_accumulate_until_cleargrad():
    x = Variable(np.array(3.0))
    y = F.add(x, x)
    y.backward()
    y = F.add(F.add(x, x), x)
    y.backward()
    assert x.grad.data == 5.0
    x.cleargrad()
    y = F.add(F.add(x, x), x)
    y.backward()
    assert x.grad.data == 3.0


def test_diamond_graph_each_function_once():
    # y = (x^2)^2 + (x^2)^2 ; dy/dx = 16 x^3 = 32 at x = 2... with a = x^2 shared
    x = Variable(np.array(2.0))
    a = F.square(x)
    y = F.add(F.square(a), F.square(a))
    y.backward()
    assert y.data == 32.0
    assert x.grad.data == 64.0


def test_gradients_are_variables_with_their_variables_dtype():
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    y = F.sin(x) * 2.0 + x / 3.0
    y.backward()
    assert isinstance(x.grad, Variable)
    assert x.grad.dtype == np.float32
    assert x.grad.shape == x.shape


def test_accumulation_makes_distinct_arrays():
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([3.0, 4.0]))
    y = a + b
    y.backward()
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data += 10
    assert np.all(b.grad.data == 1.0)


def test_kept_gradients_never_alias_through_views():
    a = Variable(np.ones((2, 3)))
    b = Variable(np.ones(6))
    y = a + F.reshape(b, (2, 3))
    y.backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert b.grad.data.flags.writeable


def test_retain_grad_keeps_intermediate_gradients():
    x = Variable(np.array(2.0))
    a = F.square(x)
    y = F.exp(a)
    y.backward()
    assert a.grad is None and y.grad is None
    x.cleargrad()
    a = F.square(x)
    y = F.exp(a)
    y.backward(retain_grad=True)
    assert a.grad.data == pytest.approx(np.exp(4.0))
    assert y.grad.data == 1.0


def test_backward_on_a_leaf_sets_ones():
    x = Variable(np.array([1.0, 2.0]))
    x.backward()
    assert np.array_equal(x.grad.data, [1.0, 1.0])


def test_non_scalar_output_is_seeded_with_ones():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = x * x
    y.backward()
    assert np.array_equal(x.grad.data, [2.0, 4.0, 6.0])


def test_without_create_graph_gradients_have_no_creator():
    x = Variable(np.array(2.0))
    y = x ** 3
    y.backward()
    assert x.grad.creator is None


def test_second_derivative_by_create_graph():
    # y = x^4 - 2x^2: y' = 4x^3 - 4x = 24, y'' = 12x^2 - 4 = 44 at x = 2
    x = Variable(np.array(2.0))
    y = x ** 4 - 2 * x ** 2
    y.backward(create_graph=True)
    assert x.grad.data == 24.0
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.data == 44.0


def test_newton_method_by_double_backprop_reaches_one_by_step_seven():
    x = Variable(np.array(2.0))
    history = []
    for _ in range(7):
        history.append(float(x.data))
        y = x ** 4 - 2 * x ** 2
        x.cleargrad()
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        gx2 = x.grad
        x.data = x.data - gx.data / gx2.data
    history.append(float(x.data))
    assert history[0] == 2.0
    assert history[1] == pytest.approx(1.4545454545454546)
    assert history[6] != 1.0  # the book prints 1.0000000000000018 at step 6
    assert history[7] == 1.0


def test_derivative_through_a_gradient_is_100():
    # y = x^2, z = (dy/dx)^3 + y; dz/dx = 24 x^2 + 2x = 100 at x = 2
    x = Variable(np.array(2.0))
    y = x ** 2
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    z = gx ** 3 + y
    z.backward()
    assert x.grad.data == 100.0


def test_tanh_higher_order_derivatives():
    x = Variable(np.array(0.5))
    y = F.tanh(x)
    y.backward(create_graph=True)
    t = np.tanh(0.5)
    expected = [1 - t ** 2, -2 * t * (1 - t ** 2), (1 - t ** 2) * (6 * t ** 2 - 2)]
    got = [float(x.grad.data)]
    for _ in range(2):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        got.append(float(x.grad.data))
    assert np.allclose(got, expected)


def goldstein_price(x, y):
    return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x ** 2 - 14 * y + 6 * x * y + 3 * y ** 2)) * (
        30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x ** 2 + 48 * y - 36 * x * y + 27 * y ** 2)
    )


def test_goldstein_price_gradient_at_1_1():
    x = Variable(np.array(1.0))
    y = Variable(np.array(1.0))
    z = goldstein_price(x, y)
    z.backward()
    assert x.grad.data == -5376.0
    assert y.grad.data == 8064.0


def test_sphere_and_matyas():
    x = Variable(np.array(1.0))
    y = Variable(np.array(1.0))
    z = 0.26 * (x ** 2 + y ** 2) - 0.48 * x * y
    z.backward()
    assert np.isclose(x.grad.data, 0.04) and np.isclose(y.grad.data, 0.04)


def test_a_200000_op_chain_works_under_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10000
    x = Variable(np.array(1.0))
    y = x
    for _ in range(200_000):
        y = y + 1.0
    y.backward()
    assert x.grad.data == 1.0
    del y  # dropping a 200,000-deep graph must not crash either


def test_graph_is_freed_without_the_cyclic_collector():
    gc.disable()
    try:
        x = Variable(np.random.randn(10))
        a = F.sin(x)
        b = F.exp(a)
        y = b * 2.0
        y.backward()
        ref_a = weakref.ref(a)
        ref_b = weakref.ref(b)
        del a, b
        assert ref_a() is not None  # still held by the graph of y
        del y
        assert ref_a() is None and ref_b() is None
    finally:
        gc.enable()


def test_constants_get_no_gradient():
    x = Variable(np.array(2.0))
    c = np.array(3.0)
    y = F.mul(x, c)
    y.backward()
    assert x.grad.data == 3.0
    assert y.creator.inputs[1].grad is None
    assert y.creator.inputs[1].requires_grad is False


def test_no_grad_records_nothing():
    x = Variable(np.array(2.0))
    with no_grad():
        y = x * 2
    assert y.creator is None


def test_no_grad_is_thread_local():
    results = {}
    inside = threading.Event()
    done = threading.Event()

    def other():
        inside.wait()
        x = Variable(np.array(1.0))
        results["creator"] = (x * 2).creator
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with no_grad():
        inside.set()
        done.wait()
    t.join()
    assert results["creator"] is not None


class BookSquare(Function):
    def forward(self, x):
        return x ** 2

    def backward(self, gy):
        x = self.inputs[0].data
        return 2 * x * gy


class BookExp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        (x,) = self.inputs
        return F.exp(x) * gy


class TwoOutputs(Function):
    def forward(self, x):
        return x * 2, x * 3

    def backward(self, gy0, gy1):
        return gy0 * 2 + gy1 * 3


def test_user_defined_functions_in_the_books_style():
    x = Variable(np.array(0.5))
    y = BookSquare()(BookExp()(BookSquare()(x)))
    y.backward()
    assert np.isclose(x.grad.data, 3.297442541400256)


def test_multiple_outputs_and_an_unused_output():
    x = Variable(np.array([1.0, 2.0]))
    a, b = TwoOutputs()(x)
    assert isinstance(a, Variable) and isinstance(b, Variable)
    (a * 1.0).backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0])
    x.cleargrad()
    a, b = TwoOutputs()(x)
    del a
    b.backward()
    assert np.array_equal(x.grad.data, [3.0, 3.0])


def test_wrong_gradient_shape_is_reported():
    class Broken(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, gy):
            return gy  # should be broadcast to x's shape

    x = Variable(np.ones(3))
    with pytest.raises(ValueError, match=r"Broken.backward returned a gradient of shape \(\) for input 0 of shape \(3,\)"):
        Broken()(x).backward()


def test_wrong_number_of_gradients_is_reported():
    class Broken(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            return gy

    with pytest.raises(ValueError, match="returned 1 gradients for 2 inputs"):
        Broken()(Variable(np.array(1.0)), Variable(np.array(2.0))).backward()


@pytest.mark.parametrize("retain_grad", [False, True])
def test_0d_gradients_are_0d_arrays(retain_grad):
    x = Variable(np.array(0.5))
    y = F.sin(x) * 2.0 + F.exp(x)
    y.backward(retain_grad=retain_grad)
    assert type(x.grad.data) is np.ndarray and x.grad.data.shape == ()
    assert x.grad.data == pytest.approx(2 * np.cos(0.5) + np.exp(0.5))


@pytest.mark.parametrize("retain_grad", [False, True])
def test_a_book_style_backward_may_return_plain_arrays(retain_grad):
    class Double(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy.data * 2

    x = Variable(np.ones(3, dtype=np.float32))
    y = F.sin(Double()(x))
    y.backward(retain_grad=retain_grad)
    assert x.grad.dtype == np.float32
    assert np.allclose(x.grad.data, 2 * np.cos(2.0))


def test_a_gradient_retained_earlier_never_flows_back():
    # DeZero let an intermediate variable's stale gradient join the next pass (x.grad 39 here);
    # a retained gradient is a record, never an input to later propagation.
    for retain in (False, True):
        x = Variable(np.array(2.0))
        a = x * 3.0
        y = a * a
        y.backward(retain_grad=True)   # a.grad = 2a = 12 is kept
        x.cleargrad()
        z = a * 1.0
        z.backward(retain_grad=retain)
        assert x.grad.data == 3.0
        assert a.grad.data == (13.0 if retain else 12.0)
