"""The Tensor: a backend array, its gradient, and the node that made it.

A ``Tensor`` holds ``data`` (an array of any Array-API backend), ``grad`` (a
Tensor or None), ``requires_grad`` and ``_ctx``, the ``Function`` that
produced it (None for leaves). Its methods are one line each: they name the
primitive (ops.py) or composite (functional.py) that computes them, where the
math and its derivative are documented. ``backward`` hands over to the engine
(autograd.py).

Read function.py first (what an op is), then this file, then autograd.py.
"""

from __future__ import annotations

import math

from . import backend
from .function import (  # Function: re-exported, the old import path
    Function,  # noqa: F401
    check_devices,
    new_tensor,
    raise_mixed,
    register_tensor_type,
)
from .tensor_methods import TensorMethods


# ------------------------------------------------------------------- Tensor
class Tensor(TensorMethods):
    """A backend array that records how it was computed.

    Parameters
    ----------
    data : Python scalar or (nested) list, array of any Array-API backend, or Tensor
        An array keeps its dtype and backend; Python floats get the default
        float dtype (``tg.set_default_dtype``), ints the default integer dtype
        (int64), booleans bool.
    dtype, backend, device : optional
        Convert or move on creation. ``backend`` is a name (``"numpy"``,
        ``"cupy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"``, ``"dask"``)
        or a namespace module.
    requires_grad : bool
        Whether ``backward`` should fill in ``grad`` (floating dtypes only).
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_hooks", "name", "__weakref__")

    def __init__(self, data, dtype=None, backend=None, device=None, requires_grad=False):
        self.data = _to_array(data, dtype, backend, device)
        self.grad = None
        self._ctx = None
        self._hooks = None
        self.name = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    _wrap = staticmethod(new_tensor)  # Tensor._wrap(array): no checks, no copies

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return math.prod(self.data.shape)

    @property
    def xp(self):
        """The Array-API namespace of ``data``."""
        return backend.namespace_of(self.data)

    @property
    def backend(self) -> str:
        return backend.backend_name(self.xp)

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function that produced this Tensor (None for leaves)."""
        return self._ctx

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """A host NumPy array (a copy when the data lives on a GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return new_tensor(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not backend.is_floating(self.xp, self.dtype):
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor, got dtype "
                f"{backend.dtype_name(self.dtype)}"
            )
        self.requires_grad = requires_grad
        return self

    def to(self, backend=None, device=None) -> Tensor:
        """This tensor on another backend and/or device (differentiable)."""
        return ops.Move.apply(self, backend=backend, device=device)

    def astype(self, dtype) -> Tensor:
        return ops.Astype.apply(self, dtype=dtype)

    def __repr__(self) -> str:
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={self._ctx.name}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return f"Tensor({self.numpy()!r}, backend={self.backend}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__

    # ------------------------------------------------------------ autodiff
    def backward(self, gradient=None, retain_graph=False, create_graph=False) -> None:
        """Fill ``.grad`` of every leaf that requires grad with d(self)/d(leaf).

        ``gradient`` is dL/d(self) for a non-scalar output (a vector-Jacobian
        product). Gradients add up over calls. The graph is freed afterwards
        unless ``retain_graph=True``; ``create_graph=True`` records the backward
        pass itself, so the gradients can be differentiated again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True"
            )
        autograd.backward([self], [gradient], retain_graph or create_graph, create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        The hook may return a replacement gradient. Returns a handle whose
        ``remove()`` unregisters it.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = {}
        return HookHandle(self._hooks, hook)

    # ------------------------------------------------------------ arithmetic
    # Each method names the primitive (ops.py) or composite (functional.py)
    # that implements it; the math and its derivative are documented there.
    def __add__(self, other):
        return ops.Add.apply(self, _operand(other))

    def __radd__(self, other):
        return ops.Add.apply(_operand(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, _operand(other))

    def __rsub__(self, other):
        return ops.Sub.apply(_operand(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, _operand(other))

    def __rmul__(self, other):
        return ops.Mul.apply(_operand(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, _operand(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(_operand(other), self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, _operand(exponent))

    def __rpow__(self, base):
        return ops.Pow.apply(_operand(base), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, _operand(other, allow_scalar=False))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(_operand(other, allow_scalar=False), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def matmul(self, other):
        return self @ other

    # comparisons give boolean tensors that are not differentiable
    def __lt__(self, other):
        return _compare(self, other, lambda a, b: a < b)

    def __le__(self, other):
        return _compare(self, other, lambda a, b: a <= b)

    def __gt__(self, other):
        return _compare(self, other, lambda a, b: a > b)

    def __ge__(self, other):
        return _compare(self, other, lambda a, b: a >= b)

    def __eq__(self, other):
        return _compare(self, other, lambda a, b: a == b)

    def __ne__(self, other):
        return _compare(self, other, lambda a, b: a != b)

    # ------------------------------------------------------------ elementwise
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def sin(self):
        return ops.Sin.apply(self)

    def cos(self):
        return ops.Cos.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def softplus(self, beta=1.0, threshold=20.0):
        return functional.softplus(self, beta, threshold)

    def erf(self):
        return ops.Erf.apply(self)

    def clip(self, min=None, max=None):
        return ops.Clip.apply(self, min=min, max=max)

    def leaky_relu(self, negative_slope=0.01):
        return functional.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        return functional.elu(self, alpha)

    def gelu(self, approximate="none"):
        return functional.gelu(self, approximate)

    # ------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        return ops.Sum.apply(self, axis=normalize_axes(axis, self.ndim), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.Max.apply(self, axis=normalize_axes(axis, self.ndim), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.LogSumExp.apply(self, axis=normalize_axes(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return functional.mean(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return functional.min(self, axis, keepdims)

    def var(self, axis=None, correction=0, keepdims=False):
        return functional.var(self, axis, correction, keepdims)

    def std(self, axis=None, correction=0, keepdims=False):
        return functional.std(self, axis, correction, keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the largest entry (not differentiable)."""
        data = self.data
        if axis is None:
            data = self.xp.reshape(data, (-1,))
            axis = 0
        return Tensor._wrap(self.xp.asarray(self.xp.argmax(data, axis=axis, keepdims=keepdims)))

    def softmax(self, axis=-1):
        return functional.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return functional.log_softmax(self, axis)

    # ------------------------------------------------------------ shapes
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return ops.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        """Permute the axes; without arguments reverse them (like ``.T``)."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(reversed(range(self.ndim))) if not axes else normalize_axes(axes, self.ndim)
        if len(axes) != self.ndim:
            raise ValueError(f"transpose needs {self.ndim} axes for shape {self.shape}, got {axes}")
        return ops.Permute.apply(self, axes=axes)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        """Swap the last two axes (matrix transpose of a batch of matrices)."""
        axes = list(range(self.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return ops.Permute.apply(self, axes=tuple(axes))

    def flatten(self, start_axis=0):
        return functional.flatten(self, start_axis)

    def squeeze(self, axis=None):
        return functional.squeeze(self, axis)

    def unsqueeze(self, axis):
        return functional.unsqueeze(self, axis)

    def broadcast_to(self, shape):
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def __getitem__(self, index):
        return ops.Index.apply(self, index=_normalize_index(index, self))


class HookHandle:
    """Returned by ``register_hook``: ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        HookHandle._next_id += 1
        self.id = HookHandle._next_id
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _to_array(data, dtype, backend_choice, device):
    if isinstance(data, Tensor):
        data = data.data
    # exact types: NumPy scalars subclass float but are arrays with a dtype to keep
    if type(data) in (bool, int, float, complex) or isinstance(data, (list, tuple)):
        xp = backend.get_namespace(backend_choice)
        return backend.from_python(data, xp, dtype, device)
    source_xp = backend.namespace_of(data)
    xp = source_xp if backend_choice is None else backend.get_namespace(backend_choice)
    array = backend.move(data, xp, device)
    array = xp.asarray(array)  # no copy for arrays; NumPy scalars become 0-d arrays
    if dtype is not None:
        array = xp.astype(array, backend.resolve_dtype(xp, dtype))
    return array


# ------------------------------------------------------------ helpers
def _operand(value, allow_scalar=True):
    """Tensors and Python numbers pass through; arrays become constant Tensors."""
    if isinstance(value, (Tensor, int, float, complex)):  # bool is an int
        if allow_scalar or isinstance(value, Tensor):
            return value
        raise TypeError("matmul needs tensors, not Python scalars")
    return Tensor(value)


def _compare(tensor, other, compare):
    other = _operand(other)
    if isinstance(other, Tensor):
        if type(other.data) is not type(tensor.data):
            raise_mixed((tensor, other))
        check_devices((tensor, other))
        other = other.data
    result = compare(tensor.data, other)
    if type(result) is not type(tensor.data):
        result = tensor.xp.asarray(result)  # NumPy turns 0-d results into scalars
    return Tensor._wrap(result)


def normalize_axes(axis, ndim: int) -> tuple:
    """``None | int | tuple`` (negatives allowed) as a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    bound = max(ndim, 1)  # like NumPy and PyTorch, a 0-d tensor accepts axis 0 and -1
    for a in axes:
        if not -bound <= a < bound:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    normalized = tuple(a % bound for a in axes) if ndim else ()
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return normalized


def _normalize_index(index, tensor):
    """Turn Tensors and lists inside an index into backend arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    xp = tensor.xp
    normalized = []
    for part in parts:
        if isinstance(part, Tensor):
            if part.backend != tensor.backend:
                raise_mixed((tensor, part))
            part = part.data
        elif isinstance(part, list):
            part = xp.asarray(part, device=tensor.device)
        normalized.append(part)
    consumed = sum(
        getattr(part, "ndim", 1) if getattr(part, "dtype", None) == xp.bool else 1
        for part in normalized
        if part is not None and part is not Ellipsis
    )
    sole_mask = len(normalized) == 1 and getattr(normalized[0], "dtype", None) == xp.bool
    if consumed < tensor.ndim and not sole_mask and not any(p is Ellipsis for p in normalized):
        normalized.append(Ellipsis)  # the standard wants the untouched trailing axes explicit
    return tuple(normalized)


register_tensor_type(Tensor)

# The one import cycle of the core: Tensor's methods call the ops, and the ops make Tensors.
from . import autograd, functional, ops  # noqa: E402
from .autograd import backward as run_backward  # noqa: E402, F401
from .autograd import (  # noqa: E402, F401  (re-exported: the old import paths)
    mark_written_in_place,
    unbroadcast,
)
