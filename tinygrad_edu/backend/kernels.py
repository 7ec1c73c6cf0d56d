"""What the 2024.12 standard lacks, or some backends do not support: each a native
fast path, then a standard fallback.

* ``getitem``: NumPy's indexing rules on every backend;
* ``scatter_add_1d`` and ``index_add``: the adjoint of integer indexing
  (repeated indices sum);
* ``subtract_at_rows``: the cross-entropy gradient's in-place class subtraction;
* ``erf``; ``stable_sigmoid`` and ``stable_softmax`` (standard functions only,
  no overflow for any input);
* ``method_shortcuts``: array methods that skip a Python wrapper;
* ``all_in_range`` / ``integer_range``: fast checks of class targets.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .arrays import as_index, device_of
from .namespaces import backend_name, is_mutable


@functools.cache
def method_shortcuts(xp) -> dict:
    """Array methods that do what a namespace function does, minus a Python wrapper.

    ``numpy.sum``, ``numpy.argmax`` and ``numpy.reshape`` are Python functions
    that end in the array's own ``.sum``/``.reshape`` method; calling the
    method directly saves 0.5-0.8 us a call, which is most of the cost on
    small arrays (measured in docs/performance.md). Only for libraries whose
    arrays are known to have these methods with the standard's meaning; empty
    for the others. ``.mT`` likewise for libraries whose arrays have it.
    """
    shortcuts = {}
    if backend_name(xp) in ("numpy", "cupy"):
        shortcuts = {
            "sum": _sum_method,
            "argmax": _argmax_method,
            "reshape": _reshape_method,
            "astype": _astype_method,
        }
    if backend_name(xp) in ("numpy", "cupy", "torch", "jax", "array_api_strict"):
        shortcuts["matrix_transpose"] = _mT_attribute
    if backend_name(xp) != "torch":  # torch's ``@`` does not promote mixed dtypes
        shortcuts["matmul"] = _matmul_operator
    return shortcuts


def _sum_method(x, axis=None, keepdims=False):
    return x.sum(axis=axis, keepdims=keepdims)


def _argmax_method(x, axis=None):
    return x.argmax(axis=axis)


def _astype_method(x, dtype):
    return x.astype(dtype)


def _reshape_method(x, shape):
    return x.reshape(shape)


def _mT_attribute(x):
    return x.mT


def _matmul_operator(a, b):
    return a @ b


def all_in_range(xp, array, upper: int) -> bool:
    """Whether every entry of a non-empty integer array lies in ``[0, upper)``."""
    if type(array) is np.ndarray and array.dtype.kind == "i":
        # Read as unsigned, a negative entry is a huge number: one reduction checks both ends.
        return int(array.view(f"u{array.dtype.itemsize}").max()) < upper
    if getattr(type(xp), "records_calls", False):  # tg.compile: a check of every replay
        return xp.record_check(all_in_range, array, upper)
    low, high = integer_range(xp, array)
    return low >= 0 and high < upper


def integer_range(xp, array) -> tuple:
    """``(min, max)`` of a non-empty integer array as Python ints (for input checks)."""
    if backend_name(xp) in ("numpy", "cupy"):
        return int(array.min()), int(array.max())  # the methods skip a Python wrapper
    return int(xp.min(array)), int(xp.max(array))


def as_array(xp, value, like):
    """A Python scalar as a 0-d array of ``like``'s dtype and device; arrays pass through."""
    if isinstance(value, (bool, int, float)):
        return xp.asarray(value, dtype=like.dtype, device=device_of(like))
    return value


