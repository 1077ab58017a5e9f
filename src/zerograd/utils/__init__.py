"""Utilities: numerical differentiation, gradient checking, graph pictures."""
from zerograd.utils.numerical import gradient_check, GradientCheckError, numerical_diff, numerical_grad
from zerograd.utils.dot import get_dot_graph, plot_dot_graph

__all__ = [
    "numerical_diff", "numerical_grad", "gradient_check", "GradientCheckError",
    "get_dot_graph", "plot_dot_graph",
]
from zerograd.functions.conv_utils import get_conv_outsize, get_deconv_outsize, pair  # noqa: E402
from zerograd.core.ops import sum_to_array as sum_to  # noqa: E402  (DeZero's utils.sum_to, on arrays)

__all__ += ["pair", "get_conv_outsize", "get_deconv_outsize", "sum_to"]
