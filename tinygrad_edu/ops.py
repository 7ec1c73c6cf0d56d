"""The primitive operations: forward and backward side by side.

Each class computes ``y = f(x, ...)`` on raw arrays in ``forward``; its
``backward`` turns ``g = dL/dy`` into ``dL/dx`` for each input. The docstring
of each op states the derivative it implements.

``backward(self, F, g, inputs, out)`` computes with Python operators and the
rule vocabulary ``F`` (see ``derivatives.py``): during
``backward(create_graph=True)`` ``g``, ``inputs`` and ``out`` are Tensors and
every step is recorded (so second derivatives come for free); in an ordinary
backward pass they are raw arrays and nothing is recorded. Gradients come
back in the shape of the output; the engine un-broadcasts them to each
input's shape.

Everything else (mean, var, log_softmax, gelu, ...) is composed from these in
``functional.py``; ``fused.py`` holds fused primitives (one node where a
composite would record several) for speed.
"""

from __future__ import annotations

import math

from . import backend
from .backend import as_array, device_of, get_namespace, index_add, move, stable_sigmoid
from .function import Function
from .tensor import Tensor

Primitive = Function  # the old name of a built-in op's base class


# ----------------------------------------------------------------- arithmetic
class Add(Function):
    """y = a + b;  dL/da = g,  dL/db = g."""

    def forward(self, xp, a, b):
        return a + b

    def backward(self, F, g, inputs, out):
        return g, g


