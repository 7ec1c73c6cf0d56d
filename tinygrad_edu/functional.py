"""Composite operations, built only from the primitives in ``ops.py``.

Their gradients follow from the chain rule through those primitives, so none
of them has a backward of its own. Each docstring states the math.
"""

from __future__ import annotations

import math

from . import backend, fused, ops
from .tensor import Tensor, normalize_axes


def _count(x: Tensor, axis) -> int:
    return math.prod(x.shape[a] for a in normalize_axes(axis, x.ndim))


def mean(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """mean(x) = sum(x) / n over ``axis``.

    float16 sums and counts overflow past 65,504: they are computed in float32
    and the mean is converted back.
    """
    if backend.dtype_name(x.dtype) == "float16":
        return mean(x.astype("float32"), axis, keepdims).astype(x.dtype)
    return x.sum(axis=axis, keepdims=keepdims) / _count(x, axis)


def min(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """min(x) over ``axis`` (see ``ops.Min``)."""
    return ops.Min.apply(x, axis=normalize_axes(axis, x.ndim), keepdims=keepdims)


def var(x: Tensor, axis=None, correction=0, keepdims=False) -> Tensor:
    """var(x) = sum((x - mean(x))**2) / (n - correction); NaN where n - correction <= 0."""
    centered = x - x.mean(axis=axis, keepdims=True)
    squares = (centered * centered).sum(axis=axis, keepdims=keepdims)
    degrees_of_freedom = _count(x, axis) - correction
    if degrees_of_freedom <= 0:  # as the standard says (PyTorch gives inf)
        return squares * math.nan
    return squares / degrees_of_freedom


def std(x: Tensor, axis=None, correction=0, keepdims=False) -> Tensor:
    """std(x) = sqrt(var(x)), with gradient 0 where std = 0 (a constant slice, as PyTorch).

    sqrt's derivative 1 / (2 sqrt(v)) is infinite at v = 0, and there var's own
    gradient is 0: the product would be NaN. Where v = 0 the root is taken of
    a stand-in 1 instead, and the result replaced by 0, so no gradient flows.
    """
    v = var(x, axis, correction, keepdims)
    nonzero = v.data != 0  # NaN (no degrees of freedom) is kept
    root = ops.where(nonzero, v, 1.0).sqrt()
    return ops.where(nonzero, root, 0.0)


def logsumexp(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, without overflow (see ``ops.LogSumExp``)."""
    return x.logsumexp(axis=axis, keepdims=keepdims)


def log_softmax(x: Tensor, axis=-1) -> Tensor:
    """log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m)), m = max x.

    Written with the shift first: ``x - (m + log sum)`` loses digits of a large
    m in float32. m is a constant (the result does not depend on it), so the
    gradient is that of ``x - logsumexp(x)``. A +inf or an all -inf slice gives
    NaN, as in PyTorch.
    """
    if x.ndim == 0:
        return log_softmax(x.reshape((1,)), 0).reshape(())
    axis = normalize_axes(axis, x.ndim)[0]
    if x.shape[axis] == 0:
        return x * 1.0  # nothing to normalise: the empty result
    shifted = x - x.detach().max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(x: Tensor, axis=-1) -> Tensor:
    """softmax(x)_i = exp(x_i - logsumexp(x)), one fused node (see ``fused.Softmax``)."""
    return fused.softmax(x, axis)


def maximum(a, b) -> Tensor:
    """Elementwise max(a, b); ties share the gradient evenly (like PyTorch)."""
    return ops.Maximum.apply(_tensor_or_scalar(a), _tensor_or_scalar(b))


def minimum(a, b) -> Tensor:
    """Elementwise min(a, b); ties share the gradient evenly (like PyTorch)."""
    return ops.Minimum.apply(_tensor_or_scalar(a), _tensor_or_scalar(b))


where = ops.where


def leaky_relu(x: Tensor, negative_slope=0.01) -> Tensor:
    """x for x > 0, else negative_slope * x."""
    return ops.where(x > 0, x, x * negative_slope)


def elu(x: Tensor, alpha=1.0) -> Tensor:
    """x for x > 0, else alpha * (exp(x) - 1); exp only sees the non-positive part."""
    negative_part = ops.where(x > 0, 0.0, x)
    return ops.where(x > 0, x, alpha * (negative_part.exp() - 1.0))


def gelu(x: Tensor) -> Tensor:
    """gelu(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))  (exact, PyTorch's default)."""
    return 0.5 * x * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softplus(x: Tensor) -> Tensor:
    return x.softplus()


def flatten(x: Tensor, start_axis=0) -> Tensor:
    """Merge the axes from ``start_axis`` on into one."""
    start = normalize_axes(start_axis, x.ndim)[0] if x.ndim else 0
    return x.reshape(x.shape[:start] + (-1,))


def squeeze(x: Tensor, axis=None) -> Tensor:
    """Drop axes of length 1 (all of them when ``axis`` is None)."""
    axes = normalize_axes(axis, x.ndim)
    if axis is None:
        axes = tuple(a for a in axes if x.shape[a] == 1)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a} of length {x.shape[a]} in shape {x.shape}")
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """Insert an axis of length 1 at position ``axis`` (negative counts from the end)."""
    if not -(x.ndim + 1) <= axis <= x.ndim:
        raise ValueError(f"axis {axis} is out of range for unsqueeze of shape {x.shape}")
    axis = axis % (x.ndim + 1)
    return x.reshape(x.shape[:axis] + (1,) + x.shape[axis:])


def concat(tensors, axis=0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    ndim = tensors[0].ndim
    axis = normalize_axes(axis, ndim)[0]
    for t in tensors:
        if t.ndim != ndim or any(
            t.shape[i] != tensors[0].shape[i] for i in range(ndim) if i != axis
        ):
            raise ValueError(
                f"concat along axis {axis} needs matching shapes elsewhere, got "
                f"{[t.shape for t in tensors]}"
            )
    return ops.Concat.apply(*tensors, axis=axis)


def stack(tensors, axis=0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {[t.shape for t in tensors]}")
    return concat([t.unsqueeze(axis) for t in tensors], axis=axis)


def _tensor_or_scalar(value):
    return value if isinstance(value, (Tensor, bool, int, float)) else Tensor(value)
