"""``ArrayNamespace``: the standard's functions over Tensors of one backend.

The differentiable functions are written out below, each naming the Tensor
method or op that computes it. Every other function of the standard is the
backend's own, wrapped (``_plain_function``): Tensors in, plain Tensors out.
The table ``PLAIN_FUNCTIONS`` lists those; ``tests/test_array_api.py`` checks
that the two together cover every name of the 2024.12 standard.
"""

from __future__ import annotations

import collections
import types

from .. import backend, ops_linalg, ops_reduce, ops_shape
from ..function import Function, is_tensor, new_tensor
from ._linalg import LinalgNamespace
from ._wrapping import plain_function, unwrap

_op = Function.registry  # the core's ops by name (Add, Where, Concat, ... from ops.py)

API_VERSION = "2024.12"

DTYPE_NAMES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
CONSTANT_NAMES = ("e", "inf", "nan", "newaxis", "pi")

# The standard's functions without a derivative here: the backend's own, wrapped.
PLAIN_FUNCTIONS = (
    # creation
    "arange", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like", "linspace",
    "ones", "ones_like", "zeros", "zeros_like",
    # data types
    "can_cast", "iinfo", "isdtype", "result_type",
    # elementwise: comparisons, logic, bits, integer division, complex parts, inspection
    "bitwise_and", "bitwise_left_shift", "bitwise_invert", "bitwise_or", "bitwise_right_shift",
    "bitwise_xor", "conj", "copysign", "equal", "greater", "greater_equal",
    "imag", "isfinite", "isinf", "isnan", "less", "less_equal", "logical_and", "logical_not",
    "logical_or", "logical_xor", "nextafter", "not_equal", "real", "remainder", "signbit",
    # searching, sorting, sets, utilities
    "argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "argsort",
    "unique_all", "unique_counts", "unique_inverse", "unique_values", "all", "any",
)  # fmt: skip
FFT_FUNCTIONS = (
    "fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
    "fftfreq", "rfftfreq", "fftshift", "ifftshift",
)  # fmt: skip


