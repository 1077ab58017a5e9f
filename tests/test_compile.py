"""zerograd.compile: a replayed step gives eager execution's numbers, bit for bit, or says why it cannot."""
import warnings

import numpy as np
import pytest

import zerograd as zg
import zerograd.functions as F
import zerograd.layers as L
from zerograd import optimizers
from zerograd.models import MLP, CNN, LSTMRegressor, Model
from zerograd.training import BatchTask, SequenceTask, TrainConfig, Trainer


def _same(a, b):
    a = a.data if isinstance(a, zg.Variable) else a
    b = b.data if isinstance(b, zg.Variable) else b
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _built(make_model, example, seed=0):
    """A model with its lazy parameters created (under no_grad) from a fixed seed."""
    np.random.seed(seed)
    model = make_model()
    with zg.no_grad():
        if hasattr(model, "reset_state"):
            model.reset_state()
        model(example)
        if hasattr(model, "reset_state"):
            model.reset_state()
    return model


def _classifier_step(model, opt):
    def step(x, t):
        y = model(x)
        loss = F.softmax_cross_entropy(y, t)
        model.cleargrads()
        loss.backward()
        opt.update()
        return loss, F.accuracy(y, t)
    return step


def _twins(make_model, example, make_opt, make_step):
    """Two identical (model, optimizer, step) triples: one run eagerly, one compiled."""
    out = []
    for _ in range(2):
        model = _built(make_model, example)
        opt = make_opt().setup(model)
        out.append((model, opt, make_step(model, opt)))
    (m1, o1, s1), (m2, o2, s2) = out
    return m1, o1, s1, m2, o2, zg.compile(s2)


def _assert_same_state(m1, o1, m2, o2):
    for (n1, p1), (n2, p2) in zip(m1.named_params(), m2.named_params()):
        assert n1 == n2
        assert _same(p1, p2), n1
        assert (p1.grad is None) == (p2.grad is None)
        if p1.grad is not None:
            assert _same(p1.grad, p2.grad), n1
    s1, s2 = o1.state_dict(), o2.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert np.array_equal(s1[k], s2[k]), k


def _batches(shape, classes, n=6, dtype=np.float32, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape).astype(dtype), rng.integers(0, classes, shape[0])) for _ in range(n)]


@pytest.mark.parametrize("opt", [lambda: optimizers.SGD(0.1), lambda: optimizers.MomentumSGD(0.05),
                                 lambda: optimizers.Adam(0.01), lambda: optimizers.AdaGrad(0.05),
                                 lambda: optimizers.RMSprop(0.01), lambda: optimizers.AdaDelta(),
                                 lambda: optimizers.AdamW(0.01)])
def test_mlp_step_replays_bit_for_bit_with_every_optimizer(opt):
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((10, 3)), np.zeros((1, 2), np.float32), opt, _classifier_step)
    for x, t in _batches((30, 2), 3, n=7):
        (l1, a1), (l2, a2) = s1(x, t), s2(x, t)
        assert _same(l1, l2) and _same(a1, a2)
        _assert_same_state(m1, o1, m2, o2)
    assert s2.traces == 2 and s2.replays == 5 and s2.eager_reason is None


def test_cnn_step_with_hooks_replays_bit_for_bit():
    def make_opt():
        return optimizers.MomentumSGD(0.01).add_hook(optimizers.WeightDecay(1e-3)).add_hook(optimizers.ClipGrad(1.0))
    m1, o1, s1, m2, o2, s2 = _twins(lambda: CNN(hidden=16), np.zeros((1, 1, 28, 28), np.float32), make_opt,
                                    _classifier_step)
    for x, t in _batches((8, 1, 28, 28), 10, n=4):
        assert _same(s1(x, t)[0], s2(x, t)[0])
        _assert_same_state(m1, o1, m2, o2)
    assert s2.replays == 2


class _Tied(Model):
    """Embedding, dropout, batch norm, and an output layer that reuses the embedding matrix."""

    def __init__(self):
        super().__init__()
        self.embed = L.EmbedID(12, 6)
        self.bn = L.BatchNorm()
        self.fc = L.Linear(6)

    def forward(self, ids):
        h = F.sum(self.embed(ids), axis=1)
        h = F.dropout(F.relu(self.fc(self.bn(h))), 0.3)
        return F.matmul(h, self.embed.W.T)


def test_embedding_dropout_batchnorm_and_tied_weights_replay_bit_for_bit():
    rng = np.random.default_rng(3)
    data = [(rng.integers(0, 12, (16, 4)), rng.integers(0, 12, 16)) for _ in range(6)]
    m1, o1, s1, m2, o2, s2 = _twins(_Tied, data[0][0], lambda: optimizers.Adam(0.01), _classifier_step)
    np.random.seed(7)
    eager = [s1(x, t)[0] for x, t in data]
    np.random.seed(7)
    compiled = [s2(x, t)[0] for x, t in data]
    assert all(_same(a, b) for a, b in zip(eager, compiled))
    _assert_same_state(m1, o1, m2, o2)
    assert np.array_equal(m1.bn.avg_mean, m2.bn.avg_mean) and np.array_equal(m1.bn.avg_var, m2.bn.avg_var)
    assert s2.replays == 4


