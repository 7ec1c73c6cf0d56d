"""The backward pass: the chain rule over the recorded graph, and what users call around it.

Read ``backward`` first: the whole algorithm, for every mode. ``plain_backward``
below it is the same walk specialised to the common case (a training step's
``loss.backward()``) for speed, and is tested against ``backward`` on every
engine test. Then ``no_grad``/``enable_grad`` (grad mode) and ``grad``.
"""

from __future__ import annotations

import contextlib
import heapq

from . import backend
from .derivatives import array_ops, tensor_ops
from .function import ProcessMode, is_tensor, new_tensor, sequence, thread_mode

FAST_PATH = True  # False: every pass takes the reference loop (the engine tests run both)


def backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """The chain rule over the whole graph, latest operation first.

    Every recorded node carries a ``sequence`` number in creation order, and a
    tensor is always created after its inputs. Taking the pending tensor with
    the largest number next (a heap) therefore reaches a tensor only after
    every tensor computed from it has passed its gradient back: its gradient
    is complete, ``dL/dx = sum over consumers of their contribution``. The
    node's rule turns it into gradients of its inputs, each summed back to its
    input's shape (``_fit``), and each input receives its share (``_receive``).
    Leaves keep what they received: it lands in ``.grad`` at the end (added to
    what is there), or, with ``inputs``, is returned without touching ``.grad``.

    With ``create_graph`` the gradients are Tensors and every step is recorded
    (so they can be differentiated again); otherwise they travel as raw arrays
    and become Tensors only where they land. The graph is freed unless
    ``retain_graph``. Extension points: tensor hooks (``_hooked``), the
    tracer (``_trace``), anomaly detection (``_check_finite``), the stale-graph
    check (``_live_node``).
    """
    recording = create_graph
    if FAST_PATH and not recording and inputs is None and _unwatched():  # see plain_backward
        return plain_backward(roots, root_grads, retain_graph)
    received = {}  # tensor -> the sum of the gradients it has received so far
    queue = []  # heap of (-sequence, tensor): the latest-created tensor on top
    for root, grad in zip(roots, root_grads):
        _receive(root, _initial_grad(root, grad, recording), received, queue)
    wanted = None if inputs is None else {id(t) for t in inputs}
    captured = {}
    previous, thread_mode.grad_enabled = thread_mode.grad_enabled, recording
    try:
        while queue:
            node = heapq.heappop(queue)[1]
            grad = _hooked(node, received.pop(node), recording)
            if wanted is not None and id(node) in wanted:
                captured[id(node)] = grad
            fn = _live_node(node)
            parent_grads = _run_rule(fn, node, grad, recording)
            _trace(node, grad, parent_grads)
            for parent, needs, parent_grad in zip(fn.parents, fn.needs_input_grad, parent_grads):
                if needs and parent_grad is not None:
                    parent_grad = _fit(fn, parent, parent_grad, recording)
                    _check_finite(fn, grad, parent_grad)
                    _receive(parent, parent_grad, received, queue)
            if not retain_graph:
                fn.parents = fn.inputs = None
        for leaf, grad in received.items():  # only leaves are left
            grad = _hooked(leaf, grad, recording)
            if wanted is None:
                _accumulate(leaf, grad, recording)
            elif id(leaf) in wanted:
                captured[id(leaf)] = grad
    finally:
        thread_mode.grad_enabled = previous
    if wanted is None:
        return None
    return [_as_tensor(captured.get(id(t)), t) for t in inputs]


def _receive(tensor, grad, received, queue):
    """Add ``grad`` to what ``tensor`` has received; queue a non-leaf on its first gradient."""
    earlier = received.get(tensor)
    received[tensor] = grad if earlier is None else earlier + grad
    if earlier is None and tensor._ctx is not None:
        heapq.heappush(queue, (-tensor._ctx.sequence, tensor))


def _run_rule(fn, node, grad, recording):
    """``fn.backward`` with the vocabulary and values of this mode (see derivatives.py)."""
    xp = backend.namespace_of(node.data)
    if recording:
        return fn.backward(tensor_ops(xp), grad, fn.parents, node)
    if not fn.rules_on_tensors:
        return fn.backward(array_ops(xp), grad, fn.inputs, node.data)
    grads = fn.backward(tensor_ops(xp), new_tensor(xp.asarray(grad)), fn.parents, node)
    return [None if g is None else g.data for g in grads]


def _live_node(node):
    """The node that made ``node``, checked: not freed by an earlier pass, inputs not stale."""
    fn = node._ctx
    if fn.parents is None:
        raise RuntimeError(
            "trying to backward through the graph a second time: its saved "
            "values were freed by the first backward(); pass retain_graph=True "
            "to the first call if you need to do this"
        )
    if fn.sequence < ProcessMode.last_write:  # recorded before an in-place step
        _check_inputs_unchanged(fn)
    return fn


