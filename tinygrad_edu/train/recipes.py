"""Per-dataset settings and data preparation shared by the CLI and the examples.

Two tables are the command line's extension points, and tests iterate over
both, so a new row cannot go untested:

* ``RECIPES``: dataset name -> :class:`Recipe` (its loader and the MLP and
  optimizer that train it well); ``tinygrad-edu train --dataset NAME`` uses
  them unless an option overrides one. The numbers they reach are in
  docs/training.md.
* ``OPTIMIZERS``: ``--optimizer`` name -> :class:`OptimizerChoice` (how to
  build it, its typical learning rate, whether it takes momentum, whether
  it trains on full batches).

Adding a dataset or an optimizer to the command line is one row in one of
them. (Activations have theirs in ``tinygrad_edu.models.ACTIVATIONS``.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import data, optim


class Splits(NamedTuple):
    """Host arrays of one dataset, split and scaled; ``note`` explains anything unusual."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    note: str = ""


FRANKE_POINTS = 2000
FRANKE_NOISE = 0.1


def _digits_splits(seed: int) -> Splits:
    X, y = data.load_digits()
    return Splits(
        *data.train_val_test_split(X / 16, y, val=0.1, test=0.2, stratify=True, seed=seed)
    )


def _mnist1d_splits(seed: int) -> Splits:
    X_pool, y_pool, X_test, y_test = data.load_mnist1d()
    X_train, y_train, X_val, y_val, _, _ = data.train_val_test_split(
        X_pool, y_pool, val=0.1, test=0.0, stratify=True, seed=seed
    )
    return Splits(X_train, y_train, X_val, y_val, X_test, y_test)


def _synthetic_splits(make: Callable, size: int, seed: int) -> Splits:
    """``size`` points of ``make`` (noise 0.2), 70/10/20 split, standardised on train."""
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


@dataclass(frozen=True)
class Recipe:
    """Default settings for one dataset.

    ``classes`` is the number of classes (None for regression, which has
    one output); ``data`` describes the split and the scaling that
    ``load(seed)`` performs, returning :class:`Splits`.
    """

    load: Callable[[int], Splits]
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
        load=_digits_splits,
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
        load=_mnist1d_splits,
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
        load=_franke_splits,
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
        load=functools.partial(_synthetic_splits, data.xor, 400),
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
        load=functools.partial(_synthetic_splits, data.two_moons, 1000),
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
        load=functools.partial(_synthetic_splits, data.spirals, 900),
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


def load_splits(dataset: str, seed: int = 0) -> Splits:
    """Train/validation/test arrays of ``dataset`` as its recipe prescribes.

    ``seed`` draws the split (and the points of the synthetic sets); the test
    part of MNIST-1D is its fixed official one. Scalers are fitted on the
    training part only. Regression targets have shape (n, 1), like the model's
    output.
    """
    if dataset not in RECIPES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[dataset].load(seed)


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


@dataclass(frozen=True)
class OptimizerChoice:
    """One ``--optimizer`` name: how to build it and the defaults the CLI gives it.

    ``make(params, lr, momentum, weight_decay)`` returns the optimizer;
    ``typical_lr`` is a rate that works on digits, used to scale a recipe's
    rate to another optimizer (see ``default_lr``); ``momentum`` says whether
    it takes ``--momentum`` (default ``default_momentum``); ``full_batch``
    optimizers train on the whole training set at once, without dropout;
    ``line_search`` ones take ``typical_lr`` as their first trial step.
    """

    make: Callable
    typical_lr: float
    momentum: bool = False
    default_momentum: float = 0.0
    full_batch: bool = False
    line_search: bool = False
    weight_decay: bool = True
    default_weight_decay: float = 0.0


OPTIMIZERS = {
    "sgd": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.SGD(params, lr=lr, weight_decay=decay), 0.1
    ),
    "momentum": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.SGD(
            params, lr=lr, momentum=momentum, weight_decay=decay
        ),
        0.01,
        momentum=True,
        default_momentum=0.9,
    ),
    "nesterov": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=True, weight_decay=decay
        ),
        0.01,
        momentum=True,
        default_momentum=0.9,
    ),
    "adagrad": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.Adagrad(params, lr=lr, weight_decay=decay), 0.01
    ),
    "rmsprop": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.RMSprop(
            params, lr=lr, momentum=momentum, weight_decay=decay
        ),
        1e-3,
        momentum=True,
    ),
    "adam": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.Adam(params, lr=lr, weight_decay=decay), 1e-3
    ),
    "adamw": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.AdamW(params, lr=lr, weight_decay=decay),
        1e-3,
        default_weight_decay=1e-2,
    ),
    "lbfgs": OptimizerChoice(
        lambda params, lr, momentum, decay: optim.LBFGS(
            params, lr=lr, line_search_fn="strong_wolfe"
        ),
        1.0,
        full_batch=True,
        line_search=True,
        weight_decay=False,
    ),
}
# views of the table, kept for callers of the earlier names
OPTIMIZER_LR = {name: choice.typical_lr for name, choice in OPTIMIZERS.items()}
MOMENTUM_OPTIMIZERS = tuple(name for name, choice in OPTIMIZERS.items() if choice.momentum)


def default_lr(recipe: Recipe, optimizer: str) -> float:
    """The learning rate ``optimizer`` gets on ``recipe``'s dataset unless one is given.

    The recipe's own optimizer keeps the recipe's rate; another one gets the
    recipe's rate scaled by ``typical_lr[optimizer] / typical_lr[recipe's]``
    (so a dataset that wants Adam at 1e-2 gets SGD at 1.0), and a
    line-search optimizer (LBFGS) gets its ``typical_lr``, 1: the line search
    picks the step.
    """
    if optimizer == recipe.optimizer:
        return recipe.lr
    choice = OPTIMIZERS[optimizer]
    if choice.line_search:
        return choice.typical_lr
    return float(f"{recipe.lr * choice.typical_lr / OPTIMIZERS[recipe.optimizer].typical_lr:.3g}")


def make_optimizer(name: str, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
    """An optimizer by its CLI name (a row of ``OPTIMIZERS``).

    ``sgd`` is plain (mini-batch) gradient descent, ``momentum`` and
    ``nesterov`` are SGD with heavy-ball or Nesterov momentum, ``lbfgs`` uses
    the strong-Wolfe line search; the rest are the classes of the same name.
    """
    choice = OPTIMIZERS.get(name)
    if choice is None:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if weight_decay and not choice.weight_decay:
        raise ValueError(f"{name} takes no weight decay")
    return choice.make(list(params), lr, momentum, weight_decay)
