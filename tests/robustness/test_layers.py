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


# ----------------------------------------------------- bad inputs to ops: clear errors, no wrap-around
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.transpose(np.ones((2, 3)), (0, 5)), ValueError, r"transpose: axes \(0, 5\) are not a permutation"),
    (lambda: F.squeeze(np.ones((2, 1)), axis=3), ValueError, "squeeze: axis 3 is out of range"),
    (lambda: F.embed_id(np.array([0, -1]), np.ones((3, 2))), ValueError, r"embed_id: ids must lie in \[0, 3\)"),
    (lambda: F.embed_id(np.array([3]), np.ones((3, 2))), ValueError, r"embed_id: ids must lie in \[0, 3\)"),
    (lambda: F.conv2d(np.ones((1, 2, 4, 4)), np.ones((3, 2, 3, 3)), np.ones(4)), ValueError,
     "conv2d: b of shape"),
    (lambda: F.deconv2d(np.ones((1, 2, 4, 4)), np.ones((2, 3, 3, 3)), np.ones(4)), ValueError,
     "deconv2d: b of shape"),
    (lambda: F.batch_norm(np.ones((1, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3)), ValueError,
     "expected more than 1 value per channel when training"),
    (lambda: F.batch_norm(np.ones((4, 3)), np.ones(2), np.zeros(3), np.zeros(3), np.ones(3)), ValueError,
     r"batch_norm: gamma of shape \(2,\) does not match 3 channels"),
])
def test_bad_arguments_are_errors_that_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_embed_id_copies_its_ids_so_editing_them_before_backward_changes_nothing():
    from zerograd import Variable
    W = Variable(np.ones((3, 2)))
    ids = np.array([0, 0, 1])
    y = F.embed_id(ids, W)
    ids[:] = 2
    F.sum(y).backward()
    assert np.array_equal(W.grad.data[:, 0], [2.0, 1.0, 0.0])


OPTIMIZERS = [optimizers.SGD, optimizers.MomentumSGD, optimizers.AdaGrad, optimizers.AdaDelta, optimizers.Adam,
              optimizers.RMSprop, optimizers.AdamW]


@pytest.mark.parametrize("opt_cls", OPTIMIZERS)
@pytest.mark.parametrize("hook", [None, optimizers.WeightDecay(0.1), optimizers.ClipGrad(1.0)])
def test_a_0d_parameter_trains_with_every_optimizer_and_hook(opt_cls, hook):
    from zerograd import Parameter

    class Square(Model):
        def __init__(self):
            super().__init__()
            self.p = Parameter(np.array(2.0))

        def forward(self):
            return self.p * self.p

    model = Square()
    opt = opt_cls().setup(model)
    if hook is not None:
        opt.add_hook(hook)
    for _ in range(3):
        model.cleargrads()
        model().backward()
        opt.update()
    assert type(model.p.data) is np.ndarray and model.p.shape == () and 0 < float(model.p.data) < 2.0
    again = opt_cls().setup(model)
    again.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("edit", ["setitem", "copyto"])
@pytest.mark.parametrize("recorded", [True, False])
def test_an_in_place_edit_of_an_lstm_weight_reaches_the_next_step(edit, recorded):
    from zerograd import Variable, no_grad, using_config

    np.random.seed(0)
    x = np.random.randn(3, 2)
    lstm = L.LSTM(4, in_size=2)
    with using_config("enable_backprop", recorded):
        lstm(x)
        h_before = lstm.h.data.copy()
        c_before = lstm.c.data.copy()
        new = np.full(lstm.x2u.W.shape, 0.3, dtype=lstm.x2u.W.dtype)
        if edit == "setitem":
            lstm.x2u.W.data[...] = new
        else:
            np.copyto(lstm.x2u.W.data, new)
        y = lstm(x).data
    ref = L.LSTM(4, in_size=2)
    ref(x)  # create the parameters, then copy the edited ones in
    ref.load_state_dict({k: v.copy() for k, v in lstm.state_dict().items()})
    ref.h, ref.c = Variable(h_before), Variable(c_before)
    with no_grad():
        assert np.allclose(y, ref(x).data)


def _lstm_output(lstm, x):
    lstm.reset_state()
    return lstm(x).data.copy()


@pytest.mark.parametrize("lazy", [True, False])
def test_a_reference_taken_before_the_first_step_stays_the_lstms_weight(lazy):
    x = np.ones((2, 3), np.float32)
    lstm = L.LSTM(4) if lazy else L.LSTM(4, in_size=3)
    if lazy:
        lstm(x)
    w = lstm.x2i.W.data
    before = _lstm_output(lstm, x)
    w[...] = 0
    assert lstm.x2i.W.data is w and not np.allclose(_lstm_output(lstm, x), before)


