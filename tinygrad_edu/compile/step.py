"""Part 5 of ``tg.compile``: the compiled step, its signatures and its variants.

``Compiled.__call__`` computes the call's signature (argument types, shapes,
dtypes, memory order, backends, devices, grad mode), finds the variant whose
state key (``capture._Found.key``: train/eval flags, hyperparameters, the
Python values the step reads) matches the state now, replays it, runs the
first call of a new signature eagerly (so that optimizer state exists), and
captures on the second. What cannot be captured runs eagerly with one warning,
or raises with ``strict=True``.
"""

from __future__ import annotations

import builtins
import functools
import math
import threading
import time
import types
import warnings
from collections import OrderedDict

import numpy as np

from .. import backend, creation
from ..function import ProcessMode, thread_mode
from ..tensor import Tensor
from .capture import (
    _UNREACHED,
    _argument_names,
    _Capture,
    _discover,
    _python_numbers,
    _state_structure,
    raw_array_argument,
)
from .program import _Program
from .tracing import (
    CompileError,
    CompileWarning,
    _active,
    _GuardFailed,
    _returned,
    _StaleState,
    recording_namespace,
)

MAX_VARIANTS = 8
_SEEN_LIMIT = 64  # signatures whose first (eager) call is remembered
# One compiled call at a time, over all compiled steps: a capture puts stand-ins into state
# that other steps may share (a train and an eval step of one model), and a replay writes its
# buffers. One lock, so that two steps calling each other from two threads cannot deadlock;
# re-entrant, for a step that calls itself or another.
_ONE_AT_A_TIME = threading.RLock()
_CHURN_CALLS = 16  # calls in a row without a replay: warn, and capture only every 16th


class _Variant:
    """One signature's program (or the reason it runs eagerly), with the state it was made for.

    ``found`` is the state its capture reached and ``state_key`` that state's key
    then: the variant fits a call while ``found.key() == state_key``. ``objects``
    holds the non-Tensor arguments, so their ids (in the argument signature) are
    not reused while the variant lives.
    """

    __slots__ = ("program", "reason", "capture_ms", "signature", "attempts", "found",
                 "state_key", "objects", "matches")  # fmt: skip

    def __init__(self, signature, found, state_key, objects):
        self.program = self.reason = self.capture_ms = self.matches = None
        self.signature, self.found, self.state_key = signature, found, state_key
        self.objects = objects
        self.attempts = 0


