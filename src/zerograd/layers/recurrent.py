"""Recurrent layers: RNN, LSTM and GRU, with ``reset_state()`` and truncated BPTT."""
from __future__ import annotations

import weakref
from typing import Any, Optional


from zerograd.backend import get_array_module
from zerograd.config import Config
from zerograd.core import Function, Variable
from zerograd.functions.activation import sigmoid
from zerograd.functions.dual import split
from zerograd.functions.elementwise import tanh
from zerograd.functions.recurrent import lstm
from zerograd.layers.base import Layer, check_device, create_lazily
from zerograd.layers.linear import Linear


class RNN(Layer):
    """Elman RNN: h' = tanh(x2h(x) + h2h(h)); the first step after a reset has no h2h term.

    The hidden-to-hidden layer takes ``hidden_size`` inputs (DeZero wires ``in_size`` there,
    which breaks on the second step).
    """

    def __init__(self, hidden_size: int, in_size: Optional[int] = None) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.x2h = Linear(hidden_size, in_size=in_size)
        # created lazily (from h's shape) when in_size is None, as in the book: same random draws
        self.h2h = Linear(hidden_size, in_size=None if in_size is None else hidden_size, nobias=True)
        self.h: Optional[Variable] = None

    def reset_state(self) -> None:
        self.h = None

    def forward(self, x: Any) -> Variable:
        if self.h is None:
            h_new = tanh(self.x2h(x))
        else:
            h_new = tanh(self.x2h(x) + self.h2h(self.h))
        self.h = h_new
        return h_new


class _JoinedGates(Function):
    """(Wx, b, Wh) from the twelve gate parameters, whose arrays are views into these joined
    arrays already: forward hands out the joined arrays themselves (no copy); backward cuts
    each gradient into its four gate blocks (dWx -> dx2f.W, ..., db -> dx2f.b, ...)."""

    array_backward = True
    trace_ignores = ("joined", "views")  # (forward copies any gate array that is no longer its view)

    def __init__(self, joined: tuple, views: list) -> None:
        super().__init__()
        self.joined = joined
        self.views = views

    def forward(self, *params):
        for p, view in zip(params, self.views):
            if p is not view:  # assigned a new array since the join (a replayed step does not join again)
                view[...] = p
        return self.joined

    def backward(self, gWx, gb, gWh):
        return tuple(split(gWx, 4, axis=1)) + tuple(split(gb, 4, axis=0)) + tuple(split(gWh, 4, axis=1))


_fused_owner: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # gate parameter -> its LSTM


