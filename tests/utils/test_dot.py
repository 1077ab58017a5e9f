import shutil

import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import get_dot_graph, plot_dot_graph


def small_graph():
    x = Variable(np.random.randn(2, 3), name="x")
    y = F.tanh(x) * 2.0
    y.name = "y"
    return x, y


def test_dot_text_names_variables_and_functions():
    x, y = small_graph()
    text = get_dot_graph(y)
    assert text.startswith("digraph g {") and text.rstrip().endswith("}")
    assert 'label="x: (2, 3) float64"' in text
    assert 'label="Tanh"' in text and 'label="MulConstant"' in text
    assert f"{id(x)} -> {id(y.creator.inputs[0].creator)}" in text
    terse = get_dot_graph(y, verbose=False)
    assert 'label="x"' in terse and "float64" not in terse


def test_plot_to_a_dot_file_needs_no_graphviz(tmp_path):
    _, y = small_graph()
    path = plot_dot_graph(y, to_file=str(tmp_path / "g.dot"))
    assert open(path).read().startswith("digraph")


def test_missing_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    _, y = small_graph()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz's 'dot' program was not found"):
        plot_dot_graph(y, to_file=str(tmp_path / "g.png"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_plot_png(tmp_path):
    _, y = small_graph()
    path = plot_dot_graph(y, to_file=str(tmp_path / "g.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
