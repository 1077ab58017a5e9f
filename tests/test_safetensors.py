"""The NumPy-only safetensors reader and writer, and weights saved by suffix (.safetensors or .npz)."""
import json
import struct

import numpy as np
import pytest

import zerograd.functions as F
import zerograd.layers as L
from zerograd.models import MLP, Model
from zerograd.safetensors import load_file, read_metadata, save_file
from zerograd.serialization import CheckpointError, is_safetensors_path, load_weights_file, save_weights_file

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
          np.uint64, np.uint32, np.uint16, np.uint8, np.bool_]
SHAPES = [(), (0,), (5,), (2, 3), (0, 3), (2, 0, 4), (1, 1, 1, 2)]


def _sample(dtype, shape, seed=0):
    """An array (0-d included: never a NumPy scalar) of random values spanning the dtype."""
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.asarray(rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True))
    return np.asarray(rng.standard_normal(shape) * 100, dtype=dtype)


def _header(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return n, raw[8:8 + n]


def _same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_every_dtype_and_shape_round_trips(tmp_path, dtype, shape):
    path = tmp_path / "x.safetensors"
    array = _sample(dtype, shape)
    save_file(path, {"x": array, "other": np.arange(3.0)})
    got = load_file(path)
    assert set(got) == {"x", "other"}
    assert _same(got["x"], array)
    assert got["x"].flags.c_contiguous and got["x"].flags.writeable


def test_many_tensors_with_mixed_dtypes_round_trip_and_are_aligned(tmp_path):
    path = tmp_path / "mixed.safetensors"
    arrays = {f"t{i}/{np.dtype(d).name}": _sample(d, (i % 4, 3), seed=i) for i, d in enumerate(DTYPES * 2)}
    arrays["scalar"] = np.array(2.5)
    save_file(path, arrays)
    got = load_file(path)
    assert set(got) == set(arrays) and all(_same(got[k], arrays[k]) for k in arrays)
    n, header = _header(path)
    assert (8 + n) % 8 == 0 and header == header.rstrip(b" ") + b" " * (len(header) - len(header.rstrip(b" ")))
    info = json.loads(header)
    for key, entry in info.items():   # every tensor starts at a multiple of its item size
        size = np.dtype(arrays[key].dtype).itemsize
        assert (8 + n + entry["data_offsets"][0]) % size == 0


def test_non_contiguous_big_endian_and_0d_arrays_are_written_as_c_order_little_endian(tmp_path):
    path = tmp_path / "x.safetensors"
    arrays = {"t": np.arange(12.0).reshape(3, 4).T, "big": np.arange(5, dtype=">i4"), "s": np.float32(1.5),
              "strided": np.arange(10, dtype=np.int16)[::3]}
    save_file(path, arrays)
    got = load_file(path)
    for key, value in arrays.items():
        value = np.asarray(value)
        assert np.array_equal(got[key], value) and got[key].shape == value.shape
        assert got[key].dtype == value.dtype.newbyteorder("=") and got[key].dtype.isnative
    assert got["s"].shape == () and got["s"].dtype == np.float32


def test_metadata_round_trips_and_stays_out_of_the_arrays(tmp_path):
    path = tmp_path / "m.safetensors"
    meta = {"format": "np", "note": "é ünïcode \"quoted\"\n", "": "empty key"}
    save_file(path, {"w": np.ones(2)}, metadata=meta)
    assert read_metadata(path) == meta
    assert list(load_file(path)) == ["w"]
    save_file(path, {"w": np.ones(2)})
    assert read_metadata(path) == {}
    assert b"__metadata__" not in path.read_bytes()


def test_an_empty_file_of_no_tensors_round_trips(tmp_path):
    path = tmp_path / "e.safetensors"
    save_file(path, {})
    assert load_file(path) == {} and path.stat().st_size % 8 == 0


def test_expected_shapes_are_checked_before_reading(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(path, {"W": np.zeros((2, 3)), "b": np.zeros(3), "extra": np.zeros(1)})
    got = load_file(path, {"W": (2, 3), "b": None})   # None: any shape; unnamed keys are read as they are
    assert set(got) == {"W", "b", "extra"}
    with pytest.raises(CheckpointError, match=r"w.safetensors.*'W' has shape \(2, 3\) in the file but \(3, 2\)"):
        load_file(path, {"W": (3, 2)})


@pytest.mark.parametrize("arrays, metadata, error, message", [
    ({"o": np.array([object()])}, None, TypeError, "'o' has dtype object"),
    ({"c": np.ones(2, np.complex128)}, None, TypeError, "'c' has dtype complex128"),
    ({"s": np.array(["a"])}, None, TypeError, "'s' has dtype <U1"),
    ({"__metadata__": np.ones(1)}, None, ValueError, "header reserves it"),
    ({3: np.ones(1)}, None, TypeError, r"names must be text, not int \(3\)"),
    ({"w": np.ones(1)}, {"k": 3}, TypeError, "metadata must map text to text"),
    ({"w": np.ones(1)}, {1: "v"}, TypeError, "metadata must map text to text"),
    ({"w": np.ones(1)}, ["k"], TypeError, "metadata must map text to text"),
    ({"\ud800": np.ones(1)}, None, ValueError, "UTF-8"),
])
def test_save_refuses_what_the_format_cannot_hold_and_leaves_the_old_file(tmp_path, arrays, metadata, error, message):
    path = tmp_path / "w.safetensors"
    save_file(path, {"old": np.ones(1)})
    before = path.read_bytes()
    with pytest.raises(error, match=message):
        save_file(path, arrays, metadata=metadata)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_file(path, {"old": np.ones(3)})
    before = path.read_bytes()

    import types

    import zerograd.safetensors as st

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(st, "struct", types.SimpleNamespace(pack=explode))   # fails inside the write
    with pytest.raises(OSError, match="disk full"):
        save_file(path, {"new": np.zeros(3)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


# ------------------------------------------------- against the reference implementation (the package)
def _reference_arrays():
    arrays = {f"{np.dtype(d).name}/{i}": _sample(d, shape, seed=i) for i, (d, shape) in
              enumerate((d, s) for d in DTYPES for s in ((), (0,), (3, 2)))}
    arrays["zeros"] = np.zeros((4, 4), np.float32)
    return arrays


def test_files_written_by_the_safetensors_package_are_read(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "ref.safetensors"
    arrays = _reference_arrays()
    st.save_file(arrays, str(path), metadata={"framework": "numpy", "x": "ÿ"})
    got = load_file(path)
    assert set(got) == set(arrays) and all(_same(got[k], arrays[k]) for k in arrays)
    assert read_metadata(path) == {"framework": "numpy", "x": "ÿ"}


def test_our_files_are_read_by_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    safetensors = pytest.importorskip("safetensors")
    path = tmp_path / "ours.safetensors"
    arrays = _reference_arrays()
    save_file(path, arrays, metadata={"by": "zerograd"})
    got = st.load_file(str(path))
    assert set(got) == set(arrays) and all(_same(got[k], arrays[k]) for k in arrays)
    with safetensors.safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"by": "zerograd"}


def test_without_metadata_we_write_the_same_bytes_as_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = _reference_arrays()
    save_file(tmp_path / "ours.safetensors", arrays)
    st.save_file(arrays, str(tmp_path / "ref.safetensors"))
    assert (tmp_path / "ours.safetensors").read_bytes() == (tmp_path / "ref.safetensors").read_bytes()


def _bf16_bits(values):
    return (np.asarray(values, np.float32).view(np.uint32) >> 16).astype("<u2")


BF16_VALUES = [0.0, -0.0, 1.0, -2.5, 3.140625, 2.0 ** 127, -(2.0 ** -130), np.inf, -np.inf]  # exact in bfloat16


def test_bf16_is_read_into_float32(tmp_path):
    path = tmp_path / "bf16.safetensors"
    bits = _bf16_bits(BF16_VALUES + [np.nan])
    header = json.dumps({"x": {"dtype": "BF16", "shape": [2, 5], "data_offsets": [0, bits.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + bits.tobytes())
    got = load_file(path)["x"]
    assert got.dtype == np.float32 and got.shape == (2, 5)
    assert np.array_equal(got.ravel()[:-1], np.array(BF16_VALUES, np.float32)) and np.isnan(got.ravel()[-1])


def test_bf16_written_by_the_safetensors_package_is_read(tmp_path):
    safetensors = pytest.importorskip("safetensors")
    bits = _bf16_bits(BF16_VALUES).reshape(3, 3)
    if hasattr(safetensors, "TensorSpec"):   # (0.8's serialize takes specs; older ones take dicts)
        spec = safetensors.TensorSpec(dtype="bfloat16", shape=[3, 3], data_ptr=bits.ctypes.data, data_len=bits.nbytes)
    else:
        spec = {"dtype": "bfloat16", "shape": [3, 3], "data": bits.tobytes()}
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(bytes(safetensors.serialize({"w": spec})))
    got = load_file(path)["w"]
    assert got.dtype == np.float32 and np.array_equal(got, np.array(BF16_VALUES, np.float32).reshape(3, 3))


# -------------------------------------------------------------------- weights: the suffix picks the format
class Tied(Model):
    def __init__(self):
        super().__init__()
        self.enc = L.Linear(4, in_size=4)
        self.dec = L.Linear(4, in_size=4)
        self.dec.W = self.enc.W

    def forward(self, x):
        return self.dec(F.tanh(self.enc(x)))


def test_a_model_saves_and_loads_as_safetensors(tmp_path):
    model = MLP((5, 2))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    y0 = model(x).data
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    assert set(load_file(path)) == {"l0/W", "l0/b", "l1/W", "l1/b"}
    other = MLP((5, 2))
    other.load_weights(path)  # lazy parameters get created from the file
    assert np.array_equal(other(x).data, y0) and other.l0.W.dtype == np.float32


def test_tied_weights_are_saved_once_and_the_tie_survives_a_safetensors_round_trip(tmp_path):
    model = Tied()
    model(np.ones((1, 4)))
    path = tmp_path / "tied.safetensors"
    model.save_weights(path)
    assert sorted(load_file(path)) == ["dec/b", "enc/W", "enc/b"]
    other = Tied()
    other.load_weights(path)
    assert other.dec.W is other.enc.W
    assert np.array_equal(other.enc.W.data, model.enc.W.data)
    assert np.array_equal(other.dec.b.data, model.dec.b.data)


def test_buffers_are_saved_as_safetensors_too(tmp_path):
    bn = L.BatchNorm()
    bn(np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32))
    path = tmp_path / "bn.safetensors"
    bn.save_weights(path)
    other = L.BatchNorm()
    other(np.zeros((2, 3), np.float32))
    other.load_weights(path)
    for (k, a), (_, b) in zip(bn._named_state(), other._named_state()):
        assert np.array_equal(a.data, b.data), k


def test_load_weights_checks_keys_and_shapes_of_safetensors_files(tmp_path):
    model = MLP((5, 2))
    model(np.zeros((1, 4), np.float32))
    path = tmp_path / "w.safetensors"
    save_file(path, {"l0/W": np.zeros((4, 5), np.float32), "l0/b": np.zeros(5, np.float32),
                     "l1/W": np.zeros((5, 2), np.float32)})
    with pytest.raises(CheckpointError, match=r"missing keys \['l1/b'\]"):
        model.load_weights(path)
    save_file(path, {"l0/W": np.zeros((4, 6), np.float32)})
    with pytest.raises(CheckpointError, match=r"w.safetensors.*'l0/W' has shape \(4, 6\) in the file but \(4, 5\)"):
        model.load_weights(path)


@pytest.mark.parametrize("name, safetensors", [
    ("w.safetensors", True), ("w.SafeTensors", True), ("w.npz", False), ("w.weights", False), ("w", False),
    ("safetensors", False), ("w.safetensors.npz", False),
])
def test_the_suffix_picks_the_format_and_npz_stays_the_default(tmp_path, name, safetensors):
    path = tmp_path / name
    assert is_safetensors_path(path) is safetensors and is_safetensors_path(str(path)) is safetensors
    model = MLP((3, 2))
    model(np.ones((1, 2), np.float32))
    model.save_weights(path)
    assert (path.read_bytes()[:4] == b"PK\x03\x04") is not safetensors
    other = MLP((3, 2))
    other.load_weights(path)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(model.params(), other.params()))


def test_save_and_load_weights_file_dispatch(tmp_path):
    arrays = {"a": np.arange(3.0), "b": np.ones((2, 2), np.float32)}
    for name in ("x.safetensors", "x.npz"):
        save_weights_file(tmp_path / name, arrays)
        got = load_weights_file(tmp_path / name, {"a": (3,), "b": None})
        assert all(_same(got[k], arrays[k]) for k in arrays)


def test_a_safetensors_path_must_hold_safetensors_data(tmp_path):
    model = MLP((3, 2))
    model(np.ones((1, 2), np.float32))
    model.save_weights(tmp_path / "w.npz")
    (tmp_path / "w.safetensors").write_bytes((tmp_path / "w.npz").read_bytes())
    with pytest.raises(CheckpointError, match=r"w.safetensors' is an .npz \(zip\) archive, not a safetensors file"):
        model.load_weights(tmp_path / "w.safetensors")
    model.save_weights(tmp_path / "s.safetensors")
    (tmp_path / "s.npz").write_bytes((tmp_path / "s.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="s.npz' is not a valid .npz file"):
        model.load_weights(tmp_path / "s.npz")


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_file(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_file(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_file(tmp_path / "no" / "w.safetensors", {})
