"""Recurrent layers with PyTorch's parameter names, layouts, gate order and init.

For an input x_t (N, I) and a state h (N, H), with every weight W (gates H, in)
laid out as in PyTorch (so ``x W^T``) and sigma the logistic sigmoid:

* ``RNN``:  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)  (or relu)
* ``GRU``, gates in the order r, z, n:
      r = sigma(x W_ir^T + b_ir + h W_hr^T + b_hr)
      z = sigma(x W_iz^T + b_iz + h W_hz^T + b_hz)
      n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
      h' = (1 - z) * n + z * h
* ``LSTM``, gates in the order i, f, g, o, with a cell state c:
      i, f, o = sigma(...), g = tanh(...)   (each x W_i.^T + b_i. + h W_h.^T + b_h.)
      c' = f * c + i * g,  h' = o * tanh(c')

The multi-layer modules compute the input projections x W_ih^T + b_ih of all
time steps in one matrix product, then step through time; layer k > 0 reads
the outputs of layer k - 1 (both directions concatenated), with dropout in
between during training. Everything is composed from Tensor operations, so
the gradient is backpropagation through time by the chain rule, and second
derivatives work. Every weight and bias starts as U(-1/sqrt(H), 1/sqrt(H)).
"""

from __future__ import annotations

import math

from ..creation import zeros
from ..functional import concat, stack
from ..ops_rnn import gru_cell, gru_sequence
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


def _check_size(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")


def cell_step(mode: str, projected: Tensor, state, w_hh_t: Tensor, b_hh):
    """One step of a cell, given the input projection x W_ih^T + b_ih (N, gates H).

    ``state`` is h (N, H), or (h, c) for LSTM; ``w_hh_t`` is W_hh^T (H, gates H).
    Returns the new state in the same form.
    """
    if mode == "GRU":
        return gru_cell(projected, state, w_hh_t, b_hh)
    h, c = state if mode == "LSTM" else (state, None)
    hidden = h.shape[-1]
    recurrent = F.linear(h, w_hh_t, b_hh)
    if mode == "RNN_TANH":
        return (projected + recurrent).tanh()
    if mode == "RNN_RELU":
        return (projected + recurrent).relu()
    gates = projected + recurrent
    ifo = concat([gates[..., : 2 * hidden], gates[..., 3 * hidden :]], axis=-1).sigmoid()
    i, f, o = ifo[..., :hidden], ifo[..., hidden : 2 * hidden], ifo[..., 2 * hidden :]
    g = gates[..., 2 * hidden : 3 * hidden].tanh()
    c = f * c + i * g
    return o * c.tanh(), c


# ----------------------------------------------------------------- cells
class _CellBase(Module):
    mode = ""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, backend=None, device=None):
        super().__init__()
        owner = type(self).__name__
        _check_size(owner, "input_size", input_size)
        _check_size(owner, "hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        gates = GATES[self.mode] * hidden_size
        where = {"dtype": dtype, "backend": backend, "device": device}
        self.weight_ih = Parameter(zeros(gates, input_size, **where))
        self.weight_hh = Parameter(zeros(gates, hidden_size, **where))
        if bias:
            self.bias_ih = Parameter(zeros(gates, **where))
            self.bias_hh = Parameter(zeros(gates, **where))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def _zeros(self, x: Tensor) -> Tensor:
        shape = x.shape[:-1] + (self.hidden_size,)
        return Tensor(x.xp.zeros(shape, dtype=x.dtype, device=x.device))

    def _step(self, x: Tensor, state):
        if x.shape[-1] != self.input_size or x.ndim not in (1, 2):
            raise ValueError(
                f"{type(self).__name__} needs an input of shape (N, {self.input_size}) or "
                f"({self.input_size},), got {x.shape}"
            )
        projected = F.linear(x, self.weight_ih.T, self.bias_ih)
        return cell_step(self.mode, projected, state, self.weight_hh.T, self.bias_hh)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        return text if self.bias_ih is not None else text + ", bias=False"


class RNNCell(_CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (``nonlinearity="relu"``: relu).

    ``forward(x, h=None)`` with x (N, input_size) or (input_size,); h defaults to zeros.
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        bias=True,
        nonlinearity="tanh",
        dtype=None,
        backend=None,
        device=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, dtype, backend, device)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        return self._step(x, self._zeros(x) if h is None else h)


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n; see the module docstring): ``forward(x, h=None) -> h'``."""

    mode = "GRU"

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        return self._step(x, self._zeros(x) if h is None else h)


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o): ``forward(x, (h, c)=None) -> (h', c')``."""

    mode = "LSTM"

    def forward(self, x: Tensor, state=None):
        if state is None:
            state = (self._zeros(x), self._zeros(x))
        return self._step(x, tuple(state))


# ----------------------------------------------------------------- sequence layers
class _RNNBase(Module):
    mode = ""
    fused = True  # GRU: one ``ops_rnn.GRUSequence`` node per layer and direction

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        owner = type(self).__name__
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            _check_size(owner, name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{owner}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        self.directions = 2 if bidirectional else 1
        gates = GATES[self.mode] * hidden_size
        where = {"dtype": dtype, "backend": backend, "device": device}
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(zeros(gates, layer_input, **where)))
                setattr(self, f"weight_hh{suffix}", Parameter(zeros(gates, hidden_size, **where)))
                if bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(zeros(gates, **where)))
                    setattr(self, f"bias_hh{suffix}", Parameter(zeros(gates, **where)))
        self.reset_parameters()

    def _suffixes(self, layer: int) -> list:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.directions]

    def reset_parameters(self) -> None:
        """Every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def _initial_state(self, given, x: Tensor, unbatched: bool):
        """The (layers * directions, N, H) initial state as a list of (N, H) tensors."""
        expected = (self.num_layers * self.directions, x.shape[1], self.hidden_size)
        if given is None:
            return [Tensor(x.xp.zeros(expected[1:], dtype=x.dtype, device=x.device))] * expected[0]
        if unbatched:
            given = given.unsqueeze(1)
        if given.shape != expected:
            raise ValueError(
                f"{type(self).__name__} needs an initial state of shape {expected}, "
                f"got {given.shape}"
            )
        return [given[k] for k in range(expected[0])]

    def _run(self, x: Tensor, states: list) -> tuple:
        """All layers over a (L, N, I) input: the last layer's outputs and the final states."""
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__} needs an input of shape (L, N, {self.input_size}) "
                f"(batch_first: (N, L, {self.input_size})) or (L, {self.input_size}), "
                f"got {x.shape}"
            )
        parameters = self._parameters
        finals = []
        steps = x.shape[0]
        for layer in range(self.num_layers):
            if layer and self.dropout:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                bias_ih = parameters.get(f"bias_ih{suffix}")
                projected = F.linear(x, parameters[f"weight_ih{suffix}"].T, bias_ih)
                w_hh_t = parameters[f"weight_hh{suffix}"].T
                b_hh = parameters.get(f"bias_hh{suffix}")
                state = states[layer * self.directions + direction]
                if self.mode == "GRU" and self.fused:
                    weight_hh = parameters[f"weight_hh{suffix}"]
                    hidden = gru_sequence(
                        projected, state, weight_hh, b_hh, reverse=bool(direction)
                    )
                    finals.append(hidden[0 if direction else steps - 1])
                    outputs.append(hidden)
                    continue
                order = range(steps - 1, -1, -1) if direction else range(steps)
                hidden = [None] * steps
                for t in order:
                    state = cell_step(self.mode, projected[t], state, w_hh_t, b_hh)
                    hidden[t] = state[0] if self.mode == "LSTM" else state
                finals.append(state)
                outputs.append(stack(hidden, axis=0))
            x = outputs[0] if len(outputs) == 1 else concat(outputs, axis=-1)
        return x, finals

    def _forward(self, x: Tensor, initial):
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first and x.ndim == 3:
            x = x.transpose(1, 0, 2)
        states = initial(x, unbatched)
        output, finals = self._run(x, states)
        if unbatched:
            output = output[:, 0]
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        return output, finals, unbatched

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


