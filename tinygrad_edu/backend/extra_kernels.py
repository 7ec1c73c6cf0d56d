"""Kernels the new ops need that the standard lacks: a native fast path, then a
standard fallback (the layout of ``kernels.py``).

* ``setitem``: ``x[index] = value`` as a new array (JAX's ``.at[].set`` where
  arrays are immutable; copy and write everywhere else);
* ``scatter_add_along_axis``: the adjoint of ``take_along_axis``, summing
  repeated indices (through ``index_add``'s flat scatter-add);
* ``running_extreme_indices``: where the running maximum or minimum came from
  (torch's ``cummax``/``cummin`` indices);
* ``product_dtype``: the dtype of integer products, for ``cumulative_prod``;
* ``all_nonzero``: whether an array has no zero (the exact gradients of
  ``prod`` and ``cumprod`` take a longer way where it has); ``all_within`` and
  ``all_probabilities``: the input checks of embeddings and binary
  cross-entropy (all three are guards of a ``tg.compile`` replay);
* ``windows`` and ``fold_windows``: the im2col of a convolution (K strided
  slices and a stack; one compiled gather on JAX) and its adjoint col2im (the
  K slices added into one buffer; one scatter-add on JAX);
* ``compat_namespace``: the namespace whose functions follow the standard most
  closely for a backend (array_api_compat's wrapper for NumPy), used by the
  differentiable Array-API namespace for the functions it does not record.
"""

from __future__ import annotations

import functools
import itertools
import math

import array_api_compat
import numpy as np

from .arrays import device_of
from .kernels import getitem, index_add, integer_range
from .namespaces import backend_name, is_mutable


def running_extreme_indices(xp, x, axis: int, largest: bool):
    """int64 ``indices[..., i, ...]`` of the running maximum (``largest``) or minimum of
    ``x[..., :i + 1, ...]`` along ``axis``, as ``torch.cummax``/``cummin``: of equal values
    the latest, and from the first NaN on the latest NaN.

    Native: torch's own; NumPy's ``maximum.accumulate`` (the running extreme, NaN sticks),
    then the latest position that reached it. The standard fallback is a
    Hillis-Steele scan in ``log2(n)`` steps: the pairs (value, index) are combined
    by "the later one if it is at least the earlier one (a NaN beats any number)",
    which is associative.
    """
    name = backend_name(xp)
    if name == "torch":
        import torch

        return (torch.cummax if largest else torch.cummin)(x, dim=axis).indices
    n = x.shape[axis]
    shape = tuple(n if i == axis else 1 for i in range(x.ndim))
    positions = xp.reshape(xp.arange(n, dtype=xp.int64, device=device_of(x)), shape)
    floating = xp.isdtype(x.dtype, "real floating")
    if name == "numpy":
        extreme = np.maximum if largest else np.minimum  # both propagate NaN
        reached = x == extreme.accumulate(x, axis=axis)
        if floating:
            reached |= np.isnan(x)
        return np.maximum.accumulate(np.where(reached, positions, 0), axis=axis)
    values = xp.astype(x, xp.int8) if x.dtype == xp.bool else x  # the standard orders no bools
    indices = xp.broadcast_to(positions, x.shape)
    shift = 1
    while shift < n:
        head = (slice(None),) * axis + (slice(0, shift), Ellipsis)
        earlier = (slice(None),) * axis + (slice(0, n - shift), Ellipsis)
        later = (slice(None),) * axis + (slice(shift, n), Ellipsis)
        first, second = values[earlier], values[later]
        take_later = second >= first if largest else second <= first
        if floating:
            take_later = xp.isnan(second) | (take_later & ~xp.isnan(first))
        values = xp.concat([values[head], xp.where(take_later, second, first)], axis=axis)
        indices = xp.concat(
            [indices[head], xp.where(take_later, indices[later], indices[earlier])], axis=axis
        )
        shift *= 2
    return indices


def product_dtype(xp, array):
    """The dtype of the backend's ``prod`` of an integer ``array`` (the standard's: the
    default integer dtype of its kind; torch's own elsewhere), None for other dtypes:
    ``cumulative_prod`` then agrees with ``prod`` on every backend (JAX's keeps int8)."""
    if not xp.isdtype(array.dtype, "integral"):
        return None
    return xp.prod(xp.ones((1,), dtype=array.dtype, device=device_of(array))).dtype


def all_nonzero(xp, array) -> bool:
    """Whether no entry of ``array`` is 0 (under ``tg.compile``: a guard of the replay)."""
    if getattr(type(xp), "records_calls", False):
        return xp.record_check(all_nonzero, array)
    return bool(xp.all(array != 0))


