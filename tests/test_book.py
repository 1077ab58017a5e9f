"""``zerograd book``: programs written for DeZero run on zerograd (programs of our own, in the
book's style; the book's files are not copied here)."""
import http.server
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from zerograd import compat


def book(tmp_path, source, *args, env=None, name="program.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "zerograd", "book", str(path), *args], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path, env={**os.environ, **(env or {})})


def test_a_seeded_book_style_training_program_prints_the_books_numbers(tmp_path):
    # the shape of the book's step 45, written afresh: MLP((10, 1)), SGD(0.2), a noisy sine
    result = book(tmp_path, """
        if '__file__' in globals():
            import os, sys
            sys.path.append(os.path.join(os.path.dirname(__file__), '..'))
        import numpy as np
        from dezero import Variable, Model
        import dezero.functions as F
        import dezero.layers as L
        from dezero import optimizers
        from dezero.models import MLP

        np.random.seed(0)
        x = np.random.rand(100, 1)
        y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)
        model = MLP((10, 1))
        optimizer = optimizers.SGD(0.2).setup(model)
        for i in range(2001):
            loss = F.mean_squared_error(y, model(x))
            model.cleargrads()
            loss.backward()
            optimizer.update()
            if i % 1000 == 0:
                print(loss)
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "variable(0.8165178492839196)"          # DeZero 0.0.13's first line
    assert lines[1].startswith("variable(0.249902808021488")    # its second, to the BLAS's last digits


def test_the_simple_core_keeps_gradients_as_arrays(tmp_path):
    result = book(tmp_path, """
        import numpy as np
        import dezero
        if not dezero.is_simple_core:
            from dezero.core_simple import Variable, setup_variable
            setup_variable()

        def rosenbrock(x0, x1):
            return 100 * (x1 - x0 ** 2) ** 2 + (1 - x0) ** 2

        x0, x1 = Variable(np.array(0.0)), Variable(np.array(2.0))
        for i in range(1000):
            y = rosenbrock(x0, x1)
            x0.cleargrad()
            x1.cleargrad()
            y.backward()
            x0.data -= 0.001 * x0.grad
            x1.data -= 0.001 * x1.grad
        print(type(x0.grad).__name__, x0, x1)
    """)
    assert result.returncode == 0, result.stderr
    kind, x0, x1 = result.stdout.split()
    assert kind == "ndarray" and abs(float(x0[9:-1]) - 0.6837) < 1e-3 and abs(float(x1[9:-1]) - 0.4659) < 1e-3


def test_the_teaching_variants_and_dezeros_utils(tmp_path):
    result = book(tmp_path, """
        import numpy as np
        from dezero import Variable, as_variable
        import dezero.functions as F
        from dezero.utils import gradient_check, array_allclose, array_equal, numerical_grad
        from dezero.functions_conv import im2col_array, col2im_array

        x = Variable(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
        t = np.array([2, 0])
        print(array_allclose(F.softmax_simple(x), F.softmax(x)))
        print(array_allclose(F.softmax_cross_entropy_simple(x, t), F.softmax_cross_entropy(x, t)))
        print(array_allclose(F.mean_squared_error_simple(x, x * 2), F.mean_squared_error(x, x * 2)))
        print(array_allclose(F.sigmoid_simple(x), F.sigmoid(x)), array_equal(x, x.data))
        print(gradient_check(F.sin, np.array([1, 2, 3])))        # integers are cast to float64
        v = as_variable(np.array(2.0))
        (v * v).backward()
        print(v.grad)
        img = np.arange(16.0).reshape(1, 1, 4, 4)
        col = im2col_array(img, 2, 2, 0)
        print(col.shape, col2im_array(col, img.shape, 2, 2, 0).sum() == img.sum())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:7] == ["True", "True", "True", "True True", "True", "variable(4.0)",
                                             "(4, 4) True"]


def test_a_name_zerograd_lacks_is_a_clear_error(tmp_path):
    result = book(tmp_path, "import dezero.functions as F\nF.no_such_function\n")
    assert result.returncode == 1
    assert "module 'dezero.functions' has no attribute 'no_such_function'" in result.stderr


def _numpy_refuses_float_of_1x1():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            float(np.array([[0.5]]))
        except TypeError:
            return True
    return False


def test_numpy_2_refusals_are_one_line_with_the_fix(tmp_path):
    result = book(tmp_path, "import numpy as np\nprint(np.int(3))\n")
    assert result.returncode == 1 and "NumPy 2 removed np.int: write int" in result.stderr
    if not _numpy_refuses_float_of_1x1():
        pytest.skip("this NumPy only warns on float() of a 1x1 array")
    result = book(tmp_path, "import numpy as np\nimport dezero\nx = np.array([[0.5]])\nprint(float(x))\n")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "line 4 (print(float(x)))" in result.stderr
    assert "float(x.item())" in result.stderr


def test_program_arguments_and_exit_codes(tmp_path):
    result = book(tmp_path, "import sys\nprint(sys.argv[1:])\nsys.exit(3)\n", "--epochs", "2")
    assert result.returncode == 3 and result.stdout.strip() == "['--epochs', '2']"
    missing = subprocess.run([sys.executable, "-m", "zerograd.book", str(tmp_path / "nope.py")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no such program" in missing.stderr


def test_the_hook_leaves_a_real_dezero_alone_outside_the_runner(tmp_path):
    real = tmp_path / "site" / "dezero"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("WHO = 'the real DeZero'\n")
    site = os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": site}
    outside = subprocess.run([sys.executable, "-c", "import zerograd, zerograd.book, dezero; print(dezero.WHO)"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert outside.stdout.strip() == "the real DeZero"
    inside = book(tmp_path, "import dezero\nprint(getattr(dezero, 'WHO', 'zerograd'), dezero.Variable.__module__)\n",
                  env={"PYTHONPATH": site})
    assert inside.stdout.strip() == "zerograd zerograd.core.variable"
    import zerograd  # noqa: F401
    assert not any(name == "dezero" or name.startswith("dezero.") for name in sys.modules)


def test_dezeros_tests_run_under_pytest_in_the_runner(tmp_path):
    (tmp_path / "test_like_dezero.py").write_text(textwrap.dedent("""
        import unittest
        import numpy as np
        from dezero import Variable
        import dezero.functions as F
        from dezero.utils import gradient_check, array_allclose

        class TestTanh(unittest.TestCase):
            def test_forward(self):
                x = Variable(np.array([[1, 2], [3, 4]], np.float32))
                self.assertTrue(array_allclose(F.tanh(x), np.tanh(x.data)))

            def test_backward(self):
                self.assertTrue(gradient_check(F.tanh, np.random.randn(3, 3)))
    """))
    result = subprocess.run([sys.executable, "-m", "zerograd", "book", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "test_like_dezero.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def file_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "zebra.txt").write_text("stripes")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             lambda *a, **k: _Files(*a, directory=str(root), **k))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_get_file_downloads_into_zerograds_cache(tmp_path, file_server, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_HOME", str(tmp_path / "home"))
    path = compat.get_file(f"{file_server}/zebra.txt")
    assert path == str(tmp_path / "home" / "downloads" / "book" / "zebra.txt")
    assert open(path).read() == "stripes"


def test_get_file_uses_a_file_put_by_hand_and_checks_known_checksums(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_HOME", str(tmp_path / "home"))
    folder = tmp_path / "home" / "downloads" / "book"
    folder.mkdir(parents=True)
    (folder / "labels.txt").write_text("by hand")
    assert open(compat.get_file("http://127.0.0.1:9/labels.txt")).read() == "by hand"
    monkeypatch.setitem(compat.KNOWN_FILES, "labels.txt", "sha256:" + "0" * 64)
    with pytest.raises(compat.DatasetUnavailableError, match="labels.txt is corrupt"):
        compat.get_file("http://127.0.0.1:9/labels.txt")


def test_get_file_offline_says_what_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_HOME", str(tmp_path / "home"))
    with pytest.raises(compat.DatasetUnavailableError) as info:
        compat.get_file("http://127.0.0.1:9/vgg16.npz")
    text = str(info.value)
    assert text.startswith("get_file: book: 1 file(s) unavailable") and "vgg16.npz is missing" in text
    assert "http://127.0.0.1:9/vgg16.npz" in text and str(tmp_path / "home" / "downloads" / "book") in text
    assert not (tmp_path / "home").exists()


def test_the_compatibility_names_live_in_one_module():
    import zerograd.functions as F
    import zerograd.utils as U
    for name in ("softmax_simple", "softmax_cross_entropy_simple", "batch_nrom", "mean_squared_error_simple"):
        assert hasattr(compat, name) and not hasattr(F, name)
    for name in ("array_equal", "array_allclose", "get_file"):
        assert hasattr(compat, name) and not hasattr(U, name)
    assert np.array_equal(compat.max_backward_shape(np.zeros((2, 3, 4)), 1), [2, 1, 4])
    assert compat.reshape_sum_backward(np.zeros((2, 4)), (2, 3, 4), 1, False).shape == (2, 1, 4)
    assert np.allclose(compat.logsumexp(np.log(np.array([[1.0, 3.0]]))), np.log(4.0))


def test_dezero_rules_inside_the_runner_only(tmp_path):
    # a Variable made under no_grad is a leaf that gets a gradient (DeZero); sum_to keeps DeZero's
    # result where zerograd refuses; a missing Graphviz is a warning, not the end of the program
    result = book(tmp_path, """
        import numpy as np
        import dezero
        from dezero import Variable
        import dezero.functions as F
        from dezero.utils import gradient_check, plot_dot_graph, sum_to

        W = Variable(np.ones(2))
        with dezero.no_grad():
            W = W - 0.5
        F.sum(W * W).backward()
        print(W.grad)
        print(F.sum_to(np.ones((10, 20, 20)), (10,)).shape, sum_to(np.ones((4, 3)), (1, 3)).shape)
        print(gradient_check(lambda v: F.sum_to(v, (10,)), np.random.rand(10, 20, 20)))
        plot_dot_graph(F.sum(W), to_file="graph.png")
        print("after the picture")
    """, env={"PATH": "/nonexistent"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["variable([1. 1.])", "(20,) (1, 3)", "True", "after the picture"]
    assert "Graphviz" in result.stderr and "the program goes on" in result.stderr


def test_outside_the_runner_zerograd_keeps_its_own_rules():
    import zerograd
    import zerograd.functions as F
    W = zerograd.Variable(np.ones(2))
    with zerograd.no_grad():
        W = W - 0.5
    assert not W.requires_grad
    with pytest.raises(ValueError, match="sum_to"):
        F.sum_to(np.ones((10, 20, 20)), (10,))
