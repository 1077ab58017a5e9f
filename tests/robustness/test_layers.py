"""Adversarial cases for layers and optimizers: shared parameters are one parameter."""
import numpy as np
import pytest

import zerograd.functions as F
import zerograd.layers as L
from zerograd import optimizers
from zerograd.models import Model, Sequential


class TiedAutoencoder(Model):
    def __init__(self):
        super().__init__()
        self.enc = L.Linear(4, in_size=4)
        self.dec = L.Linear(4, in_size=4)
        self.dec.W = self.enc.W  # tied: one parameter registered twice

    def forward(self, x):
        return self.dec(F.tanh(self.enc(x)))


def test_a_layer_used_twice_lists_its_parameters_once():
    lin = L.Linear(4, in_size=4)
    model = Sequential(lin, F.tanh, lin)
    assert len(list(model.params())) == 2
    assert [k for k, _ in model.named_params()] == ["l0/W", "l0/b"]


@pytest.mark.parametrize("opt_cls", [optimizers.SGD, optimizers.MomentumSGD, optimizers.AdaGrad,
                                     optimizers.AdaDelta, optimizers.Adam, optimizers.RMSprop,
                                     optimizers.AdamW])
def test_a_shared_parameter_is_updated_once_per_step(opt_cls):
    np.random.seed(0)
    lin = L.Linear(4, in_size=4)
    model = Sequential(lin, F.tanh, lin)
    twin = Sequential(L.Linear(4, in_size=4))  # the same step on an untied copy of the parameter
    twin.l0.W.data = lin.W.data.copy()
    twin.l0.b.data = lin.b.data.copy()
    x = np.random.randn(2, 4)
    opt = opt_cls().setup(model)
    loss = F.sum(model(x) ** 2)
    model.cleargrads()
    loss.backward()
    g = lin.W.grad.data.copy()
    opt.update()
    opt2 = opt_cls().setup(twin)
    twin.cleargrads()
    twin.l0.W.grad = lin.W.grad.__class__(g)
    twin.l0.b.grad = lin.b.grad.__class__(np.zeros(4))
    opt2.update()
    assert np.allclose(lin.W.data, twin.l0.W.data)


def test_weight_decay_and_clip_grad_count_a_shared_parameter_once():
    lin = L.Linear(2, in_size=2)
    model = Sequential(lin, lin)
    lin.W.data[...] = 1.0
    opt = optimizers.SGD(0.0).setup(model)
    seen = []
    opt.add_hook(lambda params: seen.extend(params))
    opt.add_hook(optimizers.WeightDecay(0.5))
    model.cleargrads()
    F.sum(model(np.ones((1, 2)))).backward()
    g = lin.W.grad.data.copy()
    opt.update()
    assert len(seen) == len({id(p) for p in seen}) == 2
    assert np.allclose(lin.W.grad.data, g + 0.5 * lin.W.data)


def test_tied_weights_are_saved_once_and_the_tie_survives_loading(tmp_path):
    model = TiedAutoencoder()
    model(np.ones((1, 4)))
    keys = [k for k, _ in model.named_params()]
    assert keys == ["enc/W", "enc/b", "dec/b"]
    path = tmp_path / "tied.npz"
    model.save_weights(path)
    other = TiedAutoencoder()
    other.load_weights(path)
    assert other.dec.W is other.enc.W
    assert np.array_equal(other.enc.W.data, model.enc.W.data)
