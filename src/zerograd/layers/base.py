"""``Layer``: a container of parameters and sub-layers, registered by attribute assignment."""
from __future__ import annotations

import os
from typing import Any, Iterator, Mapping

import numpy as np

from zerograd import backend
from zerograd.backend import as_numpy, get_array_module
from zerograd.core import Parameter, Variable
from zerograd.serialization import CheckpointError, check_keys, load_weights_file, save_weights_file


def check_device(layer: "Layer", x: Any, param: Parameter) -> None:
    """Raise a clear error when input ``x`` and ``param`` live on different devices (CPU/GPU).
    Costs nothing where CuPy is absent."""
    if backend.cp is None or param.data is None:
        return
    data = x.data if hasattr(x, "creator") else x
    x_gpu = isinstance(data, backend.cp.ndarray)
    p_gpu = isinstance(param.data, backend.cp.ndarray)
    if x_gpu != p_gpu:
        where = ("the GPU", "the CPU") if p_gpu else ("the CPU", "the GPU")
        raise TypeError(f"{type(layer).__name__}: its parameters are on {where[0]} but the input is on {where[1]}; "
                        f"call model.{'to_gpu' if x_gpu else 'to_cpu'}() or move the data")


def create_lazily(layer: "Layer", param: Parameter, shape: tuple[int, ...], x: Any) -> None:
    """The one place a layer creates a lazy parameter at its first input ``x``: ``param``'s
    initializer makes ``shape`` (dtype: the initializer's or x's), and the whole layer moves to
    x's device (its eagerly created biases too)."""
    param.initialize(shape, like=x)
    if get_array_module(x) is not np:
        layer.to_gpu()


#: Counts changes to any layer's parameters or sub-layers (assignments, deletions): parameter lists
#: cached by :meth:`Layer._param_list` are valid while it stays the same.
_structure = [0]


def _structure_changed() -> None:
    _structure[0] += 1


