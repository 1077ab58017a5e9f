"""ResNet-50/101/152 (He et al., 2015) with bottleneck blocks, in the layout Chainer and DeZero use."""
from __future__ import annotations

from typing import Any, Optional

import zerograd.functions as F
import zerograd.layers as L
from zerograd.core import Variable
from zerograd.layers.base import Layer
from zerograd.models.base import Model
from zerograd.models.pretrained import load_pretrained


class BottleneckA(Layer):
    """The first block of a stage: 1x1 (stride) -> 3x3 -> 1x1, with a projected shortcut."""

    def __init__(self, mid_channels: int, out_channels: int, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = L.Conv2d(mid_channels, 1, stride, 0, nobias=True)
        self.bn1 = L.BatchNorm()
        self.conv2 = L.Conv2d(mid_channels, 3, 1, 1, nobias=True)
        self.bn2 = L.BatchNorm()
        self.conv3 = L.Conv2d(out_channels, 1, 1, 0, nobias=True)
        self.bn3 = L.BatchNorm()
        self.conv4 = L.Conv2d(out_channels, 1, stride, 0, nobias=True)
        self.bn4 = L.BatchNorm()

    def forward(self, x: Any) -> Variable:
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + self.bn4(self.conv4(x)))


class BottleneckB(Layer):
    """The other blocks: 1x1 -> 3x3 -> 1x1 with an identity shortcut."""

    def __init__(self, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = L.Conv2d(mid_channels, 1, 1, 0, nobias=True)
        self.bn1 = L.BatchNorm()
        self.conv2 = L.Conv2d(mid_channels, 3, 1, 1, nobias=True)
        self.bn2 = L.BatchNorm()
        self.conv3 = L.Conv2d(out_channels, 1, 1, 0, nobias=True)
        self.bn3 = L.BatchNorm()

    def forward(self, x: Any) -> Variable:
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        return F.relu(self.bn3(self.conv3(h)) + x)


class BuildingBlock(Layer):
    """One stage: a BottleneckA followed by ``n_layers - 1`` BottleneckB blocks."""

    def __init__(self, n_layers: int, mid_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.a = BottleneckA(mid_channels, out_channels, stride)
        self.names = []
        for i in range(1, n_layers):
            name = f"b{i}"
            setattr(self, name, BottleneckB(mid_channels, out_channels))
            self.names.append(name)

    def forward(self, x: Any) -> Variable:
        x = self.a(x)
        for name in self.names:
            x = getattr(self, name)(x)
        return x


class ResNet(Model):
    """conv 7x7/2 (64) -> BN -> ReLU -> max-pool 3x3/2 -> four stages of bottleneck blocks
    (256, 512, 1024, 2048 channels) -> global average pooling -> fc (``num_classes``)."""

    WEIGHTS_URL = "https://github.com/koki0702/dezero-models/releases/download/v0.1/resnet{}.npz"
    BLOCKS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}

    def __init__(self, n_layers: int = 152, pretrained: bool = False, num_classes: int = 1000,
                 weights_checksum: Optional[str] = None) -> None:
        super().__init__()
        if n_layers not in self.BLOCKS:
            raise ValueError(f"ResNet: n_layers must be one of {sorted(self.BLOCKS)}, got {n_layers}")
        blocks = self.BLOCKS[n_layers]
        self.n_layers = n_layers
        self.conv1 = L.Conv2d(64, 7, 2, 3)
        self.bn1 = L.BatchNorm()
        self.res2 = BuildingBlock(blocks[0], 64, 256, 1)
        self.res3 = BuildingBlock(blocks[1], 128, 512, 2)
        self.res4 = BuildingBlock(blocks[2], 256, 1024, 2)
        self.res5 = BuildingBlock(blocks[3], 512, 2048, 2)
        self.fc6 = L.Linear(num_classes)
        if pretrained:
            load_pretrained(self, f"resnet{n_layers}", f"resnet{n_layers}.npz",
                            self.WEIGHTS_URL.format(n_layers), weights_checksum)

    def forward(self, x: Any) -> Variable:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.pooling(x, kernel_size=3, stride=2)
        x = self.res5(self.res4(self.res3(self.res2(x))))
        x = F.mean(x, axis=(2, 3))  # global average pooling
        return self.fc6(x)


class ResNet50(ResNet):
    def __init__(self, pretrained: bool = False, num_classes: int = 1000, weights_checksum: Optional[str] = None):
        super().__init__(50, pretrained, num_classes, weights_checksum)


class ResNet101(ResNet):
    def __init__(self, pretrained: bool = False, num_classes: int = 1000, weights_checksum: Optional[str] = None):
        super().__init__(101, pretrained, num_classes, weights_checksum)


class ResNet152(ResNet):
    def __init__(self, pretrained: bool = False, num_classes: int = 1000, weights_checksum: Optional[str] = None):
        super().__init__(152, pretrained, num_classes, weights_checksum)
