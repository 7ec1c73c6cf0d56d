"""The one module that knows concrete array libraries.

Everything else in tinygrad_edu computes through an Array-API namespace ``xp``
obtained here. This module:

* resolves a backend name (``"numpy"``, ``"cupy"``, ``"array_api_strict"``,
  ``"torch"``, ``"jax"``, ``"dask"``) or namespace module to a namespace, and
  says which backends work on this machine (``available_backends``,
  ``describe``);
* finds the namespace and device of an array (``namespace_of``, ``device_of``)
  and turns device names (``"cpu"``, ``"cuda:1"``) into device objects;
* moves arrays between backends through host NumPy (``to_numpy``, ``move``),
  and computes lazy (Dask) arrays where a loop needs it (``materialize``);
* draws random numbers on the host, so one seed gives the same numbers on
  every backend;
* holds the few operations the 2024.12 standard lacks or that some backends
  do not support (``getitem``, ``scatter_add_1d``, ``erf``), each with a
  native fast path and a standard fallback.

CuPy, torch, JAX and Dask are imported lazily: ``import cupy`` succeeds on a
machine without a GPU and only fails at first use, so it is never imported at
module top level, and a backend is "available" only once a probe has worked.

JAX computes in float32 unless its 64-bit mode is on; asking the jax backend
for float64 without it raises (rather than silently computing in float32):
call ``jax.config.update("jax_enable_x64", True)`` at the start of the program.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import threading

import array_api_compat
import numpy as np

KNOWN_BACKENDS = ("numpy", "cupy", "array_api_strict", "torch", "jax", "dask")

# The module that array_api_compat / the library exposes for each name.
_NAMESPACE_MODULES = {
    "numpy": "numpy",  # NumPy 2 is itself an Array-API namespace (see namespace_of)
    "cupy": "array_api_compat.cupy",
    "array_api_strict": "array_api_strict",
    "torch": "array_api_compat.torch",
    "jax": "jax.numpy",
    "dask": "array_api_compat.dask.array",
}

_state = threading.local()
_default_backend_name = "numpy"
_default_float_dtype = "float32"
_namespaces: dict = {}  # backend name -> namespace, once it has loaded and answered
_unavailable: dict = {}  # backend name -> why it cannot be used here (probed once)


# ---------------------------------------------------------------- namespaces
def get_namespace(backend=None):
    """Return the Array-API namespace for a backend name, module, or None.

    ``None`` gives the current default backend (``numpy`` unless changed by
    :func:`set_default_backend` or :func:`default_backend`). A name that is
    unknown, or whose library does not import or answer here (CuPy without a
    CUDA device), raises ``ValueError`` saying why.
    """
    if backend is None:
        backend = getattr(_state, "override", None) or _default_backend_name
    if not isinstance(backend, str):
        if hasattr(backend, "asarray") and hasattr(backend, "float32"):
            return _compat_wrap(backend)
        raise TypeError(f"backend must be a name or an array namespace module, got {backend!r}")
    xp = _namespaces.get(backend)
    if xp is not None:
        return xp
    if backend not in _NAMESPACE_MODULES:
        raise ValueError(
            f"unknown backend {backend!r}; known backends: {', '.join(KNOWN_BACKENDS)}"
        )
    if not _load(backend):
        usable = [name for name in KNOWN_BACKENDS if _load(name)]
        raise ValueError(
            f"backend {backend!r} is not available here ({_unavailable[backend]}); "
            f"install it or choose one of: {', '.join(usable)}"
        )
    return _namespaces[backend]


def _load(name: str) -> bool:
    """Import and probe backend ``name`` once; remember the namespace or the reason."""
    if name in _namespaces:
        return True
    if name in _unavailable:
        return False
    try:  # a broken CUDA install makes ``import cupy`` raise more than ImportError
        xp = importlib.import_module(_NAMESPACE_MODULES[name])
        if name == "array_api_strict":
            _configure_strict(xp)
        if name == "cupy":
            _probe_cuda()
    except Exception as err:
        _unavailable[name] = f"{type(err).__name__}: {err}"
        return False
    _namespaces[name] = xp
    return True


def _probe_cuda():
    """Raise unless a CUDA device answers: count the devices, then allocate on one."""
    import cupy

    if cupy.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError("CuPy is installed but no CUDA device was found")
    cupy.zeros(1).get()


def _compat_wrap(module):
    """Map a raw library module (``numpy``, ``torch``...) to its compat namespace."""
    name = getattr(module, "__name__", "")
    for backend, module_name in _NAMESPACE_MODULES.items():
        if name in (module_name, backend) or (backend == "dask" and name == "dask.array"):
            return get_namespace(backend)
    return module


def _configure_strict(xp):
    if not getattr(xp, "_tinygrad_edu_configured", False):
        xp.set_array_api_strict_flags(api_version="2024.12")
        xp._tinygrad_edu_configured = True


_namespace_by_type: dict = {}

# Array types that cannot live on more than one device: no device check needed.
SINGLE_DEVICE_TYPES = frozenset({np.ndarray})


def namespace_of(array):
    """The Array-API namespace of ``array`` (cached per array type)."""
    array_type = type(array)
    xp = _namespace_by_type.get(array_type)
    if xp is None:
        try:
            xp = array_api_compat.array_namespace(array)
        except TypeError as err:
            raise TypeError(
                f"cannot use an object of type {array_type.__name__} as array data: {err}"
            ) from None
        if backend_name(xp) == "array_api_strict":
            _configure_strict(xp)
        if xp.__name__ == "array_api_compat.numpy":
            xp = np  # compliant since NumPy 2.0, and its functions skip compat's wrappers
        _namespace_by_type[array_type] = xp
    return xp


def backend_name(xp) -> str:
    """Short name of a namespace: ``'numpy'``, ``'torch'``, ``'array_api_strict'``..."""
    name = _NAME_OF.get(xp)
    if name is None:
        name = _NAME_OF[xp] = _name_of_module(xp)
    return name


_NAME_OF: dict = {}


def _name_of_module(xp) -> str:
    name = xp.__name__
    if name.startswith("array_api_compat."):
        name = name[len("array_api_compat.") :]
    if name in ("jax.numpy", "jax.experimental.array_api"):
        return "jax"
    if name.startswith("dask"):
        return "dask"
    return name


def is_mutable(xp) -> bool:
    """Whether arrays of this namespace may be written in place (cached per namespace)."""
    mutable = _MUTABLE.get(xp)
    if mutable is None:
        mutable = _MUTABLE[xp] = backend_name(xp) not in ("jax", "dask")
    return mutable


_MUTABLE: dict = {}


def is_mutable_type(array_type) -> bool:
    """``is_mutable`` by array type (one dict lookup once known: optimizers ask per step)."""
    mutable = _MUTABLE_TYPES.get(array_type)
    if mutable is None:
        xp = _namespace_by_type.get(array_type)
        if xp is None:
            return False  # not seen yet: rebinding is always correct
        mutable = _MUTABLE_TYPES[array_type] = is_mutable(xp)
    return mutable


_MUTABLE_TYPES: dict = {}


def method_shortcuts(xp) -> dict:
    """Array methods that do what a namespace function does, minus a Python wrapper.

    ``numpy.sum``, ``numpy.argmax`` and ``numpy.reshape`` are Python functions that end in the
    array's own ``.sum``/``.reshape`` method; calling the method directly saves
    0.5-0.8 us a call, which is most of the cost on small arrays (measured in
    docs/performance.md). Only for libraries whose arrays are known to have
    these methods with the standard's meaning; empty for the others.
    """
    if backend_name(xp) not in ("numpy", "cupy"):
        return {}
    return {
        "sum": _sum_method,
        "argmax": _argmax_method,
        "reshape": _reshape_method,
        "astype": _astype_method,
    }


def _sum_method(x, axis=None, keepdims=False):
    return x.sum(axis=axis, keepdims=keepdims)


def _argmax_method(x, axis=None):
    return x.argmax(axis=axis)


def _astype_method(x, dtype):
    return x.astype(dtype)


def _reshape_method(x, shape):
    return x.reshape(shape)


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


def available_backends() -> list[str]:
    """Names of the backends that import and work on this machine.

    CuPy counts only when a CUDA device answers. Each backend is probed once
    per process, so later calls are instant.
    """
    return [name for name in KNOWN_BACKENDS if _load(name)]


def describe() -> dict:
    """What this machine offers, for ``tinygrad-edu info``: plain, JSON-ready values.

    Returns ``{"default_backend", "default_dtype", "numpy", "array_api_compat",
    "backends": {name: {"available", "version", "devices", "reason"}}}``; for
    jax also ``"float64"``: whether 64-bit mode is on.
    """
    backends = {}
    for name in KNOWN_BACKENDS:
        available = _load(name)
        library = sys.modules.get(name.split(".")[0])
        entry = {
            "available": available,
            "version": getattr(library, "__version__", None),
            "devices": _device_names(name, _namespaces[name]) if available else [],
            "reason": None if available else _unavailable[name],
        }
        if name == "jax" and available:
            entry["float64"] = _jax_float64_enabled()
        backends[name] = entry
    return {
        "default_backend": get_default_backend(),
        "default_dtype": get_default_dtype(),
        "numpy": np.__version__,
        "array_api_compat": array_api_compat.__version__,
        "backends": backends,
    }


def _device_names(name: str, xp) -> list[str]:
    if name == "array_api_strict":
        return [str(device) for device in xp.__array_namespace_info__().devices()]
    if name == "cupy":
        import cupy

        names = []
        for i in range(cupy.cuda.runtime.getDeviceCount()):
            model = cupy.cuda.runtime.getDeviceProperties(i)["name"]
            names.append(f"cuda:{i} ({model.decode() if isinstance(model, bytes) else model})")
        return names
    if name == "torch":
        import torch

        gpus = [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
        return ["cpu"] + gpus + (["mps"] if torch.backends.mps.is_available() else [])
    if name == "jax":
        import jax

        return [f"{device.platform}:{device.id}" for device in jax.devices()]
    return ["cpu"]


# ------------------------------------------------------------- the defaults
def set_default_backend(backend) -> None:
    """Set the backend used for Python data and creation functions."""
    global _default_backend_name
    _default_backend_name = backend_name(get_namespace(backend))


def get_default_backend() -> str:
    return getattr(_state, "override", None) or _default_backend_name


@contextlib.contextmanager
def default_backend(backend):
    """``with tg.default_backend("array_api_strict"):`` creation on that backend."""
    name = backend_name(get_namespace(backend))
    previous = getattr(_state, "override", None)
    _state.override = name
    try:
        yield
    finally:
        _state.override = previous


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
    if name in ("float64", "complex128") and backend_name(xp) == "jax":
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
    key = (type(dtype), dtype, kind)  # type first: strict dtypes warn when compared to NumPy's
    try:
        answer = _KIND_OF_DTYPE.get(key)
    except TypeError:  # an unhashable dtype object
        return xp.isdtype(dtype, kind)
    if answer is None:
        answer = _KIND_OF_DTYPE[key] = bool(xp.isdtype(dtype, kind))
    return answer


_KIND_OF_DTYPE: dict = {}


def all_in_range(xp, array, upper: int) -> bool:
    """Whether every entry of a non-empty integer array lies in ``[0, upper)``."""
    if type(array) is np.ndarray and array.dtype.kind == "i":
        # Read as unsigned, a negative entry is a huge number: one reduction checks both ends.
        return int(array.view(f"u{array.dtype.itemsize}").max()) < upper
    low, high = integer_range(xp, array)
    return low >= 0 and high < upper


def integer_range(xp, array) -> tuple:
    """``(min, max)`` of a non-empty integer array as Python ints (for input checks)."""
    if backend_name(xp) in ("numpy", "cupy"):
        return int(array.min()), int(array.max())  # the methods skip a Python wrapper
    return int(xp.min(array)), int(xp.max(array))


# ------------------------------------------------------------- conversions
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
    lazy = [i for i, array in enumerate(arrays) if backend_name(namespace_of(array)) == "dask"]
    if lazy:
        import dask

        persisted = dask.persist(*[arrays[i] for i in lazy])
        for i, array in zip(lazy, persisted, strict=True):
            arrays[i] = array
    return arrays


def host_random(seed=None) -> np.random.Generator:
    """The library's host random generator (set by ``manual_seed``)."""
    generator = getattr(_state, "generator", None)
    if generator is None:
        generator = _state.generator = np.random.default_rng(seed)
    return generator


