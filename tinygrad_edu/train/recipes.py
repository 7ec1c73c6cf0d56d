"""Per-dataset settings and data preparation shared by the CLI and the examples.

Each recipe says how a dataset is split and scaled and which MLP and
optimizer train it well; ``tinygrad-edu train --dataset NAME`` uses them
unless an option overrides one. The numbers they reach are in
docs/training.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import data, optim


@dataclass(frozen=True)
class Recipe:
    """Default settings for one dataset.

    ``classes`` is the number of classes (None for regression, which has
    one output); ``data`` describes the split and the scaling.
    """

    classes: int | None
    hidden: tuple[int, ...]
    activation: str
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    data: str
    dropout: float = 0.0
    weight_decay: float = 0.0

    @property
    def task(self) -> str:
        return "regression" if self.classes is None else "classification"


RECIPES = {
    "digits": Recipe(
        classes=10,
        hidden=(128,),
        activation="relu",
        dropout=0.5,
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=300,
        data="sklearn 8x8 digits, X/16, stratified 70/10/20 train/val/test split",
    ),
    "mnist1d": Recipe(
        classes=10,
        hidden=(256, 256),
        activation="relu",
        dropout=0.2,
        optimizer="adam",
        lr=1e-2,
        batch_size=100,
        epochs=200,
        data="MNIST-1D (4000 train, 1000 test), 10% of train held out for validation",
    ),
    "franke": Recipe(
        classes=None,
        hidden=(64, 64),
        activation="tanh",
        optimizer="adam",
        lr=3e-3,
        batch_size=32,
        epochs=300,
        data="Franke function, 2000 points, noise 0.1, 70/10/20 split, test targets noise-free",
    ),
    "xor": Recipe(
        classes=2,
        hidden=(8,),
        activation="tanh",
        optimizer="adam",
        lr=1e-2,
        batch_size=32,
        epochs=100,
        data="XOR blobs, 400 points, noise 0.2, standardised, 70/10/20 split",
    ),
    "moons": Recipe(
        classes=2,
        hidden=(32, 32),
        activation="relu",
        optimizer="adam",
        lr=1e-2,
        batch_size=32,
        epochs=100,
        data="two moons, 1000 points, noise 0.2, standardised, 70/10/20 split",
    ),
    "spirals": Recipe(
        classes=3,
        hidden=(64, 64),
        activation="relu",
        optimizer="adam",
        lr=1e-2,
        batch_size=32,
        epochs=300,
        data="three spirals, 900 points, noise 0.2, standardised, 70/10/20 split",
    ),
}

FRANKE_POINTS = 2000
FRANKE_NOISE = 0.1


class Splits(NamedTuple):
    """Host arrays of one dataset, split and scaled; ``note`` explains anything unusual."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    note: str = ""


def load_splits(dataset: str, seed: int = 0) -> Splits:
    """Train/validation/test arrays of ``dataset`` as its recipe prescribes.

    ``seed`` draws the split (and the points of the synthetic sets); the test
    part of MNIST-1D is its fixed official one. Scalers are fitted on the
    training part only. Regression targets have shape (n, 1), like the model's
    output.
    """
    if dataset not in RECIPES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(RECIPES)}")
    if dataset == "digits":
        X, y = data.load_digits()
        return Splits(
            *data.train_val_test_split(X / 16, y, val=0.1, test=0.2, stratify=True, seed=seed)
        )
    if dataset == "mnist1d":
        X_pool, y_pool, X_test, y_test = data.load_mnist1d()
        X_train, y_train, X_val, y_val, _, _ = data.train_val_test_split(
            X_pool, y_pool, val=0.1, test=0.0, stratify=True, seed=seed
        )
        return Splits(X_train, y_train, X_val, y_val, X_test, y_test)
    if dataset == "franke":
        return _franke_splits(seed)
    make = {"xor": data.xor, "moons": data.two_moons, "spirals": data.spirals}[dataset]
    size = {"xor": 400, "moons": 1000, "spirals": 900}[dataset]
    X, y = make(n=size, noise=0.2, seed=seed)
    X_train, y_train, X_val, y_val, X_test, y_test = data.train_val_test_split(
        X, y, val=0.1, test=0.2, stratify=True, seed=seed
    )
    scaler = data.Standardizer().fit(X_train)
    return Splits(
        scaler.transform(X_train),
        y_train,
        scaler.transform(X_val),
        y_val,
        scaler.transform(X_test),
        y_test,
    )


