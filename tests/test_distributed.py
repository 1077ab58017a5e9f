"""zerograd.distributed: in-process tests with simulated ranks (threads; no MPI needed), then a
few short ``mpiexec -n 2`` runs of tests/distributed_worker.py (skipped without mpi4py/mpiexec)."""
import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import zerograd.functions as F
from zerograd import DataLoader, Variable
from zerograd import distributed as D
from zerograd.datasets import Spiral
from zerograd.layers import BatchNorm
from zerograd.models import MLP
from zerograd.optimizers import SGD, Adam, ClipGrad, LRScheduler, Optimizer

HERE = pathlib.Path(__file__).resolve().parent


# ------------------------------------------------------------ simulated ranks
class ThreadWorld:
    """``size`` ranks as threads meeting at a barrier; counts the summing calls."""

    def __init__(self, size):
        self.size = size
        self.barrier = threading.Barrier(size, timeout=20)
        self.slots = [None] * size
        self.sums = 0

    def exchange(self, rank, value):
        """Every rank's ``value``, in rank order."""
        self.slots[rank] = value
        self.barrier.wait()
        out = list(self.slots)
        self.barrier.wait()
        return out


class FakeComm(D.Communicator):
    """The Communicator with its MPI primitives simulated in-process (the rest is the real code)."""

    def __init__(self, world, rank):  # (no MPI)
        self.world, self.rank, self.size, self.mpi_comm = world, rank, world.size, None
        self.aborted = None

    def allreduce_sum_inplace(self, buffer):
        parts = self.world.exchange(self.rank, buffer.copy())
        if self.rank == 0:
            self.world.sums += 1
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        buffer[...] = total

    def bcast_buffer_inplace(self, buffer, root=0):
        buffer[...] = self.world.exchange(self.rank, buffer.copy())[root]

    def bcast_object(self, obj, root=0):
        return self.world.exchange(self.rank, obj)[root]

    def allgather_object(self, obj):
        return self.world.exchange(self.rank, obj)

    def barrier(self):
        self.world.barrier.wait()

    def abort(self, code=1):
        self.aborted = code


def run_ranks(size, fn):
    """``fn(comm)`` on ``size`` simulated ranks at once; their results in rank order (the first
    error is raised, after the others are released)."""
    world = ThreadWorld(size)
    results, errors = [None] * size, [None] * size

    def body(rank):
        try:
            results[rank] = fn(FakeComm(world, rank))
        except BaseException as e:  # noqa: BLE001
            errors[rank] = e
            world.barrier.abort()

    threads = [threading.Thread(target=body, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    real = [e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)]
    if real or any(errors):
        raise (real or errors)[0]
    return results, world


def test_pack_and_unpack_round_trip_mixed_shapes_and_dtypes():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3)).astype(np.float32), np.array(2.5), rng.standard_normal(4).astype(np.float16),
              rng.standard_normal((3, 1, 2)), (rng.standard_normal(2) + 1j).astype(np.complex64)]
    groups = D.dtype_groups(arrays)
    assert list(groups) == [np.float32, np.float64, np.complex64] and groups[np.dtype(np.float32)] == [0, 2]
    out = [None] * len(arrays)
    for dtype, idx in groups.items():
        buffer = D.pack([arrays[i] for i in idx], dtype)
        assert buffer.dtype == dtype and buffer.size == sum(arrays[i].size for i in idx)
        for i, a in zip(idx, D.unpack(buffer, [arrays[i] for i in idx])):
            out[i] = a
    for a, b in zip(arrays, out):
        assert b.dtype == a.dtype and b.shape == a.shape
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="floating-point"):
        D.dtype_groups([np.arange(3)])


def test_allreduce_mean_is_the_mean_with_one_sum_per_dtype():
    def fn(comm):
        r = comm.rank
        arrays = [np.full((2, 2), r, np.float32), np.array(float(r)), np.arange(3, dtype=np.float32) * r]
        return comm.allreduce_mean(arrays)

    results, world = run_ranks(3, fn)
    assert world.sums == 2  # float32 (two arrays, packed together) and float64
    for means in results:
        np.testing.assert_array_equal(means[0], np.full((2, 2), 1.0, np.float32))
        assert means[0].dtype == np.float32 and means[1].shape == () and float(means[1]) == 1.0
        np.testing.assert_array_equal(means[2], np.arange(3, dtype=np.float32))


