"""zerograd.save_checkpoint / load_checkpoint: exact round trips, extras, validation, atomicity."""
import os
import zipfile

import numpy as np
import pytest

import zerograd
import zerograd.functions as F
import zerograd.layers as L
from zerograd import optimizers
from zerograd.checkpoint import InvalidCheckpoint, checkpoint_arrays, load_checkpoint, save_checkpoint
from zerograd.models import Model
from zerograd.serialization import CheckpointError


class Net(Model):
    """Lazily shaped (Linear without in_size) with buffers (BatchNorm) and dropout (the global RNG)."""

    def __init__(self):
        super().__init__()
        self.l0 = L.Linear(8)
        self.bn = L.BatchNorm()
        self.l1 = L.Linear(3)

    def forward(self, x):
        return self.l1(F.dropout(F.relu(self.bn(self.l0(x))), 0.2))


X = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
T = np.arange(20) % 3


def step(model, optimizer):
    """One update on a shuffled batch (draws from NumPy's global generator); returns the loss."""
    idx = np.random.permutation(len(X))[:10]
    loss = F.softmax_cross_entropy(model(X[idx]), T[idx])
    model.cleargrads()
    loss.backward()
    optimizer.update()
    return float(loss.data)


def trained(steps=3, seed=0):
    np.random.seed(seed)
    model = Net()
    optimizer = optimizers.Adam(0.01).setup(model)
    for _ in range(steps):
        step(model, optimizer)
    return model, optimizer


def fresh(seed=123):
    """Another model and optimizer, built by one forward pass (so every shape is known)."""
    np.random.seed(seed)
    model = Net()
    model(X[:2])
    return model, optimizers.Adam(0.5).setup(model)


def test_a_round_trip_continues_exactly_including_the_random_generator(tmp_path):
    model, optimizer = trained()
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, optimizer, epoch=3)
    straight = [step(model, optimizer) for _ in range(3)] + [np.random.rand()]
    weights = {k: v.copy() for k, v in model.state_dict().items()}

    model2, optimizer2 = fresh()
    result = load_checkpoint(path, model2, optimizer2)
    assert result.epoch == 3 and result.extras == {}
    resumed = [step(model2, optimizer2) for _ in range(3)] + [np.random.rand()]
    assert resumed == straight
    for key, value in model2.state_dict().items():
        assert value.dtype == weights[key].dtype and np.array_equal(value, weights[key]), key


def test_the_file_holds_named_arrays_only_with_the_trainers_keys(tmp_path):
    model, optimizer = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer, epoch=1)
    names = zipfile.ZipFile(tmp_path / "c.npz").namelist()
    assert all(n.endswith(".npy") for n in names)
    keys = {n[:-4] for n in names}
    assert {"epoch", "rng/keys", "rng/pos", "rng/has_gauss", "rng/cached_gaussian", "optimizer/t", "optimizer/lr",
            "model/l0/W", "model/bn/avg_mean", "optimizer/state/l0/W/m"} <= keys
    with np.load(tmp_path / "c.npz", allow_pickle=False) as data:   # nothing pickled
        assert int(data["epoch"]) == 1


def test_optimizer_moments_step_count_and_lr_are_restored(tmp_path):
    model, optimizer = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer)
    model2, optimizer2 = fresh()
    load_checkpoint(tmp_path / "c.npz", model2, optimizer2)
    a, b = optimizer.state_dict(), optimizer2.state_dict()
    assert sorted(a) == sorted(b) and optimizer2.t == 3 and optimizer2.lr == 0.01
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


def test_extras_come_back_numbers_as_numbers_arrays_as_arrays(tmp_path):
    model, optimizer = trained()
    index = np.random.permutation(7)
    save_checkpoint(tmp_path / "c.npz", model, optimizer, epoch=5, best=0.75, step=12, flag=True,
                    half=np.float32(0.5), **{"loader/index": index})
    result = load_checkpoint(tmp_path / "c.npz", *fresh())
    assert result.epoch == 5
    assert result.extras["best"] == 0.75 and isinstance(result.extras["best"], float)
    assert result.extras["step"] == 12 and isinstance(result.extras["step"], int)
    assert result.extras["flag"] is True and result.extras["half"] == 0.5
    assert np.array_equal(result.extras["loader/index"], index)
    assert result.extras["loader/index"].dtype == index.dtype
    assert set(result.extras) == {"best", "step", "flag", "half", "loader/index"}
    assert result.arrays["half"].dtype == np.float32   # the arrays as read, dtypes kept


