"""Ready-made models: the multilayer perceptron of the lecture, and the MNIST-1D paper's four.

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


# ----------------------------------------------------------------- MNIST-1D paper models
MNIST1D_INPUTS = 40  # an MNIST-1D sample: 40 positions, one value each


class Logistic(nn.Module):
    """Multinomial logistic regression: logits = x W + b (the paper's linear baseline)."""

    def __init__(
        self, input_size=MNIST1D_INPUTS, output_size=10, dtype=None, backend=None, device=None
    ):
        super().__init__()
        self.linear = nn.Linear(
            input_size, output_size, dtype=dtype, backend=backend, device=device
        )

    def forward(self, x):
        return self.linear(x)


class ResidualMLP(nn.Module):
    """The MNIST-1D paper's MLP, 40-100-100-10 with a residual connection.

    h1 = relu(x W1 + b1), h2 = h1 + relu(h1 W2 + b2), logits = h2 W3 + b3.
    """

    def __init__(
        self,
        input_size=MNIST1D_INPUTS,
        output_size=10,
        hidden_size=100,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        where = {"dtype": dtype, "backend": backend, "device": device}
        self.linear1 = nn.Linear(input_size, hidden_size, **where)
        self.linear2 = nn.Linear(hidden_size, hidden_size, **where)
        self.linear3 = nn.Linear(hidden_size, output_size, **where)

    def forward(self, x):
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


class ConvNet1d(nn.Module):
    """The MNIST-1D paper's CNN (``ConvBase``) for inputs (N, 40).

    Conv1d(1, 25, 5, stride 2, padding 1) -> Conv1d(25, 25, 3, 2, 1) ->
    Conv1d(25, 25, 3, 2, 1), a ReLU after each (lengths 40 -> 19 -> 10 -> 5),
    flattened to 125 features -> Linear(125, 10).
    """

    def __init__(
        self, output_size=10, channels=25, linear_in=125, dtype=None, backend=None, device=None
    ):
        super().__init__()
        where = {"dtype": dtype, "backend": backend, "device": device}
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1, **where)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1, **where)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1, **where)
        self.linear = nn.Linear(linear_in, output_size, **where)

    def forward(self, x):
        h = x.reshape(x.shape[0], 1, x.shape[-1])
        h = self.conv1(h).relu()
        h = self.conv2(h).relu()
        h = self.conv3(h).relu()
        return self.linear(h.reshape(h.shape[0], -1))


class BiGRUNet(nn.Module):
    """The MNIST-1D paper's GRU (``GRUBase``) for inputs (N, 40).

    Each of the 40 positions is one time step of a bidirectional GRU with
    hidden size 6 (batch first); the 40 x 12 outputs are flattened to 480
    features -> Linear(480, 10).
    """

    def __init__(
        self,
        input_size=1,
        output_size=10,
        hidden_size=6,
        time_steps=MNIST1D_INPUTS,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        where = {"dtype": dtype, "backend": backend, "device": device}
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True, bidirectional=True, **where)
        self.linear = nn.Linear(2 * hidden_size * time_steps, output_size, **where)

    def forward(self, x):
        output, _ = self.gru(x.reshape(x.shape[0], x.shape[1], 1))
        return self.linear(output.reshape(output.shape[0], -1))


MNIST1D_MODELS = {
    "logistic": Logistic,
    "mlp": ResidualMLP,
    "cnn": ConvNet1d,
    "gru": BiGRUNet,
}


def mnist1d_model(name: str, dtype=None, backend=None, device=None) -> nn.Module:
    """One of the MNIST-1D paper's four models by name: ``logistic mlp cnn gru``."""
    if name not in MNIST1D_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MNIST1D_MODELS)}")
    return MNIST1D_MODELS[name](dtype=dtype, backend=backend, device=device)