def test_bcast_arrays_writes_rank_0s_values_in_place():
    def fn(comm):
        arrays = [np.full(3, comm.rank, np.int64), np.full((2, 2), comm.rank + 0.5, np.float16)]
        keep = [id(a) for a in arrays]
        comm.bcast_arrays(arrays)
        assert [id(a) for a in arrays] == keep
        return arrays

    results, _ = run_ranks(3, fn)
    for arrays in results:
        np.testing.assert_array_equal(arrays[0], [0, 0, 0])
        np.testing.assert_array_equal(arrays[1], np.full((2, 2), 0.5, np.float16))


def two_param_model(seed):
    np.random.seed(seed)
    model = MLP((3, 2))
    model(np.zeros((1, 2)))
    return model


def test_update_averages_gradients_and_keeps_missing_ones_as_zeros():
    grads = {0: {"l0/W": 1.0, "l0/b": 2.0, "l1/W": None, "l1/b": None},
             1: {"l0/W": 3.0, "l0/b": None, "l1/W": 4.0, "l1/b": None}}
    start = {k: v.data.copy() for k, v in two_param_model(0).named_params()}

    def fn(comm):
        model = two_param_model(0)
        opt = D.create_multi_node_optimizer(SGD(lr=0.5), comm).setup(model)
        for key, p in model.named_params():
            g = grads[comm.rank][key]
            p.grad = None if g is None else Variable(np.full(p.data.shape, g, p.data.dtype))
        opt.update()
        return {k: (v.data.copy(), None if v.grad is None else v.grad.data) for k, v in model.named_params()}

    results, world = run_ranks(2, fn)
    assert world.sums == 1  # one packed message for the whole (float32) model
    expected = {"l0/W": 2.0, "l0/b": 1.0, "l1/W": 2.0}  # means, counting a missing gradient as zeros
    for out in results:
        for key, (data, grad) in out.items():
            if key == "l1/b":
                assert grad is None  # no rank had one: untouched
                np.testing.assert_array_equal(data, start[key])
            else:
                np.testing.assert_allclose(grad, expected[key])
                np.testing.assert_allclose(data, start[key] - 0.5 * expected[key], rtol=1e-6)
    for key in results[0]:
        np.testing.assert_array_equal(results[0][key][0], results[1][key][0])


def test_first_update_gives_every_rank_rank_0s_lazy_parameters():
    def fn(comm):
        np.random.seed(comm.rank)  # different initial weights on each rank
        model = MLP((4, 2))
        opt = D.create_multi_node_optimizer(SGD(lr=0.1), comm).setup(model)
        x, t = np.random.rand(6, 3), np.array([0, 1, 0, 1, 1, 0])
        for _ in range(3):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update()
        return {k: v.data for k, v in model.named_params()}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results, _ = run_ranks(2, fn)
    assert [str(w.message)[:61] for w in caught] == ["rank 1: parameters ['l0/W', 'l1/W'] differed from rank 0's at"]
    for key in results[0]:
        np.testing.assert_array_equal(results[0][key], results[1][key])


def test_the_wrapper_delegates_to_the_wrapped_optimizer():
    comm = FakeComm(ThreadWorld(1), 0)
    adam = Adam(lr=0.01)
    opt = D.create_multi_node_optimizer(adam, comm)
    model = two_param_model(0)
    assert opt.setup(model) is opt and adam.target is model and isinstance(opt, Optimizer)
    opt.lr = 0.02
    assert adam.lr == 0.02 and opt.lr == 0.02
    opt.base_lr = 0.03
    assert adam.lr == 0.03 and opt.base_lr == 0.03
    opt.beta2 = 0.99
    assert adam.beta2 == 0.99 and opt.alpha == 0.03
    clip = ClipGrad(1.0)
    assert opt.add_hook(clip) is opt and opt.hooks is adam.hooks and adam.hooks == [clip]
    assert opt.slots == adam.slots and opt.legacy_keys == adam.legacy_keys
    for p in model.params():
        p.grad = Variable(np.ones_like(p.data))
    opt.update()
    assert adam.t == 1 and opt.t == 1
    state = opt.state_dict()
    assert state.keys() == adam.state_dict().keys() and "state/l0/W/m" in state
    fresh = Adam()
    again = D.create_multi_node_optimizer(fresh, comm).setup(model)
    again.load_state_dict(state)
    assert fresh.t == 1 and fresh.lr == pytest.approx(0.03)
    assert again.state_shapes() == fresh.state_shapes()
    LRScheduler(opt)  # (takes any Optimizer: reads and sets base_lr)
    assert "Adam" in repr(opt)


