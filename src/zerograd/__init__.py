"""zerograd: a define-by-run deep-learning framework on NumPy (CuPy on a GPU).

>>> import numpy as np
>>> from zerograd import Variable
>>> x = Variable(np.array(3.0))
>>> y = x + x
>>> y.backward()
>>> x.grad
variable(2.0)

The API follows DeZero's: ``import zerograd.functions as F``, ``import zerograd.layers as L``,
``from zerograd.models import MLP``, ``from zerograd import optimizers``.
"""
from zerograd.backend import manual_seed
from zerograd.config import Config, enable_grad, no_grad, set_grad_enabled, test_mode, using_config
from zerograd.core import AnomalyError, Function, Parameter, Variable, as_array, as_variable, detect_anomaly
import zerograd.functions  # noqa: F401  (installs the Variable methods defined there)
from zerograd import dataloaders, datasets, functions, layers, models, optimizers, transforms, utils  # noqa: E402
from zerograd.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from zerograd.compiler import CompileWarning, compile  # noqa: E402
from zerograd.dataloaders import DataLoader, SeqDataLoader  # noqa: E402
from zerograd.layers import Layer  # noqa: E402
from zerograd.models import Model  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Config", "no_grad", "enable_grad", "set_grad_enabled", "test_mode", "using_config", "manual_seed",
    "detect_anomaly", "AnomalyError",
    "Variable", "Parameter", "Function", "as_array", "as_variable",
    "compile", "CompileWarning",
    "Layer", "Model", "DataLoader", "SeqDataLoader", "save_checkpoint", "load_checkpoint",
    "functions", "layers", "models", "optimizers", "datasets", "dataloaders", "transforms", "utils",
]