class Compiled:
    """What ``tg.compile(fn)`` returns: call it like ``fn``; ``explain()`` prints the replay."""

    discover_through = "fn"  # a step that names this one reaches fn's state, not our tables

    def __init__(self, fn, strict=False, max_variants=MAX_VARIANTS):
        if not callable(fn):
            raise TypeError(f"tg.compile needs a callable, got {type(fn).__name__}")
        if not isinstance(max_variants, int) or max_variants < 1:
            raise ValueError(f"max_variants must be a positive integer, got {max_variants!r}")
        self.fn = fn
        self.strict = strict
        self.max_variants = max_variants
        self._variants: OrderedDict = OrderedDict()  # (signature, state key) -> _Variant
        self._last = None  # the variant the previous call replayed
        self._seen: OrderedDict = OrderedDict()  # signature -> calls so far (the first is eager)
        self._warned: set = set()
        self._misses = 0  # calls in a row that replayed nothing
        self._previous = None  # the signature of the latest such call
        functools.update_wrapper(self, fn, updated=())

    def __get__(self, instance, owner=None):
        """``@tg.compile`` on a method: the instance becomes the first argument."""
        return self if instance is None else types.MethodType(self, instance)

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        with _ONE_AT_A_TIME:
            variant = self._last  # most calls repeat the previous one: one generated test
            if variant is None or not variant.matches(args, kwargs):
                signature = self._signature(args, kwargs)
                variant = self._find(signature)
                if variant is None or variant.program is None:
                    return self._not_replayed(signature, variant, args, kwargs)
                if variant.matches is not None:  # (a call with keywords takes this way)
                    self._last = variant
            self._misses = 0
            call_args = args + tuple(kwargs[k] for k in sorted(kwargs)) if kwargs else args
            try:
                return variant.program.run(call_args)
            except _GuardFailed:
                return self.fn(*args, **kwargs)  # eager: raises the check's own message
            except _StaleState:
                self._variants.pop((variant.signature, variant.state_key), None)
                self._last = None
                return self.fn(*args, **kwargs)

    def _not_replayed(self, signature, variant, args, kwargs):
        """A call no program fits: eager (a known eager signature, a first call, a signature
        new on every call) or a capture."""
        if variant is not None:  # its reason is set: it runs eagerly
            return self.fn(*args, **kwargs)
        self._misses += 1
        if self._misses >= _CHURN_CALLS:  # nothing replays: something changes on every call
            if self._misses == _CHURN_CALLS:
                self._warn_churn(signature, args, kwargs)
            if self._misses % _CHURN_CALLS:  # try a capture again only now and then
                self._previous = signature
                return self.fn(*args, **kwargs)
        self._previous = signature
        calls = self._seen.pop(signature, 0) + 1
        self._seen[signature] = calls
        while len(self._seen) > _SEEN_LIMIT:  # a signature new on every call: forget old ones
            self._seen.popitem(last=False)
        if calls == 1 or not self._traceable(args, kwargs):
            return self.fn(*args, **kwargs)  # the first call: optimizer state comes to exist
        return self._capture(signature, args, kwargs)

    def _warn_churn(self, signature, args, kwargs):
        """One warning: the last calls replayed nothing, and what changed between them."""
        previous = self._previous
        if previous is not None and previous != signature:
            names = ["grad mode", "anomaly detection or a backward tracer"] + [
                f"argument {name}" for name in _argument_names(self.fn, len(args), sorted(kwargs))
            ]
            position = next(i for i, (a, b) in enumerate(zip(previous, signature)) if a != b)
            what = names[position] if position < len(names) else "the arguments"
        else:
            fitting = [v for v in self._variants.values() if v.signature == signature]
            what = fitting[-1].found.what_changed(fitting[-1].state_key) if fitting else None
        warnings.warn(
            f"tg.compile({_name(self.fn)}): the last {_CHURN_CALLS} calls replayed nothing: "
            f"{what or 'the signature'} changes from call to call, and each new value runs "
            "eagerly or captures again (pass a changing number as a Tensor argument, or keep "
            "it out of the step)",
            CompileWarning,
            stacklevel=3,
        )

    def _signature(self, args, kwargs):
        """What the call itself decides: grad mode and the arguments (the state's part,
        ``_Found.key``, is compared per variant)."""
        mode = thread_mode
        signature = (
            mode.grad_enabled,
            mode.tracer is None and ProcessMode.anomaly is None,
            *map(_argument_key, args),
        )
        if kwargs:
            signature += tuple((key, _argument_key(kwargs[key])) for key in sorted(kwargs))
        return signature

    def _find(self, signature):
        """The variant for this signature whose state key is the state's key now, or None."""
        for variant in reversed(self._variants.values()):
            if variant.signature == signature and variant.found.fits(variant.state_key):
                return variant
        return None

    def _traceable(self, args, kwargs):
        if thread_mode.tracer is not None or ProcessMode.anomaly is not None:
            return False  # trace_backward / detect_anomaly watch the eager engine
        if getattr(_active, "trace", None) is not None:
            return False  # a compiled step called inside another's capture runs as part of it
        return True

    # ------------------------------------------------------------ capturing
    def _capture(self, signature, args, kwargs):
        found = _discover(self.fn, args, kwargs)
        state_key = found.key()
        objects = [a for a in list(args) + list(kwargs.values()) if _argument_key(a)[0] == "object"]
        variant = self._variants.get((signature, state_key)) or _Variant(
            signature, found, state_key, objects
        )
        variant.attempts += 1
        start = time.perf_counter()
        capture = _Capture(self.fn, args, kwargs, found, self.strict)
        numbers = _python_numbers(found.objects())
        structure = _state_structure(found)
        random_state = backend.host_random().bit_generator.state
        capture.install()
        _active.trace = capture.trace
        creation.recording.namespace = recording_namespace
        given = capture.stand_in_args  # arrays passed as they are: their stand-ins
        stand_in_kwargs = dict(zip(sorted(kwargs), given[len(args) :]))
        try:
            result = self.fn(*given[: len(args)], **stand_in_kwargs)
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
            _active.trace = creation.recording.namespace = None
            writes, in_place = capture.collect_and_restore()
        if result is _UNREACHED:
            self._store(variant)
            variant.reason = capture.trace.problem
            self._warn(variant.reason)
            # the eager run draws the numbers the abandoned capture drew
            backend.host_random().bit_generator.state = random_state
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
            self._store(variant)
            self._warn(reason)
            return value
        changed_by_step = found.forget_changed(state_key)
        if changed_by_step:  # the key is what the next call will see
            self._warn(
                f"the step changes {', '.join(changed_by_step)} (a Python value) and a replay "
                "will not (it runs no Python code of the step)",
                eager=False,
            )
        variant.state_key = found.key()
        title = f"{_name(self.fn)} variant {len(self._variants) + 1}"
        variant.program = _Program(capture, writes, in_place, returned, title)
        variant.program.description = _describe_signature(args, kwargs, capture.arg_names)
        variant.matches = _matcher(variant, args, kwargs)
        variant.capture_ms = (time.perf_counter() - start) * 1e3
        self._store(variant)
        return value

    def _warn(self, reason, eager=True):
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(
                f"tg.compile({_name(self.fn)}): {reason}"
                + ("; this signature runs eagerly" if eager else ""),
                CompileWarning,
                stacklevel=4,
            )

    def _store(self, variant):
        self._variants[(variant.signature, variant.state_key)] = variant
        self._last = None
        while len(self._variants) > self.max_variants:
            (old, _), _ = self._variants.popitem(last=False)
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
    (Tensors detached) with the same effects on parameters, ``.grad``, optimizer and
    module state. The first call with a signature runs ``fn`` eagerly, the second
    captures it (an eager run that records every array call), later ones replay the
    recorded program. The signature: the arguments' types, shapes, dtypes, devices
    (on NumPy the layout too: C order, or else the strides), whether their ``.grad``
    is set, Python scalar arguments, grad mode, every reachable module's train/eval
    flag, the optimizers' hyperparameters (except ``lr``, which is read on each
    call) and param groups, the reachable tensors' ``requires_grad``, and the Python
    values a replay has baked in: numbers in the globals, closure cells and defaults
    the step's code reads, in the attributes of objects it reaches, and the module
    attributes their methods read (``Dropout.p``). At most ``max_variants``
    signatures are kept (the oldest goes first). Calls from several threads take
    turns.

    What cannot be captured (a Python value read from an array: ``.item()``,
    ``if (x > 0).any()``, printing; a Python number of the state changing) makes
    that signature run eagerly with one ``CompileWarning`` naming the line, or
    raises ``CompileError`` with ``strict=True``. Also usable as ``@tg.compile``
    or ``@tg.compile(strict=True)``. ``step.explain()`` prints the replay.
    """
    if fn is None:
        return lambda f: Compiled(f, strict=strict, max_variants=max_variants)
    return Compiled(fn, strict=strict, max_variants=max_variants)


def _layout(array):
    """A NumPy array's layout in the signature: True when C-ordered, else its strides
    (NumPy lays results out after their operands' strides; sums add in that order)."""
    return array.flags.c_contiguous or array.strides


def _argument_key(arg):
    if isinstance(arg, Tensor):
        data = arg.data
        if type(data) is np.ndarray:
            return (np.ndarray, data.shape, data.dtype, _layout(data),
                    arg.requires_grad, arg.grad is None)  # fmt: skip
        return (type(data), tuple(data.shape), str(data.dtype), str(backend.device_of(data)),
                arg.requires_grad, arg.grad is None)  # fmt: skip
    if type(arg) is np.ndarray:
        return (np.ndarray, arg.shape, arg.dtype, _layout(arg))
    if arg is None or type(arg) in (bool, int, str):
        return (type(arg), arg)
    if type(arg) is float:  # -0.0 == 0.0, but 1 / -0.0 is -inf: the sign too
        return (float, arg, math.copysign(1.0, arg)) if arg == 0.0 else (float, arg)
    if raw_array_argument(arg):  # a torch.Tensor, a JAX array...
        return (type(arg), tuple(arg.shape), str(arg.dtype), str(backend.device_of(arg)))
    return ("object", id(arg))


def _matcher(variant, args, kwargs):
    """``matches(args, kwargs)``: whether a call has this variant's signature and state, as
    one generated test (no key tuples built: the fast way of ``__call__``); None where the
    signature holds something it does not write out (keywords, a -0.0, another backend)."""
    signature = variant.signature
    if kwargs:
        return None
    names = {"_mode": thread_mode, "_Process": ProcessMode, "_Tensor": Tensor,
             "_ndarray": np.ndarray, "_check": variant.found.check_function(variant.state_key),
             "_Gone": (IndexError, KeyError, AttributeError, ValueError)}  # fmt: skip
    tests = [
        f"len(args) == {len(args)}",
        f"_mode.grad_enabled is {signature[0]}",
        f"(_mode.tracer is None and _Process.anomaly is None) is {signature[1]}",
    ]
    objects = iter(variant.objects)
    for number, key in enumerate(signature[2:]):
        a, c = f"args[{number}]", f"c{number}"
        # _layout(a) written out as `a.flags.c_contiguous or a.strides`: no call per match
        if key[0] is np.ndarray and len(key) == 6:  # a Tensor on NumPy
            names[c] = key[1:4]
            tests.append(
                f"isinstance({a}, _Tensor) and type({a}.data) is _ndarray and "
                f"({a}.data.shape, {a}.data.dtype, {a}.data.flags.c_contiguous or {a}.data.strides)"
                f" == {c} and "
                f"{a}.requires_grad is {key[4]} and ({a}.grad is None) is {key[5]}"
            )
        elif key[0] is np.ndarray:  # a NumPy array given as it is
            names[c] = key[1:]
            tests.append(
                f"type({a}) is _ndarray and ({a}.shape, {a}.dtype, {a}.flags.c_contiguous or "
                f"{a}.strides) == {c}"
            )
        elif key[0] in (type(None), bool, int, str) or (key[0] is float and len(key) == 2):
            names[c], names[f"t{number}"] = key[1], key[0]
            tests.append(f"type({a}) is t{number} and {a} == {c}")
        elif key[0] == "object":
            names[c] = next(objects)
            tests.append(f"{a} is {c}")
        else:
            return None
    source = "\n".join([
        "def matches(args, kwargs):",
        f"    if kwargs or not ({' and '.join(tests)}):",
        "        return False",
        "    try:",
        "        return _check()",
        "    except _Gone:",
        "        return False",
    ])  # fmt: skip
    exec(builtins.compile(source + "\n", "<tg.compile signature>", "exec"), names)
    return names["matches"]


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _describe_signature(args, kwargs, names) -> str:
    parts = []
    values = list(args) + [kwargs[k] for k in sorted(kwargs)]
    for name, value in zip(names, values):
        if isinstance(value, Tensor) or raw_array_argument(value):
            parts.append(f"{name}: {backend.dtype_name(value.dtype)} {tuple(value.shape)}")
        elif value is None or type(value) in (bool, int, float, str):
            parts.append(f"{name}={value!r}")
        else:
            parts.append(f"{name}: {type(value).__name__}")
    return ", ".join(parts)
