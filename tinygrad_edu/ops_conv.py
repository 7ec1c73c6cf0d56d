"""Unfold (im2col) and its adjoint Fold (col2im): the windows of a convolution as one node.

A convolution reads, for each output position l and kernel offset k, the
input at l s + k d. Unfold gathers those reads into columns,

    cols[..., l, ..., k] = x[..., l s + k d, ...],

so that the convolution is one matrix product with the weight. Its adjoint
adds every column entry back where it was read (overlapping windows sum):

    dL/dx[..., i, ...] = sum over (l, k) with l s + k d = i of g[..., l, ..., k],

which is Fold. Fold is linear too, and its adjoint is Unfold: each rule is
the other op, recorded under ``create_graph``, so second derivatives of a
convolution (Hessian-vector products) work.

Composed from K strided slices and a stack instead, the backward pass makes
K zero-filled arrays the size of the input, one per slice, and sums them;
Fold adds the K slices into one buffer. The forward on NumPy is one copy of
``sliding_window_view`` (``backend.windows``).
"""

from __future__ import annotations

from . import backend
from .function import Function


class Unfold(Function):
    """cols = windows of x (im2col, see the module docstring);  dL/dx = Fold(g)."""

    def forward(self, xp, x, kernel, stride, dilation, first):
        self.params = {"kernel": kernel, "stride": stride, "dilation": dilation, "first": first}
        return backend.windows(xp, x, kernel, stride, dilation, first)

    def backward(self, F, g, inputs, out):
        shape = tuple(inputs[0].shape)
        if F.recording:
            return (Fold.apply(g, shape=shape, **self.params),)
        return (backend.fold_windows(backend.namespace_of(g), g, shape, **self.params),)


class Fold(Function):
    """x = zeros(shape), each column entry added at its place (col2im);  dL/dcols = Unfold(g)."""

    def forward(self, xp, cols, shape, kernel, stride, dilation, first):
        self.params = {"kernel": kernel, "stride": stride, "dilation": dilation, "first": first}
        return backend.fold_windows(xp, cols, shape, kernel, stride, dilation, first)

    def backward(self, F, g, inputs, out):
        if F.recording:
            return (Unfold.apply(g, **self.params),)
        return (backend.windows(backend.namespace_of(g), g, **self.params),)


def unfold(x, kernel: tuple, stride: tuple, dilation: tuple, first: int):
    """The windows of ``x`` along axes ``first ...`` as a new last axis (see ``Unfold``)."""
    return Unfold.apply(x, kernel=kernel, stride=stride, dilation=dilation, first=first)


def fold(cols, shape: tuple, kernel: tuple, stride: tuple, dilation: tuple, first: int):
    """The adjoint of ``unfold``: ``cols`` added back into zeros of ``shape`` (see ``Fold``)."""
    return Fold.apply(
        cols, shape=tuple(shape), kernel=kernel, stride=stride, dilation=dilation, first=first
    )
