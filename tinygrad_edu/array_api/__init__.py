"""The differentiable Array-API namespace: the 2024.12 standard over Tensors.

``xp = tg.array_namespace("numpy")`` (or ``x.__array_namespace__()``, which
``array_api_compat.array_namespace(x)`` calls) is a namespace object whose
functions take and return Tensors of one backend. Code written against the
standard (``xp = array_namespace(x)`` at the top, as SciPy and scikit-learn
are written) then runs on Tensors, and ``tg.grad`` differentiates it.

* Functions with a derivative record it: they go through the library's ops
  (elementwise math, reductions and statistics, scans, ``sort`` values,
  ``take``, ``where``, ``clip``, matmul, the manipulation functions, the
  differentiable core of ``linalg``) whenever an input is real floating.
* The rest (comparisons, bitwise, integer and set functions, ``argsort``,
  ``nonzero``, creation, inspection), and every function on integer, boolean
  or complex inputs, call the backend's own standard function and return
  Tensors that do not require grad.
* The dtype objects and defaults are the backend's own: ``x.dtype ==
  xp.float32`` holds, and ``xp.asarray(1.0)`` has the backend's default float
  dtype (float64 on NumPy), as the standard says (``tg.tensor`` follows
  ``tg.set_default_dtype`` instead).
"""

from __future__ import annotations

import functools

from .. import backend
from ._namespace import ArrayNamespace


def array_namespace(backend_choice=None) -> ArrayNamespace:
    """The differentiable Array-API namespace over Tensors of a backend.

    ``backend_choice`` is a backend name (``"numpy"``, ``"array_api_strict"``,
    ``"torch"``, ``"jax"``, ...), a namespace module, or None for the default
    backend. One namespace object per backend.
    """
    xp = backend.get_namespace(backend_choice)
    return _namespace_for(backend.backend_name(xp))


@functools.cache
def _namespace_for(name: str) -> ArrayNamespace:
    return ArrayNamespace(backend.get_namespace(name))


__all__ = ["ArrayNamespace", "array_namespace"]
