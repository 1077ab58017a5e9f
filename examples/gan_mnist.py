"""A generative adversarial network draws MNIST-like digits.

    python examples/gan_mnist.py --iterations 3000 --out gan.png

Writes 25 generated digits to gan.png (--out; --out "" writes no picture).

Generator: noise (64) -> 256 (ReLU) -> 784 (sigmoid). Discriminator: 784 -> 256 (leaky ReLU)
-> 1 logit. Both trained with Adam (alpha 2e-4, beta1 0.5) on sigmoid cross entropy.
"""
from __future__ import annotations

import argparse

import numpy as np

import zerograd.functions as F
import zerograd.layers as L
from zerograd import DataLoader, no_grad, optimizers
from zerograd.datasets import MNIST
from zerograd.models import Model
from zerograd.plotting import PlottingUnavailable, image_grid

LATENT = 64


class Generator(Model):
    def __init__(self):
        super().__init__()
        self.l1 = L.Linear(256)
        self.l2 = L.Linear(784)

    def forward(self, z):
        return F.sigmoid(self.l2(F.relu(self.l1(z))))


class Discriminator(Model):
    def __init__(self):
        super().__init__()
        self.l1 = L.Linear(256)
        self.l2 = L.Linear(1)

    def forward(self, x):
        return self.l2(F.leaky_relu(self.l1(x), 0.2))


def make_step(gen: Generator, dis: Discriminator, opt_g, opt_d):
    """One training step on a batch of real images: (discriminator loss, generator loss)."""
    def step(x):
        n = len(x)
        z = F.random_normal((n, LATENT))  # (np.random.randn's numbers, drawn by a function)
        fake = gen(z)
        # discriminator: real -> 1, fake -> 0 (the generator's graph is not needed here)
        loss_d = F.sigmoid_cross_entropy(dis(x), np.ones(n)) + \
            F.sigmoid_cross_entropy(dis(fake.detach()), np.zeros(n))
        dis.cleargrads()
        loss_d.backward()
        opt_d.update()
        # generator: make the discriminator say 1
        loss_g = F.sigmoid_cross_entropy(dis(fake), np.ones(n))
        gen.cleargrads()
        loss_g.backward()
        opt_g.update()
        return loss_d, loss_g
    return step


def main(argv=None) -> tuple:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training images")
    parser.add_argument("--out", default="gan.png", help="PNG of generated digits ('' for none; default gan.png)")
    args = parser.parse_args(argv)

    np.random.seed(0)
    train_set = MNIST(train=True)
    if args.limit:
        train_set.data, train_set.label = train_set.data[:args.limit], train_set.label[:args.limit]
    loader = DataLoader(train_set, args.batch_size)
    gen, dis = Generator(), Discriminator()
    opt_g = optimizers.Adam(alpha=2e-4, beta1=0.5).setup(gen)
    opt_d = optimizers.Adam(alpha=2e-4, beta1=0.5).setup(dis)

    step = make_step(gen, dis, opt_g, opt_d)
    it, loss_d, loss_g = 0, None, None
    while it < args.iterations:
        for x, _ in loader:
            loss_d, loss_g = step(x)
            it += 1
            if it % 500 == 0 or it == args.iterations:
                print(f"iteration {it}: discriminator loss {float(loss_d.data):.4f}, "
                      f"generator loss {float(loss_g.data):.4f}")
            if it >= args.iterations:
                break
    if args.out:
        with no_grad():
            samples = gen(np.random.randn(25, LATENT).astype(np.float32)).data
        try:
            image_grid(samples, args.out, title="GAN samples")
            print(f"wrote {args.out}")
        except PlottingUnavailable as e:
            print(f"picture skipped: {e}")
    return float(loss_d.data), float(loss_g.data)


if __name__ == "__main__":
    main()
