"""One-call checkpoints: everything needed to continue training exactly, in one ``.npz`` file::

    save_checkpoint("ckpt.npz", model, optimizer, epoch=3, best=0.91)
    ...
    ckpt = load_checkpoint("ckpt.npz", model, optimizer)   # ckpt.epoch == 3, ckpt.extras["best"] == 0.91

A checkpoint holds only arrays (nothing is pickled), under these keys:

* ``model/<path>``: the model's parameters and buffers (:meth:`Layer.state_dict`);
* ``optimizer/<key>``: the optimizer's step count, learning rate and moments
  (:meth:`Optimizer.state_dict`);
* ``rng/keys``, ``rng/pos``, ``rng/has_gauss``, ``rng/cached_gaussian``: NumPy's global random
  state, so that shuffling and dropout continue as if the run had never stopped;
* ``epoch``: the number of complete epochs;
* any other key: the caller's extras (arrays or numbers).

Saving is atomic and uncompressed (:func:`zerograd.serialization.save_arrays`): a save that
fails or is interrupted leaves the previous file whole. Loading checks every shape before reading
an array, then the keys, the model's dtypes, the random state and the epoch, and raises one
:class:`InvalidCheckpoint` naming the file and the problem; nothing is changed unless everything
fits (model, optimizer and random state are restored together).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, cast

import numpy as np

from zerograd.backend import as_numpy
from zerograd.layers.base import Layer
from zerograd.optimizers import Optimizer
from zerograd.serialization import CheckpointError, load_arrays, save_arrays

MODEL = "model/"
OPTIMIZER = "optimizer/"
RNG = "rng/"
EPOCH = "epoch"
#: The random state's keys and shapes (NumPy's MT19937: 624 words and a position).
RNG_SHAPES: dict[str, tuple] = {"rng/keys": (624,), "rng/pos": (), "rng/has_gauss": (), "rng/cached_gaussian": ()}

__all__ = ["save_checkpoint", "load_checkpoint", "checkpoint_arrays", "checkpoint_shapes", "Checkpoint",
           "InvalidCheckpoint"]


class InvalidCheckpoint(CheckpointError):
    """A checkpoint that cannot be loaded. ``damaged`` is True when the file contradicts itself
    (a key missing, an invalid random state or epoch, a model array of another dtype), False when
    it is a sound file that does not fit the model or optimizer (another shape, a key too many)
    or cannot be read at all; ``problem`` says what, without the file's name."""

    def __init__(self, path: str, problem: str, damaged: bool) -> None:
        super().__init__(f"load_checkpoint: {path!r} " + (f"is damaged: {problem}" if damaged else
                                                            f"does not fit ({problem})"))
        self.path = path
        self.problem = problem
        self.damaged = damaged


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read besides the model's and optimizer's state."""

    #: The epoch saved.
    epoch: int
    #: The caller's extras: 0-d arrays as Python numbers, others as arrays.
    extras: dict[str, Any] = field(default_factory=dict)
    #: Every array of the file as read (writing them again gives the same checkpoint).
    arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def _is_reserved(key: str) -> bool:
    return key == EPOCH or key.startswith((MODEL, OPTIMIZER, RNG))


def _check_epoch(epoch: Any) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"checkpoint: epoch must be a whole number from 0, got {epoch!r}")
    return int(epoch)


def checkpoint_arrays(model: Layer, optimizer: Optional[Optimizer] = None, epoch: int = 0,
                      **extra: Any) -> dict[str, np.ndarray]:
    """Everything a checkpoint holds, as NumPy copies (training may go on changing the originals):
    what :func:`save_checkpoint` writes. ``extra`` values are arrays or numbers; their names may
    hold ``/`` (pass ``**{"loader/index": ...}``) but not be ``epoch`` or start with ``model/``,
    ``optimizer/`` or ``rng/``."""
    epoch = _check_epoch(epoch)
    arrays = {MODEL + k: np.array(as_numpy(v)) for k, v in model.state_dict().items()}
    if optimizer is not None:
        arrays.update({OPTIMIZER + k: np.array(as_numpy(v)) for k, v in optimizer.state_dict().items()})
    _, keys, pos, has_gauss, cached = cast("tuple[str, np.ndarray, int, int, float]", np.random.get_state())
    arrays.update({"rng/keys": np.array(keys), "rng/pos": np.asarray(pos), "rng/has_gauss": np.asarray(has_gauss),
                   "rng/cached_gaussian": np.asarray(cached), EPOCH: np.asarray(epoch)})
    for key, value in extra.items():
        if _is_reserved(key) or key in ("file", "allow_pickle") or not key:
            raise ValueError(f"checkpoint: {key!r} cannot name an extra (reserved for the checkpoint's own arrays)")
        array = np.array(as_numpy(value))
        if array.dtype.kind not in "biufc":
            raise TypeError(f"checkpoint: extra {key!r} is of dtype {array.dtype}; only numbers and numeric arrays "
                            "can be saved")
        arrays[key] = array
    return arrays


def save_checkpoint(path: str | os.PathLike, model: Layer, optimizer: Optional[Optimizer] = None, epoch: int = 0,
                    **extra: Any) -> None:
    """Write ``model``'s and ``optimizer``'s state, NumPy's global random state, ``epoch`` and
    the ``extra`` arrays or numbers to ``path`` (an uncompressed ``.npz``), atomically."""
    save_arrays(path, checkpoint_arrays(model, optimizer, epoch, **extra))


def checkpoint_shapes(model: Layer, optimizer: Optional[Optimizer] = None,
                      expected: Optional[Mapping[str, Optional[tuple]]] = None) -> dict[str, Optional[tuple]]:
    """The shape of every array a checkpoint of ``model`` and ``optimizer`` holds (None: not
    known, a parameter not created yet), with the ``expected`` extras' (checked before reading)."""
    shapes: dict[str, Optional[tuple]] = {MODEL + k: None if v.data is None else tuple(v.data.shape)
                                          for k, v in model._named_state()}
    if optimizer is not None:
        shapes.update({OPTIMIZER + k: v for k, v in optimizer.state_shapes().items()})
    shapes.update(RNG_SHAPES)
    shapes[EPOCH] = ()
    shapes.update(expected or {})
    return shapes


