"""One recorded operation: ``Function``, and the switches that decide what is recorded.

A ``Function`` subclass is a differentiable operation with two methods side by side:

* ``forward(self, xp, *arrays, **params) -> array`` computes the result on raw
  backend arrays with the namespace ``xp``; Python scalars pass through;
* ``backward(self, F, g, inputs, out) -> tuple`` turns ``g = dL/d out`` into
  one gradient per input (``None`` where none is needed), written with Python
  operators and the rule vocabulary ``F`` (derivatives.py). ``inputs`` and
  ``out`` are the forward's inputs and result, as Tensors when the backward
  pass is recorded (``create_graph=True``) and as raw arrays otherwise.

``apply`` runs ``forward`` and, when an input wants a gradient and grad mode
is on, records the node: its inputs (``parents``), which of them want a
gradient (``needs_input_grad``), its output and a creation number
(``sequence``) that gives the backward pass its order (autograd.py).

Grad mode (``no_grad``), and the backward tracer are per thread, as in
PyTorch; anomaly detection and the in-place write marks are process-wide.
"""

from __future__ import annotations

import inspect
import itertools
import threading

from . import backend


class ThreadMode(threading.local):
    """Switches of the current thread, read on every operation."""

    grad_enabled = True  # False inside ``no_grad`` and during a plain backward pass
    tracer = None  # the active ``trace_backward`` recorder, if any


class ProcessMode:
    """Switches shared by all threads."""

    anomaly = None  # the active ``detect_anomaly`` checker, if any
    last_write = 0  # sequence number of the latest in-place write (autograd.mark_written_in_place)


thread_mode = ThreadMode()
sequence = itertools.count()  # creation order of recorded nodes (see autograd.backward)


class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` in the vocabulary ``F``.

    A rule written with operators and ``F`` runs on Tensors when the backward
    pass is recorded (so second derivatives come for free) and on raw arrays
    otherwise. A rule that needs Tensor methods sets ``rules_on_tensors = True``:
    it then always gets Tensors (and the plain pass unwraps its results).
    """

    registry: dict[str, type] = {}  # every op by name (a test finds ops without a case)
    builtins: dict[str, type] = {}  # the library's own ops by name: a user's op cannot replace them
    changes_backend = False  # True only for Move, whose output may be another array type
    rules_on_tensors = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "backward" in cls.__dict__:
            _check_backward_signature(cls)
        if "forward" in cls.__dict__:  # an op, not an intermediate base class
            if cls.__module__.startswith("tinygrad_edu."):
                if cls.__name__ in Function.builtins:
                    raise TypeError(f"an op named {cls.__name__} is already registered")
                Function.builtins[cls.__name__] = cls
            Function.registry[cls.__name__] = cls

    @classmethod
    def apply(cls, *args, **params):
        """Run ``forward`` on the arguments' arrays and record the node if needed."""
        datas = []
        needs_input_grad = []
        array_type = None
        for arg in args:
            if isinstance(arg, _tensor_type):
                data = arg.data
                if array_type is None:
                    array_type = type(data)
                elif type(data) is not array_type:
                    raise_mixed(args)
                needs_input_grad.append(arg.requires_grad)
                datas.append(data)
            else:
                needs_input_grad.append(False)
                datas.append(arg)
        xp = _namespace_of_type.get(array_type)
        if xp is None:
            xp = _namespace_for(args)
        elif array_type not in _SINGLE_DEVICE_TYPES:
            check_devices(args)
        fn = cls()
        try:
            out = fn.forward(xp, *datas, **params)
        except ValueError as err:  # name the op and every input shape
            shapes = " and ".join(str(tuple(getattr(d, "shape", ()))) for d in datas)
            raise ValueError(f"{cls.__name__} of shapes {shapes}: {err}") from None
        if type(out) is not array_type and not fn.changes_backend:
            out = xp.asarray(out)  # NumPy turns 0-d results into scalars
        # new_tensor, inlined (-2% on the op chain, docs/performance.md): this runs for every op
        result = _new_object(_tensor_type)
        result.data = out
        result.grad = result._hooks = result.name = None
        if thread_mode.grad_enabled and True in needs_input_grad:
            result.requires_grad = True
            fn.parents = args
            fn.inputs = datas
            fn.needs_input_grad = needs_input_grad
            fn.sequence = next(sequence)
            result._ctx = fn
        else:
            result.requires_grad = False
            result._ctx = None
        if ProcessMode.anomaly is not None:
            ProcessMode.anomaly.check_forward(fn, args, result)
        return result

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, xp, *arrays, **params):
        raise NotImplementedError

    def backward(self, F, g, inputs, out):
        raise NotImplementedError


def _check_backward_signature(cls) -> None:
    """Refuse a ``backward`` that cannot take ``(F, g, inputs, out)``, e.g. the old ``(g)``."""
    try:
        inspect.signature(cls.backward).bind(None, None, None, None, None)
    except TypeError:
        raise TypeError(
            f"{cls.__name__}.backward{inspect.signature(cls.backward)} cannot take the rule "
            "signature; write backward(self, F, g, inputs, out): F is the rule vocabulary, "
            "inputs and out the forward's inputs and result (see docs/extending.md)"
        ) from None


# ------------------------------------------------------------ Tensors, from here
# tensor.py registers its class here (register_tensor_type), so that this module and the
# engine (autograd.py) sit below Tensor in the import graph: Tensor's methods call them.
_tensor_type = None
_new_object = object.__new__


def register_tensor_type(tensor_type) -> None:
    global _tensor_type
    _tensor_type = tensor_type


def new_tensor(data, requires_grad=False):
    """A Tensor around the backend array ``data`` (no checks, no copies)."""
    tensor = _new_object(_tensor_type)
    tensor.data = data
    tensor.grad = None
    tensor.requires_grad = requires_grad
    tensor._ctx = None
    tensor._hooks = None
    tensor.name = None
    return tensor


def is_tensor(value) -> bool:
    return isinstance(value, _tensor_type)


# ------------------------------------------------------------ namespace and device checks
_namespace_of_type: dict = {}  # array type -> namespace, filled on first use
_SINGLE_DEVICE_TYPES = backend.SINGLE_DEVICE_TYPES


def _namespace_for(args):
    """The namespace of the Tensor arguments (first call for an array type)."""
    tensors = [a for a in args if isinstance(a, _tensor_type)]
    if not tensors:
        raise TypeError("an operation needs at least one Tensor input")
    xp = backend.namespace_of(tensors[0].data)
    check_devices(args)
    _namespace_of_type[type(tensors[0].data)] = xp
    return xp


def check_devices(args):
    devices = {str(backend.device_of(a.data)) for a in args if isinstance(a, _tensor_type)}
    if len(devices) > 1:
        raise_mixed(args)


def raise_mixed(args):
    places = sorted({f"{a.backend} ({a.device})" for a in args if isinstance(a, _tensor_type)})
    raise ValueError(
        f"tensors on different backends or devices in one operation: {' and '.join(places)}; "
        "move them to one place first with .to(backend=..., device=...)"
    )
