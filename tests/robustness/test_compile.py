"""zerograd.compile tried adversarially: each case once gave a silent wrong answer (or a poor message).
A compiled step must give eager execution's numbers, or run eagerly with one CompileWarning."""
import collections
import warnings

import numpy as np
import pytest

import zerograd as zg
import zerograd.functions as F
import zerograd.layers as L
from zerograd import optimizers
from zerograd.models import MLP


def _run(make_step, n=6, between=None, make_opt=lambda m: optimizers.SGD(0.1).setup(m), data=None):
    """Eager and compiled runs of ``make_step(model, opt)`` on identical MLPs: (losses, W, step, warnings)."""
    r = np.random.RandomState(0)
    data = data or [(r.randn(8, 10).astype(np.float32), r.randint(0, 3, 8)) for _ in range(n)]
    out = []
    for compiled in (False, True):
        np.random.seed(0)
        model = MLP((10, 3))
        with zg.no_grad():
            model(np.zeros((1, 10), np.float32))
        opt = make_opt(model)
        step = make_step(model, opt)
        if compiled:
            step = zg.compile(step)
        losses = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i, args in enumerate(data):
                if between:
                    between(i, model, opt)
                losses.append(np.asarray(step(*args).data).tobytes())
        out.append((losses, model.l0.W.data.copy(), step, [str(w.message) for w in caught]))
    return out


def _agrees(make_step, warns=None, **kwargs):
    (le, we, _, _), (lc, wc, step, caught) = _run(make_step, **kwargs)
    assert le == lc and np.array_equal(we, wc), step
    if warns is None:
        assert not caught, caught
    else:
        assert len(caught) == 1 and warns in caught[0], caught
    return step


def _sgd_step(extra):
    def make(model, opt):
        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            extra(model, opt, loss)
            return loss
        return step
    return make


def _manual_sgd(model, opt, loss):
    for p in model.params():
        p.data -= 0.1 * p.grad.data


@pytest.mark.parametrize("extra, warns", [
    (_manual_sgd, "it assigns v.data"),
    (lambda m, o, loss: (setattr(m.l0.W, "grad", None), o.update()), "it assigns v.grad"),
    (lambda m, o, loss: (setattr(o, "lr", o.lr * 0.9), o.update()), "sets the optimizer's 'lr'"),
    (lambda m, o, loss: [o.update_one(p) for p in m.params()], "outside optimizer.update()"),
    (lambda m, o, loss: (m.l0.W.register_hook(lambda g: g * 0).remove(), o.update()), "gradient hook"),
    (lambda m, o, loss: o.update() if np.isfinite(m.l0.W.grad.data).all() else None, "reads .data"),
])
def test_work_on_training_state_outside_functions_runs_eagerly(extra, warns):
    assert _agrees(_sgd_step(extra), warns=warns).replays == 0


def test_a_schedule_stepped_inside_the_step_runs_eagerly():
    def make(model, opt):
        schedule = optimizers.ExponentialLR(opt, 0.5)

        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update()
            schedule.step()
            return loss
        return step
    _agrees(make, warns="sets the optimizer's")


def test_an_optimizer_with_its_own_update_is_replayed_by_calling_it():
    class Averaging(optimizers.SGD):
        def update(self):
            super().update()
            for p in self.target.params():
                avg = self.state.setdefault(("avg", id(p)), p.data.copy())
                avg *= 0.5
                avg += 0.5 * p.data
    (le, we, _, _), (lc, wc, step, caught) = _run(_sgd_step(lambda m, o, loss: o.update()),
                                                  make_opt=lambda m: Averaging(0.1).setup(m))
    assert le == lc and np.array_equal(we, wc) and step.replays == 4 and not caught


def test_control_flow_on_a_hidden_counter_runs_eagerly():
    def make(model, opt):
        calls = collections.Counter()

        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            loss.backward()
            calls["n"] += 1
            if calls["n"] % 2 == 0:
                opt.update()
                model.cleargrads()
            return loss
        return step
    _agrees(make, n=8, warns="changed between two calls although nothing the guards watch changed")


