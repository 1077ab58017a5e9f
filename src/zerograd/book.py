"""``zerograd book PROGRAM.py [ARGS]`` (or ``python3 -m zerograd.book``): run a program written for
DeZero, the book's framework, on zerograd.

Inside the runner, an import hook serves ``import dezero`` and its submodules (``dezero.functions``,
``dezero.utils``, ...) from zerograd: each is a module whose names come from the matching zerograd
module, plus what :mod:`zerograd.compat` keeps for DeZero alone. Nothing named ``dezero`` is
installed: outside the runner ``import dezero`` finds the real DeZero (or nothing). ``-m MODULE``
runs a module the same way (``zerograd book -m pytest tests/`` runs DeZero's own tests).

Where NumPy 2 itself refuses the book's code (``np.int``, ``float()`` of a 1x1 array), the runner
says so in one line with the fix instead of a traceback.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import traceback
import types
from typing import Any, Optional, Sequence

from zerograd import compat
from zerograd.config import using_config
from zerograd.core import function

DEZERO_VERSION = "0.0.13"

_F = ("zerograd.functions", "zerograd.functions.activation", "zerograd.functions.elementwise",
      "zerograd.functions.shape", "zerograd.functions.reduction", "zerograd.functions.linalg",
      "zerograd.functions.loss", "zerograd.functions.combine", "zerograd.functions.indexing",
      "zerograd.functions.normalization", "zerograd.functions.regularization", "zerograd.functions.embedding",
      "zerograd.functions.metrics", "zerograd.functions.conv", "zerograd.core.ops")
_CORE = ("zerograd.core", "zerograd.config", "zerograd.core.ops")

#: Each dezero module: (the compat names it adds, the zerograd modules its other names come from).
MODULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dezero": (("setup_variable", "as_variable"), ("zerograd",)),
    "dezero.core": (("setup_variable", "as_variable"), _CORE),
    "dezero.core_simple": (("setup_variable", "as_variable"), _CORE),
    "dezero.cuda": (("gpu_enable",), ("zerograd.backend",)),
    "dezero.dataloaders": ((), ("zerograd.dataloaders",)),
    "dezero.datasets": (("Shakespear", "get_file", "cache_dir"), ("zerograd.datasets", "zerograd.transforms")),
    "dezero.functions": (("softmax_simple", "softmax_cross_entropy_simple", "mean_squared_error_simple",
                          "sigmoid_simple", "linear_simple", "batch_nrom", "sum_to"), _F),
    "dezero.functions_conv": (("im2col_array", "col2im_array"),
                              ("zerograd.functions.conv", "zerograd.functions.conv_utils") + _F),
    "dezero.layers": ((), ("zerograd.layers", "zerograd.functions.conv_utils")),
    "dezero.models": ((), ("zerograd.models",)),
    "dezero.optimizers": ((), ("zerograd.optimizers",)),
    "dezero.transforms": ((), ("zerograd.transforms",)),
    "dezero.utils": (("array_equal", "array_allclose", "gradient_check", "numerical_grad", "reshape_sum_backward",
                      "max_backward_shape", "logsumexp", "get_file", "show_progress", "cache_dir", "plot_dot_graph"),
                     ("zerograd.utils", "zerograd.functions.conv_utils")),
}
#: Names that differ from module to module.
EXTRA: dict[str, dict[str, Any]] = {
    "dezero": {"is_simple_core": False, "__version__": DEZERO_VERSION},
    "dezero.utils": {"sum_to": compat.sum_to_array},
    "dezero.core_simple": {"Variable": compat.SimpleVariable},
}


class DezeroModule(types.ModuleType):
    """A ``dezero`` module served by zerograd: its names are looked up when first used."""

    def __init__(self, name: str) -> None:
        super().__init__(name, f"zerograd's book mode: DeZero {DEZERO_VERSION}'s {name}, served by zerograd")
        own, sources = MODULES[name]
        self.__dict__.update({n: getattr(compat, n) for n in own})
        self.__dict__.update(EXTRA.get(name, {}))
        object.__setattr__(self, "_sources", sources)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        for source in self._sources:
            module = importlib.import_module(source)
            if hasattr(module, attr):
                value = getattr(module, attr)
                setattr(self, attr, value)
                return value
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}: zerograd's book mode serves "
                             f"DeZero {DEZERO_VERSION}'s names, and {attr!r} is not one that zerograd provides")


class DezeroFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``dezero`` and ``dezero.*`` before anything else on ``sys.meta_path``."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in MODULES:
            if fullname.startswith("dezero."):
                raise ModuleNotFoundError(f"No module named {fullname!r} (zerograd's book mode serves "
                                          f"{', '.join(sorted(MODULES))})", name=fullname)
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == "dezero")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return DezeroModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ == "dezero":  # DeZero's __init__ imports its submodules
            module.__path__ = []
            for sub in MODULES:
                if sub.startswith("dezero.") and sub != "dezero.core_simple":
                    setattr(module, sub.split(".", 1)[1], importlib.import_module(sub))


def install() -> DezeroFinder:
    """Serve ``dezero`` from zerograd in this process (forgetting any real DeZero imported before)."""
    for name in [n for n in sys.modules if n == "dezero" or n.startswith("dezero.")]:
        del sys.modules[name]
    finder = DezeroFinder()
    sys.meta_path.insert(0, finder)
    return finder


# ------------------------------------------------------------------------------------ the runner
#: NumPy 2 refusals of the book's code: (what the error says, what to tell the reader).
NUMPY2_REFUSALS = (
    ("has no attribute 'int'", "NumPy 2 removed np.int: write int (or np.int64)"),
    ("has no attribute 'float'", "NumPy 2 removed np.float: write float (or np.float64)"),
    ("has no attribute 'bool'", "NumPy 2 removed np.bool alias of bool: write bool (or np.bool_)"),
    ("has no attribute 'object'", "NumPy 2 removed np.object: write object"),
    ("only 0-dimensional arrays can be converted to Python scalars",
     "NumPy 2 refuses float() or int() of an array with more than 0 dimensions (a 1x1 array): write "
     "float(x.item()), or x.item()"),
    ("only length-1 arrays can be converted to Python scalars",
     "NumPy 2 refuses float() or int() of an array with more than 0 dimensions: write float(x.item())"),
)


def numpy2_refusal(error: BaseException, program: str) -> Optional[str]:
    """One line naming the program's line and the fix, when ``error`` is NumPy 2 refusing the book."""
    text = str(error)
    for needle, fix in NUMPY2_REFUSALS:
        if needle in text and isinstance(error, (AttributeError, TypeError)):
            where = program
            for frame in reversed(traceback.extract_tb(error.__traceback__)):
                if os.path.abspath(frame.filename) == os.path.abspath(program):
                    where = f"{program}, line {frame.lineno} ({(frame.line or '').strip()})"
                    break
            return f"{where}: {fix}"
    return None