def test_different_models_raise_a_clear_error_on_every_rank():
    def fn(comm):
        np.random.seed(0)
        model = MLP((10 + comm.rank, 3))
        model(np.zeros((1, 2)))
        opt = D.create_multi_node_optimizer(SGD(), comm).setup(model)
        with pytest.raises(D.DistributedError) as info:
            opt.update()
        return str(info.value)

    results, _ = run_ranks(2, fn)
    assert results[0] == results[1]
    assert "rank 0 has 'l0/W' of shape (2, 10), float32 where rank 1 has 'l0/W' of shape (2, 11), float32" in results[0]


def test_a_missing_parameter_is_named():
    mine = [("a", (2,), "float32"), ("b", (3,), "float32")]
    assert D.first_difference(mine, mine[:1], 1) == ("rank 0 has 2 arrays, rank 1 has 1: only rank 0 has "
                                                     "'b' of shape (3,), float32")
    assert D.first_difference(mine, [("a", (2,), "float32"), ("b", None, None)], 2).endswith(
        "rank 2 has 'b' (not created yet)")
    assert D.first_difference(mine, list(mine), 1) is None


@pytest.mark.parametrize("n, size, drop", [(300, 2, False), (10, 3, False), (10, 3, True), (2, 4, False)])
def test_shards_are_disjoint_equal_and_cover_the_data(n, size, drop):
    shards = [D.shard_indices(n, size, r, seed=5, drop_remainder=drop) for r in range(size)]
    assert len({len(s) for s in shards}) == 1
    every = np.concatenate(shards)
    per = n // size if drop else -(-n // size)
    assert len(every) == per * size
    if drop:
        assert len(set(every)) == len(every)
    else:
        assert set(every) == set(range(n))  # every item at least once; padding repeats the first
        assert len(set(every)) == min(n, len(every))


def test_scatter_dataset_gives_dataloader_batches_and_checks_the_arguments():
    data = Spiral()

    def fn(comm):
        shard = D.scatter_dataset(data, comm, seed=3)
        x, t = next(iter(DataLoader(shard, 10, seed=0)))
        assert isinstance(shard, D.DatasetShard) and x.shape == (10, 2) and t.shape == (10,)
        return shard.indices

    (a, b), _ = run_ranks(2, fn)
    assert len(a) == len(b) == 150 and not set(a) & set(b)
    np.testing.assert_array_equal(D.scatter_dataset(data, FakeComm(ThreadWorld(1), 0), seed=3).data, data.data[
        D.shard_indices(300, 1, 0, seed=3)])

    with pytest.raises(D.DistributedError, match=r"is \(300, True, 0, False\) on rank 0 but \(300, True, 1, False\) on "
                                                 r"rank 1"):
        run_ranks(2, lambda comm: D.scatter_dataset(data, comm, seed=comm.rank))

    class Items:  # any dataset: len and items
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([float(i)]), i

    shard = D.scatter_dataset(Items(), FakeComm(ThreadWorld(1), 0), shuffle=False)
    assert isinstance(shard, D.IndexedShard) and len(shard) == 5 and shard[3][1] == 3
    x, t = next(iter(DataLoader(shard, 5, shuffle=False)))
    np.testing.assert_array_equal(t, np.arange(5))


def test_average_buffers_means_batchnorm_statistics():
    def fn(comm):
        bn = BatchNorm()
        bn(np.random.default_rng(comm.rank).standard_normal((8, 3)).astype(np.float32) + comm.rank)
        mine = bn.avg_mean.data.copy()
        D.average_buffers(bn, comm)
        return mine, bn.avg_mean.data

    results, _ = run_ranks(2, fn)
    expected = (results[0][0] + results[1][0]) / 2
    for _, mean in results:
        np.testing.assert_allclose(mean, expected, rtol=1e-6)
        assert mean.dtype == np.float32


