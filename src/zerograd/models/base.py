"""Models: ``Model`` (a Layer that can draw its graph), ``Sequential`` and the book's ``MLP``."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import zerograd.functions as F
import zerograd.layers as L
from zerograd.core import Variable
from zerograd.layers.base import Layer
from zerograd.utils.dot import plot_dot_graph


class Model(Layer):
    """A Layer meant to be trained as a whole."""

    def plot(self, *inputs: Any, to_file: str = "model.png") -> str:
        """Run the model on ``inputs`` and draw its graph with Graphviz (see ``plot_dot_graph``)."""
        y = self.forward(*inputs)
        return plot_dot_graph(y, verbose=True, to_file=to_file)


class Sequential(Model):
    """Layers (or plain callables such as ``F.relu``) applied in order.

    Layers are registered as ``l0``, ``l1``, ... by position, so weights save as ``l0/W``.
    """

    def __init__(self, *layers: Callable[..., Any]) -> None:
        super().__init__()
        if not layers:
            raise ValueError("Sequential: needs at least one layer")
        self.steps = list(layers)
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: item {i} ({type(layer).__name__}) is not callable")
            if isinstance(layer, Layer):
                setattr(self, f"l{i}", layer)

    def forward(self, x: Any) -> Variable:
        for step in self.steps:
            x = step(x)
        return x


class MLP(Model):
    """The book's multi-layer perceptron: Linear layers ``l0, l1, ...`` of the given output
    sizes, with ``activation`` between them (not after the last)."""

    def __init__(self, fc_output_sizes: Sequence[int], activation: Callable[[Any], Variable] = F.sigmoid) -> None:
        super().__init__()
        self.activation = activation
        self.layers = []
        for i, out_size in enumerate(fc_output_sizes):
            layer = L.Linear(out_size)
            setattr(self, "l" + str(i), layer)
            self.layers.append(layer)

    def forward(self, x: Any) -> Variable:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)
