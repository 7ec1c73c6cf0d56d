"""Arrays of any backend: their devices and dtypes, and moving them between backends.

* devices: ``device_of`` an array, ``resolve_device`` for names such as
  ``"cpu"``, ``"cuda:1"``, ``"device1"``;
* dtypes: the default float dtype for Python data, dtype names and kinds;
* moves: through host NumPy (``to_numpy``, ``from_numpy``, ``move``), and
  ``materialize`` for lazy (Dask) arrays.

JAX computes in float32 unless its 64-bit mode is on; asking the jax backend
for float64 without it raises (rather than silently computing in float32):
call ``jax.config.update("jax_enable_x64", True)`` at the start of the program.
"""

from __future__ import annotations

import functools

import array_api_compat
import numpy as np

from .namespaces import backend_name, namespace_of

# ------------------------------------------------------------- devices


def device_of(array):
    """The device ``array`` lives on (the library's own device object, or ``"cpu"``)."""
    if type(array) is np.ndarray:  # the common case, without compat's type probing
        return "cpu"
    return array_api_compat.device(array)


def resolve_device(xp, device):
    """The namespace's device object for a device name, GPU number or device object.

    Names: ``"cpu"`` on every backend; ``"cuda"``, ``"cuda:1"`` or a GPU number
    on cupy, torch and jax (``"gpu"`` too); ``"mps"`` on torch; the names of
    ``array_api_strict.Device`` (``"device1"``). Device objects pass through.
    """
    if device is None or not isinstance(device, (str, int)):
        return device
    name = backend_name(xp)
    text = f"cuda:{device}" if isinstance(device, int) else device
    kind, _, number = text.partition(":")
    if name == "torch":
        import torch

        try:
            return torch.device(text)
        except RuntimeError as err:
            raise ValueError(f"backend 'torch' has no device {device!r} ({err})") from None
    if name == "array_api_strict":
        return xp.Device("CPU_DEVICE" if text == "cpu" else text)
    if kind == "cpu" and name in ("numpy", "dask", "jax"):
        return "cpu" if name != "jax" else _jax_device("cpu", number)
    if kind in ("cuda", "gpu") and name in ("cupy", "jax"):
        if name == "jax":
            return _jax_device("gpu", number)
        import cupy

        return cupy.cuda.Device(int(number or 0))
    raise ValueError(f"backend {name!r} has no device {device!r}")


def _jax_device(platform: str, number: str):
    import jax

    try:
        return jax.devices(platform)[int(number or 0)]
    except (RuntimeError, IndexError) as err:
        raise ValueError(f"backend 'jax' has no device {platform}:{number or 0} ({err})") from None


# ------------------------------------------------------------- dtypes
_default_float_dtype = "float32"


def set_default_dtype(dtype) -> None:
    """Set the float dtype given to Python data (``"float32"`` or ``"float64"``)."""
    global _default_float_dtype
    name = dtype_name(dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"default dtype must be float32 or float64, got {name}")
    _default_float_dtype = name


def get_default_dtype() -> str:
    return _default_float_dtype


def dtype_name(dtype) -> str:
    """``'float32'`` for ``np.float32``, ``torch.float32``, ``xp.float32``, ``'float32'``..."""
    try:
        return np.dtype(dtype).name
    except TypeError:  # torch and array_api_strict dtypes print as 'torch.float32' / 'float32'
        return str(dtype).rsplit(".", 1)[-1]


_JAX_X64_HINT = (
    "the jax backend computes in float32 unless JAX's 64-bit mode is on; call "
    "jax.config.update('jax_enable_x64', True) at the start of the program, "
    "or use float32"
)


def _jax_float64_enabled() -> bool:
    import jax

    return jax.dtypes.canonicalize_dtype(np.float64) == np.float64


def _check_jax_width(xp, name: str) -> None:
    """Refuse float64 on jax without 64-bit mode instead of silently computing float32."""
    if name in ("float64", "complex128") and array_api_compat.is_jax_namespace(xp):
        if not _jax_float64_enabled():
            raise ValueError(f"dtype {name} on backend 'jax': {_JAX_X64_HINT}")


def resolve_dtype(xp, dtype):
    """The namespace's dtype object for a name or another library's dtype."""
    if dtype is None:
        return None
    name = dtype_name(dtype)
    if not hasattr(xp, name):
        raise TypeError(f"unknown dtype {dtype!r} for backend {backend_name(xp)!r}")
    _check_jax_width(xp, name)
    return getattr(xp, name)