def _unwatched() -> bool:
    return thread_mode.tracer is None and ProcessMode.anomaly is None


def _trace(node, grad, parent_grads):
    """Show one step (the rule's gradients, before fitting) to this thread's tracer, if any."""
    if thread_mode.tracer is not None:
        thread_mode.tracer.record(node, _as_tensor(grad), [_as_tensor(g) for g in parent_grads])


def _check_finite(fn, grad, parent_grad):
    """Under ``detect_anomaly``: raise at the first gradient passed on that is not finite."""
    if ProcessMode.anomaly is not None:
        ProcessMode.anomaly.check_backward(fn, _as_tensor(grad), _as_tensor(parent_grad))


def _hooked(tensor, grad, recording):
    """The gradient after ``tensor``'s hooks (each may replace it)."""
    if not tensor._hooks:
        return grad
    grad = _as_tensor(grad, tensor)
    for hook in list(tensor._hooks.values()):
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad if recording else grad.data


def _fit(fn, parent, grad, recording):
    """Undo broadcasting and cast to the parent's dtype (the engine's one place for both)."""
    data, target = (grad.data if recording else grad), parent.data
    F = (tensor_ops if recording else array_ops)(backend.namespace_of(target))
    if data.shape != target.shape:
        summed_from = tuple(data.shape)
        grad = F.unbroadcast(grad, tuple(target.shape))
        if thread_mode.tracer is not None:
            thread_mode.tracer.record_unbroadcast(fn, summed_from, tuple(target.shape))
        data = grad.data if recording else grad
    if data.dtype is not target.dtype and data.dtype != target.dtype:
        grad = F.astype(grad, target.dtype)
    return grad


def _as_tensor(grad, like=None):
    """A gradient as a Tensor (raw arrays are wrapped; NumPy scalars become 0-d arrays)."""
    if grad is None or is_tensor(grad):
        return grad
    if like is not None and type(grad) is type(like.data):
        return new_tensor(grad)
    return new_tensor(backend.namespace_of(grad).asarray(grad))


def _accumulate(leaf, grad, recording):
    """``leaf.grad += grad`` (a Tensor; recorded under ``create_graph``)."""
    if leaf.grad is None:
        leaf.grad = _as_tensor(grad, leaf)
    elif recording:
        leaf.grad = leaf.grad + grad
    else:
        leaf.grad = _as_tensor(leaf.grad.data + grad, leaf)


def _initial_grad(root, grad, recording):
    """dL/d root: ones for a scalar root, else the given ``gradient`` (checked)."""
    if grad is None:
        if root.data.ndim and root.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar output, but the output "
                f"has shape {root.shape}: pass gradient= (dL/d output) or reduce it first"
            )
        data = root.data
        xp = backend.namespace_of(data)
        if data.ndim:
            grad = xp.ones_like(data)
        else:  # a scalar loss, the usual root: asarray is one C call where ones_like is several
            grad = xp.asarray(1, dtype=data.dtype, device=backend.device_of(data))
        return new_tensor(grad) if recording else grad
    if not is_tensor(grad):
        grad = type(root)(grad, dtype=root.dtype, backend=root.xp)
    if grad.shape != root.shape:
        raise ValueError(f"gradient has shape {grad.shape} but the output has shape {root.shape}")
    return grad if recording else grad.data


def unbroadcast(grad, shape: tuple):
    """Sum the Tensor ``grad`` over the axes that broadcasting added or stretched.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward
    pass, every copy of an element contributed, so dL/dx sums over the copies.
    """
    return tensor_ops(grad.xp).unbroadcast(grad, tuple(shape))


