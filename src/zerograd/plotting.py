"""Pictures of training: learning curves and decision boundaries (matplotlib, imported when used).

Everything is drawn on ``matplotlib.figure.Figure`` objects and written with ``Figure.savefig``:
pyplot is never imported and the user's matplotlib backend is never switched (so a notebook's
inline or interactive backend keeps working after zerograd draws a picture).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from zerograd.config import no_grad, test_mode

_INSTALL_HINT = "plots need matplotlib: pip install matplotlib (or pip install 'zerograd[plot]')"
_DPI = 100
_GRID_POINTS = 200  # per axis, for the decision boundary
_MARKER = {"marker": "o", "markersize": 3}  # so that a short curve (one epoch) still shows its points
_MARKED_UP_TO = 60  # epochs; beyond, markers only clutter the line


class PlottingUnavailable(ImportError):
    """matplotlib is not installed."""


def new_figure(figsize: tuple = (6, 4), **kwargs):
    """A new ``matplotlib.figure.Figure``, not registered with pyplot (no backend is chosen or changed).

    Draw on it with ``fig.subplots(...)`` and write it with ``fig.savefig(path, dpi=...)``; it is
    freed like any Python object, so there is nothing to close. Raises ``PlottingUnavailable``
    when matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlottingUnavailable(_INSTALL_HINT) from None
    return Figure(figsize=figsize, **kwargs)


def _colors(n: int) -> list:
    """The first ``n`` colours of matplotlib's tab10 palette (cycled)."""
    import matplotlib

    try:
        cmap = matplotlib.colormaps["tab10"]
    except AttributeError:  # matplotlib < 3.5
        import matplotlib.cm

        cmap = matplotlib.cm.get_cmap("tab10")  # type: ignore[attr-defined, unused-ignore]
    return [cmap(i % 10) for i in range(n)]


def _fit_margins(fig, titled: bool, suptitle: bool = False) -> None:
    """Fixed margins, in inches, that leave room for tick labels, axis labels and a title.

    Unlike ``tight_layout`` or a constrained layout, this measures no text before drawing (about
    0.1 s saved on the learning curve plus decision boundary); the figures here have known, simple contents.
    """
    width, height = fig.get_size_inches()
    n_cols = max(1, len({ax.get_subplotspec().colspan.start for ax in fig.axes if ax.get_subplotspec()}))
    left, right, bottom, gap = 0.8, 0.25, 0.6, 0.8  # inches
    top = (0.55 if suptitle else 0.4) if titled else 0.2
    axis_width = (width - left - right - gap * (n_cols - 1)) / n_cols
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=gap / axis_width)


def _save(fig, path: str, title: str = "", suptitle: bool = False, dpi: int = _DPI) -> str:
    """Title, lay out and write the PNG."""
    if title:
        (fig.suptitle if suptitle else fig.axes[0].set_title)(title)
    _fit_margins(fig, bool(title), suptitle)
    fig.savefig(path, dpi=dpi)
    return path


def _values(history: Sequence[dict], key: str) -> np.ndarray:
    return np.array([np.nan if row.get(key) is None else row[key] for row in history], dtype=float)


def _learning_curve_figure(history: Sequence[dict]):
    """The figure ``learning_curve`` writes (untitled, not laid out)."""
    epochs = [row["epoch"] for row in history]
    has_acc = any(row.get("test_accuracy") is not None for row in history)
    metrics = ("loss", "accuracy") if has_acc else ("loss",)
    fig = new_figure(figsize=(10 if has_acc else 5, 4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for split in ("train", "test"):
            ax.plot(epochs, _values(history, f"{split}_{metric}"), label=split,
                    **(_MARKER if len(epochs) <= _MARKED_UP_TO else {}))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    return fig


def learning_curve(history: Sequence[dict], path: str, title: str = "") -> str:
    """Train and test loss (and accuracy, when present) per epoch, saved as a PNG."""
    return _save(_learning_curve_figure(history), path, title, suptitle=True)


def _decision_boundary_figure(model: Any, x: np.ndarray, t: np.ndarray):
    """The figure ``decision_boundary`` writes (untitled, not laid out)."""
    x, t = np.asarray(x), np.asarray(t)
    pad = 0.2
    x0 = np.linspace(x[:, 0].min() - pad, x[:, 0].max() + pad, _GRID_POINTS)
    x1 = np.linspace(x[:, 1].min() - pad, x[:, 1].max() + pad, _GRID_POINTS)
    g0, g1 = np.meshgrid(x0, x1)
    grid = np.c_[g0.ravel(), g1.ravel()].astype(x.dtype)
    with no_grad(), test_mode():
        scores = model(grid).data
    predicted = scores.argmax(axis=1).reshape(g0.shape)
    n_classes = max(scores.shape[1], int(t.max()) + 1)
    colors = _colors(n_classes)  # the same colour for a class's region and points
    fig = new_figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.contourf(g0, g1, predicted, alpha=0.25, levels=np.arange(scores.shape[1] + 1) - 0.5,
                colors=colors[:scores.shape[1]])
    markers = "ox^sv*"
    for c in range(int(t.max()) + 1):
        ax.scatter(x[t == c, 0], x[t == c, 1], s=15, marker=markers[c % len(markers)], color=colors[c],
                   label=f"class {c}")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.legend(loc="upper right")
    return fig


def decision_boundary(model: Any, x: np.ndarray, t: np.ndarray, path: str, title: str = "") -> str:
    """The class the model predicts over the plane, with the data points on top, as a PNG."""
    return _save(_decision_boundary_figure(model, x, t), path, title)


def _curve_prediction_figure(target: np.ndarray, predicted: np.ndarray):
    """The figure ``curve_prediction`` writes (untitled, not laid out)."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(np.ravel(target), label="target")
    ax.plot(np.ravel(predicted), label="predicted")
    ax.set_xlabel("time step")
    ax.set_ylabel("value")
    ax.legend()
    return fig


def curve_prediction(target: np.ndarray, predicted: np.ndarray, path: str, title: str = "") -> str:
    """A target curve and the model's one-step predictions, as a PNG."""
    return _save(_curve_prediction_figure(target, predicted), path, title)


def _image_grid_figure(images: np.ndarray, image_shape: tuple = (28, 28)):
    """The figure ``image_grid`` writes (untitled)."""
    n = max(1, int(np.ceil(np.sqrt(len(images)))))
    fig = new_figure(figsize=(n, n))
    axes = fig.subplots(n, n, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, img in zip(axes, images):
        ax.imshow(np.asarray(img).reshape(image_shape), cmap="gray")
    return fig


def image_grid(images: np.ndarray, path: str, image_shape: tuple = (28, 28), title: str = "") -> str:
    """Gray images (one per row of ``images``) tiled in a square grid, as a PNG."""
    fig = _image_grid_figure(images, image_shape)
    if title:
        fig.suptitle(title)
    n = fig.get_size_inches()[1]
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - (0.4 if title else 0.05) / n, wspace=0.1,
                        hspace=0.1)
    fig.savefig(path, dpi=80)
    return path