def stable_sigmoid(xp, x):
    """1 / (1 + exp(-x)) from ``e = exp(-|x|) <= 1``: 1/(1+e) for x >= 0, e/(1+e) below."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def stable_softmax(xp, x, axis):
    """exp(x - max x) / sum exp(x - max x): every exponent <= 0, nothing overflows."""
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _is_basic(index: tuple) -> bool:
    """Only ints, slices and Ellipsis: ``out[index] = g`` writes each place once."""
    return all(part is Ellipsis or isinstance(part, (int, slice)) for part in index)


def index_add(xp, g, shape, index):
    """zeros(shape) with ``g`` added at ``index``; repeated indices sum.

    Basic indices write into a fresh zero array (or rebind on immutable
    backends); integer-array indices go through ``scatter_add_1d`` on flat
    positions, which sums repeats.
    """
    device = device_of(g)
    if _is_basic(index) and is_mutable(xp) and not _reverses(index):
        out = xp.zeros(shape, dtype=g.dtype, device=device)
        if backend_name(xp) not in _NUMPY_STYLE_INDEXING:
            index = _clamp_slices(index, shape)  # the standard clamps no slice
        out[index] = g
        return out
    size = math.prod(shape)
    positions = getitem(xp, xp.reshape(xp.arange(size, device=device), shape), index)
    flat = scatter_add_1d(xp, size, xp.reshape(positions, (-1,)), xp.reshape(g, (-1,)))
    return xp.reshape(flat, shape)


_NUMPY_STYLE_INDEXING = ("numpy", "cupy", "torch", "jax")


def getitem(xp, array, index: tuple):
    """``array[index]`` with NumPy's indexing rules on every backend.

    NumPy, CuPy, torch and JAX index that way themselves. Elsewhere (the
    standard allows integer index arrays only beside integers and clamps no
    slice; Dask takes one index array) ``_numpy_indexing`` builds the result
    from the standard's pieces. A boolean mask is passed on as it is; on Dask
    it gives unknown sizes, which are computed at once: every Tensor has a
    known shape.
    """
    name = backend_name(xp)
    if name == "torch":  # torch reads uint8 as a mask and refuses int8/int16 indices
        index = tuple(_as_index_unless_mask(xp, part) for part in index)
    if name in _NUMPY_STYLE_INDEXING and not (name == "torch" and _reverses(index)):
        return array[index]  # (torch takes no negative slice step)
    if any(hasattr(part, "shape") and part.dtype == xp.bool for part in index):
        result = array[index]
        if name == "dask" and any(math.isnan(n) for n in result.shape):
            result.compute_chunk_sizes()
        return result
    return _numpy_indexing(xp, array, index)


def _numpy_indexing(xp, array, index: tuple):
    """NumPy's integer-array indexing from basic indexing, one ``take`` and a transpose.

    1. Basic indexing with every slice clamped to its axis; the axes indexed by
       arrays are kept whole. (Beside an index array an int is one too, a 0-d one.)
    2. The index arrays, broadcast to a shape B, name positions in those axes:
       they are moved to the front, merged into one axis, and one ``take`` at the
       flat positions ``sum_k idx_k * stride_k`` gathers them: the result is
       B followed by the other axes.
    3. As in NumPy, B stays at the front if the index arrays were apart in the
       index, and otherwise moves to where they stood.
    """
    parts = _every_axis(index, array.ndim)
    has_arrays = any(hasattr(part, "shape") for part in parts)
    basic, advanced, flipped, axis = [], [], [], 0  # advanced: (axis, positions, length)
    for part in parts:
        if part is None:
            basic.append(None)
            continue
        length = array.shape[axis]
        axis += 1
        if isinstance(part, int) and has_arrays:
            part = xp.asarray(part)
        if hasattr(part, "shape"):
            part = as_index(xp, part)  # flat positions overflow int8/int16/uint8
            advanced.append((len(basic), xp.where(part < 0, part + length, part), length))
            basic.append(slice(None))
        elif isinstance(part, slice):
            part = _clamped(part, length)
            if part.step < 0:  # the same positions forwards, then flipped
                positions = range(part.start, -1 if part.stop is None else part.stop, part.step)
                part = slice(positions[-1], positions[0] + 1, -part.step)
                flipped.append(len(basic))
            basic.append(part)
        else:
            basic.append(part)
    kept = [i for i, part in enumerate(basic) if not isinstance(part, int)]  # axes left after
    result = array[tuple(basic)]
    if flipped:
        result = xp.flip(result, axis=tuple(kept.index(i) for i in flipped))
    if not advanced:
        return result
    where = [kept.index(i) for i, _, _ in advanced]
    others = [i for i in range(result.ndim) if i not in where]
    positions = xp.broadcast_arrays(*[p for _, p, _ in advanced])
    flat = positions[0]
    for (_, _, length), axis_positions in zip(advanced[1:], positions[1:], strict=True):
        flat = flat * length + axis_positions
    moved = xp.permute_dims(result, tuple(where + others))
    rest = tuple(moved.shape[len(where) :])
    merged = xp.reshape(moved, (math.prod(n for _, _, n in advanced),) + rest)
    gathered = xp.reshape(xp.take(merged, xp.reshape(flat, (-1,)), axis=0), flat.shape + rest)
    first, count = where[0], flat.ndim
    if where != list(range(first, first + len(where))) or first == 0:
        return gathered
    order = (
        list(range(count, count + first))
        + list(range(count))
        + list(range(count + first, gathered.ndim))
    )
    return xp.permute_dims(gathered, tuple(order))


def _every_axis(index: tuple, ndim: int) -> list:
    """The index with its Ellipsis (or the missing trailing axes) written out as full slices."""
    named = sum(part is not None and part is not Ellipsis for part in index)
    parts = []
    for part in index:
        parts.extend([slice(None)] * (ndim - named) if part is Ellipsis else [part])
    if not any(part is Ellipsis for part in index):
        parts.extend([slice(None)] * (ndim - named))
    return parts


def _as_index_unless_mask(xp, part):
    if hasattr(part, "shape") and part.dtype != xp.bool:
        return as_index(xp, part)
    return part


def _reverses(index: tuple) -> bool:
    """Whether a slice of ``index`` steps backwards."""
    return any(isinstance(part, slice) and (part.step or 1) < 0 for part in index)


def _clamp_slices(index: tuple, shape: tuple) -> tuple:
    """A basic index (ints, slices, Ellipsis) with every slice clamped to its axis."""
    parts = _every_axis(index, len(shape))
    return tuple(_clamped(p, n) if isinstance(p, slice) else p for p, n in zip(parts, shape))


def _clamped(part: slice, length: int) -> slice:
    """``part`` with its bounds inside ``[0, length]``, as Python and NumPy read them."""
    positions = range(*part.indices(length))
    if not positions:
        return slice(0, 0, 1)
    stop = positions.stop if positions.stop >= 0 else None  # -1 after a negative step: "past 0"
    return slice(positions.start, stop, positions.step)


def zeros_like(xp, array):
    """``xp.zeros_like(array)``; for NumPy ``zeros(shape, dtype)``, one C call instead of
    ``zeros_like``'s Python body (``empty_like`` and then ``copyto``)."""
    if type(array) is np.ndarray:
        return np.zeros(array.shape, array.dtype)
    return xp.zeros_like(array)


