"""The small models ``zerograd train`` trains: a CNN for 28x28 images and an LSTM regressor."""
from __future__ import annotations

from typing import Any

import zerograd.functions as F
import zerograd.layers as L
from zerograd.core import Variable
from zerograd.models.base import Model


class CNN(Model):
    """conv 3x3 (16) -> ReLU -> pool 2 -> conv 3x3 (32) -> ReLU -> pool 2 -> linear ``hidden`` -> ReLU
    -> linear ``classes``. For (N, 1, 28, 28) images; every layer is created at the first call."""

    def __init__(self, hidden: int = 100, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = L.Conv2d(16, kernel_size=3, pad=1)
        self.conv2 = L.Conv2d(32, kernel_size=3, pad=1)
        self.fc3 = L.Linear(hidden)
        self.fc4 = L.Linear(classes)

    def forward(self, x: Any) -> Variable:
        x = F.pooling(F.relu(self.conv1(x)), 2, 2)
        x = F.pooling(F.relu(self.conv2(x)), 2, 2)
        return self.fc4(F.relu(self.fc3(F.flatten(x))))


class LSTMRegressor(Model):
    """An LSTM of ``hidden`` units followed by a linear layer: one-step-ahead prediction of a
    sequence fed one step per call (``reset_state()`` between sequences)."""

    def __init__(self, hidden: int, out: int = 1) -> None:
        super().__init__()
        self.rnn = L.LSTM(hidden)
        self.fc = L.Linear(out)

    def reset_state(self) -> None:
        self.rnn.reset_state()

    def forward(self, x: Any) -> Variable:
        return self.fc(self.rnn(x))
