"""Part 4 of ``tg.compile``: the emitted program handed to the namespace's own compiler.

On JAX the array calls become one pure function given to ``jax.jit``; on
CuPy, one CUDA graph where the program allows it (no random draw, no Python
number beside arrays, no in-place write into a copied input, a capture CuPy
accepts), with the plain replay as the fallback. Guards and the arithmetic on
Python numbers run on the host, before the call. ``_Program`` inherits these
methods; the plain NumPy replay is in ``program``.
"""

from __future__ import annotations

from .. import backend
from .tracing import _NAMESPACE_HINT, _Node, _returned_vids


class _Accelerated:
    """The jax.jit and CUDA-graph emitters of ``_Program`` (a mixin: they use its state)."""

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


def _pure_placeholder():
    """What ``_jit_plan`` asks the backend to compile, to learn whether it can."""
