"""Convolution layers: Conv2d and Deconv2d, weights created at the first call as the book does."""
from __future__ import annotations

from typing import Any, Optional, cast

import numpy as np

from zerograd.core import Parameter, Variable
from zerograd.functions.conv import conv2d, deconv2d
from zerograd.functions.conv_utils import IntPair, pair
from zerograd.initializers import LeCunNormal
from zerograd.layers.base import Layer, check_device, create_lazily


class Conv2d(Layer):
    """2-D convolution with W of shape (out_channels, C, KH, KW) and b of shape (out_channels,).

    W is :class:`~zerograd.initializers.LeCunNormal` as the book draws it: ``np.random.randn``
    of the weight shape from NumPy's global generator, in ``dtype``, times
    ``sqrt(1 / (C * KH * KW))``; created at the first call when ``in_channels`` is None.
    """

    fan_in_axes = (1, 2, 3)  # W is (out, C, KH, KW)

    def __init__(self, out_channels: int, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0,
                 nobias: bool = False, dtype=np.float32, in_channels: Optional[int] = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size)
        self.stride = stride
        self.pad = pad
        self.dtype = np.dtype(dtype)
        self.W = Parameter(name="W", initializer=LeCunNormal(self.fan_in_axes, self.dtype),
                           shape=None if in_channels is None else self._weight_shape())
        self.b = None if nobias else Parameter(np.zeros(out_channels, dtype=self.dtype), name="b")

    def _weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, cast(int, self.in_channels)) + self.kernel_size  # (known by now)

    def _prepare(self, x: Any) -> None:
        if self.W.data is None:
            if len(x.shape) != 4:
                raise ValueError(f"{type(self).__name__}: the input must be (N, C, H, W), got shape {tuple(x.shape)}")
            self.in_channels = x.shape[1]
            create_lazily(self, self.W, self._weight_shape(), x)
        else:
            check_device(self, x, self.W)

    def forward(self, x: Any) -> Variable:
        self._prepare(x)
        return conv2d(x, self.W, self.b, self.stride, self.pad)


class Deconv2d(Conv2d):
    """Transposed convolution with W of shape (C, out_channels, KH, KW), initialised like Conv2d
    (scaled by sqrt(1 / (C * KH * KW)))."""

    fan_in_axes = (0, 2, 3)  # W is (C, out, KH, KW)

    def _weight_shape(self) -> tuple[int, int, int, int]:
        return (cast(int, self.in_channels), self.out_channels) + self.kernel_size  # (known by now)

    def forward(self, x: Any) -> Variable:
        self._prepare(x)
        return deconv2d(x, self.W, self.b, self.stride, self.pad)
