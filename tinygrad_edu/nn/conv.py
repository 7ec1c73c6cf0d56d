"""Convolutions: ``F.conv1d/conv2d``, ``F.conv_transpose1d/2d`` and their modules.

A convolution (PyTorch's cross-correlation) of x (N, C, L) with a weight
W (O, C/G, K) is a sum over the channels of the output's group and the kernel:

    y[n, o, l] = b[o] + sum_{c, k} W[o, c, k] * xpad[n, g(o) C/G + c, l s + k d]

with stride s, dilation d and zero padding. It is computed here the im2col
way: the ``Unfold`` op (``ops_conv.py``) gathers the columns (N, L_out, C K),
one strided slice of the padded input per kernel offset k
(``xpad[..., k d : k d + s (L_out - 1) + 1 : s]``) stacked, and one matrix
product with the weight reshaped to (C K, O) does the rest. The gradient:
Unfold's adjoint ``Fold`` adds each column entry back where it was read,
which sums to the convolution of the upstream gradient with the flipped
kernel, dL/dx[n, c, i] = sum_{o, k} W[o, c, k] g[n, o, (i - k d) / s], and
dL/dW[o, c, k] = sum_{n, l} g[n, o, l] xpad[n, c, l s + k d]. Fold's
gradient is Unfold, each recorded under ``create_graph``, so second
derivatives (Hessian-vector products) work.

A transposed convolution is the adjoint of a convolution: the input spread
out with s - 1 zeros between its entries, padded with d (K - 1) - p zeros,
and convolved with the kernel flipped and its in and out channels swapped.
"""

from __future__ import annotations

import math

from ..backend import window_counts
from ..creation import zeros
from ..functional import stack
from ..fused import linear
from ..ops_conv import unfold
from ..tensor import Tensor
from . import init
from .module import Module, Parameter
from .padding import pad, taken


def as_tuple(value, dims: int, name: str) -> tuple:
    """An int or a tuple of ``dims`` ints as a tuple of ``dims`` ints."""
    values = (value,) * dims if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(values, (tuple, list))
        or len(values) != dims
        or any(isinstance(v, bool) or not isinstance(v, int) for v in values)
    ):
        raise ValueError(f"{name} must be an int or a tuple of {dims} ints, got {value!r}")
    return tuple(values)


def windows(x: Tensor, kernel: tuple, stride: tuple, dilation: tuple, first: int = -1) -> Tensor:
    """Every window of an (already padded) input, as a new last axis.

    The spatial axes are the last ``len(kernel)`` ones, or start at axis
    ``first``: (N, C, *spatial) gives (N, C, *out, prod(kernel)) and, with
    first = 1, a channels-last (N, *spatial, C) gives (N, *out, C, prod(kernel)).
    Window entry k of output position l along an axis is x[l s + k d]: the
    ``Unfold`` op (im2col; its gradient, ``Fold``, adds each entry back).
    """
    dims = len(kernel)
    first = x.ndim - dims if first < 0 else first
    spatial = x.shape[first : first + dims]
    if any(n < 1 for n in window_counts(spatial, kernel, stride, dilation)):
        raise ValueError(
            f"the kernel {kernel} with dilation {dilation} does not fit in the padded input "
            f"of spatial size {spatial}"
        )
    return unfold(x, kernel, stride, dilation, first)


