"""Universal approximation: one hidden sigmoid layer fits a 1-D function better as it widens.

The network is f(x) = sum_j v_j sigmoid(w_j x + b_j) + c: a sum of `width`
smooth steps. The universal approximation theorem (Cybenko 1989) says enough
of them reach any continuous function on an interval to any accuracy; here
widths 1, 2, 4, 8 and 16 are fitted by full-batch L-BFGS to
y = sin(2x) + x/2 on [-pi, pi], and the fits are drawn over the data.

Run:  python examples/universal_approximation.py [--out universal_approximation.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import data, optim
from tinygrad_edu.models import mlp
from tinygrad_edu.plotting import figure_path, plot_curves
from tinygrad_edu.train import evaluate, fit

WIDTHS = (1, 2, 4, 8, 16)


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + 0.5 * np.cos(7 * x) + np.abs(x) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default="universal_approximation.png",
        help="a .png file, or a folder to write universal_approximation.png in",
    )
    parser.add_argument("--epochs", type=int, default=60, help="L-BFGS steps (20 iterations each)")
    args = parser.parse_args()
    try:
        args.out = figure_path(args.out, "universal_approximation.png")
    except ValueError as err:
        parser.error(str(err))

    X, _ = data.sine1d(n=256, seed=0)
    y = target(X)  # (n, 1), like the network's output
    grid = np.linspace(-np.pi, np.pi, 400)[:, None]
    curves = {}
    started = time.perf_counter()
    for width in WIDTHS:
        tg.manual_seed(0)
        model = mlp([1, width, 1], "sigmoid", dtype="float64")
        optimizer = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        loader = data.DataLoader(X, y, batch_size=len(X), shuffle=False, dtype="float64")
        fit(model, F.mse_loss, optimizer, loader, epochs=args.epochs, progress=False)
        results = evaluate(model, X, y)
        with tg.no_grad():
            prediction = model.eval()(tg.tensor(grid)).numpy()[:, 0]
        curves[f"{width} sigmoid unit{'s' if width > 1 else ''}"] = (grid[:, 0], prediction)
        print(f"width {width:2d}: training MSE {results['mse']:.2e}, R2 {results['r2']:.4f}")
    curves["target"] = (grid[:, 0], target(grid[:, 0]))
    plot_curves(
        curves,
        args.out,
        xlabel="x",
        ylabel="y",
        title="one hidden sigmoid layer, growing width",
        points={"training points": (X[:, 0], y[:, 0])},
    )
    print(f"{time.perf_counter() - started:.1f} s; figure written to {args.out}")


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):  # one thread is fastest at this size
        main()
