"""Convolution and pooling: im2col/col2im, conv2d, deconv2d, max and average pooling.

Every function here is differentiable twice: each backward is written with these same
functions (the gradient with respect to the weights is the function ``Conv2DGradW``, whose
own backward is a deconvolution and a convolution). Two functions have a faster gradient on
arrays whose math differs (``fast_backward``): conv2d reuses the column matrix built in
forward, and max pooling scatters by window offsets instead of col2im.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from zerograd.backend import add_into, float_dtype, get_array_module
from zerograd.core import Function, UnaryFunction, Variable, apply, as_variable
from zerograd.functions._naming import names_errors
from zerograd.functions.combine import scale
from zerograd.functions.conv_utils import (IntPair, col2im_array, from_matrix, get_conv_outsize,
                                           get_deconv_outsize, pair, to_matrix, windows)
from zerograd.functions.linalg import linear
from zerograd.functions.reduction import max as max_, mean
from zerograd.functions.shape import reshape, transpose


# ------------------------------------------------------------- im2col, col2im
class Im2col(UnaryFunction):
    """col = the sliding windows of x (see conv_utils); dx = col2im(dcol)."""

    __slots__ = ("kernel_size", "stride", "pad", "to_matrix", "x_shape")

    def __init__(self, kernel_size: IntPair, stride: IntPair, pad: IntPair, to_matrix: bool) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.pad, self.to_matrix = kernel_size, stride, pad, to_matrix

    def forward(self, x):
        self.x_shape = x.shape
        col = windows(x, self.kernel_size, self.stride, self.pad)
        return to_matrix(col) if self.to_matrix else col.copy()

    def backward(self, gy):
        return apply(Col2im(self.x_shape, self.kernel_size, self.stride, self.pad, self.to_matrix), gy)


class Col2im(UnaryFunction):
    """img = the column entries added back onto their image positions; dcol = im2col(dimg)."""

    __slots__ = ("input_shape", "kernel_size", "stride", "pad", "to_matrix")

    def __init__(self, input_shape, kernel_size, stride, pad, to_matrix) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.kernel_size, self.stride, self.pad, self.to_matrix = kernel_size, stride, pad, to_matrix

    def forward(self, col):
        if self.to_matrix:
            n, c, h, w = self.input_shape
            kh, kw = pair(self.kernel_size)
            sh, sw = pair(self.stride)
            ph, pw = pair(self.pad)
            col = from_matrix(col, n, c, kh, kw, get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw))
        return col2im_array(col, self.input_shape, self.kernel_size, self.stride, self.pad)

    def backward(self, gy):
        return apply(Im2col(self.kernel_size, self.stride, self.pad, self.to_matrix), gy)


def im2col(x: Any, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0, to_matrix: bool = True) -> Variable:
    """Sliding windows of x (N, C, H, W): a matrix (N*OH*OW, C*KH*KW) when ``to_matrix``,
    else the 6-D array (N, C, KH, KW, OH, OW)."""
    return Im2col(kernel_size, stride, pad, to_matrix)(x)


def col2im(x: Any, input_shape, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0,
           to_matrix: bool = True) -> Variable:
    """The adjoint of :func:`im2col`: entries added back into an image of ``input_shape``."""
    return Col2im(input_shape, kernel_size, stride, pad, to_matrix)(x)


# -------------------------------------------------------------- convolution
def _check_conv(x_shape, W_shape, op: str, in_axis: int) -> None:
    if len(W_shape) != 4:
        raise ValueError(f"{op}: W must have 4 dimensions, got shape {tuple(W_shape)}")
    if len(x_shape) != 4:
        raise ValueError(f"{op}: x must have shape (N, C, H, W), got {tuple(x_shape)}")
    if x_shape[1] != W_shape[in_axis]:
        raise ValueError(f"{op}: x has {x_shape[1]} channels but W of shape {tuple(W_shape)} expects "
                         f"{W_shape[in_axis]}")


class Conv2d(Function):
    """y[n, o] = sum_{c,i,j} W[o, c, i, j] x_pad[n, c, s*y + i, s*x + j] + b[o].

    dx = deconv2d(dy, W); dW = Conv2DGradW(x, dy); db = sum of dy over (N, OH, OW).
    ``fast_backward`` computes dW from the column matrix kept from forward (no second im2col).
    """

    __slots__ = ("stride", "pad", "col")
    keeps_outputs = False
    array_backward = True

    def __init__(self, stride: IntPair = 1, pad: IntPair = 0) -> None:
        super().__init__()
        self.stride = pair(stride)
        self.pad = pair(pad)

    def forward(self, x, W, b=None):
        _check_conv(x.shape, W.shape, "conv2d", 1)
        if b is not None and b.shape != (W.shape[0],):
            raise ValueError(f"conv2d: b of shape {b.shape} does not match {W.shape[0]} output channels")
        xp = get_array_module(x)
        kh, kw = W.shape[2:]
        col = windows(x, (kh, kw), self.stride, self.pad, op="conv2d")
        n, c, _, _, oh, ow = col.shape
        mat = col.transpose(1, 2, 3, 0, 4, 5).reshape(c * kh * kw, n * oh * ow)  # the one copy
        self.col = mat
        y = W.reshape(W.shape[0], -1) @ mat  # (OC, N*OH*OW)
        if b is not None:
            y = add_into(y, b.reshape(-1, 1))
        return xp.ascontiguousarray(y.reshape(W.shape[0], n, oh, ow).transpose(1, 0, 2, 3))

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        gx = (apply(Deconv2d(self.stride, self.pad, outsize=x.shape[2:]), gy, self.input(1))
              if x.requires_grad else None)
        gW = apply(Conv2DGradW(W.shape[2:], self.stride, self.pad), self.input(0), gy) if W.requires_grad else None
        if len(self.inputs) == 3:
            gb = gy.sum(axis=(0, 2, 3)) if self.inputs[2].requires_grad else None
            return gx, gW, gb
        return gx, gW

    def fast_backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        Wd = W.data
        oc, c, kh, kw = Wd.shape
        n, _, oh, ow = gy.shape
        gmat = gy.transpose(1, 0, 2, 3).reshape(oc, n * oh * ow)
        gW = (gmat @ self.col.T).reshape(Wd.shape) if W.requires_grad else None
        gx = None
        if x.requires_grad:
            gcol = (Wd.reshape(oc, -1).T @ gmat).reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
            gx = col2im_array(gcol, x.data.shape, (kh, kw), self.stride, self.pad)
        if len(self.inputs) == 3:
            gb = gy.sum(axis=(0, 2, 3)) if self.inputs[2].requires_grad else None
            return gx, gW, gb
        return gx, gW


class Deconv2d(Function):
    """Transposed convolution, the adjoint of conv2d in x: W has shape (C, OC, KH, KW).

    dx = conv2d(dy, W); dW = Conv2DGradW(dy, x); db = sum of dy over (N, OH, OW).
    """

    __slots__ = ("stride", "pad", "outsize", "out_hw")
    keeps_outputs = False
    array_backward = True

    def __init__(self, stride: IntPair = 1, pad: IntPair = 0, outsize: Optional[tuple] = None) -> None:
        super().__init__()
        self.stride = pair(stride)
        self.pad = pair(pad)
        self.outsize = None if outsize is None else tuple(int(s) for s in outsize)

    def forward(self, x, W, b=None):
        _check_conv(x.shape, W.shape, "deconv2d", 0)
        if b is not None and b.shape != (W.shape[1],):
            raise ValueError(f"deconv2d: b of shape {b.shape} does not match {W.shape[1]} output channels")
        c, oc, kh, kw = W.shape
        n, _, h, w = x.shape
        sh, sw = self.stride
        ph, pw = self.pad
        if self.outsize is None:
            self.out_hw = (get_deconv_outsize(h, kh, sh, ph), get_deconv_outsize(w, kw, sw, pw))
        else:
            self.out_hw = self.outsize
        out_h, out_w = self.out_hw
        if get_conv_outsize(out_h, kh, sh, ph) != h or get_conv_outsize(out_w, kw, sw, pw) != w:
            raise ValueError(f"deconv2d: outsize {self.out_hw} does not match an input of {h}x{w} "
                             f"with kernel ({kh}, {kw}), stride {self.stride}, pad {self.pad}")
        gcol = (W.reshape(c, -1).T @ x.transpose(1, 0, 2, 3).reshape(c, -1))  # (OC*KH*KW, N*H*W)
        gcol = gcol.reshape(oc, kh, kw, n, h, w).transpose(3, 0, 1, 2, 4, 5)
        y = col2im_array(gcol, (n, oc, out_h, out_w), (kh, kw), self.stride, self.pad)
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        gx = apply(Conv2d(self.stride, self.pad), gy, self.input(1)) if x.requires_grad else None
        gW = apply(Conv2DGradW(W.shape[2:], self.stride, self.pad), gy, self.input(0)) if W.requires_grad else None
        if len(self.inputs) == 3:
            gb = gy.sum(axis=(0, 2, 3)) if self.inputs[2].requires_grad else None
            return gx, gW, gb
        return gx, gW


class Conv2DGradW(Function):
    """gW[o, c, i, j] = sum_{n,y,x} gy[n, o, y, x] x_pad[n, c, s*y + i, s*x + j]: conv2d's weight gradient.

    Its own backward (so second derivatives through the weights exist):
    dx = deconv2d(gy, dgW), dgy = conv2d(x, dgW).
    """

    __slots__ = ("kernel_size", "stride", "pad")
    keeps_outputs = False
    array_backward = True

    def __init__(self, kernel_size, stride, pad) -> None:
        super().__init__()
        self.kernel_size = pair(tuple(kernel_size))
        self.stride = pair(stride)
        self.pad = pair(pad)

    def forward(self, x, gy):
        col = windows(x, self.kernel_size, self.stride, self.pad, op="conv2d")
        return get_array_module(x).tensordot(gy, col, ((0, 2, 3), (0, 4, 5)))

    def backward(self, ggW):
        x, gy = self.inputs
        gx = (apply(Deconv2d(self.stride, self.pad, outsize=x.shape[2:]), self.input(1), ggW)
              if x.requires_grad else None)
        ggy = apply(Conv2d(self.stride, self.pad), self.input(0), ggW) if gy.requires_grad else None
        return gx, ggy


def conv2d(x: Any, W: Any, b: Optional[Any] = None, stride: IntPair = 1, pad: IntPair = 0) -> Variable:
    """2-D convolution (cross-correlation) of x (N, C, H, W) with W (OC, C, KH, KW), plus b (OC,)."""
    return Conv2d(stride, pad)(x, W) if b is None else Conv2d(stride, pad)(x, W, b)


def deconv2d(x: Any, W: Any, b: Optional[Any] = None, stride: IntPair = 1, pad: IntPair = 0,
             outsize: Optional[tuple] = None) -> Variable:
    """Transposed convolution of x (N, C, H, W) with W (C, OC, KH, KW): the adjoint of conv2d."""
    f = Deconv2d(stride, pad, outsize)
    return f(x, W) if b is None else f(x, W, b)


@names_errors("conv2d_simple")
def conv2d_simple(x: Any, W: Any, b: Optional[Any] = None, stride: IntPair = 1, pad: IntPair = 0) -> Variable:
    """The book's convolution built from im2col, reshape and linear (slower; for teaching)."""
    x, Wv = as_variable(x), as_variable(W)
    if x.ndim != 4 or Wv.ndim != 4:
        raise ValueError(f"expected x of shape (N, C, H, W) and W of shape (OC, C, KH, KW), got {x.shape} and {Wv.shape}")
    n, c, h, w = x.shape
    oc, _, kh, kw = Wv.shape
    sh, sw = pair(stride)
    ph, pw = pair(pad)
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    col = im2col(x, (kh, kw), stride, pad, to_matrix=True)
    t = linear(col, transpose(reshape(Wv, (oc, -1))), b)
    return transpose(reshape(t, (n, oh, ow, oc)), (0, 3, 1, 2))


