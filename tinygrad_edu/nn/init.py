"""Weight initialisation, with PyTorch's formulas and argument names.

Every function fills a Tensor in place and returns it: the new values are
drawn on the host generator (``tg.manual_seed``), so one seed gives the same
numbers on every backend, and the tensor's ``.data`` is rebound (no array is
written into). dtype, backend and device are kept.

Fans differ from PyTorch in one place: our ``Linear`` weight has shape
``(in_features, out_features)`` (``z = x @ W + b``) where PyTorch's is
``(out, in)``. So for a 2-D weight ``fan_in = shape[0]`` and
``fan_out = shape[1]``; for more axes, ``(in, out, *kernel)``, both are
multiplied by the kernel size. The resulting bounds and standard deviations
equal PyTorch's for the same layer.
"""

from __future__ import annotations

import math

from .. import backend as backends
from ..tensor import Tensor

_LINEAR_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, identity, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + slope**2)) with ``param`` the slope (default 0.01);
    selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"unsupported nonlinearity {nonlinearity!r}; known: "
        f"{', '.join(_LINEAR_GAINS + ('tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight laid out ``(in, out, *kernel)``.

    fan_in = shape[0] * k and fan_out = shape[1] * k with k the product of the
    kernel axes (1 for a Linear weight).
    """
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}"
        )
    kernel = math.prod(tensor.shape[2:])
    return tensor.shape[0] * kernel, tensor.shape[1] * kernel


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill_uniform(tensor: Tensor, low: float, high: float) -> Tensor:
    tensor.data = backends.uniform(
        tensor.shape, tensor.xp, tensor.dtype, low=low, high=high, device=tensor.device
    )
    return tensor


def _fill_normal(tensor: Tensor, mean: float, std: float) -> Tensor:
    # scale in float64 on the host, then convert: identical on every backend
    host = backends.get_namespace("numpy")
    values = backends.standard_normal(tensor.shape, host, "float64") * std + mean
    values = host.astype(values, backends.resolve_dtype(host, tensor.dtype))
    tensor.data = backends.move(values, tensor.xp, tensor.device)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b)."""
    return _fill_uniform(tensor, a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std**2)."""
    return _fill_normal(tensor, mean, std)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    tensor.data = tensor.xp.full(tensor.shape, val, dtype=tensor.dtype, device=tensor.device)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill_uniform(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return _fill_normal(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He et al. (2015): U(-bound, bound) with bound = gain * sqrt(3 / fan).

    gain = ``calculate_gain(nonlinearity, a)`` (``a`` is the leaky-ReLU slope) and
    fan the fan-in or fan-out (``mode``). With a = sqrt(5) and fan_in this is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear.
    """
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor  # an empty tensor: nothing to fill
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill_uniform(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He et al. (2015): N(0, std**2) with std = gain / sqrt(fan) (see ``kaiming_uniform_``)."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    return _fill_normal(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))
