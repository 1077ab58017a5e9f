"""The package's layers: a lower layer never imports a higher one (checked on the source)."""
import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "zerograd"

# lowest first; a module may import its own layer and those before it
LAYERS = [
    {"backend", "config", "progress", "initializers"},
    {"cache", "serialization", "safetensors"},
    {"core"},
    {"functions", "utils"},
    {"layers"},
    {"models", "optimizers"},
    {"checkpoint", "compiler"},
    {"datasets", "transforms", "dataloaders", "distributed"},
    {"compat"},
    {"training", "plotting", "cli", "book", "func", "onnx", "__main__", "__init__"},
]


def layer_of(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else "__init__"
    if not ((SRC / top).is_dir() or (SRC / f"{top}.py").exists()):
        top = "__init__"  # from zerograd import Variable: the whole package, the top layer
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"zerograd.{top} is in no layer of tests/test_layering.py: add it")


def modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        if name == "zerograd":
            continue
        yield name, path


def imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "zerograd":
            yield from ("zerograd." + a.name for a in node.names)   # from zerograd import backend
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("name, path", list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_no_module_imports_a_higher_layer(name, path):
    mine = layer_of(name)
    for target in imports(path):
        if target.startswith("zerograd.") and target != "zerograd":
            assert layer_of(target) <= mine, f"{name} imports {target}, a higher layer"


def test_the_cache_needs_no_autodiff_code():
    allowed = {"zerograd.progress"}
    targets = {t for t in imports(SRC / "cache.py") if t.startswith("zerograd")}
    assert targets <= allowed
    assert {t for t in imports(SRC / "progress.py") if t.startswith("zerograd")} == set()
