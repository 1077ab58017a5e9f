"""MultiHeadAttention and TransformerBlock: shapes, heads, causality, dropout, gradients."""
import numpy as np
import pytest

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd import Variable
from zerograd.utils import gradient_check


def x_of(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def by_hand(mha, x):
    """Multi-head attention with one loop over heads in NumPy (what the layer does batched)."""
    W, b = mha.c_attn.W.data, mha.c_attn.b.data
    q, k, v = np.split(x @ W + b, 3, axis=-1)
    H, T = mha.n_head, x.shape[1]
    D = x.shape[-1] // H
    heads = []
    for h in range(H):
        s = q[..., h * D:(h + 1) * D] @ np.swapaxes(k[..., h * D:(h + 1) * D], -1, -2) / np.sqrt(D)
        if mha.causal:
            s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
        w = np.exp(s - s.max(-1, keepdims=True))
        heads.append((w / w.sum(-1, keepdims=True)) @ v[..., h * D:(h + 1) * D])
    return np.concatenate(heads, axis=-1) @ mha.c_proj.W.data + mha.c_proj.b.data


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_a_loop_over_heads(causal):
    mha = L.MultiHeadAttention(12, 3, causal=causal, dtype=np.float64)
    x = x_of(2, 5, 12, dtype=np.float64)
    assert np.allclose(mha(x).data, by_hand(mha, x), atol=1e-12)


def test_shapes_dtypes_and_parameters():
    mha = L.MultiHeadAttention(16, 4)
    y = mha(Variable(x_of(3, 7, 16)))
    assert y.shape == (3, 7, 16) and y.dtype == np.float32
    assert [k for k, _ in mha.named_params()] == ["c_attn/W", "c_attn/b", "c_proj/W", "c_proj/b"]
    block = L.TransformerBlock(16, 4)
    x = Variable(x_of(3, 7, 16))
    y = block(x)
    assert y.shape == (3, 7, 16) and y.dtype == np.float32
    F.sum(y).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in block.params())
    # ln1 2C, qkv C*3C+3C, proj C*C+C, ln2 2C, mlp C*4C+4C + 4C*C+C
    C = 16
    assert sum(p.data.size for p in block.params()) == 12 * C * C + 13 * C


def _changed_after(x, t, seed=1):
    x2 = x.copy()
    x2[:, t + 1:] = x_of(*x2[:, t + 1:].shape, dtype=x.dtype, seed=seed)
    return x2


@pytest.mark.parametrize("layer", [lambda: L.MultiHeadAttention(8, 2, causal=True), lambda: L.TransformerBlock(8, 2)])
def test_causal_layers_never_look_ahead(layer):
    f = layer()
    x = x_of(2, 6, 8)
    for t in range(5):
        y, y2 = f(x).data, f(_changed_after(x, t)).data
        assert np.allclose(y[:, :t + 1], y2[:, :t + 1], rtol=0, atol=1e-6)
        assert not np.allclose(y[:, t + 1:], y2[:, t + 1:])


def test_non_causal_attention_does_look_ahead():
    f = L.MultiHeadAttention(8, 2)
    x = x_of(2, 6, 8)
    assert not np.allclose(f(x).data[:, :2], f(_changed_after(x, 2)).data[:, :2])


def test_gradients_of_the_layers_in_float64():
    mha = L.MultiHeadAttention(6, 2, causal=True, dtype=np.float64)
    block = L.TransformerBlock(4, 2, dtype=np.float64)
    assert gradient_check(mha, x_of(2, 3, 6, dtype=np.float64), order=2)
    assert gradient_check(block, x_of(2, 3, 4, dtype=np.float64))


def test_dropout_only_in_training():
    block = L.TransformerBlock(8, 2, dropout=0.3)
    x = x_of(2, 5, 8)
    assert not np.allclose(block(x).data, block(x).data)
    with zerograd.test_mode():
        assert np.array_equal(block(x).data, block(x).data)
        plain = L.TransformerBlock(8, 2)
        plain.load_state_dict(block.state_dict())
        assert np.allclose(block(x).data, plain(x).data)


def test_clear_errors():
    with pytest.raises(ValueError, match=r"MultiHeadAttention: n_embd \(10\) must be a multiple of n_head \(4\)"):
        L.MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match=r"expected an input of shape \(B, T, 8\), got \(2, 5, 6\)"):
        L.MultiHeadAttention(8, 2)(x_of(2, 5, 6))
    with pytest.raises(ValueError, match=r"MultiHeadAttention: expected an input of shape"):
        L.MultiHeadAttention(8, 2)(x_of(5, 8))
    with pytest.raises(ValueError, match=r"TransformerBlock: dropout must lie in \[0, 1\)"):
        L.TransformerBlock(8, 2, dropout=1.5)
