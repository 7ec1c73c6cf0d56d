"""The primitive operations: forward and backward side by side.

Each class computes ``y = f(x, ...)`` on raw arrays in ``forward`` and, in
``backward``, turns ``g = dL/dy`` into ``dL/dx`` for each input using Tensor
operations (so that second derivatives come for free). The docstring of each
op states the derivative it implements. Gradients come back in the shape of
the output; the engine un-broadcasts them to each input's shape.

Everything else (mean, softmax, var, gelu, ...) is composed from these in
``functional.py``.
"""

from __future__ import annotations

import math

from . import backend
from .tensor import Function, Tensor, unbroadcast


def _const(xp, array) -> Tensor:
    """A constant (non-differentiable) Tensor around an array.

    ``xp.asarray`` turns the NumPy scalars that 0-d expressions give back into
    0-d arrays (a no-op for arrays).
    """
    return Tensor._wrap(xp.asarray(array), False)


def _as_array(xp, value, like):
    """A Python scalar as a 0-d array of ``like``'s dtype and device."""
    if isinstance(value, (bool, int, float)):
        return xp.asarray(value, dtype=like.dtype, device=backend.device_of(like))
    return value


# ----------------------------------------------------------------- arithmetic
class Add(Function):
    """y = a + b;  dL/da = g,  dL/db = g."""

    def forward(self, xp, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  dL/da = g,  dL/db = -g."""

    def forward(self, xp, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dL/da = g * b,  dL/db = g * a."""

    def forward(self, xp, a, b):
        return a * b

    def backward(self, g):
        a, b = self.parents
        needs_a, needs_b = self.needs_input_grad
        return (g * b if needs_a else None), (g * a if needs_b else None)


class Div(Function):
    """y = a / b;  dL/da = g / b,  dL/db = -g * a / b**2."""

    def forward(self, xp, a, b):
        return a / b

    def backward(self, g):
        a, b = self.parents
        needs_a, needs_b = self.needs_input_grad
        return (g / b if needs_a else None), (-g * a / (b * b) if needs_b else None)


class Pow(Function):
    """y = a ** b;  dL/da = g * b * a**(b-1),  dL/db = g * y * log(a).

    As in PyTorch, dL/db is 0 where a == 0 and b >= 0 (the limit of y*log(a)),
    and dL/da is 0 for a constant exponent b == 0.
    """

    def forward(self, xp, a, b):
        return a**b

    def backward(self, g):
        a, b = self.parents
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad_b = None
        if needs_a:
            grad_a = g * 0.0 if (not isinstance(b, Tensor) and b == 0) else g * b * a ** (b - 1)
        if needs_b:
            if isinstance(a, Tensor):
                zero_limit = _const(a.xp, (a.data == 0) & (b.data >= 0))
                safe_a = where(zero_limit, 1.0, a)
                grad_b = g * self.output * safe_a.log()
            else:
                grad_b = g * self.output * math.log(a)
        return grad_a, grad_b


class MatMul(Function):
    """y = a @ b;  dL/da = g @ b^T,  dL/db = a^T @ g (batched, 1-D aware).

    A 1-D ``a`` acts as a row vector (1, k) and a 1-D ``b`` as a column
    (k, 1); the gradient drops those axes again. Batch axes are broadcast
    and summed back by the engine.
    """

    def forward(self, xp, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
        k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(
                f"matmul shapes {tuple(a.shape)} and {tuple(b.shape)} do not match: "
                f"{k_a} (last axis of the first) != {k_b} (the second's "
                f"{'only' if b.ndim == 1 else 'second-to-last'} axis)"
            )
        try:
            return xp.matmul(a, b)
        except (ValueError, RuntimeError, TypeError) as err:
            raise ValueError(
                f"matmul cannot broadcast shapes {tuple(a.shape)} and {tuple(b.shape)}: {err}"
            ) from None

    def backward(self, g):
        a, b = self.parents
        needs_a, needs_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if needs_a else None), (g * a if needs_b else None)
        a_mat = a.reshape(1, -1) if a.ndim == 1 else a
        b_mat = b.reshape(-1, 1) if b.ndim == 1 else b
        g_mat = g.unsqueeze(-2) if a.ndim == 1 else (g.unsqueeze(-1) if b.ndim == 1 else g)
        grad_a = grad_b = None
        if needs_a:
            grad_a = g_mat @ b_mat.mT
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + (grad_a.shape[-1],))
        if needs_b:
            grad_b = a_mat.mT @ g_mat
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    def forward(self, xp, a, b):
        like = a if hasattr(a, "dtype") else b
        return xp.maximum(_as_array(xp, a, like), _as_array(xp, b, like))

    def backward(self, g):
        a, b = self.parents
        xp = g.xp
        a_data = a.data if isinstance(a, Tensor) else a
        b_data = b.data if isinstance(b, Tensor) else b
        share_a = xp.astype(a_data > b_data, g.dtype) + 0.5 * xp.astype(a_data == b_data, g.dtype)
        needs_a, needs_b = self.needs_input_grad
        return (g * _const(xp, share_a) if needs_a else None), (
            g * _const(xp, 1.0 - share_a) if needs_b else None
        )


