"""More Tensor methods: the rest of the standard's array object and PyTorch's names.

``Tensor`` inherits them from the mixin ``TensorMethods``. Each method names
the primitive (ops_elementwise.py, ops_reduce.py, ops_shape.py) or composes
existing ops; results that have no derivative (comparisons, integer and
bitwise operators, indices) are plain Tensors that do not require grad.

In-place forms (``x += y``, ``x[i] = v``) record like any other op and then
rebind ``x`` to the result, as PyTorch's in-place ops do: on a leaf that
requires grad they raise, and a node recorded earlier that used the old ``x``
refuses a backward pass afterwards (its saved value is stale, as PyTorch's
version counter would say).
"""

from __future__ import annotations

import math
from collections import namedtuple

from . import array_api, autograd, backend, ops_elementwise, ops_reduce, ops_shape
from .function import Function, is_tensor, new_tensor, thread_mode

_op = Function.registry  # built-in ops by name (Where, Index, Concat, Maximum from ops.py)

# What cummax and cummin return, as torch.return_types: (values, indices) with names.
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])


def _axes(axis, ndim: int) -> tuple:
    """``None | int | tuple`` as a tuple of non-negative axes (as tensor.normalize_axes)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    bound = max(ndim, 1)
    for a in axes:
        if not -bound <= a < bound:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(a % bound for a in axes) if ndim else ()


def _axis(axis, ndim: int) -> int:
    if not isinstance(axis, int):
        raise TypeError(f"axis must be an int, got {axis!r}")
    return _axes(axis, ndim)[0] if ndim else 0


def _data(value):
    return value.data if is_tensor(value) else value


def _plain(tensor, array):
    """A non-differentiable result in ``tensor``'s namespace (0-d results stay arrays)."""
    if type(array) is not type(tensor.data):
        array = tensor.xp.asarray(array)
    return new_tensor(array)


def _as_index_array(tensor, index):
    """A raw integer array for ``index`` (a Tensor, a list or an array) on ``tensor``'s backend."""
    if is_tensor(index):
        return index.data
    if isinstance(index, (list, tuple, int)):
        return tensor.xp.asarray(index, device=backend.device_of(tensor.data))
    return index