def manual_seed(seed: int) -> None:
    """Seed the host generator: the same seed gives the same numbers everywhere."""
    _state.generator = np.random.default_rng(seed)


def standard_normal(shape, xp, dtype, device=None, seed=None):
    """N(0, 1) numbers drawn on the host (seeded generator) and moved to ``xp``."""
    generator = np.random.default_rng(seed) if seed is not None else host_random()
    return from_numpy(generator.standard_normal(shape).astype(dtype_name(dtype)), xp, device)


def uniform(shape, xp, dtype, low=0.0, high=1.0, device=None):
    """U(low, high) numbers drawn on the host generator and moved to ``xp``."""
    values = host_random().uniform(low, high, shape).astype(dtype_name(dtype))
    return from_numpy(values, xp, device)


# ------------------------------------------- what the standard lacks
_NUMPY_STYLE_INDEXING = ("numpy", "cupy", "torch", "jax")


def getitem(xp, array, index: tuple):
    """``array[index]`` with NumPy's indexing rules on every backend.

    The standard allows integer index arrays only beside integers, and Dask
    takes at most one. Integer arrays on consecutive axes, with only full
    slices around them (``x[idx]``, ``x[:, idx]``, ``x[rows, cols]``), become one
    ``take`` at flat positions ``sum_k idx_k * stride_k`` of the merged axes.
    A boolean mask on Dask gives unknown sizes, which are computed at once:
    every Tensor has a known shape.
    """
    name = backend_name(xp)
    if name in _NUMPY_STYLE_INDEXING:
        return array[index]
    arrays = [part for part in index if hasattr(part, "shape")]
    if not arrays:
        return array[index]
    if any(part.dtype == xp.bool for part in arrays):
        result = array[index]
        if name == "dask" and any(math.isnan(n) for n in result.shape):
            result.compute_chunk_sizes()
        return result
    gathered = _take_at_flat_positions(xp, array, index)
    return array[index] if gathered is None else gathered


