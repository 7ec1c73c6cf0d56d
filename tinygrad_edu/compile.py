"""``tg.compile(step)``: run a training step once while recording its array calls, then replay them.

How a tracing compiler works, in four parts (docs/compile.md walks through one):

1. **Tracing.** Every array the step reads (the arguments' data, parameters,
   gradients, buffers, optimizer state) is swapped for a ``Traced`` stand-in
   that holds the real array. The engine reaches arrays only through their
   namespace ``xp`` and their operators, so with the stand-ins in place every
   array call of the forward pass, the backward pass and the optimizer's update
   lands in ``_Trace.record``: it runs the real call (the capture *is* an
   ordinary eager step, with the same numbers) and appends one ``_Node``.
   Python numbers that change between steps (the learning rate, Adam's step
   counter) become ``_Sym`` stand-ins, so the arithmetic on them is recorded too.
2. **What cannot be traced.** Reading a Python value out of an array
   (``.item()``, ``bool(x)``, printing) makes the rest of the step depend on
   data: the capture finishes eagerly and is thrown away (one warning naming
   the line), or raises with ``strict=True``.
3. **Simplifying.** Calls whose inputs are all constants (row indices, the
   zeros of ReLU, the loss seed) are *folded*: their capture-time result is
   kept. Repeated pure calls are merged; calls whose results nobody uses are
   *dropped*. Python scalars that meet a NumPy array become 0-d arrays of its
   dtype (NumPy 2 multiplies by those about twice as fast, with the same bits);
   on NumPy, temporaries are written into a dead operand's memory or, when
   small, into buffers allocated once.
4. **Emitting.** What is left is written out as one straight-line Python
   function (``step.explain()`` prints it), compiled once with ``compile``:
   read the state, call the array functions, write the state back. A replay is
   that one function call: no Tensors, graph, heap or rule dispatch. (JAX gets
   the array calls as one ``jax.jit`` function, CuPy as one CUDA graph where
   the program allows it.)

Replays update parameters in place, set ``.grad`` (overwritten by the next
replay, as with CUDA graphs), keep optimizer state and BatchNorm statistics,
and draw dropout masks from the process-wide generator, so ``tg.manual_seed``
gives the same run compiled or not (bitwise on NumPy: the replay makes the
same calls in the same order).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import keyword
import linecache
import math
import os
import re
import sys
import threading
import time
import types
import warnings
from collections import OrderedDict

import numpy as np

from . import backend
from .autograd import mark_written_in_place
from .function import ProcessMode, new_tensor, thread_mode
from .nn.module import Module
from .optim.lr_scheduler import LRScheduler
from .optim.optimizer import Optimizer
from .tensor import Tensor

__all__ = ["CompileError", "CompileWarning", "compile"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_VARIANTS = 8


class CompileError(RuntimeError):
    """Raised by a ``strict=True`` compiled step that cannot be captured."""


class CompileWarning(UserWarning):
    """A compiled step ran eagerly because it could not be captured."""


class _GuardFailed(Exception):
    """A check recorded in the program (class targets in range) failed on this call."""


class _StaleState(Exception):
    """The state the program reads is gone (optimizer state cleared, say)."""


# ============================================================ 1. tracing
_active = threading.local()  # .trace: the _Trace being recorded in this thread


def _trace():
    trace = getattr(_active, "trace", None)
    if trace is None:
        raise RuntimeError(
            "an array from inside a tg.compile capture was used after the capture ended; "
            "return it from the step instead of keeping it"
        )
    return trace


class _Node:
    """One recorded call: ``kind`` (call, method, binop, ...), what is called, its arguments.

    ``args`` and ``kwargs`` are templates: ``_Ref(vid)`` where a traced value
    went in, the object itself elsewhere. ``out`` is the value id it made (for
    in-place calls: the new version of the written variable).
    """

    __slots__ = ("kind", "target", "args", "kwargs", "out", "effect", "inplace")

    def __init__(self, kind, target, args, kwargs, effect=False):
        self.kind, self.target, self.args, self.kwargs = kind, target, args, kwargs
        self.out = None
        self.effect = effect  # random draws and checks: never dropped
        self.inplace = None  # the variable written in place, if any


class _Ref:
    __slots__ = ("vid",)

    def __init__(self, vid):
        self.vid = vid


class _Trace:
    """The recording: nodes in call order and what is known about every value."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.nodes: list[_Node] = []
        self.vids = itertools.count()
        self.var_of: dict = {}  # value id -> variable number (in-place writes keep the variable)
        self.consts: dict = {}  # value id -> capture-time value, for values that are constants
        self.dtype_of: dict = {}  # value id -> (dtype, shape); (None, None) for Python numbers
        self.c_order: set = set()  # value ids of C-contiguous arrays (at capture)
        self.hint: dict = {}  # variable -> name hint
        self.raw: dict = {}  # id(raw array) -> its Traced stand-in (raw array kept alive there)
        self.raw_types: set = set()  # the real array types of the traced values
        self.mutated: set = set()  # variables written in place
        self.value_read: str | None = None  # where a Python value was read, if anywhere
        self.problem: str | None = None  # another reason the capture cannot be used

    # ------------------------------------------------------------ values
    def new_value(self, value, var=None):
        vid = next(self.vids)
        if value is not None and not isinstance(value, (int, float)):
            self.raw_types.add(np.ndarray if isinstance(value, np.generic) else type(value))
        self.var_of[vid] = vid if var is None else var
        self.dtype_of[vid] = (getattr(value, "dtype", None), getattr(value, "shape", None))
        if getattr(getattr(value, "flags", None), "c_contiguous", False):
            self.c_order.add(vid)
        return vid

    def template(self, obj):
        """``obj`` with traced values replaced by ``_Ref``s (raw arrays become constants)."""
        if isinstance(obj, (_Traced, _Sym)):
            return _Ref(obj.vid)
        if isinstance(obj, tuple):
            return tuple(self.template(item) for item in obj)
        if isinstance(obj, list):
            return [self.template(item) for item in obj]
        if isinstance(obj, dict):
            return {key: self.template(item) for key, item in obj.items()}
        if _is_raw_array(obj):
            return _Ref(self.raw_input(obj).vid)
        return obj

    def raw_input(self, array):
        """A stand-in for an array made outside the trace (a constant, snapshot now)."""
        stand_in = self.raw.get(id(array))
        if stand_in is None:
            snapshot = array.copy() if hasattr(array, "copy") else array
            node = _Node("const", snapshot, (), {})
            stand_in = _traced_type(type(array))(array, None)
            stand_in.vid = node.out = self.new_value(array)
            self.consts[node.out] = snapshot
            self.nodes.append(node)
            self.raw[id(array)] = stand_in
        return stand_in

    # ------------------------------------------------------------ recording
    def record(self, kind, target, args, kwargs, run, effect=False, writes=None):
        """Append one node for ``run()`` (the real call) and wrap what it returns.

        ``writes`` is the stand-in that the call writes in place, if any.
        """
        node = _Node(kind, target, self.template(args), self.template(kwargs), effect)
        inputs = _refs(node.args, node.kwargs)
        result = run()
        self.nodes.append(node)
        if writes is not None:
            if not isinstance(writes, _Traced):
                writes = self.raw_input(writes)
            var = self.var_of[writes.vid]
            node.inplace = var
            node.out = writes.vid = self.new_value(writes.value, var)
            self.mutated.add(var)
            return writes if result is None or _real_of(result) is writes.value else result
        if result is None:
            return None
        if (
            not _is_raw_array(result)
            and isinstance(result, (int, float, complex))
            and kind != "scalar"
        ):
            return result  # metadata (a size, a dtype test), not data
        constant = not effect and (
            all(vid in self.consts for vid in inputs)
            or (kind == "call" and target.name in _SHAPE_ONLY)  # zeros_like(x): x's shape only
        )
        if kind == "scalar":
            out = _Sym(result, None)
        elif _is_raw_array(result):
            out = _traced_type(type(result))(result, None)
        elif isinstance(result, (tuple, list)) and all(_is_raw_array(r) for r in result):
            node.out = self.new_value(None)
            if constant:
                self.consts[node.out] = result
            parts = []
            for position, item in enumerate(result):
                part = self.record(
                    "getitem", None, (_Held(node.out), position), {}, lambda i=item: i
                )
                parts.append(part)
            return type(result)(parts)
        else:
            self.nodes.pop()
            return result  # not an array: nothing to replay
        out.vid = node.out = self.new_value(result)
        if constant:
            self.consts[node.out] = result
        return out

    def read(self, what: str):
        """A Python value was read from an array: the capture cannot be replayed."""
        where = _user_line()
        if self.strict:
            raise CompileError(
                f"tg.compile(strict=True): {where} reads a Python value from an array "
                f"({what}); a replay cannot take a data-dependent branch"
            )
        if self.value_read is None:
            self.value_read = f"{where} reads a Python value from an array ({what})"


class _Held:
    """A reference to a tuple-valued result inside a template (see _Trace.record)."""

    __slots__ = ("vid",)

    def __init__(self, vid):
        self.vid = vid


def _flat_refs(obj) -> list:
    """The ``_Ref`` objects inside a template."""
    if isinstance(obj, _Ref):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [ref for item in obj for ref in _flat_refs(item)]
    if isinstance(obj, dict):
        return [ref for item in obj.values() for ref in _flat_refs(item)]
    return []


