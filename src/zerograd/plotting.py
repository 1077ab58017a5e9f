"""Pictures of training: learning curves and decision boundaries (matplotlib, imported when used)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from zerograd.config import no_grad, test_mode


class PlottingUnavailable(ImportError):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlottingUnavailable("plots need matplotlib: pip install matplotlib (or pip install 'zerograd[plot]')") \
            from None
    return plt


def _save(plt, fig, path: str, title: str = "", suptitle: bool = False) -> str:
    """Title, lay out, write the PNG and release the figure."""
    if title:
        (fig.suptitle if suptitle else fig.axes[0].set_title)(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def learning_curve(history: Sequence[dict], path: str, title: str = "") -> str:
    """Train and test loss (and accuracy, when present) per epoch, saved as a PNG."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    has_acc = any(row.get("test_accuracy") is not None for row in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5, 4))
    for ax, metric in zip(np.atleast_1d(axes), ("loss", "accuracy") if has_acc else ("loss",)):
        for split in ("train", "test"):
            ax.plot(epochs, [r[f"{split}_{metric}"] for r in history], label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    return _save(plt, fig, path, title, suptitle=True)


def decision_boundary(model: Any, x: np.ndarray, t: np.ndarray, path: str, title: str = "") -> str:
    """The class the model predicts over the plane, with the data points on top, as a PNG."""
    plt = _pyplot()
    pad = 0.2
    x0 = np.linspace(x[:, 0].min() - pad, x[:, 0].max() + pad, 300)
    x1 = np.linspace(x[:, 1].min() - pad, x[:, 1].max() + pad, 300)
    g0, g1 = np.meshgrid(x0, x1)
    grid = np.c_[g0.ravel(), g1.ravel()].astype(x.dtype)
    with no_grad(), test_mode():
        scores = model(grid).data
    predicted = scores.argmax(axis=1).reshape(g0.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    n_classes = scores.shape[1]
    colors = [plt.cm.tab10(c % 10) for c in range(n_classes)]  # the same colour for a class's region and points
    ax.contourf(g0, g1, predicted, alpha=0.25, levels=np.arange(n_classes + 1) - 0.5, colors=colors)
    markers = "ox^sv*"
    for c in range(int(t.max()) + 1):
        ax.scatter(x[t == c, 0], x[t == c, 1], s=15, marker=markers[c % len(markers)], color=colors[c],
                   label=f"class {c}")
    ax.legend(loc="upper right")
    return _save(plt, fig, path, title)


def curve_prediction(target: np.ndarray, predicted: np.ndarray, path: str, title: str = "") -> str:
    """A target curve and the model's one-step predictions, as a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(target, label="target")
    ax.plot(predicted, label="predicted")
    ax.legend()
    return _save(plt, fig, path, title)


def image_grid(images: np.ndarray, path: str, image_shape: tuple = (28, 28), title: str = "") -> str:
    """Gray images (one per row of ``images``) tiled in a square grid, as a PNG."""
    plt = _pyplot()
    n = int(np.ceil(np.sqrt(len(images))))
    fig, axes = plt.subplots(n, n, figsize=(n, n))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, img in zip(np.ravel(axes), images):
        ax.imshow(np.asarray(img).reshape(image_shape), cmap="gray")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
