import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("ci")

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    yield


def _shared_file(*parts):
    path = os.path.join(SHARED_DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"shared data not available: {path}")
    return os.path.abspath(path)


@pytest.fixture
def shared_file():
    """``shared_file('mnist', NAME)``: the path of a file in ../shared/data, or skip the test."""
    return _shared_file


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty zerograd cache folder, set through ZEROGRAD_HOME."""
    home = tmp_path / "zg-home"
    monkeypatch.setenv("ZEROGRAD_HOME", str(home))
    return home


MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def mnist_home(cache, shared_file):
    """A zerograd cache (ZEROGRAD_HOME) holding links to the shared MNIST and Fashion-MNIST files."""
    for name in ("mnist", "fashion-mnist"):
        folder = cache / "datasets" / name
        folder.mkdir(parents=True, exist_ok=True)
        for f in MNIST_FILES:
            os.symlink(shared_file(name, f), folder / f)
    return cache
