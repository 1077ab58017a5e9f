"""A fused LSTM cell: one function for the whole step (the four gate products in one matmul)."""
from __future__ import annotations

from typing import Any

from zerograd.backend import add_into, get_array_module
from zerograd.core import Function, Variable
from zerograd.functions.activation import sigmoid
from zerograd.functions.combine import concat
from zerograd.functions.elementwise import tanh
from zerograd.functions.indexing import get_item
from zerograd.functions.linalg import linear, matmul


def _sigmoid(xp, a):
    return xp.tanh(a * 0.5) * 0.5 + 0.5


class LSTMCell(Function):
    """One LSTM step. With a = (x @ Wx + b) + h @ Wh split into four blocks of H columns
    (forget, input, output, update):

        f, i, o = sigmoid(a_f), sigmoid(a_i), sigmoid(a_o);  u = tanh(a_u)
        c' = f * c + i * u;  h' = o * tanh(c')

    Outputs (h', c'). ``backward`` recomputes the step with framework ops, so second
    derivatives exist too; ``fast_backward``, the hand-derived gradient on arrays, reuses the
    gates kept from forward in one fused pass.
    """

    __slots__ = ("gates", "tanh_c")
    keeps_outputs = False
    array_backward = True

    def forward(self, x, h, c, Wx, Wh, b):
        xp = get_array_module(x)
        if Wh.ndim != 2 or Wx.ndim != 2 or b.ndim != 1:
            raise ValueError(f"lstm: Wx, Wh and b must be 2-D, 2-D and 1-D, got shapes {Wx.shape}, {Wh.shape}"
                             f" and {b.shape}")
        hidden = Wh.shape[0]
        if x.ndim != 2 or x.shape[1] != Wx.shape[0]:
            raise ValueError(f"lstm: x of shape {x.shape} does not fit Wx of shape {Wx.shape} (expected (N, {Wx.shape[0]}))")
        if h.shape != (x.shape[0], hidden) or c.shape != (x.shape[0], hidden):
            raise ValueError(f"lstm: h and c must have shape ({x.shape[0]}, {hidden}), got {h.shape} and {c.shape}")
        if Wx.shape[1] != 4 * hidden or Wh.shape != (hidden, 4 * hidden) or b.shape != (4 * hidden,):
            raise ValueError(f"lstm: Wx {Wx.shape}, Wh {Wh.shape} and b {b.shape} do not fit a hidden size of "
                             f"{hidden} (expected (in, {4 * hidden}), ({hidden}, {4 * hidden}), ({4 * hidden},))")
        a = x @ Wx
        a = add_into(a, b)
        a += h @ Wh
        sig = _sigmoid(xp, a[:, :3 * hidden])
        f, i, o = sig[:, :hidden], sig[:, hidden:2 * hidden], sig[:, 2 * hidden:]
        u = xp.tanh(a[:, 3 * hidden:])
        c_new = f * c + i * u
        tc = xp.tanh(c_new)
        self.gates = (f, i, o, u)
        self.tanh_c = tc
        return o * tc, c_new

    def fast_backward(self, gh, gc):
        xp = get_array_module(gh)
        x, h, c, Wx, Wh, b = self.inputs
        f, i, o, u = self.gates
        tc = self.tanh_c
        hidden = f.shape[1]
        gct = gc + gh * o * (1 - tc * tc)
        ga = xp.empty((gh.shape[0], 4 * hidden), dtype=gh.dtype)
        ga[:, :hidden] = gct * c.data * f * (1 - f)
        ga[:, hidden:2 * hidden] = gct * u * i * (1 - i)
        ga[:, 2 * hidden:3 * hidden] = gh * tc * o * (1 - o)
        ga[:, 3 * hidden:] = gct * i * (1 - u * u)
        return (ga @ Wx.data.T if x.requires_grad else None,
                ga @ Wh.data.T if h.requires_grad else None,
                gct * f if c.requires_grad else None,
                x.data.T @ ga if Wx.requires_grad else None,
                h.data.T @ ga if Wh.requires_grad else None,
                ga.sum(axis=0) if b.requires_grad else None)

    def backward(self, gh, gc):
        x, h, c, Wx, Wh, b = self.inputs
        hidden = Wh.shape[0]
        a = linear(x, Wx, b) + matmul(h, Wh)
        f = sigmoid(get_item(a, (slice(None), slice(0, hidden))))
        i = sigmoid(get_item(a, (slice(None), slice(hidden, 2 * hidden))))
        o = sigmoid(get_item(a, (slice(None), slice(2 * hidden, 3 * hidden))))
        u = tanh(get_item(a, (slice(None), slice(3 * hidden, None))))
        tc = tanh(f * c + i * u)
        gct = gc + gh * o * (1 - tc * tc)
        ga = concat([gct * c * f * (1 - f), gct * u * i * (1 - i), gh * tc * o * (1 - o), gct * i * (1 - u * u)],
                    axis=1)
        return (matmul(ga, Wx.T) if x.requires_grad else None,
                matmul(ga, Wh.T) if h.requires_grad else None,
                gct * f if c.requires_grad else None,
                matmul(x.T, ga) if Wx.requires_grad else None,
                matmul(h.T, ga) if Wh.requires_grad else None,
                ga.sum(axis=0) if b.requires_grad else None)


def lstm(x: Any, h: Any, c: Any, Wx: Any, Wh: Any, b: Any) -> tuple[Variable, Variable]:
    """One fused LSTM step; returns (h_new, c_new). Gate order in the weights: f, i, o, u."""
    return tuple(LSTMCell()(x, h, c, Wx, Wh, b))
