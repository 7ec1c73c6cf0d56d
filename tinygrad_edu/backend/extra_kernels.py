"""Kernels the new ops need that the standard lacks: a native fast path, then a
standard fallback (the layout of ``kernels.py``).

* ``setitem``: ``x[index] = value`` as a new array (JAX's ``.at[].set`` where
  arrays are immutable; copy and write everywhere else);
* ``scatter_add_along_axis``: the adjoint of ``take_along_axis``, summing
  repeated indices (through ``index_add``'s flat scatter-add);
* ``compat_namespace``: the namespace whose functions follow the standard most
  closely for a backend (array_api_compat's wrapper for NumPy), used by the
  differentiable Array-API namespace for the functions it does not record.
"""

from __future__ import annotations

import math

import array_api_compat

from .arrays import device_of
from .kernels import index_add
from .namespaces import backend_name, is_mutable


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
