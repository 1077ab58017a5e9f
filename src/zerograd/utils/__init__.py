"""Utilities: numerical differentiation, gradient checking, graph pictures."""
from zerograd.utils.numerical import gradient_check, GradientCheckError, numerical_diff, numerical_grad
from zerograd.utils.dot import get_dot_graph, plot_dot_graph

__all__ = [
    "numerical_diff", "numerical_grad", "gradient_check", "GradientCheckError",
    "get_dot_graph", "plot_dot_graph",
]
