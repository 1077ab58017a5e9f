"""A variational autoencoder on MNIST.

    python examples/vae_mnist.py --epochs 3 --out vae.png

Writes the digits decoded from an 8x8 grid of latent points to vae.png (--out; --out "" writes no picture).

Encoder 784 -> 200 (ReLU) -> mean and log-variance of a 2-D latent; decoder 2 -> 200 (ReLU)
-> 784 (sigmoid). Loss: binary cross entropy of the reconstruction (summed over pixels) plus
the KL divergence to N(0, I), averaged over the batch.
"""
from __future__ import annotations

import argparse

import numpy as np

import zerograd.functions as F
import zerograd.layers as L
from zerograd import DataLoader, as_variable, no_grad, optimizers
from zerograd.datasets import MNIST
from zerograd.models import Model
from zerograd.plotting import PlottingUnavailable, image_grid


class VAE(Model):
    def __init__(self, latent: int = 2, hidden: int = 200):
        super().__init__()
        self.latent = latent
        self.enc = L.Linear(hidden)
        self.enc_mu = L.Linear(latent)
        self.enc_logvar = L.Linear(latent)
        self.dec1 = L.Linear(hidden)
        self.dec2 = L.Linear(784)

    def encode(self, x):
        h = F.relu(self.enc(x))
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z):
        return F.sigmoid(self.dec2(F.relu(self.dec1(z))))

    def loss(self, x):
        x = as_variable(x)  # (1 - x below is then a function too: a compiled step replays it)
        mu, logvar = self.encode(x)
        eps = F.random_normal(mu.shape, x.dtype)  # (np.random.randn's numbers, drawn by a function)
        z = mu + F.exp(0.5 * logvar) * eps  # the reparameterisation trick
        p = F.clip(self.decode(z), 1e-7, 1 - 1e-7)
        n = len(x)
        reconstruction = -F.sum(x * F.log(p) + (1 - x) * F.log(1 - p)) / n
        kl = -0.5 * F.sum(1 + logvar - mu * mu - F.exp(logvar)) / n
        return reconstruction + kl


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training images")
    parser.add_argument("--out", default="vae.png",
                        help="PNG of digits decoded from a grid of latent points ('' for none; default vae.png)")
    args = parser.parse_args(argv)

    np.random.seed(0)
    train_set = MNIST(train=True)
    if args.limit:
        train_set.data, train_set.label = train_set.data[:args.limit], train_set.label[:args.limit]
    loader = DataLoader(train_set, args.batch_size)
    model = VAE()
    optimizer = optimizers.Adam().setup(model)
    mean_loss = 0.0
    for epoch in range(args.epochs):
        total = 0.0
        for x, _ in loader:
            loss = model.loss(x)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            total += float(loss.data) * len(x)
        mean_loss = total / len(train_set)
        print(f"epoch {epoch + 1}: loss {mean_loss:.2f}")
    if args.out:
        grid = np.array([[a, b] for b in np.linspace(2, -2, 8) for a in np.linspace(-2, 2, 8)], dtype=np.float32)
        with no_grad():
            decoded = model.decode(grid).data
        try:
            image_grid(decoded, args.out, title="VAE: decoded latent grid")
            print(f"wrote {args.out}")
        except PlottingUnavailable as e:
            print(f"picture skipped: {e}")
    return mean_loss


if __name__ == "__main__":
    main()
