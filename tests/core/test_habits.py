"""PyTorch habits on Variables: conversions, hooks, anomaly mode, grad switches, seeding."""
import threading

import numpy as np
import pytest

import zerograd
import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import gradient_check


def test_float_and_int_of_one_element():
    assert float(Variable(np.array([[2.5]]))) == 2.5 and int(Variable(np.array(3.7))) == 3
    with pytest.raises(TypeError, match=r"float\(\) of a variable needs exactly one element, got shape \(2,\)"):
        float(Variable(np.ones(2)))


def test_numpy_views_of_a_variable():
    v = Variable(np.arange(3.0))
    assert np.asarray(v) is v.data and np.asarray(v).dtype == np.float64
    assert np.asarray(v, dtype=np.float32).dtype == np.float32
    assert v.numpy() is v.data
    y = v * 2
    d = y.detach()
    assert d.creator is None and not d.requires_grad and d.data is y.data


@pytest.mark.parametrize("f, inputs", [
    (lambda a, b: a ** b, (np.random.rand(2, 3) + 0.5, np.random.randn(3))),
    (lambda b: 2 ** b, (np.random.randn(4),)),
    (lambda a: a ** np.array([1.5, 2.0]), (np.random.rand(2) + 0.5,)),
])
def test_variable_exponents_are_differentiable(f, inputs):
    assert gradient_check(f, *inputs, order=2)


def test_zero_to_a_variable_power_has_a_finite_exponent_gradient():
    x, e = Variable(np.array(0.0)), Variable(np.array(2.0))
    (x ** e).backward()
    assert float(x.grad) == 0.0 and float(e.grad) == 0.0


def test_hooks_see_and_replace_gradients():
    x = Variable(np.array([1.0, 2.0]))
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.data.copy()) or g * 10)
    F.sum(x * x).backward()
    assert np.array_equal(seen[0], [2, 4]) and np.array_equal(x.grad.data, [20, 40])
    handle.remove()
    x.cleargrad()
    F.sum(x * x).backward()
    assert np.array_equal(x.grad.data, [2, 4])


def test_a_hook_on_an_intermediate_changes_what_flows_back():
    x = Variable(np.array([1.0, 2.0]))
    h = x * 3
    h.register_hook(lambda g: g * 0)
    F.sum(h + x).backward()
    assert np.array_equal(x.grad.data, [1, 1])


def test_hooks_in_the_recorded_walk_and_bad_shapes():
    x = Variable(np.array(2.0))
    x.register_hook(lambda g: g * 2)
    (x ** 3).backward(create_graph=True)
    assert float(x.grad) == 24.0 and x.grad.creator is not None
    y = Variable(np.ones(2))
    y.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match=r"a hook of a variable of shape \(2,\) returned a gradient of shape"):
        F.sum(y * 2).backward()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_names_the_function_and_the_users_line():
    with zerograd.detect_anomaly():
        with pytest.raises(zerograd.AnomalyError) as info:
            F.log(Variable(np.array([1.0, -1.0])))        # the line the message shows
    text = str(info.value)
    assert text.startswith("Log.forward produced nan") and "test_habits.py" in text
    assert "F.log(Variable(np.array([1.0, -1.0])))" in text
    with zerograd.detect_anomaly():
        y = F.sqrt(Variable(np.array([0.0, 4.0])))
        with pytest.raises(zerograd.AnomalyError, match=r"Sqrt.backward produced inf .*the gradient of input 0"):
            F.sum(y).backward()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_costs_nothing_after_it_ends():
    calls = {cls: cls.__dict__["__call__"] for cls in (zerograd.Function, zerograd.core.UnaryFunction,
                                                        zerograd.core.BinaryFunction)}
    with zerograd.detect_anomaly():
        with zerograd.detect_anomaly():   # nested: one swap
            pass
        assert zerograd.core.UnaryFunction.__dict__["__call__"] is not calls[zerograd.core.UnaryFunction]
    for cls, call in calls.items():
        assert cls.__dict__["__call__"] is call
    assert zerograd.core.anomaly.check_backward is None
    F.log(Variable(np.array([-1.0])))   # NaN without anomaly mode: no error


