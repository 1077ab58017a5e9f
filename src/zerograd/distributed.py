"""Data-parallel training over MPI (after ChainerMN): one process per rank, each with the whole model.

Run a training script under ``mpiexec -n N python train.py``; in it::

    comm = distributed.create_communicator()              # mpi4py's COMM_WORLD
    train = distributed.scatter_dataset(Spiral(), comm)   # this rank's disjoint, equal-size share
    optimizer = distributed.create_multi_node_optimizer(SGD(lr=1.0), comm).setup(model)
    with distributed.abort_on_error(comm):                # an error on one rank ends every rank
        for x, t in DataLoader(train, batch_size, seed=0):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads(); loss.backward()
            optimizer.update()                            # averages gradients, then steps

Design:

* :class:`Communicator` wraps an mpi4py communicator. Its few MPI primitives (in-place sum,
  in-place broadcast of a buffer, object broadcast and gather, barrier, abort) are the only
  calls into MPI; everything else is built on them, so a test double overrides just those.
* Gradients are averaged with one ``Allreduce`` per dtype (one in all for a model of one
  dtype): the arrays are packed into one contiguous NumPy buffer, summed in place
  (``MPI.IN_PLACE``), divided by the number of ranks and unpacked. float16 is summed in float32.
  CuPy arrays are staged through host memory (copied to NumPy and back) always, CUDA-aware MPI
  or not: simple and correct, not the fastest on a GPU.
* :func:`create_multi_node_optimizer` wraps any :class:`~zerograd.optimizers.Optimizer`. Its
  ``update()`` averages every parameter's gradient across the ranks, then runs the wrapped
  optimizer's ``update()`` (hooks such as ClipGrad then see the averaged gradients, the same on
  every rank). Everything else (``lr``, ``base_lr``, ``t``, ``hooks``, ``state_dict`` ...)
  is the wrapped optimizer's.
* A parameter without a gradient on some ranks counts as a zero gradient there (the mean of
  the ranks' losses does not depend on it there); one without a gradient on every rank keeps
  ``grad`` None, so the optimizer leaves it (and its state) alone. The packed buffer carries a
  has-gradient flag per parameter, so this costs no extra message.
* At the first update (and again whenever the set of created parameters changes, e.g. a lazy
  layer's first call) the wrapper checks that every rank has the same parameter names, shapes and
  dtypes (one small allgather; a mismatch raises :class:`DistributedError` naming the first
  difference, on every rank) and broadcasts rank 0's parameters (a collective: the parameters must
  change at the same update on every rank, as they do when every rank runs the same code). Lazy
  parameters need no care: they are synchronised at the first update, before averaging. That first step's
  gradient on a rank whose initial weights differed from rank 0's was computed from its own
  weights (a warning says so); for an exact first step seed every rank alike, or call the model
  once and then :func:`broadcast_initial_parameters` before training.
* :func:`scatter_dataset` gives each rank a disjoint share of one permutation (the same seed on
  every rank; no data is sent): ``ceil(N / size)`` items, padded by repeating the permutation's
  first items, so every rank runs the same number of steps (``drop_remainder=True`` drops the
  last ``N % size`` items instead).
* Faults: a rank that raises while the others wait in a collective would leave them hanging.
  :func:`abort_on_error` (or :func:`install_abort_excepthook`) prints the error and calls
  ``MPI_Abort``, which ends every rank of the job, so ``mpiexec`` exits non-zero.

mpi4py is imported only when a :class:`Communicator` is made (``import zerograd`` needs NumPy
alone); install it with ``pip install 'zerograd[distributed]'`` (mpi4py and MPICH's wheel,
which provides ``mpiexec``).
"""
from __future__ import annotations

import contextlib
import sys
import traceback
import warnings
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from zerograd.backend import as_numpy, get_array_module
from zerograd.core import Parameter, Variable
from zerograd.datasets.base import Dataset
from zerograd.layers.base import Layer
from zerograd.optimizers import Optimizer

INSTALL_HINT = "pip install 'zerograd[distributed]'"


class DistributedError(RuntimeError):
    """The ranks disagree (parameters, dataset) where they must agree."""


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"zerograd.distributed needs mpi4py and an MPI library: {INSTALL_HINT}") from e
    return MPI