class Sub(Function):
    """y = a - b;  dL/da = g,  dL/db = -g."""

    def forward(self, xp, a, b):
        return a - b

    def backward(self, F, g, inputs, out):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dL/da = g * b,  dL/db = g * a."""

    def forward(self, xp, a, b):
        return a * b

    def backward(self, F, g, inputs, out):
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        return (g * b if needs_a else None), (g * a if needs_b else None)


class Div(Function):
    """y = a / b;  dL/da = g / b,  dL/db = -g * a / b**2."""

    def forward(self, xp, a, b):
        return a / b

    def backward(self, F, g, inputs, out):
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        return (g / b if needs_a else None), (-g * a / (b * b) if needs_b else None)


class Pow(Function):
    """y = a ** b;  dL/da = g * b * a**(b-1),  dL/db = g * y * log(a).

    As in PyTorch: dL/db is 0 where a == 0 and b >= 0 (the limit of y*log(a)),
    -inf where a == 0 and b < 0, NaN for a negative base; dL/da is 0 where
    b == 0 (also at a == 0, where b * a**(b-1) would be 0 * inf).
    """

    def forward(self, xp, a, b):
        return a**b

    def backward(self, F, g, inputs, out):
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad_b = None
        if needs_a:
            if isinstance(b, (int, float)):
                grad_a = g * 0.0 if b == 0 else g * b * a ** (b - 1)
            else:
                zero_exponent = F.value(b) == 0
                safe_b = F.where(zero_exponent, 1.0, b)  # a**(b-1) without 0**-1 where b == 0
                grad_a = F.where(zero_exponent, 0.0, g * b * a ** (safe_b - 1.0))
        if needs_b:
            b_value = F.value(b)
            if isinstance(a, (int, float)) and a > 0:
                grad_b = g * out * math.log(a)
            elif isinstance(a, (int, float)):  # y * log(a): 0 or -inf at a == 0, NaN below
                log_a = math.nan
                if a == 0:
                    log_a = F.const(F.raw.where(b_value >= 0, 0.0, b_value * 0.0 - math.inf))
                grad_b = g * out * log_a
            else:
                zero_limit = (F.value(a) == 0) & (b_value >= 0)
                grad_b = g * out * F.log(F.where(zero_limit, 1.0, a))
        return grad_a, grad_b


class MatMul(Function):
    """y = a @ b;  dL/da = g @ b^T,  dL/db = a^T @ g (batched, 1-D aware).

    A 1-D ``a`` acts as a row vector (1, k) and a 1-D ``b`` as a column
    (k, 1); the gradient drops those axes again. Batch axes are broadcast
    and summed back by the engine.
    """

    def forward(self, xp, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}"
            )
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

    def backward(self, F, g, inputs, out):
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if needs_a else None), (g * a if needs_b else None)
        a_mat = F.reshape(a, (1, -1)) if a.ndim == 1 else a
        b_mat = F.reshape(b, (-1, 1)) if b.ndim == 1 else b
        g_shape = tuple(g.shape)
        if a.ndim == 1:
            g = F.reshape(g, g_shape[:-1] + (1, g_shape[-1]))
        elif b.ndim == 1:
            g = F.reshape(g, g_shape + (1,))
        grad_a = grad_b = None
        if needs_a:
            grad_a = F.matmul(g, F.matrix_transpose(b_mat))
            if a.ndim == 1:
                shape = tuple(grad_a.shape)
                grad_a = F.reshape(grad_a, shape[:-2] + (shape[-1],))
        if needs_b:
            grad_b = F.matmul(F.matrix_transpose(a_mat), g)
            if b.ndim == 1:
                grad_b = F.reshape(grad_b, tuple(grad_b.shape)[:-1])
        return grad_a, grad_b


class Maximum(Function):
    """y = max(a, b);  dL/da = g where a is not below b, dL/db = g where b is not below a.

    As in PyTorch: ties share the gradient evenly, and a NaN (which the result
    takes) counts as not below, so a NaN input gets the full gradient.
    """

    def forward(self, xp, a, b):
        like = a if hasattr(a, "dtype") else b
        return xp.maximum(as_array(xp, a, like), as_array(xp, b, like))

    def backward(self, F, g, inputs, out):
        a, b = F.value(inputs[0]), F.value(inputs[1])
        return _split(F, g, a, b, a < b, b < a, self.needs_input_grad)


class Minimum(Maximum):
    """y = min(a, b);  dL/da = g where a is not above b, dL/db = g where b is not above a."""

    def forward(self, xp, a, b):
        like = a if hasattr(a, "dtype") else b
        return xp.minimum(as_array(xp, a, like), as_array(xp, b, like))

    def backward(self, F, g, inputs, out):
        a, b = F.value(inputs[0]), F.value(inputs[1])
        return _split(F, g, a, b, a > b, b > a, self.needs_input_grad)


def _split(F, g, a, b, a_loses, b_loses, needs):
    """Gradients of max/min(a, b): all of g to an input that does not lose, half on ties."""
    tie = F.raw.const(a == b, g.dtype)
    share_a = 0.5 * tie + (1.0 - tie) * (1.0 - F.raw.const(a_loses, g.dtype))
    share_b = 0.5 * tie + (1.0 - tie) * (1.0 - F.raw.const(b_loses, g.dtype))
    grad_a = g * F.const(share_a) if needs[0] else None
    return grad_a, (g * F.const(share_b) if needs[1] else None)


class Where(Function):
    """y = where(cond, a, b);  dL/da = where(cond, g, 0),  dL/db = where(cond, 0, g)."""

    def forward(self, xp, cond, a, b):
        like = a if hasattr(a, "dtype") else b
        if not hasattr(like, "dtype"):
            raise TypeError("where needs at least one tensor among its two value arguments")
        return xp.where(cond, as_array(xp, a, like), as_array(xp, b, like))

    def backward(self, F, g, inputs, out):
        cond = F.value(inputs[0])
        _, needs_a, needs_b = self.needs_input_grad
        return (
            None,
            F.where(cond, g, 0.0) if needs_a else None,
            F.where(cond, 0.0, g) if needs_b else None,
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

    def backward(self, F, g, inputs, out):
        return (-g,)


class Exp(Function):
    """y = exp(x);  dL/dx = g * y."""

    def forward(self, xp, x):
        return xp.exp(x)

    def backward(self, F, g, inputs, out):
        return (g * out,)


class Log(Function):
    """y = log(x);  dL/dx = g / x."""

    def forward(self, xp, x):
        return xp.log(x)

    def backward(self, F, g, inputs, out):
        return (g / inputs[0],)


class Sqrt(Function):
    """y = sqrt(x);  dL/dx = g / (2 y)."""

    def forward(self, xp, x):
        return xp.sqrt(x)

    def backward(self, F, g, inputs, out):
        return (g / (2.0 * out),)


class Abs(Function):
    """y = |x|;  dL/dx = g * sign(x)  (0 at x = 0, like PyTorch)."""

    def forward(self, xp, x):
        return xp.abs(x)

    def backward(self, F, g, inputs, out):
        return (g * F.sign(inputs[0]),)


class Sin(Function):
    """y = sin(x);  dL/dx = g * cos(x)."""

    def forward(self, xp, x):
        return xp.sin(x)

    def backward(self, F, g, inputs, out):
        return (g * F.cos(inputs[0]),)


class Cos(Function):
    """y = cos(x);  dL/dx = -g * sin(x)."""

    def forward(self, xp, x):
        return xp.cos(x)

    def backward(self, F, g, inputs, out):
        return (-g * F.sin(inputs[0]),)


class Tanh(Function):
    """y = tanh(x);  dL/dx = g * (1 - y**2)."""

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, F, g, inputs, out):
        y = out
        return (g - g * y * y,)  # = g (1 - y^2), without a Python scalar (slow in NumPy 2)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y).

    Computed from ``e = exp(-|x|) <= 1`` as ``1/(1+e)`` for x >= 0 and
    ``e/(1+e)`` for x < 0, so no exponential overflows for any x.
    """

    def forward(self, xp, x):
        return stable_sigmoid(xp, x)

    def backward(self, F, g, inputs, out):
        y = out
        return (g * y * (1.0 - y),)