def test_a_layer_counting_its_calls_runs_eagerly():
    class Counting(MLP):
        def forward(self, x):
            self.calls = getattr(self, "calls", 0) + 1
            return super().forward(x)
    model = Counting((3,))
    step = zg.compile(lambda x: F.sum(model(x)).data)
    with pytest.warns(zg.CompileWarning, match="changes the layer attribute 'calls'"):
        for k in range(4):
            step(np.full((2, 2), float(k)))
    assert model.calls == 4


BETA = 1.0


def test_a_global_changed_between_calls_is_seen():
    def make(model, opt):
        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t) * BETA
            model.cleargrads()
            loss.backward()
            opt.update()
            return loss
        return step

    def anneal(i, model, opt):
        global BETA
        BETA = 1.0 if i < 3 else 0.1
    _agrees(make, between=anneal)


def test_argmax_in_the_step_is_a_value_read():
    def make(model, opt):
        def step(x, t):
            y = model(x)
            loss = F.softmax_cross_entropy(y, t)
            model.cleargrads()
            loss.backward()
            opt.update()
            return loss * 0 + float((F.argmax(y, axis=1) == t).sum())
        return step
    _agrees(make, warns="reads a value while tracing")


def test_detach_is_replayed():
    def make(model, opt):
        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            norm = F.sqrt(F.sum(model.l0.W * model.l0.W)).detach()
            loss = loss * norm
            model.cleargrads()
            loss.backward()
            opt.update()
            return loss
        return step
    assert _agrees(make).replays == 4


def test_a_replaced_sublayer_and_a_rebound_model_make_new_traces():
    def between(i, model, opt):
        if i == 3:
            model.l1 = L.Linear(3)
            with zg.no_grad():
                model(np.zeros((1, 10), np.float32))
            opt.setup(model)
    _agrees(_sgd_step(lambda m, o, loss: o.update()), between=between)

    np.random.seed(0)
    model = MLP((4, 3))
    step = zg.compile(lambda x: F.sum(model(x)).data)
    x = np.ones((2, 5), np.float32)
    for k in range(3):
        step(x * k)
    model = MLP((4, 3))
    assert np.array_equal(step(x), F.sum(model(x)).data)


def test_lstm_weights_loaded_between_calls_are_used():
    from zerograd.models import LSTMRegressor
    r = np.random.RandomState(0)
    data = [(r.randn(8, 10).astype(np.float32), r.randint(0, 3, 8)) for _ in range(6)]
    results = []
    for compiled in (False, True):
        np.random.seed(0)
        model = LSTMRegressor(4, 3)
        with zg.no_grad():
            model(np.zeros((1, 10), np.float32))
        opt = optimizers.SGD(0.1).setup(model)
        saved = {k: v.copy() for k, v in model.state_dict().items()}

        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            opt.update()
            return loss
        if compiled:
            step = zg.compile(step)
        out = []
        for i, (x, t) in enumerate(data):
            model.rnn.reset_state()
            if i == 4:
                model.load_state_dict(saved)
            out.append(step(x, t).data.tobytes())
        results.append(out)
    assert results[0] == results[1]


def test_overlapping_argument_views_keep_their_own_memory():
    def build():
        np.random.seed(0)
        m = L.EmbedID(10, 10)
        return m, optimizers.SGD(0.1).setup(m)

    def make(m, opt):
        def step(xs, ts):
            loss = 0
            for k in range(xs.shape[0]):
                loss = loss + F.softmax_cross_entropy(m(xs[k]), ts[k])
            m.cleargrads()
            loss.backward()
            opt.update()
            return loss
        return step
    r = np.random.RandomState(0)
    corpus = r.randint(0, 10, (50, 4))
    calls = [(corpus[i:i + 3], corpus[i + 1:i + 4]) for i in (0, 5, 10)] + [(corpus[20:23], r.randint(0, 10, (3, 4)))]
    out = []
    for compiled in (False, True):
        m, opt = build()
        step = zg.compile(make(m, opt)) if compiled else make(m, opt)
        out.append([step(xs, ts).data.tobytes() for xs, ts in calls])
    assert out[0] == out[1]


