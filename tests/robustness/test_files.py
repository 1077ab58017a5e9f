"""Adversarial cases for weight files: every bad file is one clear error naming it."""
import os
import stat
import zipfile

import numpy as np
import pytest

import zerograd.layers as L
from zerograd.serialization import CheckpointError, load_arrays, save_arrays


def _model():
    return L.Linear(3, in_size=2)


def _saved(tmp_path):
    path = tmp_path / "w.npz"
    _model().save_weights(path)
    return path


def test_a_plain_npy_file_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    np.save(open(path, "wb"), np.ones(3))
    with pytest.raises(CheckpointError, match="is a single .npy array"):
        _model().load_weights(path)


def test_a_member_that_is_not_npy_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("W.txt", "hello")
    with pytest.raises(CheckpointError, match="member 'W.txt' that is not an .npy array"):
        load_arrays(path)


def test_a_corrupt_compressed_member_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    save_arrays(path, {"W": np.random.default_rng(0).standard_normal((50, 50))}, compress=True)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    for i in range(start, start + 64):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"'W' is damaged|not a valid .npz"):
        load_arrays(path)


def test_a_truncated_file_is_refused(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="w.npz"):
        _model().load_weights(path)


def test_a_member_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "w.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (10 ** 6, 10 ** 6)}
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("W.npy", buf.getvalue() + b"\0" * 64)
    with pytest.raises(CheckpointError, match=r"declares shape \(1000000, 1000000\)"):
        load_arrays(path)


def test_a_member_of_another_shape_is_refused_before_reading_it(tmp_path):
    path = tmp_path / "w.npz"
    save_arrays(path, {"W": np.zeros((200, 200)), "b": np.zeros(3)})
    with pytest.raises(CheckpointError, match=r"'W' has shape \(200, 200\) in the file but \(2, 3\) in the model"):
        _model().load_weights(path)


def test_saved_files_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = _saved(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_a_killed_save_leaves_nothing_after_the_next_save(tmp_path):
    path = tmp_path / "w.npz"
    stale = tmp_path / ".w.npz.part-999999999"  # a process id that does not run
    stale.write_bytes(b"half a file")
    _model().save_weights(path)
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]
    model = _model()
    model.load_weights(path)


def _deflated_npz(path, arrays):
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def test_a_zip_bomb_is_refused_before_allocating_without_expected_shapes(tmp_path):
    path = tmp_path / "bomb.npz"
    _deflated_npz(path, {"z": np.zeros(4 << 20, np.uint8)})  # 4 MiB of zeros in a few KiB
    size = os.path.getsize(path)
    assert size < 64 << 10
    with pytest.raises(CheckpointError, match=r"bomb.npz.*'z'.*4194304 bytes.*max_bytes="):
        load_arrays(path, max_bytes=1 << 20)
    assert load_arrays(path)["z"].size == 4 << 20          # the default budget (256 MiB) allows it
    # members whose shape the caller fixes do not count against the budget
    assert load_arrays(path, {"z": (4 << 20,)}, max_bytes=0)["z"].shape == (4 << 20,)


def test_resume_checks_checkpoint_shapes_before_reading(tmp_path):
    from zerograd.training import Trainer, TrainConfig, build_task
    config = TrainConfig(dataset="spiral", epochs=1, hidden=4, optimizer="adam").resolved()
    Trainer(build_task(config), str(tmp_path), log=lambda s: None, progress=False).run()
    data = load_arrays(tmp_path / "checkpoint.npz")
    data["optimizer/state/l0/W/m"] = np.zeros((4000, 4000))
    save_arrays(tmp_path / "checkpoint.npz", data)
    again = Trainer(build_task(config), str(tmp_path), log=lambda s: None, progress=False)
    with pytest.raises(CheckpointError, match=r"'optimizer/state/l0/W/m' has shape \(4000, 4000\) in the file"):
        again.resume()


def test_members_that_are_not_numbers_are_refused(tmp_path):
    path = tmp_path / "strings.npz"
    np.savez(path, W=np.array(["a", "b"]))
    with pytest.raises(CheckpointError, match=r"strings.npz.*'W'.*dtype <U1, not numbers"):
        load_arrays(path)


def test_a_complex_member_does_not_fit_a_real_parameter(tmp_path):
    layer = L.Linear(2, in_size=2)
    path = tmp_path / "complex.npz"
    np.savez(path, W=np.ones((2, 2), complex), b=np.zeros(2))
    with pytest.raises(CheckpointError, match="'W' holds an array of dtype complex128"):
        layer.load_weights(path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_two_members_of_one_name_and_a_folder_are_refused(tmp_path):
    path = tmp_path / "twice.npz"
    np.savez(tmp_path / "one.npz", W=np.zeros(2))
    with zipfile.ZipFile(tmp_path / "one.npz") as src:
        buf = src.read("W.npy")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("W.npy", buf)
        zf.writestr("W.npy", buf)
    with pytest.raises(CheckpointError, match="two members named 'W.npy'"):
        load_arrays(path)
    with pytest.raises(CheckpointError, match="is a folder"):
        load_arrays(tmp_path)


def test_an_encrypted_member_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "locked.npz"
    np.savez(path, W=np.zeros(2))
    data = bytearray(path.read_bytes())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):   # set the 'encrypted' flag in both headers
        at = data.find(sig)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="locked.npz"):
        load_arrays(path)


