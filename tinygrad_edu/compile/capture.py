"""Part 2 of ``tg.compile``: what the step reads, and one capture of it.

``_discover`` finds the state a step can reach (its arguments, the modules,
optimizers and schedulers it names or closes over, their tensors); its
``key()`` goes into the call signature. ``_Capture`` installs the stand-ins of
``tracing`` into that state, each behind a ``_Slot`` (how to read the value on
a later call and how to write it back), lets the step run once, and puts the
real arrays back.
"""

from __future__ import annotations

import dis
import functools
import inspect
import itertools
import keyword
import os
import re
import sys
import sysconfig
import types

import array_api_compat
import numpy as np

from .. import backend
from ..function import new_tensor
from ..nn.module import Module
from ..optim.lr_scheduler import LRScheduler
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .tracing import _PACKAGE_DIR, _is_raw_array, _real_of, _stand_in, _Sym, _Trace, _Traced


class _Found:
    """The state a step can reach: tensors (with names), modules, optimizers, schedulers."""

    def __init__(self):
        self.tensors: list = []  # (tensor, name)
        self.modules: list = []
        self.optimizers: list = []
        self.schedulers: list = []
        self.watched: list = []  # (holder, key): Python values the step may read (see watch)
        self.watched_labels: list = []  # what each is, for messages: "the global LOSS_WEIGHT"
        self._watched_ids: set = set()
        self._seen: set = set()
        self._key = None
        self._parts = None
        self._fits: dict = {}  # id(state key) -> its generated check (the variant keeps the key)
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
        except (IndexError, KeyError, AttributeError, ValueError):  # param groups replaced, the
            return ("changed", id(self))  # arrays on another backend, a global or cell deleted

    def fits(self, state_key) -> bool:
        """Whether the state's key is ``state_key`` now: ``key() == state_key``, generated as
        one chain of comparisons with the values baked in (no tuple is built, and the first
        difference ends it). This runs on every call of a compiled step."""
        try:
            return self.check_function(state_key)()
        except (IndexError, KeyError, AttributeError, ValueError):
            return False

    def check_function(self, state_key):
        """The generated ``fits`` test itself (it may raise where the state is gone)."""
        check = self._fits.get(id(state_key))
        if check is None:
            check = self._fits[id(state_key)] = self._fits_function(state_key)
        return check

    def watch(self, holder, access, label):
        """Put a Python value the step may read into the key: ``holder`` and how to read
        it, ``"['name']"`` (a global, an attribute in ``vars(obj)``), ``".cell_contents"``
        (a closure cell) or ``".__defaults__"``. A replay has the value baked in, so a
        new value must capture again."""
        if (id(holder), access) not in self._watched_ids:
            self._watched_ids.add((id(holder), access))
            self.watched.append((holder, access))
            self.watched_labels.append(label)

    def _key_function(self):
        names, parts = self._key_parts()  # fixed at the first call: fits() uses the same
        source = f"def key():\n    return ({', '.join(parts)}{',' if parts else ''})\n"
        exec(compile(source, "<tg.compile signature>", "exec"), names)
        return names["key"]

    def _fits_function(self, state_key):
        names, parts = self._key_parts()
        if len(parts) != len(state_key):  # a key made when the state could not be read
            return lambda: False
        tests, array_tests, helpers = [], {}, []

        def test(number, part, value):
            if value is True or value is False or value is None:
                return f"({part}) is {value}"
            names[f"c{number}"] = value
            return f"{part} == c{number}"

        for number, (part, value) in enumerate(zip(parts, state_key, strict=True)):
            tensor, dot, rest = part.partition(".data.")
            if dot and tensor.startswith("t"):  # shape, dtype, memory order of t<n>.data
                if tensor not in array_tests:
                    array_tests[tensor] = []
                    tests.append(f"({tensor}.data is a_{tensor} or _same_{tensor}())")
                array_tests[tensor].append(test(number, f"data.{rest}", value))
            else:
                tests.append(test(number, part, value))
        # An array object checked once is not checked again while the tensor holds it (NumPy
        # updates parameters in place): one identity test instead of shape, dtype and order.
        for tensor, checks in array_tests.items():
            names[f"a_{tensor}"] = None
            helpers += [
                f"def _same_{tensor}():",
                f"    data = {tensor}.data",
                f"    if {' and '.join(checks)}:",
                f"        _remembered['a_{tensor}'] = data",
                "        return True",
                "    return False",
            ]
        names["_remembered"] = names
        source = "\n".join([*helpers, "def fits():", f"    return {' and '.join(tests) or 'True'}"])
        exec(compile(source + "\n", "<tg.compile signature>", "exec"), names)
        return names["fits"]

    def _key_parts(self):
        """(names, expressions): the key's parts as code over the state objects (as the
        first call found the optimizers' groups)."""
        if self._parts is not None:
            return dict(self._parts[0]), list(self._parts[1])
        # the defaults that tg.zeros, tg.tensor... inside the step use
        names = {"_arrays": backend.arrays, "_backends": backend.namespaces}
        parts = ["_arrays._default_float_dtype",
                 "(_backends._state.override or _backends._default_backend_name)"]  # fmt: skip
        for number, (tensor, _) in enumerate(self.tensors):
            names[f"t{number}"] = tensor
            parts += [f"t{number}.grad is None", f"t{number}.data.shape", f"t{number}.data.dtype",
                      f"t{number}.requires_grad"]  # fmt: skip
            if type(tensor.data) is np.ndarray:
                parts.append(f"t{number}.data.flags.c_contiguous")
        for number, module in enumerate(self.modules):
            names[f"m{number}"] = module
            parts += [f"m{number}.training", f"m{number}._changes"]  # (a parameter replaced...)
        for number, opt in enumerate(self.optimizers):
            names[f"o{number}"] = opt
            parts.append(f"len(o{number}.param_groups)")
            for g, group in enumerate(opt.param_groups):
                group_code = f"o{number}.param_groups[{g}]"
                # the list itself and its length: a group given other parameters is seen
                parts += [f"id({group_code}['params'])", f"len({group_code}['params'])"]
                parts += [f"{group_code}[{k!r}]" for k in group if k not in _READ_AT_REPLAY]
        for number, (holder, access) in enumerate(self.watched):
            names[f"w{number}"] = holder
            parts.append(access.format(f"w{number}") if "{}" in access else f"w{number}{access}")
        self._parts = (dict(names), list(parts))
        return names, parts

    def forget_changed(self, state_key) -> list:
        """Stop watching the Python values that differ from ``state_key`` (the step changed
        them itself: a counter, a list it appends to; a replay will not); their labels."""
        now = self.key()
        first = len(now) - len(self.watched)
        changed = [
            i - first for i, (a, b) in enumerate(zip(state_key, now)) if i >= first and a != b
        ]
        if len(now) != len(state_key) or not changed:
            return []
        labels = [self.watched_labels[i] for i in changed]
        for i in reversed(changed):
            holder, access = self.watched.pop(i)
            self.watched_labels.pop(i)
            self._watched_ids.discard((id(holder), access))
        self._key, self._parts, self._fits = None, None, {}
        return labels

    def what_changed(self, state_key) -> str | None:
        """The first part of the state that differs from ``state_key``, in words."""
        now = self.key()
        if len(now) != len(state_key):
            return "the structure of the state"
        tensors = {f"t{n}": name for n, (_, name) in enumerate(self.tensors)}
        for position, (old, new) in enumerate(zip(state_key, now, strict=True)):
            if old != new:
                part = self._parts[1][position]
                watched = re.search(r"\bw(\d+)\b", part)
                if watched:
                    label = self.watched_labels[int(watched.group(1))]
                else:
                    label = re.sub(r"\bt\d+\b", lambda m: tensors[m.group(0)], part)
                return f"{label} ({old!r} -> {new!r})"
        return None

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
            visit_module(obj, name, depth)
        elif isinstance(obj, Optimizer):
            found.optimizers.append(obj)  # its parameters: after the modules (which name them)
            visit_state_object(obj, depth, _OPTIMIZER_TABLES)
        elif isinstance(obj, LRScheduler):
            found.schedulers.append(obj)
            visit(obj.optimizer, "optimizer", depth + 1)
        elif isinstance(obj, list) and obj and _plain(tuple(obj)):
            found.watch(obj, "tuple({})", f"the list {name}")  # its values and its length
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for position, item in enumerate(obj):
                if isinstance(obj, list) and _plain(item):
                    found.watch(obj, f"[{position}]", f"{name}[{position}]")
                else:
                    visit(item, f"{name}{position}", depth + 1)
        elif isinstance(obj, dict):
            for key in list(obj):
                if _plain(key) and not isinstance(key, complex):  # a key its repr rebuilds
                    visit_item(obj, key, depth + 1, f"{name}[{{!r}}]")
                else:
                    visit(obj[key], str(key), depth + 1)
        elif isinstance(obj, functools.partial):
            visit(obj.func, name, depth + 1)
            visit(obj.args, name, depth + 1)
            visit(obj.keywords, name, depth + 1)
        elif isinstance(obj, types.MethodType):
            visit(obj.__self__, "self", depth + 1)
            visit(obj.__func__, name, depth + 1)
        elif isinstance(obj, types.FunctionType):
            if depth and not _user_file(obj.__code__.co_filename):
                return  # the library's own functions (loss functions...) reach no user state
            for cell_name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
                try:
                    contents = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if _plain(contents):
                    found.watch(cell, ".cell_contents", f"the closure variable {cell_name}")
                else:
                    visit(contents, cell_name, depth + 1)
            if obj.__defaults__ and _plain(obj.__defaults__):
                found.watch(obj, ".__defaults__", f"the defaults of {obj.__qualname__}")
            elif obj.__defaults__:
                visit(obj.__defaults__, "default", depth + 1)
            for default in (obj.__kwdefaults__ or {}).values():
                visit(default, "default", depth + 1)
            for global_name in _global_names(obj.__code__):
                if global_name in obj.__globals__:
                    visit_item(obj.__globals__, global_name, depth + 1, "the global {}")
        elif getattr(type(obj), "discover_through", None):  # a tg.compile step: its function
            visit(getattr(obj, type(obj).discover_through), name, depth + 1)
        elif isinstance(obj, types.ModuleType):  # a module of the user's (a config file)
            file = getattr(obj, "__file__", None)  # (none: made at run time, or built in)
            if _user_file(file) if file else obj.__name__ not in sys.builtin_module_names:
                attributes = vars(obj)
                for attribute in [a for a in attributes if not a.startswith("__")]:
                    visit_item(attributes, attribute, depth + 1, obj.__name__ + ".{}")
        elif isinstance(obj, type):  # a class of the user's used as a namespace: Hyper.lr
            if _user_class(obj):
                watch_class_numbers(obj, f"{obj.__name__}.{{}}")
        elif _user_class(type(obj)):  # an object of the user's: its attributes and class
            if callable(obj):  # a callable object: what its __call__ reads
                visit(type(obj).__call__, name, depth + 1)
            for klass in type(obj).__mro__:
                watch_class_numbers(klass, f"{type(obj).__name__}.{{}}")
                for slot in _slot_names(klass):
                    if hasattr(obj, slot):
                        value = getattr(obj, slot)
                        if _plain(value):
                            found.watch(obj, f".{slot}", f"{type(obj).__name__}.{slot}")
                        else:
                            visit(value, slot, depth + 1)
            attributes = getattr(obj, "__dict__", {})
            for attribute in list(attributes):
                visit_item(attributes, attribute, depth + 1, type(obj).__name__ + ".{}")

    def visit_item(holder, key, depth, label):
        """A global, an attribute or a dict entry: a Python value is watched, anything else
        visited."""
        value = holder[key]
        if _plain(value):
            found.watch(holder, f"[{key!r}]", label.format(key))
        else:
            visit(value, key if isinstance(key, str) else str(key), depth)

    def watch_class_numbers(klass, label):
        if _user_class(klass):
            attributes = vars(klass)
            for attribute, value in attributes.items():
                if not attribute.startswith("__") and _plain(value):
                    found.watch(attributes, f"[{attribute!r}]", label.format(attribute))

    def visit_state_object(obj, depth, tables):
        """A module or optimizer: the attributes its methods read (all, for a class of the
        user's), its class's numbers, and what its methods of the user's name."""
        user = _user_class(type(obj))
        attributes, read = vars(obj), _names_read_by_methods(type(obj))
        for attribute, value in list(attributes.items()):
            if attribute in tables or attribute == "training" or not (user or attribute in read):
                continue  # (training: in every key; the tables: keyed or replayed apart)
            if _plain(value):
                found.watch(attributes, f"[{attribute!r}]", f"{type(obj).__name__}.{attribute}")
            elif isinstance(value, (dict, list, tuple)) or _user_class(type(value)):
                visit(value, attribute, depth + 1)  # a config dict, a list of numbers
        for klass in type(obj).__mro__:
            watch_class_numbers(klass, f"{type(obj).__name__}.{{}}")
            if _user_class(klass):  # its methods' globals and closures (a helper, a constant)
                for function in vars(klass).values():
                    if isinstance(function, types.FunctionType):
                        visit(function, function.__name__, depth + 1)

    def visit_module(module, name, depth):
        for _, sub in module.named_modules():
            if id(sub) in {id(m) for m in found.modules}:
                continue
            found.modules.append(sub)
            seen_objects.add(id(sub))
            visit_state_object(sub, depth, _MODULE_TABLES)  # Dropout.p, BatchNorm's eps...
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