def _refs(args, kwargs) -> list:
    found = []

    def walk(obj):
        if isinstance(obj, (_Ref, _Held)):
            found.append(obj.vid)
        elif isinstance(obj, (tuple, list)):
            for item in obj:
                walk(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                walk(item)

    walk(args)
    walk(kwargs)
    return found


def _real_of(obj):
    """The real values behind stand-ins, inside tuples, lists and dicts too."""
    if isinstance(obj, (_Traced, _Sym)):
        return obj.value
    if isinstance(obj, tuple):
        return tuple(_real_of(item) for item in obj)
    if isinstance(obj, list):
        return [_real_of(item) for item in obj]
    if isinstance(obj, dict):
        return {key: _real_of(item) for key, item in obj.items()}
    return obj


_RAW_TYPES: set = set()  # real array types seen in captures


def _is_raw_array(obj) -> bool:
    return type(obj) in _RAW_TYPES or isinstance(obj, (np.ndarray, np.generic))


def _user_line() -> str:
    """``file:line (code)`` of the innermost frame outside tinygrad_edu: the user's line."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "the step"
    filename, line = frame.f_code.co_filename, frame.f_lineno
    code = linecache.getline(filename, line).strip()
    return f"{os.path.basename(filename)}:{line}" + (f" ({code})" if code else "")


# ------------------------------------------------------------ the stand-ins
_BINARY = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
    "pow": "**", "matmul": "@", "and": "&", "or": "|", "xor": "^", "lshift": "<<",
    "rshift": ">>",
}  # fmt: skip
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
# Python scalars become 0-d arrays only for these: same bits (NumPy 2 casts a weak scalar
# to the array's dtype first), about half the time; ``**`` has scalar fast paths of its own.
_SCALAR_TO_ARRAY = {"+", "-", "*", "/"}
_SHAPE_ONLY = {"zeros_like", "ones_like", "full_like"}
_VALUE_READS = {"item", "tolist", "numpy", "tobytes", "__dlpack__", "cpu_item"}


class _Traced:
    """Stands in for one real array during a capture; every operation on it is recorded."""

    __slots__ = ("value", "vid")
    __array_priority__ = 1000

    def __init__(self, value, vid):
        self.value, self.vid = value, vid

    # static facts: known from the signature
    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    device = property(lambda self: backend.device_of(self.value))

    def __len__(self):
        return len(self.value)

    def __array_namespace__(self, api_version=None):
        return type(self).namespace

    def __repr__(self):
        return f"<traced {type(self.value).__name__} {tuple(self.value.shape)}>"

    __hash__ = object.__hash__

    # ------------------------------------------------------------ Python values: not traceable
    def _read(self, what, convert):
        _trace().read(what)
        return convert(self.value)

    def __bool__(self):
        return self._read("bool()", bool)

    def __int__(self):
        return self._read("int()", int)

    def __float__(self):
        return self._read("float()", float)

    def __index__(self):
        return self._read("an index", lambda v: v.__index__())

    def __complex__(self):
        return self._read("complex()", complex)

    def __format__(self, spec):
        return self._read("formatting", lambda v: format(v, spec))

    def __array__(self, dtype=None, copy=None):
        return self._read("conversion to NumPy", lambda v: np.asarray(v, dtype=dtype))

    # ------------------------------------------------------------ operators
    def _binary(self, symbol, other, reflected=False):
        trace = _trace()
        real_other = _real_of(other)
        shown = _scalar_operand(self.value, other, symbol)
        args = (shown, self) if reflected else (self, shown)
        if reflected:
            run = lambda: _apply_binary(symbol, real_other, self.value)  # noqa: E731
        else:
            run = lambda: _apply_binary(symbol, self.value, real_other)  # noqa: E731
        return trace.record("binop", symbol, args, {}, run)

    def _inplace(self, symbol, other):
        if not backend.is_mutable(type(self).namespace._xp):  # JAX: ``a += b`` rebinds a
            return self._binary(symbol, other)
        trace = _trace()
        real_other = _real_of(other)
        shown = _scalar_operand(self.value, other, symbol)
        value = self.value

        def run():
            return _apply_inplace(symbol, value, real_other)

        result = trace.record("iop", symbol, (self, shown), {}, run, writes=self)
        if isinstance(result, _Traced) and result is not self:  # an immutable array: rebound
            trace.mutated.discard(trace.var_of[self.vid])
        return result

    def __neg__(self):
        return _trace().record("unop", "-", (self,), {}, lambda: -self.value)

    def __pos__(self):
        return _trace().record("unop", "+", (self,), {}, lambda: +self.value)

    def __invert__(self):
        return _trace().record("unop", "~", (self,), {}, lambda: ~self.value)

    def __abs__(self):
        return _trace().record("call", abs, (self,), {}, lambda: abs(self.value))

    def __getitem__(self, index):
        real = _real_of(index)
        return _trace().record("getitem", None, (self, index), {}, lambda: self.value[real])

    def __setitem__(self, index, item):
        real_index, real_item = _real_of(index), _real_of(item)

        def run():
            self.value[real_index] = real_item

        _trace().record("setitem", None, (self, index, item), {}, run, writes=self)

    @property
    def T(self):
        return _trace().record("attr", "T", (self,), {}, lambda: self.value.T)

    @property
    def mT(self):
        return _trace().record("attr", "mT", (self,), {}, lambda: self.value.mT)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        attribute = getattr(self.value, name)
        if name in _VALUE_READS:
            _trace().read(f".{name}()")
            return attribute
        if not callable(attribute):
            if _is_raw_array(attribute):
                return _trace().record("attr", name, (self,), {}, lambda: attribute)
            return attribute

        def method(*args, **kwargs):
            real_args, real_kwargs = _real_of(args), _real_of(kwargs)
            return _trace().record(
                "method", name, (self,) + args, kwargs, lambda: attribute(*real_args, **real_kwargs)
            )

        return method

    # ------------------------------------------------------------ NumPy's own dispatch
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        function = getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}_{method}"
        real_inputs, real_kwargs = _real_of(inputs), _real_of(kwargs)
        writes = None
        if method == "at":
            writes = inputs[0]
        elif "out" in kwargs:
            out = kwargs["out"]
            writes = out[0] if isinstance(out, tuple) else out
        return _trace().record(
            "call", _Named(function, name), inputs, kwargs,
            lambda: function(*real_inputs, **real_kwargs), writes=writes,
        )  # fmt: skip

    def __array_function__(self, func, types_, args, kwargs):
        real_args, real_kwargs = _real_of(args), _real_of(kwargs)
        return _trace().record(
            "call", _Named(func, func.__name__), args, kwargs,
            lambda: func(*real_args, **real_kwargs),
        )  # fmt: skip


def _scalar_operand(array, other, symbol):
    """A Python scalar as a 0-d NumPy array of ``array``'s dtype where that keeps the bits."""
    if (
        type(other) in (int, float)
        and symbol in _SCALAR_TO_ARRAY
        and isinstance(array, (np.ndarray, np.generic))
        and (array.dtype.kind == "f" or (array.dtype.kind == "i" and type(other) is int))
    ):
        return _Constant(np.asarray(other, dtype=array.dtype), other)
    return other


class _Constant:
    """A literal with the value it was written as (for explain())."""

    __slots__ = ("value", "written")

    def __init__(self, value, written):
        self.value, self.written = value, written


class _Named:
    """A function with the name it gets in the emitted program."""

    __slots__ = ("function", "name")

    def __init__(self, function, name):
        self.function, self.name = function, name


def _apply_binary(symbol, a, b):
    return _BINARY_FUNCTIONS[symbol](a, b)


def _apply_inplace(symbol, a, b):
    return _INPLACE_FUNCTIONS[symbol](a, b)


def _make_tables():
    import operator

    binary = {
        "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
        "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "@": operator.matmul,
        "&": operator.and_, "|": operator.or_, "^": operator.xor, "<<": operator.lshift,
        ">>": operator.rshift, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    }  # fmt: skip
    inplace = {
        "+": operator.iadd, "-": operator.isub, "*": operator.imul, "/": operator.itruediv,
        "//": operator.ifloordiv, "%": operator.imod, "**": operator.ipow, "@": operator.imatmul,
        "&": operator.iand, "|": operator.ior, "^": operator.ixor,
    }  # fmt: skip
    return binary, inplace


_BINARY_FUNCTIONS, _INPLACE_FUNCTIONS = _make_tables()


def _add_operators():
    """``__add__``, ``__radd__``, ``__iadd__``, ``__lt__``... on ``_Traced``, all recorded."""
    for name, symbol in _BINARY.items():
        setattr(_Traced, f"__{name}__", lambda self, other, s=symbol: self._binary(s, other))
        setattr(_Traced, f"__r{name}__", lambda self, other, s=symbol: self._binary(s, other, True))
        if symbol in _INPLACE_FUNCTIONS:
            setattr(_Traced, f"__i{name}__", lambda self, other, s=symbol: self._inplace(s, other))
    for name, symbol in _COMPARE.items():
        setattr(_Traced, f"__{name}__", lambda self, other, s=symbol: self._binary(s, other))


_add_operators()


class _Sym:
    """Stands in for a Python number of the state (the learning rate, Adam's step count)."""

    __slots__ = ("value", "vid")

    def __init__(self, value, vid):
        self.value, self.vid = value, vid

    __hash__ = object.__hash__

    def _binary(self, symbol, other, reflected=False):
        if isinstance(other, _Traced):
            return NotImplemented  # the array's reflected operator records it
        real = _real_of(other)
        args = (other, self) if reflected else (self, other)
        pair = (real, self.value) if reflected else (self.value, real)
        return _trace().record("scalar", symbol, args, {}, lambda: _apply_binary(symbol, *pair))

    def __neg__(self):
        return _trace().record("scalar", "neg", (self,), {}, lambda: -self.value)

    def _read(self, what, convert):
        _trace().read(what)
        return convert(self.value)

    def __bool__(self):
        return self._read("bool() of a state number", bool)

    def __float__(self):
        return self._read("float() of a state number", float)

    def __int__(self):
        return self._read("int() of a state number", int)

    def __index__(self):
        return self._read("an index from a state number", int)

    def __format__(self, spec):
        return self._read("formatting a state number", lambda v: format(v, spec))

    def __repr__(self):
        return f"<traced number {self.value!r}>"


def _add_scalar_operators():
    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow"):
        symbol = _BINARY[name]
        setattr(_Sym, f"__{name}__", lambda self, other, s=symbol: self._binary(s, other))
        setattr(_Sym, f"__r{name}__", lambda self, other, s=symbol: self._binary(s, other, True))
    for name in _COMPARE:  # comparing decides a branch: a value read

        def compare(self, other, name=name):
            return self._read(
                "a comparison of a state number",
                lambda v: getattr(v, f"__{name}__")(_real_of(other)),
            )

        setattr(_Sym, f"__{name}__", compare)


_add_scalar_operators()


# ------------------------------------------------------------ the tracing namespace
class _TracingNamespace:
    """The namespace of ``_Traced`` arrays: each function call on it is recorded.

    It reports the real namespace's ``__name__``, so that the backend helpers
    take the same branches (method shortcuts, in-place kernels) as in eager mode.
    """

    records_calls = True  # backend.random and backend.kernels hand it their draws and checks

    def __init__(self, xp):
        self._xp = xp
        self.__name__ = xp.__name__

    def __getattr__(self, name):
        value = getattr(self._xp, name)
        if callable(value) and not isinstance(value, type) and not name.startswith("__"):
            function = value

            def recorded(*args, **kwargs):
                real_args, real_kwargs = _real_of(args), _real_of(kwargs)
                return _trace().record(
                    "call", _Named(function, name), args, kwargs,
                    lambda: function(*real_args, **real_kwargs),
                )  # fmt: skip

            value = recorded
        object.__setattr__(self, name, value)
        return value

    def record_draw(self, draw, shape, dtype, **options):
        """A random draw (``backend.uniform``...): recorded, redrawn on every replay."""
        xp = self._xp
        return _trace().record(
            "call", _Named(draw, draw.__name__), (shape, xp, dtype), options,
            lambda: draw(shape, xp, dtype, **options), effect=True,
        )  # fmt: skip

    def record_check(self, check, array, *args):
        """A check that returns a bool (class targets in range): a guard of the replay."""
        xp = self._xp
        real = check(xp, _real_of(array), *args)
        trace = _trace()
        if real:
            node = _Node(
                "guard", _Named(check, check.__name__), trace.template((xp, array) + args), {}
            )
            node.effect = True
            trace.nodes.append(node)
        return real


_STAND_IN_TYPES: dict = {}  # real array type -> its stand-in class


def _traced_type(array_type):
    """The stand-in class for arrays of ``array_type``, with its tracing namespace.

    NumPy scalars (what NumPy returns for 0-d results) share the ndarray's.
    """
    if issubclass(array_type, np.generic):
        array_type = np.ndarray
    stand_in = _STAND_IN_TYPES.get(array_type)
    if stand_in is None:
        sample = np.zeros(()) if array_type is np.ndarray else None
        xp = backend.namespace_of(sample) if sample is not None else _NAMESPACE_HINT[array_type]
        stand_in = type(f"Traced_{array_type.__name__}", (_Traced,), {"__slots__": ()})
        stand_in.namespace = _TracingNamespace(xp)
        _STAND_IN_TYPES[array_type] = stand_in
        _RAW_TYPES.add(array_type)
    return stand_in


_NAMESPACE_HINT: dict = {}  # array type -> its real namespace (filled by _stand_in)


def _stand_in(value, trace, var_hint=None):
    """A new stand-in for the real ``value`` (an input of the step)."""
    if not isinstance(value, np.generic):
        _NAMESPACE_HINT.setdefault(type(value), backend.namespace_of(value))
    stand_in = _traced_type(type(value))(value, None)
    stand_in.vid = trace.new_value(value)
    if var_hint:
        trace.hint[trace.var_of[stand_in.vid]] = var_hint
    return stand_in


# ============================================================ 2. what the step reads
class _Found:
    """The state a step can reach: tensors (with names), modules, optimizers, schedulers."""

    def __init__(self):
        self.tensors: list = []  # (tensor, name)
        self.modules: list = []
        self.optimizers: list = []
        self.schedulers: list = []
        self._seen: set = set()
        self._key = None
        self._linear_count = 0
        self._other_count = itertools.count(1)

    def key(self) -> tuple:
        """What of this state the program depends on (see ``compile``): one flat tuple.

        Built by a generated function (one tuple display instead of nested
        generators: this runs on every call of a compiled step).
        """
        if self._key is None:
            self._key = self._key_function()
        try:
            return self._key()
        except (IndexError, KeyError, AttributeError):  # param groups replaced, or the arrays
            return ("changed", id(self))  # moved to another backend: a key no variant has

    def _key_function(self):
        names, parts = {}, []
        for number, (tensor, _) in enumerate(self.tensors):
            names[f"t{number}"] = tensor
            parts += [f"t{number}.grad is None", f"t{number}.data.shape", f"t{number}.data.dtype"]
            if type(tensor.data) is np.ndarray:
                parts.append(f"t{number}.data.flags.c_contiguous")
        for number, module in enumerate(self.modules):
            names[f"m{number}"] = module
            parts.append(f"m{number}.training")
        for number, opt in enumerate(self.optimizers):
            names[f"o{number}"] = opt
            for g, group in enumerate(opt.param_groups):
                group_code = f"o{number}.param_groups[{g}]"
                parts += [f"{group_code}[{k!r}]" for k in group if k not in _READ_AT_REPLAY]
        source = f"def key():\n    return ({', '.join(parts)}{',' if parts else ''})\n"
        exec(builtins_compile(source, "<tg.compile signature>", "exec"), names)
        return names["key"]

    def objects(self) -> list:
        return self.modules + self.optimizers + self.schedulers


_READ_AT_REPLAY = ("params", "lr", "initial_lr")  # hyperparameters read as inputs, not baked in
_LAYER_NAMES = {"Linear": ("W", "b")}


def _discover(fn, args, kwargs) -> _Found:
    """Find the modules, optimizers and tensors that ``fn`` reaches.

    Roots: the arguments, ``fn``'s closure, the globals its code names (and
    those of functions it names, a few levels deep), ``self`` of a bound method.
    """
    found = _Found()
    seen_objects: set = set()

    def visit(obj, name, depth):
        if depth > 4 or id(obj) in seen_objects:
            return
        if isinstance(obj, Tensor):  # bare tensors: the step's own names, or trainable ones
            if id(obj) not in found._seen and (depth <= 1 or obj.requires_grad):
                found._seen.add(id(obj))
                found.tensors.append((obj, _identifier(name)))
            return
        seen_objects.add(id(obj))
        if isinstance(obj, Module):
            visit_module(obj, name)
        elif isinstance(obj, Optimizer):
            found.optimizers.append(obj)  # its parameters: after the modules (which name them)
        elif isinstance(obj, LRScheduler):
            found.schedulers.append(obj)
            visit(obj.optimizer, "optimizer", depth + 1)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for position, item in enumerate(obj):
                visit(item, f"{name}{position}", depth + 1)
        elif isinstance(obj, dict):
            for key, item in obj.items():
                visit(item, str(key), depth + 1)
        elif isinstance(obj, functools.partial):
            visit(obj.func, name, depth + 1)
            visit(obj.args, name, depth + 1)
            visit(obj.keywords, name, depth + 1)
        elif isinstance(obj, types.MethodType):
            visit(obj.__self__, "self", depth + 1)
            visit(obj.__func__, name, depth + 1)
        elif isinstance(obj, types.FunctionType):
            if depth and os.path.abspath(obj.__code__.co_filename).startswith(_PACKAGE_DIR):
                return  # the library's own functions (loss functions...) reach no user state
            for cell_name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
                try:
                    visit(cell.cell_contents, cell_name, depth + 1)
                except ValueError:  # an empty cell
                    pass
            for default in (obj.__defaults__ or ()) + tuple((obj.__kwdefaults__ or {}).values()):
                visit(default, "default", depth + 1)
            for global_name in _global_names(obj.__code__):
                if global_name in obj.__globals__:
                    visit(obj.__globals__[global_name], global_name, depth + 1)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType)):
            if callable(obj):  # a callable object: what its __call__ reads
                visit(type(obj).__call__, name, depth + 1)
            for attribute, item in vars(obj).items():
                visit(item, attribute, depth + 1)

    def visit_module(module, name):
        for _, sub in module.named_modules():
            if id(sub) in {id(m) for m in found.modules}:
                continue
            found.modules.append(sub)
            seen_objects.add(id(sub))
            kind = type(sub).__name__
            if kind in _LAYER_NAMES:
                found._linear_count += 1
                names = dict(zip(("weight", "bias"), _LAYER_NAMES[kind]))
            else:
                names = {}
            number = found._linear_count if names else next(found._other_count)
            for param_name, param in list(sub._parameters.items()) + list(sub._buffers.items()):
                if param is None or id(param) in found._seen:
                    continue
                short = names.get(param_name)
                label = f"{short}{number}" if short else f"{kind.lower()}{number}_{param_name}"
                found._seen.add(id(param))
                found.tensors.append((param, _identifier(label)))

    visit(fn, getattr(fn, "__name__", "step"), 0)
    for position, arg in enumerate(args):
        if not isinstance(arg, Tensor):
            visit(arg, f"arg{position}", 1)
    for key, arg in kwargs.items():
        if not isinstance(arg, Tensor):
            visit(arg, key, 1)
    for opt in found.optimizers:
        for group in opt.param_groups:
            for param in group["params"]:
                if id(param) not in found._seen:
                    found._seen.add(id(param))
                    found.tensors.append((param, f"p{next(found._other_count)}"))
    return found