def _conv_padding(padding, kernel: tuple, dilation: tuple, stride: tuple, fn_name: str) -> tuple:
    """PyTorch's pad tuple (last axis first) for ``padding`` = int, tuple, "valid" or "same"."""
    dims = len(kernel)
    if padding == "valid":
        return (0,) * (2 * dims)
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ValueError(f"{fn_name}: padding='same' needs stride 1, got stride {stride}")
        amounts = []
        for k, d in zip(reversed(kernel), reversed(dilation)):
            total = d * (k - 1)
            amounts += [total // 2, total - total // 2]  # the odd one on the right, as PyTorch
        return tuple(amounts)
    if isinstance(padding, str):
        raise ValueError(
            f"{fn_name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}"
        )
    amounts = as_tuple(padding, dims, "padding")
    if any(p < 0 for p in amounts):
        raise ValueError(f"{fn_name}: padding must be non-negative, got {padding}")
    return tuple(p for a in reversed(amounts) for p in (a, a))


def _batched(x: Tensor, dims: int, fn_name: str):
    """``x`` with a batch axis (given one for an unbatched (C, *spatial) input), and if added."""
    if x.ndim == dims + 1:
        return x.unsqueeze(0), True
    if x.ndim != dims + 2:
        raise ValueError(
            f"{fn_name} needs an input of shape (N, C, {dims} spatial axes) or (C, ...), "
            f"got {x.shape}"
        )
    return x, False


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, dims, fn_name):
    """The N-dimensional convolution behind ``conv1d`` and ``conv2d`` (see the module docstring)."""
    x, unbatched = _batched(x, dims, fn_name)
    if weight.ndim != dims + 2:
        raise ValueError(
            f"{fn_name} needs a weight of shape (out, in/groups, {dims} kernel axes), "
            f"got {weight.shape}"
        )
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{fn_name}: groups must be a positive int, got {groups!r}")
    out_channels, group_in = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    channels = x.shape[1]
    if group_in * groups != channels or out_channels % groups:
        raise ValueError(
            f"{fn_name}: an input with {channels} channels and groups={groups} needs a weight "
            f"of shape ({out_channels} divisible by {groups}, {channels // groups}, ...), "
            f"got {weight.shape}"
        )
    stride = as_tuple(stride, dims, "stride")
    dilation = as_tuple(dilation, dims, "dilation")
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{fn_name}: stride and dilation must be >= 1, got {stride}, {dilation}")
    amounts = _conv_padding(padding, kernel, dilation, stride, fn_name)
    if any(amounts):
        x = pad(x, amounts)
    # Channels last first, so that the stacked windows (N, *out, C, K) are already
    # the rows of the column matrix: a reshape, not a transposed copy K times the
    # input's size. Measured (forward + backward, NumPy float32, 1 thread, best of 7,
    # interleaved): the MNIST-1D CNN's second layer on a batch of 100 1.26 -> 1.00 ms,
    # on 4000 examples 206 -> 180 ms.
    channels_last = x.transpose((0,) + tuple(range(2, 2 + dims)) + (1,))
    cols = windows(channels_last, kernel, stride, dilation, first=1)  # (N, *out, C, K)
    batch, out = x.shape[0], cols.shape[1 : 1 + dims]
    rows = batch * math.prod(out)
    taps = math.prod(kernel)
    if groups == 1:  # one matrix product (N P, C K) @ (C K, O), bias in the same node
        y = linear(cols.reshape(rows, channels * taps), weight.reshape(out_channels, -1).T, bias)
    else:  # (N P, G, C/G K) -> (G, N P, C/G K) @ (G, C/G K, O/G) -> (N P, O)
        group_out = out_channels // groups
        cols = cols.reshape(rows, groups, group_in * taps).transpose(1, 0, 2)
        w = weight.reshape(groups, group_out, group_in * taps).transpose(0, 2, 1)
        y = (cols @ w).transpose(1, 0, 2).reshape(rows, out_channels)
        if bias is not None:
            y = y + bias
    y = y.reshape((batch,) + out + (out_channels,))
    y = y.transpose((0, dims + 1) + tuple(range(1, dims + 1)))  # (N, O, *out)
    return y[0] if unbatched else y


def conv_transpose(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    dims,
    fn_name,
):
    """The N-dimensional transposed convolution (the adjoint of ``conv`` in its input).

    weight (in, out/groups, *kernel); output length (L - 1) s - 2 p + d (K - 1) + op + 1.
    """
    x, unbatched = _batched(x, dims, fn_name)
    if weight.ndim != dims + 2:
        raise ValueError(
            f"{fn_name} needs a weight of shape (in, out/groups, {dims} kernel axes), "
            f"got {weight.shape}"
        )
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{fn_name}: groups must be a positive int, got {groups!r}")
    in_channels, group_out = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if x.shape[1] != in_channels or in_channels % groups:
        raise ValueError(
            f"{fn_name}: a weight of shape {weight.shape} with groups={groups} needs an input "
            f"with {in_channels} channels (divisible by groups), got {x.shape}"
        )
    stride = as_tuple(stride, dims, "stride")
    dilation = as_tuple(dilation, dims, "dilation")
    padding = as_tuple(padding, dims, "padding")
    output_padding = as_tuple(output_padding, dims, "output_padding")
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation) or any(p < 0 for p in padding):
        raise ValueError(
            f"{fn_name}: stride and dilation must be >= 1 and padding >= 0, "
            f"got {stride}, {dilation}, {padding}"
        )
    if any(op >= max(s, d) or op < 0 for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{fn_name}: output_padding {output_padding} must be smaller than stride or dilation"
        )
    spatial_start = x.ndim - dims
    for axis, s in enumerate(stride):
        if s > 1:
            x = _spread(x, spatial_start + axis, s)
    amounts = []
    for k, d, p, op in zip(
        reversed(kernel), reversed(dilation), reversed(padding), reversed(output_padding)
    ):
        edge = d * (k - 1) - p
        amounts += [edge, edge + op]
    x = pad(x, tuple(amounts))  # negative amounts crop
    # (in, out/G, *K) -> (G, in/G, out/G, *K) -> (G, out/G, in/G, *K), kernel flipped
    group_in = in_channels // groups
    w = weight.reshape((groups, group_in, group_out) + kernel)
    w = w.transpose((0, 2, 1) + tuple(range(3, 3 + dims)))
    w = w.reshape((groups * group_out, group_in) + kernel)
    for axis in range(2, 2 + dims):
        w = taken(w, axis, range(w.shape[axis] - 1, -1, -1))
    y = conv(x, w, bias, 1, 0, dilation, groups, dims=dims, fn_name=fn_name)
    return y[0] if unbatched else y


