import math

import numpy as np
import pytest

import zerograd.functions as F
import zerograd.layers as L
from zerograd import Parameter, Variable, optimizers
from zerograd.models import MLP
from zerograd.optimizers import (SGD, AdaDelta, AdaGrad, Adam, AdamW, ClipGrad, CosineAnnealingLR, ExponentialLR,
                                 FreezeParam, MomentumSGD, RMSprop, StepLR, WarmupLR, WeightDecay)
from zerograd.serialization import CheckpointError

ALL = [SGD, MomentumSGD, AdaGrad, AdaDelta, Adam, AdamW, RMSprop]


def spiral_like(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2)).astype(np.float32)
    t = (x[:, 0] * x[:, 1] > 0).astype(np.int64) + (x[:, 0] > 1).astype(np.int64)
    return x, t


def train(opt, steps=40, seed=0, model=None):
    np.random.seed(seed)
    x, t = spiral_like()
    model = model or MLP((10, 3))
    opt.setup(model)
    losses = []
    for _ in range(steps):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update()
        losses.append(float(loss.data))
    return model, losses


@pytest.mark.parametrize("cls", ALL)
def test_every_optimizer_lowers_the_loss_and_keeps_float32(cls):
    opt = cls() if cls not in (SGD, MomentumSGD) else cls(lr=0.5)
    if cls is AdaDelta:
        opt = AdaDelta()
    model, losses = train(opt, steps=60)
    assert losses[-1] < losses[0]
    for p in model.params():
        assert p.data.dtype == np.float32
    for state in opt.state.values():
        for arr in state.values():
            assert arr.dtype == np.float32


def test_setup_returns_the_optimizer_and_update_needs_it():
    opt = SGD()
    assert opt.setup(MLP((2,))) is opt
    with pytest.raises(RuntimeError, match="setup"):
        SGD().update()


def test_sgd_update_is_exact():
    p = Parameter(np.array([1.0, 2.0]))
    layer = L.Linear(1, in_size=1)
    layer.p = p
    opt = SGD(lr=0.1).setup(layer)
    p.grad = Variable(np.array([10.0, -10.0]))
    opt.update()
    assert np.allclose(p.data, [0.0, 3.0])


def test_adam_steps_with_the_bias_corrected_rate_and_alpha_is_lr():
    opt = Adam(alpha=0.001)
    opt.t = 1
    assert opt.lr == opt.alpha == 0.001
    assert opt.corrected_lr == pytest.approx(0.001 * math.sqrt(1 - 0.999) / (1 - 0.9))
    opt.alpha = 0.01
    assert opt.lr == 0.01 and Adam(0.02).alpha == 0.02


@pytest.mark.parametrize("cls", ALL)
def test_every_optimizer_names_its_base_rate_lr_and_schedules_change_only_that(cls):
    opt = cls()
    others = {k: v for k, v in vars(opt).items() if isinstance(v, float) and k != "lr"}
    lr = opt.lr
    ExponentialLR(opt, gamma=0.5).step()
    assert opt.lr == pytest.approx(lr * 0.5)
    assert {k: v for k, v in vars(opt).items() if isinstance(v, float) and k != "lr"} == others


def test_state_dicts_written_with_the_old_rate_names_still_load():
    model = MLP((2,))
    model(np.ones((1, 2), np.float32))
    adam = Adam().setup(model)
    adam.load_state_dict({"t": np.asarray(3), "alpha": np.asarray(0.5)})
    assert adam.lr == 0.5 and adam.t == 3
    delta = AdaDelta().setup(model)
    delta.load_state_dict({"t": np.asarray(1), "lr": np.asarray(0.25)})
    assert delta.lr == 0.25 and delta.rho == 0.95
    delta.load_state_dict({"t": np.asarray(1), "rho": np.asarray(0.9)})  # (its old key)
    assert delta.rho == 0.9


def test_adamw_decays_weights_without_gradient_coupling():
    layer = L.Linear(1, in_size=1, nobias=True)
    layer.W.data[...] = 2.0
    opt = AdamW(alpha=0.1, weight_decay=0.5).setup(layer)
    layer.W.grad = Variable(np.zeros((1, 1), dtype=np.float32))
    opt.update()
    assert layer.W.data[0, 0] == pytest.approx(2.0 * (1 - 0.05))


