"""models.GPT: size, shapes, causality, context, training, generation."""
import numpy as np
import pytest

import zerograd
import zerograd.functions as F
from zerograd.models import GPT
from zerograd.optimizers import AdamW


def tiny(**kwargs):
    np.random.seed(0)
    return GPT(**{"vocab_size": 11, "context": 8, "n_layer": 2, "n_head": 2, "n_embd": 16, **kwargs})


def ids(*shape, vocab=11, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape)


def n_params(model):
    return sum(p.data.size for p in model.params())


def test_nanogpt_baby_shakespeare_size():
    model = GPT(65, 64, 4, 4, 128)
    assert n_params(model) == 818_241  # 0.82M: (nanoGPT counts 0.80M, without wpe and with a tied head)
    assert n_params(GPT(65, 64, 4, 4, 128, tie_weights=True)) == 818_241 - (128 * 65 + 65)


def test_logits_shape_and_dtype():
    model = tiny()
    y = model(ids(3, 8))
    assert y.shape == (3, 8, 11) and y.dtype == np.float32
    assert model(ids(3, 5)).shape == (3, 5, 11)
    F.sum(y).backward()
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in model.params())
    assert model.wpe.grad.data[5:].any()


@pytest.mark.parametrize("tie", [False, True])
def test_changing_later_tokens_leaves_earlier_logits_unchanged(tie):
    model = tiny(tie_weights=tie)
    x = ids(2, 8)
    y = model(x).data
    for t in range(7):
        x2 = x.copy()
        x2[:, t + 1:] = (x2[:, t + 1:] + 1 + t) % 11
        y2 = model(x2).data
        assert np.allclose(y[:, :t + 1], y2[:, :t + 1], rtol=0, atol=1e-5)
        assert not np.allclose(y[:, t + 1:], y2[:, t + 1:])


def test_longer_than_the_context_is_refused():
    model = tiny()
    with pytest.raises(ValueError, match="GPT: the input has 9 tokens but the context is 8"):
        model(ids(2, 9))
    with pytest.raises(ValueError, match=r"GPT: expected integer token ids of shape \(B, T\)"):
        model(ids(8))
    with pytest.raises(ValueError, match="GPT: expected integer token ids"):
        model(ids(2, 8).astype(np.float32))


@pytest.mark.parametrize("tie", [False, True])
def test_a_few_adamw_steps_learn_a_repeated_sequence(tie):
    model = tiny(tie_weights=tie, dropout=0.1)
    seq = np.tile(np.array([1, 5, 2, 7, 3]), 4)
    x = np.stack([seq[i:i + 8] for i in range(5)])
    t = np.stack([seq[i + 1:i + 9] for i in range(5)])
    opt = AdamW(lr=1e-2).setup(model)
    losses = []
    for _ in range(30):
        loss = F.softmax_cross_entropy(model(x).reshape(-1, 11), t.reshape(-1))
        model.cleargrads()
        loss.backward()
        opt.update()
        losses.append(float(loss.data))
    assert losses[-1] < 0.5 * losses[0]
    with zerograd.test_mode():
        assert float(F.softmax_cross_entropy(model(x).reshape(-1, 11), t.reshape(-1)).data) < 0.5 * losses[0]


def test_generate_is_repeatable_under_a_seed_and_crops_to_the_context():
    model = tiny(dropout=0.2)
    prompt = ids(2, 10)  # longer than the context: cropped
    np.random.seed(5)
    a = model.generate(prompt, 12)
    np.random.seed(5)
    b = model.generate(prompt, 12)
    assert a.shape == (2, 22) and np.array_equal(a, b) and np.array_equal(a[:, :10], prompt)
    assert a.min() >= 0 and a.max() < 11
    assert model.generate(prompt[0], 3).shape == (13,)
    assert np.array_equal(model.generate(prompt, 0), prompt)


def test_generate_top_k():
    model = tiny()
    prompt = ids(3, 4)
    greedy = model.generate(prompt, 6, top_k=1)
    with zerograd.test_mode(), zerograd.no_grad():
        for i in range(4, 10):
            assert np.array_equal(greedy[:, i], model(greedy[:, max(0, i - 8):i]).data[:, -1].argmax(-1))
    np.random.seed(1)
    out = model.generate(prompt, 6, top_k=3, temperature=2.0)
    with zerograd.test_mode(), zerograd.no_grad():
        for i in range(4, 10):
            top3 = np.argsort(model(out[:, max(0, i - 8):i]).data[:, -1], axis=-1)[:, -3:]
            assert all(out[b, i] in top3[b] for b in range(3))


def test_generate_refusals():
    model = tiny()
    for kwargs, message in [({"temperature": 0.0}, "temperature must be positive"),
                            ({"top_k": 0}, "top_k must be None or a positive int"),
                            ({"max_new_tokens": -1}, "max_new_tokens must be a non-negative int")]:
        with pytest.raises(ValueError, match=f"GPT.generate: {message}"):
            model.generate(ids(1, 3), **{"max_new_tokens": 2, **kwargs})
    with pytest.raises(ValueError, match="GPT.generate: expected integer ids"):
        model.generate(np.zeros((1, 0), int), 2)


def test_weights_save_and_load(tmp_path):
    model = tiny()
    path = tmp_path / "gpt.npz"
    model.save_weights(path)
    other = GPT(11, 8, 2, 2, 16)
    other.load_weights(path)
    x = ids(2, 8)
    assert np.array_equal(model(x).data, other(x).data)
    assert "wpe" in model.state_dict() and "blocks/l1/attn/c_attn/W" in model.state_dict()