def _global_names(code) -> list:
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return names


def _identifier(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "t"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = "t_" + text
    return text


# ============================================================ 3. the capture
class _Slot:
    """One place the program reads or writes: ``holder.data``, ``holder.grad``, ``holder[key]``."""

    __slots__ = ("kind", "holder", "key", "expr", "name", "initial", "vid", "_number")
    _count = itertools.count()

    def __init__(self, kind, holder, key, expr, name):
        self.kind, self.holder, self.key, self.expr, self.name = kind, holder, key, expr, name
        self.initial = self.vid = None
        self._number = next(_Slot._count) if kind == "grad" else None

    def get(self):
        if self.kind == "data":
            return self.holder.data
        if self.kind == "grad":
            return self.holder.grad
        return self.holder.get(self.key, _MISSING)

    def set(self, value):
        if self.kind == "data":
            self.holder.data = value
        elif self.kind == "grad":
            self.holder.grad = value
        else:
            self.holder[self.key] = value

    def read_code(self):
        if self.kind == "data":
            return f"{self.expr}.data"
        if self.kind == "grad":
            return f"{self.expr}.grad.data"
        return f"{self.expr}[{self.key!r}]"

    def write_code(self, value_code):
        if self.kind == "data":
            return f"{self.expr}.data = {value_code}"
        if self.kind == "grad":
            if value_code is None:
                return f"{self.expr}.grad = None"
            # The Tensor this program put in .grad last time gets the new array (as CUDA graphs
            # overwrite their outputs): no new Tensor per parameter per step.
            made, holder = f"_made[{self._number}]", self.expr
            return "\n    ".join(
                (
                    f"_grad = {holder}.grad",
                    f"if _grad is not None and _grad is {made}: _grad.data = {value_code}",
                    f"else: {made} = {holder}.grad = _wrap({value_code})",
                )
            )
        return f"{self.expr}[{self.key!r}] = {value_code}"


_MISSING = object()
_UNREACHED = object()
_STATE_NAMES = {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "vmax", "step": "step",
                "momentum_buffer": "buf", "square_avg": "sq", "sum": "G"}  # fmt: skip


class _Capture:
    """Installs the stand-ins, runs the step once, collects what changed, restores real arrays."""

    def __init__(self, fn, args, kwargs, found, strict):
        self.trace = _Trace(strict)
        self.found = found
        self.slots: list[_Slot] = []
        self.globals: dict = {}  # object expression -> object
        self.call_args = tuple(args) + tuple(kwargs[k] for k in sorted(kwargs))
        self.arg_names = _argument_names(fn, len(args), sorted(kwargs))
        self._ids: dict = {}

    def ref(self, obj) -> str:
        """The program's name for a state object (bound in its globals)."""
        name = self._ids.get(id(obj))
        if name is None:
            name = self._ids[id(obj)] = f"_o{len(self._ids)}"
            self.globals[name] = obj
        return name

    def install(self):
        for position, arg in enumerate(self.call_args):
            if isinstance(arg, Tensor):
                self._tensor_slots(arg, f"_a{position}", self.arg_names[position])
        args_ids = {id(a) for a in self.call_args}
        for tensor, name in self.found.tensors:
            if id(tensor) not in args_ids:
                self._tensor_slots(tensor, self.ref(tensor), name)
        names = {id(t): n for t, n in self.found.tensors}
        for opt in self.found.optimizers:
            for number, group in enumerate(opt.param_groups):
                holder = f"{self.ref(opt)}.param_groups[{number}]"
                if type(group.get("lr")) in (int, float):
                    self._number_slot(group, "lr", holder, "lr" if number == 0 else f"lr{number}")
                for param in group["params"]:
                    state = opt.state.get(param)
                    if not state:
                        continue
                    holder = f"{self.ref(opt)}.state[{self.ref(param)}]"
                    for key, value in state.items():
                        label = f"{_STATE_NAMES.get(key, key)}_{names.get(id(param), 'p')}"
                        if type(value) in (int, float):
                            self._number_slot(state, key, holder, label)
                        elif _is_raw_array(value):
                            slot = self._slot("item", state, key, holder, label)
                            slot.set(self._wrap(slot, value))

    def _slot(self, kind, holder, key, expr, name):
        slot = _Slot(kind, holder, key, expr, _identifier(name))
        self.slots.append(slot)
        return slot

    def _wrap(self, slot, value):
        stand_in = _stand_in(value, self.trace, slot.name)
        slot.initial, slot.vid = stand_in, stand_in.vid
        return stand_in

    def _number_slot(self, holder, key, expr, name):
        slot = self._slot("item", holder, key, expr, name)
        sym = _Sym(holder[key], self.trace.new_value(None))
        self.trace.hint[self.trace.var_of[sym.vid]] = slot.name
        slot.initial, slot.vid = sym, sym.vid
        holder[key] = sym

    def _tensor_slots(self, tensor, expr, name):
        data = self._slot("data", tensor, None, expr, name)
        tensor.data = self._wrap(data, tensor.data)
        grad = self._slot("grad", tensor, None, expr, f"d{name}")
        if tensor.grad is not None:
            original = tensor.grad
            stand_in = self._wrap(grad, original.data)
            grad.initial = (original, stand_in)
            tensor.grad = new_tensor(stand_in)

    def wrote_state(self) -> bool:
        """Whether the capture has written into a state array in place so far."""
        mutated, var_of = self.trace.mutated, self.trace.var_of
        return any(slot.vid is not None and var_of[slot.vid] in mutated for slot in self.slots)

    def collect_and_restore(self):
        """Return ``(writes, written_in_place)``; put real arrays back everywhere."""
        trace = self.trace
        writes, in_place = [], []
        for slot in self.slots:
            current = slot.get()
            if slot.kind == "grad":
                original = slot.initial[0] if slot.initial else None
                if current is None:
                    if original is not None:
                        writes.append((slot, None))
                    continue
                data = current.data
                if not isinstance(data, _Traced):
                    trace.problem = trace.problem or f"{slot.name} was set to an untraced array"
                    continue
                if original is not None and current.data is slot.initial[1]:
                    if data.vid == slot.vid:
                        slot.set(original)
                        continue
                writes.append((slot, data.vid))
                current.data = data.value
                continue
            if current is _MISSING:
                trace.problem = trace.problem or "the optimizer state changed during the capture"
                continue
            if isinstance(current, (_Traced, _Sym)):
                if current is slot.initial:
                    if isinstance(current, _Traced) and current.vid != slot.vid:
                        in_place.append(slot)
                else:
                    writes.append((slot, current.vid))
                slot.set(current.value)
            elif current is not _real_of(slot.initial):
                trace.problem = trace.problem or f"{slot.name} was set to an untraced value"
        for opt in self.found.optimizers:  # entries added during the capture: real values
            for state in list(opt.state.values()) + opt.param_groups:
                for key, value in state.items():
                    if isinstance(value, (_Traced, _Sym)):
                        state[key] = value.value
            cached = getattr(opt, "_scalars", None)
            if cached:  # Optimizer.scalar's cache: drop entries made from stand-ins
                for key in [k for k, v in cached.items() if isinstance(v, _Traced)]:
                    del cached[key]
        return writes, in_place


def _argument_names(fn, count, keyword_names) -> list:
    try:
        parameters = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    names = [parameters[i] if i < len(parameters) else f"arg{i}" for i in range(count)]
    return [_identifier(n) for n in names + list(keyword_names)]


def _python_numbers(objects) -> dict:
    return {
        (id(obj), name): value
        for obj in objects
        for name, value in vars(obj).items()
        if type(value) in (int, float)
    }


def _state_structure(found) -> tuple:
    return tuple(
        (len(opt.state), tuple(tuple(s) for s in opt.state.values())) for opt in found.optimizers
    )


# ============================================================ 4. the program
class _Program:
    """The straight-line replay of one variant, as Python source and as a function."""

    def __init__(self, capture, writes, in_place, returned, title):
        trace = capture.trace
        recorded = sum(n.kind != "const" for n in trace.nodes)
        kept, folded, alias = self._simplify(trace)
        needed = [vid for _, vid in writes if vid is not None] + _returned_vids(returned)
        kept = self._drop_dead(kept, needed, trace, alias)
        if _numpy_only(trace):
            kept = self._multiply_by_masks(kept, needed, trace, alias)
        self._globals = {
            "_wrap": new_tensor, "_GuardFailed": _GuardFailed, "_StaleState": _StaleState,
            "_mark": mark_written_in_place, "_fresh": _fresh, "_made": _MadeGrads(),
        }  # fmt: skip
        self._globals.update(capture.globals)
        self._names_of_functions: dict = {}
        self._plain_calls = False
        self._graph_outputs: set = set()
        self._constant_names: dict = {}
        self._shown_constants: list = []
        self.folded, self.alias, self.trace = folded, alias, trace
        live = set(_refs([n.args for n in kept], [n.kwargs for n in kept]))
        live.update(alias.get(vid, vid) for _, vid in writes if vid is not None)
        live.update(_returned_vids(returned))
        self.reads = [s for s in capture.slots if s.vid is not None and s.vid in live]
        self.numpy = _numpy_only(trace)  # NumPy-only rewrites (buffers, reductions, checks)
        self.reuse = self._plan_reuse(kept, writes, returned)
        self.buffers = self._plan_buffers(kept, writes, returned)
        self._name_variables(capture, kept, writes, returned)
        code_lines, shown_lines = self._emit(capture, kept, writes, in_place, returned)
        self.counts = {
            "recorded": recorded,
            "replayed": len(kept),
            "folded": sum(1 for n in trace.nodes if n.out in folded and n.kind != "const"),
            "merged": len(alias),
        }
        self.counts["dropped"] = (
            self.counts["recorded"] - self.counts["replayed"] - self.counts["folded"]
            - self.counts["merged"] + sum(1 for n in kept if n.kind == "const")
        )  # fmt: skip
        self.source = "\n".join(code_lines) + "\n"
        filename = f"<tg.compile {title}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        exec(builtins_compile(self.source, filename, "exec"), self._globals)
        self.run = self._globals["_replay"]
        # Buffers (and a graph's memory) hold one call's values: one call at a time.
        self.lock = threading.Lock() if self.buffers or "_graphed" in self._globals else None
        self.shown = shown_lines
        # The recording is not needed any more: let its capture-time arrays go.
        self.trace = self.folded = self.alias = self.names = None

    # ------------------------------------------------------------ folding, merging, dropping
    @staticmethod
    def _simplify(trace):
        folded: dict = {}  # vid -> constant value
        alias: dict = {}  # vid -> the vid of an identical earlier result
        seen: dict = {}
        kept = []
        mutated, var_of = trace.mutated, trace.var_of
        for node in trace.nodes:
            node.args, node.kwargs = _resolve(node.args, alias), _resolve(node.kwargs, alias)
            if node.kind == "const":
                if var_of[node.out] in mutated:
                    kept.append(node)  # written in place later: a fresh copy on every replay
                else:
                    folded[node.out] = node.target
                continue
            pure = not node.effect and node.inplace is None and node.out is not None
            if pure and var_of[node.out] not in mutated:
                inputs = _refs(node.args, node.kwargs)
                shape_only = node.kind == "call" and node.target.name in _SHAPE_ONLY
                if node.out in trace.consts and (shape_only or all(v in folded for v in inputs)):
                    folded[node.out] = trace.consts[node.out]
                    continue
                key = (node.kind, _key_of(node.target), _key_of(node.args), _key_of(node.kwargs))
                if key in seen:
                    alias[node.out] = seen[key]
                    continue
                seen[key] = node.out
            kept.append(node)
        return kept, folded, alias

    @staticmethod
    def _drop_dead(kept, needed, trace, alias):
        live = {alias.get(vid, vid) for vid in needed}
        result = []
        for node in reversed(kept):
            if node.effect or node.inplace is not None or node.out in live:
                live.update(_refs(node.args, node.kwargs))
                result.append(node)
        result.reverse()
        return result

    # ------------------------------------------------------------ buffer reuse
    def _plan_reuse(self, kept, writes, returned):
        """Nodes ``v = a op b`` that can be written ``a op= b``, and ``v = f(a, b)`` for a NumPy
        ufunc ``f`` that can be written ``v = f(a, b, out=a)`` (measured: see docs/compile.md).

        Allowed when ``a`` is a temporary made by arithmetic in this program, used
        only as an arithmetic operand (so no view or other reference to its memory
        exists), read for the last time here, and of the result's shape and dtype.
        The in-place ufunc loop computes the same numbers into the old buffer and
        saves an allocation (and, for large arrays, the memory traffic of a new one).
        Returns {node index: operand position}; ``self.same_var`` maps the result's
        variable to the operand's (``a op= b``: one name for both).
        """
        trace, alias = self.trace, self.alias
        self.same_var, self.memory_of = {}, {}  # memory_of: result variable -> operand's
        if not kept or not self.numpy:
            return {}
        var = lambda vid: trace.var_of[alias.get(vid, vid)]  # noqa: E731
        fresh, escaped, last_use = set(), set(), {}
        inputs = {trace.var_of[slot.vid] for slot in self.reads}
        for position, node in enumerate(kept):
            operands = []
            if node.kind in ("binop", "unop") or _binary_ufunc_call(node):
                operands = [a for a in node.args if isinstance(a, _Ref)]
            elif node.kind == "iop":
                operands = [a for a in node.args[1:] if isinstance(a, _Ref)]
            for vid in _refs(node.args, node.kwargs):
                last_use[var(vid)] = position
            plain = {id(a) for a in operands}
            for item in _flat_refs((node.args, node.kwargs)):
                if id(item) not in plain and not (node.kind == "iop" and item is node.args[0]):
                    escaped.add(var(item.vid))
            ufunc = node.kind == "call" and isinstance(node.target.function, np.ufunc)
            if node.out is not None and (node.kind in ("binop", "unop") or ufunc):
                fresh.add(var(node.out))
        for vid in [v for _, v in writes if v is not None] + _returned_vids(returned):
            escaped.add(var(vid))
        plan = {}
        for position, node in enumerate(kept):
            if node.out is None:
                continue
            if _binary_ufunc_call(node):  # maximum(z, zeros) -> maximum(z, zeros, out=z)
                if not trace.dtype_of[node.out][1]:
                    continue  # 0-d: NumPy returns a scalar, which cannot be an ``out``
                candidates = [0]
            elif node.kind == "binop" and node.target in _SCALAR_TO_ARRAY:
                candidates = [0, 1] if node.target in ("+", "*") else [0]
            else:
                continue
            for index in candidates:
                operand = node.args[index]
                if not isinstance(operand, _Ref) or operand.vid in self.folded:
                    continue
                v = var(operand.vid)
                if (
                    v in fresh and v not in escaped and v not in inputs
                    and last_use.get(v) == position
                    and trace.dtype_of[operand.vid] == trace.dtype_of[node.out]
                    and v not in self.same_var.values()
                ):  # fmt: skip
                    plan[position] = index
                    self.memory_of[var(node.out)] = self.memory_of.get(v, v)
                    if node.kind == "binop":  # a call keeps its own name: a1 = maximum(z1, ...)
                        self.same_var[var(node.out)] = self.same_var.get(v, v)
                    break
        return plan

    def _plan_buffers(self, kept, writes, returned):
        """Results written into arrays allocated once, with ``out=`` (NumPy, small arrays).

        A small array made on every replay costs an allocation and a new Python
        object; written into the same buffer each time, it stays in cache (measured
        in docs/compile.md). Large arrays keep fresh allocations: the allocator hands
        back the memory just freed, still in cache, where a buffer of their own would
        be cold. A buffer is overwritten by the next replay, so no value kept beyond
        it may live in one: nothing returned, nothing written to optimizer state (or
        a view of such a value), and a ``.grad`` only where the program does not read
        it (``.grad`` holds the latest replay's gradients, as with CUDA graphs).
        Only results NumPy made C-ordered and not 0-d get one (the signature fixes
        the memory order of the inputs). Returns {node index: the buffer}.
        """
        if not kept or not self.numpy:
            return {}
        trace, alias = self.trace, self.alias
        var = lambda vid: trace.var_of[alias.get(vid, vid)]  # noqa: E731
        read_grads = {id(slot) for slot in self.reads if slot.kind == "grad"}
        kept_beyond = {
            var(vid) for slot, vid in writes
            if vid is not None and (slot.kind != "grad" or id(slot) in read_grads)
        }  # fmt: skip
        kept_beyond.update(var(vid) for vid in _returned_vids(returned))
        for node in reversed(kept):  # what a kept value may be a view of is kept too
            ufunc = node.kind == "call" and isinstance(node.target.function, np.ufunc)
            if node.out is None or node.kind in _MAKES_NEW_ARRAYS or ufunc or self._reduces(node):
                continue
            if var(node.out) in kept_beyond:
                kept_beyond.update(var(v) for v in _refs(node.args, node.kwargs))
        kept_beyond.update([self.memory_of[v] for v in kept_beyond if v in self.memory_of])
        plan = {}
        for position, node in enumerate(kept):
            if position in self.reuse or node.out is None or node.inplace is not None:
                continue
            if not (node.kind == "binop" and node.target in _UFUNC_OF) and not (
                node.kind == "call" and isinstance(node.target.function, np.ufunc)
                and len(node.args) == node.target.function.nin and not node.kwargs
            ) and not self._reduces(node):  # fmt: skip
                continue
            dtype, shape = trace.dtype_of[node.out]
            if dtype is None or not shape or var(node.out) in kept_beyond:
                continue
            if node.out not in trace.c_order:  # NumPy made it F-ordered (transposed operands):
                continue  # a C buffer would change the order a later sum adds in
            if math.prod(shape) * np.dtype(dtype).itemsize > _BUFFER_BYTES:
                continue
            plan[position] = np.empty(shape, dtype)
        return plan

    @staticmethod
    def _multiply_by_masks(kept, needed, trace, alias):
        """``g * mask.astype(f)`` as ``g * mask`` for a boolean mask and a float ``g`` (NumPy).

        The float loop of ``multiply`` reads a boolean as exactly 0.0 or 1.0, the
        values ``astype`` would write: the same products, one call and one array
        fewer (ReLU's and dropout's backward pass).
        """
        needed = {alias.get(vid, vid) for vid in needed}
        casts = {}
        for node in kept:
            if node.kind == "method" and node.target == "astype" and len(node.args) == 2:
                source, dtype = node.args
                if (
                    isinstance(source, _Ref) and trace.dtype_of[source.vid][0] == np.bool_
                    and isinstance(dtype, np.dtype | type) and np.dtype(dtype).kind == "f"
                    and node.out not in needed
                ):  # fmt: skip
                    casts[node.out] = source
        if not casts:
            return kept
        for node in kept:  # every use must be a factor of a product in the same float dtype
            refs = _refs(node.args, node.kwargs)
            factors = node.args if node.kind in ("binop", "iop") and node.target == "*" else ()
            for vid in [v for v in refs if v in casts]:
                other = [a for a in factors if not (isinstance(a, _Ref) and a.vid == vid)]
                if node.kind == "iop" and isinstance(node.args[0], _Ref):
                    if node.args[0].vid == vid:
                        other = []
                dtype = trace.dtype_of[vid][0]
                if len(other) != 1 or _dtype_of_operand(other[0], trace) != dtype:
                    casts.pop(vid, None)
        result = []
        for node in kept:
            if node.out in casts:
                continue
            node.args = tuple(
                casts[a.vid] if isinstance(a, _Ref) and a.vid in casts else a for a in node.args
            )
            result.append(node)
        return result

    # ------------------------------------------------------------ names
    def _name_variables(self, capture, kept, writes, returned):
        """Inputs by their slot (x, W1, lr), results by where they go (dW1, loss), z_k/a_k, t_n."""
        trace, same = self.trace, self.same_var
        names: dict = {}  # variable -> name
        used = set()

        def give(var, name):
            var = same.get(var, var)  # a result written into an operand's buffer: one name
            if var in names:
                return
            base, n = name, 2
            while name in used:
                name, n = f"{base}_{n}", n + 1
            names[var] = name
            used.add(name)

        for slot in self.reads:
            give(trace.var_of[slot.vid], slot.name)
        for slot, vid in writes:
            if vid is not None and self.alias.get(vid, vid) not in self.folded:
                give(trace.var_of[self.alias.get(vid, vid)], slot.name)
        if returned[0] == "tensor" and returned[1] not in self.folded:
            give(trace.var_of[self.alias.get(returned[1], returned[1])], "loss")
        for node in kept:  # the lecture's delta_k: what dW_k = a_{k-1}^T @ delta_k multiplies
            if node.kind == "binop" and node.target == "@" and isinstance(node.args[1], _Ref):
                made = names.get(same.get(trace.var_of[node.out], trace.var_of[node.out]), "")
                if made.startswith("dW") and made[2:].isdigit():
                    give(
                        trace.var_of[self.alias.get(node.args[1].vid, node.args[1].vid)],
                        f"delta{made[2:]}",
                    )
        counter = itertools.count(1)
        for node in kept:
            if (
                node.out is not None
                and same.get(trace.var_of[node.out], trace.var_of[node.out]) not in names
            ):
                give(trace.var_of[node.out], self._hint(node, names) or f"t{next(counter)}")
        for merged, target in same.items():
            names[merged] = names[target]
        self.names = names

    def _hint(self, node, names):
        """Lecture names: z_k = a_{k-1} @ W_k, a_k = f(z_k)."""
        first = node.args[0] if node.args else None
        if node.kind == "scalar":
            return None
        if node.kind == "binop" and node.target == "@" and isinstance(node.args[1], _Ref):
            right = names.get(self.trace.var_of[node.args[1].vid], "")
            if right.startswith("W") and right[1:].isdigit():
                return f"z{right[1:]}"
        if node.kind == "call" and isinstance(first, _Ref):
            left = names.get(self.trace.var_of[first.vid], "")
            if left.startswith("z") and left[1:].isdigit() and node.target.name in _ACTIVATIONS:
                return f"a{left[1:]}"
        return None

    # ------------------------------------------------------------ source
    def _emit(self, capture, kept, writes, in_place, returned):
        code, shown = ["def _replay(_args):"], []
        arg_count = len(capture.call_args)
        if arg_count:
            code.append(f"    {''.join(f'_a{i}, ' for i in range(arg_count))}= _args")
        reads = self.reads
        if reads:
            code.append("    try:")
            for slot in reads:
                code.append(f"        {self._var(slot.vid)} = {slot.read_code()}")
            code.append("    except (KeyError, AttributeError, IndexError, TypeError):")
            code.append("        raise _StaleState from None")
        pure = self._jit_plan(kept, writes, in_place, returned)
        if pure is not None:
            code, pure_code = self._emit_jit(code, kept, pure)
            shown += [self._line(node)[1] for node in kept]
        graph = self._graph_plan(kept, writes, returned) if pure is None else None
        head = list(code)
        body_start = len(code)
        for position, node in enumerate(kept if pure is None else ()):
            buffer = self.buffers.get(position)
            if buffer is not None:  # named after the value it holds: _z1_buffer
                self._globals[buffer := f"_{self._var(node.out)}_buffer"] = self.buffers[position]
            line, text = self._line(node, self.reuse.get(position), buffer)
            code.append("    " + line)
            shown.append(text)
        code += self._write_back(writes, in_place)
        shown += [_shown_write(s, None if v is None else self._value(v)[1]) for s, v in writes]
        code.append(f"    return {self._returned_code(returned)}")
        if pure is None:
            code = _free_after_last_use(code, first=body_start)
        header = [
            f"# inputs: {', '.join(self._var(s.vid) for s in reads) or '(none)'}",
        ]
        if pure is not None:
            code = pure_code + code
            header.append("# array calls: one jax.jit function (guards, Python numbers before it)")
        if graph is not None:
            code = self._emit_graph(head, graph, writes, in_place, returned) + [
                "def _replay_plain(_args):",
                *code[1:],
            ]
            header.append(
                "# array calls: one CUDA graph, replayed plainly if CuPy cannot capture it"
            )
        if self._shown_constants:
            header.append(f"# constants: {'; '.join(self._shown_constants)}")
        self.header = header
        return code, shown

    # ------------------------------------------------------------ JAX: one jitted function
    def _jit_plan(self, kept, writes, in_place, returned):
        """For JAX: (host nodes, jitted nodes, inputs, outputs), or None if it cannot be jitted.

        The array calls become one pure function handed to ``jax.jit`` (the
        namespace's own compiler, through ``backend.compile_function``): the
        state's arrays and numbers go in, the new values come out. Guards (a
        Python bool) and the arithmetic on Python numbers (Adam's bias
        corrections) stay outside, before the call; random draws (the process-wide
        generator) and in-place writes keep the plain replay.
        """
        trace = self.trace
        types = trace.raw_types
        if len(types) != 1 or in_place:
            return None
        xp = _NAMESPACE_HINT.get(next(iter(types)))
        if xp is None or backend.is_mutable(xp):
            return None
        host, body = [], []
        for node in kept:
            if node.kind == "guard" or node.kind == "scalar":
                host.append(node)
            elif node.effect or node.inplace is not None or node.kind == "const":
                return None
            else:
                body.append(node)
        boundary = self._boundary(host, body, writes, returned)
        if boundary is None:
            return None
        if backend.compile_function(xp, _pure_placeholder) is None:  # a lazy wrapper: cheap
            return None
        return host, body, *boundary, xp

    def _boundary(self, host, body, writes, returned):
        """(inputs, outputs) of the one function ``body`` becomes, or None where there is
        nothing to hand it or the host nodes (run before it) read what it makes."""
        made = {self._var(n.out) for n in body if n.out is not None and n.inplace is None}
        if any(self._var(v) in made for node in host for v in self._free(node)):
            return None  # guards read what the step was given, not what it makes
        inputs = [self._var(v) for node in body for v in self._free(node)]
        inputs = list(dict.fromkeys(name for name in inputs if name not in made))
        wanted = [vid for _, vid in writes if vid is not None] + _returned_vids(returned)
        outputs = [
            self._var(vid) for vid in wanted
            if self.alias.get(vid, vid) not in self.folded and self._var(vid) in made
        ]  # fmt: skip
        outputs = list(dict.fromkeys(outputs))
        if not body or not outputs:
            return None
        return inputs, outputs

    def _free(self, node):
        """The value ids ``node`` reads that are variables (not folded constants)."""
        return [v for v in _refs(node.args, node.kwargs) if self.alias.get(v, v) not in self.folded]

    def _write_back(self, writes, in_place):
        """The state written back (``.grad``, rebound state) and the in-place mark, as code."""
        code = []
        for slot, vid in writes:
            value = None if vid is None else self._value(vid)[0]
            if vid is not None and self.alias.get(vid, vid) in self.folded:
                value = f"_fresh({value})"
            code.append("    " + slot.write_code(value))
        marked = [s.expr for s in in_place if s.kind == "data"]
        if marked:
            code.append(f"    _mark(({', '.join(marked)},))")
        return code

    def _pure_source(self, body, inputs, outputs):
        """``def _pure(inputs): ...; return outputs``: what jax.jit or a CUDA graph is given."""
        self._plain_calls = True  # no memo inside a traced or captured function
        try:
            lines = [self._line(node)[0] for node in body]
        finally:
            self._plain_calls = False
        code = [f"def _pure({', '.join(inputs)}):", *("    " + line for line in lines)]
        return code + [f"    return ({', '.join(outputs)},)"]

    def _emit_jit(self, code, kept, pure):
        host, body, inputs, outputs, xp = pure
        pure_code = self._pure_source(body, inputs, outputs)
        self._globals["_compile_function"] = backend.compile_function
        self._globals["_xp"] = xp
        pure_code.append("_jitted = _compile_function(_xp, _pure)")
        pure_code.append("")
        code = list(code)
        for node in host:
            code.append("    " + self._line(node)[0])
        code.append(f"    {', '.join(outputs)}, = _jitted({', '.join(inputs)})")
        return code, pure_code

    # ------------------------------------------------------------ CuPy: one CUDA graph
    def _graph_plan(self, kept, writes, returned):
        """For CuPy: (host nodes, graph nodes, inputs, bound, outputs, xp), or None.

        As for ``jax.jit``, the array calls become one function, here captured as a
        CUDA graph (``backend.graph_function``, which says what a graph can hold).
        Guards, the arithmetic on Python numbers and arrays made from numbers alone
        (the learning rate as a 0-d array) run before each launch. A graph would
        freeze a Python number and draw its random numbers once, so a node reading a
        number together with arrays, or a random draw, keeps the plain replay; so does
        an in-place write into what may share memory with a copied input. An input
        read from state the program never replaces is *bound* (the graph reads and
        writes that very array); the others (arguments, replaced state, the 0-d
        learning rate) are copied in before each launch.
        """
        types = self.trace.raw_types
        xp = _NAMESPACE_HINT.get(next(iter(types))) if len(types) == 1 else None
        if xp is None or backend.graph_function(xp, _pure_placeholder, ()) is None:
            return None
        dtype_of = self.trace.dtype_of
        host, body = [], []
        for node in kept:
            free = self._free(node)
            numbers = [v for v in free if dtype_of[v][0] is None]
            if node.kind in ("guard", "scalar") or (numbers and len(numbers) == len(free)):
                host.append(node)
            elif node.effect or numbers:
                return None
            else:
                body.append(node)
        boundary = self._boundary(host, body, writes, returned)
        if boundary is None:
            return None
        inputs, outputs = boundary
        replaced = {id(slot) for slot, _ in writes}
        state = {
            self._var(s.vid) for s in self.reads
            if not s.expr.startswith("_a") and id(s) not in replaced
        }  # fmt: skip
        bound = tuple(name in state for name in inputs)
        may_alias_copied = {name for name in inputs if name not in state}
        for node in body:
            if node.inplace is not None:
                if self._var(node.out) in may_alias_copied:
                    return None
                continue
            if node.out is None or node.kind in ("binop", "unop"):  # operators make new arrays
                continue
            viewed = node.args[:1] if node.kind in ("getitem", "attr", "method") else node.args
            if any(
                self._var(v) in may_alias_copied for v in self._free(_Node("", None, viewed, {}))
            ):
                may_alias_copied.add(self._var(node.out))  # perhaps a view of a copied input
        if any(name in may_alias_copied for name in outputs):
            return None  # kept after the launch, it would change when the next one copies in
        return host, body, inputs, bound, outputs, xp

    def _emit_graph(self, head, graph, writes, in_place, returned):
        """``_replay``: the host nodes, one graph launch, the writes; ``_replay_plain`` after it."""
        host, body, inputs, bound, outputs, xp = graph
        host_lines = [self._line(node)[0] for node in host]
        program = self

        def plain(args):  # CuPy could not capture this step (cuBLAS, say): replay it plainly
            program.run = program._globals["_replay_plain"]
            return program.run(args)

        self._globals.update(
            _graph_function=backend.graph_function, _xp=xp, _plain=plain,
            _GraphCaptureFailed=backend.GraphCaptureFailed,
            _GraphInputMoved=backend.GraphInputMoved,
        )  # fmt: skip
        code = self._pure_source(body, inputs, outputs)
        code += [f"_graphed = _graph_function(_xp, _pure, {bound!r})", ""]
        code += head + ["    " + line for line in host_lines]
        code += [
            "    try:",
            f"        {', '.join(outputs)}, = _graphed({', '.join(inputs)})",
            "    except _GraphInputMoved:",  # a parameter's array was replaced: capture again
            "        raise _StaleState from None",
            "    except _GraphCaptureFailed:",
            "        return _plain(_args)",
        ]
        code += self._write_back(writes, in_place)
        self._graph_outputs = set(outputs)  # returned copied: the next launch overwrites them
        try:
            code.append(f"    return {self._returned_code(returned)}")
        finally:
            self._graph_outputs = set()
        return code + [""]

    def _var(self, vid):
        return self.names[self.trace.var_of[self.alias.get(vid, vid)]]

    def _value(self, vid):
        """(code, shown) for a value id: a variable, or a folded constant."""
        vid = self.alias.get(vid, vid)
        if vid in self.folded:
            name = self._constant_names.get(vid)
            value = self.folded[vid]
            if name is None:
                name = self._constant_names[vid] = f"_k{len(self._constant_names)}"
                self._globals[name] = value
                if getattr(value, "ndim", 1) != 0:
                    description = f"{backend.dtype_name(value.dtype)} {tuple(value.shape)}"
                    self._shown_constants.append(f"{name[1:]} = {description}")
            if getattr(value, "ndim", 1) == 0 and hasattr(value, "dtype"):
                return name, repr(_real_scalar(value))
            return name, name[1:]
        return self._var(vid), self._var(vid)

    def _expr(self, obj):
        if isinstance(obj, _Ref):
            return self._value(obj.vid)
        if isinstance(obj, _Held):
            return self._var(obj.vid), self._var(obj.vid)
        if isinstance(obj, _Constant):
            name = self._global(obj.value)
            return name, repr(obj.written)
        if isinstance(obj, _Named):
            return self._function(obj), self._function(obj)
        if isinstance(obj, tuple):
            parts = [self._expr(item) for item in obj]
            comma = "," if len(parts) == 1 else ""
            return (
                "(" + ", ".join(p[0] for p in parts) + comma + ")",
                "(" + ", ".join(p[1] for p in parts) + comma + ")",
            )
        if isinstance(obj, list):
            parts = [self._expr(item) for item in obj]
            return "[" + ", ".join(p[0] for p in parts) + "]", "[" + ", ".join(
                p[1] for p in parts
            ) + "]"
        if obj is None or obj is Ellipsis or type(obj) in (bool, int, str):
            return repr(obj), ("..." if obj is Ellipsis else repr(obj))
        if type(obj) is float and math.isfinite(obj):
            return repr(obj), repr(obj)
        if type(obj) is slice and all(
            p is None or type(p) is int for p in (obj.start, obj.stop, obj.step)
        ):
            return repr(obj), _shown_slice(obj)
        return self._global(obj), _describe(obj)

    def _global(self, obj):
        name = f"_c{len(self._globals)}"
        self._globals[name] = obj
        return name

    def _function(self, named):
        key = id(named.function)
        name = self._names_of_functions.get(key)
        if name is None:
            name = _identifier(named.name)
            taken = set(self._names_of_functions.values()) | set(self.names.values())
            while name in taken or name in self._globals:
                name = "_" + name
            self._names_of_functions[key] = name
            self._globals[name] = named.function
        return name

    def _arguments(self, args, kwargs):
        parts = [self._expr(a) for a in args]
        parts += [
            (f"{k}={c}", f"{k}={s}")
            for k, (c, s) in ((k, self._expr(v)) for k, v in kwargs.items())
        ]
        return ", ".join(p[0] for p in parts), ", ".join(p[1] for p in parts)

    def _reduces(self, node) -> bool:
        """``a.sum(axis=, keepdims=)`` or ``.max``, written as the ufunc reduction it ends in."""
        return (
            node.kind == "method" and self.numpy and node.target in _REDUCE_METHODS
            and len(node.args) == 1 and set(node.kwargs) <= {"axis", "keepdims"}
        )  # fmt: skip

    def _line(self, node, reuse=None, buffer=None):
        """One statement of the program, (code, shown); ``reuse``: the operand written in
        place; ``buffer``: the preallocated array the result is written into."""
        kind = node.kind
        out = self._var(node.out) if node.out is not None else None
        if kind == "const":
            value, _ = self._value_of_snapshot(node)
            return f"{out} = _fresh({value})", f"{out} = copy of {value[1:]}"
        args = [self._expr(a) for a in node.args]
        if kind in ("binop", "scalar"):
            if node.target == "neg":
                return f"{out} = -{args[0][0]}", f"{out} = -{args[0][1]}"
            a, b = args
            if reuse is not None:
                a, b = (a, b) if reuse == 0 else (b, a)
                return f"{a[0]} {node.target}= {b[0]}", f"{a[1]} {node.target}= {b[1]}"
            shown = f"{out} = {a[1]} {node.target} {b[1]}"
            if buffer is not None:
                ufunc = _UFUNC_OF[node.target]
                name = self._function(_Named(ufunc, ufunc.__name__))
                return f"{out} = {name}({a[0]}, {b[0]}, {buffer})", shown  # out, positionally
            return f"{out} = {a[0]} {node.target} {b[0]}", shown
        if kind == "unop":
            return f"{out} = {node.target}{args[0][0]}", f"{out} = {node.target}{args[0][1]}"
        if kind == "iop":
            a, b = args
            return f"{a[0]} {node.target}= {b[0]}", f"{a[1]} {node.target}= {b[1]}"
        if kind == "getitem":
            index = _index_text(node.args[1], args[1])
            return f"{out} = {args[0][0]}[{index[0]}]", f"{out} = {args[0][1]}[{index[1]}]"
        if kind == "setitem":
            index = _index_text(node.args[1], args[1])
            return (
                f"{args[0][0]}[{index[0]}] = {args[2][0]}",
                f"{args[0][1]}[{index[1]}] = {args[2][1]}",
            )
        if kind == "attr":
            return f"{out} = {args[0][0]}.{node.target}", f"{out} = {args[0][1]}.{node.target}"
        if self._reduces(node):  # ndarray.sum's Python wrapper, skipped
            reduce = self._function(_Named(_REDUCE_METHODS[node.target], f"{node.target}_reduce"))
            axis = self._expr(node.kwargs.get("axis"))[0]
            keepdims = self._expr(node.kwargs.get("keepdims", False))[0]
            shown = self._arguments((), node.kwargs)[1]
            return (
                f"{out} = {reduce}({args[0][0]}, {axis}, None, {buffer}, {keepdims})",
                f"{out} = {args[0][1]}.{node.target}({shown})",
            )
        if kind == "method":
            rest = self._arguments(node.args[1:], node.kwargs)
            return (
                f"{out} = {args[0][0]}.{node.target}({rest[0]})",
                f"{out} = {args[0][1]}.{node.target}({rest[1]})",
            )
        call = self._arguments(node.args, node.kwargs)
        function = self._function(node.target)
        if kind == "guard":
            shown = f"check {function}({call[1]})"
            fast = self._numpy_range_check(node, args)
            if fast is not None:
                return fast, shown
            return f"if not {function}({call[0]}): raise _GuardFailed", shown
        if node.inplace is not None:
            return f"{function}({call[0]})", f"{function}({call[1]})"
        # A ufunc's ``out`` passed positionally: NumPy parses that faster than the keyword
        # (8 float64 values: 231 against 267 ns a call), with the same result; maximum and
        # minimum deprecate it (a third array could be meant as an input).
        keyword = "out=" if node.target.function in (np.maximum, np.minimum) else ""
        if reuse is not None:  # a binary ufunc writing into its first operand's memory
            into = args[reuse]
            return (
                f"{out} = {function}({call[0]}, {keyword}{into[0]})",
                f"{out} = {function}({call[1]}, out={into[1]})",
            )
        if buffer is not None:
            return (
                f"{out} = {function}({call[0]}, {keyword}{buffer})",
                f"{out} = {function}({call[1]})",
            )
        scalars = _refs(node.args, node.kwargs)
        if (
            scalars and not node.effect and not self._plain_calls
            and all(self.trace.dtype_of[v][0] is None for v in scalars)
        ):  # fmt: skip
            # made from state numbers only (the lr as a 0-d array): made again when they change
            memo, key = (
                f"_memo[{len(self._globals)}]",
                "(" + ", ".join(self._value(v)[0] for v in scalars) + ",)",
            )
            self._globals.setdefault("_memo", _Memo())
            return (
                f"_key = {key}\n    if _key != {memo}[0]: {memo} = (_key, "
                f"{function}({call[0]}))\n    {out} = {memo}[1]",
                f"{out} = {function}({call[1]})",
            )
        return f"{out} = {function}({call[0]})", f"{out} = {function}({call[1]})"

    def _numpy_range_check(self, node, args):
        """``all_in_range`` on a NumPy integer array, inlined: its fast path without the calls."""
        target = node.args[1]
        if not (self.numpy and node.target.function is backend.all_in_range and len(args) == 3):
            return None
        dtype = self.trace.dtype_of[target.vid][0] if isinstance(target, _Ref) else None
        upper = node.args[2]
        if dtype is None or dtype.kind != "i" or type(upper) is not int:
            return None
        unsigned = self._global(np.dtype(f"u{dtype.itemsize}"))
        reduce = self._function(_Named(np.maximum.reduce, "max_reduce"))
        # read as unsigned, a negative class is huge: one reduction checks both ends
        return f"if {reduce}({args[1][0]}.view({unsigned}), None) >= {upper}: raise _GuardFailed"

    def _value_of_snapshot(self, node):
        name = self._global(node.target)
        return name, name

    def _returned_code(self, returned):
        kind = returned[0]
        if kind in ("tensor", "array"):
            value = self._value(returned[1])[0]
            if value in self._graph_outputs:
                value = f"_fresh({value})"
            return f"_wrap({value})" if kind == "tensor" else value
        if kind == "number":
            return self._value(returned[1])[0]
        if kind == "sequence":
            items = [self._returned_code(r) for r in returned[2]]
            text = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
            return text if returned[1] is tuple else f"[{', '.join(items)}]"
        if kind == "dict":
            items = [f"{self._global(k)}: {self._returned_code(r)}" for k, r in returned[1]]
            return "{" + ", ".join(items) + "}"
        return self._global(returned[1])


builtins_compile = compile  # this module defines its own ``compile``
# The ufunc behind each operator the replay may write into a buffer (``a - b`` is
# ``np.subtract(a, b)`` for NumPy arrays), and the largest result given one (measured).
_UFUNC_OF = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "@": np.matmul,
    ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
    "==": np.equal, "!=": np.not_equal,
}  # fmt: skip
_BUFFER_BYTES = 64 * 1024
_MAKES_NEW_ARRAYS = {"binop", "unop", "iop", "scalar", "guard", "const"}
# ndarray.sum and .max are Python functions that end in these C calls, with these arguments
_REDUCE_METHODS = {"sum": np.add.reduce, "max": np.maximum.reduce}
_ACTIVATIONS = {"tanh", "maximum", "stable_sigmoid", "sigmoid", "exp", "where"}