# ----------------------------------------------------------------- packing
def reduce_dtype(dtype: Any) -> np.dtype:
    """The dtype arrays of ``dtype`` are summed in: their own, float16 in float32 (MPI has no
    portable half type). Only floating and complex arrays can be averaged."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(f"only floating-point arrays can be averaged across ranks, got {dtype}")
    return np.dtype(np.float32) if dtype.itemsize < 4 and dtype.kind == "f" else dtype


def dtype_groups(arrays: Sequence[Any]) -> dict[np.dtype, list[int]]:
    """Indices of ``arrays`` by the dtype they are summed in, in order of first appearance."""
    groups: dict[np.dtype, list[int]] = {}
    for i, a in enumerate(arrays):
        groups.setdefault(reduce_dtype(a.dtype), []).append(i)
    return groups


def pack(arrays: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
    """One flat buffer of ``dtype`` holding ``arrays`` one after another."""
    buffer = np.empty(sum(a.size for a in arrays), dtype=dtype)
    offset = 0
    for a in arrays:
        buffer[offset:offset + a.size] = a.reshape(-1)
        offset += a.size
    return buffer


def unpack(buffer: np.ndarray, like: Sequence[Any]) -> list[np.ndarray]:
    """Split ``buffer`` (from :func:`pack`) into arrays of the shapes and dtypes of ``like``."""
    out, offset = [], 0
    for a in like:
        part = buffer[offset:offset + a.size].reshape(a.shape)
        out.append(part.astype(a.dtype, copy=True))
        offset += a.size
    return out


def _on_device_of(host: np.ndarray, like: Any) -> Any:
    """``host`` on the device of ``like`` (a CuPy array goes back to the GPU)."""
    xp = get_array_module(like)
    return host if xp is np else xp.asarray(host)


# ------------------------------------------------------------ communicator
class Communicator:
    """Collective operations among the ranks of an mpi4py communicator (default COMM_WORLD).

    The methods marked *primitive* are the only MPI calls; the rest is built on them."""

    def __init__(self, mpi_comm: Any = None) -> None:
        if mpi_comm is None:
            mpi_comm = _import_mpi().COMM_WORLD
        self.mpi_comm = mpi_comm
        self.rank: int = mpi_comm.Get_rank()
        self.size: int = mpi_comm.Get_size()

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size})"

    # -------------------------------------------------------- primitives
    def allreduce_sum_inplace(self, buffer: np.ndarray) -> None:
        """*Primitive*: replace ``buffer`` (a NumPy array) by its sum over the ranks."""
        MPI = _import_mpi()
        self.mpi_comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)

    def bcast_buffer_inplace(self, buffer: np.ndarray, root: int = 0) -> None:
        """*Primitive*: overwrite ``buffer`` (a NumPy array) with rank ``root``'s."""
        self.mpi_comm.Bcast(buffer, root=root)

    def bcast_object(self, obj: Any, root: int = 0) -> Any:
        """*Primitive*: rank ``root``'s (picklable) ``obj``, on every rank."""
        return self.mpi_comm.bcast(obj, root=root)

    def allgather_object(self, obj: Any) -> list[Any]:
        """*Primitive*: every rank's ``obj``, in rank order, on every rank."""
        return list(self.mpi_comm.allgather(obj))

    def barrier(self) -> None:
        """*Primitive*: wait until every rank gets here."""
        self.mpi_comm.Barrier()

    def abort(self, code: int = 1) -> None:
        """*Primitive*: end every rank of the job (MPI_Abort); does not return."""
        self.mpi_comm.Abort(code)

    # ------------------------------------------------------------ arrays
    def allreduce_mean(self, arrays: Sequence[Any]) -> list[Any]:
        """The mean over the ranks of each array (NumPy or CuPy, floating): new arrays of the
        same shapes, dtypes and devices. One packed Allreduce per dtype group."""
        host = [as_numpy(a) for a in arrays]
        out: list[Any] = [None] * len(host)
        for dtype, indices in dtype_groups(host).items():
            members = [host[i] for i in indices]
            buffer = pack(members, dtype)
            self.allreduce_sum_inplace(buffer)
            buffer /= self.size
            for i, mean in zip(indices, unpack(buffer, members)):
                out[i] = _on_device_of(mean, arrays[i])
        return out

    def bcast_arrays(self, arrays: Sequence[Any], root: int = 0) -> None:
        """Overwrite each array (NumPy or CuPy, any dtype) with rank ``root``'s, in place: one
        Bcast of all of them packed as bytes."""
        host = [np.ascontiguousarray(as_numpy(a)) for a in arrays]
        buffer = pack([h.reshape(-1).view(np.uint8) for h in host], np.uint8)
        self.bcast_buffer_inplace(buffer, root)
        offset = 0
        for a, h in zip(arrays, host):
            value = buffer[offset:offset + h.nbytes].view(h.dtype).reshape(h.shape)
            a[...] = _on_device_of(value, a)
            offset += h.nbytes

    def bcast_params(self, model: Layer, root: int = 0, buffers: bool = True) -> list[str]:
        """Give every rank rank ``root``'s parameters (and buffers) of ``model``, those created so
        far, after checking that every rank holds the same ones (:func:`check_same_signature`).
        Returns the names whose values changed on this rank."""
        named = _state_of(model, buffers)
        check_same_signature(self, named)
        return self.bcast_named(named, root)

    def bcast_named(self, named: Sequence[tuple[str, Variable]], root: int = 0) -> list[str]:
        """Rank ``root``'s values of the named Variables that have data (every rank passes the
        same ones), assigned to ``data`` (so ``Parameter.version`` counts the change). Returns
        the names whose values changed on this rank."""
        named = [(k, v) for k, v in named if v.data is not None]
        before = [v.data for _, v in named]
        copies = [get_array_module(d).array(d, copy=True) for d in before]
        self.bcast_arrays(copies, root)
        changed = []
        for (key, v), old, new in zip(named, before, copies):
            if not bool(get_array_module(old).array_equal(old, new)):
                changed.append(key)
            v.data = new
        return changed


