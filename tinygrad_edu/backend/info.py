"""What this machine offers, for ``tinygrad-edu info``: backends, versions, devices.

A report, not part of any computation: nothing in the engine calls it.
"""

from __future__ import annotations

import sys

import array_api_compat
import numpy as np

from .arrays import _jax_float64_enabled, get_default_dtype
from .namespaces import (
    KNOWN_BACKENDS,
    available_backends,
    get_default_backend,
    get_namespace,
    unavailable_reason,
)


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


def describe() -> dict:
    """What this machine offers, for ``tinygrad-edu info``: plain, JSON-ready values.

    Returns ``{"default_backend", "default_dtype", "numpy", "array_api_compat",
    "backends": {name: {"available", "version", "devices", "reason"}}}``;
    for jax also ``"float64"``: whether 64-bit mode is on.
    """
    backends = {}
    usable = available_backends()
    for name in KNOWN_BACKENDS:
        available = name in usable
        library = sys.modules.get(name)
        entry = {
            "available": available,
            "version": getattr(library, "__version__", None),
            "devices": _device_names(name, get_namespace(name)) if available else [],
            "reason": unavailable_reason(name),
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
