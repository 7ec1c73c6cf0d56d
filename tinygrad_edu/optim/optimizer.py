"""The Optimizer base class: parameter groups, per-parameter state, checkpoints.

An optimizer holds ``param_groups`` (a list of dicts: ``"params"`` plus the
hyperparameters, ``"lr"`` among them) and ``state`` (a dict from parameter to
its own dict: step counts and moment arrays). A concrete optimizer writes one
method, ``delta(param, grad, state, group)``, which returns the step of the
rule ``theta <- theta - delta``; ``step`` calls it for every parameter that
has a gradient and applies it.

Updates work on raw backend arrays (``param.data``, ``param.grad.data``).
For an ``nn.Parameter`` (which owns its array: it copies what it is given)
on a backend with mutable arrays (NumPy, CuPy, PyTorch, array-api-strict),
``theta -= delta`` happens in place: no new parameter-sized array each step.
Elsewhere ``param.data`` is rebound to ``theta - delta``: on JAX and Dask,
whose arrays are immutable, and for plain tensors, whose array may be the
caller's own NumPy array. Like PyTorch, an in-place step changes the arrays
that ``model.state_dict()`` shares, and a graph recorded before the step
cannot be back-propagated after it (the engine raises instead of mixing old
and new values). Gradients and the optimizer's own state arrays are never
written in place: the engine may share gradient arrays between tensors, and
``state_dict()`` hands out the state arrays without copying them.

Checkpoints: ``state_dict()`` gives ``{"state": {index: {...}}, "param_groups":
[...]}`` like PyTorch (parameters numbered in group order). Safetensors files
hold only name -> array plus str -> str metadata, so ``flat_state()`` splits
that dict into named Tensors and one JSON string::

    tensors, metadata = optimizer.flat_state()
    tensors_on_disk = {name: t.numpy() for name, t in tensors.items()}  # or save them
    optimizer.load_flat_state(tensors_on_disk, metadata)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from .. import backend
from ..autograd import enable_grad, mark_written_in_place, no_grad
from ..nn.module import Parameter
from ..tensor import Tensor

_ARRAY_REFERENCE = "__array__"


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses write ``update``.

    Parameters
    ----------
    params : iterable of Tensors, or iterable of dicts
        The tensors to optimize (``module.parameters()``), or parameter groups:
        dicts with ``"params"`` and any hyperparameters that override
        ``defaults`` for that group.
    defaults : dict
        The hyperparameters every group gets unless it sets its own.

    Notes
    -----
    A hyperparameter given as a 0-d Tensor or array (``lr=tg.tensor(0.1)``,
    as torch accepts) is read once, here, as the Python number it holds; an
    array of any other shape is refused. Unlike torch, later in-place changes
    of that tensor do not reach the optimizer: set ``group["lr"]`` instead.
    """

    # each parameter's state arrays have its shape (moments, buffers) or are 0-d (counts);
    # False for optimizers that keep flat vectors of all parameters (LBFGS)
    state_like_params = True

    def __init__(self, params: Iterable, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                "params must be an iterable of Tensors or of dicts, got a single Tensor; "
                "wrap it in a list"
            )
        self.defaults = {key: python_number(key, value) for key, value in defaults.items()}
        self._scalars: dict = {}  # see scalar()
        self.param_groups: list[dict] = []
        self.state: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("cannot optimize a non-leaf Tensor (one computed from others)")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen & set(ids):
            raise ValueError("some parameters appear more than once in the parameter groups")
        given = {k: python_number(k, v) for k, v in param_group.items() if k != "params"}
        group = {**self.defaults, **given, "params": params}
        self.param_groups.append(group)

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``.grad = None`` (new zero arrays if not ``set_to_none``)."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad = Tensor._wrap(param.xp.zeros_like(param.grad.data))

    def step(self, closure: Callable | None = None):
        """Update every parameter whose ``.grad`` is not None; return the closure's loss.

        ``closure`` (optional) re-evaluates the loss with gradients enabled and
        calls ``backward`` itself; the update then uses the fresh gradients.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        written = []  # parameters updated in place, for the engine's stale-graph check
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        state = self.state.get(param)
                        if state is None:
                            state = self.state[param] = {}
                        if apply_step(param, self.delta(param, param.grad.data, state, group)):
                            written.append(param)
        if written:
            mark_written_in_place(written)
        return loss

    def scalar(self, value: float, like):
        """``value`` as a 0-d array of ``like``'s dtype, backend and device (remembered).

        NumPy 2 multiplies a small array by a 0-d array of its own dtype about
        twice as fast as by a Python float (which goes through its promotion
        rules for Python scalars each time); an update rule writes ``lr * grad``
        as ``self.scalar(lr, grad) * grad``.
        """
        device = backend.device_of(like)
        key = (value, type(like), like.dtype, device)  # type first: strict dtypes warn vs NumPy's
        array = self._scalars.get(key)
        if array is None:
            if len(self._scalars) > 64:  # a schedule makes a new rate every step: stay small
                self._scalars.clear()
            xp = backend.namespace_of(like)
            array = self._scalars[key] = xp.asarray(value, dtype=like.dtype, device=device)
        return array

    def delta(self, param: Tensor, grad, state: dict, group: dict):
        """The step ``delta`` (``theta <- theta - delta``) for ``param``; may update ``state``."""
        raise NotImplementedError(f"{type(self).__name__} does not define delta()")

    # ------------------------------------------------------------ checkpoints
    def _indexed_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered in group order. Dicts and lists are copied;
        arrays are shared (the optimizer never writes into them).
        """
        index_of = {id(p): i for i, p in enumerate(self._indexed_params())}
        groups = []
        for group in self.param_groups:
            packed = _copy_containers(group)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: _copy_containers(s) for p, s in self.state.items() if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state from ``state_dict()`` of a like optimizer.

        State arrays (backend arrays, NumPy arrays or Tensors) are copied onto
        each parameter's backend and device, floating ones in its dtype.
        Nothing changes if the groups do not match.
        """
        self.state, self.param_groups = self.checked_state_dict(state_dict)

    def checked_state_dict(self, state_dict: dict) -> tuple[dict, list]:
        """Every check of ``load_state_dict``, returning ``(state, param_groups)`` unassigned.

        Beyond the layout (groups, parameter counts, indices), each saved
        hyperparameter must have the type of this optimizer's own, and (when
        ``state_like_params``) each state array of more than 0 dimensions the
        shape of its parameter.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {number} has {len(saved['params'])} parameters in the "
                    f"state dict but {len(group['params'])} here"
                )
        params = self._indexed_params()
        saved_order = [i for saved in saved_groups for i in saved["params"]]
        param_of = dict(zip(saved_order, params, strict=True))
        unknown = sorted(set(state_dict["state"]) - set(param_of), key=str)
        if unknown:
            raise KeyError(f"state dict has state for unknown parameter indices {unknown}")
        if self.state_like_params:
            for index, values in state_dict["state"].items():
                _check_state_shapes(index, values, param_of[index])
        new_state = {
            param_of[index]: _restore(values, param_of[index])
            for index, values in state_dict["state"].items()
        }
        new_groups = []
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            hyper = {k: python_number(k, v) for k, v in saved.items() if k != "params"}
            _check_like_hyperparameters(number, hyper, group, self.defaults)
            new_groups.append({**hyper, "params": group["params"]})
        return new_state, new_groups

    def flat_state(self, prefix: str = "optimizer.") -> tuple[dict, dict]:
        """``state_dict()`` as ``(tensors, metadata)`` for a safetensors file.

        ``tensors`` maps ``prefix + "state.<index>.<key>[.<position>]"`` to a
        Tensor; ``metadata`` maps ``prefix + "layout"`` to a JSON string of the
        rest of the state dict, each array replaced by ``{"__array__": name}``.
        """
        tensors: dict = {}

        def encode(value, name):
            if _is_array(value):
                # asarray: the state of a 0-d NumPy parameter holds NumPy scalars
                tensors[name] = Tensor._wrap(backend.namespace_of(value).asarray(value))
                return {_ARRAY_REFERENCE: name}
            if isinstance(value, dict):
                return {str(key): encode(item, f"{name}.{key}") for key, item in value.items()}
            if isinstance(value, (list, tuple)):
                return [encode(item, f"{name}.{i}") for i, item in enumerate(value)]
            return value

        layout = encode(self.state_dict(), prefix.rstrip("."))
        return tensors, {prefix + "layout": json.dumps(layout)}

    def load_flat_state(self, tensors: dict, metadata: dict, prefix: str = "optimizer.") -> None:
        """Inverse of ``flat_state``: ``tensors`` may hold Tensors or arrays, and other entries."""
        self.state, self.param_groups = self.checked_flat_state(tensors, metadata, prefix)

    def checked_flat_state(
        self, tensors: dict, metadata: dict, prefix: str = "optimizer."
    ) -> tuple[dict, list]:
        """Every check of ``load_flat_state``: ``(state, param_groups)``, nothing assigned.

        Raises ValueError (or KeyError for a missing entry) on a layout that
        is not JSON or not shaped like ``state_dict()``.
        """
        key = prefix + "layout"
        if key not in metadata:
            raise KeyError(f"metadata has no {key!r}: not written by flat_state(prefix={prefix!r})")
        try:
            layout = json.loads(metadata[key])
        except (TypeError, json.JSONDecodeError, RecursionError) as err:
            raise ValueError(f"the optimizer layout {key!r} is not readable JSON: {err}") from None
        if (
            not isinstance(layout, dict)
            or not isinstance(layout.get("state"), dict)
            or not isinstance(layout.get("param_groups"), list)
            or not all(
                isinstance(g, dict) and isinstance(g.get("params"), list)
                for g in layout["param_groups"]
            )
        ):
            raise ValueError(f"the optimizer layout {key!r} is not shaped like state_dict()")

        def decode(value):
            if isinstance(value, dict) and set(value) == {_ARRAY_REFERENCE}:
                name = value[_ARRAY_REFERENCE]
                if name not in tensors:
                    raise KeyError(f"optimizer state array {name!r} is missing from the tensors")
                return tensors[name]
            if isinstance(value, dict):
                return {key: decode(item) for key, item in value.items()}
            if isinstance(value, list):
                return [decode(item) for item in value]
            return value

        try:
            state = {int(index): decode(values) for index, values in layout["state"].items()}
        except ValueError:
            raise ValueError(f"the optimizer layout {key!r} has a non-integer index") from None
        return self.checked_state_dict({"state": state, "param_groups": layout["param_groups"]})