class Where(Function):
    """y = where(cond, a, b);  dL/da = where(cond, g, 0),  dL/db = where(cond, 0, g)."""

    def forward(self, xp, cond, a, b):
        like = a if hasattr(a, "dtype") else b
        if not hasattr(like, "dtype"):
            raise TypeError("where needs at least one tensor among its two value arguments")
        return xp.where(cond, _as_array(xp, a, like), _as_array(xp, b, like))

    def backward(self, g):
        cond = self.parents[0]
        _, needs_a, needs_b = self.needs_input_grad
        return (
            None,
            where(cond, g, 0.0) if needs_a else None,
            where(cond, 0.0, g) if needs_b else None,
        )


def where(cond, a, b) -> Tensor:
    """Elementwise ``a`` where ``cond`` is true, else ``b`` (differentiable in a, b)."""
    if not isinstance(cond, Tensor):
        cond = Tensor(cond)
    a = a if isinstance(a, (Tensor, bool, int, float)) else Tensor(a)
    b = b if isinstance(b, (Tensor, bool, int, float)) else Tensor(b)
    return Where.apply(cond, a, b)


# ----------------------------------------------------------------- elementwise
class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, xp, x):
        return -x

    def backward(self, g):
        return (-g,)


class Exp(Function):
    """y = exp(x);  dL/dx = g * y."""

    def forward(self, xp, x):
        return xp.exp(x)

    def backward(self, g):
        return (g * self.output,)


class Log(Function):
    """y = log(x);  dL/dx = g / x."""

    def forward(self, xp, x):
        return xp.log(x)

    def backward(self, g):
        return (g / self.parents[0],)


class Sqrt(Function):
    """y = sqrt(x);  dL/dx = g / (2 y)."""

    def forward(self, xp, x):
        return xp.sqrt(x)

    def backward(self, g):
        return (g / (2.0 * self.output),)


class Abs(Function):
    """y = |x|;  dL/dx = g * sign(x)  (0 at x = 0, like PyTorch)."""

    def forward(self, xp, x):
        return xp.abs(x)

    def backward(self, g):
        x = self.parents[0]
        return (g * _const(x.xp, x.xp.sign(x.data)),)


class Sin(Function):
    """y = sin(x);  dL/dx = g * cos(x)."""

    def forward(self, xp, x):
        return xp.sin(x)

    def backward(self, g):
        return (g * self.parents[0].cos(),)


class Cos(Function):
    """y = cos(x);  dL/dx = -g * sin(x)."""

    def forward(self, xp, x):
        return xp.cos(x)

    def backward(self, g):
        return (-g * self.parents[0].sin(),)


