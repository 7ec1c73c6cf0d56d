"""Gradient descent, momentum, Adagrad, RMSprop, Adam and L-BFGS on the digits, side by side.

Every optimizer trains the same MLP (64-64-10, tanh, float64) from the same
initial weights on the full training set at every step (full-batch, so the
curves show the methods, not the sampling noise). One L-BFGS step is one
quasi-Newton iteration with a strong-Wolfe line search (a few loss
evaluations). The training losses go on one log-scale plot; the final test
accuracies are printed.

Run:  python examples/optimizer_comparison.py [--out optimizer_comparison.png] [--steps 200]
"""

from __future__ import annotations

import argparse
import time

from threadpoolctl import threadpool_limits

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import data, optim
from tinygrad_edu.models import mlp
from tinygrad_edu.plotting import figure_path, plot_curves
from tinygrad_edu.train import evaluate, fit
from tinygrad_edu.train.recipes import load_splits

# learning rates picked for full-batch steps on this problem
OPTIMIZERS = {
    "gradient descent (lr 0.5)": lambda params: optim.SGD(params, lr=0.5),
    "momentum 0.9 (lr 0.1)": lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    "Adagrad (lr 0.05)": lambda params: optim.Adagrad(params, lr=0.05),
    "RMSprop (lr 3e-3)": lambda params: optim.RMSprop(params, lr=3e-3),
    "Adam (lr 1e-2)": lambda params: optim.Adam(params, lr=1e-2),
    "L-BFGS (strong Wolfe)": lambda params: optim.LBFGS(
        params, max_iter=1, line_search_fn="strong_wolfe"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default="optimizer_comparison.png",
        help="a .png file, or a folder to write optimizer_comparison.png in",
    )
    parser.add_argument("--steps", type=int, default=200, help="full-batch steps per optimizer")
    args = parser.parse_args()
    try:
        args.out = figure_path(args.out, "optimizer_comparison.png")
    except ValueError as err:
        parser.error(str(err))

    splits = load_splits("digits", seed=0)
    loader = data.DataLoader(
        splits.X_train,
        splits.y_train,
        batch_size=len(splits.X_train),
        shuffle=False,
        dtype="float64",
    )
    curves = {}
    for name, make in OPTIMIZERS.items():
        tg.manual_seed(0)
        model = mlp([64, 64, 10], "tanh", dtype="float64")
        started = time.perf_counter()
        history = fit(
            model,
            F.cross_entropy,
            make(model.parameters()),
            loader,
            epochs=args.steps,
            progress=False,
        )
        seconds = time.perf_counter() - started
        accuracy = evaluate(model, splits.X_test, splits.y_test)["accuracy"]
        curves[name] = (range(1, args.steps + 1), history["loss"])
        print(
            f"{name:28s} final loss {history['loss'][-1]:.2e}  "
            f"test accuracy {100 * accuracy:.1f}%  ({seconds:.1f} s)"
        )
    plot_curves(
        curves,
        args.out,
        xlabel="full-batch step",
        ylabel="training loss",
        title="digits, 64-64-10 tanh MLP",
        log_y=True,
    )
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    with threadpool_limits(limits=1, user_api="blas"):  # one thread is fastest at this size
        main()
