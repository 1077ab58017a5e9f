"""Every differentiable op, checked against central differences in float64 at orders 1 and 2.

CASES is the registry: one entry per op and input configuration. docs/ops.md is the table made
from it; `test_every_public_function_is_covered` keeps the registry complete.
"""
import inspect

import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import gradient_check

rng = np.random.default_rng(12345)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def distinct(*shape):
    """Values far apart (no ties), so max/min/abs/clip are differentiable at the test point."""
    n = int(np.prod(shape)) if shape else 1
    v = (rng.permutation(n) - n / 2 + 0.25) * 0.37
    return v.reshape(shape)


BROADCAST_PAIRS = [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((2, 1, 4), (3, 1)), ((2, 3), ()),
                   ((), (2, 3))]

# (case id, op name for the docs table, function, inputs)
CASES = []


def case(name, fn, *inputs, label=None):
    CASES.append(pytest.param(fn, inputs, id=label or name, marks=[]))
    OP_NAMES.add(name)


OP_NAMES = set()

for op in ("add", "sub", "mul", "div"):
    for a, b in BROADCAST_PAIRS:
        rhs = positive(*b) if op == "div" else randn(*b)
        case(op, getattr(F, op), randn(*a), rhs, label=f"{op}-{a}-{b}")
case("rsub", F.rsub, randn(2, 3), randn(3))
case("rdiv", F.rdiv, positive(2, 3), randn(3))
case("neg", F.neg, randn(2, 3))
case("pow", lambda x: F.pow(x, 3), randn(2, 3))
case("pow", lambda x: F.pow(x, 0.5), positive(4), label="pow-sqrt")
for a, b in BROADCAST_PAIRS:
    case("power", F.power, positive(*a), randn(*b), label=f"power-{a}-{b}")
case("power", lambda e: 2.0 ** e, randn(2, 3), label="power-rpow")
case("power", lambda x, e: x ** e, positive(3), randn(3), label="power-operator")
case("copy", F.copy, randn(3))
for name in ("exp", "sin", "cos", "tanh", "square"):
    case(name, getattr(F, name), randn(2, 3))
case("log", F.log, positive(2, 3))
case("sqrt", F.sqrt, positive(2, 3))

case("reshape", lambda x: F.reshape(x, (3, 2)), randn(2, 3))
case("reshape", lambda x: x.reshape(-1), randn(2, 3), label="reshape-method")
case("transpose", F.transpose, randn(2, 3, 4))
case("transpose", lambda x: F.transpose(x, (1, 0, -1)), randn(2, 3, 4), label="transpose-axes")
case("transpose", lambda x: x.T, randn(2, 3), label="transpose-T")
case("swapaxes", lambda x: F.swapaxes(x, 0, 2), randn(2, 3, 4))
case("expand_dims", lambda x: F.expand_dims(x, 1), randn(2, 3))
case("squeeze", F.squeeze, randn(2, 1, 3))
case("flatten", F.flatten, randn(2, 3, 4))
case("broadcast_to", lambda x: F.broadcast_to(x, (2, 3)), randn(1, 3))
case("sum_to", lambda x: F.sum_to(x, (1, 3)), randn(2, 3))

case("get_item", lambda x: F.get_item(x, 1), randn(3, 4), label="get_item-int")
case("get_item", lambda x: x[1:3, ::2], randn(4, 5), label="get_item-slices")
case("get_item", lambda x: x[..., None, 0], randn(2, 3, 4), label="get_item-ellipsis-none")
case("get_item", lambda x: x[np.array([0, 2, 0, 0])], randn(3, 4), label="get_item-repeated-ints")
case("get_item", lambda x: x[np.array([[True, False, True], [False, True, True]])], randn(2, 3),
     label="get_item-mask")

for axis in (None, 0, 1, (0, 2), -1):
    case("sum", lambda x, axis=axis: F.sum(x, axis=axis), randn(2, 3, 4), label=f"sum-{axis}")
case("sum", lambda x: F.sum(x, axis=1, keepdims=True), randn(2, 3), label="sum-keepdims")
case("mean", lambda x: F.mean(x, axis=(0, 1)), randn(2, 3, 4))
case("average", lambda x: F.average(x, axis=0, keepdims=True), randn(2, 3))
for name in ("max", "min"):
    case(name, lambda x, f=getattr(F, name): f(x), distinct(3, 4), label=f"{name}-all")
    case(name, lambda x, f=getattr(F, name): f(x, axis=1, keepdims=True), distinct(3, 4), label=f"{name}-axis")
case("logsumexp", lambda x: F.logsumexp(x, axis=1), randn(3, 4))
case("logsumexp", F.logsumexp, randn(3, 4), label="logsumexp-all")
case("var", lambda x: F.var(x, axis=0), randn(4, 3))
case("std", lambda x: F.std(x, axis=1, ddof=1), randn(3, 4))