def test_abort_on_error_prints_and_aborts(capsys):
    comm = FakeComm(ThreadWorld(1), 0)
    with pytest.raises(ValueError):
        with D.abort_on_error(comm):
            raise ValueError("broken here")
    assert comm.aborted == 1
    err = capsys.readouterr().err
    assert "ValueError: broken here" in err and "aborting every rank" in err
    quiet = FakeComm(ThreadWorld(1), 0)
    with pytest.raises(SystemExit):
        with D.abort_on_error(quiet):
            sys.exit(0)
    assert quiet.aborted is None


def test_missing_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'zerograd\[distributed\]'"):
        D.create_communicator()


def test_importing_zerograd_and_the_module_needs_no_mpi():
    code = "import sys, zerograd, zerograd.distributed; assert 'mpi4py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ------------------------------------------------------------ real MPI runs
def _mpiexec():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install 'zerograd[distributed]')")
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec on PATH (pip install mpich)")
    return found


def mpirun(mode, *args, n=2, timeout=60):
    cmd = [_mpiexec(), "-n", str(n), sys.executable, str(HERE / "distributed_worker.py"), mode, str(n), *map(str, args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"mpiexec ran past {timeout} s (a rank hung):\n{out[-3000:]}")
    if "WRONG-MPI" in out:
        pytest.skip(f"this mpiexec does not belong to mpi4py's MPI library: {out.strip()[:200]}")
    return proc.returncode, out


def load_worker():
    spec = importlib.util.spec_from_file_location("distributed_worker", HERE / "distributed_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_processes_with_batch_b_match_one_process_with_batch_2b(tmp_path):
    code, out = mpirun("train", tmp_path)
    assert code == 0, out[-3000:]
    ranks = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(2)]
    for key in ranks[0]:
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)  # ranks agree exactly

    # one process: each global batch of 2B is rank 0's B examples then rank 1's (same loader order)
    w = load_worker()
    data, model = w.spiral_setup(100)  # (rank 0's initial weights, which the broadcast gave both ranks)
    start = {k: v.data.copy() for k, v in model.named_params()}
    halves = [D.shard_dataset(data, D.shard_indices(len(data), 2, r, True, w.SCATTER_SEED)) for r in range(2)]
    loaders = [DataLoader(h, w.BATCH, seed=w.LOADER_SEED) for h in halves]
    optimizer = SGD(lr=1.0).setup(model)
    steps = 0
    for _ in range(w.EPOCHS):
        for (x0, t0), (x1, t1) in zip(*[list(loader) for loader in loaders]):  # (one epoch of each)
            loss = F.softmax_cross_entropy(model(np.concatenate([x0, x1])), np.concatenate([t0, t1]))
            model.cleargrads()
            loss.backward()
            optimizer.update()
            steps += 1
    assert steps == w.EPOCHS * 300 // (2 * w.BATCH)
    for key, p in model.named_params():
        assert p.data.dtype == np.float64 and ranks[0][key].dtype == np.float64
        assert np.abs(p.data - start[key]).max() > 1e-2  # (it trained)
        np.testing.assert_allclose(ranks[0][key], p.data, rtol=0, atol=1e-6, err_msg=key)


def test_an_error_on_one_rank_ends_every_rank():
    code, out = mpirun("fail", timeout=60)
    assert code != 0
    assert "ValueError: rank one failed on purpose" in out and "aborting every rank" in out


def test_different_parameter_shapes_across_ranks_give_the_clear_error():
    code, out = mpirun("mismatch", timeout=60)
    assert code != 0
    assert ("the ranks' parameters differ: rank 0 has 'l0/W' of shape (2, 10), float64 where rank 1 has 'l0/W' "
            "of shape (2, 11), float64") in out


# ------------------------------------------------------------ the main job: zerograd train --distributed
def zerograd_mpi(*argv, n=2, timeout=90):
    cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "zerograd", "train", "--distributed", "--no-progress",
           *map(str, argv)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"mpiexec ran past {timeout} s (a rank hung):\n{out[-2000:]}\n{err[-2000:]}")
    return proc.returncode, out, err


