"""Reading and writing the safetensors format with NumPy alone (no pickle, no extra package).

A safetensors file is:

* 8 bytes: ``N``, the header's length, an unsigned little-endian 64-bit integer;
* ``N`` bytes: a UTF-8 JSON object mapping each tensor's name to
  ``{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}``, plus an optional
  ``"__metadata__"`` object of text to text; writers pad it with spaces so that the data starts
  at a multiple of 8 bytes;
* the data: each tensor's bytes, C order and little-endian, at ``[begin, end)`` counted from
  the first byte after the header. The tensors cover the data exactly: no overlaps, no holes.

:func:`save_file` writes what the reference implementation (the ``safetensors`` package) writes,
byte for byte when there is no metadata: tensors ordered by dtype (widest first, so each is
aligned to its item size) then by name, compact JSON, space padding. Writes are atomic
(:func:`zerograd.serialization.atomic_write`).

:func:`load_file` validates the whole header before reading any tensor, and turns every problem
into one :class:`~zerograd.serialization.CheckpointError` naming the file and the problem: a
header length beyond the file or over :data:`MAX_HEADER_BYTES`, a header that is not a JSON
object (or names something twice), an unknown dtype, a bad or negative shape, offsets that do
not match the shape or lie outside the data, tensors that overlap or leave holes, a truncated
file. Since the tensors must cover the data exactly, the arrays it allocates never take more
than the file's size (twice that for BF16, which is read into float32).

Dtypes: F64, F32, F16, BF16 (read only, into float32), I64, I32, I16, I8, U64, U32, U16, U8, BOOL.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO, Callable, Mapping, NoReturn, Optional

import numpy as np

from zerograd.serialization import CheckpointError, atomic_write

#: The largest header :func:`load_file` reads (the reference implementation's limit, 100 MB).
MAX_HEADER_BYTES = 100_000_000

# name -> (little-endian dtype of the stored bytes, rank in the reference's Dtype enum: the
# writer orders tensors by descending rank, then by name)
_FORMATS: dict[str, tuple[np.dtype, int]] = {
    "BOOL": (np.dtype("|b1"), 0),
    "U8": (np.dtype("|u1"), 4),
    "I8": (np.dtype("|i1"), 5),
    "I16": (np.dtype("<i2"), 9),
    "U16": (np.dtype("<u2"), 10),
    "F16": (np.dtype("<f2"), 11),
    "BF16": (np.dtype("<u2"), 12),  # read as its 16 bits, then widened to float32
    "I32": (np.dtype("<i4"), 13),
    "U32": (np.dtype("<u4"), 14),
    "F32": (np.dtype("<f4"), 15),
    "F64": (np.dtype("<f8"), 17),
    "I64": (np.dtype("<i8"), 18),
    "U64": (np.dtype("<u8"), 19),
}
# native NumPy dtype -> name, for writing (BF16 has no NumPy dtype)
_NAMES: dict[np.dtype, str] = {fmt.newbyteorder("="): name for name, (fmt, _) in _FORMATS.items()
                               if name != "BF16"}
_FIELDS = ("dtype", "shape", "data_offsets")


def _product(shape: list) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
_METADATA = "__metadata__"


def _format_name(key: str, dtype: np.dtype) -> str:
    name = _NAMES.get(dtype.newbyteorder("="))
    if name is None:
        raise TypeError(f"save: {key!r} has dtype {dtype}, which safetensors cannot hold here (it holds "
                        + ", ".join(str(d) for d in _NAMES) + ")")
    return name


def save_file(path: str | os.PathLike, arrays: Mapping[str, Any],
              metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write ``arrays`` (name -> NumPy array) to a safetensors file at ``path``, atomically.

    ``metadata`` (text -> text) goes into the header's ``"__metadata__"``. Names must be text
    other than ``"__metadata__"``; arrays must have one of the dtypes the format holds (not
    BF16: NumPy has no such dtype). Raises TypeError or ValueError, writing nothing, otherwise."""
    header: dict[str, Any] = {}
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise TypeError(f"save: metadata must map text to text, not be a {type(metadata).__name__}")
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"save: metadata must map text to text; {k!r}: {v!r} does not")
        header[_METADATA] = {k: metadata[k] for k in sorted(metadata)}
    entries = []
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise TypeError(f"save: array names must be text, not {type(key).__name__} ({key!r})")
        if key == _METADATA:
            raise ValueError(f"save: {key!r} cannot name an array (the safetensors header reserves it)")
        array = np.asarray(value)
        name = _format_name(key, array.dtype)
        array = array.astype(_FORMATS[name][0], order="C", copy=False)  # (ascontiguousarray makes 0-d 1-d)
        entries.append((name, key, array))
    entries.sort(key=lambda e: (-_FORMATS[e[0]][1], e[1]))
    begin = 0
    for name, key, array in entries:
        header[key] = {"dtype": name, "shape": list(array.shape), "data_offsets": [begin, begin + array.nbytes]}
        begin += array.nbytes
    try:
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"save: a name or metadata text cannot be written as UTF-8 ({e})") from None
    text += b" " * (-len(text) % 8)  # the data starts at a multiple of 8, as the reference aligns it

    def write(fh: BinaryIO) -> None:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for _, _, array in entries:
            if array.size:
                fh.write(array.reshape(-1).view(np.uint8).data)

    atomic_write(path, write)