class _Memo(dict):
    """Results made from state numbers, with the numbers they were made from."""

    def __missing__(self, key):
        return (None, None)


class _MadeGrads(dict):
    """slot number -> the gradient Tensor a program made last (see _Slot.write_code)."""

    def __missing__(self, key):
        return None


def _binary_ufunc_call(node) -> bool:
    """``f(a, b)`` for a two-input elementwise NumPy ufunc (not a gufunc such as matmul),
    positional arguments only."""
    function = node.target.function if node.kind == "call" else None
    return (
        isinstance(function, np.ufunc)
        and function.signature is None
        and function.nin == 2
        and len(node.args) == 2
        and not node.kwargs
    )


def _pure_placeholder():
    """What ``_jit_plan`` asks the backend to compile, to learn whether it can."""


def _numpy_only(trace) -> bool:
    return bool(trace.raw_types) and trace.raw_types <= {np.ndarray}


def _dtype_of_operand(operand, trace):
    if isinstance(operand, _Ref):
        return trace.dtype_of[operand.vid][0]
    if isinstance(operand, _Constant):
        return operand.value.dtype
    return None


def _fresh(array):
    """A copy of a constant array (so that a replay can write into it or hand it out)."""
    return backend.namespace_of(array).asarray(array, copy=True)


def _real_scalar(value):
    try:
        return value.item()
    except (AttributeError, ValueError):
        return value


