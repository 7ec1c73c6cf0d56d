"""``tg.compile(step)``: run a training step once while recording its array calls, then replay them.

How a tracing compiler works, in five modules, read in this order (docs/compile.md
walks through one program):

1. ``tracing``: every array the step reads (the arguments' data, parameters,
   gradients, buffers, optimizer state) is swapped for a ``_Traced`` stand-in
   that holds the real array. The engine reaches arrays only through their
   namespace ``xp`` and their operators, so every array call of the forward
   pass, the backward pass and the optimizer's update lands in
   ``_Trace.record``: it runs the real call (the capture *is* an ordinary eager
   step, with the same numbers) and appends one ``_Node``. Python numbers that
   change between steps (the learning rate, Adam's step counter) become
   ``_Sym`` stand-ins, so the arithmetic on them is recorded too. Reading a
   Python value out of an array (``.item()``, ``bool(x)``, printing) makes the
   rest of the step depend on data: the capture finishes eagerly and is thrown
   away (one warning naming the line), or raises with ``strict=True``.
2. ``capture``: which state the step reaches (modules, optimizers, schedulers,
   their tensors), and one capture: stand-ins in, the step run once, the real
   arrays back.
3. ``program``: calls whose inputs are all constants (row indices, the zeros
   of ReLU, the loss seed) are *folded*: their capture-time result is kept.
   Repeated pure calls are merged; calls whose results nobody uses are
   *dropped*. Python scalars that meet a NumPy array become 0-d arrays of its
   dtype (NumPy 2 multiplies by those about twice as fast, with the same
   bits); on NumPy, temporaries are written into a dead operand's memory or,
   when small, into buffers allocated once. What is left is written out as
   one straight-line Python function (``step.explain()`` prints it), compiled
   once with ``compile``: read the state, call the array functions, write the
   state back. A replay is that one function call: no Tensors, graph, heap or
   rule dispatch.
4. ``accelerated``: JAX gets the array calls as one ``jax.jit`` function,
   CuPy as one CUDA graph where the program allows it.
5. ``step``: ``Compiled``, what ``tg.compile`` returns: signatures, variants,
   the eager first call, the fallbacks.

Replays update parameters in place, set ``.grad`` (overwritten by the next
replay, as with CUDA graphs), keep optimizer state and BatchNorm statistics,
and draw dropout masks from the process-wide generator, so ``tg.manual_seed``
gives the same run compiled or not (bitwise on NumPy: the replay makes the
same calls in the same order).
"""

from .step import MAX_VARIANTS, Compiled, compile  # noqa: A004 (the API's name)
from .tracing import CompileError, CompileWarning

__all__ = ["MAX_VARIANTS", "CompileError", "CompileWarning", "Compiled", "compile"]
