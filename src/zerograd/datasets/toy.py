"""Datasets generated in memory exactly as the book does: Spiral and SinCurve."""
from __future__ import annotations

import numpy as np

from zerograd.datasets.base import Dataset


def get_spiral(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The book's spiral: 3 classes x 100 points, from NumPy's global generator reseeded
    with 1984 (train) or 2020 (test), then shuffled with one permutation."""
    np.random.seed(1984 if train else 2020)
    num_data, num_class, input_dim = 100, 3, 2
    x = np.zeros((num_data * num_class, input_dim), dtype=np.float32)
    t = np.zeros(num_data * num_class, dtype=np.int64)
    for j in range(num_class):
        for i in range(num_data):
            rate = i / num_data
            radius = 1.0 * rate
            theta = j * 4.0 + 4.0 * rate + np.random.randn() * 0.2
            ix = num_data * j + i
            x[ix] = np.array([radius * np.sin(theta), radius * np.cos(theta)]).flatten()
            t[ix] = j
    indices = np.random.permutation(num_data * num_class)
    return x[indices], t[indices]


class Spiral(Dataset):
    """Three interleaved spirals in 2-D (300 points, labels 0-2); the book's seeded data."""

    def prepare(self) -> None:
        self.data, self.label = get_spiral(self.train)


class SinCurve(Dataset):
    """999 (x_t, x_{t+1}) pairs on 1,000 points of [0, 2 pi]: sin plus uniform noise of +-0.05
    for training, cos for test (the noise is drawn either way, as in the book)."""

    def prepare(self) -> None:
        num_data = 1000
        x = np.linspace(0, 2 * np.pi, num_data)
        noise = np.random.uniform(-0.05, 0.05, size=x.shape)
        y = np.sin(x) + noise if self.train else np.cos(x)
        y = y.astype(np.float64)
        self.data = y[:-1][:, np.newaxis]
        self.label = y[1:][:, np.newaxis]
