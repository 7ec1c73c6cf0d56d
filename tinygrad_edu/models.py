"""Ready-made models: the multilayer perceptron of the lecture.

>>> from tinygrad_edu.models import mlp
>>> mlp([64, 128, 10], "relu")
Sequential(
  (0): Linear(in_features=64, out_features=128, bias=True)
  (1): ReLU()
  (2): Linear(in_features=128, out_features=10, bias=True)
)
"""

from __future__ import annotations

from collections.abc import Sequence

from . import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    dropout: float = 0.0,
    dtype=None,
    backend=None,
    device=None,
) -> nn.Sequential:
    """A multilayer perceptron: Linear, activation (, Dropout), ..., Linear.

    Layer l computes a_l = act(a_{l-1} W_l + b_l); the last layer has no
    activation (it gives logits or regression outputs).

    Parameters
    ----------
    sizes : sequence of int
        ``[in_features, hidden_1, ..., out_features]``, at least two sizes.
    activation : str
        One of ``relu tanh sigmoid leaky_relu elu gelu``, after every hidden layer.
    dropout : float
        Drop probability of an ``nn.Dropout`` after every hidden activation
        (none when 0).
    dtype, backend, device : optional
        Where the parameters live (default float dtype and backend).
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"mlp needs at least two positive int sizes, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers = []
    for number, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(nn.Linear(fan_in, fan_out, dtype=dtype, backend=backend, device=device))
        if number < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
