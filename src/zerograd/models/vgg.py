"""VGG16 (Simonyan and Zisserman, 2014), as DeZero defines it."""
from __future__ import annotations

from typing import Any, Optional

import zerograd.functions as F
import zerograd.layers as L
from zerograd.core import Variable
from zerograd.models.base import Model
from zerograd.models.pretrained import load_pretrained


class VGG16(Model):
    """13 convolutions of 3x3 (64, 128, 256, 512, 512 channels in five stages, each followed by
    2x2 max pooling) and three fully connected layers (4096, 4096, ``num_classes``), with
    dropout. Parameter names (``conv1_1/W`` ...) match DeZero's weight files.
    """

    WEIGHTS_URL = "https://github.com/koki0702/dezero-models/releases/download/v0.1/vgg16.npz"
    WEIGHTS_CHECKSUM: Optional[str] = None  # none published

    def __init__(self, pretrained: bool = False, num_classes: int = 1000,
                 weights_checksum: Optional[str] = None) -> None:
        super().__init__()
        for stage, (channels, count) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
            for k in range(1, count + 1):
                setattr(self, f"conv{stage}_{k}", L.Conv2d(channels, kernel_size=3, stride=1, pad=1))
        self.fc6 = L.Linear(4096)
        self.fc7 = L.Linear(4096)
        self.fc8 = L.Linear(num_classes)
        if pretrained:
            load_pretrained(self, "vgg16", "vgg16.npz", self.WEIGHTS_URL, weights_checksum or self.WEIGHTS_CHECKSUM)

    def forward(self, x: Any) -> Variable:
        for stage, count in enumerate([2, 2, 3, 3, 3], start=1):
            for k in range(1, count + 1):
                x = F.relu(getattr(self, f"conv{stage}_{k}")(x))
            x = F.pooling(x, 2, 2)
        x = F.reshape(x, (x.shape[0], -1))
        x = F.dropout(F.relu(self.fc6(x)))
        x = F.dropout(F.relu(self.fc7(x)))
        return self.fc8(x)
