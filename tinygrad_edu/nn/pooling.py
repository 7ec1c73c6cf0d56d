"""Pooling: ``F.max_pool1d/2d``, ``F.avg_pool1d/2d``, ``F.adaptive_avg_pool1d/2d`` and modules.

Each output is a reduction over one window of the (padded) input, with the
windows taken as in the convolution (``conv.windows``, the ``Unfold`` op: one
strided slice per kernel offset, stacked on a new last axis):

* max pooling: y = max_k xpad[l s + k d], padded with -inf; the gradient goes
  to the maximum of each window (shared evenly if a window holds a tie);
* average pooling: y = (1 / K) sum_k xpad[l s + k], padded with zeros, the
  divisor K counting the padding (``count_include_pad=True``) or not;
* adaptive average pooling to n outputs: bin i averages
  x[floor(i L / n) : ceil((i + 1) L / n)], PyTorch's bins; in 2-d the bins are
  rectangles, so it is the 1-d pooling along each axis in turn.
"""

from __future__ import annotations

import math

from ..functional import stack
from ..tensor import Tensor
from .conv import as_tuple, windows
from .module import Module
from .padding import pad


def _pool_arguments(x, kernel_size, stride, padding, dilation, dims, fn_name):
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(
            f"{fn_name} needs an input of shape (N, C, {dims} spatial axes) or (C, ...), "
            f"got {x.shape}"
        )
    kernel = as_tuple(kernel_size, dims, "kernel_size")
    stride = kernel if stride is None else as_tuple(stride, dims, "stride")
    padding = as_tuple(padding, dims, "padding")
    dilation = as_tuple(dilation, dims, "dilation")
    if any(k < 1 for k in kernel) or any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{fn_name}: kernel_size, stride and dilation must be >= 1")
    if any(p < 0 or 2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{fn_name}: padding {padding} must be non-negative and at most half "
            f"the kernel {kernel}"
        )
    return kernel, stride, padding, dilation


def _pad_tuple(padding: tuple) -> tuple:
    return tuple(p for a in reversed(padding) for p in (a, a))


def max_pool(x, kernel_size, stride=None, padding=0, dilation=1, *, dims, fn_name) -> Tensor:
    """The N-dimensional max pooling behind ``max_pool1d`` and ``max_pool2d``."""
    kernel, stride, padding, dilation = _pool_arguments(
        x, kernel_size, stride, padding, dilation, dims, fn_name
    )
    if any(padding):
        x = pad(x, _pad_tuple(padding), value=-math.inf)
    return windows(x, kernel, stride, dilation).max(axis=-1)


def avg_pool(
    x, kernel_size, stride=None, padding=0, count_include_pad=True, *, dims, fn_name
) -> Tensor:
    """The N-dimensional average pooling behind ``avg_pool1d`` and ``avg_pool2d``."""
    kernel, stride, padding, dilation = _pool_arguments(
        x, kernel_size, stride, padding, 1, dims, fn_name
    )
    amounts = _pad_tuple(padding)
    if any(padding):
        x = pad(x, amounts)
    sums = windows(x, kernel, stride, dilation).sum(axis=-1)
    if count_include_pad or not any(padding):
        return sums / math.prod(kernel)
    # the number of real (unpadded) entries in each window: pool a padded array of ones
    ones = Tensor(x.xp.ones(x.shape[-dims:], dtype=x.dtype, device=x.device))
    inner = ones[tuple(slice(p, n - p) for p, n in zip(padding, ones.shape))]
    counts = windows(pad(inner, amounts), kernel, stride, dilation).sum(axis=-1)
    return sums / counts


def adaptive_avg_pool(x, output_size, *, dims, fn_name) -> Tensor:
    """The N-dimensional adaptive average pooling: PyTorch's bins along each axis."""
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(
            f"{fn_name} needs an input of shape (N, C, {dims} spatial axes) or (C, ...), "
            f"got {x.shape}"
        )
    sizes = (output_size,) * dims if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != dims:
        raise ValueError(
            f"{fn_name}: output_size must be an int or {dims} sizes, got {output_size!r}"
        )
    for number, size in enumerate(sizes):
        axis = x.ndim - dims + number
        length = x.shape[axis]
        if size is None:  # PyTorch: None keeps the input's size along that axis
            continue
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{fn_name}: output sizes must be positive ints, got {output_size!r}")
        lead = (slice(None),) * axis
        bins = []
        for i in range(size):
            start, stop = (i * length) // size, -((-(i + 1) * length) // size)
            bins.append(x[lead + (slice(start, stop),)].mean(axis=axis))
        x = stack(bins, axis=axis)
    return x


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """y[n, c, l] = max_k xpad[n, c, l s + k d]; the stride defaults to ``kernel_size``."""
    return max_pool(x, kernel_size, stride, padding, dilation, dims=1, fn_name="max_pool1d")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """``max_pool1d`` over rectangles of the last two axes."""
    return max_pool(x, kernel_size, stride, padding, dilation, dims=2, fn_name="max_pool2d")


def avg_pool1d(x, kernel_size, stride=None, padding=0, count_include_pad=True) -> Tensor:
    """y[n, c, l] = mean_k xpad[n, c, l s + k] (zero padding counted unless told otherwise)."""
    return avg_pool(
        x, kernel_size, stride, padding, count_include_pad, dims=1, fn_name="avg_pool1d"
    )


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True) -> Tensor:
    """``avg_pool1d`` over rectangles of the last two axes."""
    return avg_pool(
        x, kernel_size, stride, padding, count_include_pad, dims=2, fn_name="avg_pool2d"
    )


def adaptive_avg_pool1d(x, output_size) -> Tensor:
    """Average pooling to ``output_size`` positions: bin i is x[floor(iL/n) : ceil((i+1)L/n)]."""
    return adaptive_avg_pool(x, output_size, dims=1, fn_name="adaptive_avg_pool1d")


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """``adaptive_avg_pool1d`` along each of the last two axes (``output_size`` int or pair)."""
    return adaptive_avg_pool(x, output_size, dims=2, fn_name="adaptive_avg_pool2d")


# ----------------------------------------------------------------- modules
class _MaxPool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = (
            kernel_size,
            stride,
            padding,
            dilation,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )


class MaxPool1d(_MaxPool):
    """``F.max_pool1d`` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class MaxPool2d(_MaxPool):
    """``F.max_pool2d`` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class _AvgPool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPool):
    """``F.avg_pool1d`` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)


class AvgPool2d(_AvgPool):
    """``F.avg_pool2d`` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)


class _AdaptiveAvgPool(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """``F.adaptive_avg_pool1d`` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool1d(x, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """``F.adaptive_avg_pool2d`` as a layer."""

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)