def _stacked(states: list, unbatched: bool) -> Tensor:
    result = stack(states, axis=0)
    return result[:, 0] if unbatched else result


class RNN(_RNNBase):
    """A multi-layer Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``forward(x, h_0=None) -> (output, h_n)`` with x (L, N, input_size)
    (``batch_first``: (N, L, input_size)), h_0 and h_n
    (num_layers * directions, N, hidden_size) and output (L, N, directions * hidden_size).
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        dtype=None,
        backend=None,
        device=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
            backend,
            device,
        )
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, h_0: Tensor | None = None):
        output, finals, unbatched = self._forward(
            x, lambda inputs, flat: self._initial_state(h_0, inputs, flat)
        )
        return output, _stacked(finals, unbatched)


class GRU(_RNNBase):
    """A multi-layer GRU (gates r, z, n; see the module docstring).

    ``forward(x, h_0=None) -> (output, h_n)``, shapes as for ``RNN``.

    >>> import tinygrad_edu as tg
    >>> from tinygrad_edu import nn
    >>> output, h_n = nn.GRU(1, 6, bidirectional=True, batch_first=True)(tg.zeros(100, 40, 1))
    >>> output.shape, h_n.shape
    ((100, 40, 12), (2, 100, 6))
    """

    mode = "GRU"

    def forward(self, x: Tensor, h_0: Tensor | None = None):
        output, finals, unbatched = self._forward(
            x, lambda inputs, flat: self._initial_state(h_0, inputs, flat)
        )
        return output, _stacked(finals, unbatched)


class LSTM(_RNNBase):
    """A multi-layer LSTM (gates i, f, g, o; see the module docstring).

    ``forward(x, (h_0, c_0)=None) -> (output, (h_n, c_n))``, shapes as for ``RNN``.
    """

    mode = "LSTM"

    def forward(self, x: Tensor, state=None):
        def initial(inputs, flat):
            if state is None:
                h = self._initial_state(None, inputs, flat)
                return list(zip(h, h))
            h_0, c_0 = state
            hs = self._initial_state(h_0, inputs, flat)
            cs = self._initial_state(c_0, inputs, flat)
            return list(zip(hs, cs))

        output, finals, unbatched = self._forward(x, initial)
        h_n = _stacked([h for h, _ in finals], unbatched)
        c_n = _stacked([c for _, c in finals], unbatched)
        return output, (h_n, c_n)
