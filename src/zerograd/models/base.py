"""Models: ``Model`` (a Layer that can draw its graph), ``Sequential`` and the book's ``MLP``."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

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

    By position, ``Sequential(L.Linear(10), F.relu, L.Linear(3))``: each Layer is registered as
    ``l<i>`` by its index among all the steps (plain callables count), so weights save as
    ``l0/W`` and ``l2/W``. By name, with keywords or one dict,
    ``Sequential(fc1=L.Linear(10), act=F.relu, fc2=L.Linear(3))`` or
    ``Sequential({"fc1": ..., "act": ..., "fc2": ...})``: each Layer is registered under its
    name (weights save as ``fc1/W``). The two forms do not mix. Plain callables are not
    registered (they hold no parameters) but show in ``repr`` and ``summary`` by their
    ``__name__``, under their name (``l1`` by position).
    """

    def __init__(self, *layers: Any, **named: Callable[..., Any]) -> None:
        super().__init__()
        if layers and named:
            raise TypeError("Sequential: give the steps either by position or by name (keywords or one dict), "
                            "not both")
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            named = dict(layers[0])
            layers = ()
        if not layers and not named:
            raise ValueError("Sequential: needs at least one layer")
        if layers:
            for i, layer in enumerate(layers):
                if isinstance(layer, Mapping):
                    raise TypeError(f"Sequential: item {i} is a dict; give the steps by name as the only "
                                    f"argument (or as keywords), not among positional steps")
                if not callable(layer):
                    raise TypeError(f"Sequential: item {i} ({type(layer).__name__}) is not callable")
            items = [(f"l{i}", layer) for i, layer in enumerate(layers)]
        else:
            items = list(named.items())
            for name, layer in items:
                self._check_name(name)
                if not callable(layer):
                    raise TypeError(f"Sequential: {name!r} ({type(layer).__name__}) is not callable")
        self.steps = [layer for _, layer in items]
        object.__setattr__(self, "_step_names", [name for name, _ in items])
        for name, layer in items:
            if isinstance(layer, Layer):
                setattr(self, name, layer)

    def _check_name(self, name: Any) -> None:
        """A step's name becomes an attribute and the first part of its weights' keys."""
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"Sequential: step names must be Python identifiers not starting with '_', "
                             f"got {name!r}")
        if name == "steps" or hasattr(type(self), name):
            raise ValueError(f"Sequential: the step name {name!r} is taken by an attribute of {type(self).__name__}")

    def _named_steps(self) -> list[tuple[str, Any]]:
        names = list(self.__dict__.get("_step_names", ()))
        names += [f"l{i}" for i in range(len(names), len(self.steps))]  # steps appended by hand
        return list(zip(names, self.steps))

    def _child_entries(self) -> list[tuple[str, Any]]:
        entries = self._named_steps()
        taken = {name for name, _ in entries}
        attrs = self.__dict__
        return entries + [(name, attrs[name]) for name in self._names if name not in taken]

    def _wrap_plain_steps(self, wrap: Any) -> Any:
        original = self.steps
        self.steps = [step if isinstance(step, Layer) else wrap(name, step) for name, step in self._named_steps()]

        def restore() -> None:
            self.steps = original
        return restore

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