def subtract_at_rows(xp, matrix, rows, columns, values):
    """``matrix[rows[i], columns[i]] -= values[i]``, in place, or None where unsupported.

    On backends whose arrays are mutable and take NumPy-style integer-array
    indices (NumPy, CuPy, PyTorch); the caller owns ``matrix``. Elsewhere
    None, and the caller subtracts a one-hot matrix instead.
    """
    if not _takes_numpy_indices_in_place(xp):
        return None
    matrix[rows, columns] -= values
    return matrix


@functools.cache
def _takes_numpy_indices_in_place(xp) -> bool:
    return backend_name(xp) in _NUMPY_STYLE_INDEXING and is_mutable(xp)


def scatter_add_1d(xp, size: int, positions, values):
    """``out = zeros(size); out[positions[i]] += values[i]`` summing repeats.

    Native paths: ``np.add.at``, ``cupyx.scatter_add``, torch ``index_add``,
    JAX ``.at[].add``, Dask ``bincount`` with weights. The standard fallback
    sums a one-hot selection of the values (repeated positions add up by
    construction; a NaN or inf reaches only its own position).
    """
    name = backend_name(xp)
    out_dtype = values.dtype
    if name == "numpy":
        out = np.zeros(size, dtype=out_dtype)
        np.add.at(out, positions, values)
        return out
    if name == "cupy":
        import cupyx

        out = xp.zeros(size, dtype=out_dtype, device=values.device)
        cupyx.scatter_add(out, positions, values)
        return out
    if name == "torch":
        out = xp.zeros(size, dtype=out_dtype, device=values.device)
        return out.index_add(0, positions, values)
    if name == "jax":
        return xp.zeros(size, dtype=out_dtype).at[positions].add(values)
    if name == "dask":
        import dask.array

        summed = dask.array.bincount(positions, weights=values, minlength=size)
        return summed.astype(out_dtype)  # bincount sums in float64
    columns = xp.arange(size, device=device_of(values))
    one_hot = positions[:, None] == columns[None, :]
    # where, not a product with the one-hot matrix: a NaN or inf stays in its own column
    zero = xp.zeros((), dtype=out_dtype, device=device_of(values))
    return xp.sum(xp.where(one_hot, values[:, None], zero), axis=0, dtype=out_dtype)


def erf(xp, x):
    """The error function, elementwise: native where the backend has it."""
    name = backend_name(xp)
    if name == "torch":
        import torch

        return torch.special.erf(x)
    if name == "jax":
        import jax

        return jax.scipy.special.erf(x)
    if name == "cupy":
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    if name in ("numpy", "dask"):
        try:
            import scipy.special
        except ImportError:
            return _erf_standard(xp, x)
        if name == "dask":
            return x.map_blocks(scipy.special.erf, dtype=x.dtype)
        return scipy.special.erf(x)
    return _erf_standard(xp, x)


def _erf_standard(xp, x):
    """erf with standard functions only, to about 1e-15 relative error.

    For |x| < 2.5: ``erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (2n+1)!!``
    (all terms positive, so no cancellation). Beyond, the continued fraction of
    ``erfc`` evaluated backwards.
    """
    a = xp.abs(x)
    small = xp.minimum(a, 2.5)
    term = small
    total = small
    for n in range(1, 60):
        term = term * 2 * small * small / (2 * n + 1)
        total = total + term
    series = 2 / math.sqrt(math.pi) * xp.exp(-small * small) * total
    large = xp.maximum(a, 2.5)
    fraction = xp.zeros_like(large)
    for k in range(60, 0, -1):
        fraction = (k / 2) / (large + fraction)
    erfc = xp.exp(-large * large) / math.sqrt(math.pi) / (large + fraction)
    magnitude = xp.where(a < 2.5, series, 1 - erfc)
    return xp.where(x < 0, -magnitude, magnitude)
