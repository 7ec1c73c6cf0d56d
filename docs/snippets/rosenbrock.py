"""Compare tinygrad_edu's optimizers on the Rosenbrock function and plot their paths.

Run from the repository root to regenerate ``docs/images/optimizers-rosenbrock.png``::

    python docs/snippets/rosenbrock.py

f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 has its minimum f = 0 at (1, 1), at the
end of a long, curved, flat-bottomed valley: gradient descent crawls along
it, momentum and the adaptive methods move faster, L-BFGS uses curvature.
Every optimizer starts at (-1.2, 1) and takes the same number of steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure

import tinygrad_edu as tg
from tinygrad_edu import optim

IMAGES = Path(__file__).resolve().parent.parent / "images"
START = (-1.2, 1.0)
STEPS = 1000

# name -> (optimizer class, its settings); learning rates tuned by hand so that
# each method is near its best on this problem.
OPTIMIZERS = {
    "GD": (optim.SGD, {"lr": 1.5e-3}),
    "momentum": (optim.SGD, {"lr": 5e-4, "momentum": 0.9}),
    "Nesterov": (optim.SGD, {"lr": 5e-4, "momentum": 0.9, "nesterov": True}),
    "Adagrad": (optim.Adagrad, {"lr": 0.5}),
    "RMSprop": (optim.RMSprop, {"lr": 1e-2}),
    "Adam": (optim.Adam, {"lr": 0.05, "betas": (0.9, 0.99)}),
    # one iteration per step; its strong-Wolfe line search may evaluate f a few times
    "L-BFGS": (
        optim.LBFGS,
        {"lr": 1.0, "max_iter": 1, "max_eval": 25, "line_search_fn": "strong_wolfe"},
    ),
}


def rosenbrock(xy: tg.Tensor) -> tg.Tensor:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 for a Tensor holding (x, y)."""
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def run(optimizer_class, settings: dict, steps: int = STEPS) -> list[tuple[float, float, float]]:
    """(x, y, f) before each step and after the last one."""
    xy = tg.tensor(START, dtype="float64", requires_grad=True)
    optimizer = optimizer_class([xy], **settings)

    def closure():
        optimizer.zero_grad()
        loss = rosenbrock(xy)
        loss.backward()
        return loss

    path = []
    for _ in range(steps):
        x, y = xy.tolist()
        path.append((x, y, rosenbrock(xy.detach()).item()))
        optimizer.step(closure)
    x, y = xy.tolist()
    path.append((x, y, rosenbrock(xy.detach()).item()))
    return path


def draw(paths: dict, path: Path) -> None:
    import numpy as np  # only to evaluate the contour grid for the picture

    fig = Figure(figsize=(10.5, 4.2), dpi=90)
    contour_ax, loss_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    xs, ys = np.meshgrid(np.linspace(-1.6, 1.6, 240), np.linspace(-0.6, 2.0, 240))
    levels = np.logspace(-1, 3.3, 14)
    contour_ax.contour(
        xs,
        ys,
        (1 - xs) ** 2 + 100 * (ys - xs**2) ** 2,
        levels=levels,
        colors="#bbbbbb",
        linewidths=0.7,
    )
    for name, trajectory in paths.items():
        x, y, f = zip(*trajectory, strict=True)
        line = contour_ax.plot(x, y, linewidth=1.3, label=name)[0]
        loss_ax.semilogy(
            range(len(f)),
            [max(v, 1e-12) for v in f],
            color=line.get_color(),
            linewidth=1.3,
            label=name,
        )
    contour_ax.plot(*START, "ko", markersize=5)
    contour_ax.plot(1, 1, "k*", markersize=10)
    contour_ax.set_title("paths from (-1.2, 1) to the minimum (1, 1)")
    contour_ax.set_xlabel("x")
    contour_ax.set_ylabel("y")
    loss_ax.set_title(f"f(x, y) over {STEPS} steps")
    loss_ax.set_xlabel("step (L-BFGS: one iteration per step)")
    loss_ax.set_ylim(1e-12, 1e2)
    loss_ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)


def main(out_dir: Path = IMAGES) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: run(cls, settings) for name, (cls, settings) in OPTIMIZERS.items()}
    image = out_dir / "optimizers-rosenbrock.png"
    draw(paths, image)
    return [image]


if __name__ == "__main__":
    for written in main(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(written)