def all_within(xp, array, low: int, high: int) -> bool:
    """Whether every entry of a non-empty integer array lies in ``[low, high)`` (embedding
    indices; under ``tg.compile``: a guard of the replay)."""
    if getattr(type(xp), "records_calls", False):
        return xp.record_check(all_within, array, low, high)
    smallest, largest = integer_range(xp, array)
    return smallest >= low and largest < high


def all_probabilities(xp, array) -> bool:
    """Whether every entry lies in ``[0, 1]`` (no NaN; under ``tg.compile``: a guard)."""
    if getattr(type(xp), "records_calls", False):
        return xp.record_check(all_probabilities, array)
    return bool(xp.all((array >= 0) & (array <= 1)))


def setitem(xp, array, index, value):
    """A new array equal to ``array`` with ``array[index] = value``; ``array`` is unchanged."""
    if not is_mutable(xp):
        if backend_name(xp) == "jax":
            return array.at[index].set(value)
        raise TypeError(f"backend {backend_name(xp)!r} cannot assign into arrays")
    out = xp.asarray(array, copy=True)
    out[index] = value
    return out


def scatter_add_along_axis(xp, values, indices, shape, axis: int):
    """``out = zeros(shape); out[..., indices[..., j, ...], ...] += values[..., j, ...]``.

    The adjoint of ``take_along_axis(x, indices, axis)``: each entry of
    ``values`` goes to the position its index names along ``axis`` (the same
    position on the other axes); repeated indices add up.
    """
    device = device_of(values)
    shape = tuple(shape)
    indices = xp.broadcast_to(indices, values.shape)
    strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
    flat = None
    for i, n in enumerate(values.shape):
        if i == axis:
            coordinate = xp.astype(indices, xp.int64) if indices.dtype != xp.int64 else indices
            coordinate = xp.where(coordinate < 0, coordinate + shape[axis], coordinate)
        else:
            along = xp.arange(n, dtype=xp.int64, device=device)
            coordinate = xp.reshape(along, tuple(n if j == i else 1 for j in range(values.ndim)))
        term = coordinate * strides[i]
        flat = term if flat is None else flat + term
    flat = xp.reshape(xp.broadcast_to(flat, values.shape), (-1,))
    out = index_add(xp, xp.reshape(values, (-1,)), (math.prod(shape),), (flat,))
    return xp.reshape(out, shape)


def compat_namespace(xp):
    """The most standard-conforming namespace for ``xp``'s arrays (compat's, for NumPy)."""
    if backend_name(xp) == "numpy":
        import array_api_compat.numpy as compat_numpy

        return compat_numpy
    if array_api_compat.is_array_api_strict_namespace(xp):
        return xp
    return array_api_compat.array_namespace(xp.asarray(0))


def argsort(xp, array, axis=-1, descending=False, stable=True):
    """The standard's ``argsort`` (NumPy's own has no ``descending``: compat's adds it)."""
    return compat_namespace(xp).argsort(array, axis=axis, descending=descending, stable=stable)


def floor_divide(xp, a, b):
    """``floor(a / b)`` elementwise with the standard's special cases.

    The backend's ``a // b`` first; for real floating operands, where exactly
    one of them is infinite the standard asks for ``floor(a / b)`` (so
    ``inf // 2 = inf`` and ``1 // -inf = -0``), which NumPy's (NaN, -1) is not.
    """
    out = a // b
    if not hasattr(out, "dtype") or not xp.isdtype(out.dtype, "real floating"):
        return out
    a = a if hasattr(a, "dtype") else xp.asarray(a, dtype=out.dtype)
    b = b if hasattr(b, "dtype") else xp.asarray(b, dtype=out.dtype)
    one_infinite = (xp.isinf(a) & xp.isfinite(b)) | (xp.isfinite(a) & xp.isinf(b))
    if not xp.any(one_infinite):
        return out
    return xp.where(one_infinite, xp.floor(a / b), out)


def compile_function(xp, fn):
    """``fn`` compiled by the namespace's own tracing compiler, or None where it has none.

    JAX: ``jax.jit(fn)`` (``fn`` must be a pure function of its array arguments).
    """
    if array_api_compat.is_jax_namespace(xp):
        import jax

        return jax.jit(fn)
    return None