class Relu(Function):
    """y = max(x, 0);  dL/dx = g * [x > 0] = g * [y > 0] (the same mask, read from y)."""

    def forward(self, xp, x):
        # Against an array of zeros, not the scalar 0: NumPy's maximum of two equal-shape
        # arrays is about twice as fast as with a broadcast scalar.
        return xp.maximum(x, backend.zeros_like(xp, x))

    def backward(self, F, g, inputs, out):
        # from y, not x: then nothing reads x after the forward pass, and a compiled step
        # (tg.compile) may write y into x's memory
        return (g * F.const(F.value(out) > 0, g.dtype),)


class Softplus(Function):
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|));  dL/dx = g * sigmoid(x)."""

    def forward(self, xp, x):
        return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, F, g, inputs, out):
        return (g * F.sigmoid(inputs[0]),)


class Erf(Function):
    """y = erf(x);  dL/dx = g * 2/sqrt(pi) * exp(-x**2)."""

    def forward(self, xp, x):
        return backend.erf(xp, x)

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        return (g * (2.0 / math.sqrt(math.pi)) * F.exp(-(x * x)),)


class Clip(Function):
    """y = min(max(x, lo), hi);  dL/dx = g * [lo <= x <= hi]  (like PyTorch's clamp)."""

    def forward(self, xp, x, min=None, max=None):
        self.bounds = (min, max)
        return xp.clip(x, min=min, max=max)

    def backward(self, F, g, inputs, out):
        lo, hi = self.bounds
        x = F.value(inputs[0])
        inside = None
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = (x <= hi) if inside is None else inside & (x <= hi)
        return (g if inside is None else g * F.const(inside, g.dtype),)


class Astype(Function):
    """y = x converted to ``dtype``;  dL/dx = g converted back to x's dtype."""

    def forward(self, xp, x, dtype):
        return xp.astype(x, backend.resolve_dtype(xp, dtype))

    def backward(self, F, g, inputs, out):
        return (F.astype(g, inputs[0].dtype),)


class Move(Function):
    """y = x on another backend and/or device;  dL/dx = g moved back."""

    changes_backend = True

    def forward(self, xp, x, backend=None, device=None):
        target = get_namespace(backend) if backend is not None else xp
        self.source = (xp, device_of(x))
        return move(x, target, device)

    def backward(self, F, g, inputs, out):
        xp, device = self.source
        return (F.move(g, xp, device),)


# ----------------------------------------------------------------- reductions
def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axis``;  dL/dx = g broadcast back to x's shape."""

    def forward(self, xp, x, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims
        return xp.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, F, g, inputs, out):
        shape = tuple(inputs[0].shape)
        if not self.keepdims:
            g = F.reshape(g, _keepdims_shape(shape, self.axis))
        return (F.broadcast_to(g, shape),)


class Max(Function):
    """y = max of x over ``axis``;  dL/dx = g at the maxima, shared evenly among ties.

    A NaN is the maximum of its slice (as in NumPy and PyTorch), and gets the gradient.
    """

    def forward(self, xp, x, axis, keepdims):
        _refuse_empty(self.name.lower(), x, axis)
        self.axis, self.keepdims = axis, keepdims
        return xp.max(x, axis=axis, keepdims=keepdims)

    def backward(self, F, g, inputs, out):
        x, raw = F.value(inputs[0]), F.raw
        kept = _keepdims_shape(tuple(x.shape), self.axis)
        y = raw.reshape(F.value(out), kept)
        # x != x is true exactly at NaN: a NaN result came from the NaN entries
        is_max = raw.const((x == y) | ((x != x) & (y != y)), g.dtype)
        share = is_max / raw.sum(is_max, axis=self.axis, keepdims=True)
        return (F.reshape(g, kept) * F.const(share),)


class Min(Max):
    """y = min of x over ``axis``;  dL/dx = g at the minima, shared evenly among ties."""

    def forward(self, xp, x, axis, keepdims):
        _refuse_empty(self.name.lower(), x, axis)
        self.axis, self.keepdims = axis, keepdims
        return xp.min(x, axis=axis, keepdims=keepdims)


def _refuse_empty(name, x, axis):
    """max/min over an empty axis has no value (other axes may be empty: an empty result)."""
    if any(x.shape[a] == 0 for a in axis):
        raise ValueError(f"{name} over an empty axis of a tensor of shape {tuple(x.shape)}")


class LogSumExp(Function):
    """y = log(sum(exp(x))) over ``axis``, computed as m + log(sum(exp(x - m))), m = max x.

    dL/dx = g * exp(x - y) = g * softmax(x). Over an empty axis y = -inf (as in PyTorch).
    """

    def forward(self, xp, x, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims
        if any(x.shape[a] == 0 for a in axis):  # the sum of no terms is 0: log 0 = -inf
            shape = (
                _keepdims_shape(tuple(x.shape), axis)
                if keepdims
                else tuple(n for i, n in enumerate(x.shape) if i not in axis)
            )
            return xp.full(shape, -math.inf, dtype=x.dtype, device=device_of(x))
        shift = xp.max(x, axis=axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))
        y = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
        return (
            y
            if keepdims
            else xp.reshape(y, tuple(n for i, n in enumerate(x.shape) if i not in axis))
        )

    def backward(self, F, g, inputs, out):
        x = inputs[0]
        kept = _keepdims_shape(tuple(x.shape), self.axis)
        return (F.reshape(g, kept) * F.exp(x - F.reshape(out, kept)),)


# ----------------------------------------------------------------- shapes
class Reshape(Function):
    """y = x with a new shape;  dL/dx = g reshaped to x's shape."""

    def forward(self, xp, x, shape):
        try:
            return xp.reshape(x, shape)
        except (ValueError, RuntimeError, TypeError) as err:
            raise ValueError(
                f"cannot reshape a tensor of shape {tuple(x.shape)} to {shape}"
            ) from err

    def backward(self, F, g, inputs, out):
        return (F.reshape(g, tuple(inputs[0].shape)),)


class Permute(Function):
    """y = x with axes permuted;  dL/dx = g permuted back (the inverse permutation)."""

    def forward(self, xp, x, axes):
        self.axes = axes
        return xp.permute_dims(x, axes)

    def backward(self, F, g, inputs, out):
        inverse = tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__))
        return (F.permute_dims(g, inverse),)


