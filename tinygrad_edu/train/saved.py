"""Use a model saved by ``tinygrad-edu train --save``: rebuild it, predict with it.

``train --save PATH`` writes the weights (``model.state_dict()``) and, in the
file's metadata (JSON, no pickle), the run's settings under ``"config"``
(dataset, hidden widths, activation, dropout, dtype, seed...) and under
``"model"`` how to build the model again: the name of a builder in
:data:`BUILDERS`, its keyword arguments and the number of input features,

    {"builder": "mnist1d_model", "arguments": {"name": "cnn"}, "input_features": 40}

:func:`load_model` reads both, calls the builder and loads the weights, in
evaluation mode; :func:`predict` runs it on raw inputs, scaled as the
dataset's recipe scaled them for training. A file written before ``"model"``
was recorded holds an MLP, whose widths the weights themselves give.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .. import backend as backends
from ..autograd import no_grad
from ..creation import tensor
from ..models import MNIST1D_INPUTS, mlp, mnist1d_model
from ..serialization import load, load_metadata
from .recipes import RECIPES

# The builders a saved file may name (a table: a name in a file never imports code).
BUILDERS = {"mlp": mlp, "mnist1d_model": mnist1d_model}

# The recipes' input scaling that predict() applies to raw inputs: digits pixels
# are 0..16 and the model saw them divided by 16. The other datasets are used as
# their loaders give them (xor, moons and spirals standardised: give predict()
# standardised features).
INPUT_DIVISOR = {"digits": 16.0}
_LINEAR_WEIGHT = re.compile(r"^(\d+)\.weight$")


def model_spec(builder: str, arguments: dict, input_features: int) -> dict:
    """The ``"model"`` metadata of a saved model: ``BUILDERS[builder](**arguments)`` makes it."""
    return {"builder": builder, "arguments": arguments, "input_features": input_features}


def build_model(spec: dict, dtype=None, backend=None, device=None):
    """``BUILDERS[spec["builder"]](**spec["arguments"], dtype=..., backend=..., device=...)``."""
    return BUILDERS[spec["builder"]](
        **spec["arguments"], dtype=dtype, backend=backend, device=device
    )


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


def read_spec(path, config: dict, state: dict) -> dict:
    """The ``"model"`` metadata of ``path`` (checked), or for an older file the MLP it holds."""
    spec = load_metadata(path).get("model")
    if spec is None:
        return _older_spec(path, config, state)
    cannot = f"{os.fspath(path)!r}: cannot rebuild the model:"
    if not isinstance(spec, dict) or set(spec) != {"builder", "arguments", "input_features"}:
        raise ValueError(f"{cannot} its 'model' metadata is not {{builder, arguments, inputs}}")
    if spec["builder"] not in BUILDERS:
        raise ValueError(
            f"{cannot} unknown builder {spec['builder']!r} (known: {', '.join(BUILDERS)})"
        )
    features = spec["input_features"]
    if not isinstance(spec["arguments"], dict):
        raise ValueError(f"{cannot} the arguments of {spec['builder']} are not a dict")
    if isinstance(features, bool) or not isinstance(features, int) or features < 1:
        raise ValueError(f"{cannot} input_features is {features!r}, not a positive int")
    return spec


def _older_spec(path, config: dict, state: dict) -> dict:
    """A file saved before ``"model"`` was recorded: the paper's model by its name in
    ``config``, else an MLP whose widths are those of its weights (``0.weight`` of shape
    ``(in_features, hidden_1)``, ...)."""
    if config.get("model", "mlp") != "mlp":
        return model_spec("mnist1d_model", {"name": config["model"]}, MNIST1D_INPUTS)
    weights = sorted(
        (int(match.group(1)), tensor)
        for name, tensor in state.items()
        if (match := _LINEAR_WEIGHT.match(name))
    )
    if not weights:
        raise ValueError(f"{os.fspath(path)!r} holds no Linear weights ('0.weight', ...)")
    sizes = [weights[0][1].shape[0]] + [tensor.shape[1] for _, tensor in weights]
    arguments = {
        "sizes": sizes,
        "activation": config["activation"],
        "dropout": config.get("dropout", 0.0),
    }
    return model_spec("mlp", arguments, sizes[0])


def load_saved(path, backend=None, device=None):
    """``(config, spec, model)`` of a file written by ``train --save``; see :func:`load_model`."""
    config = read_config(path)
    state = load(path, backend=backend, device=device)
    spec = read_spec(path, config, state)
    try:
        model = build_model(spec, config.get("dtype"), backend, device)
        model.load_state_dict(state)
    except (TypeError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise ValueError(
            f"{os.fspath(path)!r}: cannot rebuild the model with {spec['builder']}"
            f"(**{spec['arguments']}): {message}"
        ) from None
    return config, spec, model.eval()


def load_model(path, backend=None, device=None):
    """Rebuild the model saved by ``tinygrad-edu train --save PATH``, weights included.

    The file's ``"model"`` metadata names the builder (``mlp``, or
    ``mnist1d_model`` for the MNIST-1D paper's CNN and GRU) and its arguments;
    the dtype comes from its ``"config"``. The model is returned in evaluation
    mode (dropout off), on ``backend``/``device`` (default: the default
    backend). A file whose model cannot be rebuilt raises a ValueError that
    says why.

    Examples
    --------
    >>> model = tg.train.load_model("model.safetensors")   # doctest: +SKIP
    >>> model(tg.tensor(X_test)).numpy().argmax(axis=1)    # doctest: +SKIP
    """
    return load_saved(path, backend, device)[2]


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


def predict(model, inputs, config: dict, features: int) -> np.ndarray:
    """The model's output for raw ``inputs`` (rows of ``features`` values): class
    indices, or regression values.

    Classification models (a recipe with classes) give the index of the
    largest logit per row (int64, shape ``(n,)``); regression models their
    output (float, shape ``(n, outputs)``).
    """
    batch = prepare_inputs(inputs, config, features)
    parameter = next(iter(model.parameters()))
    with no_grad():
        logits = model(tensor(batch, dtype=parameter.dtype, backend=parameter.backend))
    output = backends.to_numpy(logits.data)
    if RECIPES[config["dataset"]].classes:
        return output.argmax(axis=1).astype(np.int64)
    return output
