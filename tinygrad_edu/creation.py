"""Creating tensors: from data, filled, ranges and random numbers.

Random numbers are drawn on the host by one seeded NumPy generator and then
moved, so ``tg.manual_seed(s)`` gives the same numbers on every backend.
"""

from __future__ import annotations

import threading

from . import backend as backends
from .tensor import Tensor

# While tg.compile records a step in this thread, ``recording.namespace`` is set: a function
# from a namespace to its recording stand-in, so that the arrays made here (zeros, randn, a
# tensor from data) are calls of the recorded program too.
recording = threading.local()


def _namespace(choice):
    """The namespace of a backend choice (a name, a namespace or None), or while a step is
    recorded its recording stand-in."""
    xp = backends.get_namespace(choice)
    wrap = getattr(recording, "namespace", None)
    return xp if wrap is None else wrap(xp)


def tensor(data, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    """Wrap Python data or an array of any backend (see ``Tensor``)."""
    made = Tensor(data, dtype=dtype, backend=backend, device=device, requires_grad=requires_grad)
    recorded = _namespace(made.xp)
    if recorded is not made.xp:  # tg.compile records it: a constant of the program (the
        made.data = recorded.asarray(made.data)  # stand-in of an input is recorded already)
    return made


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float_dtype(xp, dtype):
    return backends.resolve_dtype(xp, dtype or backends.get_default_dtype())


def _filled(fill, shape, dtype, backend_choice, device, requires_grad) -> Tensor:
    xp = _namespace(backend_choice)
    data = fill(xp, shape, _float_dtype(xp, dtype), backends.resolve_device(xp, device))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def zeros(*shape, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    return _filled(
        lambda xp, s, d, dev: xp.zeros(s, dtype=d, device=dev),
        _shape(shape),
        dtype,
        backend,
        device,
        requires_grad,
    )


def ones(*shape, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    return _filled(
        lambda xp, s, d, dev: xp.ones(s, dtype=d, device=dev),
        _shape(shape),
        dtype,
        backend,
        device,
        requires_grad,
    )


def full(shape, fill_value, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    """``shape`` filled with ``fill_value``; its dtype follows the value's Python type
    (bool, the default integer or the default float dtype) unless ``dtype`` is given."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None and type(fill_value) in (bool, int, complex):
        xp = _namespace(backend)
        dtype = backends.python_dtype(xp, {bool: "b", int: "i", complex: "c"}[type(fill_value)])
    return _filled(
        lambda xp, s, d, dev: xp.full(s, fill_value, dtype=d, device=dev),
        shape,
        dtype,
        backend,
        device,
        requires_grad,
    )


def eye(n, m=None, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    return _filled(
        lambda xp, s, d, dev: xp.eye(n, m, dtype=d, device=dev),
        None,
        dtype,
        backend,
        device,
        requires_grad,
    )


def arange(start, stop=None, step=1, dtype=None, backend=None, device=None) -> Tensor:
    """``start, start + step, ...`` below ``stop``; integers unless a float is involved."""
    xp = _namespace(backend)
    if dtype is None and all(isinstance(v, int) for v in (start, stop or 0, step)):
        dtype = "int64"
    data = xp.arange(
        start, stop, step, dtype=_float_dtype(xp, dtype), device=backends.resolve_device(xp, device)
    )
    return Tensor._wrap(data)


def zeros_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    xp = t.xp
    data = xp.zeros_like(t.data, dtype=backends.resolve_dtype(xp, dtype))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    xp = t.xp
    data = xp.ones_like(t.data, dtype=backends.resolve_dtype(xp, dtype))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def randn(*shape, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal numbers (host generator, see ``manual_seed``)."""
    xp = _namespace(backend)
    dtype = dtype or backends.get_default_dtype()
    data = backends.standard_normal(_shape(shape), xp, dtype, device)
    return Tensor._wrap(data).requires_grad_(requires_grad)


def rand(*shape, dtype=None, backend=None, device=None, requires_grad=False) -> Tensor:
    """Uniform numbers on [0, 1) (host generator, see ``manual_seed``)."""
    xp = _namespace(backend)
    dtype = dtype or backends.get_default_dtype()
    data = backends.uniform(_shape(shape), xp, dtype, device=device)
    return Tensor._wrap(data).requires_grad_(requires_grad)