def test_an_optimizer_step_keeps_the_lstm_joined_and_correct():
    from zerograd import Variable
    np.random.seed(0)
    x = np.random.randn(2, 3).astype(np.float32)
    lstm = L.LSTM(4, in_size=3)
    opt = optimizers.SGD(0.5).setup(lstm)
    for _ in range(3):
        lstm.reset_state()
        lstm.cleargrads()
        F.sum(lstm(x) * lstm(x)).backward()
        opt.update()
    ref = L.LSTM(4, in_size=3)
    ref.load_state_dict({k: v.copy() for k, v in lstm.state_dict().items()})
    assert np.array_equal(_lstm_output(lstm, x), _lstm_output(ref, x))


def test_a_gate_parameter_shared_by_two_lstms_or_two_gates_is_a_clear_error():
    x = np.ones((2, 3), np.float32)
    a, b = L.LSTM(4, in_size=3), L.LSTM(4, in_size=3)
    b.x2i.W = a.x2i.W
    a(x)
    with pytest.raises(ValueError, match="also belongs to another LSTM"):
        b(x)
    tied = L.LSTM(4, in_size=3)
    tied.x2o.W = tied.x2i.W
    with pytest.raises(ValueError, match="used by two gates"):
        tied(x)


def test_a_copied_lstm_sees_edits_of_its_own_weights():
    import copy
    x = np.ones((2, 3), np.float32)
    lstm = L.LSTM(4, in_size=3)
    lstm(x)
    twin = copy.deepcopy(lstm)
    before = _lstm_output(twin, x)
    twin.x2i.W.data[...] = 0
    assert not np.allclose(_lstm_output(twin, x), before)
    assert np.allclose(_lstm_output(lstm, x), before)


