import numpy as np
import pytest

import zerograd
from zerograd import Config, Variable, no_grad, using_config


def test_defaults_and_switches():
    assert Config.enable_backprop is True and Config.train is True
    with no_grad():
        assert Config.enable_backprop is False
        with using_config("enable_backprop", True):
            assert Config.enable_backprop is True
        assert Config.enable_backprop is False
    assert Config.enable_backprop is True
    with zerograd.test_mode():
        assert Config.train is False
    assert Config.train is True


def test_restored_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError
    assert Config.enable_backprop is True


def test_unknown_name_is_an_error():
    with pytest.raises(AttributeError, match="unknown config name 'enable_backprob'"):
        using_config("enable_backprob", False)


def test_backward_restores_the_switch():
    x = Variable(np.array(1.0))
    (x * 2).backward()
    assert Config.enable_backprop is True