class Tanh(Function):
    """y = tanh(x);  dL/dx = g * (1 - y**2)."""

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, g):
        y = self.output
        return (g * (1.0 - y * y),)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y).

    Computed from ``e = exp(-|x|) <= 1`` as ``1/(1+e)`` for x >= 0 and
    ``e/(1+e)`` for x < 0, so no exponential overflows for any x.
    """

    def forward(self, xp, x):
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def backward(self, g):
        y = self.output
        return (g * y * (1.0 - y),)


class Relu(Function):
    """y = max(x, 0);  dL/dx = g * [x > 0]."""

    def forward(self, xp, x):
        return xp.maximum(x, xp.zeros_like(x))

    def backward(self, g):
        x = self.parents[0]
        return (g * _const(x.xp, x.xp.astype(x.data > 0, g.dtype)),)


class Softplus(Function):
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|));  dL/dx = g * sigmoid(x)."""

    def forward(self, xp, x):
        return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        return (g * self.parents[0].sigmoid(),)


class Erf(Function):
    """y = erf(x);  dL/dx = g * 2/sqrt(pi) * exp(-x**2)."""

    def forward(self, xp, x):
        return backend.erf(xp, x)

    def backward(self, g):
        x = self.parents[0]
        return (g * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp(),)


class Clip(Function):
    """y = min(max(x, lo), hi);  dL/dx = g * [lo <= x <= hi]  (like PyTorch's clamp)."""

    def forward(self, xp, x, min=None, max=None):
        self.bounds = (min, max)
        return xp.clip(x, min=min, max=max)

    def backward(self, g):
        x = self.parents[0]
        xp, lo, hi = x.xp, *self.bounds
        inside = xp.ones_like(x.data, dtype=xp.bool)
        if lo is not None:
            inside = inside & (x.data >= lo)
        if hi is not None:
            inside = inside & (x.data <= hi)
        return (g * _const(xp, xp.astype(inside, g.dtype)),)


class Astype(Function):
    """y = x converted to ``dtype``;  dL/dx = g converted back to x's dtype."""

    def forward(self, xp, x, dtype):
        return xp.astype(x, backend.resolve_dtype(xp, dtype))

    def backward(self, g):
        return (g.astype(self.parents[0].dtype),)


class Move(Function):
    """y = x on another backend and/or device;  dL/dx = g moved back."""

    changes_backend = True

    def forward(self, xp, x, backend=None, device=None):
        from . import backend as backends

        target = backends.get_namespace(backend) if backend is not None else xp
        self.source = (xp, backends.device_of(x))
        return backends.move(x, target, device)

    def backward(self, g):
        xp, device = self.source
        return (g.to(backend=xp, device=device),)


# ----------------------------------------------------------------- reductions
def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axis``;  dL/dx = g broadcast back to x's shape."""

    def forward(self, xp, x, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims
        return xp.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, g):
        x = self.parents[0]
        if not self.keepdims:
            g = g.reshape(_keepdims_shape(x.shape, self.axis))
        return (g.broadcast_to(x.shape),)


class Max(Function):
    """y = max of x over ``axis``;  dL/dx = g at the maxima, shared evenly among ties."""

    def forward(self, xp, x, axis, keepdims):
        if 0 in x.shape:
            raise ValueError(f"max of an empty tensor of shape {tuple(x.shape)}")
        self.axis, self.keepdims = axis, keepdims
        return xp.max(x, axis=axis, keepdims=keepdims)

    def backward(self, g):
        x = self.parents[0]
        xp = x.xp
        kept = _keepdims_shape(x.shape, self.axis)
        is_max = xp.astype(x.data == xp.reshape(self.output.data, kept), g.dtype)
        share = is_max / xp.sum(is_max, axis=self.axis, keepdims=True)
        return (g.reshape(kept) * _const(xp, share),)