class _Repeated(Exception):
    """A JSON object naming one key twice (raised by the parser's hook)."""


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Repeated(key)
        out[key] = value
    return out


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_Bad = Callable[[str], CheckpointError]


def _read_header(fh: BinaryIO, size: int,
                 bad: _Bad) -> tuple[dict[str, str], list[tuple[str, str, list, int, int]], int]:
    """Read and validate the header: (metadata, [(key, dtype name, shape, begin, end)] in data
    order, where the data starts in the file). Raises ``bad(problem)`` for anything wrong."""
    start = fh.read(8)
    if start[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        raise bad("is an .npz (zip) archive, not a safetensors file; give it an .npz name to load it")
    if start[:6] == b"\x93NUMPY":
        raise bad("is a single .npy array, not a safetensors file")
    if len(start) < 8:
        raise bad(f"is too short for a safetensors file ({size} bytes; the header length alone takes 8)")
    (length,) = struct.unpack("<Q", start)
    if length > MAX_HEADER_BYTES:
        raise bad(f"declares a header of {length} bytes, more than the {MAX_HEADER_BYTES} a safetensors header "
                  "may take (not a safetensors file?)")
    if length > size - 8:
        raise bad(f"declares a header of {length} bytes but only {size - 8} bytes follow (a truncated file, or "
                  "not a safetensors file)")
    raw = fh.read(length)
    if len(raw) < length:
        raise bad("is truncated (the header ends early)")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_repeats, parse_constant=_refuse_constant)
    except _Repeated as e:
        raise bad(f"has a header that names {e.args[0]!r} twice") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise bad(f"has a header that is not valid JSON ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise bad(f"has a header that is a JSON {type(header).__name__}, not an object")
    metadata = header.pop(_METADATA, None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise bad(f"has a {_METADATA!r} that is a JSON {type(metadata).__name__}, not an object of text")
    for k, v in metadata.items():
        if not isinstance(v, str):
            raise bad(f"has a {_METADATA!r} entry {k!r} that is a JSON {type(v).__name__}, not text")
    buffer_size = size - 8 - length
    entries = []
    for key, info in header.items():
        if not isinstance(key, str):  # (JSON keys are text; kept in case the parser changes)
            raise bad(f"has a tensor name {key!r} that is not text")
        if not isinstance(info, dict):
            raise bad(f"describes tensor {key!r} with a JSON {type(info).__name__}, not an object")
        missing = [f for f in _FIELDS if f not in info]
        extra = [f for f in info if f not in _FIELDS]
        if missing or extra:
            raise bad(f"describes tensor {key!r} with " + "; ".join(
                ([f"no {missing}"] if missing else []) + ([f"unknown fields {extra}"] if extra else [])))
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _FORMATS:
            raise bad(f"gives tensor {key!r} the dtype {dtype!r}, which zerograd does not read (it reads "
                      + ", ".join(_FORMATS) + ")")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise bad(f"gives tensor {key!r} the shape {shape!r}, not a list of whole numbers")
        if any(d < 0 for d in shape):
            raise bad(f"gives tensor {key!r} the shape {shape!r}, with a negative dimension")
        if len(shape) > 64 or _product([d for d in shape if d]) * _FORMATS[dtype][0].itemsize >= 2 ** 63:
            raise bad(f"gives tensor {key!r} the shape {shape!r}, which no array can have (at most 64 axes, "
                      "fewer than 2**63 elements)")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise bad(f"gives tensor {key!r} the data_offsets {offsets!r}, not [begin, end] with 0 <= begin <= end")
        begin, end = offsets
        count = 1
        for d in shape:
            count *= d
        nbytes = count * _FORMATS[dtype][0].itemsize
        if end - begin != nbytes:
            raise bad(f"gives tensor {key!r} ({dtype}, shape {tuple(shape)}: {nbytes} bytes) the data_offsets "
                      f"[{begin}, {end}], which span {end - begin} bytes")
        if end > buffer_size:
            raise bad(f"gives tensor {key!r} the data_offsets [{begin}, {end}], beyond the {buffer_size} bytes of "
                      "data the file holds (a truncated file?)")
        entries.append((key, dtype, shape, begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    at, previous = 0, None
    for key, _, _, begin, end in entries:
        if begin < at:
            raise bad(f"has tensors {previous!r} and {key!r} that overlap (bytes {begin} to {at} of the data)")
        if begin > at:
            raise bad(f"has a hole in its data: bytes {at} to {begin} belong to no tensor (the format requires "
                      "the tensors to cover the data exactly)")
        at, previous = end, key
    if at != buffer_size:
        raise bad(f"has {buffer_size - at} bytes after its last tensor's data that belong to no tensor (the format "
                  "requires the tensors to cover the data exactly)")
    return metadata, entries, 8 + length


def _checked_path(path: str | os.PathLike) -> str:
    """``path`` as text; FileNotFoundError where it is missing, CheckpointError where it is a folder
    (as load_arrays)."""
    path = os.fsdecode(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    if os.path.isdir(path):
        raise CheckpointError(f"load: {path!r} is a folder, not a weights file")
    return path


def _bad_for(path: str) -> _Bad:
    def bad(problem: str) -> CheckpointError:
        return CheckpointError(f"load: {path!r}{'' if problem.startswith(':') else ' '}{problem}")
    return bad


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``"__metadata__"`` (text -> text) of a safetensors file, empty if it has none. The
    whole header is validated as :func:`load_file` does; no tensor is read."""
    path = _checked_path(path)
    bad = _bad_for(path)
    with open(path, "rb") as fh:
        try:
            metadata, _, _ = _read_header(fh, os.fstat(fh.fileno()).st_size, bad)
        except OSError as e:
            raise bad(f"could not be read ({type(e).__name__}: {e})") from None
    return metadata


def load_file(path: str | os.PathLike,
              expected: Optional[Mapping[str, Optional[tuple]]] = None) -> dict[str, np.ndarray]:
    """Read every tensor of a safetensors file into a dict of NumPy arrays (native byte order),
    in the order of their data. ``expected`` (key -> shape, or None for any shape) refuses a
    tensor of another shape before any tensor is read, as
    :func:`zerograd.serialization.load_arrays` does for ``.npz``; keys it does not name are read
    as they are (:func:`~zerograd.serialization.check_keys` compares the keys).

    BF16 tensors are read into **float32** arrays (NumPy has no bfloat16; every BF16 value is
    exactly a float32). BOOL tensors must hold only the bytes 0 and 1.

    Anything wrong with the file is one :class:`~zerograd.serialization.CheckpointError` naming
    the file and the problem (see the module's docstring), raised before any array is
    allocated."""
    path = _checked_path(path)
    bad = _bad_for(path)
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as fh:
        try:
            _, entries, data_start = _read_header(fh, os.fstat(fh.fileno()).st_size, bad)
            if expected is not None:
                for key, _, shape, _, _ in entries:
                    fixed = expected.get(key)
                    if fixed is not None and tuple(shape) != tuple(fixed):
                        raise bad(f": {key!r} has shape {tuple(shape)} in the file but {tuple(fixed)} in the model")
            for key, dtype, shape, begin, end in entries:
                fmt = _FORMATS[dtype][0]
                array = np.empty(shape, dtype=np.uint8 if dtype == "BOOL" else fmt)
                buffer = array.reshape(-1).view(np.uint8).data
                fh.seek(data_start + begin)
                got = 0
                while got < end - begin:  # read straight into the array: no second copy
                    n = fh.readinto(buffer[got:])
                    if not n:
                        raise bad(f"is truncated (in tensor {key!r}'s data)")
                    got += n
                if dtype == "BOOL":
                    if array.size and array.max() > 1:
                        raise bad(f"has a BOOL tensor {key!r} holding bytes other than 0 and 1")
                    array = array.view(np.bool_)
                elif dtype == "BF16":  # bfloat16 is the top half of a float32
                    wide = array.astype("<u4")
                    np.left_shift(wide, 16, out=wide)
                    array = wide.view("<f4")
                if not array.dtype.isnative:
                    array = array.astype(array.dtype.newbyteorder("="))
                out[key] = array
        except OSError as e:
            raise bad(f"could not be read ({type(e).__name__}: {e})") from None
    return out


__all__ = ["save_file", "load_file", "read_metadata", "MAX_HEADER_BYTES"]