def _franke_splits(seed: int) -> Splits:
    """Noisy training and validation targets; noise-free test targets.

    With noise sigma = 0.1 even the true function scores only
    R^2 = var f / (var f + sigma^2), about 0.89, on noisy targets; testing on
    f itself measures how well the network learned the function.
    """
    X, y = data.franke(FRANKE_POINTS, noise=FRANKE_NOISE, seed=seed)
    X_train, y_train, X_val, y_val, X_test, _ = data.train_val_test_split(
        X, y, val=0.1, test=0.2, seed=seed
    )
    y_test = data.franke_function(X_test[:, 0], X_test[:, 1])
    note = (
        f"franke: test targets are the noise-free function (noise {FRANKE_NOISE} on "
        "train/val caps R2 on noisy targets near 0.89)"
    )
    return Splits(X_train, y_train[:, None], X_val, y_val[:, None], X_test, y_test[:, None], note)


def defaults_table() -> str:
    """The recipes as a plain-text table (for ``--help`` and the docs)."""
    header = ("dataset", "hidden", "activation", "dropout", "optimizer", "lr", "batch", "epochs")
    rows = [header] + [
        (
            name,
            ",".join(map(str, r.hidden)),
            r.activation,
            f"{r.dropout:g}",
            r.optimizer,
            f"{r.lr:g}",
            str(r.batch_size),
            str(r.epochs),
        )
        for name, r in RECIPES.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    notes = [f"  {name}: {r.data}" for name, r in RECIPES.items()]
    return "\n".join(lines + ["data:"] + notes)


OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")
# typical learning rates relative to one another (what works on digits); lbfgs: line search
OPTIMIZER_LR = {
    "sgd": 0.1,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.01,
    "rmsprop": 1e-3,
    "adam": 1e-3,
    "adamw": 1e-3,
    "lbfgs": 1.0,
}
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov", "rmsprop")


def default_lr(recipe: Recipe, optimizer: str) -> float:
    """The learning rate ``optimizer`` gets on ``recipe``'s dataset unless one is given.

    The recipe's own optimizer keeps the recipe's rate; another one gets the
    recipe's rate scaled by ``OPTIMIZER_LR[optimizer] / OPTIMIZER_LR[recipe's]``
    (so a dataset that wants Adam at 1e-2 gets SGD at 1.0), and LBFGS gets 1
    (its line search picks the step).
    """
    if optimizer == recipe.optimizer:
        return recipe.lr
    if optimizer == "lbfgs":
        return OPTIMIZER_LR["lbfgs"]
    return float(f"{recipe.lr * OPTIMIZER_LR[optimizer] / OPTIMIZER_LR[recipe.optimizer]:.3g}")


def make_optimizer(name: str, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
    """An optimizer by its CLI name.

    ``sgd`` is plain (mini-batch) gradient descent, ``momentum`` and
    ``nesterov`` are SGD with heavy-ball or Nesterov momentum, ``lbfgs`` uses
    the strong-Wolfe line search; the rest are the classes of the same name.
    """
    params = list(params)
    if name == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name in ("momentum", "nesterov"):
        return optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=name == "nesterov", weight_decay=weight_decay
        )
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "lbfgs":
        if weight_decay:
            raise ValueError("lbfgs takes no weight decay")
        return optim.LBFGS(params, lr=lr, line_search_fn="strong_wolfe")
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