class BroadcastTo(Function):
    """y = x broadcast to ``shape``;  dL/dx = g summed over the broadcast axes."""

    def forward(self, xp, x, shape):
        try:
            return xp.broadcast_to(x, shape)
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"cannot broadcast shape {tuple(x.shape)} to {shape}") from err

    def backward(self, F, g, inputs, out):
        return (F.unbroadcast(g, tuple(inputs[0].shape)),)


class Index(Function):
    """y = x[index];  dL/dx = zeros like x with g added at ``index``.

    Repeated integer indices receive the sum of their gradients.
    """

    def forward(self, xp, x, index):
        self.index = index
        return backend.getitem(xp, x, index)

    def backward(self, F, g, inputs, out):
        return (F.index_add(g, tuple(inputs[0].shape), self.index),)


class IndexAdd(Function):
    """y = zeros(shape) with ``y[index] += g`` (repeats summed);  dL/dg = dL/dy[index].

    The adjoint of ``Index`` (see ``backend.index_add``).
    """

    def forward(self, xp, g, shape, index):
        self.index = index
        return index_add(xp, g, shape, index)

    def backward(self, F, gg, inputs, out):
        return (F.getitem(gg, self.index),)


class Concat(Function):
    """y = concat(xs, axis);  dL/dx_i = the slice of g that x_i occupies."""

    def forward(self, xp, *xs, axis):
        self.axis = axis
        return xp.concat(xs, axis=axis)

    def backward(self, F, g, inputs, out):
        grads, start = [], 0
        for x, needs in zip(inputs, self.needs_input_grad):
            stop = start + x.shape[self.axis]
            index = (slice(None),) * self.axis + (slice(start, stop), Ellipsis)
            grads.append(F.getitem(g, index) if needs else None)
            start = stop
        return tuple(grads)
