"""More reductions and scans: ``prod``, ``cumulative_sum``, ``cumulative_prod``.

Their rules need the ops themselves (the gradient of a scan is a reversed
scan), so they are written on Tensors (``rules_on_tensors``): recorded when
``create_graph=True``, plain otherwise.
"""

from __future__ import annotations

from . import backend
from .function import Function, new_tensor

_op = Function.registry  # the built-in ops by name (Concat, Permute from ops.py, Flip)


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Prod(Function):
    """y = prod of x over ``axis``;  dL/dx_i = g * prod_{j != i} x_j.

    Without zeros that is ``g * y / x_i``. Where x has a zero, the products of
    the others are the exclusive running products from the left times those
    from the right (two ``cumulative_prod``s), as PyTorch: exact at any number
    of zeros, and differentiable again (the scans' rules handle zeros too).
    """

    rules_on_tensors = True

    def forward(self, xp, x, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims
        return xp.prod(x, axis=axis, keepdims=keepdims)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        xp = x.xp
        if type(g.data) is not type(x.data):  # a NumPy scalar for a 0-d output (plain pass)
            g = new_tensor(xp.asarray(g.data))
        kept = _keepdims_shape(x.shape, self.axis)
        if backend.all_nonzero(xp, x.data):
            return (g.reshape(kept) * out.reshape(kept) / x,)
        return (g.reshape(kept) * _products_of_others(x, self.axis),)


def _products_of_others(x, axes):
    """``prod_{j != i} x_j`` over ``axes`` at every i, without dividing: the reduced axes
    are moved last and merged, and the product of the entries before i (an exclusive
    running product) multiplies that of the entries after i (the same, reversed)."""
    kept_axes = [a for a in range(x.ndim) if a not in axes]
    order = tuple(kept_axes) + tuple(axes)
    moved = _op["Permute"].apply(x, axes=order) if order != tuple(range(x.ndim)) else x
    flat = moved.reshape(moved.shape[: len(kept_axes)] + (-1,))
    last = flat.ndim - 1
    before = CumProd.apply(flat, axis=last, include_initial=True)[..., :-1]
    reversed_flat = _op["Flip"].apply(flat, axes=(last,))
    after = CumProd.apply(reversed_flat, axis=last, include_initial=True)[..., :-1]
    others = (before * _op["Flip"].apply(after, axes=(last,))).reshape(moved.shape)
    if moved is x:
        return others
    inverse = tuple(sorted(range(x.ndim), key=order.__getitem__))
    return _op["Permute"].apply(others, axes=inverse)


def _reverse_cumsum(g, axis):
    """sum_{k >= i} g_k along ``axis`` = total - cumsum + g."""
    return g.sum(axis=axis, keepdims=True) - CumSum.apply(g, axis=axis, include_initial=False) + g


def _drop_initial(g, axis):
    return g[(slice(None),) * axis + (slice(1, None),)]


class CumSum(Function):
    """y_k = sum_{j <= k} x_j along ``axis`` (``include_initial``: y_0 = 0 first, y_k = sum_{j<k});
    dL/dx_i = sum_{k >= i} g_k, a reversed cumulative sum."""

    rules_on_tensors = True

    def forward(self, xp, x, axis, include_initial):
        self.axis, self.include_initial = axis, include_initial
        return xp.cumulative_sum(x, axis=axis, include_initial=include_initial)

    def backward(self, F, g, inputs, out):
        if self.include_initial:
            g = _drop_initial(g, self.axis)
        return (_reverse_cumsum(g, self.axis),)


def _along(axis, start, stop):
    return (slice(None),) * axis + (slice(start, stop), Ellipsis)


def _reverse_linear_scan(a, b, axis):
    """``s_i = a_i + b_i * s_{i+1}`` along ``axis`` (``s`` past the end is 0).

    A Hillis-Steele scan in ``log2(n)`` steps of Tensor ops: after the step of
    ``shift``, ``s_i = a_i + b_i * s_{i+shift}``, and two such steps compose.
    Only products and sums: exact where ``b`` has zeros, and differentiable again.
    """
    n = a.shape[axis]
    shift = 1
    while shift < n:
        head, tail, rest = (
            _along(axis, 0, n - shift),
            _along(axis, shift, n),
            _along(axis, n - shift, n),
        )
        a = _op["Concat"].apply(a[head] + b[head] * a[tail], a[rest], axis=axis)
        if 2 * shift < n:
            b = _op["Concat"].apply(b[head] * b[tail], b[rest], axis=axis)
        shift *= 2
    return a


class CumProd(Function):
    """y_k = prod_{j <= k} x_j along ``axis``;
    dL/dx_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j.

    Without zeros that is ``sum_{k >= i} g_k y_k / x_i`` (a reversed cumulative
    sum). Where x has a zero, ``dL/dx_i = (prod_{j < i} x_j) s_i`` with
    ``s_i = g_i + x_{i+1} s_{i+1}``, a linear scan without division: exact at
    zeros as PyTorch's, and differentiable again.
    """

    rules_on_tensors = True

    def forward(self, xp, x, axis, include_initial):
        self.axis, self.include_initial = axis, include_initial
        dtype = backend.product_dtype(xp, x)  # integers: as the backend's prod (JAX keeps int8)
        return xp.cumulative_prod(x, axis=axis, include_initial=include_initial, dtype=dtype)

    def backward(self, F, g, inputs, out):
        x, axis = inputs[0], self.axis
        n = x.shape[axis]
        if self.include_initial:
            g = _drop_initial(g, axis)
        if backend.all_nonzero(x.xp, x.data):
            products = _drop_initial(out, axis) if self.include_initial else out
            return (_reverse_cumsum(g * products, axis) / x,)
        if self.include_initial:
            before = out[_along(axis, 0, n)]  # prod_{j < i} x_j
        else:
            ones = x.xp.ones_like(x.data[_along(axis, 0, 1)])
            before = _op["Concat"].apply(new_tensor(ones), out[_along(axis, 0, n - 1)], axis=axis)
        # b_i = x_{i+1}; the scan never reads the last entry (past the end), any value does
        following = _op["Concat"].apply(x[_along(axis, 1, n)], x[_along(axis, n - 1, n)], axis=axis)
        return (before * _reverse_linear_scan(g, following, axis),)