def _take_at_flat_positions(xp, array, index: tuple):
    """``array[index]`` as a ``take``, or None when ``index`` is not of that form."""
    if any(part is None for part in index) or sum(part is Ellipsis for part in index) > 1:
        return None
    rest = array.ndim - sum(part is not Ellipsis for part in index)
    parts = []
    for part in index:
        parts.extend([slice(None)] * rest if part is Ellipsis else [part])
    parts.extend([slice(None)] * (array.ndim - len(parts)))
    axes = [i for i, part in enumerate(parts) if hasattr(part, "shape")]
    first, count = axes[0], len(axes)
    if axes != list(range(first, first + count)) or any(
        not hasattr(part, "shape") and part != slice(None) for part in parts
    ):
        return None
    positions = xp.broadcast_arrays(*[parts[i] for i in axes]) if count > 1 else [parts[first]]
    shape = tuple(array.shape)
    merged = shape[first : first + count]
    flat = None
    for axis_positions, n in zip(positions, merged, strict=True):
        axis_positions = xp.where(axis_positions < 0, axis_positions + n, axis_positions)
        flat = axis_positions if flat is None else flat * n + axis_positions
    source = array
    if count > 1:
        source = xp.reshape(array, shape[:first] + (math.prod(merged),) + shape[first + count :])
    taken = xp.take(source, xp.reshape(flat, (-1,)), axis=first)
    return xp.reshape(taken, shape[:first] + tuple(flat.shape) + shape[first + count :])


