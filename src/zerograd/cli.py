"""The ``zerograd`` command.

``zerograd demo`` (the default) shows the engine at work: the seed's rule, a
known gradient from the book, and higher-order derivatives of tanh.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def _demo() -> int:
    import numpy as np

    import zerograd.functions as F
    from zerograd import Variable

    print("zerograd demo: define-by-run automatic differentiation\n")
    x = Variable(np.array(3.0))
    y = x + x
    y.backward()
    print(f"y = x + x at x = 3:            dy/dx = {x.grad}   (a variable used twice sums its gradients)")

    a = Variable(np.array(1.0))
    b = Variable(np.array(1.0))
    z = (1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a ** 2 - 14 * b + 6 * a * b + 3 * b ** 2)) * (
        30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a ** 2 + 48 * b - 36 * a * b + 27 * b ** 2))
    z.backward()
    print(f"Goldstein-Price at (1, 1):     gradient = ({a.grad.item():.0f}, {b.grad.item():.0f})")

    t = Variable(np.array(1.0))
    y = F.tanh(t)
    y.backward(create_graph=True)
    derivatives = [t.grad.item()]
    for _ in range(5):
        gx = t.grad
        t.cleargrad()
        gx.backward(create_graph=True)
        derivatives.append(t.grad.item())
    print("tanh derivatives 1..6 at x=1: " + ", ".join(f"{d:.4f}" for d in derivatives))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="zerograd", description="zerograd: a define-by-run deep-learning framework")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="show automatic differentiation at work (the default)")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        return _demo()
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
