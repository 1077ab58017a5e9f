"""The real download code against a local HTTP server on 127.0.0.1."""
import hashlib
import os
import shutil

import numpy as np
import pytest

from zerograd.datasets import MNIST, DatasetUnavailableError, RemoteFile, fetch
from zerograd.datasets.mnist import MNIST_FILES

PAYLOAD = bytes(range(256)) * 400


def remote_for(server, *modes, name="blob.bin", data=PAYLOAD):
    (server.root / name).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return RemoteFile(name, "sha256:" + digest, tuple(f"{server.url}/{m}/{name}" for m in modes))


def test_success_puts_the_verified_file_in_the_cache(file_server, cache):
    remote = remote_for(file_server, "good")
    paths = fetch("toy", [remote], progress=False)
    assert paths["blob.bin"] == str(cache / "datasets" / "toy" / "blob.bin")
    assert open(paths["blob.bin"], "rb").read() == PAYLOAD
    assert os.listdir(cache / "datasets" / "toy") == ["blob.bin"]  # no temporary files left


def test_a_cached_file_is_used_without_any_network(file_server, cache):
    remote = remote_for(file_server, "good")
    fetch("toy", [remote], progress=False)
    file_server.hits.clear()
    fetch("toy", [remote], progress=False)
    assert file_server.hits == []


def test_the_first_mirror_failing_falls_back_to_the_next(file_server, cache):
    remote = remote_for(file_server, "forbidden", "good")
    fetch("toy", [remote], progress=False)
    assert [h.split("/")[1] for h in file_server.hits] == ["forbidden", "good"]


def test_a_wrong_checksum_is_refused_and_reported(file_server, cache):
    remote = remote_for(file_server, "corrupt")
    with pytest.raises(DatasetUnavailableError, match="checksum mismatch"):
        fetch("toy", [remote], progress=False)
    assert not (cache / "datasets" / "toy" / "blob.bin").exists()
    assert not (cache / "datasets").exists()  # no temporary file, and no empty folder of ours, stays


def test_an_interrupted_transfer_is_refused(file_server, cache):
    remote = remote_for(file_server, "truncated")
    with pytest.raises(DatasetUnavailableError) as info:
        fetch("toy", [remote], progress=False)
    message = str(info.value)
    assert "blob.bin is missing" in message
    assert f"{file_server.url}/truncated/blob.bin" in message
    assert not (cache / "datasets").exists()  # no temporary file, and no empty folder of ours, stays


def test_all_mirrors_failing_gives_one_clear_error(file_server, cache):
    remote = remote_for(file_server, "forbidden", "corrupt")
    with pytest.raises(DatasetUnavailableError) as info:
        fetch("toy", [remote], progress=False)
    message = str(info.value)
    assert "toy: 1 file(s) unavailable" in message
    assert f"{file_server.url}/forbidden/blob.bin (HTTP 403)" in message
    assert f"{file_server.url}/corrupt/blob.bin (checksum mismatch" in message
    assert f"Put the original files by hand in {cache / 'datasets' / 'toy'}" in message


def test_offline_error_names_the_unreachable_address(cache):
    remote = RemoteFile("blob.bin", "sha256:" + "0" * 64, ("http://127.0.0.1:9/blob.bin",))
    with pytest.raises(DatasetUnavailableError, match=r"http://127.0.0.1:9/blob.bin \(unreachable"):
        fetch("toy", [remote], progress=False, timeout=2)


def test_a_corrupt_cached_file_is_never_used(file_server, cache):
    remote = remote_for(file_server, "good")
    folder = cache / "datasets" / "toy"
    folder.mkdir(parents=True)
    (folder / "blob.bin").write_bytes(b"garbage")
    with pytest.raises(DatasetUnavailableError, match="blob.bin is corrupt"):
        fetch("toy", [remote], download=False)
    fetch("toy", [remote], progress=False)  # a good download replaces it
    assert (folder / "blob.bin").read_bytes() == PAYLOAD


def test_mnist_downloads_from_a_local_mirror(file_server, cache, monkeypatch, shared_file):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(shared_file("mnist", name), file_server.root / name)
    monkeypatch.setattr(MNIST, "mirrors", [f"{file_server.url}/forbidden/", f"{file_server.url}/good/"])
    test_set = MNIST(train=False)
    assert len(test_set) == 10000
    assert sorted(os.listdir(cache / "datasets" / "mnist")) == ["t10k-images-idx3-ubyte.gz",
                                                                 "t10k-labels-idx1-ubyte.gz"]
    x, t = test_set[0]
    assert x.shape == (784,) and x.dtype == np.float32 and t == 7


def test_mnist_offline_error_is_clear(cache):
    with pytest.raises(DatasetUnavailableError) as info:
        MNIST(train=False, download=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz is missing" in message and "downloads disabled" in message
    assert MNIST_FILES["t10k-images-idx3-ubyte.gz"] in message
