"""The package as tools see it: one version, typed, a license expression, an sdist with its tests."""
import pathlib
import re
import subprocess
import sys
import tarfile

import pytest

import zerograd

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_version_lives_in_one_place():
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert 'dynamic = ["version"]' in project and not re.search(r'^version\s*=', project, re.M)
    assert re.fullmatch(r"\d+\.\d+\.\d+", zerograd.__version__)


def test_license_is_an_spdx_string_and_the_package_is_typed():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in text
    assert (ROOT / "src" / "zerograd" / "py.typed").exists()


def test_no_extra_pulls_a_cuda_build_of_torch():
    text = (ROOT / "pyproject.toml").read_text()
    assert not re.search(r'^\w+\s*=\s*\[[^\]]*"torch', text, re.M)


PUBLIC = ["zerograd", "zerograd.functions", "zerograd.layers", "zerograd.models", "zerograd.optimizers",
          "zerograd.datasets", "zerograd.dataloaders", "zerograd.transforms", "zerograd.utils", "zerograd.func",
          "zerograd.initializers", "zerograd.serialization", "zerograd.core", "zerograd.compat"]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_modules_declare_all(name):
    import importlib
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def test_the_sdist_holds_every_tracked_test_file(tmp_path):
    pytest.importorskip("build")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "tests", "docs"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"could not build an sdist here: {result.stderr.strip().splitlines()[-1:]}")
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = [path for path in tracked if path not in names]
    assert not missing, f"the sdist lacks {missing[:10]}"


def test_mypy_finds_no_error_with_the_checked_in_configuration(tmp_path):
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout
