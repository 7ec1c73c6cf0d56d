"""Part 3 of ``tg.compile``: the recorded calls simplified and written out as one function.

``_Program`` takes one capture's nodes and
1. *folds* calls whose inputs are all constants (row indices, the zeros of
   ReLU, the loss seed) into their capture-time results, *merges* repeated
   pure calls and *drops* calls whose results nobody uses;
2. on NumPy, writes temporaries into a dead operand's memory or, when small,
   into buffers allocated once, and turns Python scalars that meet an array
   into 0-d arrays of its dtype (NumPy 2 multiplies by those about twice as
   fast, with the same bits);
3. *emits* what is left as straight-line Python (``step.explain()`` prints
   it), compiled once: read the state, call the array functions, write the
   state back. A replay is that one function call: no Tensors, graph, heap or
   rule dispatch.
The JAX and CUDA-graph forms of the same program are in ``accelerated``.
"""

from __future__ import annotations

import itertools
import linecache
import math
import re

import numpy as np

from .. import backend
from ..autograd import mark_written_in_place
from ..function import new_tensor
from .accelerated import _Accelerated
from .capture import _identifier
from .tracing import (
    _SCALAR_TO_ARRAY,
    _SHAPE_ONLY,
    _Constant,
    _flat_refs,
    _GuardFailed,
    _Held,
    _is_raw_array,
    _Named,
    _Ref,
    _refs,
    _returned_vids,
    _StaleState,
)


class _Program(_Accelerated):
    """The straight-line replay of one variant, as Python source and as a function."""

    def __init__(self, capture, writes, in_place, returned, title):
        trace = capture.trace
        recorded = sum(n.kind != "const" for n in trace.nodes)
        kept, folded, alias = self._simplify(trace)
        needed = [vid for _, vid in writes if vid is not None] + _returned_vids(returned)
        kept = self._drop_dead(kept, needed, trace, alias)
        kept = self._guards_first(kept, alias)
        if _numpy_only(trace):
            kept = self._multiply_by_masks(kept, needed, trace, alias)
            self._broadcast_equal_rows(kept, folded, trace)
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
        exec(compile(self.source, filename, "exec"), self._globals)
        self.run = self._globals["_replay"]
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

    @staticmethod
    def _guards_first(kept, alias):
        """Guards on what the step was given (class targets, embedding indices) moved to the
        start: a failed one then stops the replay before any state is written (the step then
        runs eagerly and raises the check's message, as eager does, with the state as it was)."""
        made: set = set()
        first, rest = [], []
        for node in kept:
            reads = {alias.get(v, v) for v in _refs(node.args, node.kwargs)}
            (first if node.kind == "guard" and not reads & made else rest).append(node)
            if node.out is not None:
                made.add(node.out)
        return first + rest

    # ------------------------------------------------------------ buffer reuse
    def _plan_reuse(self, kept, writes, returned):
        """Nodes ``v = a op b`` that can be written ``a op= b``, and ``v = f(a, b)`` for a NumPy
        ufunc ``f`` that can be written ``v = f(a, b, out=a)`` (measured: see docs/compile.md).

        Allowed when ``a`` is a temporary made by arithmetic in this program, used
        only as an arithmetic operand (so no view or other reference to its memory
        exists), read for the last time here, and of the result's shape and dtype,
        and both are C-ordered (``maximum(F-ordered a, C-ordered b)`` comes out
        C-ordered from NumPy: written into ``a`` it would be F-ordered, and a later
        sum would add in another order).
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
                    and {operand.vid, node.out} <= trace.c_order  # the result keeps its layout
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

    @staticmethod
    def _broadcast_equal_rows(kept, folded, trace):
        """A folded constant whose rows all have the same bits (ReLU's zeros) meets an
        elementwise operand of the result's shape: keep one row of it, broadcast (NumPy).

        ``maximum(z, zeros)`` and ``maximum(z, row of zeros)`` give the same bits
        (every output entry meets the same number), but the row stays in the L1 cache
        where the full array is read from memory as large as ``z``: W2's (256, 512)
        ReLU in a replay, measured 18-20 against 49-57 us per call (NumPy's loop
        against a 0-d or Python 0 is not vectorised: 48-53 us in the floor's
        step). A constant of at most 64 KiB stays whole: it stays in cache, and
        the broadcast loop costs NumPy about 15 ns a row (W1's (64, 128) zeros:
        1.0 us whole, 2.1 us as a row). Rewrites the nodes' arguments.
        """
        rows: dict = {}  # vid of a constant -> vid of its one row (None: rows differ)
        for node in kept:
            elementwise = _binary_ufunc_call(node) or (
                node.kind in ("binop", "iop") and node.target in _UFUNC_OF and node.target != "@"
            )
            if not elementwise or len(node.args) != 2:
                continue
            args = list(node.args)
            for index, (arg, other) in enumerate([args, args[::-1]]):
                if not (isinstance(arg, _Ref) and arg.vid in folded and isinstance(other, _Ref)):
                    continue
                if other.vid in folded:
                    continue  # two constants: the result's shape comes from them both
                result = node.args[0].vid if node.kind == "iop" else node.out
                if trace.dtype_of[other.vid][1] != trace.dtype_of[result][1]:
                    continue  # the constant's shape is part of the result's shape
                if not {other.vid, result} <= trace.c_order:
                    continue  # NumPy lays the result out after the operands: keep eager's order
                if arg.vid not in rows:
                    row = _one_row(folded[arg.vid])
                    rows[arg.vid] = None if row is None else trace.new_value(row)
                    if row is not None:
                        folded[rows[arg.vid]] = row
                if rows[arg.vid] is not None:
                    args[index] = _Ref(rows[arg.vid])
            node.args = tuple(args)

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
                # the program's own copy: the capture handed the array itself to the step
                # (which may have returned it, or written it into state, for writes later)
                copy = _is_raw_array(value) and not isinstance(value, np.generic)
                self._globals[name] = _fresh(value) if copy else value
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
            if node.inplace is not None:  # x.sort(), x.fill(v), x.clip(out=x): no new value
                return (
                    f"{args[0][0]}.{node.target}({rest[0]})",
                    f"{args[0][1]}.{node.target}({rest[1]})",
                )
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
            constant = self.alias.get(returned[1], returned[1]) in self.folded
            if value in self._graph_outputs or constant:  # a copy: the caller may write into it
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


def _one_row(value):
    """The one row (shape ``(1, ..., 1, n)``) a NumPy constant of two or more axes and more
    than 64 KiB broadcasts from, when all its rows have the same bits (-0.0 is not 0.0);
    else None."""
    if not isinstance(value, np.ndarray) or value.ndim < 2 or value.dtype.kind not in "biuf":
        return None
    if value.nbytes <= _BUFFER_BYTES:
        return None  # small: it stays in cache, and the whole array loops faster
    row = value.reshape(-1)[: value.shape[-1]].reshape((1,) * (value.ndim - 1) + value.shape[-1:])
    if value.size <= row.size or value.tobytes() != row.tobytes() * (value.size // row.size):
        return None
    return row.copy()


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