# ----------------------------------------------------------------- im2col and col2im
def window_counts(spatial, kernel, stride, dilation) -> tuple:
    """Windows along each axis: (n - d (k - 1) - 1) // s + 1."""
    return tuple(
        (n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(spatial, kernel, stride, dilation)
    )


def _window_slices(shape, kernel, stride, dilation, first):
    """For each window entry k (C order over the kernel axes): the strided slice of the
    input that entry k of every window reads, ``x[..., l s + k d, ...]`` for l = 0, 1, ..."""
    out = window_counts(shape[first : first + len(kernel)], kernel, stride, dilation)
    lead = (slice(None),) * first
    for offsets in itertools.product(*(range(k) for k in kernel)):
        spatial = tuple(
            slice(j * d, j * d + s * (n - 1) + 1, s)
            for j, d, s, n in zip(offsets, dilation, stride, out)
        )
        yield lead + spatial + (Ellipsis,)  # the standard indexes every axis or has an Ellipsis


def windows(xp, x, kernel, stride, dilation, first):
    """Every window of ``x`` along axes ``first, ..., first + len(kernel) - 1``, as a new last axis.

    ``cols[..., l, ..., k] = x[..., l s + k d, ...]``, the window axes (one per
    spatial axis) in place of the spatial ones, the prod(kernel) window entries
    (in C order) last: one strided slice per window entry, then one stack (on
    NumPy the slices are views and the stack the one copy; a copy of
    ``sliding_window_view`` measured 1.2 to 3x slower, its innermost axis being
    the short strided window). JAX: one gather at the positions l s + k d,
    compiled as one function (JAX compiles each operation it runs for each new
    shape: K slices and a stack were K + 1 compilations, an eager gather some
    seven).
    """
    if backend_name(xp) == "jax":
        return _jax_windows(kernel, stride, dilation, first)(x)
    slices = _window_slices(x.shape, kernel, stride, dilation, first)
    return xp.stack([getitem(xp, x, index) for index in slices], axis=-1)


def fold_windows(xp, cols, shape, kernel, stride, dilation, first):
    """The adjoint of ``windows``: zeros(shape) with every window entry added back at its place.

    ``out[..., l s + k d, ...] += cols[..., l, ..., k]``: one strided slice-add per
    window entry k into one buffer (col2im); overlapping windows sum. Arrays that
    cannot be written in place rebind: JAX adds all entries in one scatter-add
    at the positions of ``windows``, Dask adds K ``index_add`` arrays.
    """
    if backend_name(xp) == "jax":
        return _jax_fold(tuple(shape), kernel, stride, dilation, first)(cols)
    out = xp.zeros(shape, dtype=cols.dtype, device=device_of(cols))
    slices = _window_slices(shape, kernel, stride, dilation, first)
    for number, index in enumerate(slices):
        piece = cols[..., number]
        if is_mutable(xp):
            out[index] += piece
        else:
            out = out + index_add(xp, piece, shape, index)
    return out


def _window_positions(shape, kernel, stride, dilation, first) -> tuple:
    """NumPy's index of every window entry: ``x[index]`` is lead + (*out, K) + the rest,
    with entry k of window l at l s + k d along each spatial axis (integer arrays)."""
    dims = len(kernel)
    out = window_counts(shape[first : first + dims], kernel, stride, dilation)
    offsets = np.unravel_index(np.arange(math.prod(kernel)), kernel)  # k per axis, C order
    positions = []
    for axis, (n, s, d) in enumerate(zip(out, stride, dilation)):
        windows_along = np.arange(n).reshape([n if a == axis else 1 for a in range(dims)] + [1])
        positions.append(windows_along * s + offsets[axis] * d)  # broadcasts to (*out, K)
    return (slice(None),) * first + tuple(positions) + (Ellipsis,)


@functools.cache
def _jax_windows(kernel, stride, dilation, first):
    """``windows`` on JAX as one compiled function (``jax.jit`` compiles once per shape)."""
    import jax

    def gather(x):
        gathered = x[_window_positions(x.shape, kernel, stride, dilation, first)]
        return _entries_last(jax.numpy, gathered, first + len(kernel))

    return jax.jit(gather)


@functools.cache
def _jax_fold(shape, kernel, stride, dilation, first):
    """``fold_windows`` on JAX: the entries moved back beside the windows, one scatter-add."""
    import jax

    def scatter(cols):
        entries = first + len(kernel)  # where windows' gather put the entry axis
        axes = tuple(range(entries)) + (cols.ndim - 1,) + tuple(range(entries, cols.ndim - 1))
        positions = _window_positions(shape, kernel, stride, dilation, first)
        out = jax.numpy.zeros(shape, dtype=cols.dtype)
        return out.at[positions].add(jax.numpy.transpose(cols, axes))

    return jax.jit(scatter)


def _entries_last(xp, gathered, entries: int):
    """The window-entry axis of a gather (at ``entries``) moved to the end."""
    if entries == gathered.ndim - 1:
        return gathered
    return xp.permute_dims(
        gathered, tuple(range(entries)) + tuple(range(entries + 1, gathered.ndim)) + (entries,)
    )