# ------------------------------------------------------------ the fast path
def plain_backward(roots, root_grads, retain_graph):
    """``backward`` for a plain pass (no ``create_graph``, no ``inputs``, nothing watching).

    The same walk, with the helpers inlined and three shortcuts, measured with
    ``benchmarks/compare.py`` against the reference loop (FAST_PATH = False):
    the rule vocabulary looked up once per array type, a leaf's first gradient
    put straight into an empty ``.grad``, and no per-edge helper calls
    (docs/performance.md gives the figures).
    """
    received = {}
    queue = []
    for root, grad in zip(roots, root_grads):
        _receive(root, _initial_grad(root, grad, False), received, queue)
    heappop, heappush = heapq.heappop, heapq.heappush
    last_write = ProcessMode.last_write
    rule_type = rules = None  # the array type whose vocabulary ``rules`` is
    previous, thread_mode.grad_enabled = thread_mode.grad_enabled, False
    try:
        while queue:
            node = heappop(queue)[1]
            grad = received.pop(node)
            if node._hooks:
                grad = _hooked(node, grad, False)
            fn = node._ctx
            parents = fn.parents
            if parents is None or fn.sequence < last_write:
                _live_node(node)
            if fn.rules_on_tensors:
                parent_grads = _run_rule(fn, node, grad, False)
            else:
                if type(node.data) is not rule_type:  # usually one array type per pass
                    rule_type = type(node.data)
                    rules = array_ops(backend.namespace_of(node.data))
                parent_grads = fn.backward(rules, grad, fn.inputs, node.data)
            for parent, needs, parent_grad in zip(parents, fn.needs_input_grad, parent_grads):
                if not needs or parent_grad is None:
                    continue
                target = parent.data
                if parent_grad.shape != target.shape or (
                    parent_grad.dtype is not target.dtype and parent_grad.dtype != target.dtype
                ):
                    parent_grad = _fit(fn, parent, parent_grad, False)
                if parent._ctx is None:
                    if (
                        parent.grad is None
                        and not parent._hooks
                        and type(parent_grad) is type(target)
                    ):  # a leaf's first gradient, no hooks to see the total: straight to .grad
                        parent.grad = new_tensor(parent_grad)
                        continue
                    earlier = received.get(parent)
                    received[parent] = parent_grad if earlier is None else earlier + parent_grad
                else:
                    earlier = received.get(parent)
                    if earlier is None:
                        received[parent] = parent_grad
                        heappush(queue, (-parent._ctx.sequence, parent))
                    else:
                        received[parent] = earlier + parent_grad
            if not retain_graph:
                fn.parents = fn.inputs = None
        for leaf, grad in received.items():
            _accumulate(leaf, _hooked(leaf, grad, False), False)
    finally:
        thread_mode.grad_enabled = previous


# ------------------------------------------------------------ in-place writes
def mark_written_in_place(tensors, by="optimizer.step()") -> None:
    """Record that the arrays of ``tensors`` were just overwritten in place (a step, or
    what ``by`` names: the stale-graph error repeats it).

    Every node keeps the arrays of its inputs. A node created before this
    moment that holds such an array (through the tensor itself or another
    tensor sharing the array: ``tensor.detach()``, ``Tensor(tensor)``) now
    holds changed values, so a backward pass through it would mix old and new
    numbers: ``backward`` checks nodes older than the latest write and raises
    instead. (A view of part of the array is not tracked.)
    """
    mark = next(sequence)
    for tensor in tensors:
        _written_arrays[id(tensor.data)] = (mark, by)
    ProcessMode.last_write = mark


# id(array) -> (the sequence number of its latest in-place write, what wrote). An id reused by
# a later array can only meet nodes created after that array, all newer than the mark.
_written_arrays: dict = {}


def _check_inputs_unchanged(fn):
    for array in fn.inputs or ():
        if _written_arrays.get(id(array), (0,))[0] > fn.sequence:
            shape = tuple(getattr(array, "shape", ()))
            raise RuntimeError(
                f"an input of shape {shape} that {fn.name} used in the forward pass was "
                f"modified in place afterwards (by {_written_arrays[id(array)][1]}), so this "
                "graph's saved values are stale; compute the forward pass again after that write"
            )


# ------------------------------------------------------------ grad mode and grad()
class no_grad(contextlib.ContextDecorator):
    """Record nothing inside (in this thread): results have no graph, ``requires_grad=False``.

    Works as ``with tg.no_grad():`` and as a ``@tg.no_grad()`` decorator.
    """

    enabled = False

    def __enter__(self):
        self._previous = thread_mode.grad_enabled
        thread_mode.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        thread_mode.grad_enabled = self._previous
        return False

    def _recreate_cm(self):  # as a decorator: each call (recursive, or in another thread) its own
        return type(self)()


class enable_grad(no_grad):
    """Record again inside a ``no_grad`` block."""

    enabled = True


def is_grad_enabled() -> bool:
    return thread_mode.grad_enabled


def grad(
    outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False
):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Returns a tuple with one Tensor per input: ``sum_k d outputs_k / d input``
    weighted by ``grad_outputs`` (ones for scalar outputs). With
    ``create_graph=True`` the results are differentiable again (grad of grad,
    Hessian-vector products). An input that does not influence the outputs
    raises unless ``allow_unused=True`` (then its entry is None).
    """
    outputs = [outputs] if is_tensor(outputs) else list(outputs)
    inputs = [inputs] if is_tensor(inputs) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif is_tensor(grad_outputs):
        grad_outputs = [grad_outputs]
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad(): an output does not require grad (no input was tracked)")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad(): every input must have requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    grads = backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    for position, g in enumerate(grads):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {position} does not influence the outputs; pass allow_unused=True"
            )
    return tuple(grads)
