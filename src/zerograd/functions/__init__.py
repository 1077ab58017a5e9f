"""Differentiable functions: ``import zerograd.functions as F``."""
from zerograd.core.ops import add, broadcast_to, copy, div, mul, neg, pow, rdiv, rsub, sub, sum_to
from zerograd.functions.elementwise import cos, exp, log, sin, sqrt, square, tanh
from zerograd.functions.reduction import sum
from zerograd.functions.shape import reshape