def _resolve(obj, alias):
    if not alias:
        return obj
    if isinstance(obj, _Ref):
        return _Ref(alias[obj.vid]) if obj.vid in alias else obj
    if isinstance(obj, _Held):
        return _Held(alias[obj.vid]) if obj.vid in alias else obj
    if isinstance(obj, tuple):
        return tuple(_resolve(item, alias) for item in obj)
    if isinstance(obj, list):
        return [_resolve(item, alias) for item in obj]
    if isinstance(obj, dict):
        return {key: _resolve(item, alias) for key, item in obj.items()}
    return obj


def _key_of(obj):
    """A hashable description of a template, for merging identical calls."""
    if isinstance(obj, _Ref):
        return ("ref", obj.vid)
    if isinstance(obj, _Held):
        return ("held", obj.vid)
    if isinstance(obj, _Constant):
        return ("const", str(obj.value.dtype), obj.written)
    if isinstance(obj, _Named):
        return ("fn", id(obj.function))
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__,) + tuple(_key_of(item) for item in obj)
    if isinstance(obj, dict):
        return ("dict",) + tuple((k, _key_of(v)) for k, v in obj.items())
    if type(obj) in (int, float, bool, str, type(None), type(Ellipsis)):
        return (type(obj).__name__, obj)
    return ("id", id(obj))