def _metrics(folder):
    rows = (folder / "metrics.csv").read_text().splitlines()[1:]
    return np.array([[float(v) if v else np.nan for v in row.split(",")[1:5]] for row in rows])


def test_train_distributed_matches_one_process_on_the_whole_batch_and_resumes(tmp_path):
    from zerograd.cli import main
    code, out, err = zerograd_mpi("--batch-size", "15", "--epochs", "6", "--out", tmp_path / "two")
    assert code == 0, err[-3000:]
    assert out.count("done:") == 1 and out.count("training MLP on spiral") == 1  # (rank 0 alone prints)
    main(["train", "--batch-size", "30", "--epochs", "6", "--out", str(tmp_path / "one"), "--no-progress"])
    np.testing.assert_allclose(_metrics(tmp_path / "two"), _metrics(tmp_path / "one"), rtol=1e-5)
    two, one = np.load(tmp_path / "two" / "checkpoint.npz"), np.load(tmp_path / "one" / "checkpoint.npz")
    for key in (k for k in one.files if k.startswith("model/")):
        np.testing.assert_allclose(two[key], one[key], atol=2e-6)
    assert zerograd_mpi("--batch-size", "15", "--epochs", "3", "--out", tmp_path / "resumed")[0] == 0
    code, out, err = zerograd_mpi("--out", tmp_path / "resumed", "--resume", "--epochs", "6")
    assert code == 0, err[-3000:]
    np.testing.assert_array_equal(_metrics(tmp_path / "resumed"), _metrics(tmp_path / "two"))


def test_train_distributed_sequence_with_compile_matches_one_process(tmp_path):
    from zerograd.cli import main
    code, out, err = zerograd_mpi("--dataset", "sincurve", "--batch-size", "5", "--epochs", "2", "--hidden", "6",
                                  "--compile", "--out", tmp_path / "two")
    assert code == 0, err[-3000:]
    main(["train", "--dataset", "sincurve", "--batch-size", "10", "--epochs", "2", "--hidden", "6",
          "--out", str(tmp_path / "one"), "--no-progress"])
    np.testing.assert_allclose(_metrics(tmp_path / "two"), _metrics(tmp_path / "one"), rtol=1e-4)


def test_train_distributed_refusal_is_one_line_from_rank_0(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    code, out, err = zerograd_mpi("--out", tmp_path / "run")
    assert code == 2 and err.count("holds another run") == 1


def test_train_distributed_refuses_a_last_batch_smaller_than_the_process_count(tmp_path):
    code, out, err = zerograd_mpi("--dataset", "sincurve", "--model", "mlp", "--batch-size", "1", "--epochs", "1",
                                  "--out", tmp_path / "run")
    assert code == 2 and err.count("the last batch of each epoch would have 1 example for 2 processes") == 1
    assert not (tmp_path / "run").exists()


def test_mpiexec_without_distributed_is_refused(tmp_path):
    cmd = [_mpiexec(), "-n", "2", sys.executable, "-m", "zerograd", "train", "--out", str(tmp_path / "run")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "without --distributed" in proc.stderr and not (tmp_path / "run").exists()


def test_a_run_resumes_only_with_the_process_count_it_was_trained_by(tmp_path):
    from zerograd.cli import main
    assert zerograd_mpi("--batch-size", "15", "--epochs", "2", "--out", tmp_path / "two")[0] == 0
    assert main(["train", "--out", str(tmp_path / "two"), "--resume", "--epochs", "3", "--no-progress"]) == 1
    main(["train", "--epochs", "2", "--out", str(tmp_path / "one"), "--no-progress"])
    code, out, err = zerograd_mpi("--out", tmp_path / "one", "--resume", "--epochs", "3")
    assert code == 2 and err.count("was trained by 1 process; resume it with zerograd train (without") == 1


def test_ranks_started_with_other_options_are_refused(tmp_path):
    out = str(tmp_path / "run")
    cmd = [_mpiexec(), "-n", "1", sys.executable, "-m", "zerograd", "train", "--distributed", "--epochs", "3",
           "--out", out, ":", "-n", "1", sys.executable, "-m", "zerograd", "train", "--distributed", "--epochs", "5",
           "--out", out]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("rank 1 was started with other options") == 1