class LogSumExp(Function):
    """y = log(sum(exp(x))) over ``axis``, computed as m + log(sum(exp(x - m))), m = max x.

    dL/dx = g * exp(x - y) = g * softmax(x).
    """

    def forward(self, xp, x, axis, keepdims):
        if 0 in x.shape:
            raise ValueError(f"logsumexp of an empty tensor of shape {tuple(x.shape)}")
        self.axis, self.keepdims = axis, keepdims
        shift = xp.max(x, axis=axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))
        y = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
        return y if keepdims else xp.reshape(y, tuple(n for i, n in enumerate(x.shape) if i not in axis))

    def backward(self, g):
        x = self.parents[0]
        kept = _keepdims_shape(x.shape, self.axis)
        return (g.reshape(kept) * (x - self.output.reshape(kept)).exp(),)


# ----------------------------------------------------------------- shapes
class Reshape(Function):
    """y = x with a new shape;  dL/dx = g reshaped to x's shape."""

    def forward(self, xp, x, shape):
        try:
            return xp.reshape(x, shape)
        except (ValueError, RuntimeError, TypeError) as err:
            raise ValueError(f"cannot reshape a tensor of shape {tuple(x.shape)} to {shape}") from err

    def backward(self, g):
        return (g.reshape(self.parents[0].shape),)


class Permute(Function):
    """y = x with axes permuted;  dL/dx = g permuted back (the inverse permutation)."""

    def forward(self, xp, x, axes):
        self.axes = axes
        return xp.permute_dims(x, axes)

    def backward(self, g):
        inverse = tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__))
        return (Permute.apply(g, axes=inverse),)


class BroadcastTo(Function):
    """y = x broadcast to ``shape``;  dL/dx = g summed over the broadcast axes."""

    def forward(self, xp, x, shape):
        try:
            return xp.broadcast_to(x, shape)
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"cannot broadcast shape {tuple(x.shape)} to {shape}") from err

    def backward(self, g):
        return (unbroadcast(g, self.parents[0].shape),)


def _is_basic(index: tuple) -> bool:
    """Only ints, slices and Ellipsis: ``out[index] = g`` writes each place once."""
    return all(part is Ellipsis or isinstance(part, (int, slice)) for part in index)


class Index(Function):
    """y = x[index];  dL/dx = zeros like x with g added at ``index``.

    Repeated integer indices receive the sum of their gradients.
    """

    def forward(self, xp, x, index):
        self.index = index
        return backend.getitem(xp, x, index)

    def backward(self, g):
        return (IndexAdd.apply(g, shape=self.parents[0].shape, index=self.index),)


class IndexAdd(Function):
    """y = zeros(shape) with ``y[index] += g`` (repeats summed);  dL/dg = dL/dy[index].

    The adjoint of ``Index``: basic indices (ints, slices) write into a fresh
    zero array (or rebind on immutable backends); integer-array indices go
    through ``backend.scatter_add_1d`` on flat positions, which sums repeats.
    """

    def forward(self, xp, g, shape, index):
        self.index = index
        device = backend.device_of(g)
        if _is_basic(index) and backend.is_mutable(xp):
            out = xp.zeros(shape, dtype=g.dtype, device=device)
            out[index] = g
            return out
        size = math.prod(shape)
        positions = backend.getitem(xp, xp.reshape(xp.arange(size, device=device), shape), index)
        flat = backend.scatter_add_1d(
            xp, size, xp.reshape(positions, (-1,)), xp.reshape(g, (-1,))
        )
        return xp.reshape(flat, shape)

    def backward(self, gg):
        return (Index.apply(gg, index=self.index),)


class Concat(Function):
    """y = concat(xs, axis);  dL/dx_i = the slice of g that x_i occupies."""

    def forward(self, xp, *xs, axis):
        self.axis = axis
        return xp.concat(xs, axis=axis)

    def backward(self, g):
        grads, start = [], 0
        for x, needs in zip(self.parents, self.needs_input_grad):
            stop = start + x.shape[self.axis]
            index = (slice(None),) * self.axis + (slice(start, stop),)
            grads.append(g[index] if needs else None)
            start = stop
        return tuple(grads)
