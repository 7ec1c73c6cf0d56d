"""The vocabulary that backward rules are written in, in two implementations.

A backward rule such as Tanh's ``g * (1 - y*y)`` is written once, with Python
operators and the functions of a namespace ``F`` (``F.sum``, ``F.reshape``,
``F.exp``, ...). The engine runs it in one of two modes:

* ``TensorOps`` (``backward(create_graph=True)``): the values are Tensors and
  every step is recorded, so the gradient can be differentiated again
  (Hessian-vector products, grad of grad);
* ``ArrayOps`` (the ordinary backward pass): the values are the backend's raw
  arrays and nothing is recorded, which costs one backend call per step
  instead of a recorded Tensor operation.

Both give the same numbers (the tests run every rule both ways): the second is
the first with the recording left out.
"""

from __future__ import annotations

from . import backend


class TensorOps:
    """Backward-rule operations on Tensors; every step is recorded."""

    recording = True

    def __init__(self, xp):
        self.xp = xp

    def const(self, array):
        """A constant (masks, one-hot matrices): a Tensor that needs no gradient."""
        from .tensor import Tensor

        return Tensor._wrap(self.xp.asarray(array))

    def value(self, x):
        """The raw array behind ``x`` (to build masks from); Python scalars as they are."""
        return getattr(x, "data", x) if not isinstance(x, (int, float)) else x

    def mask(self, condition, dtype):
        """A raw boolean array as a constant 0/1 array of ``dtype`` (no gradient)."""
        return self.const(self.xp.astype(condition, dtype))

    def reshape(self, x, shape):
        return x.reshape(shape)

    def broadcast_to(self, x, shape):
        return x.broadcast_to(shape)

    def sum(self, x, axis=None, keepdims=False):
        return x.sum(axis=axis, keepdims=keepdims)

    def exp(self, x):
        return x.exp()

    def log(self, x):
        return x.log()

    def sin(self, x):
        return x.sin()

    def cos(self, x):
        return x.cos()

    def sigmoid(self, x):
        return x.sigmoid()

    def softmax(self, x, axis):
        from .fused import softmax

        return softmax(x, axis)

    def where(self, cond, a, b):
        from .ops import where

        return where(self.const(cond), a, b)

    def astype(self, x, dtype):
        return x.astype(dtype)

    def permute_dims(self, x, axes):
        from .ops import Permute

        return Permute.apply(x, axes=axes)

    def matrix_transpose(self, x):
        return x.mT

    def matmul(self, a, b):
        return a @ b

    def getitem(self, x, index):
        from .ops import Index

        return Index.apply(x, index=index)

    def index_add(self, g, shape, index):
        from .ops import IndexAdd

        return IndexAdd.apply(g, shape=shape, index=index)

    def unbroadcast(self, g, shape):
        from .tensor import unbroadcast

        return unbroadcast(g, shape)

    def move(self, g, xp, device):
        return g.to(backend=xp, device=device)


class ArrayOps:
    """The same operations on raw backend arrays; nothing is recorded."""

    recording = False

    def __init__(self, xp):
        self.xp = xp
        if backend.backend_name(xp) in _HAS_MT_ATTRIBUTE:
            self.matrix_transpose = _mT  # the attribute skips a wrapper call
        # ``@`` skips a wrapper call too, where it promotes mixed dtypes (torch's does not)
        self.matmul = xp.matmul if backend.backend_name(xp) == "torch" else _matmul
        for name, shortcut in backend.method_shortcuts(xp).items():
            setattr(self, name, shortcut)  # same result, minus a wrapper (see backend.py)

    def const(self, array):
        return array

    def value(self, x):
        return x

    def mask(self, condition, dtype):
        return self.astype(condition, dtype)

    def reshape(self, x, shape):
        return self.xp.reshape(x, shape)

    def broadcast_to(self, x, shape):
        return self.xp.broadcast_to(x, shape)

    def sum(self, x, axis=None, keepdims=False):
        return self.xp.sum(x, axis=axis, keepdims=keepdims)

    def argmax(self, x, axis=None):
        """Positions, not values: for forward kernels (nothing to differentiate)."""
        return self.xp.argmax(x, axis=axis)

    def exp(self, x):
        return self.xp.exp(x)

    def log(self, x):
        return self.xp.log(x)

    def sin(self, x):
        return self.xp.sin(x)

    def cos(self, x):
        return self.xp.cos(x)

    def sigmoid(self, x):
        return stable_sigmoid(self.xp, x)

    def softmax(self, x, axis):
        return stable_softmax(self.xp, x, axis)

    def where(self, cond, a, b):
        like = a if hasattr(a, "dtype") else b
        return self.xp.where(cond, as_array(self.xp, a, like), as_array(self.xp, b, like))

    def astype(self, x, dtype):
        return self.xp.astype(x, dtype)

    def permute_dims(self, x, axes):
        return self.xp.permute_dims(x, axes)

    def matrix_transpose(self, x):
        return self.xp.matrix_transpose(x)

    def getitem(self, x, index):
        return backend.getitem(self.xp, x, index)

    def index_add(self, g, shape, index):
        return index_add(self.xp, g, shape, index)

    def unbroadcast(self, g, shape):
        leading = g.ndim - len(shape)
        axes = unbroadcast_axes(tuple(g.shape), shape)
        if axes:
            g = self.xp.sum(g, axis=axes, keepdims=True)
        if leading or axes:
            g = self.xp.reshape(g, shape)
        return g

    def move(self, g, xp, device):
        return backend.move(g, xp, device)