def create_communicator(mpi_comm: Any = None) -> Communicator:
    """A :class:`Communicator` over ``mpi_comm`` (default ``MPI.COMM_WORLD``); a clear ImportError
    naming ``pip install 'zerograd[distributed]'`` when mpi4py is missing."""
    return Communicator(mpi_comm)


# ---------------------------------------------------------- signatures
Signature = list[tuple[str, Optional[tuple[int, ...]], Optional[str]]]


def _state_of(model: Layer, buffers: bool) -> list[tuple[str, Variable]]:
    named: list[tuple[str, Variable]] = list(model.named_params())
    return named + list(model.named_buffers()) if buffers else named


def signature(named: Sequence[tuple[str, Variable]]) -> Signature:
    """(name, shape, dtype) of each named array (None, None: not created yet)."""
    return [(k, None, None) if v.data is None else (k, tuple(v.data.shape), str(v.data.dtype)) for k, v in named]


def first_difference(mine: Signature, theirs: Signature, rank: int) -> Optional[str]:
    """Where rank ``rank``'s signature ``theirs`` first differs from rank 0's ``mine``, in words."""
    def describe(entry: Any) -> str:
        name, shape, dtype = entry
        return f"{name!r} (not created yet)" if shape is None else f"{name!r} of shape {shape}, {dtype}"

    for a, b in zip(mine, theirs):
        if a != b:
            return f"rank 0 has {describe(a)} where rank {rank} has {describe(b)}"
    if len(mine) != len(theirs):
        extra, who = (mine, 0) if len(mine) > len(theirs) else (theirs, rank)
        return (f"rank 0 has {len(mine)} arrays, rank {rank} has {len(theirs)}: only rank {who} has "
                f"{describe(extra[min(len(mine), len(theirs))])}")
    return None


def check_same_signature(comm: Communicator, named: Sequence[tuple[str, Variable]], what: str = "parameters") -> None:
    """Raise :class:`DistributedError` on every rank unless every rank's ``named`` arrays have
    the same names, shapes and dtypes (one allgather of a small list)."""
    signatures = comm.allgather_object(signature(named))
    for rank, theirs in enumerate(signatures[1:], start=1):
        problem = first_difference(signatures[0], theirs, rank)
        if problem is not None:
            raise DistributedError(f"the ranks' {what} differ: {problem} (every rank must build the same model)")