@functools.cache
def _names_read_by_methods(cls) -> frozenset:
    """The attribute names the methods of a module or optimizer class read (not counting
    ``__init__`` and the repr): Dropout's ``p``, BatchNorm's ``eps``; not Linear's sizes."""
    names: set = set()
    for klass in cls.__mro__:
        if klass in (Module, Optimizer, object):
            continue
        for attribute, function in vars(klass).items():
            if attribute not in _NOT_STEP_METHODS and isinstance(function, types.FunctionType):
                names |= _attribute_names(function.__code__)
    return frozenset(names)


_NOT_STEP_METHODS = {"__init__", "__repr__", "extra_repr", "reset_parameters", "__setstate__"}


def _plain(value) -> bool:
    """A Python value a replay has baked in: a number, a string, None, a tuple of them."""
    if type(value) is tuple:
        return all(map(_plain, value))
    return value is None or type(value) in (bool, int, float, complex, str)


def _global_names(code) -> list:
    """The global names ``code`` (and the functions defined in it) loads: not attribute
    names (``opt.step`` does not read a global ``step``)."""
    names = [
        instruction.argval
        for instruction in dis.get_instructions(code)
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    ]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return names


def _attribute_names(code) -> set:
    """Every name ``code`` uses (attributes too), nested functions included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _attribute_names(const)
    return names


_MODULE_TABLES = {"_parameters", "_buffers", "_modules", "_forward_hooks", "_changes"}
_OPTIMIZER_TABLES = {"state", "param_groups", "defaults", "_scalars"}
_LIBRARY_ROOTS = tuple(
    {os.path.abspath(p) for k, p in sysconfig.get_paths().items() if k in ("stdlib", "purelib",
     "platlib", "platstdlib")} | {_PACKAGE_DIR}
)  # fmt: skip


@functools.cache
def _user_file(filename: str) -> bool:
    """Whether code in ``filename`` is the user's: not tinygrad_edu, the standard library
    or an installed package."""
    path = os.path.abspath(filename) if filename and not filename.startswith("<") else filename
    return bool(path) and not path.startswith(_LIBRARY_ROOTS)


def _user_class(cls) -> bool:
    module = sys.modules.get(getattr(cls, "__module__", None) or "")
    return module is not None and _user_file(getattr(module, "__file__", None) or "<>")


def _slot_names(cls) -> list:
    slots = vars(cls).get("__slots__", ())
    return [slots] if isinstance(slots, str) else [s for s in slots if s != "__weakref__"]


def _identifier(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "t"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = "t_" + text
    return text


class _Slot:
    """One place the program reads or writes: ``holder.data``, ``holder.grad``, ``holder[key]``."""

    __slots__ = ("kind", "holder", "key", "expr", "name", "initial", "vid", "_number")
    _count = itertools.count()

    def __init__(self, kind, holder, key, expr, name):
        self.kind, self.holder, self.key, self.expr, self.name = kind, holder, key, expr, name
        self.initial = self.vid = None
        self._number = next(_Slot._count) if kind == "grad" else None

    def get(self):
        if self.kind == "argument":  # an array given to the step: nothing to restore
            return self.initial
        if self.kind == "data":
            return self.holder.data
        if self.kind == "grad":
            return self.holder.grad
        return self.holder.get(self.key, _MISSING)

    def set(self, value):
        if self.kind == "argument":
            return
        if self.kind == "data":
            self.holder.data = value
        elif self.kind == "grad":
            self.holder.grad = value
        else:
            self.holder[self.key] = value

    def read_code(self):
        if self.kind == "argument":
            return self.expr
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
        self.stand_in_args = list(self.call_args)  # what the step is called with
        for position, arg in enumerate(self.call_args):
            if isinstance(arg, Tensor):
                self._tensor_slots(arg, f"_a{position}", self.arg_names[position])
            elif raw_array_argument(arg):  # an array given as it is: an input of the program
                slot = self._slot("argument", None, None, f"_a{position}", self.arg_names[position])
                self.stand_in_args[position] = self._wrap(slot, arg)
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


def raw_array_argument(arg) -> bool:
    """An array (not a Tensor) passed to the step: NumPy's, or any array a backend knows
    (a torch.Tensor, a JAX or CuPy array, an Array-API array)."""
    if type(arg) is np.ndarray:
        return True
    if arg is None or type(arg) in (bool, int, float, str) or isinstance(arg, (Tensor, _Traced)):
        return False
    return array_api_compat.is_array_api_obj(arg) and not isinstance(arg, np.generic)


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
