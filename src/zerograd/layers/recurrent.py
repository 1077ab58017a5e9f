"""Recurrent layers: RNN, LSTM and GRU, with ``reset_state()`` and truncated BPTT."""
from __future__ import annotations

from typing import Any, Optional


from zerograd.backend import get_array_module
from zerograd.config import Config
from zerograd.core import Variable
from zerograd.functions.activation import sigmoid
from zerograd.functions.combine import concat
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


class LSTM(Layer):
    """Long short-term memory with the book's parameters: ``x2f, x2i, x2o, x2u`` (input to
    gates, with bias) and ``h2f, h2i, h2o, h2u`` (hidden to gates, no bias), each a Linear layer.

    The step itself is fused: the four input weights (and the four hidden weights) are joined
    into one matrix and the whole step is one function (:func:`zerograd.functions.lstm`).
    """

    GATES = ("f", "i", "o", "u")

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

    def reset_state(self) -> None:
        self.h: Optional[Variable] = None
        self.c: Optional[Variable] = None

    def _fused_weights(self) -> tuple[Variable, Variable, Variable]:
        """The gate weights joined as (Wx, b, Wh). Joined once and reused, step after step,
        while no parameter has been assigned (``Parameter.version``) and the joined weights are
        still in a recorded graph (truncated BPTT's ``unchain_backward`` ends a window).

        After a join each gate parameter's array is a view into the joined arrays, so an
        in-place edit (``p.data[...] = v``, ``np.copyto(p.data, w)``) reaches the very next step;
        assigning ``p.data`` makes a new version, hence a new join."""
        params = [getattr(self, "x2" + g).W for g in self.GATES] + [getattr(self, "x2" + g).b for g in self.GATES] \
            + [getattr(self, "h2" + g).W for g in self.GATES]
        key = tuple((id(p), p.version) for p in params)
        cached = self.__dict__.get("_fused")
        if cached is not None and cached[0] == key:
            joined = cached[1]
            if not Config.enable_backprop or joined[0].creator is not None:
                return joined
        joined = (concat(params[:4], axis=1), concat(params[4:8], axis=0), concat(params[8:], axis=1))
        h = self.hidden_size
        for k in range(4):
            cols = slice(k * h, (k + 1) * h)
            params[k]._data = joined[0].data[:, cols]  # (not .data =: that would be a new version)
            params[4 + k]._data = joined[1].data[cols]
            params[8 + k]._data = joined[2].data[:, cols]
        object.__setattr__(self, "_fused", (key, joined))
        return joined

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