def test_dropout_masks_are_drawn_afresh_at_each_replay():
    x = np.ones((4, 50), np.float32)
    w = np.ones((50, 50), np.float32)

    def step(x):
        y = F.dropout(F.matmul(x, w), 0.5)
        return y
    step = zg.compile(step)
    outs = [step(x * k).data / k for k in (1, 2, 3, 4)]  # (two traces, two replays)
    assert step.replays == 2
    assert not np.array_equal(outs[2], outs[3])
    assert set(np.unique(outs[3])) <= {0.0, 100.0}


def test_truncated_bptt_over_epochs_replays_bit_for_bit():
    rng = np.random.default_rng(0)
    seq = [(rng.random((4, 1), dtype=np.float32), rng.random((4, 1), dtype=np.float32)) for _ in range(60)]

    def make_step(model, opt):
        def window(xs, ts):
            loss = 0
            for x, t in zip(xs, ts):
                loss += F.mean_squared_error(model(x), t)
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            opt.update()
            return loss
        return window
    m1, o1, s1, m2, o2, s2 = _twins(lambda: LSTMRegressor(8), np.zeros((1, 1), np.float32),
                                    lambda: optimizers.Adam(0.01), make_step)
    for epoch in range(3):
        m1.reset_state()
        m2.reset_state()
        for k in range(0, 60, 7):  # windows of 7 and a last one of 4
            xs, ts = [a for a, _ in seq[k:k + 7]], [b for _, b in seq[k:k + 7]]
            assert _same(s1(xs, ts), s2(xs, ts))
        _assert_same_state(m1, o1, m2, o2)
        assert _same(m1.rnn.h, m2.rnn.h) and _same(m1.rnn.c, m2.rnn.c)
    assert s2.replays > 15 and s2.eager_reason is None


def test_a_new_shape_traces_again_and_the_old_one_still_replays():
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((10, 3)), np.zeros((1, 2), np.float32),
                                    lambda: optimizers.SGD(0.1), _classifier_step)
    big, small = _batches((30, 2), 3, n=4), _batches((7, 2), 3, n=4, seed=2)
    for b, s in zip(big, small):
        for x, t in (b, s):
            assert _same(s1(x, t)[0], s2(x, t)[0])
    _assert_same_state(m1, o1, m2, o2)
    assert s2.traces == 4 and s2.replays == 4
    x, t = _batches((30, 2), 3, n=1, dtype=np.float64, seed=5)[0]  # another dtype: traced again
    assert _same(s1(x, t)[0], s2(x, t)[0]) and s2.traces == 5


def test_returned_variables_of_earlier_calls_keep_their_values():
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((10, 3)), np.zeros((1, 2), np.float32),
                                    lambda: optimizers.SGD(0.1), _classifier_step)
    losses = [s2(x, t)[0] for x, t in _batches((30, 2), 3, n=6)]
    values = [float(v.data) for v in losses]
    s2(*_batches((30, 2), 3, n=1, seed=9)[0])
    assert [float(v.data) for v in losses] == values and len(set(values)) == 6
    assert all(v.creator is None for v in losses)