def _index_text(template, pair):
    if isinstance(template, tuple) and pair[0].startswith("(") and pair[0].endswith(")"):
        return pair[0][1:-1].rstrip(","), pair[1][1:-1].rstrip(",")
    return pair


_ASSIGNED = re.compile(r"    ([A-Za-z]\w*) = ")
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


def _free_after_last_use(code, first):
    """``del`` each value the replay makes (from line ``first`` on) after its last reader.

    Straight-line code would otherwise keep every intermediate array alive until
    it returns (a GRU step makes thousands): freed, their memory is reused by the
    next arrays while it is still in cache, as in the eager step.
    """
    last = {}
    made = set()
    for index in range(max(first, 0), len(code)):
        line = code[index]
        match = _ASSIGNED.match(line)
        if match:
            made.add(match.group(1))
        for name in _NAME.findall(line):
            last[name] = index
    freed_after = {}
    for name in made:
        index = last[name]
        if code[index].lstrip().startswith("return"):
            continue
        while index + 1 < len(code) and code[index + 1].lstrip().startswith("else"):
            index += 1  # not between an ``if`` line and its ``else``
        freed_after.setdefault(index, []).append(name)
    out = []
    for index, line in enumerate(code):
        out.append(line)
        if index in freed_after:
            out.append(f"    del {', '.join(sorted(freed_after[index]))}")
    return out