def _valid_rng(data: Mapping[str, np.ndarray]) -> bool:
    keys, pos, has_gauss, cached = (data[k] for k in RNG_SHAPES)
    return (keys.dtype.kind in "iu" and pos.dtype.kind in "iu" and has_gauss.dtype.kind in "biu"
            and cached.dtype.kind in "iuf" and (keys.size == 0 or (int(keys.min()) >= 0 and int(keys.max()) < 2 ** 32))
            and 0 <= int(pos) <= 624 and int(has_gauss) in (0, 1) and bool(np.isfinite(cached)))


def load_checkpoint(path: str | os.PathLike, model: Layer, optimizer: Optional[Optimizer] = None, *,
                    expected: Optional[Mapping[str, Optional[tuple]]] = None,
                    check: Optional[Callable[[Checkpoint], None]] = None) -> Checkpoint:
    """Restore a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``,
    if given) and NumPy's global random state; returns its epoch and extras.

    ``expected`` names extras the file must hold, with their shapes (None: any). ``check`` is
    called with the result after every other check passed and before anything is restored;
    whatever it raises propagates and nothing changes. A model whose parameters are shaped by
    its first call should be called once first, so that every shape is checked before reading.

    Raises :class:`InvalidCheckpoint` (a :class:`CheckpointError`) naming the file and the problem;
    a file that does not exist is a FileNotFoundError."""
    path = os.fspath(path)
    try:
        data = load_arrays(path, checkpoint_shapes(model, optimizer, expected))
    except CheckpointError as e:
        raise InvalidCheckpoint(path, str(e), damaged=False) from None
    missing = [k for k in (*RNG_SHAPES, *(expected or {}), EPOCH) if k not in data]
    if missing:
        raise InvalidCheckpoint(path, f"it lacks {', '.join(missing)}", damaged=True)
    model_state = {k[len(MODEL):]: v for k, v in data.items() if k.startswith(MODEL)}
    own = model.state_dict()
    for key, value in model_state.items():
        if key in own and value.dtype != own[key].dtype:
            raise InvalidCheckpoint(path, f"{MODEL}{key} is {value.dtype}, the model's is {own[key].dtype}",
                                    damaged=True)
    if not _valid_rng(data):
        raise InvalidCheckpoint(path, "the random generator's state is not valid", damaged=True)
    epoch = data[EPOCH]
    if epoch.dtype.kind not in "iu" or int(epoch) < 0:
        raise InvalidCheckpoint(path, f"the epoch count is {epoch}, not a whole number from 0", damaged=True)
    extras = {k: (v.item() if v.ndim == 0 else v) for k, v in data.items() if not _is_reserved(k)}
    result = Checkpoint(epoch=int(epoch), extras=extras, arrays=data)
    if check is not None:
        check(result)

    before = [(p, p.data) for _, p in model._named_state()]  # load_state_dict replaces .data, never writes into it
    try:
        model.load_state_dict(model_state)
        if optimizer is not None:
            optimizer.load_state_dict({k[len(OPTIMIZER):]: v for k, v in data.items() if k.startswith(OPTIMIZER)})
    except BaseException as e:
        for p, array in before:
            p.data = array
        if isinstance(e, CheckpointError):
            raise InvalidCheckpoint(path, str(e), damaged=False) from None
        raise
    np.random.set_state(("MT19937", data["rng/keys"].astype(np.uint32), int(data["rng/pos"]),
                         int(data["rng/has_gauss"]), float(data["rng/cached_gaussian"])))
    return result
