"""``Layer.summary``: one forward pass on example inputs, and a table of each layer's output shape
and parameter count."""
from __future__ import annotations

from typing import Any

from zerograd.config import no_grad, test_mode
from zerograd.core import Parameter, Variable
from zerograd.layers.base import Layer


def summary(model: Layer, *inputs: Any, quiet: bool = False) -> str:
    """Run one forward pass on the example ``inputs`` and print (unless ``quiet``) and return
    a table of the layers: path (``l0``, ``enc/conv1``), type, output shape and the number of
    parameters each holds itself (a container's sub-layers are counted on their own rows),
    then the totals (all parameters, trainable ones, buffers if any).

    The pass runs under ``no_grad()`` and ``test_mode()``: no graph is recorded, dropout and
    batch norm behave as in inference (batch norm's running statistics are not updated).
    It is a real forward pass all the same: lazy parameters are created by it (drawing
    random numbers from NumPy's global generator, as the first call in training would, so
    a seeded run draws different numbers afterwards), and the inputs must fit the model.
    Variables a layer keeps between calls (a recurrent layer's state) are put back as they
    were.

    Output shapes are caught by wrapping each sub-layer's ``forward`` on the instance (and a
    ``Sequential``'s plain callables such as ``F.relu``, shown by name) for this one pass;
    the wrappers are removed afterwards, also when the pass raises. A layer called several
    times gets a row per call (``l0 (call 2)``); its parameters are counted on the first.
    Layers that the pass does not reach are listed at the end as "not called".
    """

    def describe_output(y: Any) -> str:
        if isinstance(y, (tuple, list)):
            return "[" + ", ".join(describe_output(v) for v in y) + "]"
        shape = getattr(y, "shape", None)
        if isinstance(shape, tuple):
            return str(tuple(int(n) for n in shape))
        return "None" if y is None else type(y).__name__

    def size(p: Any) -> int:
        return int(p.data.size) if p.data is not None else 0

    # the tree: each layer once, at its first path; its own parameters (new) and tied ones
    info: dict[int, dict] = {}
    tree: list[Layer] = []
    seen_params: set = set()

    def walk(layer: Layer, path: str) -> None:
        own: list[Parameter] = []
        tied: list[Parameter] = []
        for name, obj in layer._child_entries():
            if isinstance(obj, Parameter):
                (tied if id(obj) in seen_params else own).append(obj)
                seen_params.add(id(obj))
        info[id(layer)] = {"layer": layer, "path": path, "aliases": [], "own": own, "tied": tied,
                           "leaf": layer._is_leaf_for_repr()}
        tree.append(layer)
        for name, obj in layer._child_entries():
            if isinstance(obj, Layer):
                sub = f"{path}/{name}" if path else name
                if id(obj) in info:
                    info[id(obj)]["aliases"].append(sub)
                else:
                    walk(obj, sub)

    walk(model, "")

    rows: list[dict] = []
    calls: dict = {}
    noted: set = set()

    def record(key: Any, path: str, kind: str, fn: Any, args: tuple, kwargs: dict) -> Any:
        calls[key] = calls.get(key, 0) + 1
        row = {"key": key, "path": path, "type": kind, "call": calls[key], "out": "?"}
        rows.append(row)
        try:
            y = fn(*args, **kwargs)
        except BaseException as e:
            if id(e) not in noted and hasattr(e, "add_note"):
                noted.add(id(e))
                e.add_note(f"(raised in {path or type(model).__name__} ({kind}) during "
                           f"{type(model).__name__}.summary)")
            raise
        row["out"] = describe_output(y)
        return y

    def wrap_layer(layer: Layer, path: str) -> Any:
        inner = layer.forward
        kind = type(layer).__name__

        def forward(*args: Any, **kwargs: Any) -> Any:
            return record(id(layer), path, kind, inner, args, kwargs)
        return forward

    def wrap_step(path: str, fn: Any) -> Any:
        kind = model._describe_callable(fn)

        def step(*args: Any, **kwargs: Any) -> Any:
            return record(("step", path), path, kind, fn, args, kwargs)
        return step

    missing = object()
    patched: list[tuple[Layer, Any]] = []
    restorers: list = []
    states = [(layer, dict(layer.__dict__)) for layer in tree]
    try:
        for layer in tree:
            path = info[id(layer)]["path"]
            if layer is not model:
                forward = wrap_layer(layer, path)
                patched.append((layer, layer.__dict__.get("forward", missing)))
                layer.__dict__["forward"] = forward
            restorers.append(layer._wrap_plain_steps(
                lambda name, fn, path=path: wrap_step(f"{path}/{name}" if path else name, fn)))
        with no_grad(), test_mode():
            y = model(*inputs)
    finally:
        for restore in reversed(restorers):
            restore()
        for layer, old in reversed(patched):
            if old is missing:
                layer.__dict__.pop("forward", None)
            else:
                layer.__dict__["forward"] = old
        for layer, before in states:  # a recurrent layer's state, as it was
            for k, v in list(layer.__dict__.items()):
                if isinstance(v, Variable) and not isinstance(v, Parameter) and before.get(k, missing) is not v:
                    if k in before:
                        setattr(layer, k, before[k])
                    else:
                        delattr(layer, k)

    # the table
    def params_text(meta: dict) -> str:
        own, tied = meta["own"], meta["tied"]
        if not own and not tied:
            return "0" if meta["leaf"] else "-"
        lazy = sum(p.data is None for p in own)
        if own and lazy == len(own):
            text = "?"  # not created: the pass did not reach the layer
        else:
            text = f"{sum(size(p) for p in own):,}" + (" + ?" if lazy else "")
        if tied:
            text += f" (+{sum(size(p) for p in tied):,} shared)"
        return text

    table: list[tuple[str, str, str, str]] = []
    me = info[id(model)]
    if me["own"] or me["tied"] or len(tree) == 1 and not rows:
        table.append(("(self)", type(model).__name__, describe_output(y), params_text(me)))
    for row in rows:
        key = row["key"]
        path = row["path"]
        if isinstance(key, tuple):  # a plain callable
            if row["call"] > 1:
                path += f" (call {row['call']})"
            table.append((path, row["type"], row["out"], "0" if row["call"] == 1 else "-"))
            continue
        meta = info[key]
        if row["call"] == 1 and meta["aliases"]:
            path += f" (also {', '.join(meta['aliases'])})"
        if row["call"] > 1:
            path += f" (call {row['call']})"
        table.append((path, row["type"], row["out"], params_text(meta) if row["call"] == 1 else "-"))
    called = {row["key"] for row in rows}
    for layer in tree[1:]:
        if id(layer) not in called:
            meta = info[id(layer)]
            table.append((meta["path"], type(layer).__name__, "not called", params_text(meta)))

    header = ("Layer", "Type", "Output shape", "Params")
    widths = [max(len(r[i]) for r in [header] + table) for i in range(4)]

    def fmt(r: tuple) -> str:
        return "  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]),
                          r[3].rjust(widths[3])]).rstrip()
    rule = "-" * (sum(widths) + 6)
    shapes = ", ".join(describe_output(x) for x in inputs)
    lines = [f"{type(model).__name__}: input{'s' if len(inputs) != 1 else ''} {shapes or '()'}"
             f" -> output {describe_output(y)}", fmt(header), rule]
    lines += [fmt(r) for r in table]
    lines.append(rule)
    params = model._param_list()
    total = sum(size(p) for p in params)
    trainable = sum(size(p) for p in params if p.requires_grad)
    lines.append(f"Total parameters: {total:,}")
    lines.append(f"Trainable parameters: {trainable:,}")
    if trainable != total:
        lines.append(f"Non-trainable parameters: {total - trainable:,}")
    lazy = [k for k, p in model.named_params() if p.data is None]
    if lazy:
        lines.append(f"Parameters not created yet (not counted): {', '.join(lazy)}")
    buffers = [b for _, b in model.named_buffers()]
    if buffers:
        values = sum(int(b.data.size) for b in buffers if b.data is not None)
        lines.append(f"Buffers: {len(buffers)} ({values:,} values)")
    text = "\n".join(lines)
    if not quiet:
        print(text)
    return text