@pytest.mark.parametrize("body, reason", [
    (lambda loss: float(loss) > 100, "float(v)"),
    (lambda loss: bool(loss.data.sum() > 100) if loss.data.sum() > 1e9 else None, ".data"),
    (lambda loss: loss.item(), "v.item()"),
    (lambda loss: np.asarray(loss), "np.asarray"),
])
def test_reading_a_value_while_tracing_runs_the_step_eagerly_with_one_warning(body, reason):
    model = _built(lambda: MLP((5, 2)), np.zeros((1, 3), np.float32))
    opt = optimizers.SGD(0.1).setup(model)

    def step(x, t):
        loss = F.softmax_cross_entropy(model(x), t)
        body(loss)
        model.cleargrads()
        loss.backward()
        opt.update()
        return loss
    step = zg.compile(step)
    data = _batches((4, 3), 2, n=4)
    with pytest.warns(zg.CompileWarning, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        step(*data[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, t in data[1:]:
            step(x, t)
    assert step.eager_reason is not None and step.replays == 0


def test_numpy_work_on_the_arguments_inside_the_step_runs_eagerly_with_a_warning():
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((10, 3)), np.zeros((1, 2), np.float32),
                                    lambda: optimizers.SGD(0.1),
                                    lambda m, o: (lambda x, t: _classifier_step(m, o)(x / 2, t)))
    data = _batches((30, 2), 3, n=4)
    with pytest.warns(zg.CompileWarning, match="an array computed outside zerograd.s functions .* differs"):
        for x, t in data[:2]:
            assert _same(s1(x, t)[0], s2(x, t)[0])
    for x, t in data[2:]:
        assert _same(s1(x, t)[0], s2(x, t)[0])
    _assert_same_state(m1, o1, m2, o2)
    assert s2.replays == 0


def test_views_of_the_arguments_are_read_from_each_call():
    w = np.ones((2, 3))

    def step(x):
        return F.sum(F.matmul(x[:, :2], w) * x.T[0][:, None]), F.reshape(x.reshape(-1), (4, -1))
    compiled = zg.compile(step)
    for k in range(5):
        x = np.arange(12.0).reshape(4, 3) * (k + 1) + np.arange(12).reshape(4, 3) % (k + 2)
        a, b = step(x), compiled(x)
        assert _same(a[0], b[0]) and _same(a[1], b[1])
    assert compiled.replays == 3


def test_gradients_of_a_variable_made_in_the_step_can_be_returned():
    def grad_of_cube(x):
        v = zg.Variable(x)
        y = F.sum(v ** 3)
        y.backward()
        return y, v.grad
    compiled = zg.compile(grad_of_cube)
    for k in range(5):
        x = np.linspace(-1, 1, 5) * (k + 1)
        y, g = compiled(x)
        assert np.allclose(g.data, 3 * x ** 2) and _same(y, grad_of_cube(x)[0])
    assert compiled.replays == 3


def test_learning_rate_changes_and_schedules_are_read_at_each_replay():
    def make_opt():
        return optimizers.SGD(0.5)
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((4, 3)), np.zeros((1, 2), np.float32), make_opt, _classifier_step)
    sched1, sched2 = optimizers.StepLR(o1, step_size=2, gamma=0.5), optimizers.StepLR(o2, step_size=2, gamma=0.5)
    for k, (x, t) in enumerate(_batches((10, 2), 3, n=8)):
        if k == 5:
            o1.lr = o2.lr = 0.01
        assert _same(s1(x, t)[0], s2(x, t)[0])
        sched1.step()
        sched2.step()
    _assert_same_state(m1, o1, m2, o2)
    assert s2.replays == 6


def test_what_the_guards_watch_makes_a_new_trace():
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((4, 3)), np.zeros((1, 2), np.float32),
                                    lambda: optimizers.SGD(0.1), _classifier_step)
    data = iter(_batches((10, 2), 3, n=20))

    def both(expect_traces):
        x, t = next(data)
        assert _same(s1(x, t)[0], s2(x, t)[0])
        assert s2.traces == expect_traces

    both(1), both(2), both(2)
    for m in (m1, m2):  # a parameter replaced by another object
        m.l0.W = zg.Parameter(np.full((2, 4), 0.1, np.float32), name="W")
    o1.setup(m1), o2.setup(m2)
    both(3), both(4), both(4)
    for m in (m1, m2):  # a hook added to a parameter: traced again (a trace of the same structure as a
        m.l1.b.register_hook(lambda g: g * 2)  # trusted one is trusted at once)
    both(5), both(5)
    for m in (m1, m2):  # frozen
        m.l1.W.requires_grad = False
    both(6), both(6)
    with zg.test_mode():  # the Config: a new signature
        both(7), both(8), both(8)
    _assert_same_state(m1, o1, m2, o2)


def test_an_error_inside_a_traced_or_replayed_step_propagates_and_the_step_still_works():
    m1, o1, s1, m2, o2, s2 = _twins(lambda: MLP((4, 3)), np.zeros((1, 2), np.float32),
                                    lambda: optimizers.SGD(0.1), _classifier_step)
    data = _batches((10, 2), 3, n=4)
    bad = (data[0][0], np.full(10, 7))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        s2(*bad)
    for x, t in data[:3]:
        s1(x, t), s2(x, t)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        s2(*bad)  # (a replay: the forward checks its labels)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        s1(*bad)
    x, t = data[3]
    assert _same(s1(x, t)[0], s2(x, t)[0])


def test_compile_is_a_decorator_and_names_what_it_wraps():
    @zg.compile
    def step(x):
        return F.tanh(zg.Variable(x))
    assert step.__name__ == "step" and "0 traces" in repr(step)
    with pytest.raises(TypeError, match="expected a function"):
        zg.compile(3)


