"""Pictures of the graph: DOT text (no Graphviz needed) and rendering through Graphviz's ``dot``."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any, cast

from zerograd.core import Variable


def _dot_var(v: Variable, verbose: bool) -> str:
    label = "" if v.name is None else v.name
    if verbose and v.data is not None:
        if v.name is not None:
            label += ": "
        label += f"{tuple(v.shape)} {v.dtype}"
    label = label.replace('"', '\\"')
    return f'{id(v)} [label="{label}", color=orange, style=filled]\n'


def _dot_func(f: Any) -> str:
    text = f'{id(f)} [label="{type(f).__name__}", color=lightblue, style=filled, shape=box]\n'
    for x in f.inputs:
        text += f"{id(x)} -> {id(f)}\n"
    return text


def get_dot_graph(output: Variable, verbose: bool = True) -> str:
    """DOT source of the graph that computed ``output``: variables as ellipses, functions as boxes.

    With ``verbose``, variable labels show their shape and dtype. The walk is iterative.
    """
    if not isinstance(output, Variable):
        raise TypeError(f"get_dot_graph: expected a Variable, got {type(output).__name__}")
    lines = [_dot_var(output, verbose)]
    seen_vars = {id(output)}
    seen_funcs: set[int] = set()
    stack = [output]
    while stack:
        v = stack.pop()
        f = v.creator
        if f is None:
            continue
        lines.append(f"{id(f)} -> {id(v)}\n")
        if id(f) in seen_funcs:
            continue
        seen_funcs.add(id(f))
        lines.append(_dot_func(f))
        for x in cast("tuple[Variable, ...]", f.inputs):  # (set: f was recorded)
            if id(x) not in seen_vars:
                seen_vars.add(id(x))
                lines.append(_dot_var(x, verbose))
                stack.append(x)
    return "digraph g {\n" + "".join(lines) + "}\n"


def plot_dot_graph(output: Variable, verbose: bool = True, to_file: str = "graph.png") -> str:
    """Render the graph of ``output`` to ``to_file`` with Graphviz (format from the extension).

    Raises a clear error when the ``dot`` program is not installed, instead of
    failing silently. ``.dot`` files are written without Graphviz. Returns the path written.
    """
    dot_text = get_dot_graph(output, verbose)
    ext = os.path.splitext(to_file)[1][1:].lower() or "png"
    directory = os.path.dirname(os.path.abspath(to_file))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"plot_dot_graph: folder {directory!r} does not exist")
    if ext in ("dot", "gv"):
        with open(to_file, "w", encoding="utf-8") as fh:
            fh.write(dot_text)
        return to_file
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "plot_dot_graph: Graphviz's 'dot' program was not found on PATH. Install Graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
            "conda: conda install graphviz), or write DOT text with to_file='graph.dot' "
            "or get_dot_graph(output)."
        )
    with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False, encoding="utf-8") as fh:
        fh.write(dot_text)
        tmp = fh.name
    try:
        result = subprocess.run([dot, tmp, "-T", ext, "-o", to_file], capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    if result.returncode != 0:
        raise RuntimeError(f"plot_dot_graph: dot failed ({result.returncode}): {result.stderr.strip()}")
    return to_file
