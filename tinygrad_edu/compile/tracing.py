"""Part 1 of ``tg.compile``: tracing, the stand-in arrays that record every array call.

Every array the step reads is swapped for a ``_Traced`` stand-in that holds
the real array. The engine reaches arrays only through their namespace ``xp``
and their operators, so with the stand-ins in place every array call of the
forward pass, the backward pass and the optimizer's update lands in
``_Trace.record``: it runs the real call (the capture *is* an ordinary eager
step, with the same numbers) and appends one ``_Node``. Python numbers that
change between steps (the learning rate, Adam's step counter) become ``_Sym``
stand-ins, so the arithmetic on them is recorded too. Reading a Python value
out of a stand-in (``.item()``, ``bool(x)``, printing) is what cannot be
traced: ``_Trace.read`` stops the capture there.
"""

from __future__ import annotations

import itertools
import linecache
import os
import sys
import threading

import numpy as np

from .. import backend
from ..function import new_tensor
from ..tensor import Tensor

# tinygrad_edu's own folder: frames and functions inside it are the library's, not the user's
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CompileError(RuntimeError):
    """Raised by a ``strict=True`` compiled step that cannot be captured."""


class CompileWarning(UserWarning):
    """A compiled step ran eagerly because it could not be captured."""


class _GuardFailed(Exception):
    """A check recorded in the program (class targets in range) failed on this call."""


class _StaleState(Exception):
    """The state the program reads is gone (optimizer state cleared, say)."""


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
# Functions and methods that write into an argument instead of returning a new array: the
# write is kept (an untracked one would be dropped as unused). ``out=`` is seen on its own.
_WRITES_FIRST_ARGUMENT = {"copyto", "putmask", "put", "place", "fill_diagonal", "put_along_axis"}
_WRITES_SELF = {"sort", "fill", "put", "itemset", "partition", "resize", "setfield"}


def _written(function_name, args, kwargs, method=False):
    """The argument a call writes into: its ``out=``, or what the function is known to write."""
    out = kwargs.get("out")
    if out is not None:
        return out[0] if isinstance(out, tuple) else out
    if args and function_name in (_WRITES_SELF if method else _WRITES_FIRST_ARGUMENT):
        return args[0]
    return None


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
                "method", name, (self,) + args, kwargs,
                lambda: attribute(*real_args, **real_kwargs),
                writes=_written(name, (self,) + args, kwargs, method=True),
            )  # fmt: skip

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
            lambda: func(*real_args, **real_kwargs), writes=_written(func.__name__, args, kwargs),
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
                    writes=_written(name, args, kwargs),
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


def recording_namespace(xp):
    """The tracing namespace standing in for ``xp`` (what ``tg.zeros``, ``tg.randn`` and
    ``tg.tensor`` use while a step is recorded: their arrays are calls of the program)."""
    if getattr(type(xp), "records_calls", False):
        return xp
    namespace = _RECORDING_NAMESPACES.get(id(xp))
    if namespace is None:
        sample = xp.zeros(())
        _NAMESPACE_HINT.setdefault(type(sample), backend.namespace_of(sample))
        namespace = _RECORDING_NAMESPACES[id(xp)] = _traced_type(type(sample)).namespace
    return namespace


_RECORDING_NAMESPACES: dict = {}  # id(namespace) -> its tracing namespace


def _stand_in(value, trace, var_hint=None):
    """A new stand-in for the real ``value`` (an input of the step)."""
    if not isinstance(value, np.generic):
        _NAMESPACE_HINT.setdefault(type(value), backend.namespace_of(value))
    stand_in = _traced_type(type(value))(value, None)
    stand_in.vid = trace.new_value(value)
    if var_hint:
        trace.hint[trace.var_of[stand_in.vid]] = var_hint
    return stand_in


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