class Layer:
    """Base of every layer and model.

    Assigning a :class:`Parameter` or a :class:`Layer` to an attribute registers it;
    :meth:`params` yields parameters in assignment order, recursing into sub-layers, so the
    order never depends on hashing (DeZero keeps a set, whose order changes with
    PYTHONHASHSEED). Subclasses define ``forward``.
    """

    _names: dict[str, None]  # (set by __init__, bypassing __setattr__)

    def __init__(self) -> None:
        object.__setattr__(self, "_names", {})  # attribute name -> None, in assignment order

    def __setattr__(self, name: str, value: Any) -> None:
        names = self.__dict__.get("_names")
        if names is None:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if isinstance(value, (Parameter, Layer)):
            names[name] = None
            _structure_changed()
        elif name in names:
            del names[name]
            _structure_changed()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._names.pop(name, False) is None:
            _structure_changed()
        object.__delattr__(self, name)

    def __call__(self, *inputs: Any):
        return self.forward(*inputs)

    def forward(self, *inputs: Any):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    # ------------------------------------------------------------ parameters
    def named_params(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(path, parameter) pairs such as ('l0/W', W), in assignment order, recursively. A
        parameter registered in several places (tied weights, a layer used twice) is listed
        once, under the first path that reaches it."""
        return iter(self._named_param_list(prefix, set()))

    def _named_param_list(self, prefix: str, seen: set) -> list[tuple[str, Parameter]]:
        out = []
        attrs = self.__dict__
        for name in self._names:
            obj = attrs[name]
            if isinstance(obj, Layer):
                out.extend(obj._named_param_list(prefix + name + "/", seen))
            elif id(obj) not in seen:
                seen.add(id(obj))
                out.append((prefix + name, obj))
        return out

    def params(self) -> Iterator[Parameter]:
        """Every parameter once, in assignment order, recursing into sub-layers."""
        return iter(self._param_list())

    def _param_list(self) -> list[Parameter]:
        """named_params' walk without path strings (cleargrads and update run it every step), kept
        until any layer gains, loses or replaces a parameter or a sub-layer. Callers do not change it."""
        cached = self.__dict__.get("_params_cache")
        if cached is not None and cached[0] == _structure[0]:
            return cached[1]
        params = self._all_params()
        if len(set(map(id, params))) != len(params):  # a shared parameter: kept in its first place only
            seen: set = set()
            params = [p for p in params if not (id(p) in seen or seen.add(id(p)))]  # type: ignore[func-returns-value]
        object.__setattr__(self, "_params_cache", (_structure[0], params))
        return params

    def _all_params(self) -> list[Parameter]:
        out = []
        attrs = self.__dict__
        for name in self._names:
            obj = attrs[name]
            if isinstance(obj, Layer):
                out.extend(obj._all_params())
            else:
                out.append(obj)
        return out

    # --------------------------------------------------------------- buffers
    def register_buffer(self, name: str, data: Any = None) -> Variable:
        """A persistent array that is not a parameter (BatchNorm's running statistics): saved,
        loaded and moved between devices with the weights, never given to an optimizer. It is a
        constant Variable (``layer.name.data`` is the array; None until created)."""
        buffer = Variable(data, name=name, requires_grad=False)
        self.__dict__.setdefault("_buffer_names", {})[name] = None
        object.__setattr__(self, name, buffer)
        return buffer

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Variable]]:
        """(path, buffer) pairs such as ('bn/avg_mean', v), recursively."""
        out: list[tuple[str, Variable]] = []
        attrs = self.__dict__
        for name in self._names:
            obj = attrs[name]
            if isinstance(obj, Layer):
                out.extend(obj.named_buffers(prefix + name + "/"))
        for name in attrs.get("_buffer_names", ()):
            out.append((prefix + name, attrs[name]))
        return iter(out)

    def _named_state(self) -> list[tuple[str, Variable]]:
        """Parameters and buffers: everything that is saved."""
        return list(self.named_params()) + list(self.named_buffers())

    def cleargrads(self) -> None:
        for p in self._param_list():
            p.grad = None

    # --------------------------------------------------------------- devices
    def to_cpu(self) -> "Layer":
        for _, v in self._named_state():
            v.to_cpu()
        return self

    def to_gpu(self) -> "Layer":
        for _, v in self._named_state():
            v.to_gpu()
        return self

    # ------------------------------------------------------------ state, I/O
    def state_dict(self) -> dict[str, Any]:
        """Parameter and buffer arrays by path (``'l0/W'``); the arrays themselves, not copies.
        Those not created yet (lazy shapes) are left out."""
        return {key: p.data for key, p in self._named_state() if p.data is not None}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters. With ``strict``, missing or unexpected keys and
        shape mismatches raise :class:`CheckpointError` naming the key."""
        named = dict(self._named_state())
        expected = {k: (None if p.data is None else p.data.shape) for k, p in named.items()}
        if strict:
            check_keys(expected, state, f"{type(self).__name__}.load_state_dict")
        for key, p in named.items():
            if key not in state:
                continue
            value = state[key]
            kind = np.dtype(value.dtype).kind
            if kind not in "biufc" or (kind == "c" and (p.data is None or p.data.dtype.kind != "c")):
                raise CheckpointError(f"{type(self).__name__}.load_state_dict: {key!r} holds an array of dtype "
                                      f"{value.dtype}, which does not fit a real-valued parameter")
            if p.data is None:
                p.data = np.array(value)
                continue
            if tuple(value.shape) != tuple(p.data.shape):
                raise CheckpointError(f"{type(self).__name__}.load_state_dict: {key!r} has shape "
                                      f"{tuple(value.shape)} but the model has {tuple(p.data.shape)}")
            xp = get_array_module(p.data)
            p.data = xp.asarray(value, dtype=p.data.dtype).copy()

    def save_weights(self, path: str | os.PathLike) -> None:
        """Save the parameters and buffers (atomically; the model stays on its device), by path
        (``'l0/W'``), a shared parameter once. The suffix picks the format: ``.safetensors``
        writes a safetensors file (what the ``safetensors`` package reads), any other name an
        ``.npz`` (the default)."""
        arrays = {k: as_numpy(v) for k, v in self.state_dict().items()}
        save_weights_file(path, arrays)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load parameters saved by :meth:`save_weights`, the format chosen by the suffix as there
        (``.safetensors``, else ``.npz``). Never unpickles; keys and shapes are checked (shapes
        before reading), and a bad file is one :class:`CheckpointError` naming it."""
        expected = {k: (None if p.data is None else p.data.shape) for k, p in self._named_state()}
        self.load_state_dict(load_weights_file(path, expected), strict=True)

    # ------------------------------------------------------- explain itself
    def extra_repr(self) -> str:
        """Text shown first inside this layer's :func:`repr` (hyperparameters, say); a
        subclass may override it. Empty by default."""
        return ""

    def _child_entries(self) -> list[tuple[str, Any]]:
        """(name, object) pairs that :func:`repr` and :meth:`summary` show under this layer, in
        order: the registered Parameters and Layers. A container with plain callables among its
        steps (``Sequential``) adds those too."""
        attrs = self.__dict__
        return [(name, attrs[name]) for name in self._names]

    def _wrap_plain_steps(self, wrap: Any) -> Any:
        """For :meth:`summary`: put ``wrap(name, fn)`` in place of each plain callable (not a
        Layer) that this layer applies as one of its steps, and return a function that puts the
        originals back. Layers that apply no plain callables of their own keep the default,
        which changes nothing."""
        return lambda: None

    @staticmethod
    def _describe_param(p: Any) -> str:
        """A parameter's shape, or why it has none."""
        if p.data is not None:
            return str(tuple(p.data.shape))
        if getattr(p, "initializer", None) is not None:
            return "not initialised yet (created at the first call)"
        return "no data"

    @staticmethod
    def _describe_callable(fn: Any) -> str:
        """A plain callable by its ``__name__`` (``relu``), else its type's name."""
        name = getattr(fn, "__name__", None)
        return name if isinstance(name, str) else type(fn).__name__

    def _is_leaf_for_repr(self) -> bool:
        return all(isinstance(obj, Parameter) for _, obj in self._child_entries())

    def _repr_lines(self, path: str, seen: dict | None) -> list[str]:
        """This layer's lines for :func:`repr`: one line for a leaf (a layer that holds only
        parameters), else a block with one indented entry per child. ``seen`` maps the id of
        each layer and parameter already shown to its path, to mark the repeats (None: mark
        nothing)."""
        def shown(obj: Any, where: str) -> str:  # " (shared with ...)" for a repeat
            if seen is None:
                return ""
            if id(obj) in seen:
                return f" (shared with {seen[id(obj)] or type(self).__name__})"
            seen[id(obj)] = where
            return ""

        head = type(self).__name__
        extra = self.extra_repr()
        entries = self._child_entries()
        if self._is_leaf_for_repr():
            parts = [extra] if extra else []
            for name, p in entries:
                where = f"{path}/{name}" if path else name
                parts.append(f"{name}: {self._describe_param(p)}{shown(p, where)}")
            return [f"{head}({', '.join(parts)})"]
        lines = [f"{head}("]
        if extra:
            lines.extend("  " + line for line in extra.splitlines())
        for name, obj in entries:
            where = f"{path}/{name}" if path else name
            if isinstance(obj, Layer):
                mark = shown(obj, where)
                if mark:  # a layer reached again: one line, not its whole tree again
                    text = obj._repr_lines(where, None)[0] if obj._is_leaf_for_repr() else f"{type(obj).__name__}(...)"
                    lines.append(f"  ({name}): {text}{mark}")
                else:
                    sub = obj._repr_lines(where, seen)
                    lines.append(f"  ({name}): {sub[0]}")
                    lines.extend("  " + line for line in sub[1:])
            elif isinstance(obj, Parameter):
                text = self._describe_param(obj)
                sep = " " if text.startswith("(") else ", "
                lines.append(f"  ({name}): Parameter{sep}{text}{shown(obj, where)}")
            else:
                lines.append(f"  ({name}): {self._describe_callable(obj)}")
        lines.append(")")
        return lines

    def __repr__(self) -> str:
        """The layer tree with parameter shapes, one line per leaf layer (PyTorch's style)::

            MLP(
              (l0): Linear(W: (2, 10), b: (10,))
              (l1): Linear(W: not initialised yet (created at the first call), b: (3,))
            )

        A layer or parameter reached a second time (a layer used twice, tied weights) is shown
        again, marked ``(shared with <first path>)``; :meth:`params` lists it once."""
        return "\n".join(self._repr_lines("", {id(self): ""}))

    def summary(self, *inputs: Any, quiet: bool = False) -> str:
        """Run one forward pass on the example ``inputs`` and print (unless ``quiet``) and return a
        table of the layers, their output shapes and parameter counts (see
        :func:`zerograd.layers.summary.summary`: the pass creates lazy parameters)."""
        from zerograd.layers.summary import summary  # (that module builds on this one)
        return summary(self, *inputs, quiet=quiet)


class LayerList(Layer):
    """Layers kept in order and registered as ``l0``, ``l1``, ... (Chainer's ChainList,
    PyTorch's ModuleList): their parameters are found, saved and moved with the owner's.

    >>> blocks = LayerList(Linear(10), Linear(10))   # saves as blocks/l0/W, blocks/l1/W, ...
    >>> blocks.append(Linear(3)); len(blocks), blocks[-1]
    """

    _items: list[Layer]  # (set by __init__, bypassing __setattr__)

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        object.__setattr__(self, "_items", [])
        for layer in layers:
            self.append(layer)

    def append(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"LayerList: items must be Layers, got {type(layer).__name__}")
        setattr(self, f"l{len(self._items)}", layer)
        self._items.append(layer)

    def __getitem__(self, i: int) -> Layer:
        return self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._items)

    def forward(self, x: Any) -> Any:
        """Apply the layers in order."""
        for layer in self._items:
            x = layer(x)
        return x