def test_freeze_param_keeps_layers_unchanged_and_update_does_not_crash():
    model = MLP((5, 3))
    opt = SGD(lr=1.0).setup(model)
    x, t = spiral_like()
    model(x)
    frozen = model.l0.W.data.copy()
    trained = model.l1.W.data.copy()
    opt.add_hook(FreezeParam(model.l0))
    loss = F.softmax_cross_entropy(model(x), t)
    loss.backward()
    opt.update()
    assert np.array_equal(model.l0.W.data, frozen)
    assert not np.array_equal(model.l1.W.data, trained)


def test_weight_decay_adds_once_even_when_two_inputs_shared_a_gradient():
    layer = L.Linear(1, in_size=1, nobias=True)
    layer.a = Parameter(np.array([1.0]))
    layer.b = Parameter(np.array([1.0]))
    shared = Variable(np.array([1.0]))
    layer.a.grad = shared  # one gradient object held by two parameters (DeZero's case)
    layer.b.grad = shared
    WeightDecay(0.5)([layer.a, layer.b])
    assert layer.a.grad.data[0] == pytest.approx(1.5)
    assert layer.b.grad.data[0] == pytest.approx(1.5)


def test_clip_grad_limits_the_global_norm():
    a = Parameter(np.array([3.0]))
    b = Parameter(np.array([4.0]))
    a.grad = Variable(np.array([3.0]))
    b.grad = Variable(np.array([4.0]))
    ClipGrad(1.0)([a, b])
    norm = math.hypot(a.grad.data[0], b.grad.data[0])
    assert norm == pytest.approx(1.0, rel=1e-5)
    ClipGrad(10.0)([a, b])
    assert math.hypot(a.grad.data[0], b.grad.data[0]) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("cls", [MomentumSGD, Adam, AdamW, RMSprop, AdaGrad, AdaDelta])
def test_state_dict_resumes_training_exactly(cls):
    np.random.seed(1)
    model_a = MLP((6, 3))
    opt_a = cls().setup(model_a)
    x, t = spiral_like()

    def step(model, opt):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update()
        return float(loss.data)

    for _ in range(5):
        step(model_a, opt_a)
    weights = {k: v.copy() for k, v in model_a.state_dict().items()}
    opt_state = opt_a.state_dict()
    expected = [step(model_a, opt_a) for _ in range(5)]

    model_b = MLP((6, 3))
    model_b(x)
    model_b.load_state_dict(weights)
    opt_b = cls().setup(model_b)
    opt_b.load_state_dict(opt_state)
    resumed = [step(model_b, opt_b) for _ in range(5)]
    assert resumed == expected


def test_optimizer_state_with_unknown_keys_is_refused():
    model = MLP((2,))
    model(np.ones((1, 2), dtype=np.float32))
    opt = Adam().setup(model)
    with pytest.raises(CheckpointError, match="names no parameter"):
        opt.load_state_dict({"t": np.asarray(1), "state/l7/W/m": np.zeros((2, 2))})
    with pytest.raises(CheckpointError, match="unknown state"):
        opt.load_state_dict({"t": np.asarray(1), "state/l0/W/q": np.zeros((2, 2))})


def test_schedules():
    opt = SGD(lr=1.0)
    s = StepLR(opt, step_size=2, gamma=0.5)
    assert [s.step() for _ in range(4)] == [1.0, 0.5, 0.5, 0.25]
    opt = SGD(lr=1.0)
    e = ExponentialLR(opt, gamma=0.5)
    assert [e.step() for _ in range(2)] == [0.5, 0.25] and opt.lr == 0.25
    opt = Adam(alpha=0.1)
    c = CosineAnnealingLR(opt, t_max=4)
    lrs = [c.step() for _ in range(5)]
    assert lrs[1] == pytest.approx(0.05) and lrs[3] == pytest.approx(0.0) and opt.alpha == pytest.approx(0.0)
    opt = SGD(lr=1.0)
    w = WarmupLR(opt, warmup_steps=4, after=ExponentialLR(opt, 0.5))
    assert opt.lr == 0.25
    assert [w.step() for _ in range(6)] == [0.5, 0.75, 1.0, 1.0, 0.5, 0.25]
    state = w.state_dict()
    opt2 = SGD(lr=1.0)
    w2 = WarmupLR(opt2, warmup_steps=4, after=ExponentialLR(opt2, 0.5))
    w2.load_state_dict(state)
    assert opt2.lr == 0.25


def test_optimizers_module_names():
    assert optimizers.SGD is SGD
