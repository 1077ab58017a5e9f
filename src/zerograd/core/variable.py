"""``Variable``: an array that remembers the function that made it."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, cast

import numpy as np

from zerograd.backend import array_types, as_cupy, as_numpy, get_array_module

if TYPE_CHECKING:
    from zerograd.core.function import Function


class Variable:
    """A node of the computational graph wrapping an ndarray (NumPy or CuPy).

    ``data``: the array (or None). ``grad``: a Variable set by :meth:`backward`.
    ``creator``: the Function whose output this is (None for a leaf).
    ``generation``: depth in the graph, used to order the backward walk.
    ``requires_grad``: whether backward computes a gradient for it. Variables
    made by the user require one; arrays and scalars passed straight to a
    function are wrapped as constants that do not.
    """

    __slots__ = ("data", "name", "grad", "creator", "generation", "requires_grad", "__weakref__")
    __array_priority__ = 200
    __array_ufunc__ = None  # ndarray <op> Variable and NumPy scalar <op> Variable defer to Variable

    def __init__(self, data: Any, name: Optional[str] = None, requires_grad: bool = True) -> None:
        if isinstance(data, np.generic):  # what NumPy returns from 0-d arithmetic
            data = np.asarray(data)
        elif data is not None and not isinstance(data, array_types):
            raise TypeError(
                f"Variable: data must be an ndarray or None, got {type(data).__name__}"
                " (wrap Python numbers and lists with np.array(...))"
            )
        if data is not None and data.dtype.kind in "OUSVb":
            if data.dtype.kind != "b":
                raise TypeError(f"Variable: data must be numeric, got an array of dtype {data.dtype}"
                                " (object, string and structured arrays have no gradients)")
            if requires_grad:
                raise TypeError("Variable: a boolean array has no gradient; cast it to a number type "
                                "(mask.astype(np.float32)), or keep it a constant with requires_grad=False")
        self.data = data
        self.name = name
        self.grad: Optional[Variable] = None
        self.creator: Optional[Function] = None
        self.generation = 0
        self.requires_grad = requires_grad

    # ----------------------------------------------------------- array facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self) -> int:
        if self.data is None or self.data.ndim == 0:
            raise TypeError(f"len() of a 0-d or empty variable ({self!r})")
        return len(self.data)

    def __repr__(self) -> str:
        if self.data is None:
            return "variable(None)"
        text = str(self.data).replace("\n", "\n" + " " * 9)
        return "variable(" + text + ")"

    def __bool__(self) -> bool:
        return bool(self.data)

    def _one_element(self, what: str) -> Any:
        if self.data is None or self.data.size != 1:
            shape = None if self.data is None else self.data.shape
            raise TypeError(f"{what}() of a variable needs exactly one element, got shape {shape}")
        return self.data.item()

    def __float__(self) -> float:
        """``float(v)`` for a variable of one element (any shape: (), (1,), (1, 1))."""
        return float(self._one_element("float"))

    def __int__(self) -> int:
        """``int(v)`` for a variable of one element."""
        return int(self._one_element("int"))

    def __index__(self) -> int:
        """``range(v)``, ``items[v]``: a variable of one integer element."""
        if self.data is None or self.data.dtype.kind not in "iu":
            raise TypeError(f"a variable used as an index must hold an integer, got dtype "
                            f"{None if self.data is None else self.data.dtype}")
        return int(self._one_element("index"))

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        """``np.asarray(v)`` is ``v.data`` (a NumPy array; a CuPy one is refused by NumPy as usual)."""
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    # ----------------------------------------------------------------- graph
    def set_creator(self, func: "Function") -> None:
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self) -> None:
        """Forget the accumulated gradient (gradients add up across backward calls until this)."""
        self.grad = None

    def unchain(self) -> None:
        """Cut the link to the creator: this variable becomes a leaf."""
        self.creator = None

    def unchain_backward(self) -> None:
        """Cut every link in the graph behind this variable (truncated BPTT). Iterative."""
        stack: list[Function] = [self.creator] if self.creator is not None else []
        seen = set()
        while stack:
            f = stack.pop()
            if id(f) in seen:
                continue
            seen.add(id(f))
            for x in cast("tuple[Variable, ...]", f.inputs):  # (a creator's inputs are set)
                if x.creator is not None:
                    stack.append(x.creator)
                    x.unchain()

    # -------------------------------------------------------------- devices
    def to_cpu(self) -> None:
        if self.data is not None:
            self.data = as_numpy(self.data)

    def to_gpu(self) -> None:
        if self.data is not None:
            self.data = as_cupy(self.data)

    @property
    def xp(self):
        return get_array_module(self.data)

    # --------------------------------------------------- non-differentiable
    def item(self):
        """The single element as a Python number."""
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU if need be; no copy on the CPU)."""
        return as_numpy(self.data)

    if TYPE_CHECKING:  # installed by zerograd.core.ops (a function: a compiled step replays it)
        def detach(self) -> "Variable":
            """A constant Variable on the same data: no creator, no gradient (shares the array)."""
            ...

    if TYPE_CHECKING:  # installed at import time by zerograd.core.graph, .ops and zerograd.functions
        def backward(self, /, retain_grad: bool = False, create_graph: bool = False,
                     inputs: Optional[Sequence[Variable]] = None) -> None: ...
        def astype(self, /, dtype: Any) -> "Variable": ...
        def __add__(self, other: Any) -> "Variable": ...
        def __radd__(self, other: Any) -> "Variable": ...
        def __sub__(self, other: Any) -> "Variable": ...
        def __rsub__(self, other: Any) -> "Variable": ...
        def __mul__(self, other: Any) -> "Variable": ...
        def __rmul__(self, other: Any) -> "Variable": ...
        def __truediv__(self, other: Any) -> "Variable": ...
        def __rtruediv__(self, other: Any) -> "Variable": ...
        def __neg__(self) -> "Variable": ...
        def __pow__(self, c: Any) -> "Variable": ...
        def __rpow__(self, c: Any) -> "Variable": ...
        def register_hook(self, fn: Any) -> Any: ...
        def __matmul__(self, other: Any) -> "Variable": ...
        def __rmatmul__(self, other: Any) -> "Variable": ...
        def __getitem__(self, index: Any) -> "Variable": ...
        def __abs__(self) -> "Variable": ...
        def reshape(self, *shape: Any) -> "Variable": ...
        def transpose(self, *axes: Any) -> "Variable": ...
        @property
        def T(self) -> "Variable": ...
        def sum(self, axis: Any = None, keepdims: bool = False) -> "Variable": ...
        def mean(self, axis: Any = None, keepdims: bool = False) -> "Variable": ...
        def max(self, axis: Any = None, keepdims: bool = False) -> "Variable": ...
        def min(self, axis: Any = None, keepdims: bool = False) -> "Variable": ...
        def dot(self, /, b: Any) -> "Variable": ...
        def clip(self, /, lo: Any, hi: Any) -> "Variable": ...
        def argmax(self, axis: Any = None) -> Any: ...


