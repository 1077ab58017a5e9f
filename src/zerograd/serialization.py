"""Saving and loading arrays safely.

* Writes are atomic: the data goes to a temporary file in the same folder, is flushed to
  disk, and only then renamed over the target. An interrupted save leaves the previous
  file whole.
* Loading never unpickles: ``allow_pickle=False``, so a file holding an object array is
  refused with a clear error instead of running code from the file.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from typing import Mapping

import numpy as np


class CheckpointError(ValueError):
    """A weights or state file that does not match what it is being loaded into."""


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], compress: bool = True) -> None:
    """Write ``arrays`` to an ``.npz`` file at exactly ``path``, atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder!r} does not exist")
    for key, value in arrays.items():
        if isinstance(value, np.ndarray) and value.dtype == object:
            raise TypeError(f"save: {key!r} is an object array; only numeric arrays can be saved")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file into memory, refusing pickled (object) arrays."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise CheckpointError(f"load: {path!r} holds an object (pickled) array; zerograd never unpickles "
                                  "data from files") from None
        raise CheckpointError(f"load: {path!r} is not a valid .npz file ({e})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"load: {path!r} is not a valid .npz file ({e})") from None


def check_keys(expected: Mapping[str, tuple], found: Mapping[str, np.ndarray], what: str) -> None:
    """Raise CheckpointError naming missing or unexpected keys, or mismatched shapes.

    ``expected`` maps each key to its shape (None for a shape not known yet).
    """
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if extra:
            parts.append(f"unexpected keys {extra}")
        raise CheckpointError(f"{what}: " + "; ".join(parts))
    for key, shape in expected.items():
        if shape is not None and tuple(found[key].shape) != tuple(shape):
            raise CheckpointError(f"{what}: {key!r} has shape {tuple(found[key].shape)} in the file but "
                                  f"{tuple(shape)} in the model")
