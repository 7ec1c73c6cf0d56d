"""The vocabulary ``F`` that backward rules are written in, in two implementations.

A backward rule such as Tanh's ``g * (1 - y*y)`` is written once, with Python
operators and the functions of ``F`` (``F.sum``, ``F.reshape``, ``F.exp``,
...), and receives ``F`` as an argument, as ``forward`` receives ``xp``::

    def backward(self, F, g, inputs, out):
        (x,) = inputs
        return (g * F.cos(x),)

The engine passes one of two vocabularies:

* ``TensorOps`` (``backward(create_graph=True)``): ``g``, ``inputs`` and
  ``out`` are Tensors and every step is recorded, so the gradient can be
  differentiated again (Hessian-vector products, grad of grad);
* ``ArrayOps`` (the ordinary backward pass): they are the backend's raw
  arrays and nothing is recorded, which costs one backend call per step
  instead of a recorded Tensor operation.

Both give the same numbers (the tests run every rule both ways): the second is
the first with the recording left out. Masks and indices have no gradient:
a rule builds them from raw values, ``F.value(x)``, with ``F.raw`` (always
the array vocabulary), and turns them into a constant with ``F.const``.
"""

from __future__ import annotations

import functools

from . import backend
from .backend import as_array, index_add, stable_softmax  # noqa: F401  (old import paths)
from .function import Function, new_tensor

# The built-in ops by name (ops.py registers them): the Tensor vocabulary records through them.
_op = Function.builtins


class ArrayOps:
    """Backward-rule operations on raw backend arrays; nothing is recorded."""

    recording = False

    def __init__(self, xp):
        self._xp = xp
        self.raw = self
        for name, shortcut in backend.method_shortcuts(xp).items():
            setattr(self, name, shortcut)  # same result, minus a wrapper (see backend.kernels)

    def const(self, value, dtype=None):
        """A constant (no gradient) from a raw array, converted to ``dtype`` if given."""
        return value if dtype is None else self.astype(value, dtype)

    def value(self, x):
        """The raw array behind ``x`` (to build masks from); Python scalars as they are."""
        return x

    def reshape(self, x, shape):
        return self._xp.reshape(x, shape)

    def broadcast_to(self, x, shape):
        return self._xp.broadcast_to(x, shape)

    def sum(self, x, axis=None, keepdims=False):
        return self._xp.sum(x, axis=axis, keepdims=keepdims)

    def argmax(self, x, axis=None):
        """Positions, not values (masks and forward kernels: nothing to differentiate)."""
        return self._xp.argmax(x, axis=axis)

    def exp(self, x):
        return self._xp.exp(x)

    def log(self, x):
        return self._xp.log(x)

    def sin(self, x):
        return self._xp.sin(x)

    def cos(self, x):
        return self._xp.cos(x)

    def sign(self, x):
        return self._xp.sign(x)

    def sigmoid(self, x):
        return backend.stable_sigmoid(self._xp, x)

    def softmax(self, x, axis):
        return backend.stable_softmax(self._xp, x, axis)

    def where(self, cond, a, b):
        like = a if hasattr(a, "dtype") else b
        xp = self._xp
        return xp.where(cond, backend.as_array(xp, a, like), backend.as_array(xp, b, like))

    def astype(self, x, dtype):
        return self._xp.astype(x, dtype)

    def permute_dims(self, x, axes):
        return self._xp.permute_dims(x, axes)

    def matrix_transpose(self, x):
        return self._xp.matrix_transpose(x)

    def matmul(self, a, b):
        return self._xp.matmul(a, b)

    def getitem(self, x, index):
        return backend.getitem(self._xp, x, index)

    def index_add(self, g, shape, index):
        return backend.index_add(self._xp, g, shape, index)

    def one_hot(self, classes, count, dtype):
        """``one_hot[i, c] = (classes[i] == c)`` as ``dtype``, for integer ``classes`` (N,)."""
        xp = self._xp
        columns = xp.arange(count, dtype=classes.dtype, device=backend.device_of(classes))
        return xp.astype(xp.reshape(classes, (-1, 1)) == columns, dtype)

    def subtract_at_rows(self, matrix, rows, columns, values):
        """``matrix[rows, columns] -= values`` in place, or None where the backend cannot."""
        return backend.subtract_at_rows(self._xp, matrix, rows, columns, values)

    def unbroadcast(self, g, shape):
        leading = g.ndim - len(shape)
        axes = unbroadcast_axes(tuple(g.shape), shape)
        if axes:
            g = self.sum(g, axis=axes, keepdims=True)
        if leading or axes:
            g = self.reshape(g, shape)
        return g

    def move(self, g, xp, device):
        return backend.move(g, xp, device)


class TensorOps:
    """The same operations on Tensors; every step is recorded."""

    recording = True

    def __init__(self, xp):
        self._xp = xp
        self.raw = array_ops(xp)

    def const(self, value, dtype=None):
        """A constant (no gradient) from a raw array, converted to ``dtype`` if given."""
        # asarray: NumPy gives scalars, not 0-d arrays, for comparisons of 0-d arrays
        return new_tensor(self._xp.asarray(self.raw.const(value, dtype)))

    def value(self, x):
        """The raw array behind ``x`` (to build masks from); Python scalars as they are."""
        return getattr(x, "data", x)

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

    def sign(self, x):
        """sign(x) as a constant: its derivative is 0 wherever it exists."""
        return self.const(self.raw.sign(x.data))

    def sigmoid(self, x):
        return x.sigmoid()

    def softmax(self, x, axis):
        return _op["Softmax"].apply(x, axis=axis)

    def where(self, cond, a, b):
        return _op["Where"].apply(self.const(cond), a, b)

    def astype(self, x, dtype):
        return x.astype(dtype)

    def permute_dims(self, x, axes):
        return _op["Permute"].apply(x, axes=tuple(axes))

    def matrix_transpose(self, x):
        return x.mT

    def matmul(self, a, b):
        return a @ b

    def getitem(self, x, index):
        return _op["Index"].apply(x, index=index)

    def index_add(self, g, shape, index):
        return _op["IndexAdd"].apply(g, shape=shape, index=index)

    def unbroadcast(self, g, shape):
        if g.shape == shape:
            return g
        axes = unbroadcast_axes(g.shape, shape)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        return g.reshape(shape)

    def move(self, g, xp, device):
        return g.to(backend=xp, device=device)


@functools.cache
def array_ops(xp) -> ArrayOps:
    """The rule vocabulary on raw arrays of backend ``xp`` (one per namespace)."""
    return ArrayOps(xp)


@functools.cache
def tensor_ops(xp) -> TensorOps:
    """The rule vocabulary on Tensors of backend ``xp`` (one per namespace)."""
    return TensorOps(xp)


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
