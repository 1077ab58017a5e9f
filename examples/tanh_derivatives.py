"""Higher-order derivatives of tanh by repeated backpropagation (the book's step 35).

    python examples/tanh_derivatives.py --order 2 --out tanh

Writes the graph of the n-th derivative as DOT (and PNG when Graphviz is installed) and a plot
of tanh and its first derivatives (when matplotlib is installed).
"""
from __future__ import annotations

import argparse
import shutil

import numpy as np

import zerograd.functions as F
from zerograd import Variable
from zerograd.utils import get_dot_graph, plot_dot_graph


def derivatives(x_values: np.ndarray, order: int) -> list:
    """[tanh(x), tanh'(x), ..., tanh^(order)(x)] as arrays."""
    x = Variable(np.asarray(x_values, dtype=np.float64))
    y = F.tanh(x)
    out = [y.data.copy()]
    y.backward(create_graph=True)
    for i in range(order):
        gx = x.grad
        out.append(gx.data.copy())
        if i + 1 < order:
            x.cleargrad()
            gx.backward(create_graph=True)
    return out


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--order", type=int, default=2, help="which derivative to draw as a graph")
    parser.add_argument("--out", default="tanh", help="file name prefix")
    args = parser.parse_args(argv)

    x = Variable(np.array(1.0), name="x")
    y = F.tanh(x)
    y.name = "y"
    y.backward(create_graph=True)
    for _ in range(args.order - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    gx = x.grad
    gx.name = f"gx{args.order}"
    dot_path = f"{args.out}_graph.dot"
    with open(dot_path, "w") as fh:
        fh.write(get_dot_graph(gx, verbose=False))
    print(f"derivative {args.order} of tanh at 1.0 = {gx.item():.6f}; its graph has "
          f"{get_dot_graph(gx).count('shape=box')} functions: wrote {dot_path}")
    if shutil.which("dot"):
        print("wrote " + plot_dot_graph(gx, verbose=False, to_file=f"{args.out}_graph.png"))
    try:
        from zerograd.plotting import new_figure

        xs = np.linspace(-7, 7, 200)
        fig = new_figure(figsize=(6, 4))
        ax = fig.subplots()
        for i, values in enumerate(derivatives(xs, 3)):
            ax.plot(xs, values, label="y" + "'" * i)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title("tanh and its first three derivatives")
        ax.legend()
        fig.tight_layout()
        fig.savefig(f"{args.out}_derivatives.png", dpi=100)
        print(f"wrote {args.out}_derivatives.png")
    except ImportError as e:
        print(f"plot skipped: {e}")
    return dot_path


if __name__ == "__main__":
    main()
