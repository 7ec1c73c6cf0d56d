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
  ``prod`` and ``cumprod`` take a longer way where it has);
* ``compat_namespace``: the namespace whose functions follow the standard most
  closely for a backend (array_api_compat's wrapper for NumPy), used by the
  differentiable Array-API namespace for the functions it does not record.
"""

from __future__ import annotations

import math

import array_api_compat
import numpy as np

from .arrays import device_of
from .kernels import index_add
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