# Backends whose arrays have the standard's ``.mT`` (cheaper than a function call).
_HAS_MT_ATTRIBUTE = ("numpy", "cupy", "torch", "jax", "array_api_strict")


def _mT(x):
    return x.mT


def _matmul(a, b):
    return a @ b


_array_ops: dict = {}
_tensor_ops: dict = {}


def namespace(xp, recording: bool):
    """The (cached) rule namespace for backend ``xp``."""
    cache, kind = (_tensor_ops, TensorOps) if recording else (_array_ops, ArrayOps)
    ops = cache.get(xp)
    if ops is None:
        ops = cache[xp] = kind(xp)
    return ops


# -------------------------------------------------- kernels shared with forward
def as_array(xp, value, like):
    """A Python scalar as a 0-d array of ``like``'s dtype and device."""
    if isinstance(value, (bool, int, float)):
        return xp.asarray(value, dtype=like.dtype, device=backend.device_of(like))
    return value


def stable_sigmoid(xp, x):
    """1 / (1 + exp(-x)) from ``e = exp(-|x|) <= 1``: 1/(1+e) for x >= 0, e/(1+e) below."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def stable_softmax(xp, x, axis):
    """exp(x - max x) / sum exp(x - max x): every exponent <= 0, nothing overflows."""
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def unbroadcast_axes(grad_shape: tuple, shape: tuple) -> tuple:
    """The axes of ``grad_shape`` that broadcasting to it added or stretched from ``shape``."""
    leading = len(grad_shape) - len(shape)
    if leading < 0 or any(n != 1 and grad_shape[leading + i] != n for i, n in enumerate(shape)):
        raise RuntimeError(
            f"a gradient of shape {grad_shape} cannot belong to an input of shape {shape}"
        )
    return tuple(range(leading)) + tuple(
        leading + i for i, n in enumerate(shape) if n == 1 and grad_shape[leading + i] != 1
    )


def _is_basic(index: tuple) -> bool:
    """Only ints, slices and Ellipsis: ``out[index] = g`` writes each place once."""
    return all(part is Ellipsis or isinstance(part, (int, slice)) for part in index)


def index_add(xp, g, shape, index):
    """zeros(shape) with ``g`` added at ``index``; repeated indices sum.

    Basic indices write into a fresh zero array (or rebind on immutable
    backends); integer-array indices go through ``backend.scatter_add_1d`` on
    flat positions, which sums repeats.
    """
    device = backend.device_of(g)
    if _is_basic(index) and backend.is_mutable(xp):
        out = xp.zeros(shape, dtype=g.dtype, device=device)
        out[index] = g
        return out
    size = 1
    for n in shape:
        size *= n
    positions = backend.getitem(xp, xp.reshape(xp.arange(size, device=device), shape), index)
    flat = backend.scatter_add_1d(xp, size, xp.reshape(positions, (-1,)), xp.reshape(g, (-1,)))
    return xp.reshape(flat, shape)