def is_floating(xp, dtype) -> bool:
    return is_kind(xp, dtype, ("real floating", "complex floating"))


def is_kind(xp, dtype, kind) -> bool:
    """``xp.isdtype(dtype, kind)``, remembered per dtype (NumPy's is a Python function)."""
    try:
        # type first: strict dtypes warn when compared with NumPy's
        return _is_kind(xp, type(dtype), dtype, kind)
    except TypeError:  # an unhashable dtype object
        return bool(xp.isdtype(dtype, kind))


@functools.cache
def _is_kind(xp, dtype_type, dtype, kind) -> bool:
    return bool(xp.isdtype(dtype, kind))


@functools.cache
def index_dtype(xp):
    """The namespace's default integer dtype (indices, Python ints)."""
    return xp.asarray(0).dtype


def as_index(xp, array):
    """An integer array in the namespace's default integer dtype (for indexing)."""
    wanted = index_dtype(xp)
    return array if array.dtype == wanted else xp.astype(array, wanted)


# ------------------------------------------------------------- moves
def to_numpy(array) -> np.ndarray:
    """A host NumPy copy (or view, for NumPy) of any backend's array.

    Dask arrays are computed; GPU arrays are copied to the host.
    """
    if isinstance(array, np.ndarray):
        return array
    name = backend_name(namespace_of(array))
    if name == "cupy":
        return array.get()
    if name == "torch":
        return array.detach().cpu().numpy()
    if name == "dask":
        computed = array.compute()  # NumPy chunks give NumPy, CuPy chunks give CuPy
        if isinstance(computed, (np.ndarray, np.generic)):
            return np.asarray(computed)
        return to_numpy(computed)
    if name == "array_api_strict":
        return np.from_dlpack(array)
    return np.asarray(array)


def from_python(data, xp, dtype=None, device=None):
    """An array from a Python scalar or nested list.

    Numbers get the default float dtype, booleans stay boolean, unless
    ``dtype`` says otherwise.
    """
    host = np.asarray(data)
    if dtype is None:
        dtype = "bool" if host.dtype == np.bool_ else _default_float_dtype
    if host.dtype == object:
        raise TypeError(f"cannot make a tensor from ragged or non-numeric data: {data!r}")
    return from_numpy(host.astype(dtype_name(dtype)), xp, device)


def from_numpy(array: np.ndarray, xp, device=None):
    """Put a host NumPy array on the backend ``xp`` (and ``device``: a name or object)."""
    name = backend_name(xp)
    _check_jax_width(xp, array.dtype.name)
    if name in ("torch", "array_api_strict") and not (
        array.flags.c_contiguous and array.flags.writeable
    ):
        # strict takes arrays over DLPack (contiguous only); torch would share a
        # read-only buffer (a broadcast view) and could write into it later
        array = np.array(array, order="C")
    device = resolve_device(xp, device)
    if device is None:
        return xp.asarray(array)
    return xp.asarray(array, device=device)


def move(array, xp, device=None):
    """Move ``array`` to namespace ``xp``/``device``; a no-op when already there.

    Between backends the data goes through host memory (one copy off and one
    onto a GPU); within one backend ``to_device`` moves it.
    """
    device = resolve_device(xp, device)
    if namespace_of(array) is xp:
        if device is None or str(device_of(array)) == str(device):
            return array
        return array_api_compat.to_device(array, device)
    return from_numpy(to_numpy(array), xp, device)


def materialize(arrays) -> list:
    """Compute lazy arrays now, in one pass, and keep the results; others pass through.

    Dask only records a task graph. In a loop that rebinds its state (an
    optimizer step ``w = w - lr * g``), step t's graph then holds every earlier
    step, and each step takes longer than the last. One ``dask.persist`` of
    everything a step produced runs their shared work (the gradient) once and
    cuts the graph there; the results stay in memory (on the workers of a
    ``dask.distributed`` cluster). Every other backend computes eagerly, so
    their arrays come back unchanged.
    """
    arrays = list(arrays)
    lazy = [i for i, array in enumerate(arrays) if array_api_compat.is_dask_array(array)]
    if lazy:
        import dask

        persisted = dask.persist(*[arrays[i] for i in lazy])
        for i, array in zip(lazy, persisted, strict=True):
            arrays[i] = array
    return arrays