case("matmul", F.matmul, randn(2, 3), randn(3, 4))
case("matmul", F.matmul, randn(2, 2, 3), randn(3, 4), label="matmul-batched-broadcast")
case("matmul", F.matmul, randn(2, 1, 2, 3), randn(3, 3, 2), label="matmul-4d-broadcast")
case("matmul", F.matmul, randn(3), randn(3, 2), label="matmul-vector-left")
case("matmul", F.matmul, randn(2, 3), randn(3), label="matmul-vector-right")
case("dot", F.dot, randn(2, 3), randn(3, 2))
case("linear", F.linear, randn(4, 3), randn(3, 2), randn(2))
case("linear", F.linear, randn(4, 3), randn(3, 2), label="linear-nobias")
case("linear", F.linear, randn(2, 4, 3), randn(3, 2), randn(2), label="linear-3d")

case("concat", lambda a, b: F.concat([a, b], axis=1), randn(2, 3), randn(2, 2))
case("stack", lambda a, b: F.stack([a, b], axis=1), randn(2, 3), randn(2, 3))
case("split", lambda x: F.split(x, [1, 3], axis=1)[0] * F.split(x, [1, 3], axis=1)[2].sum(), randn(2, 5))
case("split", lambda x: F.split(x, 2)[1], randn(4, 2), label="split-one-part-used")
case("where", lambda a, b: F.where(np.array([True, False, True]), a, b), randn(2, 3), randn(2, 1))
case("clip", lambda x: F.clip(x, -0.5, 0.5), distinct(3, 4))
case("maximum", F.maximum, distinct(2, 3), distinct(3) + 0.11)
case("minimum", F.minimum, distinct(2, 3), distinct(2, 1) + 0.11)
case("abs", F.abs, distinct(2, 3))

case("sigmoid", F.sigmoid, randn(2, 3))
case("relu", F.relu, distinct(2, 3))
case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), distinct(2, 3))
case("softmax", F.softmax, randn(3, 4))
case("softmax", lambda x: F.softmax(x, axis=0), randn(3, 4), label="softmax-axis0")
case("log_softmax", F.log_softmax, randn(3, 4))
case("gelu", F.gelu, randn(2, 3))
_ATTN_MASK = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
case("masked_softmax", lambda x: F.masked_softmax(x, _ATTN_MASK), randn(3, 4))
case("masked_softmax", lambda x: F.masked_softmax(x, _ATTN_MASK[:, :1], axis=0), randn(3, 4),
     label="masked_softmax-axis0-broadcast")
case("scaled_dot_product_attention", F.scaled_dot_product_attention, randn(2, 3, 4), randn(2, 4, 4), randn(2, 4, 2))
case("scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True),
     randn(2, 2, 3, 4), randn(2, 2, 3, 4), randn(2, 2, 3, 2), label="scaled_dot_product_attention-causal")
case("scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=_ATTN_MASK),
     randn(2, 3, 4), randn(4, 4), randn(4, 2), label="scaled_dot_product_attention-mask-broadcast")
case("mean_squared_error", F.mean_squared_error, randn(4, 2), randn(4, 2))
case("softmax_cross_entropy", lambda x, t: F.softmax_cross_entropy(x, t), randn(4, 3), np.array([0, 2, 1, 2]))
case("sigmoid_cross_entropy", F.sigmoid_cross_entropy, randn(4, 1), np.array([[0], [1], [1], [0]]))
case("binary_cross_entropy", lambda x: F.binary_cross_entropy(F.sigmoid(x), np.array([0.0, 1.0, 1.0])), randn(3))
case("batch_norm", lambda x, g, b: F.batch_norm(x, g, b, np.zeros(3), np.ones(3)), randn(5, 3), randn(3), randn(3))
case("batch_norm", lambda x, g, b: F.batch_norm(x, g, b, np.zeros(2), np.ones(2)), randn(3, 2, 2, 2), randn(2),
     randn(2), label="batch_norm-4d")
case("layer_norm", F.layer_norm, randn(3, 4), randn(4), randn(4))


def _seeded_dropout(x):
    np.random.seed(7)
    return F.dropout(x, 0.3)


case("dropout", _seeded_dropout, randn(3, 4))
case("embed_id", lambda W: F.embed_id(np.array([[0, 2], [2, 1]]), W), randn(3, 4))

case("conv2d", lambda x, W, b: F.conv2d(x, W, b, stride=1, pad=1), randn(2, 2, 4, 4), randn(3, 2, 3, 3), randn(3))
case("conv2d", lambda x, W: F.conv2d(x, W, stride=2, pad=(1, 0)), randn(1, 2, 5, 4), randn(2, 2, 3, 2),
     label="conv2d-stride2-rectangular")
case("conv2d_simple", lambda x, W, b: F.conv2d_simple(x, W, b, stride=2, pad=1), randn(1, 2, 4, 4),
     randn(2, 2, 3, 3), randn(2))