def test_a_step_returning_a_graph_without_backward_runs_eagerly_and_returns_the_graph():
    np.random.seed(0)
    model = MLP((3,))
    loss_of = zg.compile(lambda x: F.sum(model(x)))
    with pytest.warns(zg.CompileWarning, match="returns a Variable with a graph"):
        loss = loss_of(np.ones((2, 4), np.float32))
    loss.backward()
    assert model.l0.W.grad is not None


def test_a_method_and_a_namedtuple_batch():
    Batch = collections.namedtuple("Batch", "x t")

    class Trainer:
        def __init__(self):
            np.random.seed(0)
            self.model = MLP((10, 3))
            self.opt = optimizers.SGD(0.1).setup(self.model)

        @zg.compile
        def step(self, batch):
            loss = F.softmax_cross_entropy(self.model(batch.x), batch.t)
            self.model.cleargrads()
            loss.backward()
            self.opt.update()
            return {"loss": loss, "batch": batch}

    trainer = Trainer()
    r = np.random.RandomState(0)
    for _ in range(5):
        out = trainer.step(Batch(r.randn(8, 10).astype(np.float32), r.randint(0, 3, 8)))
    assert isinstance(out["batch"], Batch) and Trainer.step.replays == 3


def test_retracing_every_call_says_so():
    step = zg.compile(lambda x, scale: F.sum(zg.Variable(x, requires_grad=False) * scale).data)
    with pytest.warns(zg.CompileWarning, match="traced 32 times and replayed 0 times"):
        for k in range(40):
            step(np.ones(3), float(k))


# ---------------------------------------------------------------- found by the second probe
def _pairs(make, calls, between=None):
    """Results of ``make()``'s (model, step) run eagerly and compiled over ``calls``."""
    out = []
    for compiled in (False, True):
        model, step = make()
        step = zg.compile(step) if compiled else step
        got = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for i, args in enumerate(calls):
                if between:
                    between(i, model)
                got.append(np.asarray(step(*args).data).tobytes())
        out.append((got, model, step))
    return out


def test_layer_state_kept_by_the_user_is_not_overwritten_by_later_replays():
    r = np.random.RandomState(0)
    data = [(r.randn(2, 3).astype(np.float32), r.randint(0, 3, 2)) for _ in range(10)]
    results = []
    for compiled in (False, True):
        np.random.seed(0)

        class M(zg.Model):
            def __init__(self):
                super().__init__()
                self.rnn = L.RNN(4)
                self.fc = L.Linear(3)

            def forward(self, x):
                return self.fc(self.rnn(x))
        model = M()
        with zg.no_grad():
            model(np.zeros((2, 3), np.float32))
            model(np.zeros((2, 3), np.float32))
        opt = optimizers.SGD(0.1).setup(model)

        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            opt.update()
            return loss
        step = zg.compile(step) if compiled else step
        states, out = [None, None], []
        for k, (x, t) in enumerate(data):  # two streams take turns with their own state
            model.rnn.h = states[k % 2]
            out.append(step(x, t).data.tobytes())
            states[k % 2] = model.rnn.h
        results.append(out)
    assert results[0] == results[1]


def test_a_layer_appended_to_a_layer_list_between_calls_is_used():
    r = np.random.RandomState(0)
    data = [(r.randn(8, 5).astype(np.float32), r.randint(0, 5, 8)) for _ in range(6)]

    def make():
        np.random.seed(0)

        class Net(zg.Model):
            def __init__(self):
                super().__init__()
                self.blocks = L.LayerList(L.Linear(5))
                self.head = L.Linear(5)

            def forward(self, x):
                return self.head(F.tanh(self.blocks(x)))
        model = Net()
        with zg.no_grad():
            model(np.zeros((1, 5), np.float32))
        opt = optimizers.SGD(0.1).setup(model)

        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update()
            return loss
        step.opt = opt
        return model, step

    def grow(i, model):
        if i == 3:
            model.blocks.append(L.Linear(5, in_size=5))
    (a, _, _), (b, m, _) = _pairs(make, data, grow)
    assert a == b and m.blocks.l1.W.grad is not None


WD = 0.1