def test_grad_switches():
    x = Variable(np.array(1.0))
    with zerograd.no_grad():
        assert F.exp(x).creator is None
        with zerograd.enable_grad():
            assert F.exp(x).creator is not None
    with zerograd.set_grad_enabled(False):
        assert F.exp(x).creator is None
    with zerograd.set_grad_enabled(True):
        assert F.exp(x).creator is not None


def test_grad_switches_are_per_thread():
    seen = []
    with zerograd.no_grad():
        t = threading.Thread(target=lambda: seen.append(F.exp(Variable(np.array(1.0))).creator is not None))
        t.start()
        t.join()
    assert seen == [True]


def test_manual_seed_seeds_what_zerograd_draws():
    import zerograd.layers as L
    zerograd.manual_seed(3)
    a = L.Linear(4, in_size=3).W.data.copy()
    zerograd.manual_seed(3)
    assert np.array_equal(L.Linear(4, in_size=3).W.data, a)


def test_a_hook_may_not_change_the_dtype_or_return_a_list():
    x = Variable(np.array([1.0, 2.0], np.float32))
    x.register_hook(lambda g: g.data.astype(np.float64))
    with pytest.raises(ValueError, match="changed the gradient's dtype from float32 to float64"):
        F.sum(x * x).backward()
    y = Variable(np.ones(2))
    y.register_hook(lambda g: [1.0, 2.0])
    with pytest.raises(ValueError, match="returned list"):
        F.sum(y * y).backward()


def test_zero_exponents_give_zero_base_gradients_at_zero():
    for exponent in (np.float32(0.0), Variable(np.array([0.0])), np.array([0.0])):
        a = Variable(np.array([0.0]))
        (a ** exponent).backward()
        assert float(a.grad) == 0.0


def test_backward_inputs_accepts_one_variable_and_refuses_none_at_all():
    x = Variable(np.array(2.0))
    w = Variable(np.array(3.0))
    y = x * w
    y.backward(inputs=x)
    assert float(x.grad) == 3.0 and w.grad is None
    with pytest.raises(ValueError, match="inputs is empty"):
        y.backward(inputs=[])
    parts = F.split(Variable(np.arange(6.0).reshape(2, 3)), 3, axis=1)
    (F.sum(parts[0] * 2) + F.sum(parts[1] * 3)).backward(inputs=[parts[0]])
    assert np.array_equal(parts[0].grad.data, [[2.0], [2.0]])


def test_set_grad_enabled_switches_at_once_or_for_a_block():
    try:
        zerograd.set_grad_enabled(False)
        assert F.exp(Variable(np.array(1.0))).creator is None
    finally:
        zerograd.set_grad_enabled(True)
    assert F.exp(Variable(np.array(1.0))).creator is not None
    with zerograd.set_grad_enabled(False):
        assert not zerograd.Config.enable_backprop
    assert zerograd.Config.enable_backprop


def test_switches_decorate_functions():
    @zerograd.no_grad()
    def predict(x):
        return F.exp(x)

    assert predict(Variable(np.array(1.0))).creator is None
    assert zerograd.Config.enable_backprop


@pytest.mark.parametrize("seed", [1.5, -1, 2 ** 32, True])
def test_manual_seed_names_a_bad_seed(seed):
    with pytest.raises(ValueError, match="manual_seed: the seed must be an integer"):
        zerograd.manual_seed(seed)


def test_an_integer_variable_is_an_index():
    items = ["a", "b", "c"]
    assert items[Variable(np.array(2))] == "c" and list(range(Variable(np.array(3)))) == [0, 1, 2]
    with pytest.raises(TypeError, match="must hold an integer"):
        items[Variable(np.array(1.0))]
