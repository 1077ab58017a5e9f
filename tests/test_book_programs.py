"""The book's seeded programs print the book's numbers.

The book's figures agree with ours to about 15 significant digits; the last digit or two can
differ with the BLAS build (the order of a sum inside matmul), so they are compared with a
relative tolerance of 1e-12.
"""
import numpy as np
import pytest

import zerograd.functions as F
from zerograd import Variable, optimizers, using_config
from zerograd.models import MLP

# Step 45: MLP((10, 1)) fitting a noisy sine with SGD(lr=0.2); the loss every 1000 iterations.
STEP45_LOSSES = [0.8165178492839196, 0.24990280802148895, 0.24609876581126014, 0.23721590814318072,
                 0.20793216413350174, 0.12311905720649353, 0.07888166506355153, 0.07655073683421634,
                 0.07637803086238225, 0.07618764131185567]


def test_step45_mlp_regression_prints_the_books_losses():
    # The book's layers hold float32 weights that meet float64 data: DeZero keeps their gradients
    # in float64, zerograd casts them to float32 unless told to follow DeZero's rule.
    with using_config("strict_grad_dtype", False):
        assert _step45_losses() == pytest.approx(STEP45_LOSSES, rel=1e-12)
    strict = _step45_losses()
    assert strict[0] == STEP45_LOSSES[0]
    assert np.allclose(strict, STEP45_LOSSES, rtol=1e-3, atol=0)


def _step45_losses():
    np.random.seed(0)
    x = np.random.rand(100, 1)
    y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)
    model = MLP((10, 1))
    optimizer = optimizers.SGD(0.2).setup(model)
    losses = []
    for i in range(10000):
        y_pred = model(x)
        loss = F.mean_squared_error(y, y_pred)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        if i % 1000 == 0:
            losses.append(float(loss.data))
    return losses


# Step 43: a two-layer net written with bare Variables (float64), lr 0.2.
STEP43_LOSSES = [0.8473695850105871, 0.2514286285183607, 0.2475948546674987, 0.23786120447054812,
                 0.21222231333102926, 0.16742181117834126, 0.0968193261999274, 0.07849528290602335,
                 0.07749729552991157, 0.07722132399559317]


def test_step43_bare_variables_network():
    np.random.seed(0)
    x = np.random.rand(100, 1)
    y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)
    I, H, O = 1, 10, 1
    W1 = Variable(0.01 * np.random.randn(I, H))
    b1 = Variable(np.zeros(H))
    W2 = Variable(0.01 * np.random.randn(H, O))
    b2 = Variable(np.zeros(O))

    def predict(x):
        y = F.linear(x, W1, b1)
        y = F.sigmoid(y)
        return F.linear(y, W2, b2)

    losses = []
    for i in range(10000):
        loss = F.mean_squared_error(y, predict(x))
        for p in (W1, b1, W2, b2):
            p.cleargrad()
        loss.backward()
        for p in (W1, b1, W2, b2):
            p.data -= 0.2 * p.grad.data
        if i % 1000 == 0:
            losses.append(float(loss.data))
    assert losses[0] == STEP43_LOSSES[0]
    assert np.allclose(losses, STEP43_LOSSES, rtol=1e-12, atol=0)
