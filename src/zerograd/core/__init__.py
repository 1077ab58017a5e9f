"""The engine: Variable, Function, the backward walk and the arithmetic it needs."""
from zerograd.core.variable import Parameter, Variable
from zerograd.core.function import BinaryFunction, Function, UnaryFunction, as_array, as_variable
from zerograd.core import ops  # noqa: F401  (installs + - * / ** on Variable)
from zerograd.core.ops import add, broadcast_to, copy, div, mul, neg, pow, rdiv, rsub, sub, sum_to

__all__ = [
    "Variable", "Parameter", "Function", "UnaryFunction", "BinaryFunction", "as_array", "as_variable",
    "add", "sub", "rsub", "mul", "div", "rdiv", "neg", "pow", "copy", "broadcast_to", "sum_to",
]