# --------------------------------------------------------------- model state
def broadcast_initial_parameters(model: Layer, comm: Communicator) -> None:
    """Give every rank rank 0's parameters and buffers: those created so far. Lazy parameters
    (created at a layer's first call) are synchronised anyway by the multi-node optimizer at its
    first update; call the model once before this for an exact first step."""
    comm.bcast_params(model)


def average_buffers(model: Layer, comm: Communicator) -> None:
    """Replace each floating buffer of ``model`` (BatchNorm's running statistics) by its mean
    over the ranks, e.g. before saving from rank 0."""
    named = [(k, v) for k, v in model.named_buffers() if v.data is not None and v.data.dtype.kind in "fc"]
    check_same_signature(comm, named, "buffers")
    for (_, v), mean in zip(named, comm.allreduce_mean([v.data for _, v in named])):
        v.data = mean


# ------------------------------------------------------------ the optimizer
class MultiNodeOptimizer(Optimizer):
    """An optimizer whose :meth:`update` first averages the gradients across the ranks; every
    other attribute and method is the wrapped optimizer's (``actual_optimizer``)."""

    _OWN = ("actual_optimizer", "comm", "_synced", "slots", "legacy_keys", "share")

    def __init__(self, optimizer: Optimizer, comm: Communicator) -> None:  # (no super(): all state is delegated)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"create_multi_node_optimizer: expected an Optimizer, got {type(optimizer).__name__}")
        object.__setattr__(self, "actual_optimizer", optimizer)
        object.__setattr__(self, "comm", comm)
        object.__setattr__(self, "_synced", None)  # the parameter layout last checked with every rank
        object.__setattr__(self, "slots", optimizer.slots)
        object.__setattr__(self, "legacy_keys", optimizer.legacy_keys)
        #: This rank's part of the global batch times the number of ranks (1: equal parts). The
        #: gradients are scaled by it before averaging, so that an uneven split (a last batch that
        #: does not divide) still gives the gradient of the whole batch. Set with :meth:`set_share`.
        object.__setattr__(self, "share", 1.0)

    def set_share(self, local: int, total: int) -> None:
        """This rank computed its gradient on ``local`` of the global batch's ``total`` examples."""
        object.__setattr__(self, "share", local * self.comm.size / total)

    def __getattr__(self, name: str) -> Any:  # (only for what this object lacks)
        if name.startswith("__") or name in MultiNodeOptimizer._OWN:
            raise AttributeError(name)
        return getattr(self.actual_optimizer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.actual_optimizer, name, value)

    def __repr__(self) -> str:
        return f"MultiNodeOptimizer({type(self.actual_optimizer).__name__}, {self.comm!r})"

    @property
    def base_lr(self) -> float:
        return self.actual_optimizer.base_lr

    @base_lr.setter
    def base_lr(self, value: float) -> None:
        self.actual_optimizer.base_lr = value

    def setup(self, target: Layer) -> "MultiNodeOptimizer":
        self.actual_optimizer.setup(target)
        return self

    def add_hook(self, f: Callable[[list], None]) -> "MultiNodeOptimizer":
        self.actual_optimizer.add_hook(f)
        return self

    def update(self) -> None:
        """Average the gradients over the ranks, then run the wrapped optimizer's update."""
        opt = self.actual_optimizer
        if opt.target is None:
            raise RuntimeError(f"{type(opt).__name__}.update: call setup(model) first")
        named = [(k, p) for k, p in opt._named_params() if p.data is not None]
        layout = [(id(p), p.data.shape, p.data.dtype) for _, p in named]
        if layout != self._synced:
            self._synchronize()
            object.__setattr__(self, "_synced", layout)
        if self.share != 1.0:
            for _, p in named:
                if p.grad is not None:
                    p.grad = Variable(p.grad.data * p.data.dtype.type(self.share), requires_grad=False)
        average_gradients([p for _, p in named], self.comm)
        opt.update()

    def _synchronize(self) -> None:
        """Check the ranks hold the same parameters, and give them rank 0's values."""
        named = self.actual_optimizer._named_params()
        check_same_signature(self.comm, named)
        changed = self.comm.bcast_named(named)
        if changed:
            warnings.warn(f"rank {self.comm.rank}: parameters {changed[:3]} differed from rank 0's at the first "
                          "distributed update and were replaced by rank 0's; this step's gradient here came from "
                          "this rank's own values. Seed every rank alike or call broadcast_initial_parameters "
                          "after creating the parameters for an exact first step.", stacklevel=3)

    # the rest is the wrapped optimizer's
    def update_one(self, param: Parameter) -> None:
        self.actual_optimizer.update_one(param)

    def _slot(self, param: Parameter, name: str, init: Optional[Callable[[Any], Any]] = None):
        return self.actual_optimizer._slot(param, name, init)

    def _named_params(self) -> list[tuple[str, Parameter]]:
        return self.actual_optimizer._named_params()

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.actual_optimizer.state_dict()

    def state_shapes(self) -> dict[str, Optional[tuple[int, ...]]]:
        return self.actual_optimizer.state_shapes()

    def load_state_dict(self, state: Any) -> None:
        self.actual_optimizer.load_state_dict(state)


