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
    (["train", "--lr", "-1"], "--lr must be a positive finite number, got -1.0"),
    (["train", "--lr", "inf"], "--lr must be a positive finite number, got inf"),
    (["train", "--lr", "nan"], "--lr must be a positive finite number, got nan"),
    (["train", "--seed", "-1"], "--seed must be an integer from 0 to 4294967295, got -1"),
    (["train", "--seed", str(2 ** 32)], "--seed must be an integer from 0 to 4294967295"),
    (["train", "--threads", "0"], "--threads must be at least 1"),
    (["graph", "--hidden", "0"], "--hidden must be at least 1, got 0"),
    (["train", "--resume", "--overwrite"], "choose one"),
    (["train", "--log-every", "0"], "--log-every must be at least 1, got 0"),
    (["train", "--bptt", "5"], "--bptt applies to --dataset sincurve --model lstm only"),
    (["graph", "--hidden", "-3"], "--hidden must be at least 1, got -3"),
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


def test_a_missing_dataset_names_every_missing_file_at_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_HOME", str(tmp_path / "empty-cache"))
    from zerograd.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])
    assert run("train", "--dataset", "mnist", "--out", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err
    assert "mnist: 4 file(s) unavailable" in err and "Put the original files by hand" in err
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        assert name in err
    assert "http://127.0.0.1:9/" in err and "ZEROGRAD_HOME" in err and str(tmp_path / "empty-cache") in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()  # a failed start leaves no empty folder


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


def test_a_folder_holding_a_run_is_refused_unless_resumed_or_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("train", "--out", str(out), "--epochs", "3", "--no-progress") == 0
    (out / "prediction.png").write_bytes(b"another dataset's picture")
    before = (out / "metrics.csv").read_text()
    capsys.readouterr()
    assert run("train", "--out", str(out), "--epochs", "1", "--no-progress") == 2
    err = capsys.readouterr().err
    assert "holds another run" in err and "--resume" in err and "--overwrite" in err and err.count("\n") == 1
    assert (out / "metrics.csv").read_text() == before
    assert run("train", "--out", str(out), "--epochs", "1", "--no-progress", "--overwrite") == 0
    assert len(list(csv.DictReader(open(out / "metrics.csv")))) == 1
    assert not (out / "prediction.png").exists()


def _interrupt_at(monkeypatch, epoch_to_break):
    """Make the epoch numbered ``epoch_to_break`` raise KeyboardInterrupt halfway."""
    from zerograd.training import BatchTask

    original = BatchTask.train_epoch
    calls = {"n": 0}

    def train_epoch(self, loader, optimizer, bar):
        calls["n"] += 1
        if calls["n"] == epoch_to_break:
            for i, _ in enumerate(loader):   # some updates of a partial epoch happen first
                if i == 3:
                    raise KeyboardInterrupt
        return original(self, loader, optimizer, bar)

    monkeypatch.setattr(BatchTask, "train_epoch", train_epoch)


def test_ctrl_c_saves_the_last_complete_epoch_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    straight, broken = tmp_path / "a", tmp_path / "b"
    assert run("train", "--out", str(straight), "--epochs", "5", "--no-progress") == 0
    with monkeypatch.context() as m:
        _interrupt_at(m, 3)
        assert run("train", "--out", str(broken), "--epochs", "5", "--no-progress") == 130
    err = capsys.readouterr().err
    assert f"interrupted during epoch 3: saved epoch 2 in {broken / 'checkpoint.npz'}" in err
    assert f"continue with: zerograd train --out {broken} --resume" in err
    assert sorted(p.name for p in broken.iterdir()) == ["best.npz", "checkpoint.npz", "config.json", "metrics.csv"]
    assert run("train", "--out", str(broken), "--resume") == 0
    a, b = np.load(straight / "checkpoint.npz"), np.load(broken / "checkpoint.npz")
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key
    assert [r["train_loss"] for r in csv.DictReader(open(straight / "metrics.csv"))] == \
        [r["train_loss"] for r in csv.DictReader(open(broken / "metrics.csv"))]


def test_ctrl_c_before_any_epoch_leaves_nothing(tmp_path, capsys, monkeypatch):
    _interrupt_at(monkeypatch, 1)
    out = tmp_path / "new"
    assert run("train", "--out", str(out), "--epochs", "5", "--no-progress") == 130
    assert "no epoch was complete, nothing saved" in capsys.readouterr().err
    assert not out.exists()


def _damage(path, key, value):
    data = dict(np.load(path))
    if value is None:
        del data[key]
    else:
        data[key] = value
    np.savez(path, **data)


@pytest.mark.parametrize("damage, message", [
    (lambda out: _damage(out / "checkpoint.npz", "epoch", None), "it lacks epoch"),
    (lambda out: _damage(out / "checkpoint.npz", "epoch", np.array(-4)), "the epoch count is -4"),
    (lambda out: _damage(out / "checkpoint.npz", "loader/index", np.arange(300) + 5),
     "loader/index is not an order of the 300 training items"),
    (lambda out: _damage(out / "checkpoint.npz", "model/l0/W", np.zeros((3, 3))), "'model/l0/W' has shape (3, 3)"),
    (lambda out: (out / "config.json").write_text("{not json"), "config.json is damaged"),
    (lambda out: (out / "config.json").write_text('{"dataset": "spiral", "colour": 3}'), "unknown settings"),
    (lambda out: (out / "config.json").write_text((out / "config.json").read_text().replace('"epochs": 2',
                                                                                         '"epochs": -2')),
     "config.json is damaged: --epochs must be at least 1"),
    (lambda out: (out / "config.json").write_text("{}"), "config.json is damaged (it lacks batch_size"),
    (lambda out: (out / "metrics.csv").unlink(), "metrics.csv is damaged: it holds 0 epochs where the checkpoint has 2"),
    (lambda out: (out / "metrics.csv").write_text((out / "metrics.csv").read_text()[:-30]),
     "metrics.csv is damaged: it holds 1 epochs"),
    (lambda out: (out / "best.npz").unlink(), "best.npz is damaged: it is missing"),
    (lambda out: (out / "best.npz").write_bytes(b"PK\x03\x04 junk"), "best.npz"),
    (lambda out: _damage(out / "checkpoint.npz", "model/l0/W", np.zeros((2, 10))), "model/l0/W is float64"),
    (lambda out: _damage(out / "checkpoint.npz", "optimizer/t", None), "missing key 't'"),
    (lambda out: (out / "checkpoint.npz").unlink(), "no checkpoint in"),
    (lambda out: (out / "metrics.csv").write_text("epoch,train_loss\nx,y\n"), "metrics.csv is damaged"),
])
def test_damaged_run_files_are_one_line_naming_the_file(tmp_path, capsys, damage, message):
    out = tmp_path / "run"
    assert run("train", "--out", str(out), "--epochs", "2", "--no-progress") == 0
    damage(out)
    capsys.readouterr()
    assert run("train", "--out", str(out), "--resume", "--epochs", "3") != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert str(out) in err and "--overwrite" in err


def test_config_json_is_written_atomically(tmp_path, monkeypatch):
    from zerograd.training import TrainConfig
    path = tmp_path / "config.json"
    TrainConfig().resolved().save(str(path))
    before = path.read_text()

    import zerograd.serialization as S
    monkeypatch.setattr(S.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        TrainConfig(epochs=7).resolved().save(str(path))
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_graph_svg_without_graphviz_is_an_error_that_names_the_dot_file(tmp_path, capsys, monkeypatch):
    import shutil
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert run("graph", "--out", str(tmp_path), "--format", "svg") == 2
    err = capsys.readouterr().err
    assert f"wrote {tmp_path / 'graph.dot'}" in err and "install Graphviz" in err and err.count("\n") == 1
    assert (tmp_path / "graph.dot").exists()


def test_version_and_every_option_shows_its_default(capsys):
    from zerograd import __version__
    with pytest.raises(SystemExit):
        run("--version")
    assert capsys.readouterr().out.strip() == f"zerograd {__version__}"
    for command in ("train", "graph"):
        with pytest.raises(SystemExit):
            run(command, "--help")
        text = capsys.readouterr().out
        options = [line.split()[0] for line in text.splitlines() if line.strip().startswith("--")
                   and not line.strip().startswith("--help")]
        assert options
        body = text.split("options:")[-1]
        for chunk in body.split("\n  --")[1:]:
            if chunk.startswith(("resume", "overwrite", "help", "h,")):
                continue
            assert "default" in chunk, chunk


def test_the_cnn_states_its_real_hidden_size():
    from zerograd.training import TrainConfig
    assert TrainConfig(dataset="mnist", model="cnn").resolved().hidden == 100
    assert TrainConfig(dataset="mnist", model="mlp").resolved().hidden == 1000
    assert TrainConfig(dataset="mnist", model="cnn", hidden=20).resolved().hidden == 20


def test_threads_limits_blas(tmp_path, capsys):
    pytest.importorskip("threadpoolctl")
    assert run("train", "--out", str(tmp_path / "t"), "--epochs", "1", "--threads", "1", "--no-progress") == 0


def test_no_finished_progress_bar_is_left_behind(tmp_path):
    import io
    from zerograd.training import Trainer, TrainConfig, build_task
    config = TrainConfig(epochs=3).resolved()
    np.random.seed(0)
    err, lines = io.StringIO(), []
    import zerograd.progress as P
    original = P.progress_bar

    def bar_on_err(*args, **kwargs):
        kwargs["stream"] = err
        return original(*args, **kwargs)

    import zerograd.training as T
    T.progress_bar, saved = bar_on_err, T.progress_bar
    try:
        Trainer(build_task(config), str(tmp_path), log=lines.append, progress=True).run()
    finally:
        T.progress_bar = saved
    assert len(lines) == 3 and "\n" not in err.getvalue()   # the bar erased itself: no line of it stays


def test_a_real_ctrl_c_in_a_subprocess_saves_and_resumes(tmp_path):
    import signal
    import time
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "zerograd", "train", "--out", str(out), "--epochs", "100000", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        metrics = out / "metrics.csv"
        if metrics.exists() and metrics.read_text().count("\n") >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    saved = int(np.load(out / "checkpoint.npz")["epoch"])
    assert saved >= 3
    assert f"saved epoch {saved} in {out / 'checkpoint.npz'}; continue with: zerograd train --out {out} --resume" \
        in stderr
    assert "Traceback" not in stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no temporary file stays
    result = subprocess.run([sys.executable, "-m", "zerograd", "train", "--out", str(out), "--resume", "--epochs",
                             str(saved + 2), "--no-progress"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and f"resuming from epoch {saved} of {saved + 2}" in result.stdout
    assert len(list(csv.DictReader(open(out / "metrics.csv")))) == saved + 2


def test_out_that_is_empty_or_a_file_is_named(tmp_path, capsys):
    assert run("train", "--out", "") == 2
    assert "--out is empty" in capsys.readouterr().err
    (tmp_path / "f").write_text("x")
    assert run("train", "--out", str(tmp_path / "f")) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_zerograd_alone_shows_the_commands(capsys):
    assert run() == 2
    text = capsys.readouterr().out
    assert "train" in text and "graph" in text and "demo" in text


def test_resume_compares_only_the_options_given(tmp_path, capsys):
    out = tmp_path / "sm"
    assert run("train", "--dataset", "sincurve", "--model", "mlp", "--epochs", "1", "--hidden", "4",
               "--out", str(out), "--no-progress") == 0
    assert "1 epoch, batch" in capsys.readouterr().out
    assert run("train", "--out", str(out), "--resume", "--dataset", "sincurve", "--epochs", "2") == 0
    assert run("train", "--out", str(out), "--resume", "--epochs", "1") == 2
    assert "--epochs 1 is fewer than the 2 epochs" in capsys.readouterr().err


def test_a_diverging_run_stops_with_one_clear_line(tmp_path, capsys):
    out = tmp_path / "d"
    assert run("train", "--out", str(out), "--epochs", "3", "--lr", "1e300", "--no-progress") == 1
    err = capsys.readouterr().err
    assert "epoch 1: the loss is not a finite number" in err and "learning rate (1e+300) is probably too high" in err
    assert err.count("\n") == 1 and "RuntimeWarning" not in err


def test_ctrl_c_while_drawing_keeps_the_run_and_resume_draws_the_plots(tmp_path, capsys, monkeypatch):
    from zerograd import plotting
    out = tmp_path / "p"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(plotting, "learning_curve", interrupted)
        assert run("train", "--out", str(out), "--epochs", "2", "--no-progress") == 130
    assert "training is complete and saved; draw them with: zerograd train --out" in capsys.readouterr().err
    assert not (out / "learning_curve.png").exists()
    assert run("train", "--out", str(out), "--resume") == 0
    assert "drew learning_curve.png, decision_boundary.png" in capsys.readouterr().out
    assert (out / "learning_curve.png").exists()


def test_a_reader_that_goes_away_does_not_stop_training(tmp_path):
    out = tmp_path / "pipe"
    proc = subprocess.Popen([sys.executable, "-m", "zerograd", "train", "--out", str(out), "--epochs", "40",
                             "--log-every", "1", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()                      # as `| head -1` does
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert int(np.load(out / "checkpoint.npz")["epoch"]) == 40