@pytest.mark.parametrize("extra, error", [
    ({"model/x": 1}, ValueError), ({"optimizer/t": 1}, ValueError),
    ({"rng/pos": 1}, ValueError), ({"file": 1}, ValueError), ({"name": "text"}, TypeError),
    ({"obj": np.array([object()])}, TypeError),
])
def test_extras_that_cannot_be_saved_are_refused_before_writing(tmp_path, extra, error):
    model, optimizer = trained(1)
    with pytest.raises(error):
        save_checkpoint(tmp_path / "c.npz", model, optimizer, **extra)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("epoch", [-1, 1.5, True, "3"])
def test_an_epoch_that_is_not_a_count_is_refused(tmp_path, epoch):
    model, optimizer = trained(1)
    with pytest.raises(ValueError, match="epoch must be a whole number"):
        save_checkpoint(tmp_path / "c.npz", model, optimizer, epoch=epoch)


def test_checkpoint_arrays_are_copies(tmp_path):
    model, optimizer = trained()
    arrays = checkpoint_arrays(model, optimizer, 2, best=1.0)
    before = {k: v.copy() for k, v in arrays.items()}
    step(model, optimizer)
    for key, value in arrays.items():
        assert np.array_equal(value, before[key]), key
    assert not np.array_equal(arrays["model/l0/W"], model.l0.W.data)


def test_a_lazily_shaped_model_loads_after_one_forward_and_shapes_are_checked_first(tmp_path):
    model, optimizer = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer)
    model2 = Net()
    assert model2.l0.W.data is None
    model2(X[:2])
    load_checkpoint(tmp_path / "c.npz", model2, optimizers.Adam().setup(model2))
    assert np.array_equal(model2.l0.W.data, model.l0.W.data)
    other = Net()
    other(np.zeros((2, 6), np.float32))   # another input size: l0/W is (6, 8), the file's (4, 8)
    with pytest.raises(InvalidCheckpoint, match=r"c\.npz.*does not fit.*'model/l0/W' has shape \(4, 8\) in the "
                                                r"file but \(6, 8\)"):
        load_checkpoint(tmp_path / "c.npz", other, optimizers.Adam().setup(other))


def test_a_model_never_called_takes_the_files_shapes(tmp_path):
    model, optimizer = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer)
    model2 = Net()
    load_checkpoint(tmp_path / "c.npz", model2, optimizers.Adam().setup(model2))
    assert np.array_equal(model2.l0.W.data, model.l0.W.data)


def test_without_an_optimizer_only_the_model_and_random_state_are_loaded(tmp_path):
    model, optimizer = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer, epoch=2)
    model2, _ = fresh()
    assert load_checkpoint(tmp_path / "c.npz", model2).epoch == 2
    assert np.array_equal(model2.l1.W.data, model.l1.W.data)
    save_checkpoint(tmp_path / "m.npz", model)   # a model alone
    assert not any(k.startswith("optimizer/") for k in np.load(tmp_path / "m.npz").files)


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    import zerograd.serialization as S
    model, optimizer = trained()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, optimizer, epoch=1)
    before = path.read_bytes()
    step(model, optimizer)
    monkeypatch.setattr(S.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, optimizer, epoch=2)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["c.npz"]


def _rewrite(path, **changes):
    data = dict(np.load(path))
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    np.savez(path, **data)


