"""zerograd.func against closed forms (and torch.func where torch is installed)."""
import numpy as np
import pytest

import zerograd
import zerograd.functions as F
from zerograd import Variable, func


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def test_grad_composes():
    f = lambda x: x ** 4
    assert func.grad(f)(2.0) == 32.0
    assert func.grad(func.grad(f))(2.0) == 48.0
    assert func.grad(func.grad(func.grad(f)))(2.0) == 48.0
    assert func.grad(func.grad(func.grad(func.grad(f))))(2.0) == 24.0


def test_results_are_arrays_and_numbers_are_accepted():
    g = func.grad(lambda x: F.sum(F.sin(x)))(np.array([0.0, 1.0]))
    assert isinstance(g, np.ndarray) and np.allclose(g, np.cos([0.0, 1.0]))
    assert isinstance(func.grad(lambda x: x * x)(3), np.ndarray)   # an int input is taken as float64


def test_hessian_of_rosenbrock():
    H = func.hessian(rosenbrock)(np.array([1.0, 1.0]))
    assert np.array_equal(H, [[802.0, -400.0], [-400.0, 200.0]])


def test_value_and_grad_argnums_and_aux():
    f = lambda x, y: F.sum(x * y)
    value, (gx, gy) = func.value_and_grad(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert value == 11.0 and np.array_equal(gx, [3, 4]) and np.array_equal(gy, [1, 2])
    assert np.array_equal(func.grad(f, argnums=-1)(np.array([1.0, 2.0]), np.array([3.0, 4.0])), [1, 2])
    g, aux = func.grad(lambda x: (F.sum(x ** 2), "note"), has_aux=True)(np.array([1.0, 2.0]))
    assert np.array_equal(g, [2, 4]) and aux == "note"


def test_vjp_jvp_jacobian_hvp_closed_forms():
    x = np.array([0.5, 1.0, 2.0])
    out, vjp_fn = func.vjp(lambda v: v ** 3, x)
    assert np.allclose(out, x ** 3)
    (g,) = vjp_fn(np.array([1.0, 2.0, 3.0]))
    assert np.allclose(g, 3 * x ** 2 * [1, 2, 3])
    out, t = func.jvp(lambda v: F.sin(v) * v, (x,), (np.array([1.0, 0.0, 2.0]),))
    assert np.allclose(t, (np.cos(x) * x + np.sin(x)) * [1, 0, 2])
    J = func.jacobian(lambda v: v[:2] * v[2])(x)
    assert np.allclose(J, [[2.0, 0, 0.5], [0, 2.0, 1.0]])
    value, hv = func.hvp(rosenbrock, (np.array([1.0, 1.0]),), (np.array([1.0, 2.0]),))
    assert value == 0.0 and np.allclose(hv, [802 - 800, -400 + 400])


def test_transforms_leave_other_gradients_alone():
    W = Variable(np.array([2.0, 3.0]))
    W.grad = Variable(np.array([7.0, 7.0]))
    g = func.grad(lambda x: F.sum(x * W))(np.array([1.0, 1.0]))
    assert np.array_equal(g, [2.0, 3.0]) and np.array_equal(W.grad.data, [7.0, 7.0])


def test_transforms_work_inside_no_grad():
    with zerograd.no_grad():
        assert func.grad(lambda x: x * x)(3.0) == 6.0


@pytest.mark.parametrize("bad, message", [
    (lambda: func.grad(lambda x: x * 2)(np.ones(3)), "must return one element"),
    (lambda: func.grad(lambda x: x, argnums=2)(1.0), "argnums 2"),
    (lambda: func.vjp(lambda x: x * 2, np.ones(3))[1](np.ones(2)), "cotangent has shape"),
    (lambda: func.jvp(lambda x: x, (np.ones(3),), (np.ones(2),)), "tangent of shape"),
    (lambda: func.grad(lambda x: (x, x))(1.0), "must return one array"),
])
def test_misuse_is_a_clear_error(bad, message):
    with pytest.raises((TypeError, ValueError), match=message):
        bad()


def test_against_torch_func():
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -1.2, 2.0])
    f_z = lambda v: F.sum(F.tanh(v) * v ** 2)
    f_t = lambda v: (torch.tanh(v) * v ** 2).sum()
    xt = torch.tensor(x)
    assert np.allclose(func.grad(f_z)(x), torch.func.grad(f_t)(xt).numpy())
    assert np.allclose(func.hessian(f_z)(x), torch.func.hessian(f_t)(xt).numpy())
    t = np.array([1.0, 0.5, -2.0])
    assert np.allclose(func.jvp(lambda v: F.sin(v) * v, (x,), (t,))[1],
                       torch.func.jvp(lambda v: torch.sin(v) * v, (xt,), (torch.tensor(t),))[1].numpy())


def test_nested_transforms_see_variables_that_arrive_through_closures():
    assert func.grad(lambda y: func.grad(lambda x: x * x * y)(2.0))(3.0) == 4.0
    J = func.jacobian(func.grad(lambda a, b: F.sum(a * a * b), argnums=0), argnums=1)(np.array([1.0, 2.0]),
                                                                                     np.array([3.0, 4.0]))
    assert np.array_equal(J, [[2.0, 0.0], [0.0, 4.0]])


def test_jvp_and_hvp_inside_no_grad():
    with zerograd.no_grad():
        assert func.jvp(lambda x: x * x, (3.0,), (1.0,))[1] == 6.0
        assert np.array_equal(func.hvp(lambda x: F.sum(x ** 3), (np.array([1.0, 2.0]),), (np.ones(2),))[1], [6, 12])


def test_grad_through_an_output_of_a_multi_output_function():
    part = F.split(Variable(np.arange(4.0)), 2)[0]
    assert np.array_equal(func.grad(lambda q: F.sum(q ** 2))(part), [0.0, 2.0])
    with pytest.raises(ValueError, match="argnums"):
        func.grad(lambda x: x, argnums=True)(1.0)
