"""Attention and the GPT tried adversarially (each case once gave a wrong answer or a poor message)."""
import numpy as np
import pytest

import zerograd as zg
import zerograd.functions as F
import zerograd.layers as L
from zerograd.models import GPT


def _gpt(vocab=11):
    np.random.seed(0)
    model = GPT(vocab, 8, 1, 2, 8)
    with zg.no_grad():
        model(np.zeros((1, 1), np.int64))
    return model


def test_a_tiny_temperature_is_greedy_not_token_zero():
    model = _gpt()
    prompt = np.array([[1]])
    greedy = model.generate(prompt, 4, top_k=1)
    assert np.array_equal(model.generate(prompt, 4, temperature=1e-320), greedy)


def test_non_finite_logits_are_an_error():
    model = _gpt()
    model.lm_head.b.data[:] = np.nan
    with pytest.raises(ValueError, match="logits are not finite"):
        model.generate(np.array([[1]]), 2)


def test_generated_ids_do_not_wrap_in_the_prompts_dtype():
    model = _gpt(vocab=300)
    model.lm_head.b.data[:] = 0
    model.lm_head.b.data[290] = 100  # (token 290 is all it can say)
    ids = model.generate(np.array([[1]], np.uint8), 2)
    assert ids.dtype == np.int64 and ids.tolist() == [[1, 290, 290]]


def test_float16_attention_does_not_overflow_before_scaling():
    q = np.full((1, 2, 64), 40.0, np.float16)
    k = np.full((1, 2, 64), 40.0, np.float16)
    v = np.ones((1, 2, 4), np.float16)
    y = F.scaled_dot_product_attention(q, k, v).data
    assert y.dtype == np.float16 and np.array_equal(y, np.ones((1, 2, 4), np.float16))


def test_heads_must_be_integers():
    with pytest.raises(TypeError, match="n_embd and n_head must be integers"):
        L.MultiHeadAttention(8, 2.0)


def test_a_batch_larger_than_the_text_is_refused(tmp_path, cache, shared_file, capsys, monkeypatch):
    from zerograd.cli import main
    from zerograd.training import LanguageTask
    folder = cache / "datasets" / "shakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").symlink_to(shared_file("tinyshakespeare", "input.txt"))
    monkeypatch.setattr(LanguageTask, "ITERATIONS", 2)
    assert main(["train", "--dataset", "shakespeare", "--hidden", "8", "--batch-size", str(10 ** 12),
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "is more than the" in capsys.readouterr().err and not (tmp_path / "run").exists()
