"""The engine: Variable, Function, the backward walk and the arithmetic it needs."""
from zerograd.core.variable import Parameter, Variable
from zerograd.core.function import BinaryFunction, Function, UnaryFunction, apply, as_array, as_variable
from zerograd.core import ops  # noqa: F401  (installs + - * / ** and astype on Variable)
from zerograd.core.ops import add, broadcast_to, cast, copy, div, mul, neg, pow, rdiv, rsub, sub, sum_to
from zerograd.core import graph  # noqa: F401  (installs Variable.backward)
from zerograd.core.anomaly import AnomalyError, detect_anomaly
from zerograd.core.hooks import RemovableHandle  # (installs Variable.register_hook)

__all__ = [
    "Variable", "Parameter", "Function", "UnaryFunction", "BinaryFunction", "apply", "as_array", "as_variable",
    "add", "sub", "rsub", "mul", "div", "rdiv", "neg", "pow", "copy", "cast", "broadcast_to", "sum_to",
    "detect_anomaly", "AnomalyError", "RemovableHandle",
]