case("deconv2d", lambda x, W, b: F.deconv2d(x, W, b, stride=2, pad=1), randn(1, 2, 3, 3), randn(2, 3, 3, 3),
     randn(3))
case("im2col", lambda x: F.im2col(x, 3, stride=2, pad=1), randn(1, 2, 4, 4))
case("im2col", lambda x: F.im2col(x, 2, to_matrix=False), randn(1, 2, 3, 3), label="im2col-6d")
case("col2im", lambda c: F.col2im(c, (1, 2, 4, 4), 3, stride=2, pad=1), randn(4, 18))
case("pooling", lambda x: F.pooling(x, 2, 2), distinct(2, 2, 4, 4))
case("pooling", lambda x: F.pooling(x, 3, stride=2, pad=1), distinct(1, 2, 5, 5), label="pooling-overlap-pad")
case("pooling_simple", lambda x: F.pooling_simple(x, 2, 2), distinct(1, 2, 4, 4))
case("average_pooling", lambda x: F.average_pooling(x, 2, 2), randn(1, 2, 4, 4))
case("lstm", lambda x, h, c, Wx, Wh, b: F.lstm(x, h, c, Wx, Wh, b)[0] * 1.5 + F.lstm(x, h, c, Wx, Wh, b)[1],
     randn(3, 2), randn(3, 4), randn(3, 4), randn(2, 16), randn(4, 16), randn(16))
case("lstm", lambda x, h, c, Wx, Wh, b: F.lstm(x, h, c, Wx, Wh, b)[0], randn(2, 2), randn(2, 3), randn(2, 3),
     randn(2, 12), randn(3, 12), randn(12), label="lstm-cell-state-unused")


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("fn, inputs", CASES)
def test_gradient(fn, inputs, order):
    assert gradient_check(fn, *inputs, order=order)


ELEMENTWISE = {"add", "sub", "mul", "div", "rsub", "rdiv", "neg", "pow", "power", "copy", "exp", "sin", "cos", "tanh",
               "square", "log", "sqrt", "sigmoid", "relu", "leaky_relu", "gelu", "abs", "clip", "maximum",
               "minimum", "where"}
THIRD_ORDER = [c for c in CASES if c.id.split("-")[0] in ELEMENTWISE]


def test_third_order_covers_every_elementwise_op():
    assert {c.id.split("-")[0] for c in THIRD_ORDER} == ELEMENTWISE


@pytest.mark.parametrize("fn, inputs", THIRD_ORDER)
def test_third_order_of_elementwise_ops(fn, inputs):
    assert gradient_check(fn, *inputs, order=3)
    assert gradient_check(lambda *xs: F.square(fn(*xs)), *inputs, order=3)


@pytest.mark.parametrize("fn, inputs", CASES)
def test_second_order_through_the_ops_own_backward(fn, inputs):
    """For ops linear in their inputs, order 2 of fn alone never differentiates the op's gradient
    function (its upstream gradient is a constant). Squaring the output makes it do so."""
    assert gradient_check(lambda *xs: F.square(fn(*xs)), *inputs, order=2)


@pytest.mark.parametrize("fn, inputs", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", [1, 2])
def test_each_gradient_has_its_inputs_shape_and_dtype(fn, inputs, dtype, order):
    xs = [Variable(np.asarray(a, dtype=dtype)) if np.issubdtype(np.asarray(a).dtype, np.floating) else a
          for a in inputs]
    variables = [x for x in xs if isinstance(x, Variable)]
    y = fn(*xs)
    assert y.dtype == dtype
    y = F.sum(F.square(y)) if order == 2 else y
    y.backward(create_graph=order == 2)
    if order == 2:
        grads = [x.grad for x in variables]
        for x in variables:
            x.cleargrad()
        F.sum(grads[0] * grads[0]).backward()
    for x in variables:
        if order == 2 and x.grad is None:  # the first gradient may not depend on every input
            continue
        assert x.grad is not None
        assert x.grad.shape == x.shape
        assert x.grad.dtype == dtype


NOT_DIFFERENTIATED = {"argmax", "accuracy", "random_normal"}


def test_every_public_function_is_covered():
    public = {name for name, obj in vars(F).items()
              if not name.startswith("_") and callable(obj) and not inspect.isclass(obj)
              and not inspect.ismodule(obj)}
    missing = public - OP_NAMES - NOT_DIFFERENTIATED
    assert not missing, f"add gradient cases for: {sorted(missing)}"


def test_docs_table_lists_every_public_function():
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "ops.md")
    text = open(path, encoding="utf-8").read()
    public = {name for name, obj in vars(F).items()
              if not name.startswith("_") and callable(obj) and not inspect.isclass(obj)
              and not inspect.ismodule(obj)}
    missing = [name for name in sorted(public) if f"`{name}`" not in text]
    assert not missing, f"docs/ops.md does not list: {missing}"
