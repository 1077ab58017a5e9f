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