def _shown_slice(s):
    text = f"{'' if s.start is None else s.start}:{'' if s.stop is None else s.stop}"
    return text + ("" if s.step is None else f":{s.step}")


def _describe(obj):
    if hasattr(obj, "__name__"):
        return obj.__name__.rsplit(".", 1)[-1]
    try:
        return backend.dtype_name(obj)
    except Exception:  # not a dtype
        return type(obj).__name__


def _shown_write(slot, value):
    if slot.kind == "data":
        return f"{slot.name} <- {value}"
    if slot.kind == "grad":
        return f"{slot.name[1:]}.grad <- {value}"
    return f"{slot.name} <- {value}"


def _returned_vids(returned) -> list:
    kind = returned[0]
    if kind in ("tensor", "array", "number"):
        return [returned[1]]
    if kind == "sequence":
        return [vid for item in returned[2] for vid in _returned_vids(item)]
    if kind == "dict":
        return [vid for _, item in returned[1] for vid in _returned_vids(item)]
    return []


def _returned(result, trace):
    """(description for the program, the value to return now with real arrays, detached)."""
    if isinstance(result, Tensor):
        if isinstance(result.data, _Traced):
            return ("tensor", result.data.vid), new_tensor(result.data.value)
        return ("object", result), result
    if isinstance(result, _Traced):
        return ("array", result.vid), result.value
    if isinstance(result, _Sym):
        return ("number", result.vid), result.value
    if type(result) in (tuple, list):
        pairs = [_returned(item, trace) for item in result]
        return ("sequence", type(result), [p[0] for p in pairs]), type(result)(p[1] for p in pairs)
    if type(result) is dict:
        pairs = {key: _returned(item, trace) for key, item in result.items()}
        return (
            ("dict", [(key, p[0]) for key, p in pairs.items()]),
            {key: p[1] for key, p in pairs.items()},
        )
    return ("object", result), result


