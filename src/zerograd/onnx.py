"""ONNX export: ``zerograd.onnx.export(model, example_inputs, "model.onnx")``.

The export traces one forward pass on the example inputs, in test mode and without recording
gradients: while it runs, every function call is recorded (checking versions of the functions'
``__call__`` are swapped in, as anomaly mode does), then each recorded function becomes ONNX
nodes through the converter registered for its class (:data:`CONVERTERS`). Parameters and other
arrays the pass met become initializers; the example inputs become the graph's inputs, with a
symbolic batch axis when ``dynamic_batch``. A function with no converter is an
:class:`ExportError` naming it. The model is checked with ``onnx.checker`` before it is written
(atomically). Needs the ``onnx`` package (``pip install 'zerograd[onnx]'``; onnxruntime runs it).

Covered: Linear, MatMul, the arithmetic and elementwise functions, the activations, softmax and
log-softmax, Conv2d, Deconv2d, max and average pooling, batch norm and layer norm in test mode
(through their primitive functions), dropout (identity in test mode), reshape, flatten,
transpose, concat, basic slicing and integer-array indexing, ``embed_id``, sums, means,
max/min, the LSTM step (RNN and GRU steps through their primitives), unrolled over a sequence.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from zerograd.backend import as_numpy
from zerograd.config import no_grad, test_mode
from zerograd.core import Function, Parameter, Variable, ops
from zerograd.core.function import classes_defining_call
from zerograd.functions import activation, attention, combine, conv, elementwise, embedding, indexing, linalg, recurrent, reduction, shape
from zerograd.serialization import atomic_write

__all__ = ["export", "ExportError", "CONVERTERS"]


class ExportError(ValueError):
    """The model uses a function that has no ONNX mapping (or one used in a way ONNX cannot express)."""


# ------------------------------------------------------------------------------------ tracing
class _Trace:
    """The function calls of one forward pass, in order: (function, inputs, outputs)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Function, tuple, list]] = []
        self.made: set[int] = set()  # ids of the outputs recorded (a call that delegates records once)
        self.keep: list[Any] = []  # everything seen stays alive, so ids stay unique
        self.index_origin: dict[int, Any] = {}  # id(copied index array) -> the array it copies


@contextlib.contextmanager
def _tracing(trace: _Trace) -> Iterator[None]:
    saved = {cls: cls.__dict__["__call__"] for cls in classes_defining_call()}
    plain_index = indexing._plain_index

    def recording(call: Callable) -> Callable:
        def __call__(self: Function, *args: Any) -> Any:
            out = call(self, *args)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            if id(outs[0]) not in trace.made:
                trace.made.update(id(o) for o in outs)
                trace.calls.append((self, args, outs))
                trace.keep.extend(args)
                trace.keep.extend(outs)
            return out
        return __call__

    def remembering_index(index: Any) -> Any:
        plain = plain_index(index)
        items = plain if isinstance(plain, tuple) else (plain,)
        originals = index if isinstance(index, tuple) else (index,)
        for p, o in zip(items, originals):
            if isinstance(p, np.ndarray) and p is not o:
                trace.index_origin[id(p)] = o
                trace.keep.extend((p, o))
        return plain

    try:
        for cls in saved:
            cls.__call__ = recording(saved[cls])  # type: ignore[method-assign]
        indexing._plain_index = remembering_index
        yield
    finally:
        for cls, call in saved.items():
            cls.__call__ = call  # type: ignore[method-assign]
        indexing._plain_index = plain_index


