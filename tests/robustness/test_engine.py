"""Adversarial cases for the engine: each one was a silent wrong answer or a crash once.

Retained gradients counted twice, reused Function instances misrouting gradients, 0-d inputs,
gradients in the wrong dtype, NaN at a maximum, float16 reductions, lost updates from threads,
aliasing between stored gradients.
"""
import threading

import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Function, Variable, no_grad
from zerograd.functions.elementwise import Exp, Square
from zerograd.functions.reduction import Sum
from zerograd.functions.shape import Reshape
from zerograd.utils import gradient_check


# ------------------------------------------------------------------ retain_grad
def test_a_retained_backward_then_a_plain_one_count_once_each():
    x = Variable(np.array(2.0))
    h = x * 3.0
    y = h * h
    y.backward(retain_grad=True)
    y.backward()
    assert x.grad.data == 72.0  # 36 per call, never 108
    assert h.grad.data == 12.0  # retained by the first call only
    assert y.grad.data == 1.0


def test_retained_gradients_add_up_across_retained_calls():
    x = Variable(np.array(2.0))
    h = x * 3.0
    y = h * h
    y.backward(retain_grad=True)
    y.backward(retain_grad=True)
    assert h.grad.data == 24.0 and x.grad.data == 72.0 and y.grad.data == 1.0


def test_a_gradient_set_by_hand_seeds_the_walk_and_is_not_aliased():
    x = Variable(np.ones(3))
    y = x + 1.0
    y.grad = Variable(np.array([1.0, 2.0, 3.0]))
    y.backward()
    assert np.array_equal(x.grad.data, [1.0, 2.0, 3.0])
    assert not np.shares_memory(x.grad.data, y.grad.data)


def test_a_seed_of_the_wrong_shape_is_a_clear_error():
    x = Variable(np.ones((2, 3)))
    y = F.sin(x)
    y.grad = Variable(np.ones(3))
    with pytest.raises(ValueError, match=r"y.grad has shape \(3,\) but y has shape \(2, 3\)"):
        y.backward()


# ------------------------------------------------------- reused Function objects
def test_one_function_instance_called_twice_records_two_nodes():
    sq = Square()
    x = Variable(np.array(3.0))
    y = sq(sq(x))
    y.backward()
    assert y.data == 81.0 and x.grad.data == 108.0


def test_a_reused_function_routes_each_gradient_to_its_own_input():
    f = Exp()
    x1, x2 = Variable(np.array(1.0)), Variable(np.array(2.0))
    y1 = f(x1)
    y2 = f(x2)
    y1.backward()
    assert x1.grad.data == pytest.approx(np.e) and x2.grad is None
    y2.backward()
    assert x2.grad.data == pytest.approx(np.exp(2.0))


def test_a_reused_function_with_state_keeps_each_calls_state():
    s = Sum(axis=0)
    a, b = Variable(np.ones((2, 3))), Variable(np.ones((4, 5)))
    ya, yb = s(a), s(b)
    (F.sum(ya) + F.sum(yb)).backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (4, 5)


def test_reuse_under_no_grad_does_not_disturb_the_recorded_call():
    r = Reshape((6,))
    a = Variable(np.ones((2, 3)))
    y = r(a)
    with no_grad():
        r(np.ones((3, 2)))
    y.backward()
    assert a.grad.shape == (2, 3)