def test_labels_and_index_arrays_edited_before_backward_change_nothing():
    from zerograd import Variable
    x = Variable(np.zeros((2, 3)))
    t = np.array([0, 1])
    loss = F.softmax_cross_entropy(x, t)
    t[:] = 2
    loss.backward()
    assert x.grad.data[0, 0] < 0 and x.grad.data[1, 1] < 0 and x.grad.data[0, 2] > 0
    v = Variable(np.arange(4.0))
    idx = np.array([0, 0, 1])
    y = v[idx]
    idx[:] = 3
    F.sum(y).backward()
    assert np.array_equal(v.grad.data, [2.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("call, message", [
    (lambda: F.pooling(np.ones((1, 1, 4, 4)), 2, 2, pad=2), r"pooling: pad \(2, 2\) is more than half the kernel"),
    (lambda: F.average_pooling(np.ones((1, 1, 4, 4)), 3, 1, pad=2), "average_pooling: pad"),
])
def test_pooling_padding_beyond_half_the_kernel_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("data", [np.array(["a", "b"]), np.array([object(), 1], dtype=object),
                                  np.zeros(2, dtype=[("a", "f8")])])
def test_object_string_and_structured_arrays_are_refused(data):
    from zerograd import Variable
    with pytest.raises(TypeError, match="Variable: data must be numeric"):
        Variable(data)
    with pytest.raises(TypeError, match="Variable: data must be numeric"):
        F.exp(data)


@pytest.mark.parametrize("call, message", [
    (lambda: F.layer_norm(np.ones((3, 4)), np.ones(5), np.ones(4)), r"layer_norm: mul: shapes \(3, 4\) and \(5,\)"),
    (lambda: F.binary_cross_entropy(np.full(3, 0.5), np.ones(4)), "binary_cross_entropy: "),
    (lambda: F.log_softmax(np.ones(3), axis=2), "log_softmax: logsumexp: axis 2 is out of range"),
    (lambda: F.conv2d_simple(np.array(1.0), np.ones((1, 1, 1, 1))), r"conv2d_simple: expected x of shape"),
    (lambda: F.pooling_simple(np.ones(3), 2), r"pooling_simple: expected an input of shape \(N, C, H, W\)"),
    (lambda: F.average_pooling(np.ones((1, 1, 2, 2)), 3), "average_pooling: "),
])
def test_an_error_inside_a_composite_names_the_function_called(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_batch_norm_statistics_are_buffers_saved_with_the_weights_but_never_parameters(tmp_path):
    np.random.seed(0)
    model = Sequential(L.Linear(3, in_size=2), L.BatchNorm())
    x = np.random.randn(8, 2).astype(np.float32)
    model(x)
    assert [k for k, _ in model.named_params()] == ["l0/W", "l0/b", "l1/gamma", "l1/beta"]
    assert sorted(model.state_dict()) == ["l0/W", "l0/b", "l1/avg_mean", "l1/avg_var", "l1/beta", "l1/gamma"]
    opt = optimizers.SGD(0.1).setup(model)
    opt.add_hook(optimizers.WeightDecay(0.5))
    before = model.l1.avg_var.data.copy()
    model.cleargrads()
    F.sum(model(x)).backward()
    after_forward = model.l1.avg_var.data.copy()
    opt.update()
    assert np.array_equal(model.l1.avg_var.data, after_forward) and not np.array_equal(before, after_forward)
    model.save_weights(tmp_path / "bn.npz")
    other = Sequential(L.Linear(3, in_size=2), L.BatchNorm())
    other.load_weights(tmp_path / "bn.npz")
    assert np.array_equal(other.l1.avg_mean.data, model.l1.avg_mean.data)
    assert np.array_equal(other.l1.avg_var.data, model.l1.avg_var.data)


def test_a_layer_list_registers_its_layers_as_l0_l1(tmp_path):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.blocks = L.LayerList(L.Linear(3, in_size=2), L.Linear(2, in_size=3))

        def forward(self, x):
            return self.blocks(x)

    net = Net()
    net.blocks.append(L.Linear(1, in_size=2))
    assert len(net.blocks) == 3 and isinstance(net.blocks[-1], L.Linear)
    assert [k for k, _ in net.named_params()] == ["blocks/l0/W", "blocks/l0/b", "blocks/l1/W", "blocks/l1/b",
                                                  "blocks/l2/W", "blocks/l2/b"]
    assert net(np.ones((4, 2), np.float32)).shape == (4, 1)
    net.save_weights(tmp_path / "net.npz")
    again = Net()
    again.blocks.append(L.Linear(1, in_size=2))
    again.load_weights(tmp_path / "net.npz")
    with pytest.raises(TypeError, match="LayerList: items must be Layers"):
        L.LayerList(F.relu)


@pytest.mark.parametrize("hook", [lambda: optimizers.ClipGrad(0.1), lambda: optimizers.WeightDecay(0.1)])
def test_hooks_after_freezeparam_skip_the_frozen_parameter(hook):
    m = L.Linear(2, in_size=2)
    b = m.b.data.copy()
    opt = optimizers.SGD().setup(m).add_hook(optimizers.FreezeParam(m.b)).add_hook(hook())
    F.sum(m(np.ones((1, 2), np.float32))).backward()
    opt.update()
    assert np.array_equal(m.b.data, b)


@pytest.mark.parametrize("make", [lambda o: optimizers.StepLR(o, 0), lambda o: optimizers.CosineAnnealingLR(o, 0),
                                  lambda o: optimizers.WarmupLR(o, 0)])
def test_schedules_of_no_length_are_refused_at_once(make):
    with pytest.raises(ValueError, match="must be an integer of at least 1"):
        make(optimizers.SGD(0.1).setup(L.Linear(2, in_size=2)))


def test_a_warmup_schedule_round_trips_at_step_zero():
    opt = optimizers.SGD(0.1).setup(L.Linear(2, in_size=2))
    sched = optimizers.WarmupLR(opt, 4)
    again = optimizers.SGD(0.1).setup(L.Linear(2, in_size=2))
    optimizers.WarmupLR(again, 4).load_state_dict(sched.state_dict())
    assert again.lr == opt.lr == pytest.approx(0.025)


def test_ops_name_their_bad_arguments():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: shapes \(2, 3\) and \(3, 2\) differ"):
        F.binary_cross_entropy(np.full((2, 3), 0.5), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="pooling_simple: pad"):
        F.pooling_simple(np.ones((1, 1, 4, 4)), 2, pad=2)
    with pytest.raises(ValueError, match="argmax: axis 2 is out of range"):
        F.argmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="^pooling: "):
        F.pooling(np.ones((1, 1, 4, 4)), 2, stride=(1, 2, 3))
    with pytest.raises(TypeError, match="accuracy: labels must be integers"):
        F.accuracy(np.zeros((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"accuracy: labels must lie in \[0, 3\)"):
        F.accuracy(np.zeros((2, 3)), np.array([5, 1]))