@pytest.mark.parametrize("key", ["file", "allow_pickle"])
def test_names_numpy_reserves_are_refused(tmp_path, key):
    with pytest.raises(ValueError, match="reserves it"):
        save_arrays(tmp_path / "x.npz", {key: np.zeros(2)})


# ------------------------------------------------------------------ safetensors: every bad file, one clear error
def _st_file(path, header, data=b"", length=None):
    """Write a safetensors file by hand: ``header`` (an object to dump as JSON, or raw bytes), its
    8-byte length (``length`` overrides it), then ``data``."""
    raw = header if isinstance(header, bytes) else __import__("json").dumps(header).encode()
    path.write_bytes(__import__("struct").pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


def _w(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


_BAD_SAFETENSORS = [
    ("header length beyond the file", b"{}", b"", 1000, "declares a header of 1000 bytes but only 2 bytes follow"),
    ("absurd header length", b"{}", b"", 2 ** 63, "declares a header of 9223372036854775808 bytes, more than the"),
    ("header not JSON", b"{not json", b"", None, "header that is not valid JSON"),
    ("header not UTF-8", b'{"\xff": 1}', b"", None, "header that is not valid JSON"),
    ("empty header", b"", b"", None, "header that is not valid JSON"),
    ("NaN in the header", b'{"W": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 0]}}', b"", None,
     "header that is not valid JSON"),
    ("deeply nested header", b"[" * 200_000 + b"]" * 200_000, b"", None, "header that is not valid JSON"),
    ("header a list", b"[1, 2]", b"", None, "header that is a JSON list, not an object"),
    ("header a string", b'"W"', b"", None, "header that is a JSON str, not an object"),
    ("duplicate key", b'{"W": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                      b'"W": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', b"\0" * 8, None,
     "header that names 'W' twice"),
    ("duplicate field", b'{"W": {"dtype": "F32", "dtype": "F64", "shape": [1], "data_offsets": [0, 4]}}',
     b"\0" * 4, None, "header that names 'dtype' twice"),
    ("unknown dtype", {"W": _w("F8_E4M3", (2,), (0, 2))}, b"\0" * 2, None,
     "gives tensor 'W' the dtype 'F8_E4M3', which zerograd does not read"),
    ("dtype not text", {"W": _w(4)}, b"\0" * 8, None, "gives tensor 'W' the dtype 4"),
    ("negative dim", {"W": _w("F32", (-2, 3))}, b"\0" * 8, None, r"shape \[-2, 3\], with a negative dimension"),
    ("float dim", {"W": _w("F32", (2.0,))}, b"\0" * 8, None, r"shape \[2.0\], not a list of whole numbers"),
    ("bool dim", {"W": _w("F32", (True,))}, b"\0" * 4, None, r"shape \[True\], not a list of whole numbers"),
    ("shape not a list", {"W": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}, b"\0" * 8, None,
     "the shape 2, not a list"),
    ("shape/offset mismatch", {"W": _w("F32", (2, 3), (0, 20))}, b"\0" * 20, None,
     r"tensor 'W' \(F32, shape \(2, 3\): 24 bytes\) the data_offsets \[0, 20\], which span 20 bytes"),
    ("huge shape, small span", {"W": _w("F64", (10 ** 6, 10 ** 6), (0, 8))}, b"\0" * 8, None,
     "8000000000000 bytes"),
    ("huge shape beyond the data", {"W": _w("F64", (10 ** 6, 10 ** 6), (0, 8 * 10 ** 12))}, b"\0" * 8, None,
     r"data_offsets \[0, 8000000000000\], beyond the 8 bytes of data"),
    ("offsets beyond the data", {"W": _w("F32", (2,), (8, 16))}, b"\0" * 8, None, "beyond the 8 bytes of data"),
    ("offsets reversed", {"W": _w("F32", (0,), (8, 0))}, b"\0" * 8, None, r"data_offsets \[8, 0\], not \[begin, end\]"),
    ("negative offset", {"W": _w("F32", (2,), (-8, 0))}, b"", None, r"data_offsets \[-8, 0\], not"),
    ("three offsets", {"W": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}, b"\0" * 8, None,
     r"data_offsets \[0, 8, 8\], not"),
    ("offsets not a list", {"W": {"dtype": "F32", "shape": [2], "data_offsets": "0-8"}}, b"\0" * 8, None,
     "data_offsets '0-8', not"),
    ("overlap", {"A": _w("F32", (2,), (0, 8)), "B": _w("F32", (2,), (4, 12))}, b"\0" * 12, None,
     "tensors 'A' and 'B' that overlap"),
    ("the same bytes twice", {"A": _w("F32", (2,), (0, 8)), "B": _w("F32", (2,), (0, 8))}, b"\0" * 8, None,
     "that overlap"),
    ("hole", {"A": _w("F32", (1,), (0, 4)), "B": _w("F32", (1,), (8, 12))}, b"\0" * 12, None,
     "has a hole in its data: bytes 4 to 8 belong to no tensor"),
    ("data not starting at 0", {"A": _w("F32", (1,), (4, 8))}, b"\0" * 8, None, "bytes 0 to 4 belong to no tensor"),
    ("bytes after the last tensor", {"A": _w("F32", (1,), (0, 4))}, b"\0" * 12, None,
     "has 8 bytes after its last tensor's data that belong to no tensor"),
    ("entry not an object", {"W": [0, 8]}, b"", None, "describes tensor 'W' with a JSON list, not an object"),
    ("missing field", {"W": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, None, r"with no \['data_offsets'\]"),
    ("unknown field", {"W": {**_w(), "extra": 1}}, b"\0" * 8, None, r"unknown fields \['extra'\]"),
    ("metadata not an object", {"__metadata__": ["a"]}, b"", None, "'__metadata__' that is a JSON list"),
    ("metadata value not text", {"__metadata__": {"epochs": 3}}, b"", None,
     "'__metadata__' entry 'epochs' that is a JSON int, not text"),
    ("bool bytes other than 0/1", {"B": _w("BOOL", (3,), (0, 3))}, b"\0\1\2", None,
     "BOOL tensor 'B' holding bytes other than 0 and 1"),
    ("too short", None, b"\1\0\0", None, r"is too short for a safetensors file \(3 bytes"),
    ("an .npy file", None, b"\x93NUMPY\1\0" + b" " * 64, None, "is a single .npy array, not a safetensors file"),
]


@pytest.mark.parametrize("header, data, length, problem", [c[1:] for c in _BAD_SAFETENSORS],
                         ids=[c[0] for c in _BAD_SAFETENSORS])
def test_a_bad_safetensors_file_is_one_clear_error_naming_it(tmp_path, header, data, length, problem):
    from zerograd.safetensors import load_file, read_metadata
    path = tmp_path / "bad.safetensors"
    if header is None:
        path.write_bytes(data)
    else:
        _st_file(path, header, data, length)
    for load in (load_file, read_metadata, lambda p: L.Linear(2, in_size=1).load_weights(p)):
        if load is read_metadata and "BOOL" in problem:
            continue  # (the header is fine: only reading the data finds it)
        with pytest.raises(CheckpointError, match=r"load: '[^']*bad\.safetensors'.*(?:" + problem + ")"):
            load(path)


@pytest.mark.parametrize("cut", [4, 20, -1, -5])
def test_a_truncated_safetensors_file_is_refused(tmp_path, cut):
    path = tmp_path / "w.safetensors"
    _model().save_weights(path)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match=r"w\.safetensors'.* (too short|declares a header|beyond the \d+ bytes "
                                              r"of data the file holds \(a truncated file\?\))"):
        _model().load_weights(path)


def test_a_safetensors_shape_that_does_not_fit_the_model_is_refused_before_reading(tmp_path):
    from zerograd.safetensors import save_file
    path = tmp_path / "w.safetensors"
    save_file(path, {"W": np.zeros((200, 200)), "b": np.zeros(3)})
    with pytest.raises(CheckpointError, match=r"w\.safetensors': 'W' has shape \(200, 200\) in the file but \(2, 3\)"):
        _model().load_weights(path)


def test_a_safetensors_tensor_of_complex_or_text_names_cannot_be_saved(tmp_path):
    from zerograd.safetensors import save_file
    with pytest.raises(TypeError, match="names must be text"):
        save_file(tmp_path / "w.safetensors", {("W",): np.zeros(2)})
    with pytest.raises(TypeError, match="complex64"):
        save_file(tmp_path / "w.safetensors", {"W": np.zeros(2, np.complex64)})
    assert not (tmp_path / "w.safetensors").exists()


@pytest.mark.parametrize("shape", [[2 ** 64, 0], [2 ** 62, 2 ** 62, 0], [1] * 100])
def test_safetensors_shapes_no_array_can_have_are_refused(tmp_path, shape):
    import json
    import struct
    from zerograd import safetensors
    header = json.dumps({"x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}).encode()
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match="huge.safetensors.*which no array can have"):
        safetensors.load_file(path)
