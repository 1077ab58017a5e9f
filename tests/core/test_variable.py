import numpy as np
import pytest

from zerograd import Parameter, Variable


def test_data_must_be_an_ndarray_or_none():
    assert Variable(None).data is None
    for bad in (1.0, [1, 2], "abc", 3):
        with pytest.raises(TypeError, match=type(bad).__name__):
            Variable(bad)


def test_facts_about_the_array():
    x = Variable(np.zeros((2, 3), dtype=np.float32), name="x")
    assert x.shape == (2, 3)
    assert x.ndim == 2
    assert x.size == 6
    assert x.dtype == np.float32
    assert len(x) == 2
    assert x.name == "x"
    assert x.grad is None and x.creator is None and x.generation == 0


def test_len_of_a_0d_variable_is_a_clear_error():
    with pytest.raises(TypeError, match="0-d"):
        len(Variable(np.array(1.0)))


def test_repr_is_the_books():
    assert repr(Variable(None)) == "variable(None)"
    assert repr(Variable(np.array(2.0))) == "variable(2.0)"
    assert repr(Variable(np.array([[1, 2, 3], [4, 5, 6]]))) == "variable([[1 2 3]\n          [4 5 6]])"


def test_parameter_is_a_variable():
    p = Parameter(np.array(1.0))
    assert isinstance(p, Variable)
    y = p * 2
    y.backward()
    assert p.grad.data == 2.0


def test_item_and_tolist():
    x = Variable(np.array([[1.5, 2.5]]))
    assert Variable(np.array(3.5)).item() == 3.5
    assert x.tolist() == [[1.5, 2.5]]


def test_unchain_and_unchain_backward():
    x = Variable(np.array(1.0))
    a = x * 2
    b = a + 1
    c = b * 3
    c.unchain_backward()
    assert b.creator is None and a.creator is None
    assert c.creator is not None
    c.unchain()
    assert c.creator is None


def test_unchain_backward_on_a_deep_chain_is_iterative():
    x = Variable(np.array(1.0))
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.unchain_backward()
    assert y.creator is not None and y.creator.inputs[0].creator is None