def _tiny_task(kind, compile_):
    rng = np.random.default_rng(0)
    if kind == "sequence":
        config = TrainConfig(dataset="sincurve", model="lstm", epochs=3, batch_size=4, lr=0.01, optimizer="adam",
                             hidden=8, bptt=5).resolved()
        from zerograd.datasets import SinCurve
        np.random.seed(0)
        train, test = SinCurve(train=True), SinCurve(train=False)
        train.data, train.label = train.data[:60], train.label[:60]
        test.data, test.label = test.data[:20], test.label[:20]
        model = LSTMRegressor(8)
        task = SequenceTask(config, train, test, model)
    else:
        from zerograd.datasets import Dataset

        class Images(Dataset):
            def prepare(self):
                self.data = rng.random((40, 1, 28, 28) if kind == "cnn" else (40, 784), dtype=np.float32)
                self.label = rng.integers(0, 10, 40)
        config = TrainConfig(dataset="mnist", model=kind, epochs=2, batch_size=8, lr=0.01, optimizer="adam",
                             hidden=12).resolved()
        np.random.seed(0)
        model = CNN(hidden=12) if kind == "cnn" else MLP((12, 10))
        task = BatchTask(config, Images(), Images(), model, classification=True)
    task.compile = compile_
    return task


@pytest.mark.parametrize("kind", ["mlp", "cnn", "sequence"])
def test_the_main_jobs_tasks_give_the_same_metrics_compiled(kind, tmp_path):
    runs = []
    for compile_ in (False, True):
        np.random.seed(0)
        task = _tiny_task(kind, compile_)
        (tmp_path / str(compile_)).mkdir()
        trainer = Trainer(task, str(tmp_path / str(compile_)), progress=False, log=lambda line: None)
        history = trainer.run()
        runs.append([{k: v for k, v in row.items() if k != "seconds"} for row in history])
        if compile_:
            assert task.step_for(trainer.optimizer).replays > 0
    assert runs[0] == runs[1]


def test_zerograd_train_compile_prints_the_same_metrics(tmp_path):
    from zerograd.cli import main
    for flag in ([], ["--compile"]):
        main(["train", "--epochs", "4", "--out", str(tmp_path / ("c" if flag else "e")), "--no-progress"] + flag)
    eager = (tmp_path / "e" / "metrics.csv").read_text().splitlines()
    compiled = (tmp_path / "c" / "metrics.csv").read_text().splitlines()
    assert [r.rsplit(",", 1)[0] for r in eager] == [r.rsplit(",", 1)[0] for r in compiled]


def _example(name):
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "examples", name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_vae_example_step_replays_bit_for_bit_with_its_noise():
    vae = _example("vae_mnist")
    rng = np.random.default_rng(0)
    data = [rng.random((16, 784), dtype=np.float32) for _ in range(5)]

    def make_step(model, opt):
        def step(x):
            loss = model.loss(x)
            model.cleargrads()
            loss.backward()
            opt.update()
            return loss
        return step
    runs = []
    for compiled in (False, True):
        np.random.seed(0)
        model = vae.VAE()
        with zg.no_grad():
            model.loss(data[0][:2])
        opt = optimizers.Adam().setup(model)
        step = zg.compile(make_step(model, opt)) if compiled else make_step(model, opt)
        np.random.seed(11)
        runs.append(([step(x).data.tobytes() for x in data], model, step))
    assert runs[0][0] == runs[1][0] and runs[1][2].replays == 3
    for p, q in zip(runs[0][1].params(), runs[1][1].params()):
        assert _same(p, q)


def test_the_gan_example_step_two_backwards_two_optimizers_replays_bit_for_bit():
    gan = _example("gan_mnist")
    rng = np.random.default_rng(0)
    data = [rng.random((8, 784), dtype=np.float32) for _ in range(5)]

    runs = []
    for compiled in (False, True):
        gen = _built(gan.Generator, np.zeros((1, gan.LATENT), np.float32))
        dis = _built(gan.Discriminator, np.zeros((1, 784), np.float32))
        opt_g = optimizers.Adam(alpha=2e-4, beta1=0.5).setup(gen)
        opt_d = optimizers.Adam(alpha=2e-4, beta1=0.5).setup(dis)
        step = gan.make_step(gen, dis, opt_g, opt_d)
        step = zg.compile(step) if compiled else step
        np.random.seed(5)
        runs.append(([b"".join(v.data.tobytes() for v in step(x)) for x in data], gen, dis, step))
    assert runs[0][0] == runs[1][0] and runs[1][3].replays == 3
    for a, b in ((runs[0][1], runs[1][1]), (runs[0][2], runs[1][2])):
        for p, q in zip(a.params(), b.params()):
            assert _same(p, q)


def test_random_normal_draws_what_numpy_draws():
    np.random.seed(3)
    a = F.random_normal((2, 3), np.float64).data
    np.random.seed(3)
    assert np.array_equal(a, np.random.randn(2, 3)) and a.dtype == np.float64
    with pytest.raises(ValueError, match="must not be negative"):
        F.random_normal((2, -1))
