"""Backends by name: which exist, which work here, and the namespace of an array.

A backend name (``"numpy"``, ``"cupy"``, ``"array_api_strict"``, ``"torch"``,
``"jax"``, ``"dask"``) or a library module resolves to an Array-API namespace;
an array tells its own namespace (``namespace_of``). CuPy, torch, JAX and Dask
are imported lazily and probed once: ``import cupy`` succeeds on a machine
without a GPU and only fails at first use, so a backend is "available" only
once a probe has worked.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
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

# What to install for each backend (said by the error below, `tinygrad-edu info`, --backend).
INSTALL_HINTS = {
    "numpy": "pip install numpy",
    "cupy": 'pip install -e ".[gpu]" (CuPy for CUDA 12; needs an NVIDIA GPU)',
    "array_api_strict": "pip install array-api-strict",
    "torch": "pip install torch",
    "jax": "pip install jax",
    "dask": 'pip install "dask[array]" distributed',
}

_namespaces: dict = {}  # backend name -> namespace, once it has loaded and answered
_unavailable: dict = {}  # backend name -> why it cannot be used here (probed once)


def get_namespace(backend=None):
    """Return the Array-API namespace for a backend name, module, or None.

    ``None`` gives the current default backend (``numpy`` unless changed by
    :func:`set_default_backend` or :func:`default_backend`). A name that is
    unknown, or whose library does not import or answer here (CuPy without a
    CUDA device), raises ``ValueError`` saying why.
    """
    if backend is None:
        backend = get_default_backend()
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
            f"install it ({INSTALL_HINTS[backend]}) or choose one of: {', '.join(usable)}"
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


def unavailable_reason(name: str) -> str | None:
    """Why backend ``name`` cannot be used here, or None when it can."""
    return None if _load(name) else _unavailable[name]


def available_backends() -> list[str]:
    """Names of the backends that import and work on this machine.

    CuPy counts only when a CUDA device answers. Each backend is probed once
    per process, so later calls are instant.
    """
    return [name for name in KNOWN_BACKENDS if _load(name)]


# Array types that cannot live on more than one device: no device check needed.
SINGLE_DEVICE_TYPES = frozenset({np.ndarray})


def namespace_of(array):
    """The Array-API namespace of ``array`` (remembered per array type)."""
    xp = _by_type.get(type(array))
    if xp is None:
        try:
            xp = _prefer_numpy(array_api_compat.array_namespace(array))
        except TypeError as err:
            raise TypeError(
                f"cannot use an object of type {type(array).__name__} as array data: {err}"
            ) from None
        if getattr(xp, "wraps_tensors", False):  # tg.array_namespace: a Tensor is not array data
            raise TypeError(f"a {type(array).__name__} is not backend array data (use .data)")
        _by_type[type(array)] = xp
    return xp


_by_type: dict = {}  # hot: every Tensor property asks; a dict lookup beats functools.cache


def _prefer_numpy(xp):
    if array_api_compat.is_array_api_strict_namespace(xp):
        _configure_strict(xp)
    if xp.__name__ == "array_api_compat.numpy":
        return np  # compliant since NumPy 2.0, and its functions skip compat's wrappers
    return xp


@functools.cache
def backend_name(xp) -> str:
    """Short name of a namespace: ``'numpy'``, ``'torch'``, ``'array_api_strict'``..."""
    checks = {
        "numpy": array_api_compat.is_numpy_namespace,
        "cupy": array_api_compat.is_cupy_namespace,
        "torch": array_api_compat.is_torch_namespace,
        "jax": array_api_compat.is_jax_namespace,
        "dask": array_api_compat.is_dask_namespace,
        "array_api_strict": array_api_compat.is_array_api_strict_namespace,
    }
    for name, check in checks.items():
        if check(xp):
            return name
    return xp.__name__


@functools.cache
def is_mutable(xp) -> bool:
    """Whether arrays of this namespace may be written in place.

    JAX arrays are immutable; Dask's are lazy, so a write would not reach
    arrays computed from them.
    """
    return not (array_api_compat.is_jax_namespace(xp) or array_api_compat.is_dask_namespace(xp))


def is_mutable_type(array_type) -> bool:
    """``is_mutable`` by array type; False for a type not seen yet (rebinding is always right)."""
    xp = _by_type.get(array_type)
    return xp is not None and is_mutable(xp)


# ------------------------------------------------------------- the default backend
class _State(threading.local):
    override = None  # per thread: the ``default_backend`` override (None: no override)


_state = _State()
_default_backend_name = "numpy"


def set_default_backend(backend) -> None:
    """Set the backend used for Python data and creation functions."""
    global _default_backend_name
    _default_backend_name = backend_name(get_namespace(backend))


def get_default_backend() -> str:
    return _state.override or _default_backend_name


@contextlib.contextmanager
def default_backend(backend):
    """``with tg.default_backend("array_api_strict"):`` creation on that backend (this thread)."""
    name = backend_name(get_namespace(backend))
    previous = _state.override
    _state.override = name
    try:
        yield
    finally:
        _state.override = previous