def _spread(x: Tensor, axis: int, s: int) -> Tensor:
    """s - 1 zeros between neighbours along ``axis``: length n becomes (n - 1) s + 1."""
    n = x.shape[axis]
    filler = Tensor(x.xp.zeros(x.shape, dtype=x.dtype, device=x.device))
    spread = stack([x] + [filler] * (s - 1), axis=axis + 1)
    spread = spread.reshape(x.shape[:axis] + (n * s,) + x.shape[axis + 1 :])
    return spread[(slice(None),) * axis + (slice(0, (n - 1) * s + 1),)]


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-d convolution of x (N, C, L) with weight (O, C/groups, K): y (N, O, L_out).

    L_out = (L + 2 p - d (K - 1) - 1) // s + 1; ``padding`` is an int, "valid"
    (0) or "same" (L_out = L, stride 1). See the module docstring for the sum.
    """
    return conv(x, weight, bias, stride, padding, dilation, groups, dims=1, fn_name="conv1d")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-d convolution of x (N, C, H, W) with weight (O, C/groups, KH, KW): y (N, O, H_out, W_out).

    Each spatial axis as in ``conv1d``; stride, padding and dilation are ints or pairs.
    """
    return conv(x, weight, bias, stride, padding, dilation, groups, dims=2, fn_name="conv2d")


def conv_transpose1d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 1-d convolution, weight (C_in, O/groups, K): the adjoint of ``conv1d``.

    L_out = (L - 1) s - 2 p + d (K - 1) + output_padding + 1.
    """
    return conv_transpose(
        x,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        dims=1,
        fn_name="conv_transpose1d",
    )


def conv_transpose2d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 2-d convolution, weight (C_in, O/groups, KH, KW): the adjoint of ``conv2d``."""
    return conv_transpose(
        x,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        dims=2,
        fn_name="conv_transpose2d",
    )


# ----------------------------------------------------------------- modules
class _ConvNd(Module):
    dims = 0
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        dtype=None,
        backend=None,
        device=None,
        output_padding=0,
    ):
        super().__init__()
        name = type(self).__name__
        for label, size in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{name}: {label} must be a positive int, got {size!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} and out_channels {out_channels} "
                f"must both be divisible by groups {groups}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_tuple(kernel_size, self.dims, "kernel_size")
        self.stride = as_tuple(stride, self.dims, "stride")
        self.dilation = as_tuple(dilation, self.dims, "dilation")
        self.padding = (
            padding if isinstance(padding, str) else as_tuple(padding, self.dims, "padding")
        )
        self.output_padding = as_tuple(output_padding, self.dims, "output_padding")
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        where = {"dtype": dtype, "backend": backend, "device": device}
        self.weight = Parameter(zeros(*shape, **where))
        if bias:
            self.bias = Parameter(zeros(out_channels, **where))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, PyTorch's default.

        fan_in = weight.shape[1] * prod(kernel_size) (PyTorch's
        ``kaiming_uniform_(a=sqrt(5))`` for the weight).
        """
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """``F.conv1d`` with a learnable weight (out, in/groups, K) and bias (out,).

    PyTorch's layout and initialisation: a ``torch.nn.Conv1d`` state dict loads as it is.

    >>> import tinygrad_edu as tg
    >>> from tinygrad_edu import nn
    >>> nn.Conv1d(1, 25, 5, stride=2, padding=1)(tg.zeros(100, 1, 40)).shape
    (100, 25, 19)
    """

    dims = 1

    def forward(self, x: Tensor) -> Tensor:
        return conv1d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class Conv2d(_ConvNd):
    """``F.conv2d`` with a learnable weight (out, in/groups, KH, KW) and bias (out,).

    PyTorch's layout and initialisation: a ``torch.nn.Conv2d`` state dict loads as it is.
    """

    dims = 2

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class _ConvTransposeNd(_ConvNd):
    """The transposed modules: PyTorch's argument order (output_padding before groups)."""

    transposed = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
            backend,
            device,
            output_padding,
        )

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
            dims=self.dims,
            fn_name=f"conv_transpose{self.dims}d",
        )


class ConvTranspose1d(_ConvTransposeNd):
    """``F.conv_transpose1d`` with a learnable weight (in, out/groups, K) and bias (out,)."""

    dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """``F.conv_transpose2d`` with a learnable weight (in, out/groups, KH, KW) and bias (out,)."""

    dims = 2
