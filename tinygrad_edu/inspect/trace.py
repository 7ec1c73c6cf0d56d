"""Watch the backward pass: what each node received and what it sent on.

``with tg.trace_backward() as tr: loss.backward()`` records, for every
operation in the order the engine visits it, the incoming gradient
``dL/d output`` and the gradient it passes to each input, with the axes that
un-broadcasting summed. ``tr.watch(tensor, name)`` keeps the gradient that
reaches any tensor; ``tr.watch_layers(model)`` does so for the output
``z^l = a^{l-1} W^l + b^l`` of every ``nn.Linear``, so that
``tr.layer_deltas()`` returns the lecture's ``delta^l = dC/dz^l``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from .. import backend
from ..function import thread_mode
from ..tensor import Tensor


@dataclass
class InputGradient:
    """The gradient one operation sends to one of its inputs.

    ``shape`` and ``norm`` are those of the gradient the input receives (after
    un-broadcasting); ``summed_axes`` are the axes of the rule's result that
    un-broadcasting summed over (empty when shapes already matched).
    """

    position: int
    shape: tuple
    norm: float
    summed_axes: tuple = ()


@dataclass
class TraceStep:
    """One visited operation: ``grad_out = dL/d output`` and what it sent on."""

    index: int
    op: str
    name: str | None
    output_shape: tuple
    grad_out_norm: float
    inputs: list = field(default_factory=list)


class trace_backward:
    """Record every step of the backward passes run inside the ``with`` block.

    Attributes
    ----------
    steps : list of TraceStep
        In the order the engine visits the operations (outputs first).
    watched : dict of name -> Tensor
        The gradient that reached each tensor given to :meth:`watch`.

    Examples
    --------
    >>> with tg.trace_backward() as tr:
    ...     loss.backward()
    >>> print(tr)            # one row per operation
    """

    def __init__(self):
        self.steps: list = []
        self.watched: dict = {}
        self._names: dict = {}  # id(tensor) -> watched name
        self._handles: list = []
        self._layer_names: list = []
        self._pending: list = []  # the rule's gradients of the last step, until un-broadcast
        self._previous = None

    def __enter__(self):
        self._previous = thread_mode.tracer
        thread_mode.tracer = self
        return self

    def __exit__(self, *exc):
        thread_mode.tracer = self._previous
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._names.clear()
        self._pending = []
        return False

    # ------------------------------------------------ called by the engine
    def record(self, output: Tensor, grad_out: Tensor, parent_grads) -> None:
        """The rule of the op that made ``output`` just ran (``autograd.backward`` calls this)."""
        fn = output._ctx
        step = TraceStep(
            index=len(self.steps),
            op=fn.name,
            name=self._names.get(id(output)) or getattr(output, "name", None),
            output_shape=grad_out.shape,
            grad_out_norm=_norm(grad_out.data),
        )
        self._pending = []
        for position, (needs, grad) in enumerate(
            zip(fn.needs_input_grad, parent_grads, strict=False)
        ):
            if needs and grad is not None:
                step.inputs.append(InputGradient(position, grad.shape, _norm(grad.data)))
                self._pending.append((grad, fn.parents[position].shape))
            else:
                self._pending.append(None)
        self.steps.append(step)

    def record_unbroadcast(self, fn, from_shape: tuple, to_shape: tuple) -> None:
        """The engine summed a gradient of ``from_shape`` down to ``to_shape``."""
        step = self.steps[-1]
        for entry in step.inputs:
            pending = self._pending[entry.position]
            if pending is None or pending[0].shape != from_shape or pending[1] != to_shape:
                continue
            axes = _broadcast_axes(from_shape, to_shape)
            xp = pending[0].xp
            entry.summed_axes = axes
            entry.shape = to_shape
            entry.norm = _norm(xp.sum(pending[0].data, axis=axes))
            self._pending[entry.position] = None
            return

    # ------------------------------------------------ watching tensors
    def watch(self, tensor: Tensor, name: str) -> None:
        """Keep the gradient dL/d``tensor`` as ``self.watched[name]``.

        Works for intermediate tensors (not only leaves) through a tensor hook,
        removed again when the ``with`` block ends.
        """

        def keep(grad):
            if thread_mode.tracer is self:  # not another thread's pass over a shared model
                self.watched[name] = grad

        self._handles.append(tensor.register_hook(keep))
        self._names[id(tensor)] = name

    def watch_layers(self, model) -> list:
        """Watch the output ``z^l`` of every ``nn.Linear`` inside ``model``.

        Registers a forward hook on each Linear (in module order ``l = 1..L``);
        each forward pass then watches that layer's output under the name
        ``"z<l>"``. Call it before the forward pass. Returns the names.
        """
        from ..nn import Linear

        layers = [module for module in _submodules(model) if isinstance(module, Linear)]
        if not layers:
            raise ValueError(f"watch_layers: {type(model).__name__} contains no nn.Linear")
        self._layer_names = [f"z{number}" for number in range(1, len(layers) + 1)]
        for layer, name in zip(layers, self._layer_names, strict=True):
            self._handles.append(layer.register_forward_hook(self._watch_output(name)))
        return list(self._layer_names)

    def _watch_output(self, name: str):
        def hook(module, inputs, output):
            if thread_mode.tracer is self:
                self.watch(output, name)

        return hook

    def layer_deltas(self) -> list:
        """``[delta^1, ..., delta^L]`` with ``delta^l = dC/dz^l`` (batch x units).

        Needs :meth:`watch_layers` before the forward pass and ``backward()``
        inside the ``with`` block.
        """
        if not self._layer_names:
            raise RuntimeError("layer_deltas() needs watch_layers(model) before the forward pass")
        missing = [name for name in self._layer_names if name not in self.watched]
        if missing:
            raise RuntimeError(
                f"no gradient reached {', '.join(missing)}: run the forward pass after "
                "watch_layers() and call backward() inside the with-block"
            )
        return [self.watched[name] for name in self._layer_names]

    # ------------------------------------------------ printing
    def _rows(self) -> list:
        rows = [_HEADER]
        for step in self.steps:
            op = step.op if step.name is None else f"{step.op} ({step.name})"
            sent = "; ".join(_describe(entry) for entry in step.inputs) or "-"
            rows.append(
                (str(step.index), op, str(step.output_shape), f"{step.grad_out_norm:.4g}", sent)
            )
        return rows

    def __str__(self) -> str:
        rows = self._rows()
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
            for row in rows
        )

    def _repr_html_(self) -> str:
        """Jupyter's hook: the table of ``str(tr)`` as an HTML table."""
        header, *body = self._rows()
        cells = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        lines = [f"<table><thead><tr>{cells}</tr></thead><tbody>"]
        for row in body:
            lines.append(
                "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            )
        lines.append("</tbody></table>")
        return "\n".join(lines)


_HEADER = ("#", "op", "output", "|dL/d output|", "gradients sent to inputs")


def _submodules(model) -> list:
    if hasattr(model, "modules"):
        return list(model.modules())
    return [model]


def _describe(entry: InputGradient) -> str:
    text = f"in{entry.position} {entry.shape} |g|={entry.norm:.4g}"
    if entry.summed_axes:
        text += f" (summed axes {entry.summed_axes})"
    return text


def _broadcast_axes(from_shape: tuple, to_shape: tuple) -> tuple:
    """The axes of ``from_shape`` that broadcasting ``to_shape`` added or stretched."""
    leading = len(from_shape) - len(to_shape)
    stretched = tuple(
        leading + i for i, n in enumerate(to_shape) if n == 1 and from_shape[leading + i] != 1
    )
    return tuple(range(leading)) + stretched


def _norm(data) -> float:
    """The Euclidean norm of all entries."""
    xp = backend.namespace_of(data)
    return math.sqrt(float(xp.sum(data * data)))