def check_hyperparameter(name: str, value: float, low: float = 0.0, high: float | None = None):
    """Raise ``ValueError`` unless ``low <= value`` (and ``value < high`` when given).

    ``value`` may be a 0-d Tensor or array (see ``python_number``).
    """
    value = python_number(name, value)
    if not low <= value or (high is not None and not value < high):
        interval = f"[{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"invalid {name}: {value} (must be {interval})")


def _check_state_shapes(index, values, param: Tensor) -> None:
    """Per-parameter state: a dict whose arrays are 0-d or shaped like ``param``."""
    if not isinstance(values, dict):
        raise ValueError(f"the state of parameter {index} is not a dict")
    for key, value in values.items():
        array = value.data if isinstance(value, Tensor) else value
        if _is_array(array) and array.ndim > 0 and tuple(array.shape) != param.shape:
            raise ValueError(
                f"the state {key!r} of parameter {index} has shape {tuple(array.shape)}, "
                f"the parameter has {param.shape}"
            )


def _check_like_hyperparameters(number: int, saved: dict, group: dict, defaults: dict) -> None:
    """Saved hyperparameters: every name in ``defaults`` (others, like a schedule's
    ``initial_lr``, may be added), each holding the same kind of value as in ``group``."""
    missing = sorted(set(defaults) - set(saved))
    if missing:
        raise ValueError(f"parameter group {number}: saved hyperparameters lack {missing}")
    for key in set(saved) & set(group) - {"params"}:
        if _kind_of(saved[key]) != _kind_of(group[key]) and None not in (saved[key], group[key]):
            raise ValueError(
                f"parameter group {number}: hyperparameter {key!r} is {saved[key]!r}, "
                f"expected a value like {group[key]!r}"
            )


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "sequence of " + ",".join(_kind_of(item) for item in value)
    return type(value).__name__