class ArrayNamespace:
    """The Array-API namespace over Tensors of the backend ``xp`` (see the package docstring)."""

    __array_api_version__ = API_VERSION
    wraps_tensors = True  # its arrays are Tensors, not backend arrays (backend.namespace_of)

    def __init__(self, xp):
        self._xp = xp  # the namespace the ops compute with
        self._standard = backend.compat_namespace(xp)  # the backend's own standard functions
        self._array_type = type(xp.asarray(0))
        self.__name__ = f"tinygrad_edu.array_api[{backend.backend_name(xp)}]"
        for name in DTYPE_NAMES:
            if hasattr(self._standard, name):
                setattr(self, name, getattr(self._standard, name))
        for name in CONSTANT_NAMES:
            setattr(self, name, getattr(self._standard, name))
        for name in PLAIN_FUNCTIONS:
            if hasattr(self._standard, name):
                setattr(self, name, plain_function(self, getattr(self._standard, name)))
        self.linalg = LinalgNamespace(self)
        self.fft = types.SimpleNamespace(
            **{
                name: plain_function(self, getattr(self._standard.fft, name))
                for name in FFT_FUNCTIONS
                if hasattr(getattr(self._standard, "fft", None), name)
            }
        )  # not differentiable

    def __repr__(self) -> str:
        return f"<Array-API namespace {self.__name__}>"

    # ------------------------------------------------------------ Tensors in and out
    def _wrap(self, value):
        """Backend arrays (also in tuples and lists) as plain Tensors; other values as they are."""
        if type(value) is self._array_type:
            return new_tensor(value)
        if isinstance(value, tuple):
            items = [self._wrap(v) for v in value]
            if hasattr(value, "_fields"):  # a namedtuple (NumPy's, strict's)
                return type(value)(*items)
            if type(value) is not tuple:  # a struct sequence (torch.return_types)
                return type(value)(items)
            return tuple(items)
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if hasattr(value, "__array__") and hasattr(value, "dtype") and hasattr(value, "shape"):
            return new_tensor(self._xp.asarray(value))  # a NumPy scalar: a 0-d array
        return value

    def _tensor(self, x):
        """``x`` as a Tensor of this backend (Tensors pass through)."""
        if is_tensor(x):
            return x
        return new_tensor(self._xp.asarray(unwrap(x)))

    def _tracked(self, *values) -> bool:
        """Whether the op path applies: some input is a Tensor of a real floating dtype."""
        return any(
            is_tensor(v) and backend.is_kind(self._xp, v.dtype, "real floating") for v in values
        )

    def _call(self, name, *args, **kwargs):
        """The backend's standard function ``name`` on unwrapped arguments, wrapped back."""
        function = getattr(self._standard, name)
        return self._wrap(function(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()}))

    def _operand(self, x):
        return x if is_tensor(x) or isinstance(x, (bool, int, float)) else self._tensor(x)

    def _unary(self, name, x, method):
        if self._tracked(x):
            return method(x)
        return self._call(name, x)

    def _binary(self, name, x1, x2, op):
        if self._tracked(x1, x2):
            return op(self._operand(x1), self._operand(x2))
        return self._call(name, x1, x2)

    # ------------------------------------------------------------ inspection
    def __array_namespace_info__(self):
        return _Info(self._standard.__array_namespace_info__())

    def finfo(self, type, /):
        info = self._standard.finfo(unwrap(type))
        return _FloatInfo(
            int(info.bits), float(info.eps), float(info.max), float(info.min),
            float(info.smallest_normal), info.dtype,
        )  # fmt: skip

    # ------------------------------------------------------------ creation
    def meshgrid(self, *arrays, indexing="xy"):
        return list(self._call("meshgrid", *arrays, indexing=indexing))

    def asarray(self, obj, /, *, dtype=None, device=None, copy=None):
        if is_tensor(obj):
            same_dtype = dtype is None or dtype == obj.dtype
            same_device = device is None or str(device) == str(obj.device)
            if same_dtype and same_device and not copy:
                return obj
            if copy is False:
                raise ValueError("asarray(copy=False) cannot change the dtype or device")
            out = obj if same_device else obj.to(device=device)
            return out.astype(dtype if dtype is not None else obj.dtype)
        return self._call("asarray", obj, dtype=dtype, device=device, copy=copy)

    def tril(self, x, /, *, k=0):
        return self._tensor(x).tril(k)

    def triu(self, x, /, *, k=0):
        return self._tensor(x).triu(k)

    # ------------------------------------------------------------ data types
    def astype(self, x, dtype, /, *, copy=True, device=None):
        x = self._tensor(x)
        if device is not None and str(device) != str(x.device):
            x = x.to(device=device)
        if dtype == x.dtype and not copy:
            return x
        if self._tracked(x) and backend.is_kind(self._xp, dtype, "real floating"):
            return x.astype(dtype)
        return self._call("astype", x, dtype, copy=copy)

    # ------------------------------------------------------------ elementwise: unary
    def abs(self, x, /):
        return self._unary("abs", x, lambda t: t.abs())

    def acos(self, x, /):
        return self._unary("acos", x, lambda t: t.acos())

    def acosh(self, x, /):
        return self._unary("acosh", x, lambda t: t.acosh())

    def asin(self, x, /):
        return self._unary("asin", x, lambda t: t.asin())

    def asinh(self, x, /):
        return self._unary("asinh", x, lambda t: t.asinh())

    def atan(self, x, /):
        return self._unary("atan", x, lambda t: t.atan())

    def atanh(self, x, /):
        return self._unary("atanh", x, lambda t: t.atanh())

    def ceil(self, x, /):
        return self._unary("ceil", x, lambda t: t.ceil())

    def cos(self, x, /):
        return self._unary("cos", x, lambda t: t.cos())

    def cosh(self, x, /):
        return self._unary("cosh", x, lambda t: t.cosh())

    def exp(self, x, /):
        return self._unary("exp", x, lambda t: t.exp())

    def expm1(self, x, /):
        return self._unary("expm1", x, lambda t: t.expm1())

    def floor(self, x, /):
        return self._unary("floor", x, lambda t: t.floor())

    def log(self, x, /):
        return self._unary("log", x, lambda t: t.log())

    def log1p(self, x, /):
        return self._unary("log1p", x, lambda t: t.log1p())

    def log2(self, x, /):
        return self._unary("log2", x, lambda t: t.log2())

    def log10(self, x, /):
        return self._unary("log10", x, lambda t: t.log10())

    def negative(self, x, /):
        return self._unary("negative", x, lambda t: -t)

    def positive(self, x, /):
        return self._unary("positive", x, lambda t: t)

    def reciprocal(self, x, /):
        return self._unary("reciprocal", x, lambda t: t.reciprocal())

    def round(self, x, /):
        return self._unary("round", x, lambda t: t.round())

    def sign(self, x, /):
        return self._unary("sign", x, lambda t: t.sign())

    def sin(self, x, /):
        return self._unary("sin", x, lambda t: t.sin())

    def sinh(self, x, /):
        return self._unary("sinh", x, lambda t: t.sinh())

    def square(self, x, /):
        return self._unary("square", x, lambda t: t.square())

    def sqrt(self, x, /):
        return self._unary("sqrt", x, lambda t: t.sqrt())

    def tan(self, x, /):
        return self._unary("tan", x, lambda t: t.tan())

    def tanh(self, x, /):
        return self._unary("tanh", x, lambda t: t.tanh())

    def trunc(self, x, /):
        return self._unary("trunc", x, lambda t: t.trunc())

    def clip(self, x, /, min=None, max=None):
        if not self._tracked(x):
            return self._call("clip", x, min=min, max=max)
        if not (is_tensor(min) or is_tensor(max)):
            return x.clip(min, max)
        out = x  # array bounds: clip by where, so the bounds get gradients too
        if min is not None:
            out = _op["Where"].apply(_compare(out, min, "lt"), self._operand(min), out)
        if max is not None:
            out = _op["Where"].apply(_compare(out, max, "gt"), self._operand(max), out)
        return out.astype(x.dtype) if out.dtype != x.dtype else out

    # ------------------------------------------------------------ elementwise: binary
    def add(self, x1, x2, /):
        return self._binary("add", x1, x2, lambda a, b: _op["Add"].apply(a, b))

    def subtract(self, x1, x2, /):
        return self._binary("subtract", x1, x2, lambda a, b: _op["Sub"].apply(a, b))

    def multiply(self, x1, x2, /):
        return self._binary("multiply", x1, x2, lambda a, b: _op["Mul"].apply(a, b))

    def divide(self, x1, x2, /):
        return self._binary("divide", x1, x2, lambda a, b: _op["Div"].apply(a, b))

    def pow(self, x1, x2, /):
        return self._binary("pow", x1, x2, lambda a, b: _op["Pow"].apply(a, b))

    def atan2(self, x1, x2, /):
        return self._binary("atan2", x1, x2, lambda a, b: _op["Atan2"].apply(a, b))

    def hypot(self, x1, x2, /):
        return self._binary("hypot", x1, x2, lambda a, b: _op["Hypot"].apply(a, b))

    def logaddexp(self, x1, x2, /):
        return self._binary("logaddexp", x1, x2, lambda a, b: _op["LogAddExp"].apply(a, b))

    def maximum(self, x1, x2, /):
        return self._binary("maximum", x1, x2, lambda a, b: _op["Maximum"].apply(a, b))

    def minimum(self, x1, x2, /):
        # min(a, b) = -max(-a, -b), as tg.minimum (functional.py)
        return self._binary("minimum", x1, x2, lambda a, b: -_op["Maximum"].apply(-a, -b))

    def floor_divide(self, x1, x2, /):
        """Not differentiable; the standard's special cases (``backend.floor_divide``)."""
        data1, data2 = unwrap(x1), unwrap(x2)
        return self._wrap(backend.floor_divide(self._standard, data1, data2))

    # ------------------------------------------------------------ statistics
    def _reduced(self, name, x, axis, keepdims, method, dtype=None, **kwargs):
        if not self._tracked(x):
            if dtype is not None:
                kwargs["dtype"] = dtype
            return self._call(name, x, axis=axis, keepdims=keepdims, **kwargs)
        if dtype is not None and dtype != x.dtype:
            x = x.astype(dtype)
        return method(x, axis=_axis_tuple(axis), keepdims=keepdims, **kwargs)

    def sum(self, x, /, *, axis=None, dtype=None, keepdims=False):
        return self._reduced("sum", x, axis, keepdims, lambda t, **kw: t.sum(**kw), dtype)

    def prod(self, x, /, *, axis=None, dtype=None, keepdims=False):
        return self._reduced("prod", x, axis, keepdims, lambda t, **kw: t.prod(**kw), dtype)

    def mean(self, x, /, *, axis=None, keepdims=False):
        return self._reduced("mean", x, axis, keepdims, lambda t, **kw: t.mean(**kw))

    def max(self, x, /, *, axis=None, keepdims=False):
        return self._reduced("max", x, axis, keepdims, lambda t, **kw: t.max(**kw))

    def min(self, x, /, *, axis=None, keepdims=False):
        return self._reduced("min", x, axis, keepdims, lambda t, **kw: t.min(**kw))

    def var(self, x, /, *, axis=None, correction=0.0, keepdims=False):
        return self._reduced(
            "var", x, axis, keepdims, lambda t, **kw: t.var(**kw), correction=correction
        )

    def std(self, x, /, *, axis=None, correction=0.0, keepdims=False):
        return self._reduced(
            "std", x, axis, keepdims, lambda t, **kw: t.std(**kw), correction=correction
        )

    def _scan(self, name, op, x, axis, dtype, include_initial):
        if not self._tracked(x):
            if dtype is None and op is ops_reduce.CumProd:  # integers: as prod (JAX keeps int8)
                dtype = backend.product_dtype(self._xp, self._tensor(x).data)
            return self._call(name, x, axis=axis, dtype=dtype, include_initial=include_initial)
        if dtype is not None and dtype != x.dtype:
            x = x.astype(dtype)
        if axis is None:
            if x.ndim > 1:
                raise ValueError(f"{name} needs an axis for a {x.ndim}-d array")
            axis = 0
        axis = axis % max(x.ndim, 1)
        return op.apply(x, axis=axis, include_initial=include_initial)

    def cumulative_sum(self, x, /, *, axis=None, dtype=None, include_initial=False):
        return self._scan("cumulative_sum", ops_reduce.CumSum, x, axis, dtype, include_initial)

    def cumulative_prod(self, x, /, *, axis=None, dtype=None, include_initial=False):
        return self._scan("cumulative_prod", ops_reduce.CumProd, x, axis, dtype, include_initial)

    def diff(self, x, /, *, axis=-1, n=1, prepend=None, append=None):
        """``n``-th forward differences along ``axis``, after ``prepend``/``append``."""
        if not self._tracked(x, prepend, append):
            ends = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
            return self._call("diff", x, axis=axis, n=n, **ends)  # NumPy's takes None as data
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"diff needs a non-negative integer n, got {n!r}")
        x = self._tensor(x)
        axis = axis % max(x.ndim, 1)
        parts = [self._tensor(p) for p in (prepend, x, append) if p is not None]
        if len(parts) > 1:
            x = _op["Concat"].apply(*parts, axis=axis)
        for _ in range(n):
            length = x.shape[axis]
            if length == 0:
                break
            before = (slice(None),) * axis
            x = x[before + (slice(1, length), ...)] - x[before + (slice(0, length - 1), ...)]
        return x

    # ------------------------------------------------------------ searching, sorting, indexing
    def where(self, condition, x1, x2, /):
        if self._tracked(x1, x2):
            return _op["Where"].apply(self._tensor(condition), self._operand(x1), self._operand(x2))
        return self._call("where", condition, x1, x2)

    def sort(self, x, /, *, axis=-1, descending=False, stable=True):
        if self._tracked(x):
            return x.sort(axis=axis, descending=descending, stable=stable)[0]
        return self._call("sort", x, axis=axis, descending=descending, stable=stable)

    def take(self, x, indices, /, *, axis=None):
        if self._tracked(x):
            return x.take(unwrap(indices), axis=axis)
        return self._call("take", x, indices, axis=axis)

    def take_along_axis(self, x, indices, /, *, axis=-1):
        if self._tracked(x):
            axis = axis % max(x.ndim, 1)
            return ops_shape.TakeAlongAxis.apply(x, unwrap(indices), axis=axis)
        return self._call("take_along_axis", x, indices, axis=axis)

    # ------------------------------------------------------------ manipulation (every dtype)
    def broadcast_arrays(self, *arrays):
        arrays = [self._tensor(a) for a in arrays]
        shape = _broadcast_shapes(*[a.shape for a in arrays])
        return [a if a.shape == tuple(shape) else a.broadcast_to(tuple(shape)) for a in arrays]

    def broadcast_to(self, x, /, shape):
        return self._tensor(x).broadcast_to(tuple(shape))

    def concat(self, arrays, /, *, axis=0):
        arrays = [self._tensor(a) for a in arrays]
        if axis is None:
            arrays, axis = [a.reshape(-1) for a in arrays], 0
        dtype = self._standard.result_type(*[a.dtype for a in arrays])
        arrays = [a if a.dtype == dtype else a.astype(dtype) for a in arrays]
        ndim = arrays[0].ndim
        return _op["Concat"].apply(*arrays, axis=axis % max(ndim, 1))

    def expand_dims(self, x, /, axis=0):
        x = self._tensor(x)
        if not -(x.ndim + 1) <= axis <= x.ndim:
            raise IndexError(f"axis {axis} is out of range for expand_dims of shape {x.shape}")
        axis = axis % (x.ndim + 1)
        return x.reshape(x.shape[:axis] + (1,) + x.shape[axis:])

    def flip(self, x, /, *, axis=None):
        return self._tensor(x).flip(axis)

    def moveaxis(self, x, source, destination, /):
        return self._tensor(x).moveaxis(source, destination)

    def permute_dims(self, x, /, axes):
        x = self._tensor(x)
        return _op["Permute"].apply(x, axes=tuple(a % max(x.ndim, 1) for a in axes))

    def repeat(self, x, repeats, /, *, axis=None):
        x = self._tensor(x)
        return x.repeat_interleave(unwrap(repeats), axis=axis)

    def reshape(self, x, /, shape, *, copy=None):
        x = self._tensor(x)
        return x.reshape(tuple(shape))

    def roll(self, x, /, shift, *, axis=None):
        return self._tensor(x).roll(shift, axis)

    def squeeze(self, x, /, axis):
        x = self._tensor(x)
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        bound = max(x.ndim, 1)
        axes = tuple(a % bound for a in axes)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"cannot squeeze axis {a} of length {x.shape[a]}")
        return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))

    def stack(self, arrays, /, *, axis=0):
        arrays = [self._tensor(a) for a in arrays]
        if len({a.shape for a in arrays}) != 1:
            raise ValueError(f"stack needs arrays of one shape, got {[a.shape for a in arrays]}")
        ndim = arrays[0].ndim + 1
        if not -ndim <= axis < ndim:
            raise IndexError(f"axis {axis} is out of range for stack")
        axis = axis % ndim
        return self.concat([self.expand_dims(a, axis=axis) for a in arrays], axis=axis)

    def tile(self, x, repetitions, /):
        return self._tensor(x).tile(tuple(repetitions))

    def unstack(self, x, /, *, axis=0):
        x = self._tensor(x)
        axis = axis % max(x.ndim, 1)
        return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))

    # ------------------------------------------------------------ linear algebra
    def matmul(self, x1, x2, /):
        if self._tracked(x1, x2):
            return self._tensor(x1) @ self._tensor(x2)
        return self._call("matmul", x1, x2)

    def matrix_transpose(self, x, /):
        x = self._tensor(x)
        if x.ndim < 2:
            raise ValueError(f"matrix_transpose needs at least 2 dimensions, got {x.shape}")
        return x.mT

    def tensordot(self, x1, x2, /, *, axes=2):
        if self._tracked(x1, x2):
            return ops_linalg.tensordot(self._tensor(x1), self._tensor(x2), axes)
        return self._call("tensordot", x1, x2, axes=axes)

    def vecdot(self, x1, x2, /, *, axis=-1):
        if self._tracked(x1, x2):
            return ops_linalg.vecdot(self._tensor(x1), self._tensor(x2), axis)
        return self._call("vecdot", x1, x2, axis=axis)


# ------------------------------------------------------------ helpers
_FloatInfo = collections.namedtuple("finfo", "bits eps max min smallest_normal dtype")


class _Info:
    """The backend's ``__array_namespace_info__()``, with ``devices()`` as a list."""

    def __init__(self, info):
        self._info = info

    def capabilities(self):
        return self._info.capabilities()

    def default_device(self):
        return self._info.default_device()

    def default_dtypes(self, *, device=None):
        return self._info.default_dtypes(device=device)

    def dtypes(self, *, device=None, kind=None):
        return self._info.dtypes(device=device, kind=kind)

    def devices(self):
        return list(self._info.devices())


def _axis_tuple(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _compare(x, bound, how):
    data = bound.data if is_tensor(bound) else bound
    result = x.data < data if how == "lt" else x.data > data
    return new_tensor(x.xp.asarray(result))


def _broadcast_shapes(*shapes):
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        sizes = {s[i - ndim + len(s)] for s in shapes if i - ndim + len(s) >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} cannot be broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)
