"""Find the first operation that produced a NaN or an Inf.

Inside ``with tg.detect_anomaly():`` every forward result and every gradient
the engine passes to an input is checked. The first operation that turns
finite inputs into a non-finite value raises an ``AnomalyError`` naming the
op, the line of user code that created it and the range of each input. Off,
it costs one attribute check per operation (``ProcessMode.anomaly is None``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys

from .. import backend
from ..autograd import backward
from ..function import ProcessMode
from ..tensor import Tensor

# compared with code objects' file names, which use the same spelling as __file__
_PACKAGE_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep


class AnomalyError(RuntimeError):
    """A forward or backward computation produced NaN or Inf from finite inputs."""


class detect_anomaly(contextlib.ContextDecorator):
    """Check every forward value and every backward gradient for NaN and Inf.

    Raises ``AnomalyError`` at the first operation whose finite inputs gave a
    non-finite

    * forward result (e.g. ``log`` of a negative number, ``exp`` overflow), or
    * gradient for one of its inputs in ``backward()`` (e.g. ``sqrt`` at 0:
      ``dL/dx = g / (2 sqrt(x))`` divides by zero).

    A value that was already non-finite when it entered (say a ``-inf`` mask
    given as data) is passed on without complaint; so are non-finite
    intermediates inside a backward rule that do not reach the gradient.
    Works as ``with tg.detect_anomaly():`` and as a decorator.
    """

    def __init__(self):
        self._previous = []  # a stack: a decorated function may call itself

    def __enter__(self):
        self._previous.append(ProcessMode.anomaly)
        ProcessMode.anomaly = self
        return self

    def __exit__(self, *exc):
        ProcessMode.anomaly = self._previous.pop()
        return False

    # ------------------------------------------------ called by the engine
    def check_forward(self, fn, args, result: Tensor) -> None:
        """After every forward (``Function.apply`` calls this)."""
        fn.created_at = _user_site()
        if _finite(result.data):
            return
        if not all(_finite(a.data) for a in args if isinstance(a, Tensor)):
            return  # passed on, not produced here
        if _inside_backward():
            return  # part of a backward rule: check_backward judges the finished gradient
        raise AnomalyError(
            f"{fn.name} produced {_count_bad(result.data)} in its forward pass\n"
            f"  created at {fn.created_at}\n" + _input_ranges(args)
        )

    def check_backward(self, fn, grad_out: Tensor, parent_grad: Tensor) -> None:
        """After every gradient the engine passes to an input (``autograd.backward``)."""
        if _finite(parent_grad.data) or not _finite(grad_out.data):
            return
        created_at = getattr(fn, "created_at", "unknown (its forward ran outside detect_anomaly)")
        raise AnomalyError(
            f"the backward of {fn.name} produced {_count_bad(parent_grad.data)} in the "
            f"gradient for an input of shape {parent_grad.shape}\n"
            f"  created at {created_at}\n"
            f"  incoming gradient dL/d output: {_describe(grad_out)}\n" + _input_ranges(fn.parents)
        )


def _finite(data) -> bool:
    xp = backend.namespace_of(data)
    if not backend.is_floating(xp, data.dtype):
        return True
    return bool(xp.all(xp.isfinite(data)))


def _count_bad(data) -> str:
    xp = backend.namespace_of(data)
    n_nan = int(xp.count_nonzero(xp.isnan(data)))
    n_inf = int(xp.count_nonzero(xp.isinf(data)))
    size = math.prod(data.shape)
    kinds = ", ".join(f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "Inf")) if n)
    return f"non-finite values ({kinds} of {size} entries)"


def _describe(value) -> str:
    if value is None:
        return "None"
    if not isinstance(value, Tensor):
        return f"Python scalar {value!r}"
    data = value.data
    text = f"shape {value.shape} {backend.dtype_name(value.dtype)}"
    xp = value.xp
    if value.size and not xp.isdtype(data.dtype, "bool"):
        text += f", range [{float(xp.min(data)):.6g}, {float(xp.max(data)):.6g}]"
    return text


def _input_ranges(args) -> str:
    return "\n".join(f"  input {i}: {_describe(a)}" for i, a in enumerate(args))


def _user_site() -> str:
    """``file:line`` of the first caller outside the tinygrad_edu package."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "inside tinygrad_edu"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _inside_backward() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is backward.__code__:
            return True
        frame = frame.f_back
    return False