@pytest.mark.parametrize("changes, message, damaged", [
    ({"epoch": None}, "it lacks epoch", True),
    ({"rng/keys": None, "rng/pos": None}, "it lacks rng/keys, rng/pos", True),
    ({"epoch": np.array(-4)}, "the epoch count is -4", True),
    ({"epoch": np.array(2.0)}, "the epoch count is 2.0", True),
    ({"rng/pos": np.array(700)}, "the random generator's state is not valid", True),
    ({"rng/keys": np.zeros(624)}, "the random generator's state is not valid", True),
    ({"rng/keys": np.full(624, -1)}, "the random generator's state is not valid", True),
    ({"rng/has_gauss": np.array(2)}, "the random generator's state is not valid", True),
    ({"model/l0/W": np.zeros((4, 8))}, "model/l0/W is float64, the model's is float32", True),
    ({"model/l0/W": np.zeros((3, 3), np.float32)}, "'model/l0/W' has shape (3, 3) in the file but (4, 8)", False),
    ({"rng/keys": np.zeros(5, np.uint32)}, "'rng/keys' has shape (5,)", False),
    ({"model/l1/b": None}, "missing keys ['l1/b']", False),
    ({"model/extra": np.zeros(2, np.float32)}, "unexpected keys ['extra']", False),
    ({"optimizer/t": None}, "missing key 't'", False),
    ({"optimizer/state/nowhere/m": np.zeros(2)}, "names no parameter", False),
])
def test_each_problem_is_one_error_naming_the_file_and_nothing_changes(tmp_path, changes, message, damaged):
    model, optimizer = trained()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, optimizer, epoch=3)
    _rewrite(path, **changes)
    model2, optimizer2 = fresh()
    weights = {k: v.copy() for k, v in model2.state_dict().items()}
    rng = np.random.get_state()
    with pytest.raises(InvalidCheckpoint) as info:
        load_checkpoint(path, model2, optimizer2)
    e = info.value
    assert isinstance(e, CheckpointError) and message in str(e) and str(path) in str(e)
    assert e.damaged is damaged and message in e.problem and e.path == str(path)
    assert ("is damaged: " if damaged else "does not fit (") in str(e)
    for key, value in model2.state_dict().items():   # all or nothing: the model, optimizer and RNG are as before
        assert np.array_equal(value, weights[key]), key
    assert optimizer2.t == 0 and optimizer2.lr == 0.5 and optimizer2.state == {}
    assert np.array_equal(np.random.get_state()[1], rng[1]) and np.random.get_state()[2] == rng[2]


def test_expected_extras_are_required_and_their_shapes_checked_before_reading(tmp_path):
    model, optimizer = trained()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, optimizer, best=1.0)
    with pytest.raises(InvalidCheckpoint, match="it lacks index"):
        load_checkpoint(path, *fresh(), expected={"index": (5,), "best": ()})
    save_checkpoint(path, model, optimizer, index=np.zeros(4000 * 4000, np.uint8), best=1.0)
    with pytest.raises(InvalidCheckpoint, match=r"'index' has shape \(16000000,\) in the file but \(5,\)"):
        load_checkpoint(path, *fresh(), expected={"index": (5,), "best": ()})


def test_check_runs_before_anything_is_restored(tmp_path):
    model, optimizer = trained()
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, optimizer, epoch=4, best=0.5)
    model2, optimizer2 = fresh()
    weights = model2.l0.W.data.copy()
    seen = []

    def check(ckpt):
        seen.append((ckpt.epoch, ckpt.extras["best"]))
        raise CheckpointError("not this one")

    with pytest.raises(CheckpointError, match="^not this one$"):
        load_checkpoint(path, model2, optimizer2, check=check)
    assert seen == [(4, 0.5)] and np.array_equal(model2.l0.W.data, weights) and optimizer2.t == 0


def test_a_file_that_is_no_checkpoint_is_named(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"PK\x03\x04 junk")
    with pytest.raises(InvalidCheckpoint, match="junk.npz"):
        load_checkpoint(path, *fresh())
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InvalidCheckpoint, match="never unpickles"):
        load_checkpoint(path, *fresh())
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.npz", *fresh())


def test_the_package_exports_them():
    assert zerograd.save_checkpoint is save_checkpoint and zerograd.load_checkpoint is load_checkpoint
    assert {"save_checkpoint", "load_checkpoint"} <= set(zerograd.__all__)