class TensorMethods:
    """Mixin of Tensor: methods beyond the core's (see the module docstring)."""

    __slots__ = ()

    # ------------------------------------------------------------ the array object
    def __array_namespace__(self, api_version=None):
        """The differentiable Array-API namespace of this tensor's backend."""
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12"):
            raise ValueError(f"unsupported Array-API version {api_version!r}")
        return array_api.array_namespace(self.xp)

    def to_device(self, device, /, *, stream=None):
        """This tensor on ``device`` of its backend (differentiable)."""
        if stream is not None:
            raise ValueError("to_device: streams are not supported")
        return self.to(device=device)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        kwargs = {"stream": stream}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        if copy is not None:
            kwargs["copy"] = copy
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def __index__(self) -> int:
        return self.data.__index__()

    def __complex__(self) -> complex:
        return complex(self.item())

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    # ------------------------------------------------------------ integer and bitwise operators
    # not differentiable: results are plain Tensors
    def __floordiv__(self, other):
        return _plain(self, backend.floor_divide(self.xp, self.data, _data(other)))

    def __rfloordiv__(self, other):
        return _plain(self, backend.floor_divide(self.xp, _data(other), self.data))

    def __mod__(self, other):
        return _plain(self, self.data % _data(other))

    def __rmod__(self, other):
        return _plain(self, _data(other) % self.data)

    def __and__(self, other):
        return _plain(self, self.data & _data(other))

    def __rand__(self, other):
        return _plain(self, _data(other) & self.data)

    def __or__(self, other):
        return _plain(self, self.data | _data(other))

    def __ror__(self, other):
        return _plain(self, _data(other) | self.data)

    def __xor__(self, other):
        return _plain(self, self.data ^ _data(other))

    def __rxor__(self, other):
        return _plain(self, _data(other) ^ self.data)

    def __lshift__(self, other):
        return _plain(self, self.data << _data(other))

    def __rlshift__(self, other):
        return _plain(self, _data(other) << self.data)

    def __rshift__(self, other):
        return _plain(self, self.data >> _data(other))

    def __rrshift__(self, other):
        return _plain(self, _data(other) >> self.data)

    def __invert__(self):
        return _plain(self, ~self.data)

    # ------------------------------------------------------------ in-place forms
    def _rebind(self, result):
        """Make ``self`` the result of an op on its old value (the in-place forms)."""
        if result.shape != self.shape:
            raise ValueError(
                f"an in-place operation cannot change the shape {self.shape} to {result.shape}"
            )
        if result.dtype != self.dtype:
            result = result.astype(self.dtype)
        self.data = result.data
        if not thread_mode.grad_enabled:  # an update under no_grad (an optimizer's): data only
            return self
        self.requires_grad = result.requires_grad
        self._ctx = result._ctx
        return self

    def _old_value(self, what="an in-place operator such as x += y"):
        """``self`` before an in-place write (``what``, for error messages), as a Tensor of
        its own (nodes that used ``self`` earlier will refuse a backward pass: their saved
        value is replaced)."""
        if self.requires_grad and self._ctx is None and thread_mode.grad_enabled:
            raise RuntimeError(
                "a leaf tensor that requires grad is being used in an in-place operation; "
                "use an out-of-place form (x = x + y) or wrap it in tg.no_grad()"
            )
        if self.requires_grad:
            autograd.mark_written_in_place([self], by=what)
        if not thread_mode.grad_enabled:
            return new_tensor(self.data)
        old = new_tensor(self.data, self.requires_grad)
        old._ctx = self._ctx
        return old

    def __iadd__(self, other):
        return self._rebind(self._old_value() + other)

    def __isub__(self, other):
        return self._rebind(self._old_value() - other)

    def __imul__(self, other):
        return self._rebind(self._old_value() * other)

    def __itruediv__(self, other):
        return self._rebind(self._old_value() / other)

    def __ipow__(self, other):
        return self._rebind(self._old_value() ** other)

    def __imatmul__(self, other):
        return self._rebind(self._old_value() @ other)

    def __ifloordiv__(self, other):
        return self._rebind(self._old_value() // other)

    def __imod__(self, other):
        return self._rebind(self._old_value() % other)

    def __iand__(self, other):
        return self._rebind(self._old_value() & other)

    def __ior__(self, other):
        return self._rebind(self._old_value() | other)

    def __ixor__(self, other):
        return self._rebind(self._old_value() ^ other)

    def __ilshift__(self, other):
        return self._rebind(self._old_value() << other)

    def __irshift__(self, other):
        return self._rebind(self._old_value() >> other)

    def __setitem__(self, index, value):
        """``x[index] = value``: records ``SetItem`` (differentiable in x and value)."""
        normalized = _normalize_index(self, index)
        value = (
            value
            if is_tensor(value) or isinstance(value, (bool, int, float, complex))
            else (type(self)(value, backend=self.xp, device=self.device))
        )
        old = self._old_value("an assignment x[index] = value")
        self._rebind(ops_shape.SetItem.apply(old, value, index=normalized))

    # ------------------------------------------------------------ elementwise math
    def tan(self):
        return ops_elementwise.Tan.apply(self)

    def asin(self):
        return ops_elementwise.Asin.apply(self)

    def acos(self):
        return ops_elementwise.Acos.apply(self)

    def atan(self):
        return ops_elementwise.Atan.apply(self)

    def atan2(self, other):
        return ops_elementwise.Atan2.apply(self, other)

    def sinh(self):
        return ops_elementwise.Sinh.apply(self)

    def cosh(self):
        return ops_elementwise.Cosh.apply(self)

    def asinh(self):
        return ops_elementwise.Asinh.apply(self)

    def acosh(self):
        return ops_elementwise.Acosh.apply(self)

    def atanh(self):
        return ops_elementwise.Atanh.apply(self)

    def log2(self):
        return ops_elementwise.Log2.apply(self)

    def log10(self):
        return ops_elementwise.Log10.apply(self)

    def log1p(self):
        return ops_elementwise.Log1p.apply(self)

    def expm1(self):
        return ops_elementwise.Expm1.apply(self)

    def exp2(self):
        """2**x."""
        return 2.0**self

    def square(self):
        """x * x."""
        return self * self

    def rsqrt(self):
        """1 / sqrt(x)."""
        return 1.0 / self.sqrt()

    def reciprocal(self):
        """1 / x."""
        return 1.0 / self

    def sign(self):
        return ops_elementwise.Step.apply(self, kind="sign")

    def floor(self):
        return ops_elementwise.Step.apply(self, kind="floor")

    def ceil(self):
        return ops_elementwise.Step.apply(self, kind="ceil")

    def round(self):
        return ops_elementwise.Step.apply(self, kind="round")

    def trunc(self):
        return ops_elementwise.Step.apply(self, kind="trunc")

    def logaddexp(self, other):
        return ops_elementwise.LogAddExp.apply(self, other)

    def hypot(self, other):
        return ops_elementwise.Hypot.apply(self, other)

    def lerp(self, end, weight):
        """x + weight * (end - x)."""
        return self + weight * (end - self)

    def isnan(self):
        return _plain(self, self.xp.isnan(self.data))

    def isinf(self):
        return _plain(self, self.xp.isinf(self.data))

    def isfinite(self):
        return _plain(self, self.xp.isfinite(self.data))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|x - other| <= atol + rtol * |other| (NaNs equal when ``equal_nan``)."""
        xp, a, b = self.xp, self.data, _data(other)
        close = xp.abs(a - b) <= atol + rtol * xp.abs(b)
        close = close | (a == b)  # infinities of one sign
        if equal_nan:
            close = close | (xp.isnan(a) & xp.isnan(b))
        return _plain(self, close)

    # ------------------------------------------------------------ activations
    def silu(self):
        """x * sigmoid(x)."""
        return self * self.sigmoid()

    def mish(self):
        """x * tanh(softplus(x))."""
        return self * self.softplus().tanh()

    def selu(self):
        """scale * elu(x, alpha) with PyTorch's constants."""
        return 1.0507009873554804934193349852946 * self.elu(1.6732632423543772848170429916717)

    def celu(self, alpha=1.0):
        """x for x > 0, else alpha * (exp(x / alpha) - 1) (expm1: no cancellation near 0)."""
        positive = _plain(self, self.data > 0)
        negative = _op["Where"].apply(positive, 0.0, self)
        return _op["Where"].apply(positive, self, alpha * (negative / alpha).expm1())

    def hardtanh(self, min_val=-1.0, max_val=1.0):
        return self.clip(min_val, max_val)

    def relu6(self):
        return self.clip(0.0, 6.0)

    def hardsigmoid(self):
        """clip(x / 6 + 1/2, 0, 1)."""
        return (self / 6.0 + 0.5).clip(0.0, 1.0)

    def hardswish(self):
        """x * hardsigmoid(x)."""
        return self * self.hardsigmoid()

    def logsigmoid(self):
        """log(sigmoid(x)) = -softplus(-x), finite for every x."""
        return -((-self).softplus())

    def softsign(self):
        """x / (1 + |x|)."""
        return self / (1.0 + self.abs())

    def softmin(self, axis=-1):
        """softmax(-x)."""
        return (-self).softmax(axis)

    # ------------------------------------------------------------ reductions and scans
    def prod(self, axis=None, keepdims=False):
        return ops_reduce.Prod.apply(self, axis=_axes(axis, self.ndim), keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _plain(self, self.xp.any(self.data, axis=_axis_arg(axis), keepdims=keepdims))

    def all(self, axis=None, keepdims=False):
        return _plain(self, self.xp.all(self.data, axis=_axis_arg(axis), keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        """Index of the smallest entry (not differentiable)."""
        data = self.data
        if axis is None:
            data, axis = self.xp.reshape(data, (-1,)), 0
        if data.ndim and data.shape[_axis(axis, data.ndim)] == 0:
            raise ValueError(f"argmin over an empty axis of a tensor of shape {self.shape}")
        return _plain(self, self.xp.argmin(data, axis=axis, keepdims=keepdims))

    def _scan_input(self, axis):
        if axis is None:
            return self.reshape(-1), 0
        return self, _axis(axis, self.ndim)

    def cumsum(self, axis=None):
        """Running sums along ``axis`` (the flattened tensor when None)."""
        x, axis = self._scan_input(axis)
        return ops_reduce.CumSum.apply(x, axis=axis, include_initial=False)

    def cumprod(self, axis=None):
        """Running products along ``axis`` (the flattened tensor when None)."""
        x, axis = self._scan_input(axis)
        return ops_reduce.CumProd.apply(x, axis=axis, include_initial=False)

    def cummax(self, axis):
        """``(values, indices)``: the running maximum along ``axis`` and where each came from,
        as ``torch.cummax`` (of equal values the latest; from a NaN on, NaN and the latest
        NaN). Values are differentiable: each gradient goes to the entry it came from."""
        return self._running_extreme(axis, True)

    def cummin(self, axis):
        """``(values, indices)``: the running minimum along ``axis``, as ``torch.cummin``."""
        return self._running_extreme(axis, False)

    def _running_extreme(self, axis, largest):
        if self.ndim == 0:
            _axes(axis, 0)  # a 0-d tensor takes axis 0 or -1, as in torch
        x = self.reshape(1) if self.ndim == 0 else self
        axis = _axis(axis, x.ndim)
        if self.xp.isdtype(self.dtype, "complex floating"):
            raise TypeError(f"cummax/cummin need real numbers, got {self.dtype}")
        indices = backend.running_extreme_indices(x.xp, x.data, axis, largest)
        values = ops_shape.TakeAlongAxis.apply(x, indices, axis=axis)
        if self.ndim == 0:
            values, indices = values.reshape(()), self.xp.reshape(indices, ())
        result = CummaxResult if largest else CumminResult
        return result(values, new_tensor(indices))

    def logcumsumexp(self, axis=None):
        """log(cumsum(exp(x))), shifted by the (constant) max along ``axis``: no overflow."""
        x, axis = self._scan_input(axis)
        if x.size == 0:
            return x * 1.0  # the empty result, as in PyTorch
        xp = x.xp
        shift = xp.max(x.data, axis=axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))
        shift = new_tensor(shift)
        return (x - shift).exp().cumsum(axis).log() + shift

    def argsort(self, axis=-1, descending=False, stable=True):
        """Indices that sort along ``axis`` (stable: ties keep their order; not differentiable)."""
        return _plain(
            self,
            backend.argsort(self.xp, self.data, axis=axis, descending=descending, stable=stable),
        )

    def sort(self, axis=-1, descending=False, stable=True):
        """``(values, indices)`` sorted along ``axis``, as ``torch.sort``; values are differentiable
        (each value's gradient goes back to the entry it came from)."""
        indices = self.argsort(axis=axis, descending=descending, stable=stable)
        values = ops_shape.TakeAlongAxis.apply(self, indices.data, axis=_axis(axis, self.ndim))
        return values, indices

    def topk(self, k, axis=-1, largest=True, sorted=True):
        """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries."""
        axis = _axis(axis, self.ndim)
        if not 0 <= k <= self.shape[axis]:
            raise ValueError(f"topk: k={k} is out of range for axis {axis} of shape {self.shape}")
        values, indices = self.sort(axis=axis, descending=largest)
        keep = (slice(None),) * axis + (slice(0, k),)
        return values[keep], indices[keep]

    # ------------------------------------------------------------ shapes
    def flip(self, axis=None):
        """Reverse the order along ``axis`` (every axis when None)."""
        return ops_shape.Flip.apply(self, axes=_axes(axis, self.ndim))

    def take(self, indices, axis=None):
        """Entries at integer ``indices`` along ``axis`` (of the flattened tensor when None)."""
        x = self.reshape(-1) if axis is None else self
        axis = 0 if axis is None else _axis(axis, self.ndim)
        return x[(slice(None),) * axis + (_as_index_array(x, indices),)]

    def roll(self, shifts, axis=None):
        """Entries shifted by ``shifts`` along ``axis``, wrapping around (flattened when None)."""
        if axis is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        if len(shifts) != len(axes):
            raise ValueError(f"roll needs one shift per axis, got {shifts} and {axes}")
        out = self
        for shift, a in zip(shifts, axes):
            a = _axis(a, self.ndim)
            n = self.shape[a]
            if n:
                xp = self.xp
                positions = (xp.arange(n, device=backend.device_of(self.data)) - shift) % n
                out = out.take(positions, axis=a)
        return out

    def _triangle(self, keep):
        if self.ndim < 2:
            raise ValueError(f"tril/triu need at least 2 dimensions, got shape {self.shape}")
        xp, device = self.xp, backend.device_of(self.data)
        rows = xp.reshape(xp.arange(self.shape[-2], device=device), (-1, 1))
        columns = xp.reshape(xp.arange(self.shape[-1], device=device), (1, -1))
        return _op["Where"].apply(new_tensor(keep(columns - rows)), self, 0)

    def tril(self, k=0):
        """Entries on and below the k-th diagonal; 0 above."""
        return self._triangle(lambda offset: offset <= k)

    def triu(self, k=0):
        """Entries on and above the k-th diagonal; 0 below."""
        return self._triangle(lambda offset: offset >= k)

    def tile(self, reps):
        """The tensor repeated ``reps[i]`` times along axis i (leading axes added as needed)."""
        reps = (reps,) if isinstance(reps, int) else tuple(reps)
        ndim = max(self.ndim, len(reps))
        reps = (1,) * (ndim - len(reps)) + reps
        shape = (1,) * (ndim - self.ndim) + self.shape
        spread = tuple(n for pair in zip((1,) * ndim, shape) for n in pair)
        target = tuple(n for pair in zip(reps, shape) for n in pair)
        tiled = self.reshape(spread).broadcast_to(target)
        return tiled.reshape(tuple(r * n for r, n in zip(reps, shape)))

    def repeat(self, *sizes):
        """PyTorch's ``repeat``: the tensor tiled ``sizes`` times (see ``tile``)."""
        sizes = sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat needs at least {self.ndim} sizes, got {sizes}")
        return self.tile(sizes)

    def repeat_interleave(self, repeats, axis=None):
        """Each entry repeated ``repeats`` times (an int, or one count per entry) along ``axis``."""
        x, axis = (self.reshape(-1), 0) if axis is None else (self, _axis(axis, self.ndim))
        xp, n = x.xp, x.shape[axis]
        counts = _as_index_array(x, repeats)
        positions = xp.repeat(xp.arange(n, device=backend.device_of(x.data)), counts)
        return x.take(positions, axis=axis)

    def split(self, split_size_or_sections, axis=0):
        """PyTorch's ``split``: pieces of ``split_size`` (the last may be shorter), or of the
        listed sizes, along ``axis``."""
        axis = _axis(axis, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size_or_sections, int):
            size = split_size_or_sections
            if size <= 0:
                raise ValueError(f"split size must be positive, got {size}")
            sizes = [min(size, n - start) for start in range(0, n, size)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ValueError(f"split sizes {sizes} do not add up to {n} along axis {axis}")
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self[(slice(None),) * axis + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def chunk(self, chunks, axis=0):
        """``chunks`` pieces of equal size (the last may be smaller) along ``axis``."""
        n = self.shape[_axis(axis, self.ndim)]
        return self.split(max(1, math.ceil(n / chunks)), axis)

    def unflatten(self, axis, sizes):
        """Axis ``axis`` split into axes of ``sizes`` (one of them may be -1)."""
        axis = _axis(axis, self.ndim)
        return self.reshape(self.shape[:axis] + tuple(sizes) + self.shape[axis + 1 :])

    def moveaxis(self, source, destination):
        """Axes ``source`` moved to positions ``destination``, the others kept in order."""
        source = _axes(source, self.ndim)
        destination = _axes(destination, self.ndim)
        if len(source) != len(destination):
            raise ValueError(
                f"moveaxis needs as many sources as destinations: {source}, {destination}"
            )
        order = [a for a in range(self.ndim) if a not in source]
        for dest, src in sorted(zip(destination, source)):
            order.insert(dest, src)
        return self.transpose(tuple(order))

    def diagonal(self, offset=0, axis1=0, axis2=1):
        """The ``offset`` diagonal of the planes ``(axis1, axis2)``, as a last axis (PyTorch's)."""
        axis1, axis2 = _axis(axis1, self.ndim), _axis(axis2, self.ndim)
        x = self.moveaxis((axis1, axis2), (-2, -1))
        rows, columns = x.shape[-2], x.shape[-1]
        length = max(0, min(rows, columns - offset) if offset >= 0 else min(rows + offset, columns))
        xp, device = x.xp, backend.device_of(x.data)
        start_row, start_column = max(0, -offset), max(0, offset)
        row_index = xp.arange(start_row, start_row + length, device=device)
        column_index = xp.arange(start_column, start_column + length, device=device)
        return x[(slice(None),) * (x.ndim - 2) + (row_index, column_index)]

    # ------------------------------------------------------------ PyTorch's indexing ops
    def gather(self, axis, index):
        """``out[i][j] = x[index[i][j]][j]`` along ``axis`` (PyTorch's ``gather``)."""
        axis = _axis(axis, self.ndim)
        index = _as_index_array(self, index)
        if index.ndim != self.ndim:
            raise ValueError(f"gather: index has {index.ndim} dimensions, the tensor {self.ndim}")
        window = tuple(
            slice(None) if i == axis else slice(0, index.shape[i]) for i in range(self.ndim)
        )
        return ops_shape.TakeAlongAxis.apply(
            self[window], backend.as_index(self.xp, index), axis=axis
        )

    def scatter_add(self, axis, index, src):
        """x with ``src[i][j]`` added at ``x[index[i][j]][j]`` along ``axis`` (repeats summed)."""
        axis = _axis(axis, self.ndim)
        index = backend.as_index(self.xp, _as_index_array(self, index))
        if is_tensor(src) and src.shape != tuple(index.shape):
            src = src[tuple(slice(0, n) for n in index.shape)]
        added = ops_shape.ScatterAddAlongAxis.apply(src, index, shape=self.shape, axis=axis)
        return self + added

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is true, x elsewhere (differentiable in x, value)."""
        mask = mask if is_tensor(mask) else type(self)(mask, backend=self.xp, device=self.device)
        return _op["Where"].apply(mask, value, self)

    def one_hot(self, num_classes=-1):
        """``out[..., c] = (x[...] == c)`` as int64 (PyTorch's ``one_hot``; -1: max + 1 classes)."""
        xp = self.xp
        if num_classes < 0:
            num_classes = int(xp.max(self.data)) + 1 if self.size else 0
        classes = xp.arange(num_classes, dtype=self.dtype, device=backend.device_of(self.data))
        return _plain(self, xp.astype(self.data[..., None] == classes, xp.int64))


def _axis_arg(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _normalize_index(tensor, index):
    """Tensors and lists inside an index as raw arrays (as tensor._normalize_index)."""
    parts = index if isinstance(index, tuple) else (index,)
    normalized = []
    for part in parts:
        if is_tensor(part):
            part = part.data
        elif isinstance(part, list):
            part = tensor.xp.asarray(part, device=backend.device_of(tensor.data))
        normalized.append(part)
    xp = tensor.xp
    consumed = sum(
        getattr(part, "ndim", 1) if getattr(part, "dtype", None) == xp.bool else 1
        for part in normalized
        if part is not None and part is not Ellipsis
    )
    if consumed < tensor.ndim and not any(part is Ellipsis for part in normalized):
        normalized.append(Ellipsis)  # the standard wants the untouched trailing axes explicit
    return tuple(normalized)
