"""zerograd: a define-by-run deep-learning framework on NumPy (CuPy on a GPU).

>>> import numpy as np
>>> from zerograd import Variable
>>> x = Variable(np.array(3.0))
>>> y = x + x
>>> y.backward()
>>> x.grad
variable(2.0)
"""
from zerograd.config import Config, no_grad, test_mode, using_config
from zerograd.core import Function, Parameter, Variable, as_array, as_variable
import zerograd.functions  # noqa: F401  (installs the Variable methods defined there)

__version__ = "0.1.0"

__all__ = [
    "Config", "no_grad", "test_mode", "using_config",
    "Variable", "Parameter", "Function", "as_array", "as_variable",
]
