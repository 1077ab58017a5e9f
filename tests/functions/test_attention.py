"""scaled_dot_product_attention and masked_softmax: values, masks, gradients (orders 1, 2), dropout, errors."""
import numpy as np
import pytest

import zerograd.functions as F
import zerograd
from zerograd import Variable, no_grad
from zerograd.functions.attention import causal_mask
from zerograd.utils import gradient_check

rng = np.random.default_rng(2024)
sdpa = F.scaled_dot_product_attention


def randn(*shape):
    return rng.standard_normal(shape)


def reference(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d), masked with -inf) v in plain NumPy (rows with no key: zeros)."""
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    w = e / np.where(total == 0, 1.0, total)
    return w @ v


QKV = (randn(2, 3, 4, 5), randn(2, 3, 4, 5), randn(2, 3, 4, 6))


def test_matches_numpy_without_and_with_masks():
    q, k, v = QKV
    assert np.allclose(sdpa(q, k, v).data, reference(q, k, v), atol=1e-12)
    tril = np.tril(np.ones((4, 4), bool))
    assert np.allclose(sdpa(q, k, v, causal=True).data, reference(q, k, v, tril), atol=1e-12)
    pad = rng.random((2, 1, 1, 4)) > 0.3
    pad[..., 0] = True
    assert np.allclose(sdpa(q, k, v, mask=pad).data, reference(q, k, v, pad), atol=1e-12)
    assert np.allclose(sdpa(q, k, v, mask=pad, causal=True).data, reference(q, k, v, pad & tril), atol=1e-12)


def test_batch_axes_broadcast_and_cross_attention_lengths():
    q, k, v = randn(3, 2, 5), randn(1, 7, 5), randn(7, 4)
    assert sdpa(q, k, v).shape == (3, 2, 4)
    assert np.allclose(sdpa(q, k, v).data, reference(q, k, v), atol=1e-12)


def test_causal_with_fewer_queries_aligns_them_to_the_end():
    q, k, v = randn(2, 5), randn(6, 5), randn(6, 3)
    mask = causal_mask(2, 6)
    assert mask.tolist() == [[True] * 5 + [False], [True] * 6]
    assert np.allclose(sdpa(q, k, v, causal=True).data, reference(q, k, v, mask), atol=1e-12)
    # the last query of a causal call over the whole sequence is the same as a one-query call
    qq = randn(6, 5)
    full = sdpa(qq, k, v, causal=True).data
    assert np.allclose(sdpa(qq[-1:], k, v, causal=True).data, full[-1:], atol=1e-12)


def test_masked_positions_get_exactly_zero_weight_and_zero_gradient():
    x = Variable(randn(3, 4) * 50)
    mask = np.array([[True, False, True, False], [False, False, False, True], [True] * 4])
    y = F.masked_softmax(x, mask)
    assert np.all(y.data[~mask] == 0)
    assert np.allclose(y.data.sum(axis=-1), 1)
    F.sum(y * randn(3, 4)).backward()
    assert np.all(x.grad.data[~mask] == 0)


def test_a_fully_masked_row_gives_zeros_and_finite_zero_gradients():
    q, k, v = (Variable(a) for a in (randn(3, 4), randn(5, 4), randn(5, 2)))
    mask = np.ones((3, 5), bool)
    mask[1] = False
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = sdpa(q, k, v, mask=mask)
        assert np.all(y.data[1] == 0) and np.all(np.isfinite(y.data))
        F.sum(y * y + y).backward(create_graph=True)
    assert np.all(q.grad.data[1] == 0)
    for g in (q.grad, k.grad, v.grad):
        assert np.all(np.isfinite(g.data))
    gq = q.grad
    q.cleargrad()
    F.sum(gq * gq).backward()
    assert np.all(np.isfinite(q.grad.data))


def test_inputs_of_any_size_are_stable():
    q, k, v = randn(2, 3) * 1000, randn(4, 3) * 1000, randn(4, 2)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = sdpa(q, k, v, mask=np.array([True, True, False, True]))
    assert np.all(np.isfinite(y.data))


MASK = rng.random((2, 1, 3, 3)) > 0.4
MASK[0, 0, 2] = False  # one fully masked row


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("kind", ["plain", "causal", "mask", "mask-causal", "cross-length"])
def test_gradients_against_central_differences(kind, order):
    shapes = {"cross-length": ((2, 2, 3, 4), (2, 2, 4, 4), (2, 2, 4, 3))}.get(kind, ((2, 2, 3, 4),) * 3)
    q, k, v = (randn(*s) for s in shapes)
    mask = MASK if "mask" in kind else None
    causal = "causal" in kind or kind == "cross-length"

    def f(q, k, v):
        return sdpa(q, k, v, mask=mask, causal=causal)

    assert gradient_check(f, q, k, v, order=order)
    assert gradient_check(lambda *xs: F.square(f(*xs)), q, k, v, order=order)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_masked_softmax_gradients(order):
    mask = rng.random((3, 5)) > 0.4
    mask[1] = False
    assert gradient_check(lambda x: F.square(F.masked_softmax(x, mask)), randn(3, 5), order=order)
    assert gradient_check(lambda x: F.masked_softmax(x, mask[:, :1], axis=0), randn(3, 5), order=order)


def test_float32_stays_float32():
    q, k, v = (Variable(a.astype(np.float32)) for a in QKV)
    y = sdpa(q, k, v, causal=True, dropout=0.5)
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert q.grad.dtype == k.grad.dtype == v.grad.dtype == np.float32


def test_dropout_is_drawn_in_each_forward_and_off_in_test_mode():
    q, k, v = QKV
    a, b = sdpa(q, k, v, dropout=0.5).data, sdpa(q, k, v, dropout=0.5).data
    assert not np.allclose(a, b)
    np.random.seed(3)
    c = sdpa(q, k, v, dropout=0.5).data
    np.random.seed(3)
    assert np.array_equal(c, sdpa(q, k, v, dropout=0.5).data)
    with zerograd.test_mode():
        assert np.array_equal(sdpa(q, k, v, dropout=0.5).data, sdpa(q, k, v).data)


def test_dropout_drops_attention_weights_inside_a_function():
    """The mask is drawn by Dropout.forward (a compiled step replays forwards, so it draws afresh):
    the graph of a dropped call holds a Dropout node between the weights and v."""
    q = Variable(QKV[0])
    y = sdpa(q, *QKV[1:], dropout=0.5)
    names = set()
    stack = [y.creator]
    while stack:
        f = stack.pop()
        names.add(type(f).__name__)
        stack.extend(x.creator for x in f.inputs if x.creator is not None)
    assert {"Dropout", "Softmax", "MatMul"} <= names


def test_gradient_of_dropped_attention():
    def f(q, k, v):
        np.random.seed(11)
        return sdpa(q, k, v, causal=True, dropout=0.3)

    assert gradient_check(f, *(randn(2, 3, 4) for _ in range(3)), order=2)


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((randn(3, 4), randn(5, 3), randn(5, 2)), {}, ValueError, "q of shape (3, 4) and k of shape (5, 3) differ"),
    ((randn(3, 4), randn(5, 4), randn(6, 2)), {}, ValueError, "k of shape (5, 4) and v of shape (6, 2) differ"),
    ((randn(4), randn(5, 4), randn(5, 2)), {}, ValueError, "q must have at least 2 axes"),
    ((randn(2, 3, 4), randn(3, 5, 4), randn(3, 5, 2)), {}, ValueError, "batch axes of q (2, 3, 4)"),
    ((randn(3, 4), randn(5, 4), randn(5, 2)), {"mask": np.ones((3, 4), bool)}, ValueError,
     "mask of shape (3, 4) does not broadcast to the scores' shape (3, 5)"),
    ((randn(3, 4), randn(5, 4), randn(5, 2)), {"mask": np.ones((2, 3, 5), bool)}, ValueError,
     "mask of shape (2, 3, 5) does not broadcast"),
    ((randn(3, 4), randn(5, 4), randn(5, 2)), {"mask": np.ones((3, 5))}, TypeError, "mask must be a boolean"),
    ((randn(3, 4).astype(np.float32), randn(5, 4), randn(5, 2)), {}, TypeError, "same dtype"),
    ((np.ones((3, 4), int), np.ones((5, 4), int), np.ones((5, 2), int)), {}, TypeError, "floating point"),
    ((randn(3, 4), randn(0, 4), randn(0, 2)), {}, ValueError, "no keys"),
    ((randn(3, 0), randn(2, 0), randn(2, 2)), {}, ValueError, "no features"),
    ((randn(3, 4), randn(5, 4), randn(5, 2)), {"dropout": 1.0}, ValueError, "dropout must lie in [0, 1)"),
])
def test_clear_errors(args, kwargs, error, message):
    with pytest.raises(error) as info:
        sdpa(*args, **kwargs)
    assert str(info.value).startswith("scaled_dot_product_attention: ")
    assert message in str(info.value)


def test_masked_softmax_errors():
    with pytest.raises(ValueError, match=r"masked_softmax: mask of shape \(4,\) does not broadcast"):
        F.masked_softmax(randn(3, 5), np.ones(4, bool))
    with pytest.raises(TypeError, match="masked_softmax: mask must be a boolean"):
        F.masked_softmax(randn(3, 5), np.ones(5, int))


def test_against_torch_when_installed():
    torch = pytest.importorskip("torch")
    q, k, v = QKV
    mask = rng.random((2, 1, 4, 4)) > 0.3
    mask[..., 0] = True  # (torch gives NaN for a fully masked row)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    for kwargs, tkw in [({}, {}), ({"causal": True}, {"is_causal": True}),
                        ({"mask": mask}, {"attn_mask": torch.from_numpy(mask)})]:
        expected = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw).numpy()
        with no_grad():
            assert np.allclose(sdpa(q, k, v, **kwargs).data, expected, atol=1e-10)