class Parameter(Variable):
    """A Variable that a Layer registers as one of its trainable parameters.

    ``version`` counts assignments to ``data`` (``p.data -= lr * g`` assigns too), so layers
    can tell when a value derived from the parameter must be recomputed.

    A lazy parameter (Chainer's ``Parameter(initializer)``) has ``data`` None and an
    ``initializer`` (see :mod:`zerograd.initializers`) until :meth:`initialize` gives it a
    shape; a layer calls that once, at its first input. ``shape`` creates it at once.
    """

    __slots__ = ("_data", "version", "initializer")

    def __init__(self, data: Any = None, name: Optional[str] = None, requires_grad: bool = True,
                 initializer: Optional[Callable[..., Any]] = None, shape: Optional[tuple[int, ...]] = None) -> None:
        self.version = 0
        self.initializer = initializer
        super().__init__(data, name, requires_grad)
        if shape is not None:
            if data is not None:
                raise ValueError(f"Parameter {name!r}: give data or shape, not both")
            self.initialize(shape)

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value) -> None:
        self._data = value
        self.version += 1

    def initialize(self, shape: tuple[int, ...], like: Any = None) -> None:
        """Create ``data`` of ``shape`` with the initializer: the dtype is the initializer's own
        or ``like``'s (an array or Variable: the layer's first input), and the array lives on
        ``like``'s device (drawn on the CPU, then moved: the same numbers on either)."""
        if self._data is not None:
            raise RuntimeError(f"Parameter {self.name!r} is already initialized (shape {self._data.shape})")
        if self.initializer is None:
            raise RuntimeError(f"Parameter {self.name!r} has no data and no initializer to create it")
        if isinstance(like, Variable):
            like = like.data
        dtype = getattr(like, "dtype", None)
        if any(int(n) < 0 for n in shape):
            raise ValueError(f"Parameter {self.name!r}: cannot create shape {tuple(shape)}")
        array = self.initializer(shape, dtype)
        xp = np if like is None else get_array_module(like)
        if xp is not np:
            array = xp.asarray(array)
        self.data = array
