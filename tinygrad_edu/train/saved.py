"""Use a model saved by ``tinygrad-edu train --save``: rebuild it, predict with it.

``train --save PATH`` writes the weights (``model.state_dict()``) and, in the
file's metadata, the run's settings under ``"config"`` (dataset, hidden
widths, activation, dropout, dtype, seed...). :func:`load_model` reads both
and rebuilds the same MLP with those weights, in evaluation mode;
:func:`predict` runs it on raw inputs, scaled as the dataset's recipe scaled
them for training.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .. import backend as backends
from ..autograd import no_grad
from ..creation import tensor
from ..models import mlp
from ..serialization import load, load_metadata
from .recipes import RECIPES

# The recipes' input scaling that predict() applies to raw inputs: digits pixels
# are 0..16 and the model saw them divided by 16. The other datasets are used as
# their loaders give them (xor, moons and spirals standardised: give predict()
# standardised features).
INPUT_DIVISOR = {"digits": 16.0}
_LINEAR_WEIGHT = re.compile(r"^(\d+)\.weight$")


def read_config(path) -> dict:
    """The ``"config"`` that ``train --save`` stored in ``path``, checked."""
    config = load_metadata(path).get("config")
    if not isinstance(config, dict) or not {"dataset", "hidden", "activation"} <= set(config):
        raise ValueError(
            f"{os.fspath(path)!r} holds weights but no training settings: it was not written "
            "by 'tinygrad-edu train --save'; build the model in Python and call "
            "model.load_state_dict(tg.load(path))"
        )
    if config["dataset"] not in RECIPES:
        raise ValueError(
            f"{os.fspath(path)!r} was trained on unknown dataset {config['dataset']!r}"
        )
    return config


def load_model(path, backend=None, device=None):
    """Rebuild the MLP saved by ``tinygrad-edu train --save PATH``, weights included.

    The layer widths come from the weights themselves (``0.weight`` of shape
    ``(in_features, hidden_1)``, ...), the activation, dropout and dtype from
    the file's ``"config"`` metadata. The model is returned in evaluation mode
    (dropout off), on ``backend``/``device`` (default: the default backend).

    Examples
    --------
    >>> model = tg.train.load_model("model.safetensors")   # doctest: +SKIP
    >>> model(tg.tensor(X_test)).numpy().argmax(axis=1)    # doctest: +SKIP
    """
    config = read_config(path)
    state = load(path, backend=backend, device=device)
    weights = sorted(
        (int(match.group(1)), tensor)
        for name, tensor in state.items()
        if (match := _LINEAR_WEIGHT.match(name))
    )
    if not weights:
        raise ValueError(f"{os.fspath(path)!r} holds no Linear weights ('0.weight', ...)")
    sizes = [weights[0][1].shape[0]] + [tensor.shape[1] for _, tensor in weights]
    model = mlp(
        sizes,
        config["activation"],
        config.get("dropout", 0.0),
        dtype=config.get("dtype"),
        backend=backend,
        device=device,
    )
    model.load_state_dict(state)
    return model.eval()


def input_features(model) -> int:
    """The number of inputs of an MLP (rows of its first Linear weight)."""
    return next(iter(model.parameters())).shape[0]


def prepare_inputs(inputs, config: dict, features: int) -> np.ndarray:
    """Raw inputs as a 2-D float array the model takes: one row per sample, scaled.

    A 1-D array of ``features`` values is one sample. A wrong width raises a
    ValueError that names both numbers.
    """
    array = np.asarray(inputs, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != features:
        raise ValueError(
            f"the model takes rows of {features} features ({config['dataset']}), "
            f"got an array of shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError("the inputs hold NaN or infinite values")
    return array / INPUT_DIVISOR.get(config["dataset"], 1.0)


def predict(model, inputs, config: dict) -> np.ndarray:
    """The model's output for raw ``inputs``: class indices, or regression values.

    Classification models (a recipe with classes) give the index of the
    largest logit per row (int64, shape ``(n,)``); regression models their
    output (float, shape ``(n, outputs)``).
    """
    batch = prepare_inputs(inputs, config, input_features(model))
    parameter = next(iter(model.parameters()))
    with no_grad():
        logits = model(tensor(batch, dtype=parameter.dtype, backend=parameter.backend))
    output = backends.to_numpy(logits.data)
    if RECIPES[config["dataset"]].classes:
        return output.argmax(axis=1).astype(np.int64)
    return output
