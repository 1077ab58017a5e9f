"""Plots are drawn on plain Figures: no pyplot, no backend switch, valid PNGs, labelled axes."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from zerograd import plotting  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def history(epochs=3, accuracy=True):
    return [{"epoch": i, "train_loss": 1.0 / i, "test_loss": 1.2 / i,
             "train_accuracy": 0.5 + 0.1 * i if accuracy else None,
             "test_accuracy": 0.4 + 0.1 * i if accuracy else None, "seconds": 0.01}
            for i in range(1, epochs + 1)]


class Linear2:
    """A stand-in classifier on the plane: 3 classes from fixed linear scores."""

    def __call__(self, x):
        from zerograd import Variable

        return Variable(np.asarray(x) @ np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], dtype=np.asarray(x).dtype))


def spiral_like():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(60, 2)).astype(np.float32)
    t = np.arange(60) % 3
    return x, t


def draw_all(directory):
    """Every public plotting function once; the paths they wrote."""
    x, t = spiral_like()
    curve = np.sin(np.linspace(0, 6, 50))
    return [
        plotting.learning_curve(history(), os.path.join(directory, "lc.png"), title="a title"),
        plotting.learning_curve(history(1, accuracy=False), os.path.join(directory, "lc1.png")),
        plotting.decision_boundary(Linear2(), x, t, os.path.join(directory, "db.png"), title="boundary"),
        plotting.curve_prediction(curve, curve * 0.9, os.path.join(directory, "cp.png"), title="curve"),
        plotting.image_grid(np.random.rand(5, 784), os.path.join(directory, "ig.png"), title="grid"),
    ]


def test_plots_never_switch_the_backend(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("zerograd must not call matplotlib.use")

    monkeypatch.setattr(matplotlib, "use", refuse)
    before = dict.__getitem__(matplotlib.rcParams, "backend")  # read without resolving it
    draw_all(str(tmp_path))
    after = dict.__getitem__(matplotlib.rcParams, "backend")
    assert after == before


def test_plots_do_not_import_pyplot(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        import matplotlib
        matplotlib.rcParams["backend"] = "svg"  # a user's choice, which must survive
        from zerograd import plotting
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_plotting import draw_all
        draw_all({str(tmp_path)!r})
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        assert matplotlib.get_backend().lower() == "svg", matplotlib.get_backend()
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_each_function_writes_a_png(tmp_path):
    for path in draw_all(str(tmp_path)):
        with open(path, "rb") as fh:
            assert fh.read(8) == PNG_MAGIC, path
        assert os.path.getsize(path) > 1000


def test_learning_curve_has_labels_and_markers():
    fig = plotting._learning_curve_figure(history(1))
    loss, accuracy = fig.axes
    assert (loss.get_xlabel(), loss.get_ylabel()) == ("epoch", "loss")
    assert (accuracy.get_xlabel(), accuracy.get_ylabel()) == ("epoch", "accuracy")
    for ax in fig.axes:
        lines = ax.get_lines()
        assert len(lines) == 2
        for line in lines:
            assert line.get_marker() not in (None, "", " ", "None")  # one epoch is a visible point
    assert len(plotting._learning_curve_figure(history(accuracy=False)).axes) == 1


def test_other_plots_label_their_axes():
    x, t = spiral_like()
    ax = plotting._decision_boundary_figure(Linear2(), x, t).axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    ax = plotting._curve_prediction_figure(np.zeros(5), np.zeros(5)).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time step", "value")


def test_titles_are_kept(tmp_path):
    fig = plotting._learning_curve_figure(history())
    plotting._save(fig, str(tmp_path / "a.png"), "the title", suptitle=True)
    assert fig._suptitle is not None and fig._suptitle.get_text() == "the title"


def test_new_figure_is_a_plain_figure():
    from matplotlib.figure import Figure

    fig = plotting.new_figure((3, 2))
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (3, 2)


def test_missing_matplotlib_raises_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    with pytest.raises(plotting.PlottingUnavailable, match="pip install matplotlib"):
        plotting.new_figure()
    with pytest.raises(ImportError):
        plotting.learning_curve(history(), "never.png")