# ------------------------------------------------------------------ pooling
class MaxPooling2D(UnaryFunction):
    """y = the maximum of each window (padding never wins); the gradient goes to the maxima,
    shared equally among ties (a NaN in a window is its maximum and takes the gradient).

    ``backward`` is col2im of the gradient spread over the windows times a constant share
    mask, so it is differentiable again. Forward and ``fast_backward`` loop over the KH*KW
    window offsets with elementwise operations instead (far faster in NumPy than a reduction
    over small strided axes)."""

    __slots__ = ("kernel_size", "stride", "pad")
    keeps_outputs = True

    def __init__(self, kernel_size: IntPair, stride: IntPair, pad: IntPair) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride)
        self.pad = pair(pad)

    def _offsets(self, x):
        """The padded input and, for each window offset (i, j), the strided view of x it sees."""
        xp = get_array_module(x)
        kh, kw = self.kernel_size
        sh, sw = self.stride
        ph, pw = self.pad
        oh, ow = windows(x, self.kernel_size, self.stride, self.pad, op="pooling").shape[4:]
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant", constant_values=_lowest(x.dtype))
        views = [((i, j), x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw])
                 for i in range(kh) for j in range(kw)]
        return x, views

    def forward(self, x):
        xp = get_array_module(x)
        _, views = self._offsets(x)
        y = views[0][1].copy()
        for _, v in views[1:]:
            xp.maximum(y, v, out=y)
        return y

    def _share(self):
        x = self.inputs[0].data
        col = windows(x, self.kernel_size, self.stride, self.pad, pad_value=_lowest(x.dtype), op="pooling")
        y = self.outputs[0]().data[:, :, None, None]
        mask = _is_max(col, y)
        count = mask.sum(axis=(2, 3), keepdims=True)
        return mask * (1 / count).astype(float_dtype(x.dtype))  # ties share the gradient

    def backward(self, gy):
        x = self.inputs[0]
        n, c, oh, ow = gy.shape
        gcol = scale(gy.reshape((n, c, 1, 1, oh, ow)), self._share())
        return apply(Col2im(x.shape, self.kernel_size, self.stride, self.pad, False), gcol)

    def fast_backward(self, gy):
        x = self.inputs[0].data
        xp = get_array_module(x)
        padded, views = self._offsets(x)
        y = self.outputs[0]().data
        nan = xp.isnan(y) if y.dtype.kind == "f" else None  # (NaN maxima, found once for every window offset)
        if nan is not None and not nan.any():
            nan = None
        masks = [(ij, _is_max(v, y, nan)) for ij, v in views]
        count = masks[0][1].astype(gy.dtype)
        for _, m in masks[1:]:
            count += m
        g = gy / count
        finite = bool(xp.isfinite(g).all()) if g.dtype.kind in "fc" else True  # then g * mask is exact
        sh, sw = self.stride
        oh, ow = y.shape[2:]
        gx = xp.zeros(padded.shape, dtype=g.dtype)
        for (i, j), m in masks:
            gx[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += g * m if finite else scale(g, m)
        ph, pw = self.pad
        return gx[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] if (ph or pw) else gx


def _lowest(dtype) -> Any:
    """The padding no value beats: -inf for floats, the smallest integer for integers."""
    return np.iinfo(dtype).min if np.dtype(dtype).kind in "iu" else -np.inf


def _is_max(values, y, nan: Any = "find"):
    """Where ``values`` equal their window's maximum ``y``; a NaN maximum matches the NaNs.
    ``nan``: where y is NaN, if the caller knows (None: nowhere)."""
    mask = values == y
    if y.dtype.kind == "f":
        if isinstance(nan, str):
            nan = get_array_module(y).isnan(y)
            nan = nan if nan.any() else None
        if nan is not None:
            mask |= nan & get_array_module(y).isnan(values)
    return mask


def _check_pooling_pad(op: str, kernel_size: IntPair, pad: IntPair) -> None:
    (kh, kw), (ph, pw) = pair(kernel_size), pair(pad)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{op}: pad {(ph, pw)} is more than half the kernel {(kh, kw)} (a window could hold"
                         " padding only)")


@names_errors("pooling")
def pooling(x: Any, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0) -> Variable:
    """Max pooling over windows of ``kernel_size`` (padding is -inf, so it never wins)."""
    _check_pooling_pad("pooling", kernel_size, pad)
    return MaxPooling2D(kernel_size, stride, pad)(x)


@names_errors("pooling_simple")
def pooling_simple(x: Any, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0) -> Variable:
    """The book's max pooling built from im2col and max (zero padding, as the book's)."""
    _check_pooling_pad("pooling_simple", kernel_size, pad)
    x = as_variable(x)
    if x.ndim != 4:
        raise ValueError(f"expected an input of shape (N, C, H, W), got {x.shape}")
    n, c, h, w = x.shape
    kh, kw = pair(kernel_size)
    sh, sw = pair(stride)
    ph, pw = pair(pad)
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    col = reshape(im2col(x, kernel_size, stride, pad, to_matrix=True), (-1, kh * kw))
    y = max_(col, axis=1)
    return transpose(reshape(y, (n, oh, ow, c)), (0, 3, 1, 2))


@names_errors("average_pooling")
def average_pooling(x: Any, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0) -> Variable:
    """Average of each window (zero padding counts towards the average)."""
    _check_pooling_pad("average_pooling", kernel_size, pad)
    col = im2col(x, kernel_size, stride, pad, to_matrix=False)
    return mean(col, axis=(2, 3))
