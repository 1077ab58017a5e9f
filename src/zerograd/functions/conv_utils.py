"""Array helpers for convolution and pooling: sizes, windows as strided views, col2im.

The "column" of an image batch x (N, C, H, W) is the 6-D array
``col[n, c, i, j, y, x] = padded_x[n, c, y * SH + i, x * SW + j]`` of shape
(N, C, KH, KW, OH, OW). It is made as a strided *view* of the padded input (no copy);
a matrix product with the weights then copies it once into the (C*KH*KW, N*OH*OW) layout.
"""
from __future__ import annotations

from typing import Any, Union

import numpy as np

from zerograd.backend import get_array_module

IntPair = Union[int, tuple[int, int]]


def pair(x: IntPair) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair stays a pair."""
    if isinstance(x, (int, np.integer)):
        return int(x), int(x)
    if isinstance(x, (tuple, list)) and len(x) == 2:
        return int(x[0]), int(x[1])
    raise ValueError(f"pair: expected an int or a pair of ints, got {x!r}")


def get_conv_outsize(input_size: int, kernel_size: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling: (size + 2 pad - kernel) // stride + 1 (floor)."""
    return (input_size + pad * 2 - kernel_size) // stride + 1


def get_deconv_outsize(size: int, k: int, s: int, p: int) -> int:
    """Output length of a transposed convolution: s (size - 1) + k - 2 p."""
    return s * (size - 1) + k - 2 * p


def _check_sizes(op: str, x_shape: tuple, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int):
    if len(x_shape) != 4:
        raise ValueError(f"{op}: expected an input of shape (N, C, H, W), got {tuple(x_shape)}")
    if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"{op}: kernel and stride must be positive and pad non-negative")
    oh = get_conv_outsize(x_shape[2], kh, sh, ph)
    ow = get_conv_outsize(x_shape[3], kw, sw, pw)
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: kernel ({kh}, {kw}) with pad ({ph}, {pw}) does not fit an input of "
                         f"{x_shape[2]}x{x_shape[3]}")
    return oh, ow


def windows(x: Any, kernel_size: IntPair, stride: IntPair, pad: IntPair, pad_value: float = 0.0,
            op: str = "im2col") -> Any:
    """The (N, C, KH, KW, OH, OW) column of ``x`` as a strided view of the padded input."""
    xp = get_array_module(x)
    kh, kw = pair(kernel_size)
    sh, sw = pair(stride)
    ph, pw = pair(pad)
    oh, ow = _check_sizes(op, x.shape, kh, kw, sh, sw, ph, pw)
    if ph or pw:
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph + sh - 1), (pw, pw + sw - 1)), mode="constant",
                   constant_values=pad_value)
    n, c = x.shape[:2]
    s0, s1, s2, s3 = x.strides
    shape, strides = (n, c, kh, kw, oh, ow), (s0, s1, s2, s3, s2 * sh, s3 * sw)
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def col2im_array(col: Any, img_shape: tuple, kernel_size: IntPair, stride: IntPair, pad: IntPair) -> Any:
    """The adjoint of :func:`windows`: add every column entry back onto its image position."""
    xp = get_array_module(col)
    n, c, h, w = img_shape
    kh, kw = pair(kernel_size)
    sh, sw = pair(stride)
    ph, pw = pair(pad)
    oh, ow = col.shape[4], col.shape[5]
    if (kh, kw) == (sh, sw) and ph == pw == 0 and oh * sh == h and ow * sw == w:
        # non-overlapping windows that tile the image: a transpose and a reshape
        return col.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h, w)
    img = xp.zeros((n, c, h + 2 * ph + sh - 1, w + 2 * pw + sw - 1), dtype=col.dtype)
    for i in range(kh):
        i_end = i + sh * oh
        for j in range(kw):
            j_end = j + sw * ow
            img[:, :, i:i_end:sh, j:j_end:sw] += col[:, :, i, j, :, :]
    return img[:, :, ph:h + ph, pw:w + pw]


def to_matrix(col: Any) -> Any:
    """(N, C, KH, KW, OH, OW) -> (N*OH*OW, C*KH*KW): DeZero's im2col matrix layout."""
    n, c, kh, kw, oh, ow = col.shape
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)


def from_matrix(mat: Any, n: int, c: int, kh: int, kw: int, oh: int, ow: int) -> Any:
    """The inverse of :func:`to_matrix`."""
    return mat.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
