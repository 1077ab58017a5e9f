import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from zerograd.cli import main


def run(*argv):
    return main(list(argv))


def test_train_defaults_to_the_books_spiral_mlp(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("train", "--out", str(out), "--epochs", "3") == 0
    text = capsys.readouterr().out
    assert "training MLP on spiral: 3 epochs, batch 30, sgd lr 1.0, hidden 10" in text
    # the book's step 50, first epoch
    assert "epoch    1: train loss 1.0944, accuracy 0.4033 | test loss 1.0468, accuracy 0.3267" in text
    for name in ("metrics.csv", "best.npz", "checkpoint.npz", "config.json", "learning_curve.png",
                 "decision_boundary.png"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert open(out / "learning_curve.png", "rb").read(4) == b"\x89PNG"
    assert json.load(open(out / "config.json"))["hidden"] == 10


def test_resume_continues_exactly(tmp_path, capsys):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    assert run("train", "--out", str(straight), "--epochs", "4", "--no-progress") == 0
    assert run("train", "--out", str(resumed), "--epochs", "2", "--no-progress") == 0
    assert run("train", "--out", str(resumed), "--epochs", "4", "--resume") == 0
    assert "resuming from epoch 2 of 4" in capsys.readouterr().out
    a = list(csv.DictReader(open(straight / "metrics.csv")))
    b = list(csv.DictReader(open(resumed / "metrics.csv")))
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in a] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in b]
    ca, cb = np.load(straight / "checkpoint.npz"), np.load(resumed / "checkpoint.npz")
    assert sorted(ca.files) == sorted(cb.files)
    for key in ca.files:
        assert np.array_equal(ca[key], cb[key]), key


def test_resume_refuses_changed_options(tmp_path, capsys):
    out = tmp_path / "r"
    run("train", "--out", str(out), "--epochs", "1")
    assert run("train", "--out", str(out), "--resume", "--lr", "0.5") == 2
    assert "--lr 0.5 differs" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "spiral", "--model", "cnn"], "model 'cnn' does not fit dataset 'spiral'"),
    (["train", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--lr", "-1"], "--lr must be positive"),
    (["train", "--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--resume"], "no earlier run"),
])
def test_bad_arguments_give_one_line_and_a_nonzero_exit(argv, message, tmp_path, capsys):
    code = run(*argv, "--out", str(tmp_path / "x"))
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_unwritable_folder_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run("train", "--out", str(blocker / "sub")) == 2
    err = capsys.readouterr().err
    assert "cannot write to the output folder" in err and err.count("\n") == 1


def test_a_missing_dataset_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_HOME", str(tmp_path / "empty-cache"))
    from zerograd.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])
    assert run("train", "--dataset", "mnist", "--out", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err
    assert "mnist: 2 file(s) unavailable" in err and "Put the original files by hand" in err
    assert err.count("\n") == 1


def test_mnist_cnn_and_sincurve_lstm_runs(tmp_path, capsys, mnist_home, monkeypatch):
    import zerograd.datasets.mnist as mnist_module

    original = mnist_module.MNIST.prepare

    def small_prepare(self):
        original(self)
        self.data, self.label = self.data[:300], self.label[:300]

    monkeypatch.setattr(mnist_module.MNIST, "prepare", small_prepare)
    assert run("train", "--dataset", "mnist", "--model", "cnn", "--epochs", "1", "--hidden", "20",
               "--out", str(tmp_path / "cnn")) == 0
    assert run("train", "--dataset", "sincurve", "--epochs", "2", "--hidden", "10", "--out",
               str(tmp_path / "lstm")) == 0
    out = capsys.readouterr().out
    assert "CNN on mnist" in out and "LSTM on sincurve" in out
    assert (tmp_path / "lstm" / "prediction.png").exists()


def test_graph_command_writes_dot(tmp_path, capsys):
    assert run("graph", "--out", str(tmp_path), "--format", "dot") == 0
    text = (tmp_path / "graph.dot").read_text()
    assert text.startswith("digraph") and "SoftmaxCrossEntropy" in text and "Linear" in text


def test_demo_and_python_dash_m(tmp_path):
    result = subprocess.run([sys.executable, "-m", "zerograd", "demo"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "gradient = (-5376, 8064)" in result.stdout
    result = subprocess.run([sys.executable, "-m", "zerograd", "train", "--nope"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("zerograd: error:")


def test_resume_keeps_the_runs_own_options(tmp_path, capsys):
    out = tmp_path / "s"
    assert run("train", "--dataset", "sincurve", "--epochs", "1", "--hidden", "8", "--bptt", "10",
               "--out", str(out)) == 0
    assert run("train", "--out", str(out), "--resume", "--epochs", "2") == 0
    assert "LSTM on sincurve: 2 epochs, batch 30, adam lr 0.001, hidden 8" in capsys.readouterr().out
    assert json.load(open(out / "config.json"))["bptt"] == 10
