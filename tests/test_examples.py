"""Every example runs, in a tiny setting."""
import importlib.util
import os

import numpy as np

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spiral_mlp_prints_the_books_first_epoch():
    history = load("spiral_mlp").main(["--epochs", "3", "--quiet"])
    (train_loss, train_acc), (test_loss, test_acc) = history[0]
    assert round(train_loss, 4) == 1.0944 and round(train_acc, 4) == 0.4033
    assert round(test_loss, 4) == 1.0468 and round(test_acc, 4) == 0.3267
    assert round(history[2][1][1], 4) == 0.6233  # epoch 3 test accuracy, as in the book


def test_sine_lstm():
    mse = load("sine_lstm").main(["--epochs", "2", "--hidden", "10"])
    assert np.isfinite(mse)


def test_tanh_derivatives(tmp_path):
    path = load("tanh_derivatives").main(["--order", "2", "--out", str(tmp_path / "t")])
    assert open(path).read().startswith("digraph")
    values = load("tanh_derivatives").derivatives(np.array([0.5]), 2)
    t = np.tanh(0.5)
    assert np.allclose(values[2], -2 * t * (1 - t * t))


def test_mnist_mlp(mnist_home):
    acc = load("mnist_mlp").main(["--epochs", "1", "--hidden", "20", "--limit", "500"])
    assert 0.0 <= acc <= 1.0


def test_mnist_cnn(mnist_home):
    acc = load("mnist_cnn").main(["--epochs", "1", "--limit", "200"])
    assert 0.0 <= acc <= 1.0


def test_gan(mnist_home, tmp_path):
    loss_d, loss_g = load("gan_mnist").main(["--iterations", "3", "--limit", "200", "--out",
                                             str(tmp_path / "g.png")])
    assert np.isfinite(loss_d) and np.isfinite(loss_g)
    assert (tmp_path / "g.png").exists()


def test_vae(mnist_home, tmp_path):
    loss = load("vae_mnist").main(["--epochs", "1", "--limit", "200", "--out", str(tmp_path / "v.png")])
    assert np.isfinite(loss) and (tmp_path / "v.png").exists()
