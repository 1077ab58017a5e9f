"""The main job's language model: zerograd train --dataset shakespeare (a GPT) and zerograd sample."""
import csv

import numpy as np
import pytest

from zerograd.cli import main
from zerograd.training import LanguageTask


@pytest.fixture
def shakespeare_home(cache, shared_file, monkeypatch):
    """A zerograd cache holding the shared Tiny Shakespeare, and epochs of a few iterations."""
    folder = cache / "datasets" / "shakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").symlink_to(shared_file("tinyshakespeare", "input.txt"))
    monkeypatch.setattr(LanguageTask, "ITERATIONS", 4)
    monkeypatch.setattr(LanguageTask, "WARMUP", 3)
    monkeypatch.setattr(LanguageTask, "EVAL_BATCHES", 2)
    return cache


def _rows(path):
    with open(path / "metrics.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def _train(out, *extra):
    return main(["train", "--dataset", "shakespeare", "--hidden", "8", "--out", str(out), "--no-progress", *extra])


def test_train_prints_samples_and_the_loss_falls(shakespeare_home, tmp_path, capsys):
    assert _train(tmp_path / "run", "--epochs", "3", "--lr", "0.01") == 0
    out = capsys.readouterr().out
    assert "training GPT on shakespeare" in out and out.count("sample: ") == 3
    rows = _rows(tmp_path / "run")
    assert len(rows) == 3 and float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert (tmp_path / "run" / "learning_curve.png").exists()


def test_compiled_training_and_resume_give_the_same_numbers(shakespeare_home, tmp_path):
    _train(tmp_path / "whole", "--epochs", "2")
    _train(tmp_path / "compiled", "--epochs", "2", "--compile")
    _train(tmp_path / "resumed", "--epochs", "1")
    main(["train", "--out", str(tmp_path / "resumed"), "--resume", "--epochs", "2", "--no-progress"])
    whole = _rows(tmp_path / "whole")
    assert _rows(tmp_path / "compiled") == whole and _rows(tmp_path / "resumed") == whole


def test_sample_is_deterministic_under_a_seed(shakespeare_home, tmp_path, capsys):
    _train(tmp_path / "run", "--epochs", "1")
    capsys.readouterr()
    texts = []
    for seed in ("3", "3", "4"):
        assert main(["sample", str(tmp_path / "run"), "--prompt", "ROMEO:", "--tokens", "30", "--seed", seed]) == 0
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] != texts[2] and texts[0].startswith("ROMEO:") and len(texts[0]) == 6 + 30 + 1


@pytest.mark.parametrize("argv, message", [
    (["--prompt", "é"], "does not know: 'é'"),
    (["--temperature", "0"], "--temperature above 0"),
    (["--top-k", "0"], "--top-k at least 1"),
])
def test_sample_refuses_bad_options_with_one_line(shakespeare_home, tmp_path, capsys, argv, message):
    _train(tmp_path / "run", "--epochs", "1")
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_sample_needs_a_language_run_and_gpt_needs_heads_to_divide_hidden(shakespeare_home, tmp_path, capsys):
    main(["train", "--epochs", "1", "--out", str(tmp_path / "spiral"), "--no-progress"])
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "spiral")]) == 2
    assert "sample needs a language model" in capsys.readouterr().err
    assert _train(tmp_path / "bad", "--hidden", "6") == 2
    assert "multiple of the 4 attention heads" in capsys.readouterr().err


def test_the_learning_rate_warms_up_then_decays_to_a_tenth():
    from zerograd import optimizers

    class Config:
        epochs, lr = 2, 1e-3

    task = LanguageTask.__new__(LanguageTask)
    task.config = Config
    task.configure(optimizers.AdamW(Config.lr))
    lrs = [task.schedule.lr_at(i) for i in range(2 * LanguageTask.ITERATIONS + 5)]
    assert lrs[0] == pytest.approx(1e-5) and lrs[LanguageTask.WARMUP] == pytest.approx(1e-3)
    assert lrs[-1] == pytest.approx(1e-4) and np.all(np.diff(lrs[LanguageTask.WARMUP:]) <= 1e-15)


def test_keep_freed_memory_says_whether_it_took_effect():
    import sys

    from zerograd.backend import keep_freed_memory
    assert keep_freed_memory() is (sys.platform.startswith("linux") and keep_freed_memory())