def run(argv: Sequence[str]) -> int:
    """Run ``PROGRAM.py ARGS`` or ``-m MODULE ARGS`` with ``dezero`` served by zerograd."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: zerograd book PROGRAM.py [ARGS...]   or   zerograd book -m MODULE [ARGS...]\n\n"
              + (__doc__ or "").split("\n\n")[1])
        return 0 if argv else 2
    install()
    module = argv[0] == "-m"
    if module and len(argv) < 2:
        print("zerograd book: error: -m needs a module name", file=sys.stderr)
        return 2
    target = argv[1] if module else argv[0]
    if not module and not os.path.isfile(target):
        print(f"zerograd book: error: no such program {target!r}", file=sys.stderr)
        return 2
    sys.argv = list(argv[1:]) if module else list(argv)
    try:
        # DeZero keeps a gradient in the dtype it is computed in (a float32 weight meeting float64
        # data gets a float64 gradient); the book's printed numbers depend on it
        # and every Variable gets a gradient: one computed under no_grad() is a new leaf, not a constant
        function.UNRECORDED_OUTPUTS_REQUIRE_GRAD = True
        with using_config("strict_grad_dtype", False):
            if module:
                sys.path.insert(0, os.getcwd())
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
                runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:
        line = numpy2_refusal(e, target)
        if line is None:
            raise
        print(f"zerograd book: {line}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["run", "install", "DezeroFinder", "DezeroModule", "MODULES"]
