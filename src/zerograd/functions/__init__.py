"""Differentiable functions: ``import zerograd.functions as F``.

Every function takes Variables, ndarrays or Python numbers and returns a
Variable (``split`` returns a list). Each one's backward is written with these
same functions, so gradients can be differentiated again.
"""
from zerograd.core.ops import add, broadcast_to, copy, div, mul, neg, pow, rdiv, rsub, sub, sum_to
from zerograd.functions.combine import abs, argmax, clip, concat, maximum, minimum, split, stack, where
from zerograd.functions.conv import (average_pooling, col2im, conv2d, conv2d_simple, deconv2d, im2col, pooling,
                                    pooling_simple)
from zerograd.functions.elementwise import cos, exp, log, power, sin, sqrt, square, tanh
from zerograd.functions.indexing import get_item
from zerograd.functions.linalg import dot, linear, matmul
from zerograd.functions.reduction import average, logsumexp, max, mean, min, std, sum, var
from zerograd.functions.shape import expand_dims, flatten, reshape, squeeze, swapaxes, transpose
from zerograd.functions.activation import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax
from zerograd.functions.embedding import embed_id
from zerograd.functions.loss import (binary_cross_entropy, mean_squared_error, sigmoid_cross_entropy,
                                    softmax_cross_entropy)
from zerograd.functions.metrics import accuracy
from zerograd.functions.normalization import batch_norm, layer_norm
from zerograd.functions.recurrent import lstm
from zerograd.functions.regularization import dropout, random_normal
from zerograd.functions.attention import masked_softmax, scaled_dot_product_attention
from zerograd.functions import _methods  # noqa: F401  (installs Variable.reshape, .T, .sum, @, [] ...)
from zerograd.functions import dual  # noqa: F401  (the functions for writing gradients)

__all__ = [
    "add", "broadcast_to", "copy", "div", "mul", "neg", "pow", "rdiv", "rsub", "sub", "sum_to",
    "abs", "argmax", "clip", "concat", "maximum", "minimum", "split", "stack", "where",
    "average_pooling", "col2im", "conv2d", "conv2d_simple", "deconv2d", "im2col", "pooling",
    "pooling_simple", "cos", "exp", "log", "power", "sin", "sqrt", "square", "tanh", "get_item",
    "dot", "linear", "matmul", "average", "logsumexp", "max", "mean", "min", "std", "sum", "var",
    "expand_dims", "flatten", "reshape", "squeeze", "swapaxes", "transpose", "gelu", "leaky_relu",
    "log_softmax", "relu", "sigmoid", "softmax", "embed_id", "binary_cross_entropy",
    "mean_squared_error", "sigmoid_cross_entropy", "softmax_cross_entropy", "accuracy",
    "batch_norm", "layer_norm", "lstm", "dropout", "random_normal", "masked_softmax",
    "scaled_dot_product_attention", "dual",
]