# --------------------------------------------------------------------- 0-d inputs
ZERO_D = {
    "add": (F.add, 2), "sub": (F.sub, 2), "mul": (F.mul, 2), "div": (F.div, 2), "rsub": (F.rsub, 2),
    "rdiv": (F.rdiv, 2), "neg": (F.neg, 1), "pow": (lambda x: F.pow(x, 3), 1), "copy": (F.copy, 1),
    "exp": (F.exp, 1), "log": (F.log, 1), "sin": (F.sin, 1), "cos": (F.cos, 1), "tanh": (F.tanh, 1),
    "square": (F.square, 1), "sqrt": (F.sqrt, 1), "sigmoid": (F.sigmoid, 1), "relu": (F.relu, 1),
    "leaky_relu": (F.leaky_relu, 1), "gelu": (F.gelu, 1), "abs": (F.abs, 1),
    "clip": (lambda x: F.clip(x, 0.0, 1.0), 1), "maximum": (lambda a, b: F.maximum(a, b * 0.5), 2),
    "minimum": (lambda a, b: F.minimum(a, b * 0.5), 2), "where": (lambda a, b: F.where(np.array(True), a, b), 2),
    "sum": (F.sum, 1), "mean": (F.mean, 1), "average": (F.average, 1), "max": (F.max, 1), "min": (F.min, 1),
    "logsumexp": (F.logsumexp, 1), "var": (F.var, 1),
    "reshape": (lambda x: F.reshape(x, (1, 1)), 1), "transpose": (F.transpose, 1),
    "expand_dims": (lambda x: F.expand_dims(x, 0), 1), "squeeze": (F.squeeze, 1),
    "broadcast_to": (lambda x: F.broadcast_to(x, (2, 3)), 1), "sum_to": (lambda x: F.sum_to(x, ()), 1),
    "get_item": (lambda x: x[...], 1), "softmax": (lambda x: F.softmax(x, axis=None), 1),
    "log_softmax": (lambda x: F.log_softmax(x, axis=None), 1),
    "mean_squared_error": (F.mean_squared_error, 2), "sigmoid_cross_entropy": (
        lambda x: F.sigmoid_cross_entropy(x, np.array(1.0)), 1),
    "binary_cross_entropy": (lambda x: F.binary_cross_entropy(F.sigmoid(x), np.array(1.0)), 1),
    "dropout": (lambda x: F.dropout(x, 0.3), 1), "stack": (lambda a, b: F.stack([a, b]), 2),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_every_op_takes_0d_inputs_at_orders_1_and_2(name):
    fn, arity = ZERO_D[name]
    inputs = [np.array(0.7 + 0.1 * i) for i in range(arity)]
    np.random.seed(3)
    assert gradient_check(lambda *xs: (np.random.seed(3), fn(*xs))[1], *inputs, order=2)


@pytest.mark.parametrize("name", sorted(ZERO_D))
@pytest.mark.parametrize("mode", ["plain", "retain_grad", "create_graph"])
def test_every_op_gives_0d_gradients_as_0d_arrays(name, mode):
    fn, arity = ZERO_D[name]
    xs = [Variable(np.array(0.7 + 0.1 * i)) for i in range(arity)]
    np.random.seed(3)
    y = fn(*xs)
    y.backward(retain_grad=mode == "retain_grad", create_graph=mode == "create_graph")
    for x in xs:
        assert type(x.grad.data) is np.ndarray and x.grad.shape == () and x.grad.dtype == np.float64
    if mode == "create_graph":
        g = xs[0].grad
        for x in xs:
            x.cleargrad()
        if g.creator is not None:
            g.backward()


@pytest.mark.parametrize("call, message", [
    (lambda x: F.softmax(x), "softmax: axis 1 is out of range"),
    (lambda x: F.squeeze(x, axis=0), "squeeze: axis 0 is out of range for a 0-d input"),
    (lambda x: F.matmul(x, x), "matmul: 0-d operands"),
    (lambda x: F.concat([x, x]), "concat: 0-d inputs"),
    (lambda x: F.flatten(x), "flatten: a 0-d input"),
    (lambda x: F.sum(x, axis=0), "sum: axis 0 is out of range"),
    (lambda x: F.linear(x, np.ones((1, 1))), "linear: x of shape"),
    (lambda x: F.softmax_cross_entropy(x, np.array(0)), "softmax_cross_entropy: expected scores of shape"),
])
def test_0d_inputs_where_an_axis_is_needed_give_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(Variable(np.array(0.5)))


# ------------------------------------------------------------------------- dtypes
def test_a_float32_input_used_with_float64_data_gets_a_float32_gradient():
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    w = np.array([0.5, 0.25])  # float64 constant: the product is float64
    y = F.sum(F.sin(x * w))
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32
    assert np.allclose(x.grad.data, np.cos(x.data * w) * w)


@pytest.mark.parametrize("create_graph", [False, True])
def test_two_variables_of_different_dtypes_each_get_their_own(create_graph):
    a = Variable(np.array([1.0, 2.0], dtype=np.float32))
    b = Variable(np.array([3.0, 4.0], dtype=np.float64))
    y = F.sum(a * b + a)
    y.backward(create_graph=create_graph)
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    if create_graph:  # the cast is part of the recorded graph: a second derivative exists
        ga = a.grad
        a.cleargrad()
        b.cleargrad()
        F.sum(ga).backward()
        assert np.array_equal(b.grad.data, [1.0, 1.0]) and b.grad.dtype == np.float64


def test_a_book_style_function_returning_another_dtype_is_conformed():
    class Half(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return (gy * 2).data.astype(np.float16)

    x = Variable(np.ones(3, dtype=np.float32))
    Half()(x).backward()
    assert x.grad.dtype == np.float32


@pytest.mark.filterwarnings("ignore:Casting complex values to real")
def test_a_complex_constant_still_gives_a_real_variable_a_real_gradient():
    x = Variable(np.array([1.0, 2.0]))
    z = x * 1j  # complex constants are not folded into an elementwise node: the edge is checked
    z.backward()
    assert x.grad.dtype == np.float64


# ------------------------------------------------------------------- special values
def test_x_to_the_0_and_1_have_finite_derivatives_at_0():
    x = Variable(np.array(0.0))
    y = x ** 0
    y.backward(create_graph=True)
    assert x.grad.data == 0.0
    x.cleargrad()
    y = x ** 1
    y.backward(create_graph=True)
    g = x.grad
    assert g.data == 1.0
    x.cleargrad()
    g.backward()
    assert x.grad is None or x.grad.data == 0.0
    assert gradient_check(lambda v: v ** 1, np.array([0.0, 1.5]), order=3)


@pytest.mark.parametrize("op", [F.max, F.min])
def test_max_and_min_send_the_gradient_to_the_nan(op):
    x = Variable(np.array([1.0, np.nan, 3.0]))
    y = op(x)
    assert np.isnan(y.data)
    y.backward()
    assert np.array_equal(x.grad.data, [0.0, 1.0, 0.0])


def test_max_over_an_axis_with_two_nans_shares_between_them():
    x = Variable(np.array([[np.nan, 2.0, np.nan], [1.0, 5.0, 2.0]]))
    F.max(x, axis=1).backward()
    assert np.array_equal(x.grad.data, [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])


@pytest.mark.parametrize("create_graph", [False, True])
def test_max_pooling_sends_the_gradient_to_the_nan(create_graph):
    data = np.arange(16.0).reshape(1, 1, 4, 4)
    data[0, 0, 0, 1] = np.nan
    x = Variable(data)
    y = F.pooling(x, 2, 2)
    assert np.isnan(y.data[0, 0, 0, 0])
    y.backward(create_graph=create_graph)
    g = x.grad.data[0, 0]
    assert g[0, 1] == 1.0 and g[0, 0] == 0.0 and g[1, 1] == 0.0
    assert g.sum() == 4.0


def test_maximum_sends_the_gradient_to_the_nan():
    a = Variable(np.array([np.nan, 1.0]))
    b = Variable(np.array([2.0, np.nan]))
    F.sum(F.maximum(a, b)).backward()
    assert np.array_equal(a.grad.data, [1.0, 0.0]) and np.array_equal(b.grad.data, [0.0, 1.0])


# ------------------------------------------------------------------------- float16
def test_float16_mean_of_70000_halves_is_a_half():
    x = Variable(np.full(70_000, 0.5, dtype=np.float16))
    y = F.mean(x)
    assert y.dtype == np.float16 and y.data == 0.5
    y.backward()
    assert x.grad.dtype == np.float16
    assert np.allclose(x.grad.data.astype(np.float64), 1 / 70_000, rtol=1e-2)


def test_float16_sum_var_and_std_accumulate_in_float32():
    data = np.full(40_000, 0.5, dtype=np.float16)
    data[::2] = 1.5
    x = Variable(data)
    assert F.sum(x).data == np.float16(40_000.0)
    assert F.var(x).data == np.float16(0.25) and F.var(x).dtype == np.float16
    assert F.std(x).data == np.float16(0.5)


def test_float16_batch_and_layer_norm_are_finite_and_right():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((70_000, 2)).astype(np.float16)
    x = Variable(data)
    y = F.batch_norm(x, np.ones(2, np.float16), np.zeros(2, np.float16), np.zeros(2, np.float16),
                     np.ones(2, np.float16))
    assert y.dtype == np.float16 and np.isfinite(y.data).all()
    assert abs(float(y.data.astype(np.float32).mean())) < 1e-2
    F.mean(y * y).backward()
    assert np.isfinite(x.grad.data).all()
    z = F.layer_norm(Variable(data.T.copy()), np.ones(70_000, np.float16), np.zeros(70_000, np.float16))
    assert z.dtype == np.float16 and np.isfinite(z.data).all()


# ------------------------------------------------------------------------- threads
def test_two_threads_backpropagating_into_one_leaf_lose_no_update():
    x = Variable(np.ones(4))
    n = 300

    def work():
        for _ in range(n):
            F.sum(x * 2.0).backward()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.array_equal(x.grad.data, np.full(4, 2.0 * 2 * n))


# ------------------------------------------------------------------------ aliasing
@pytest.mark.parametrize("retain_grad", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
def test_no_two_stored_gradients_share_memory(retain_grad, create_graph):
    a = Variable(np.ones((2, 3)))
    b = Variable(np.ones(3))
    c = Variable(np.ones(6))
    h = a + b + F.reshape(c, (2, 3))
    y = F.sum(h * 1.0)
    y.backward(retain_grad=retain_grad, create_graph=create_graph)
    stored = [v.grad.data for v in (a, b, c) + ((h, y) if retain_grad else ())]
    for i, g in enumerate(stored):
        assert g.flags.writeable
        for other in stored[i + 1:]:
            assert not np.shares_memory(g, other)


def test_an_unchained_output_of_a_two_output_function_keeps_its_own_gradient():
    x = Variable(np.arange(4.0))
    a, b = F.split(x, 2)
    b.unchain()
    (F.sum(a) * 2.0 + F.sum(b) * 3.0).backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0, 0.0, 0.0])
    assert np.array_equal(b.grad.data, [3.0, 3.0])


# ------------------------------------------- found by an adversarial probe of the new walk
@pytest.mark.parametrize("masked", [
    lambda x: F.relu(x), lambda x: F.clip(x, 0.0, 5.0), lambda x: F.maximum(x, np.zeros(2)),
    lambda x: F.where(x.data > 0, x, np.zeros(2)),
])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_an_infinite_gradient_masked_out_leaves_zero_not_nan(masked, create_graph):
    x = Variable(np.array([-1.0, 2.0]))
    F.sum(F.sqrt(masked(x))).backward(create_graph=create_graph)  # sqrt'(0) = inf, masked out
    assert x.grad.data[0] == 0.0 and x.grad.data[1] == pytest.approx(0.5 / np.sqrt(2.0))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_an_infinite_gradient_at_a_non_maximum_leaves_zero():
    x = Variable(np.array([1.0, 5.0]))
    F.sqrt(F.max(x) - 5.0).backward()
    assert x.grad.data[0] == 0.0
    p = Variable(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    F.sum(F.sqrt(F.pooling(p, 2, 2) - 4.0)).backward()
    assert np.array_equal(p.grad.data[0, 0] == 0.0, [[True, True], [True, False]])


@pytest.mark.parametrize("make, shapes", [
    (lambda: Sum(axis=-1), [(2, 3), (2, 3, 4)]),
    (lambda: F.activation.Softmax(axis=-1), [(2, 3), (2, 3, 4)]),
    (lambda: F.combine.Concat(axis=-1), [(2, 3), (2, 3, 4)]),
    (lambda: F.shape.Transpose(), [(2, 3), (2, 3, 4)]),
])
def test_a_reused_function_normalises_its_axis_again_for_each_call(make, shapes):
    f = make()
    for shape in shapes:
        x = Variable(np.random.default_rng(0).standard_normal(shape))
        y = f(x)
        fresh = make()(Variable(x.data.copy()))
        assert y.shape == fresh.shape and np.allclose(y.data, fresh.data)
        F.sum(y * y).backward()
        assert x.grad.shape == shape


def test_clip_and_leaky_relu_parameters_cannot_change_the_gradients_shape_or_dtype():
    x = Variable(np.ones(3, np.float32))
    F.sum(F.clip(x, np.float64(0), np.float64(2))).backward()
    assert x.grad.dtype == np.float32
    with pytest.raises(ValueError, match="clip: bounds of shapes"):
        F.clip(Variable(np.ones(3)), np.zeros((2, 3)), 1.0)
    with pytest.raises(TypeError, match="leaky_relu: slope must be a number"):
        F.leaky_relu(x, np.array([0.1, 0.2, 0.3]))
    with pytest.raises(TypeError, match="clip: the bounds must be numbers or arrays"):
        F.clip(x, Variable(np.array(0.0)), 1.0)


def test_a_user_elementwise_function_returning_a_tuple_is_unwrapped():
    class Twice(Function):
        elementwise = True

        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return (gy * 2,)

    x = Variable(np.ones(3))
    F.sum(Twice()(x)).backward()
    assert x.grad.shape == (3,) and np.all(x.grad.data == 2.0)


def test_a_float64_seed_for_a_float32_output_is_converted_in_both_walks():
    for create_graph in (False, True):
        x = Variable(np.ones(3, np.float32))
        y = F.exp(x)
        y.grad = Variable(np.ones(3))
        y.backward(create_graph=create_graph)
        assert x.grad.dtype == np.float32


def test_a_seed_given_as_an_array_is_accepted_and_others_are_refused():
    y = F.exp(Variable(np.ones(2)))
    y.grad = np.ones(2)  # DeZero's early steps do this
    y.backward()
    y.grad = 1.0
    with pytest.raises(TypeError, match="y.grad must be a Variable or an array"):
        y.backward()


def test_in_place_accumulation_never_casts_a_total_down():
    x = Variable(np.array([1, 2, 3]))  # an integer variable keeps gradients of their own dtype
    F.sum(x * x + (x * 0.5).astype(np.int64)).backward()
    assert x.grad.dtype.kind == "f" or np.array_equal(x.grad.data, 2 * x.data)


@pytest.mark.parametrize("create_graph", [False, True])
def test_an_array_a_book_style_backward_keeps_is_copied_before_it_is_stored(create_graph):
    kept = np.ones(3)

    class Keeps(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return kept

    x = Variable(np.ones(3))
    Keeps()(x).backward(create_graph=create_graph)
    x.grad.data[0] = 99.0
    assert kept[0] == 1.0


def test_retain_grad_leaves_an_unused_output_without_a_gradient():
    x = Variable(np.arange(4.0))
    a, b = F.split(x, 2)
    F.sum(a).backward(retain_grad=True)
    assert b.grad is None and np.array_equal(a.grad.data, [1.0, 1.0])


@pytest.mark.parametrize("call, message", [
    (lambda: F.add(Variable(np.ones(3)), Variable(np.ones(4))), r"add: shapes \(3,\) and \(4,\) do not broadcast"),
    (lambda: Variable(np.ones(3)) * np.ones(4), r"mul: shapes \(3,\) and \(4,\) do not broadcast"),
    (lambda: F.maximum(Variable(np.ones(3)), np.ones(4)), r"maximum: shapes \(3,\) and \(4,\)"),
    (lambda: F.where(np.ones(3, bool), Variable(np.ones(3)), np.ones(4)), "where: shapes"),
    (lambda: F.swapaxes(Variable(np.array(1.0)), 0, 1), "swapaxes: axis 0 is out of range"),
    (lambda: F.split(Variable(np.ones(4)), 2, axis=1), "split: axis 1 is out of range"),
    (lambda: F.lstm(np.ones(3), np.ones((1, 2)), np.ones((1, 2)), np.ones((3, 8)), np.ones((2, 8)), np.ones(8)),
     "lstm: x of shape"),
    (lambda: F.lstm(np.ones((1, 3)), np.ones((1, 2)), np.ones((2, 2)), np.ones((3, 8)), np.ones((2, 8)),
                    np.ones(8)), r"lstm: h and c must have shape \(1, 2\)"),
    (lambda: F.accuracy(np.ones(3), np.ones(3, int)), "accuracy: expected scores of shape"),
])
def test_bad_shapes_are_errors_that_name_the_op(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------- found by a second probe
def test_logsumexp_and_log_softmax_of_integers_are_not_truncated():
    assert F.logsumexp(Variable(np.array([1, 2, 3]))).data == pytest.approx(3.4076059644443806)
    x = Variable(np.array([[1.0, 2.0, 3.0]]))
    F.sum(F.logsumexp(x, axis=1)).backward()
    assert x.grad.data.sum() == pytest.approx(1.0)


def test_a_user_elementwise_function_returning_a_list_is_unwrapped():
    class Twice(Function):
        array_backward = True
        elementwise = True

        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return [gy * 2]

    for create_graph in (False, True):
        x = Variable(np.ones(3))
        F.sum(F.sin(Twice()(F.sin(x)))).backward(create_graph=create_graph)
        assert x.grad.shape == (3,)


def test_an_input_a_book_style_backward_returns_is_copied_in_the_recorded_walk():
    class ReturnsAnInput(Function):
        def forward(self, x, w):
            return x * w

        def backward(self, gy):
            x, w = self.inputs
            return w, x

    from zerograd import Parameter
    x, w = Variable(np.ones(2)), Parameter(np.full(2, 3.0))
    F.sum(ReturnsAnInput()(x, w)).backward(create_graph=True)
    assert x.grad is not w and x.grad.dtype == np.float64 and np.array_equal(x.grad.data, [3.0, 3.0])


def test_dual_sum_to_and_broadcast_to_take_parameters():
    from zerograd import Parameter
    from zerograd.functions import dual as D

    class Scale(Function):
        array_backward = True

        def forward(self, x, g):
            return x * g

        def backward(self, gy):
            return gy * D.broadcast_to(self.input(1), gy.shape), D.sum_to(gy * self.input(0), self.input(1).shape)

    for create_graph in (False, True):
        g = Parameter(np.arange(3.0))
        x = Variable(np.ones((2, 3)))
        F.sum(Scale()(x, g)).backward(create_graph=create_graph)
        assert np.array_equal(g.grad.data, [2.0, 2.0, 2.0]) and np.array_equal(x.grad.data, [[0, 1, 2]] * 2)


def test_a_converted_seed_keeps_its_own_gradient_under_create_graph():
    x = Variable(np.ones(3, np.float32))
    y = x * 2.0
    v = Variable(np.full(3, 2.0))  # a float64 seed that itself requires a gradient
    y.grad = v
    y.backward(create_graph=True)
    assert x.grad.dtype == np.float32
    F.sum(x.grad).backward()
    assert v.grad is not None and np.array_equal(v.grad.data, [2.0, 2.0, 2.0])


@pytest.mark.parametrize("axis, error, message", [
    ((0, 0), ValueError, "names an axis twice"), (0.5, TypeError, "axis must be None, an int or a tuple"),
    ("a", TypeError, "axis must be None"),
])
def test_bad_axes_are_clear_errors(axis, error, message):
    with pytest.raises(error, match=message):
        F.sum(Variable(np.ones((2, 3))), axis=axis)


def test_a_reshape_to_non_integers_is_a_clear_error():
    with pytest.raises(TypeError, match="reshape: the shape must be integers"):
        Variable(np.ones(6)).reshape(3.9, 2)
