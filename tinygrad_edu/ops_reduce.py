"""More reductions and scans: ``prod``, ``cumulative_sum``, ``cumulative_prod``.

Their rules need the ops themselves (the gradient of a scan is a reversed
scan), so they are written on Tensors (``rules_on_tensors``): recorded when
``create_graph=True``, plain otherwise.
"""

from __future__ import annotations

from .function import Function, new_tensor

_op = Function.registry  # the built-in ops by name (Where, from ops.py)


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Prod(Function):
    """y = prod of x over ``axis``;  dL/dx_i = g * prod_{j != i} x_j.

    Without zeros that is ``g * y / x_i``. With one zero in a product, its
    position gets the product of the others and every other position 0; with
    two or more, every position gets 0 (as PyTorch).
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
        g = g.reshape(kept)
        zero = x.data == 0
        zeros_per_product = xp.sum(xp.astype(zero, xp.int64), axis=self.axis, keepdims=True)
        nonzero = _op["Where"].apply(new_tensor(zero), 1.0, x)
        others = Prod.apply(nonzero, axis=self.axis, keepdims=True)  # product of the non-zeros
        lone_zero = new_tensor(zero & (zeros_per_product == 1))
        no_zero = new_tensor(xp.broadcast_to(zeros_per_product == 0, x.shape))
        grad = _op["Where"].apply(
            no_zero, others / nonzero, _op["Where"].apply(lone_zero, others, 0.0)
        )
        return (g * grad,)


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


class CumProd(Function):
    """y_k = prod_{j <= k} x_j along ``axis``;  dL/dx_i = sum_{k >= i} g_k y_k / x_i.

    The rule divides by x: it is exact for inputs without zeros (a zero gives
    inf/nan in the gradient where PyTorch's is finite).
    """

    rules_on_tensors = True

    def forward(self, xp, x, axis, include_initial):
        self.axis, self.include_initial = axis, include_initial
        return xp.cumulative_prod(x, axis=axis, include_initial=include_initial)

    def backward(self, F, g, inputs, out):
        weighted = g * out
        if self.include_initial:
            weighted = _drop_initial(weighted, self.axis)
        return (_reverse_cumsum(weighted, self.axis) / inputs[0],)