def test_globals_read_in_comprehensions_wrappers_and_partials_are_guarded():
    import functools
    r = np.random.RandomState(0)
    data = [(r.randn(8, 10).astype(np.float32), r.randint(0, 3, 8)) for _ in range(6)]

    def train_step(model, opt, x, t):
        loss = F.softmax_cross_entropy(model(x), t) + sum(WD * F.sum(p * p) for p in model.params())
        model.cleargrads()
        loss.backward()
        opt.update()
        return loss

    for wrap in (lambda f: f, lambda f: functools.wraps(f)(lambda *a: f(*a))):
        def make():
            np.random.seed(0)
            model = MLP((3,))
            with zg.no_grad():
                model(np.zeros((1, 10), np.float32))
            return model, wrap(functools.partial(train_step, model, optimizers.SGD(0.1).setup(model)))

        def change(i, model):
            global WD
            WD = 0.1 if i < 3 else 0.0
        (a, _, _), (b, _, _) = _pairs(make, data, change)
        assert a == b


def test_a_compiled_lstm_predictor_follows_weights_loaded_between_calls():
    from zerograd.models import LSTMRegressor
    r = np.random.RandomState(0)
    xs = [(r.randn(2, 3).astype(np.float32),) for _ in range(5)]

    def make():
        np.random.seed(0)
        model = LSTMRegressor(4)
        with zg.no_grad():
            model(xs[0][0])

        def predict(x):
            model.reset_state()
            with zg.no_grad():
                return model(x)
        return model, predict

    np.random.seed(1)
    other = LSTMRegressor(4)
    with zg.no_grad():
        other(xs[0][0])

    def load(i, model):
        if i == 3:
            model.load_state_dict(other.state_dict())
    (a, _, _), (b, _, _) = _pairs(make, xs, load)
    assert a == b


def test_strict_grad_dtype_switched_inside_the_step_is_replayed():
    r = np.random.RandomState(0)
    data = [(r.randn(8, 10), r.randint(0, 3, 8)) for _ in range(5)]

    def make():
        np.random.seed(0)
        model = MLP((3,))
        with zg.no_grad():
            model(np.zeros((1, 10), np.float32))

        def step(x, t):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            with zg.using_config("strict_grad_dtype", False):
                loss.backward()
            return model.l0.W.grad
        return model, step
    (a, _, _), (b, _, step) = _pairs(make, data)
    assert a == b and step.replays == 3


def test_an_index_or_condition_array_made_in_the_step_runs_eagerly():
    r = np.random.RandomState(0)
    data = [(r.randn(4, 3).astype(np.float32), np.ones((4, 3), bool)) for _ in range(2)] + \
        [(r.randn(4, 3).astype(np.float32), r.rand(4, 3) > 0.5) for _ in range(3)]
    step = zg.compile(lambda x, mask: F.sum(F.where(mask, zg.Variable(x, requires_grad=False), 0.0)).data)
    with pytest.warns(zg.CompileWarning, match="a setting of Where"):
        out = [step(x, m) for x, m in data]
    assert all(np.array_equal(o, np.where(m, x, 0).sum()) for o, (x, m) in zip(out, data))


def test_an_argument_variable_that_requires_grad_keeps_its_gradient_on_the_call_that_refuses():
    step = zg.compile(lambda x: F.sum(x * x).backward())
    x = zg.Variable(np.arange(3.0))
    with pytest.warns(zg.CompileWarning, match="requires a gradient"):
        step(x)
    assert np.array_equal(x.grad.data, 2 * np.arange(3.0))


def test_a_book_layer_checking_its_weights_and_a_returned_buffer_replay():
    class BookLinear(zg.Layer):
        def __init__(self):
            super().__init__()
            self.W = zg.Parameter(None, name="W")
            self.bn = L.BatchNorm()

        def forward(self, x):
            if self.W.data is None:
                self.W.data = np.full((x.shape[1], 2), 0.5, np.float32)
            return self.bn(F.matmul(x, self.W))
    layer = BookLinear()
    step = zg.compile(lambda x: (F.sum(layer(x)).data, layer.bn.avg_mean))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(5):
            _, mean = step(np.arange(6.0, dtype=np.float32).reshape(3, 2) * (k + 1))
    assert step.replays == 3 and mean is layer.bn.avg_mean
