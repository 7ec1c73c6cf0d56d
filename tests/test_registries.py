"""The command line's tables: every dataset, optimizer and activation row is exercised.

``RECIPES`` and ``OPTIMIZERS`` (tinygrad_edu.train.recipes) and
``models.ACTIVATIONS`` are the extension points of ``tinygrad-edu train``:
these tests iterate over them, so a new row cannot go untested, and show
that one row is all a new dataset or optimizer needs.
"""

import re

import numpy as np
import pytest

from tinygrad_edu import cli, data, models, optim
from tinygrad_edu.train import recipes


def run_cli(capsys, *argv):
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("dataset", list(recipes.RECIPES))
def test_every_recipe_trains_one_epoch(capsys, dataset):
    recipe = recipes.RECIPES[dataset]
    splits = recipe.load(0)
    assert len(splits.X_train) > len(splits.X_val) > 0 and len(splits.X_test) > 0
    outputs = 1 if recipe.classes is None else recipe.classes
    if recipe.classes is not None:
        assert set(np.unique(splits.y_train)) == set(range(outputs))
    else:
        assert splits.y_train.shape == (len(splits.X_train), 1)
    status, out, err = run_cli(
        capsys, "train", "--dataset", dataset, "--epochs", 1, "--no-progress"
    )
    assert status == 0, err
    metric = "accuracy" if recipe.task == "classification" else "R2"
    assert re.search(rf"^test {metric}: -?[0-9.]+%?$", out, re.MULTILINE), out
    assert ", 1 epochs," in out


@pytest.mark.parametrize("name", list(recipes.OPTIMIZERS))
def test_every_optimizer_row_builds_its_optimizer_and_trains_one_epoch(capsys, name):
    choice = recipes.OPTIMIZERS[name]
    model = models.mlp([2, 3, 2])
    built = recipes.make_optimizer(name, model.parameters(), 0.1, choice.default_momentum)
    assert isinstance(built, optim.Optimizer)
    assert built.param_groups[0]["lr"] == 0.1
    status, out, err = run_cli(
        capsys, "train", "--dataset", "xor", "--optimizer", name, "--epochs", 1, "--no-progress"
    )
    assert status == 0, err
    assert f"{name} lr {recipes.default_lr(recipes.RECIPES['xor'], name):g}" in out


@pytest.mark.parametrize("activation", list(models.ACTIVATIONS))
def test_every_activation_is_a_cli_choice_and_trains(capsys, activation):
    assert activation in cli.ACTIVATION_NAMES
    status, _, err = run_cli(
        capsys,
        "train",
        "--dataset",
        "xor",
        "--activation",
        activation,
        "--epochs",
        1,
        "--no-progress",
    )
    assert status == 0, err


def test_the_tables_agree_with_each_other():
    assert set(cli.ACTIVATION_NAMES) == set(models.ACTIVATIONS)
    for name, recipe in recipes.RECIPES.items():
        assert recipe.optimizer in recipes.OPTIMIZERS, name
        assert recipe.activation in models.ACTIVATIONS, name
    assert recipes.OPTIMIZER_LR == {n: c.typical_lr for n, c in recipes.OPTIMIZERS.items()}
    assert set(recipes.MOMENTUM_OPTIMIZERS) == {"momentum", "nesterov", "rmsprop"}


def test_a_new_optimizer_or_dataset_is_one_row(capsys, monkeypatch):
    monkeypatch.setitem(
        recipes.OPTIMIZERS,
        "heavy_ball",
        recipes.OptimizerChoice(
            lambda params, lr, momentum, decay: optim.SGD(params, lr=lr, momentum=momentum),
            0.01,
            momentum=True,
            default_momentum=0.5,
        ),
    )
    monkeypatch.setitem(
        recipes.RECIPES,
        "circles",
        recipes.Recipe(
            load=lambda seed: recipes.Splits(
                *data.train_val_test_split(
                    *data.two_moons(n=200, noise=0.1, seed=seed), val=0.1, test=0.2, seed=seed
                )
            ),
            classes=2,
            hidden=(4,),
            activation="tanh",
            optimizer="heavy_ball",
            lr=0.05,
            batch_size=16,
            epochs=2,
            data="a test row",
        ),
    )
    status, out, err = run_cli(capsys, "train", "--dataset", "circles", "--no-progress")
    assert status == 0, err
    assert "2 epochs, heavy_ball lr 0.05, hidden 4" in out
    status, _, err = run_cli(
        capsys, "train", "--dataset", "circles", "--momentum", "0.8", "--epochs", 1, "--no-progress"
    )
    assert status == 0, err
