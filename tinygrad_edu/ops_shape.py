"""More shape primitives: ``take_along_axis`` (gather), its adjoint, ``flip``, ``x[index] = v``.

Everything else of this kind (roll, tile, repeat, tril, sort values,
take, ...) is composed from indexing, reshapes and these, in
``tensor_methods.py`` and the Array-API namespace. Index arrays are raw
backend arrays (they have no gradient).
"""

from __future__ import annotations

from . import backend
from .function import Function


class TakeAlongAxis(Function):
    """y[..., j, ...] = x[..., indices[..., j, ...], ...] along ``axis``;
    dL/dx = zeros like x with g added at the indexed positions (repeats summed)."""

    def forward(self, xp, x, indices, axis):
        self.axis = axis
        return xp.take_along_axis(x, indices, axis=axis)

    def backward(self, F, g, inputs, out):
        x, indices = inputs
        return F.scatter_add_along_axis(g, indices, tuple(x.shape), self.axis), None


class ScatterAddAlongAxis(Function):
    """y = zeros(shape) with y[..., indices[..., j, ...], ...] += v[..., j, ...] along ``axis``;
    dL/dv = take_along_axis(g, indices, axis) (the adjoint of ``TakeAlongAxis``)."""

    def forward(self, xp, values, indices, shape, axis):
        self.axis = axis
        return backend.scatter_add_along_axis(xp, values, indices, shape, axis)

    def backward(self, F, g, inputs, out):
        return F.take_along_axis(g, inputs[1], self.axis), None  # indices: a raw array


class Flip(Function):
    """y = x reversed along ``axes``;  dL/dx = g reversed along ``axes``.

    A primitive rather than ``x[::-1]``: PyTorch refuses negative slice steps."""

    def forward(self, xp, x, axes):
        self.axes = axes
        return xp.flip(x, axis=axes)

    def backward(self, F, g, inputs, out):
        return (F.flip(g, self.axes),)


class SetItem(Function):
    """y = x with y[index] = v;  dL/dx = g with 0 at ``index``,  dL/dv = g[index]
    (summed back to v's shape where v was broadcast)."""

    def forward(self, xp, x, value, index):
        self.index = index
        if not hasattr(value, "dtype"):
            value = backend.as_array(xp, value, x)
        elif value.dtype != x.dtype:
            value = xp.astype(value, x.dtype)
        return backend.setitem(xp, x, index, value)

    def backward(self, F, g, inputs, out):
        needs_x, needs_v = self.needs_input_grad
        grad_x = F.setitem(g, self.index, 0.0) if needs_x else None
        grad_v = F.getitem(g, self.index) if needs_v else None
        return grad_x, grad_v