class LSTM(Layer):
    """Long short-term memory with the book's parameters: ``x2f, x2i, x2o, x2u`` (input to
    gates, with bias) and ``h2f, h2i, h2o, h2u`` (hidden to gates, no bias), each a Linear layer.

    The step itself is fused: the four input weights (and biases, and hidden weights) live in
    one joined array each, and every gate parameter's array is a view into it (a column block:
    not contiguous), so an in-place edit (``p.data[...] = v``, ``np.copyto``, an optimizer's
    ``-=``) is the joined weights' edit, seen by the very next step at no cost. Assigning
    ``p.data = w`` (``load_weights``, ``to_gpu``) joins again at the next step, after which
    ``p.data`` is a view holding w's values. A gate parameter cannot also belong to another
    LSTM or to a second gate of this one (each view has one place); that is a clear error.
    """

    GATES = ("f", "i", "o", "u")
    #: (joined arrays, views, params, node), set by _join (bypassing __setattr__)
    _joined: tuple[Any, Any, Any, Any]

    def __init__(self, hidden_size: int, in_size: Optional[int] = None) -> None:
        super().__init__()
        H, I = hidden_size, in_size
        self.hidden_size = H
        self.x2f = Linear(H, in_size=I)
        self.x2i = Linear(H, in_size=I)
        self.x2o = Linear(H, in_size=I)
        self.x2u = Linear(H, in_size=I)
        self.h2f = Linear(H, in_size=H, nobias=True)
        self.h2i = Linear(H, in_size=H, nobias=True)
        self.h2o = Linear(H, in_size=H, nobias=True)
        self.h2u = Linear(H, in_size=H, nobias=True)
        self.reset_state()
        if in_size is not None:
            self._join()

    def reset_state(self) -> None:
        self.h: Optional[Variable] = None
        self.c: Optional[Variable] = None

    def __getstate__(self) -> dict:
        # a copy (copy.deepcopy, pickle) loses the views' link to the joined arrays: join afresh
        state = dict(self.__dict__)
        state.pop("_joined", None)
        return state

    def _gate_params(self) -> list:
        return [getattr(self, "x2" + g).W for g in self.GATES] + [getattr(self, "x2" + g).b for g in self.GATES] \
            + [getattr(self, "h2" + g).W for g in self.GATES]

    def _join(self) -> None:
        """Copy the gate parameters into joined arrays and make each parameter a view into them."""
        params = self._gate_params()
        if len(set(map(id, params))) != len(params):
            raise ValueError("LSTM: one parameter is used by two gates; the fused step needs a parameter per gate")
        for p in params:
            owner = _fused_owner.get(p)
            if owner is not None and owner() is not None and owner() is not self:
                raise ValueError(f"LSTM: the gate parameter {p.name!r} of shape {p.shape} also belongs to another "
                                 "LSTM; the fused step needs parameters of its own (share the whole LSTM instead)")
        for p in params:
            _fused_owner[p] = weakref.ref(self)
        xp = get_array_module(params[0].data)
        joined = (xp.concatenate([p.data for p in params[:4]], axis=1), xp.concatenate([p.data for p in params[4:8]]),
                  xp.concatenate([p.data for p in params[8:]], axis=1))
        h = self.hidden_size
        blocks = [slice(k * h, (k + 1) * h) for k in range(4)]
        views = [joined[0][:, c] for c in blocks] + [joined[1][c] for c in blocks] + [joined[2][:, c] for c in blocks]
        for p, view in zip(params, views):
            p._data = view  # not ``p.data =``: the values are the same
        object.__setattr__(self, "_joined", (joined, views, params, None))

    def _fused_weights(self) -> tuple:
        """(Wx, b, Wh): the joined arrays, recorded as one node per truncated-BPTT window (a
        window ends when ``unchain_backward`` cuts the node off) and joined again only after a
        gate parameter was assigned a new array."""
        state = self.__dict__.get("_joined")
        if state is None or any(p._data is not v for p, v in zip(state[2], state[1])) \
                or any(p is not q for p, q in zip(state[2], self._gate_params())):
            self._join()
            state = self._joined
        joined, views, params, node = state
        if not Config.enable_backprop:  # (a function even here: a replayed step follows loaded weights)
            return tuple(_JoinedGates(joined, views)(*self._gate_params()))
        if node is None or node[0].creator is None:
            node = tuple(_JoinedGates(joined, views)(*self._gate_params()))
            object.__setattr__(self, "_joined", (joined, views, params, node))
        return node

    def forward(self, x: Any) -> Variable:
        data = x.data if isinstance(x, Variable) else x
        xp = get_array_module(data)
        if self.x2f.W.data is None:
            if data.ndim != 2:
                raise ValueError(f"LSTM: the input must be (N, features), got shape {data.shape}")
            for g in self.GATES:  # the book's order of lazy initialisation: f, i, o, u
                layer = getattr(self, "x2" + g)
                layer.in_size = data.shape[1]
                create_lazily(self, layer.W, (layer.in_size, self.hidden_size), data)
        else:
            check_device(self, data, self.h2f.W)
        Wx, b, Wh = self._fused_weights()
        n = data.shape[0]
        h = self.h if self.h is not None else xp.zeros((n, self.hidden_size), dtype=Wh.dtype)
        c = self.c if self.c is not None else xp.zeros((n, self.hidden_size), dtype=Wh.dtype)
        h_new, c_new = lstm(x, h, c, Wx, Wh, b)
        self.h, self.c = h_new, c_new
        return h_new


class GRU(Layer):
    """Gated recurrent unit (beyond the book), PyTorch's formulation:

        z = sigmoid(x2z(x) + h2z(h)), r = sigmoid(x2r(x) + h2r(h)),
        n = tanh(x2n(x) + r * h2n(h)), h' = (1 - z) * n + z * h.
    """

    def __init__(self, hidden_size: int, in_size: Optional[int] = None) -> None:
        super().__init__()
        H, I = hidden_size, in_size
        self.hidden_size = H
        self.x2z = Linear(H, in_size=I)
        self.x2r = Linear(H, in_size=I)
        self.x2n = Linear(H, in_size=I)
        self.h2z = Linear(H, in_size=H, nobias=True)
        self.h2r = Linear(H, in_size=H, nobias=True)
        self.h2n = Linear(H, in_size=H)
        self.h: Optional[Variable] = None

    def reset_state(self) -> None:
        self.h = None

    def forward(self, x: Any) -> Variable:
        if self.h is None:
            z = sigmoid(self.x2z(x))
            n = tanh(self.x2n(x) + sigmoid(self.x2r(x)) * self.h2n.b)
            h_new = (1 - z) * n
        else:
            h = self.h
            z = sigmoid(self.x2z(x) + self.h2z(h))
            r = sigmoid(self.x2r(x) + self.h2r(h))
            n = tanh(self.x2n(x) + r * self.h2n(h))
            h_new = (1 - z) * n + z * h
        self.h = h_new
        return h_new