# ------------------------------------------------------------------------------------ building
class Builder:
    """Names values, collects nodes and initializers; converters talk to it."""

    def __init__(self, opset: int, batch: Optional[int]) -> None:
        from onnx import helper

        self.helper = helper
        self.opset = opset
        self.batch = batch  # the traced batch size when the batch axis is dynamic
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: dict[int, str] = {}  # id(Variable or array) -> value name
        self.counter = 0
        self.made: set[int] = set()  # ids of the values the traced functions computed

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def node(self, op: str, inputs: Sequence[str], outputs: Optional[Sequence[str]] = None, **attrs: Any) -> list[str]:
        outputs = list(outputs) if outputs is not None else [self.fresh(op.lower())]
        self.nodes.append(self.helper.make_node(op, list(inputs), outputs, name=self.fresh(op), **attrs))
        return outputs

    def const(self, value: Any, hint: str = "const", dtype: Any = None) -> str:
        from onnx import numpy_helper

        array = np.asarray(as_numpy(value), dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def name_of(self, value: Any, like: Any = None) -> str:
        """The name of an input value: a traced value, a parameter, or a constant made now (a Python
        number takes the dtype of ``like``, as zerograd's weak scalars do)."""
        key = id(value)
        if key in self.names:
            return self.names[key]
        if isinstance(value, Variable):
            if id(value.data) in self.names:
                return self.names[id(value.data)]
            if id(value) in self.made:
                raise ExportError("a value computed during the trace has no ONNX form (its function was skipped)")
            name = self.const(value.data, value.name or ("param" if isinstance(value, Parameter) else "const"))
            self.names[key] = name
            return name
        if isinstance(value, (int, float, np.generic)) or (isinstance(value, np.ndarray) and value.ndim == 0
                                                           and like is not None):
            dtype = _dtype_of(like) if like is not None else None
            return self.const(np.asarray(value, dtype=dtype))
        return self.const(value)

    def bind(self, outputs: list, names: Sequence[str]) -> None:
        for out, name in zip(outputs, names):
            self.names[id(out)] = name
            if isinstance(out, Variable):
                self.names[id(out.data)] = name

    def shape_for_reshape(self, in_shape: tuple, out_shape: tuple) -> str:
        """A Reshape target: the batch axis kept symbolic (0 copies the input's) when it is dynamic."""
        target = list(out_shape)
        if self.batch is not None and in_shape and in_shape[0] == self.batch:
            if out_shape and out_shape[0] == self.batch:
                target[0] = 0  # copy the batch axis
            elif len(out_shape) == 1:
                target[0] = -1  # everything flattened
            else:
                raise ExportError(f"reshape of {in_shape} to {out_shape} folds the batch axis into another: "
                                  "export it with dynamic_batch=False")
        return self.const(np.array(target, dtype=np.int64), "shape")

    def axes(self, op: str, inputs: list[str], axes: Optional[Sequence[int]], keepdims: bool) -> list[str]:
        """A reduction over ``axes`` (None: all), in the opset's form (axes as attribute or input)."""
        input_form = op == "ReduceSum" and self.opset >= 13 or self.opset >= 18
        if axes is None:
            return self.node(op, inputs, keepdims=int(keepdims))
        if input_form:
            return self.node(op, inputs + [self.const(np.array(list(axes), dtype=np.int64), "axes")],
                             keepdims=int(keepdims))
        return self.node(op, inputs, axes=list(axes), keepdims=int(keepdims))

    def zeros_like_batch(self, x_name: str, row_shape: Sequence[int], dtype: Any) -> str:
        """Zeros of shape (batch of x, *row_shape), made in the graph (a traced constant would fix the batch)."""
        from onnx import TensorProto

        batch = self.node("Slice", [self.node("Shape", [x_name])[0], self.const(np.array([0], np.int64)),
                                    self.const(np.array([1], np.int64))])[0]
        full = self.node("Concat", [batch, self.const(np.array(list(row_shape), np.int64))], axis=0)[0]
        value = self.helper.make_tensor("zero", TensorProto.FLOAT if np.dtype(dtype) == np.float32
                                        else TensorProto.DOUBLE, [1], [0.0])
        return self.node("ConstantOfShape", [full], value=value)[0]


def _dtype_of(value: Any) -> Any:
    data = value.data if isinstance(value, Variable) else value
    return getattr(data, "dtype", None)


# ------------------------------------------------------------------------------------ converters
Converter = Callable[[Builder, Any, list, list], Optional[list]]
#: Function class -> converter(builder, function, input values, output values) -> output names.
CONVERTERS: dict[type, Converter] = {}


def converts(*classes: type) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn
    return register


def _names(b: Builder, values: list) -> list[str]:
    like = next((v for v in values if isinstance(v, (Variable, np.ndarray)) and np.ndim(_data(v)) > 0), None)
    like = like if like is not None else next((v for v in values if isinstance(v, (Variable, np.ndarray))), None)
    return [b.name_of(v, like) for v in values]


def _data(v: Any) -> Any:
    return v.data if isinstance(v, Variable) else v


_BINARY = {ops.Add: "Add", ops.Sub: "Sub", ops.Mul: "Mul", ops.Div: "Div", elementwise.Power: "Pow",
           linalg.MatMul: "MatMul"}
_UNARY = {elementwise.Exp: "Exp", elementwise.Log: "Log", elementwise.Sin: "Sin", elementwise.Cos: "Cos",
          elementwise.Tanh: "Tanh", elementwise.Sqrt: "Sqrt", activation.Sigmoid: "Sigmoid", activation.ReLU: "Relu",
          ops.Neg: "Neg", ops.Copy: "Identity", combine.Abs: "Abs"}


@converts(*_BINARY)
def _binary(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node(_BINARY[type(f)], _names(b, ins))


@converts(*_UNARY)
def _unary(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node(_UNARY[type(f)], _names(b, ins))


@converts(ops.AddConstant, ops.MulConstant, ops.SubFromConstant, ops.DivByConstant, ops.DivideConstant, ops.Pow)
def _with_constant(b: Builder, f: Any, ins: list, outs: list) -> list:
    x = b.name_of(ins[0])
    dtype = _dtype_of(outs[0])
    c = b.const(np.asarray(as_numpy(f.c), dtype=dtype if type(f) is not ops.Pow else _dtype_of(ins[0])))
    op, order = {ops.AddConstant: ("Add", (x, c)), ops.MulConstant: ("Mul", (x, c)),
                 ops.SubFromConstant: ("Sub", (c, x)), ops.DivByConstant: ("Div", (x, c)),
                 ops.DivideConstant: ("Div", (c, x)), ops.Pow: ("Pow", (x, c))}[type(f)]
    return b.node(op, list(order))


@converts(elementwise.Square)
def _square(b: Builder, f: Any, ins: list, outs: list) -> list:
    x = b.name_of(ins[0])
    return b.node("Mul", [x, x])


@converts(ops.Cast)
def _cast(b: Builder, f: Any, ins: list, outs: list) -> list:
    from onnx import helper

    return b.node("Cast", [b.name_of(ins[0])], to=helper.np_dtype_to_tensor_dtype(np.dtype(f.dtype)))


@converts(activation.LeakyReLU)
def _leaky_relu(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node("LeakyRelu", [b.name_of(ins[0])], alpha=float(f.slope))


@converts(activation.Softmax)
def _softmax(b: Builder, f: Any, ins: list, outs: list) -> list:
    if f.axes is None or len(f.axes) != 1:
        raise ExportError(f"softmax over axes {f.axes} has no ONNX mapping (one axis only)")
    return b.node("Softmax", [b.name_of(ins[0])], axis=int(f.axes[0]))


@converts(combine.Split)
def _split(b: Builder, f: Any, ins: list, outs: list) -> list:
    axis = f.axis % _data(ins[0]).ndim
    sizes = np.array([_data(o).shape[axis] for o in outs], dtype=np.int64)
    return b.node("Split", [b.name_of(ins[0]), b.const(sizes)], outputs=[b.fresh("split") for _ in outs], axis=axis)


@converts(attention.MaskedSoftmax)
def _masked_softmax(b: Builder, f: Any, ins: list, outs: list) -> list:
    """Where(mask, x, -inf) -> Softmax -> Where(mask, y, 0): a row with nothing kept is 0, as zerograd's."""
    if len(f.axes) != 1:
        raise ExportError(f"masked_softmax over axes {f.axes} has no ONNX mapping (one axis only)")
    dtype = _dtype_of(ins[0])
    mask = b.name_of(ins[1])
    kept = b.node("Where", [mask, b.name_of(ins[0]), b.const(np.asarray(-np.inf, dtype))])
    y = b.node("Softmax", kept, axis=int(f.axes[0]))
    return b.node("Where", [mask, y[0], b.const(np.asarray(0, dtype))])


@converts(combine.Clip)
def _clip(b: Builder, f: Any, ins: list, outs: list) -> list:
    dtype = _dtype_of(ins[0])
    return b.node("Clip", [b.name_of(ins[0]), b.const(np.asarray(f.lo, dtype)), b.const(np.asarray(f.hi, dtype))])


@converts(combine.Where)
def _where(b: Builder, f: Any, ins: list, outs: list) -> list:
    cond = np.asarray(as_numpy(f.cond), bool)
    if b.batch is not None and cond.ndim and cond.shape[0] == b.batch:
        raise ExportError("where: its condition is an array made at trace time (of the traced batch size); it "
                          "exports as a constant: compute masks with zerograd functions, or pass dynamic_batch=False")
    return b.node("Where", [b.const(cond, "cond")] + _names(b, ins))


@converts(combine.Concat)
def _concat(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node("Concat", _names(b, ins), axis=int(f.dim))


@converts(linalg.Linear)
def _linear(b: Builder, f: Any, ins: list, outs: list) -> list:
    names = _names(b, ins)
    y = b.node("MatMul", names[:2])
    return b.node("Add", [y[0], names[2]]) if len(names) == 3 else y


@converts(shape.Reshape)
def _reshape(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node("Reshape", [b.name_of(ins[0]), b.shape_for_reshape(tuple(_data(ins[0]).shape),
                                                                     tuple(_data(outs[0]).shape))])


@converts(shape.Transpose)
def _transpose(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node("Transpose", [b.name_of(ins[0])], perm=[int(p) for p in f.perm])


@converts(reduction.Sum)
def _sum(b: Builder, f: Any, ins: list, outs: list) -> list:
    op = "ReduceMean" if type(f) is reduction.Mean else "ReduceSum"
    return b.axes(op, [b.name_of(ins[0])], f.axes, bool(f.keepdims))


@converts(reduction._Extreme)
def _extreme(b: Builder, f: Any, ins: list, outs: list) -> list:
    op = "ReduceMax" if "max" in type(f).__name__.lower() else "ReduceMin"
    return b.axes(op, [b.name_of(ins[0])], f.axes, bool(f.keepdims))


@converts(reduction.LogSumExp)
def _logsumexp(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.axes("ReduceLogSumExp", [b.name_of(ins[0])], f.axes, bool(f.keepdims))


def _pads(pad: tuple) -> list[int]:
    return [int(pad[0]), int(pad[1]), int(pad[0]), int(pad[1])]


@converts(conv.Conv2d)
def _conv(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node("Conv", _names(b, ins), strides=list(f.stride), pads=_pads(f.pad))


@converts(conv.Deconv2d)
def _deconv(b: Builder, f: Any, ins: list, outs: list) -> list:
    if f.outsize is not None:
        return b.node("ConvTranspose", _names(b, ins), strides=list(f.stride), pads=_pads(f.pad),
                      output_shape=[int(n) for n in f.out_hw])
    return b.node("ConvTranspose", _names(b, ins), strides=list(f.stride), pads=_pads(f.pad))


@converts(conv.MaxPooling2D)
def _maxpool(b: Builder, f: Any, ins: list, outs: list) -> list:
    return b.node("MaxPool", [b.name_of(ins[0])], kernel_shape=list(f.kernel_size), strides=list(f.stride),
                  pads=_pads(f.pad))


@converts(conv.Im2col)
def _im2col(b: Builder, f: Any, ins: list, outs: list) -> Optional[list]:
    if id(f) in b.absorbed:  # type: ignore[attr-defined]
        return None  # average pooling's windows: the Mean over them becomes AveragePool (see export)
    raise ExportError("Im2col (conv2d_simple, pooling_simple, im2col) has no ONNX mapping: use conv2d and pooling")


_END = 2 ** 62  # "to the end" for Slice


@converts(embedding.EmbedID)
def _embed_id(b: Builder, f: Any, ins: list, outs: list) -> list:
    ids = _data(ins[1])
    traced = b.names.get(id(ids))
    return b.node("Gather", [b.name_of(ins[0]), traced or b.const(np.asarray(ids).astype(np.int64), "indices")],
                  axis=0)


@converts(indexing.GetItem)
def _get_item(b: Builder, f: Any, ins: list, outs: list) -> list:
    x = b.name_of(ins[0])
    index = f.index if isinstance(f.index, tuple) else (f.index,)
    if len(index) == 1 and isinstance(index[0], np.ndarray) and index[0].dtype.kind in "iu":
        ids = index[0]
        original = b.trace.index_origin.get(id(ids), ids)  # type: ignore[attr-defined]
        traced = b.names.get(id(original.data if isinstance(original, Variable) else original))
        return b.node("Gather", [x, traced or b.const(ids.astype(np.int64), "indices")], axis=0)
    if not all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in index):
        raise ExportError(f"get_item with index {f.index!r} has no ONNX mapping (basic slicing, or one integer "
                          "array on the first axis)")
    x_shape = tuple(_data(ins[0]).shape)
    if Ellipsis in index:
        at = index.index(Ellipsis)
        fill = len(x_shape) - (len(index) - 1 - sum(i is None for i in index))
        index = index[:at] + (slice(None),) * fill + index[at + 1:]
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = 0
    out_axis = 0
    for i in index:
        if i is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(i, slice):  # the bounds as written: ONNX clamps them and counts negatives like Python
            if i != slice(None):
                step = 1 if i.step is None else int(i.step)
                starts.append(int(i.start) if i.start is not None else (0 if step > 0 else _END))
                ends.append(int(i.stop) if i.stop is not None else (_END if step > 0 else -_END))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            k = int(i)
            starts.append(k)
            ends.append(k + 1 if k != -1 else _END)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    y = [x]
    if axes:
        arr = lambda v: b.const(np.array(v, dtype=np.int64))  # noqa: E731
        y = b.node("Slice", [x, arr(starts), arr(ends), arr(axes), arr(steps)])
    if squeeze:
        y = b.node("Squeeze", [y[0], b.const(np.array(squeeze, dtype=np.int64))])
    if unsqueeze:
        y = b.node("Unsqueeze", [y[0], b.const(np.array(unsqueeze, dtype=np.int64))])
    return y if y[0] != x else b.node("Identity", [x])


@converts(recurrent.LSTMCell)
def _lstm(b: Builder, f: Any, ins: list, outs: list) -> list:
    x, h, c, Wx, Wh, bias = ins
    hidden = _data(Wh).shape[0]
    dtype = _dtype_of(x)
    xn = b.name_of(x)

    def state(v: Any) -> str:
        data = _data(v)
        if id(v) not in b.names and id(data) not in b.names and not np.any(as_numpy(data)):
            return b.zeros_like_batch(xn, [hidden], dtype)  # the first step's zero state, for any batch
        return b.name_of(v)

    hn, cn = state(h), state(c)
    a = b.node("Add", [b.node("Add", [b.node("MatMul", [xn, b.name_of(Wx)])[0], b.name_of(bias)])[0],
                       b.node("MatMul", [hn, b.name_of(Wh)])[0]])[0]
    pieces = b.node("Split", [a, b.const(np.array([hidden] * 4, dtype=np.int64))], outputs=[b.fresh("gate") for _ in range(4)],
                    axis=1)
    f_, i_, o_ = (b.node("Sigmoid", [p])[0] for p in pieces[:3])
    u = b.node("Tanh", [pieces[3]])[0]
    c_new = b.node("Add", [b.node("Mul", [f_, cn])[0], b.node("Mul", [i_, u])[0]])[0]
    h_new = b.node("Mul", [o_, b.node("Tanh", [c_new])[0]])[0]
    return [h_new, c_new]


def _joined_gates_class() -> Optional[type]:
    from zerograd.layers import recurrent as layer_recurrent

    return getattr(layer_recurrent, "_JoinedGates", None)


# ------------------------------------------------------------------------------------ export
def export(model: Any, example_inputs: Any, path: str | os.PathLike, opset: int = 17, dynamic_batch: bool = True,
           input_names: Optional[Sequence[str]] = None, output_names: Optional[Sequence[str]] = None) -> Any:
    """Trace ``model(*example_inputs)`` (a Layer, or any function of Variables) in test mode
    without recording gradients and write it as an ONNX model at ``path``; returns the ModelProto.

    ``example_inputs``: an array or a tuple of arrays (one per model argument). With
    ``dynamic_batch`` the first axis of an input or output is the symbolic ``batch`` where its
    length is the first input's (the traced batch size); other axes keep their traced lengths."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install onnx (or 'zerograd[onnx]')") from None
    if not 13 <= opset <= 21:
        raise ValueError(f"export: opset {opset} is not supported (13 to 21: the nodes are written in their "
                         "opset-13 forms)")
    arrays = [as_numpy(x.data if isinstance(x, Variable) else np.asarray(x))
              for x in (example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,))]
    inputs = [Variable(a, requires_grad=False) for a in arrays]
    if hasattr(model, "reset_state"):
        model.reset_state()
    trace = _Trace()
    with no_grad(), test_mode(), _tracing(trace):
        result = model(*inputs)
    if hasattr(model, "reset_state"):
        model.reset_state()
    results = list(result) if isinstance(result, (tuple, list)) else [result]
    batch = arrays[0].shape[0] if dynamic_batch and arrays and arrays[0].ndim else None
    b = Builder(opset, batch)
    b.trace = trace  # type: ignore[attr-defined]
    b.made = trace.made
    names_in = list(input_names or [f"input{k}" if len(inputs) > 1 else "input" for k in range(len(inputs))])
    for v, name in zip(inputs, names_in):
        b.names[id(v)] = b.names[id(v.data)] = name
    joined = _joined_gates_class()
    means_of_windows, b.absorbed = _average_pools(trace)  # type: ignore[attr-defined]
    for f, args, outs in trace.calls:
        if joined is not None and type(f) is joined:
            for o in outs:  # the LSTM's joined gate weights: constants of the exported model
                b.bind([o], [b.const(o.data, "lstm_weights")])
            continue
        names: Optional[list]
        if id(f) in means_of_windows:
            names = means_of_windows[id(f)](b)
        else:
            converter = next((CONVERTERS[c] for c in type(f).__mro__ if c in CONVERTERS), None)
            if converter is None:
                raise ExportError(f"{type(f).__name__} has no ONNX mapping (zerograd.onnx.CONVERTERS lists what exports)")
            names = converter(b, f, list(args), outs)
        if names is not None:
            b.bind(outs, names)
    graph_outputs = list(output_names or [f"output{k}" if len(results) > 1 else "output" for k in range(len(results))])
    for r, name in zip(results, graph_outputs):
        b.node("Identity", [b.name_of(r)], outputs=[name])

    def value_info(name: str, array: np.ndarray) -> Any:
        dims: list[Any] = list(array.shape)
        if batch is not None and dims and dims[0] == batch:
            dims[0] = "batch"
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), dims)

    graph = helper.make_graph(b.nodes, type(model).__name__, [value_info(n, a) for n, a in zip(names_in, arrays)],
                              [value_info(n, as_numpy(_data(r))) for n, r in zip(graph_outputs, results)],
                              initializer=b.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="zerograd")
    try:
        onnx.checker.check_model(proto, full_check=True)  # (types too: a float32 weight meeting float64 data)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ExportError(f"the exported graph does not check ({str(e).splitlines()[0]}); mixed dtypes? cast "
                          "the model or the example inputs to one dtype") from None
    atomic_write(path, lambda fh: fh.write(proto.SerializeToString()))
    return proto


def _average_pools(trace: _Trace) -> tuple[dict[int, Callable[[Builder], list]], set[int]]:
    """Mean over axes (2, 3) of Im2col windows (how average_pooling computes) -> AveragePool: the
    Means to convert so, and the Im2cols they absorb."""
    made_by = {id(outs[0]): (f, args) for f, args, outs in trace.calls if type(f) is conv.Im2col}
    out: dict[int, Callable[[Builder], list]] = {}
    absorbed: set[int] = set()
    for f, args, outs in trace.calls:
        source = made_by.get(id(args[0])) if args else None
        if type(f) is reduction.Mean and source is not None and not source[0].to_matrix and tuple(f.axes) == (2, 3):
            window, (x,) = source

            def pool(b: Builder, window: Any = window, x: Any = x) -> list:
                from zerograd.functions.conv_utils import pair
                return b.node("AveragePool", [b.name_of(x)], kernel_shape=list(pair(window.kernel_size)),
                              strides=list(pair(window.stride)), pads=_pads(pair(window.pad)), count_include_pad=1)
            out[id(f)] = pool
            absorbed.add(id(window))
    return out, absorbed