def average_gradients(params: Sequence[Parameter], comm: Communicator) -> None:
    """Set each parameter's gradient to its mean over the ranks (a rank without one counts zeros;
    None where no rank has one), with one packed Allreduce per dtype. Every rank passes the same
    parameters (names, shapes, dtypes)."""
    if not params:
        return
    arrays = []
    for p in params:
        xp = get_array_module(p.data)
        grad = None if p.grad is None else p.grad.data
        arrays.append(xp.zeros(p.data.shape, p.data.dtype) if grad is None else grad.astype(p.data.dtype, copy=False))
    flags = np.array([p.grad is not None for p in params], dtype=reduce_dtype(params[0].data.dtype))
    *means, had = comm.allreduce_mean(arrays + [flags])  # (in the first parameter's dtype group)
    for p, mean, h in zip(params, means, had):
        p.grad = Variable(mean, requires_grad=False) if h > 0 else None


class RankSlice:
    """A loader of global batches seen by one rank: its contiguous part of each batch, the rest of
    the loader (length, order, state) shared. With every rank seeded alike, the ranks together see
    exactly the batches one process would, and the averaged gradient is that of the whole batch
    (the optimizer's share weights an uneven split) - for models whose examples do not interact and
    that draw no random numbers. Not so for dropout (every rank draws the same masks, for its own
    part; ranks that draw different amounts also shuffle differently afterwards) or BatchNorm (each
    rank normalises with its part's statistics; ``average_buffers`` merges the running ones)."""

    def __init__(self, loader: Any, comm: Communicator, optimizer: Optional[MultiNodeOptimizer] = None) -> None:
        object.__setattr__(self, "loader", loader)
        object.__setattr__(self, "comm", comm)
        object.__setattr__(self, "optimizer", optimizer)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("loader", "comm", "optimizer"):
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.loader, name, value)

    def __iter__(self) -> Iterator[Any]:
        size, rank = self.comm.size, self.comm.rank
        for x, t in self.loader:
            n = len(x)
            if n < size:
                raise DistributedError(f"a batch of {n} examples cannot be shared by {size} processes "
                                       "(choose a batch size or process count that leaves no such remainder)")
            lo, hi = n * rank // size, n * (rank + 1) // size
            if self.optimizer is not None:
                self.optimizer.set_share(hi - lo, n)
            yield x[lo:hi], t[lo:hi]


def create_multi_node_optimizer(optimizer: Optimizer, comm: Communicator) -> MultiNodeOptimizer:
    """Wrap ``optimizer`` so that :meth:`~MultiNodeOptimizer.update` averages the gradients over
    the ranks first (see the module's docstring). ``setup`` may be called on either."""
    return MultiNodeOptimizer(optimizer, comm)


# ------------------------------------------------------------------ data
def shard_indices(n: int, size: int, rank: int, shuffle: bool = True, seed: int = 0,
                  drop_remainder: bool = False) -> np.ndarray:
    """Rank ``rank``'s indices among ``n`` items: its contiguous share of one permutation
    (``default_rng(seed)``; ``arange(n)`` without ``shuffle``), ``ceil(n / size)`` of them,
    padded by repeating the order's first items (``n // size`` with ``drop_remainder``)."""
    if not 0 <= rank < size:
        raise ValueError(f"shard_indices: rank {rank} is not in 0..{size - 1}")
    per = n // size if drop_remainder else -(-n // size)
    if per == 0:
        raise ValueError(f"shard_indices: {n} items cannot give each of {size} ranks one")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    order = np.resize(order, per * size)  # (repeats from the start to pad, or cuts the remainder)
    return order[rank * per:(rank + 1) * per]


