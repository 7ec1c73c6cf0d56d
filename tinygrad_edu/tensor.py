"""The core: a Tensor, the Function that made it, and the backward pass.

Read top to bottom:

1. ``Function`` — one recorded operation. ``apply`` runs ``forward`` on raw
   backend arrays and, when a gradient will be needed, remembers the inputs
   (``parents``) so that ``backward`` can later turn the gradient of the output
   into gradients of the inputs, written with Tensor operations.
2. ``Tensor`` — a backend array (``data``), its gradient (``grad``), whether it
   wants one (``requires_grad``) and the Function that produced it (``_ctx``).
3. ``run_backward`` — counts how many gradient contributions each node will
   receive (an iterative walk, no recursion), then walks the graph from the
   output back to the leaves in topological order, applying the chain rule at
   each node, undoing broadcasting, accumulating gradients and freeing the
   graph.

The operations themselves live in ``ops.py`` (primitives) and
``functional.py`` (composites built from primitives).
"""

from __future__ import annotations

import heapq
import itertools
import math
import weakref

from . import backend, derivatives


class _GradMode:
    """Global switches read on every operation (a class attribute lookup)."""

    enabled = True  # False inside ``no_grad`` and during a plain backward pass
    anomaly = None  # the active ``detect_anomaly`` checker, if any
    last_write = 0  # sequence number of the latest in-place write (mark_written_in_place)
    tracer = None  # the active ``trace_backward`` recorder, if any


# ----------------------------------------------------------------- Function
class _RecordingOps:
    """``Function.F`` until the engine sets it: Tensors, as when recording.

    A non-data descriptor, so the engine's ``fn.F = ...`` simply shadows it.
    """

    def __get__(self, fn, owner=None):
        if fn is None:
            return self
        return derivatives.namespace(backend.namespace_of(fn._output_ref().data), True)