# ============================================================ 5. the compiled step
class _Variant:
    """One signature's program (or the reason it runs eagerly)."""

    __slots__ = ("program", "reason", "capture_ms", "signature", "attempts")

    def __init__(self, signature):
        self.program = self.reason = self.capture_ms = None
        self.signature = signature
        self.attempts = 0


class Compiled:
    """What ``tg.compile(fn)`` returns: call it like ``fn``; ``explain()`` prints the replay."""

    def __init__(self, fn, strict=False, max_variants=MAX_VARIANTS):
        if not callable(fn):
            raise TypeError(f"tg.compile needs a callable, got {type(fn).__name__}")
        if not isinstance(max_variants, int) or max_variants < 1:
            raise ValueError(f"max_variants must be a positive integer, got {max_variants!r}")
        self.fn = fn
        self.strict = strict
        self.max_variants = max_variants
        self._variants: OrderedDict = OrderedDict()
        self._last = None  # the variant the previous call replayed
        self._seen: dict = {}  # signature -> calls so far (the first runs plainly)
        self._found = None
        self._warned: set = set()
        functools.update_wrapper(self, fn, updated=())

    def __get__(self, instance, owner=None):
        """``@tg.compile`` on a method: the instance becomes the first argument."""
        return self if instance is None else types.MethodType(self, instance)

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        signature = self._signature(args, kwargs)
        variant = self._last  # most calls repeat the previous signature: compare, do not hash
        if variant is None or variant.signature != signature:
            variant = self._variants.get(signature)
        if variant is not None and variant.program is not None:
            self._last = variant
            call_args = args + tuple(kwargs[k] for k in sorted(kwargs)) if kwargs else args
            program = variant.program
            try:
                if program.lock is None:
                    return program.run(call_args)
                with program.lock:  # another thread's replay would write the same buffers
                    return program.run(call_args)
            except _GuardFailed:
                return self.fn(*args, **kwargs)  # eager: raises the check's own message
            except _StaleState:
                del self._variants[signature]
                self._last = None
                return self.fn(*args, **kwargs)
        if variant is not None and variant.reason is not None:
            return self.fn(*args, **kwargs)
        calls = self._seen.get(signature, 0) + 1
        self._seen[signature] = calls
        if calls == 1 or not self._traceable(args, kwargs):
            return self.fn(*args, **kwargs)  # the first call: optimizer state comes to exist
        return self._capture(signature, args, kwargs)

    def _signature(self, args, kwargs):
        mode = thread_mode
        signature = (
            mode.grad_enabled,
            mode.tracer is None and ProcessMode.anomaly is None,
            None if self._found is None else self._found.key(),
            *map(_argument_key, args),
        )
        if kwargs:
            signature += tuple((key, _argument_key(kwargs[key])) for key in sorted(kwargs))
        return signature

    def _traceable(self, args, kwargs):
        if thread_mode.tracer is not None or ProcessMode.anomaly is not None:
            return False  # trace_backward / detect_anomaly watch the eager engine
        if getattr(_active, "trace", None) is not None:
            return False  # a compiled step called inside another's capture runs as part of it
        return True

    # ------------------------------------------------------------ capturing
    def _capture(self, signature, args, kwargs):
        found = _discover(self.fn, args, kwargs)
        if (
            self._found is None
            or self._found.key() != found.key()
            or _ids(found) != _ids(self._found)
        ):
            self._found = found
            signature = self._signature(args, kwargs)
        variant = self._variants.get(signature) or _Variant(signature)
        variant.attempts += 1
        start = time.perf_counter()
        capture = _Capture(self.fn, args, kwargs, found, self.strict)
        numbers = _python_numbers(found.objects())
        structure = _state_structure(found)
        capture.install()
        _active.trace = capture.trace
        try:
            result = self.fn(*args, **kwargs)
            returned, value = _returned(result, capture.trace)  # before the real arrays are back
        except ValueError as err:
            if "different backends or devices" not in str(err) or capture.wrote_state():
                raise
            # A tensor that discovery did not reach met a traced one (before any update):
            # this signature runs eagerly.
            result, capture.trace.problem = (
                _UNREACHED,
                (
                    "it uses a tensor that tg.compile cannot reach (pass it as an argument, or "
                    "keep it in a module or optimizer the step names)"
                ),
            )
        finally:
            _active.trace = None
            writes, in_place = capture.collect_and_restore()
        if result is _UNREACHED:
            self._store(signature, variant)
            variant.reason = capture.trace.problem
            self._warn(variant.reason)
            return self.fn(*args, **kwargs)
        trace = capture.trace
        changed = [
            name for (_, name), old in _python_numbers(found.objects()).items()
            if numbers.get((_, name), old) != old
        ]  # fmt: skip
        if trace.value_read is None and trace.problem is None and changed:
            trace.problem = (
                f"a Python number of the state changed during the capture ({changed[0]})"
            )
        if _state_structure(found) != structure and trace.problem is None:
            if variant.attempts < 3:  # the first steps still create optimizer state: try again
                self._seen[signature] = 1
                return value
            trace.problem = "the optimizer state kept changing shape"
        reason = trace.value_read or trace.problem
        if reason is not None:
            if self.strict:
                raise CompileError(f"tg.compile(strict=True): {reason}")
            variant.reason = reason
            self._store(signature, variant)
            self._warn(reason)
            return value
        title = f"{_name(self.fn)} variant {len(self._variants) + 1}"
        variant.program = _Program(capture, writes, in_place, returned, title)
        variant.program.description = _describe_signature(args, kwargs, capture.arg_names)
        variant.capture_ms = (time.perf_counter() - start) * 1e3
        self._store(signature, variant)
        return value

    def _warn(self, reason):
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(
                f"tg.compile({_name(self.fn)}): {reason}; this signature runs eagerly",
                CompileWarning,
                stacklevel=4,
            )

    def _store(self, signature, variant):
        self._variants[signature] = variant
        self._last = None
        while len(self._variants) > self.max_variants:
            old, _ = self._variants.popitem(last=False)
            self._seen.pop(old, None)

    # ------------------------------------------------------------ looking at it
    @property
    def variants(self) -> list:
        """One dict per signature: ``inputs``, ``capture_ms`` and counts, or why it is eager."""
        rows = []
        for variant in self._variants.values():
            if variant.program is None:
                rows.append({"eager": variant.reason})
            else:
                program = variant.program
                rows.append(
                    {
                        "inputs": program.description,
                        "capture_ms": variant.capture_ms,
                        **program.counts,
                    }
                )
        return rows

    def explain(self, file=None) -> str:
        """Print (and return) the replayed program of every captured signature."""
        blocks = []
        for number, variant in enumerate(self._variants.values(), 1):
            if variant.program is None:
                blocks.append(f"# variant {number}: runs eagerly: {variant.reason}")
                continue
            program = variant.program
            counts = program.counts
            lines = [
                f"# variant {number}: {_name(self.fn)}({program.description})",
                f"# {counts['recorded']} array calls recorded: {counts['replayed']} replayed, "
                f"{counts['folded']} folded into constants, {counts['merged']} merged, "
                f"{counts['dropped']} dropped",
                *program.header,
                *program.shown,
            ]
            blocks.append("\n".join(lines))
        text = "\n\n".join(blocks) if blocks else "# nothing captured yet: call the step twice"
        print(text, file=file)
        return text

    def source(self, variant: int = 0) -> str:
        """The generated Python source of one variant (what is compiled and run)."""
        programs = [v.program for v in self._variants.values() if v.program is not None]
        return programs[variant].source


def compile(fn=None, *, strict: bool = False, max_variants: int = MAX_VARIANTS):  # noqa: A001
    """Capture the array calls of ``fn`` once per signature and replay them on later calls.

    ``step = tg.compile(fn)``; ``step(*args)`` returns what ``fn(*args)`` returns
    (Tensors detached) with the same effects on parameters, ``.grad``, optimizer
    and module state. The first call with a signature runs ``fn`` eagerly, the
    second captures it (an eager run that records every array call), later
    ones replay the recorded program. The signature: the arguments' types,
    shapes, dtypes, devices (and memory order on NumPy), whether their ``.grad``
    is set, Python scalar arguments, grad mode, every reachable module's
    train/eval flag and the optimizers' hyperparameters (except ``lr``, which is
    read on each call). At most ``max_variants`` signatures are kept (the oldest
    goes first). Calls from several threads take turns.

    What cannot be captured (a Python value read from an array: ``.item()``,
    ``if (x > 0).any()``, printing; a Python number of the state changing) makes
    that signature run eagerly with one ``CompileWarning`` naming the line, or
    raises ``CompileError`` with ``strict=True``. Also usable as ``@tg.compile``
    or ``@tg.compile(strict=True)``. ``step.explain()`` prints the replay.
    """
    if fn is None:
        return lambda f: Compiled(f, strict=strict, max_variants=max_variants)
    return Compiled(fn, strict=strict, max_variants=max_variants)


def _argument_key(arg):
    if isinstance(arg, Tensor):
        data = arg.data
        if type(data) is np.ndarray:  # the layout too: it decides the order sums add in
            return (np.ndarray, data.shape, data.dtype, data.flags.c_contiguous,
                    arg.requires_grad, arg.grad is None)  # fmt: skip
        return (type(data), tuple(data.shape), str(data.dtype), str(backend.device_of(data)),
                arg.requires_grad, arg.grad is None)  # fmt: skip
    if arg is None or type(arg) in (bool, int, float, str):
        return (type(arg), arg)
    return ("object", id(arg))


def _ids(found):
    return [id(t) for t, _ in found.tensors] + [id(o) for o in found.objects()]


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _describe_signature(args, kwargs, names) -> str:
    parts = []
    values = list(args) + [kwargs[k] for k in sorted(kwargs)]
    for name, value in zip(names, values):
        if isinstance(value, Tensor):
            parts.append(f"{name}: {backend.dtype_name(value.dtype)} {value.shape}")
        elif value is None or type(value) in (bool, int, float, str):
            parts.append(f"{name}={value!r}")
        else:
            parts.append(f"{name}: {type(value).__name__}")
    return ", ".join(parts)