class DatasetShard(Dataset):
    """The items of an array-backed :class:`Dataset` at ``indices`` (their rows copied), with its
    transforms: a Dataset itself, so a DataLoader builds its batches by array indexing."""

    def __init__(self, dataset: Dataset, indices: np.ndarray) -> None:
        super().__init__(dataset.train, dataset.transform, dataset.target_transform)
        self.indices = np.asarray(indices)
        self.data = dataset.data[self.indices]
        self.label = None if dataset.label is None else dataset.label[self.indices]


class IndexedShard:
    """The items of any dataset (``len`` and ``dataset[i]``) at ``indices``, read through it."""

    def __init__(self, dataset: Any, indices: np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]  # (an integer array or slice: if the dataset takes one)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))


def shard_dataset(dataset: Any, indices: np.ndarray) -> Any:
    """``dataset`` restricted to ``indices``: a :class:`DatasetShard` for an array-backed Dataset
    (DataLoader's fast path), else an :class:`IndexedShard`."""
    plain = isinstance(dataset, Dataset) and type(dataset).__getitem__ is Dataset.__getitem__
    if plain and isinstance(dataset.data, np.ndarray):
        return DatasetShard(dataset, indices)
    return IndexedShard(dataset, indices)


def scatter_dataset(dataset: Any, comm: Communicator, shuffle: bool = True, seed: int = 0,
                    drop_remainder: bool = False) -> Any:
    """This rank's share of ``dataset`` (every rank loads the same dataset and calls this with the
    same arguments; checked): disjoint shares of equal size (see :func:`shard_indices`), usable
    by DataLoader. Nothing is sent but the check."""
    mine = (len(dataset), bool(shuffle), int(seed), bool(drop_remainder))
    every = comm.allgather_object(mine)
    for rank, theirs in enumerate(every[1:], start=1):
        if theirs != every[0]:
            raise DistributedError(f"scatter_dataset: (items, shuffle, seed, drop_remainder) is {every[0]} on "
                                   f"rank 0 but {theirs} on rank {rank}: every rank must pass the same")
    return shard_dataset(dataset, shard_indices(len(dataset), comm.size, comm.rank, shuffle, seed, drop_remainder))


# ------------------------------------------------------------------ faults
def _report_and_abort(comm: Communicator, exc: BaseException) -> None:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sys.stderr.write(f"zerograd.distributed: rank {comm.rank} of {comm.size} failed; aborting every rank "
                     "(MPI_Abort)\n")
    sys.stderr.flush()
    sys.stdout.flush()
    comm.abort(1)


@contextlib.contextmanager
def abort_on_error(comm: Optional[Communicator] = None) -> Iterator[Communicator]:
    """Run the block; if it raises (anything but ``SystemExit(0)``), print the traceback and
    call ``MPI_Abort``, which ends every rank of the job (so none waits forever in a collective
    for this one) and makes ``mpiexec`` exit non-zero. Yields the communicator."""
    comm = create_communicator() if comm is None else comm
    try:
        yield comm
    except SystemExit as e:
        if e.code not in (None, 0):
            _report_and_abort(comm, e)
        raise
    except BaseException as e:
        _report_and_abort(comm, e)
        raise  # (reached only where abort returns: a test double)


def install_abort_excepthook(comm: Optional[Communicator] = None) -> None:
    """Make an uncaught exception abort every rank (after the usual traceback): the whole-script
    form of :func:`abort_on_error`."""
    comm = create_communicator() if comm is None else comm
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        previous(kind, value, tb)
        sys.stderr.write(f"zerograd.distributed: rank {comm.rank} failed; aborting every rank (MPI_Abort)\n")
        sys.stderr.flush()
        comm.abort(1)

    sys.excepthook = hook


__all__ = [
    "Communicator", "create_communicator", "DistributedError", "MultiNodeOptimizer", "create_multi_node_optimizer",
    "average_gradients", "broadcast_initial_parameters", "average_buffers", "scatter_dataset", "shard_indices",
    "shard_dataset", "DatasetShard", "IndexedShard", "abort_on_error", "install_abort_excepthook",
    "check_same_signature", "pack", "unpack", "dtype_groups", "reduce_dtype",
]
