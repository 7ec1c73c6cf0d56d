"""The one module that knows concrete array libraries.

Everything else in tinygrad_edu computes through an Array-API namespace ``xp``
obtained here. This module:

* resolves a backend name (``"numpy"``, ``"cupy"``, ``"array_api_strict"``,
  ``"torch"``, ``"jax"``, ``"dask"``) or namespace module to a namespace;
* finds the namespace of an array (``namespace_of``), cached per array type;
* moves arrays between backends through host NumPy (``to_numpy``, ``move``);
* draws random numbers on the host, so one seed gives the same numbers on
  every backend;
* holds the few operations the 2024.12 standard lacks (``scatter_add_1d``,
  ``erf``), each with a native fast path and a standard fallback.

CuPy, torch, JAX and Dask are imported lazily: ``import cupy`` succeeds on a
machine without a GPU and only fails at first use, so it is never imported at
module top level.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import threading

import array_api_compat
import numpy as np

KNOWN_BACKENDS = ("numpy", "cupy", "array_api_strict", "torch", "jax", "dask")

# The module that array_api_compat / the library exposes for each name.
_NAMESPACE_MODULES = {
    "numpy": "array_api_compat.numpy",
    "cupy": "array_api_compat.cupy",
    "array_api_strict": "array_api_strict",
    "torch": "array_api_compat.torch",
    "jax": "jax.numpy",
    "dask": "array_api_compat.dask.array",
}

_state = threading.local()
_default_backend_name = "numpy"
_default_float_dtype = "float32"


# ---------------------------------------------------------------- namespaces
def get_namespace(backend=None):
    """Return the Array-API namespace for a backend name, module, or None.

    ``None`` gives the current default backend (``numpy`` unless changed by
    :func:`set_default_backend` or :func:`default_backend`).
    """
    if backend is None:
        backend = getattr(_state, "override", None) or _default_backend_name
    if not isinstance(backend, str):
        if hasattr(backend, "asarray") and hasattr(backend, "float32"):
            return _compat_wrap(backend)
        raise TypeError(
            f"backend must be a name or an array namespace module, got {backend!r}"
        )
    if backend not in _NAMESPACE_MODULES:
        raise ValueError(
            f"unknown backend {backend!r}; known backends: {', '.join(KNOWN_BACKENDS)}"
        )
    try:
        xp = importlib.import_module(_NAMESPACE_MODULES[backend])
    except ImportError as err:
        raise ValueError(
            f"backend {backend!r} is not available here ({err}); "
            f"install it or choose one of: {', '.join(available_backends())}"
        ) from None
    if backend == "array_api_strict":
        _configure_strict(xp)
    if backend == "cupy":
        _check_cuda(xp)
    return xp


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


def _check_cuda(xp):
    try:
        xp.zeros(1)
    except Exception as err:  # cupy raises several CUDA error types
        raise ValueError(
            f"backend 'cupy' is installed but no CUDA device answers ({type(err).__name__}: {err})"
        ) from None


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
        _namespace_by_type[array_type] = xp
    return xp


def backend_name(xp) -> str:
    """Short name of a namespace: ``'numpy'``, ``'torch'``, ``'array_api_strict'``..."""
    name = xp.__name__
    if name.startswith("array_api_compat."):
        name = name[len("array_api_compat.") :]
    if name in ("jax.numpy", "jax.experimental.array_api"):
        return "jax"
    if name.startswith("dask"):
        return "dask"
    return name


def is_mutable(xp) -> bool:
    """Whether arrays of this namespace may be written in place."""
    return backend_name(xp) not in ("jax", "dask")


def device_of(array):
    return array_api_compat.device(array)


def available_backends() -> list[str]:
    """Names of the backends that import and work on this machine."""
    names = []
    for name in KNOWN_BACKENDS:
        try:
            get_namespace(name)
        except (ValueError, ImportError):
            continue
        names.append(name)
    return names


# ------------------------------------------------------------- the defaults
def set_default_backend(backend) -> None:
    """Set the backend used for Python data and creation functions."""
    global _default_backend_name
    get_namespace(backend)  # validates the name
    _default_backend_name = backend if isinstance(backend, str) else backend_name(
        get_namespace(backend)
    )


def get_default_backend() -> str:
    return getattr(_state, "override", None) or _default_backend_name


@contextlib.contextmanager
def default_backend(backend):
    """``with tg.default_backend("array_api_strict"):`` creation on that backend."""
    get_namespace(backend)
    name = backend if isinstance(backend, str) else backend_name(get_namespace(backend))
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
    """``'float32'`` for ``np.float32``, ``torch.float32``, ``xp.float32``, ``'float32'``."""
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]


def resolve_dtype(xp, dtype):
    """The namespace's dtype object for a name or another library's dtype."""
    if dtype is None:
        return None
    name = dtype_name(dtype)
    if not hasattr(xp, name):
        raise TypeError(f"unknown dtype {dtype!r} for backend {backend_name(xp)!r}")
    return getattr(xp, name)


def is_floating(xp, dtype) -> bool:
    return xp.isdtype(dtype, ("real floating", "complex floating"))


# ------------------------------------------------------------- conversions
def to_numpy(array) -> np.ndarray:
    """A host NumPy copy (or view, for NumPy) of any backend's array."""
    if isinstance(array, np.ndarray):
        return array
    name = backend_name(namespace_of(array))
    if name == "cupy":
        return array.get()
    if name == "torch":
        return array.detach().cpu().numpy()
    if name == "dask":
        return np.asarray(array.compute())
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
    """Put a host NumPy array on the backend ``xp`` (and ``device``)."""
    if backend_name(xp) == "array_api_strict" and not array.flags.c_contiguous:
        array = array.copy()  # it takes arrays over DLPack, which wants contiguous data
    if device is None:
        return xp.asarray(array)
    return xp.asarray(array, device=device)