def zeros_like(xp, array):
    """``xp.zeros_like(array)``; for NumPy ``zeros(shape, dtype)``, one C call instead of
    ``zeros_like``'s Python body (``empty_like`` and then ``copyto``)."""
    if type(array) is np.ndarray:
        return np.zeros(array.shape, array.dtype)
    return xp.zeros_like(array)


def as_index(xp, array):
    """An integer array in the namespace's default integer dtype (for indexing)."""
    index_dtype = _INDEX_DTYPE.get(xp)
    if index_dtype is None:
        index_dtype = _INDEX_DTYPE[xp] = xp.asarray(0).dtype
    return array if array.dtype == index_dtype else xp.astype(array, index_dtype)


_INDEX_DTYPE: dict = {}


def subtract_at_rows(xp, matrix, rows, columns, values):
    """``matrix[rows[i], columns[i]] -= values[i]``, in place, or None where unsupported.

    On backends whose arrays are mutable and take NumPy-style integer-array
    indices (NumPy, CuPy, PyTorch); the caller owns ``matrix``. Elsewhere
    None, and the caller subtracts a one-hot matrix instead.
    """
    supported = _ROW_SUBTRACT.get(xp)
    if supported is None:
        supported = _ROW_SUBTRACT[xp] = backend_name(xp) in _NUMPY_STYLE_INDEXING and is_mutable(xp)
    if not supported:
        return None
    matrix[rows, columns] -= values
    return matrix


_ROW_SUBTRACT: dict = {}


def scatter_add_1d(xp, size: int, positions, values):
    """``out = zeros(size); out[positions[i]] += values[i]`` summing repeats.

    Native paths: ``np.add.at``, ``cupyx.scatter_add``, torch ``index_add``,
    JAX ``.at[].add``, Dask ``bincount`` with weights. The standard fallback
    multiplies by a one-hot matrix, which sums repeated positions by
    construction.
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
    one_hot = xp.astype(positions[:, None] == columns[None, :], out_dtype)
    return values @ one_hot


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