class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` on Tensors.

    Subclasses implement

    * ``forward(self, xp, *arrays, **params) -> array`` with the namespace
      ``xp``; Python scalars pass through unchanged;
    * ``backward(self, grad_out) -> tuple`` with one entry per input (``None``
      where no gradient is needed).

    In ``backward``, ``self.parents`` holds the inputs as given (Tensors or
    Python scalars), ``self.needs_input_grad`` which of them want a gradient,
    and ``self.output`` the Tensor that ``forward`` produced. A rule built
    from Tensor operations gives second derivatives under ``create_graph=True``.

    The built-in ops (``array_rules = True``) write their rules once in the
    vocabulary of ``derivatives.py``: ``self.args``, ``self.out``, operators
    and ``self.F``. The engine runs such a rule on Tensors when recording and
    on raw arrays otherwise, where it costs one backend call per step.
    """

    registry: dict[str, type] = {}
    changes_backend = False  # True only for Move, whose output may be another array type
    array_rules = False  # True: backward may run on raw arrays (see derivatives.py)
    F = _RecordingOps()  # the rule vocabulary (derivatives.py), set by the engine per call

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:  # an op, not an intermediate base class
            Function.registry[cls.__name__] = cls

    @classmethod
    def apply(cls, *args, **params):
        """Run ``forward`` on the arguments' arrays and record the node if needed."""
        datas = []
        needs_input_grad = []
        array_type = None
        for arg in args:
            if isinstance(arg, Tensor):
                data = arg.data
                if array_type is None:
                    array_type = type(data)
                elif type(data) is not array_type:
                    _raise_mixed(args)
                needs_input_grad.append(arg.requires_grad)
                datas.append(data)
            else:
                needs_input_grad.append(False)
                datas.append(arg)
        xp = _namespace_of_type.get(array_type)
        if xp is None:
            xp = _namespace_for(args)
        elif array_type not in _SINGLE_DEVICE_TYPES:
            _check_devices(args)
        fn = cls()
        try:
            out = fn.forward(xp, *datas, **params)
        except ValueError as err:  # name the op and every input shape
            shapes = " and ".join(str(tuple(getattr(d, "shape", ()))) for d in datas)
            raise ValueError(f"{cls.__name__} of shapes {shapes}: {err}") from None
        if type(out) is not array_type and not fn.changes_backend:
            out = xp.asarray(out)  # NumPy turns 0-d results into scalars
        result = _new_object(Tensor)  # _new_tensor, inlined: this line runs for every op
        result.data = out
        result.grad = result._hooks = result.name = None
        if _GradMode.enabled and True in needs_input_grad:
            result.requires_grad = True
            fn.parents = args
            fn.inputs = datas
            fn.needs_input_grad = needs_input_grad
            fn.sequence = next(_sequence)
            fn._output_ref = _weak_reference(result)
            result._ctx = fn
        else:
            result.requires_grad = False
            result._ctx = None
        if _GradMode.anomaly is not None:
            _GradMode.anomaly.check_forward(fn, args, result)
        return result

    @property
    def output(self):
        return self._output_ref()

    @property
    def args(self):
        """The inputs as the current backward mode sees them: Tensors or raw arrays."""
        return self.parents if self.F.recording else self.inputs

    @property
    def out(self):
        """The output as the current backward mode sees it: a Tensor or a raw array."""
        output = self._output_ref()
        return output if self.F.recording else output.data

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, xp, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError


_namespace_of_type: dict = {}  # array type -> namespace, filled on first use
_sequence = itertools.count()  # creation order of recorded nodes (see run_backward)
_new_object = object.__new__
_weak_reference = weakref.ref
_SINGLE_DEVICE_TYPES = backend.SINGLE_DEVICE_TYPES


def _namespace_for(args):
    """The namespace of the Tensor arguments (first call for an array type)."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        raise TypeError("an operation needs at least one Tensor input")
    xp = backend.namespace_of(tensors[0].data)
    _check_devices(args)
    _namespace_of_type[type(tensors[0].data)] = xp
    return xp


def _check_devices(args):
    devices = {str(backend.device_of(a.data)) for a in args if isinstance(a, Tensor)}
    if len(devices) > 1:
        _raise_mixed(args)


def _unwrap(args):
    """The shared namespace of the Tensor arguments (raises if they are mixed)."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if len({type(t.data) for t in tensors}) > 1:
        _raise_mixed(args)
    return _namespace_for(args)


def _raise_mixed(args):
    places = sorted({f"{a.backend} ({a.device})" for a in args if isinstance(a, Tensor)})
    raise ValueError(
        f"tensors on different backends or devices in one operation: {' and '.join(places)}; "
        "move them to one place first with .to(backend=..., device=...)"
    )


# ------------------------------------------------------------------- Tensor
class Tensor:
    """A backend array that records how it was computed.

    Parameters
    ----------
    data : Python scalar or (nested) list, array of any Array-API backend, or Tensor
        An array keeps its dtype and backend; Python numbers get the default
        float dtype (``tg.set_default_dtype``), Python booleans stay boolean.
    dtype, backend, device : optional
        Convert or move on creation. ``backend`` is a name (``"numpy"``,
        ``"cupy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"``, ``"dask"``)
        or a namespace module.
    requires_grad : bool
        Whether ``backward`` should fill in ``grad`` (floating dtypes only).
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_hooks", "name", "__weakref__")

    def __init__(self, data, dtype=None, backend=None, device=None, requires_grad=False):
        self.data = _to_array(data, dtype, backend, device)
        self.grad = None
        self._ctx = None
        self._hooks = None
        self.name = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        """Fast construction from a backend array (no checks, no copies)."""
        return _new_tensor(data, requires_grad, cls)

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return math.prod(self.data.shape)

    @property
    def xp(self):
        """The Array-API namespace of ``data``."""
        return backend.namespace_of(self.data)

    @property
    def backend(self) -> str:
        return backend.backend_name(self.xp)

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function that produced this Tensor (None for leaves)."""
        return self._ctx

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """A host NumPy array (a copy when the data lives on a GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data, False)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not backend.is_floating(self.xp, self.dtype):
            raise TypeError(
                f"requires_grad=True needs a floating-point tensor, got dtype "
                f"{backend.dtype_name(self.dtype)}"
            )
        self.requires_grad = requires_grad
        return self

    def to(self, backend=None, device=None) -> Tensor:
        """This tensor on another backend and/or device (differentiable)."""
        from .ops import Move

        return Move.apply(self, backend=backend, device=device)

    def astype(self, dtype) -> Tensor:
        from .ops import Astype

        return Astype.apply(self, dtype=dtype)

    def __repr__(self) -> str:
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={self._ctx.name}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return f"Tensor({self.numpy()!r}, backend={self.backend}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__

    # ------------------------------------------------------------ autodiff
    def backward(self, gradient=None, retain_graph=False, create_graph=False) -> None:
        """Fill ``.grad`` of every leaf that requires grad with d(self)/d(leaf).

        ``gradient`` is dL/d(self) for a non-scalar output (a vector-Jacobian
        product). Gradients add up over calls. The graph is freed afterwards
        unless ``retain_graph=True``; ``create_graph=True`` records the backward
        pass itself, so the gradients can be differentiated again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True"
            )
        run_backward([self], [gradient], retain_graph or create_graph, create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        The hook may return a replacement gradient. Returns a handle whose
        ``remove()`` unregisters it.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = {}
        return HookHandle(self._hooks, hook)

    # ------------------------------------------------------------ arithmetic
    # Each method names the primitive (ops.py) or composite (functional.py)
    # that implements it; the math and its derivative are documented there.
    def __add__(self, other):
        return ops.Add.apply(self, _operand(other))

    def __radd__(self, other):
        return ops.Add.apply(_operand(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, _operand(other))

    def __rsub__(self, other):
        return ops.Sub.apply(_operand(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, _operand(other))

    def __rmul__(self, other):
        return ops.Mul.apply(_operand(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, _operand(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(_operand(other), self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, _operand(exponent))

    def __rpow__(self, base):
        return ops.Pow.apply(_operand(base), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, _operand(other, allow_scalar=False))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(_operand(other, allow_scalar=False), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def matmul(self, other):
        return self @ other

    # comparisons give boolean tensors that are not differentiable
    def __lt__(self, other):
        return _compare(self, other, lambda a, b: a < b)

    def __le__(self, other):
        return _compare(self, other, lambda a, b: a <= b)

    def __gt__(self, other):
        return _compare(self, other, lambda a, b: a > b)

    def __ge__(self, other):
        return _compare(self, other, lambda a, b: a >= b)

    def __eq__(self, other):
        return _compare(self, other, lambda a, b: a == b)

    def __ne__(self, other):
        return _compare(self, other, lambda a, b: a != b)

    # ------------------------------------------------------------ elementwise
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def sin(self):
        return ops.Sin.apply(self)

    def cos(self):
        return ops.Cos.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def softplus(self):
        return ops.Softplus.apply(self)

    def erf(self):
        return ops.Erf.apply(self)

    def clip(self, min=None, max=None):
        return ops.Clip.apply(self, min=min, max=max)

    def leaky_relu(self, negative_slope=0.01):
        return functional.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        return functional.elu(self, alpha)

    def gelu(self):
        return functional.gelu(self)

    # ------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        return ops.Sum.apply(self, axis=normalize_axes(axis, self.ndim), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.Max.apply(self, axis=normalize_axes(axis, self.ndim), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.LogSumExp.apply(self, axis=normalize_axes(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return functional.mean(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return functional.min(self, axis, keepdims)

    def var(self, axis=None, correction=0, keepdims=False):
        return functional.var(self, axis, correction, keepdims)

    def std(self, axis=None, correction=0, keepdims=False):
        return functional.std(self, axis, correction, keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the largest entry (not differentiable)."""
        data = self.data
        if axis is None:
            data = self.xp.reshape(data, (-1,))
            axis = 0
        return Tensor._wrap(self.xp.asarray(self.xp.argmax(data, axis=axis, keepdims=keepdims)))

    def softmax(self, axis=-1):
        return functional.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return functional.log_softmax(self, axis)

    # ------------------------------------------------------------ shapes
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return ops.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        """Permute the axes; without arguments reverse them (like ``.T``)."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(reversed(range(self.ndim))) if not axes else normalize_axes(axes, self.ndim)
        if len(axes) != self.ndim:
            raise ValueError(f"transpose needs {self.ndim} axes for shape {self.shape}, got {axes}")
        return ops.Permute.apply(self, axes=axes)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        """Swap the last two axes (matrix transpose of a batch of matrices)."""
        axes = list(range(self.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return ops.Permute.apply(self, axes=tuple(axes))

    def flatten(self, start_axis=0):
        return functional.flatten(self, start_axis)

    def squeeze(self, axis=None):
        return functional.squeeze(self, axis)

    def unsqueeze(self, axis):
        return functional.unsqueeze(self, axis)

    def broadcast_to(self, shape):
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def __getitem__(self, index):
        return ops.Index.apply(self, index=_normalize_index(index, self))


def _new_tensor(data, requires_grad, cls=None):
    tensor = object.__new__(cls or Tensor)
    tensor.data = data
    tensor.grad = None
    tensor.requires_grad = requires_grad
    tensor._ctx = None
    tensor._hooks = None
    tensor.name = None
    return tensor


class HookHandle:
    """Returned by ``register_hook``: ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        HookHandle._next_id += 1
        self.id = HookHandle._next_id
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _to_array(data, dtype, backend_choice, device):
    if isinstance(data, Tensor):
        data = data.data
    # exact types: NumPy scalars subclass float but are arrays with a dtype to keep
    if type(data) in (bool, int, float, complex) or isinstance(data, (list, tuple)):
        xp = backend.get_namespace(backend_choice)
        return backend.from_python(data, xp, dtype, device)
    source_xp = backend.namespace_of(data)
    xp = source_xp if backend_choice is None else backend.get_namespace(backend_choice)
    array = backend.move(data, xp, device)
    array = xp.asarray(array)  # no copy for arrays; NumPy scalars become 0-d arrays
    if dtype is not None:
        array = xp.astype(array, backend.resolve_dtype(xp, dtype))
    return array


# ------------------------------------------------------------ the backward pass
def unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum ``grad`` over the axes that broadcasting added or stretched.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward
    pass, every copy of an element contributed, so dL/dx sums over the copies.
    """
    if grad.shape == shape:
        return grad
    axes = derivatives.unbroadcast_axes(grad.shape, shape)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def count_consumers(roots) -> dict:
    """For every tensor behind ``roots`` that needs a gradient: how many graph
    edges lead into it (how many gradient contributions it will receive).

    An iterative walk (no recursion, so a 100,000-op chain is fine).
    """
    counts = {}
    seen = {id(root) for root in roots}
    stack = list(roots)
    while stack:
        fn = stack.pop()._ctx
        if fn is None or fn.parents is None:
            continue
        for parent, needs in zip(fn.parents, fn.needs_input_grad):
            if needs:
                key = id(parent)
                counts[key] = counts.get(key, 0) + 1
                if key not in seen:
                    seen.add(key)
                    stack.append(parent)
    return counts


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None):
    """The chain rule over the whole graph, latest operation first.

    Every recorded node carries a ``sequence`` number in creation order, and
    a tensor is always created after its inputs. Taking the pending node with
    the largest number next (a heap) therefore handles a node only after
    every node computed from it has passed its gradient back, so its gradient
    is complete: ``dL/dx = sum over consumers of their contribution``. One
    walk, no separate pass to count consumers.

    A leaf's first gradient goes straight to an empty ``.grad``; later ones,
    and every gradient of a leaf with hooks, are summed over the whole pass
    and land in ``.grad`` (after the leaf's hooks) at the end. With
    ``create_graph`` the gradients are Tensors and every step is recorded;
    otherwise they travel as raw arrays (see ``derivatives.py``) and become
    Tensors only where they land: in ``.grad``, in hooks, in results.

    With ``inputs`` (a list of tensors) the gradients with respect to them are
    returned and no ``.grad`` is touched.
    """
    recording = create_graph
    pending = {}  # non-leaf tensor -> gradient received so far
    leaf_grads = {}  # leaf tensor -> gradient received so far
    queue = []  # heap of (-sequence, tensor): the latest-created pending node on top
    for root, grad in zip(roots, root_grads):
        grad = _initial_grad(root, grad)
        _send(root, grad if recording else grad.data, pending, leaf_grads, queue)
    wanted = None if inputs is None else {id(t) for t in inputs}
    plain = wanted is None and not recording  # leaf gradients may go straight to .grad
    last_write = _GradMode.last_write
    captured = {}
    tracer, anomaly = _GradMode.tracer, _GradMode.anomaly
    vocabulary = _array_rules if not recording else _tensor_rules
    rule_type = rule_ops = None  # the array type whose vocabulary rule_ops is
    previous_mode = _GradMode.enabled
    _GradMode.enabled = recording
    try:
        while queue:
            node = heappop(queue)[1]
            grad = pending.pop(node)
            if node._hooks:
                grad = _run_hooks(node, grad, recording)
            if wanted is not None and id(node) in wanted:
                captured[id(node)] = grad
            fn = node._ctx
            parents = fn.parents
            if fn.sequence < last_write:  # recorded before an in-place step: were its inputs hit?
                _check_inputs_unchanged(fn)
            if parents is None:
                raise RuntimeError(
                    "trying to backward through the graph a second time: its saved "
                    "values were freed by the first backward(); pass retain_graph=True "
                    "to the first call if you need to do this"
                )
            if fn.array_rules:  # the common case, inlined: pick the rule vocabulary
                if type(node.data) is not rule_type:  # usually one array type per pass
                    rule_type = type(node.data)
                    rule_ops = vocabulary.get(rule_type)
                    if rule_ops is None:
                        rule_ops = vocabulary[rule_type] = derivatives.namespace(node.xp, recording)
                fn.F = rule_ops
                parent_grads = fn.backward(grad)
            else:
                parent_grads = _apply_rule(fn, node, grad, recording)
            if tracer is not None:
                tracer.record(fn, _as_tensor(grad), [_as_tensor(g) for g in parent_grads])
            for parent, needs, parent_grad in zip(parents, fn.needs_input_grad, parent_grads):
                if not needs or parent_grad is None:
                    continue
                data, target = (parent_grad.data if recording else parent_grad), parent.data
                if data.shape != target.shape or (
                    data.dtype is not target.dtype and data.dtype != target.dtype
                ):
                    parent_grad = _fit(fn, parent, parent_grad, recording)
                if anomaly is not None:
                    anomaly.check_backward(fn, _as_tensor(grad), _as_tensor(parent_grad))
                if parent._ctx is None:
                    if (
                        plain
                        and parent.grad is None
                        and not parent._hooks
                        and type(parent_grad) is type(parent.data)
                    ):  # a leaf's first gradient, no hooks to see the total: straight to .grad
                        parent.grad = _new_tensor(parent_grad, False)
                        continue
                    earlier = leaf_grads.get(parent)
                    leaf_grads[parent] = parent_grad if earlier is None else earlier + parent_grad
                else:
                    earlier = pending.get(parent)
                    if earlier is None:
                        pending[parent] = parent_grad
                        heappush(queue, (-parent._ctx.sequence, parent))
                    else:
                        pending[parent] = earlier + parent_grad
            if not retain_graph:
                fn.parents = fn.inputs = None
            elif "F" in fn.__dict__:
                del fn.F  # the graph stays: a rule called later by hand sees Tensors again
        for leaf, grad in leaf_grads.items():
            if leaf._hooks:
                grad = _run_hooks(leaf, grad, recording)
            if wanted is None:
                _accumulate(leaf, grad, recording)
            elif id(leaf) in wanted:
                captured[id(leaf)] = grad
    finally:
        _GradMode.enabled = previous_mode
    if wanted is None:
        return None
    return [_as_tensor(captured.get(id(t)), t) for t in inputs]


def mark_written_in_place(tensors) -> None:
    """Record that the arrays of ``tensors`` were just overwritten in place (a step).

    Every node keeps the arrays of its inputs. A node created before this
    moment that holds such an array (through the tensor itself or another tensor
    sharing the array: ``tensor.detach()``, ``Tensor(tensor)``) now holds
    changed values, so a backward pass through it would mix old and new
    numbers: ``run_backward`` checks nodes older than the latest write and
    raises instead. (A view of part of the array is not tracked.)
    """
    mark = next(_sequence)
    for tensor in tensors:
        _written_arrays[id(tensor.data)] = mark
    _GradMode.last_write = mark


# id(array) -> the sequence number of its latest in-place write. An id reused by
# a later array can only meet nodes created after that array, all newer than the mark.
_written_arrays: dict = {}


def _check_inputs_unchanged(fn):
    for array in fn.inputs or ():
        if _written_arrays.get(id(array), 0) > fn.sequence:
            shape = tuple(getattr(array, "shape", ()))
            raise RuntimeError(
                f"an input of shape {shape} that {fn.name} used in the forward pass was "
                "modified in place afterwards (by optimizer.step()), so this graph's saved "
                "values are stale; compute the forward pass again after the step"
            )


def _send(tensor, grad, pending, leaf_grads, queue):
    """Hand a root's gradient to the walk (what the loop does for every edge)."""
    if tensor._ctx is None:
        earlier = leaf_grads.get(tensor)
        leaf_grads[tensor] = grad if earlier is None else earlier + grad
    elif tensor in pending:
        pending[tensor] = pending[tensor] + grad
    else:
        pending[tensor] = grad
        heappush(queue, (-tensor._ctx.sequence, tensor))


_array_rules: dict = {}  # array type -> ArrayOps: the rule vocabulary of a plain pass
_tensor_rules: dict = {}  # array type -> TensorOps: the vocabulary under create_graph
heappop, heappush = heapq.heappop, heapq.heappush


def _apply_rule(fn, node, grad, recording):
    """Run a Tensor-only rule (a user's op): on Tensors, unwrapped again when not recording."""
    fn.F = derivatives.namespace(node.xp, True)
    if recording:
        return fn.backward(grad)
    parent_grads = fn.backward(_new_tensor(grad, False))
    return [None if g is None else g.data for g in parent_grads]


def _fit(fn, parent, grad, recording):
    """Undo broadcasting and cast to the parent's dtype (the engine's one place for both)."""
    data = grad.data if recording else grad
    target = parent.data
    if data.shape != target.shape:
        tracer = _GradMode.tracer
        summed_from = tuple(data.shape)
        grad = fn.F.unbroadcast(grad, tuple(target.shape))
        if tracer is not None:
            tracer.record_unbroadcast(fn, summed_from, tuple(target.shape))
        data = grad.data if recording else grad
    if data.dtype is not target.dtype and data.dtype != target.dtype:
        grad = fn.F.astype(grad, target.dtype)
    return grad


def _as_tensor(grad, like=None):
    """A gradient as a Tensor (raw arrays are wrapped; NumPy scalars become 0-d arrays)."""
    if grad is None or isinstance(grad, Tensor):
        return grad
    if like is not None and type(grad) is type(like.data):
        return _new_tensor(grad, False)
    return _new_tensor(backend.namespace_of(grad).asarray(grad), False)


def _run_hooks(node, grad, recording):
    grad = _as_tensor(grad, node)
    for hook in list(node._hooks.values()):
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad if recording else grad.data


def _accumulate(leaf, grad, recording):
    if leaf.grad is None and type(grad) is type(leaf.data):  # the common case: a fresh array
        leaf.grad = _new_tensor(grad, False)
        return
    grad = _as_tensor(grad, leaf)
    if leaf.grad is None:
        leaf.grad = grad
    elif recording:
        leaf.grad = leaf.grad + grad
    else:
        leaf.grad = _as_tensor(leaf.grad.data + grad.data, leaf)


def _initial_grad(root: Tensor, grad) -> Tensor:
    if grad is None:
        if root.data.ndim and root.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar output, but the output "
                f"has shape {root.shape}: pass gradient= (dL/d output) or reduce it first"
            )
        data = root.data
        xp = _namespace_of_type.get(type(data)) or root.xp
        if data.ndim:
            return _new_tensor(xp.ones_like(data), False)
        # a scalar loss, the usual root: asarray is one C call where ones_like is several
        return _new_tensor(xp.asarray(1, dtype=data.dtype, device=backend.device_of(data)), False)
    if not isinstance(grad, Tensor):
        grad = Tensor(grad, dtype=root.dtype, backend=root.xp)
    if grad.shape != root.shape:
        raise ValueError(f"gradient has shape {grad.shape} but the output has shape {root.shape}")
    return grad


# ------------------------------------------------------------ helpers
def _operand(value, allow_scalar=True):
    """Tensors and Python numbers pass through; arrays become constant Tensors."""
    if isinstance(value, (Tensor, int, float)):  # bool is an int
        if allow_scalar or isinstance(value, Tensor):
            return value
        raise TypeError("matmul needs tensors, not Python scalars")
    return Tensor(value)


def _compare(tensor, other, compare):
    other = _operand(other)
    if isinstance(other, Tensor):
        _unwrap((tensor, other))
        other = other.data
    result = compare(tensor.data, other)
    if type(result) is not type(tensor.data):
        result = tensor.xp.asarray(result)  # NumPy turns 0-d results into scalars
    return Tensor._wrap(result)


def normalize_axes(axis, ndim: int) -> tuple:
    """``None | int | tuple`` (negatives allowed) as a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    bound = max(ndim, 1)  # like NumPy and PyTorch, a 0-d tensor accepts axis 0 and -1
    for a in axes:
        if not -bound <= a < bound:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    normalized = tuple(a % bound for a in axes) if ndim else ()
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return normalized


def _normalize_index(index, tensor):
    """Turn Tensors and lists inside an index into backend arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    xp = tensor.xp
    normalized = []
    for part in parts:
        if isinstance(part, Tensor):
            if part.backend != tensor.backend:
                _raise_mixed((tensor, part))
            part = part.data
        elif isinstance(part, list):
            part = xp.asarray(part, device=tensor.device)
        normalized.append(part)
    consumed = sum(
        getattr(part, "ndim", 1) if getattr(part, "dtype", None) == xp.bool else 1
        for part in normalized
        if part is not None and part is not Ellipsis
    )
    if consumed < tensor.ndim and not any(part is Ellipsis for part in normalized):
        normalized.append(Ellipsis)  # the standard wants the untouched trailing axes explicit
    return tuple(normalized)


from . import functional, ops  # noqa: E402  (the ops need Tensor and Function above)