def python_number(name: str, value):
    """A 0-d Tensor or array as the Python number it holds; other values as they are.

    Tuples and lists (``betas``) are converted entry by entry. Kept as a
    Tensor, a rate would turn every update ``lr * grad`` into an array of
    Tensor objects; an array of another shape is refused with a ValueError.
    """
    if isinstance(value, (list, tuple)):
        return type(value)(python_number(name, item) for item in value)
    if isinstance(value, Tensor):
        value = value.data
    if not _is_array(value):
        return value
    if tuple(value.shape) != ():
        raise ValueError(
            f"invalid {name}: expected a number or a 0-d Tensor/array, got shape "
            f"{tuple(value.shape)}"
        )
    number = backend.to_numpy(value).item()
    if isinstance(number, complex):
        raise ValueError(f"invalid {name}: expected a real number, got {number}")
    return number


def apply_step(param: Tensor, delta) -> bool:
    """``theta <- theta - delta``: in place where that is safe, else a new array.

    In place needs an ``nn.Parameter`` (its array is its own) on a backend
    with mutable arrays, and a ``delta`` that the array can take in place
    (the backend refuses a read-only array, a broadcast that would grow it or
    a dtype it cannot hold: then the result is rebound as a new array).
    Returns True when it wrote in place: the caller then tells the engine
    (``mark_written_in_place``) so that an older graph cannot use the new values.
    """
    theta = param.data
    if isinstance(param, Parameter) and backend.is_mutable_type(type(theta)):
        updated = theta
        try:
            updated -= delta
        except (TypeError, ValueError, RuntimeError):
            pass
        else:
            if updated is theta:  # in place (a NumPy scalar, say, makes a new object instead)
                return True
    param.data = keep_array_type(theta - delta, theta)
    return False


def keep_array_type(new, old):
    """``new`` as an array of ``old``'s type: NumPy turns 0-d results into scalars."""
    return new if type(new) is type(old) else backend.namespace_of(old).asarray(new)


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, Tensor)


def _copy_containers(value):
    """Copy dicts, lists and tuples recursively; keep arrays and scalars as they are."""
    if isinstance(value, dict):
        return {key: _copy_containers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_containers(item) for item in value)
    return value


def _restore(value, param: Tensor):
    """Copies of the state arrays in ``value``, on ``param``'s backend and device."""
    if isinstance(value, Tensor):
        value = value.data
    if _is_array(value):
        xp = param.xp
        moved = backend.move(value, xp, param.device)
        dtype = param.dtype if backend.is_floating(xp, moved.dtype) else moved.dtype
        return xp.astype(moved, dtype, copy=True)
    if isinstance(value, dict):
        return {key: _restore(item, param) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_restore(item, param) for item in value)
    return value