def move(array, xp, device=None):
    """Move ``array`` to namespace ``xp``/``device``; a no-op when already there."""
    if namespace_of(array) is xp and (device is None or device_of(array) == device):
        return array
    if namespace_of(array) is xp:
        return xp.asarray(array, device=device)
    return from_numpy(to_numpy(array), xp, device)


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

    The standard allows an integer index array only beside integers; an
    integer array beside full slices (``x[idx]``, ``x[:, idx]``) becomes
    ``take`` along that axis there.
    """
    if backend_name(xp) in _NUMPY_STYLE_INDEXING:
        return array[index]
    array_positions = [i for i, part in enumerate(index) if hasattr(part, "shape")]
    if len(array_positions) != 1 or any(
        part != slice(None) for part in index[: array_positions[0]] if part is not Ellipsis
    ) or any(part is Ellipsis for part in index[: array_positions[0]]):
        return array[index]
    axis = array_positions[0]
    rest = index[axis + 1 :]
    if any(not (part is Ellipsis or part == slice(None)) for part in rest):
        return array[index]
    positions = index[axis]
    if positions.dtype == xp.bool:
        return array[index]
    taken = xp.take(array, xp.reshape(positions, (-1,)), axis=axis)
    shape = tuple(array.shape[:axis]) + tuple(positions.shape) + tuple(array.shape[axis + 1 :])
    return xp.reshape(taken, shape)


def scatter_add_1d(xp, size: int, positions, values):
    """``out = zeros(size); out[positions[i]] += values[i]`` summing repeats.

    Native paths: ``np.add.at`` / ``cupy.add.at``, torch ``index_add``, JAX
    ``.at[].add``. The standard fallback multiplies by a one-hot matrix, which
    sums repeated positions by construction.
    """
    name = backend_name(xp)
    out_dtype = values.dtype
    if name == "numpy":
        out = np.zeros(size, dtype=out_dtype)
        np.add.at(out, positions, values)
        return out
    if name == "cupy":
        import cupy

        out = cupy.zeros(size, dtype=out_dtype)
        cupy.add.at(out, positions, values)
        return out
    if name == "torch":
        out = xp.zeros(size, dtype=out_dtype, device=values.device)
        return out.index_add(0, positions, values)
    if name == "jax":
        return xp.zeros(size, dtype=out_dtype).at[positions].add(values)
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
    if name == "numpy":
        try:
            import scipy.special
        except ImportError:
            return _erf_standard(xp, x)
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
