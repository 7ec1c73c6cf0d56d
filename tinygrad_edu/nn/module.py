"""``Module`` and ``Parameter``: the containers that layers and models are made of.

A ``Module`` notices what is assigned to its attributes:

* an ``nn.Parameter`` (a Tensor that wants a gradient) is registered as a
  parameter, found by ``parameters()`` and saved by ``state_dict()``;
* another ``Module`` is registered as a child, so its parameters are found too,
  under dotted names (``layers.1.bias``);
* tensors registered with ``register_buffer`` (running statistics, say) are
  saved and moved with the module but get no gradient.

Modules never write into a parameter's array: loading, moving and
initialisation rebind ``.data``, which is safe on every backend (JAX arrays,
for one, cannot be written in place). Optimizers do update parameters in
place where the backend allows it (see ``optim/optimizer.py``), like PyTorch.
"""

from __future__ import annotations

from collections import namedtuple

from .. import backend as backends
from ..tensor import HookHandle, Tensor


class Parameter(Tensor):
    """A Tensor that a ``Module`` registers as learnable (``requires_grad=True``).

    Parameters
    ----------
    data : Tensor, array or Python data
        The initial values (see ``Tensor``), copied; a Tensor's graph is not kept.
    requires_grad : bool
        False freezes the parameter (the optimizer then skips it).

    Examples
    --------
    >>> import tinygrad_edu as tg
    >>> from tinygrad_edu import nn
    >>> w = nn.Parameter(tg.zeros(3, 2))
    >>> w.requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)
        # A copy: the parameter owns its array, so optimizers may update it in place
        # without touching the caller's array (see optim/optimizer.py).
        self.data = self.xp.asarray(self.data, copy=True)

    def __repr__(self) -> str:
        return (
            f"Parameter({self.numpy()!r}, backend={self.backend}, "
            f"requires_grad={self.requires_grad})"
        )


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and models: override ``forward`` and call ``super().__init__()``.

    Examples
    --------
    >>> from tinygrad_edu import nn
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(2, 8)
    ...         self.out = nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> [name for name, _ in MLP().named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "training", True)
        # Bumped by every change of what the module holds or runs (a parameter, buffer or
        # submodule registered, replaced or deleted; a forward hook added or removed):
        # tg.compile reads it to see that a captured step no longer fits.
        object.__setattr__(self, "_changes", 0)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            _check_name(name)
            self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            _check_name(name)
            self._forget(name)
            self._modules[name] = value
        elif name in self.__dict__.get("_parameters", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter {name!r}: wrap it "
                    "in nn.Parameter, assign None, or rebind the parameter's .data"
                )
            self._parameters[name] = None
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r}")
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            _check_type("buffer", name, value, Tensor)
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: look in the registries
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._count_change()
                return
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every registry and the instance dict (before re-registering)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot register {name!r} before Module.__init__() ran: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self.__dict__.pop(name, None)
        self._count_change()

    def _count_change(self) -> None:
        self.__dict__["_changes"] += 1  # (see __init__)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an absent optional parameter such as a bias)."""
        _check_type("parameter", name, param, Parameter)
        _check_name(name)
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Register a tensor that is saved and moved with the module but not learned.

        Example: BatchNorm's running mean and variance.
        """
        _check_type("buffer", name, tensor, Tensor)
        _check_name(name)
        self._forget(name)
        self._buffers[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child called ``name``."""
        _check_type("submodule", name, module, Module)
        _check_name(name)
        self._forget(name)
        self._modules[name] = module

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = ""):
        """Yield ``(dotted_name, module)`` for this module (named ``prefix``) and its descendants.

        A module reachable along two paths comes once, under its first name.
        """
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self):
        """This module and every descendant."""
        return (module for _, module in self.named_modules())

    def named_children(self):
        """Yield ``(name, module)`` for the direct children."""
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self):
        return (module for _, module in self.named_children())

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted_name, Parameter)``; a parameter shared by two layers comes once."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        """Every parameter, once (what an optimizer takes)."""
        return (param for _, param in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted_name, Tensor)`` for every registered buffer."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        return (buffer for _, buffer in self.named_buffers(recurse=recurse))

    def _named_members(self, registry: str, prefix: str, recurse: bool):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for name, member in getattr(module, registry).items():
                if member is None or id(member) in seen:
                    continue
                seen.add(id(member))
                yield (f"{module_name}.{name}" if module_name else name), member

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every descendant and then on this module (e.g. custom init)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ training state
    def train(self, mode: bool = True) -> Module:
        """Set the ``training`` flag here and in every descendant (Dropout, BatchNorm read it)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``, like PyTorch's default)."""
        for param in self.parameters():
            param.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """``{dotted_name: Tensor}`` of every parameter and buffer, in registration order.

        The tensors are detached and share memory with the module's (as in
        PyTorch); the module rebinds rather than overwrites its arrays, but an
        optimizer may update in place, so copy what you want to keep as a snapshot.
        """
        return {name: tensor.detach() for name, tensor in self._named_state_tensors().items()}

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, all or nothing.

        Parameters
        ----------
        state_dict : dict
            ``{dotted_name: Tensor or array}`` of any backend; values are moved
            to each parameter's backend and device and copied.
        strict : bool
            Missing or unexpected keys raise ``KeyError`` naming them. With
            ``strict=False`` they are skipped and reported in the result.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``, two sorted lists.

        Raises
        ------
        KeyError
            (strict) keys missing from or not expected in ``state_dict``.
        ValueError
            a value whose shape or dtype differs from its target's, naming the key.

        Every check runs before anything is assigned, so on any error the module
        is unchanged.
        """
        new_arrays, missing, unexpected = self.checked_state_dict(state_dict, strict)
        for target, array in new_arrays:
            target.data = array
        return IncompatibleKeys(missing, unexpected)

    def checked_state_dict(self, state_dict: dict, strict: bool = True):
        """Every check of ``load_state_dict`` without assigning anything.

        Returns ``(pairs, missing_keys, unexpected_keys)``, ``pairs`` being
        ``(registered Tensor, new array)``: a caller that loads several
        things at once (a checkpoint) checks them all before changing any.
        """
        targets = self._named_state_tensors()
        missing = sorted(set(targets) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(targets))
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"missing keys {missing}")
            if unexpected:
                problems.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict into {type(self).__name__}: {'; '.join(problems)}")
        new_arrays = []
        for key, target in targets.items():
            if key in state_dict:
                new_arrays.append((target, _checked_array(key, state_dict[key], target)))
        return new_arrays, missing, unexpected

    def _named_state_tensors(self) -> dict:
        """``{dotted_name: the registered Tensor itself}`` (what ``state_dict`` detaches)."""
        tensors = {}
        for module_name, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, tensor in registry.items():
                    if tensor is not None:
                        tensors[f"{module_name}.{name}" if module_name else name] = tensor
        return tensors

    def to(self, backend=None, device=None, dtype=None) -> Module:
        """Move every parameter and buffer (and gradient) in place; returns ``self``.

        ``backend`` is a name or namespace, ``device`` a device of it;
        ``dtype`` converts the floating-point tensors only (integer buffers such
        as a step counter keep theirs). The Parameter objects stay the same, so
        an optimizer built before the move still holds them.
        """
        xp = None if backend is None else backends.get_namespace(backend)
        for tensor in self._named_state_tensors().values():
            tensor.data = _moved(tensor.data, xp, device, dtype)
            if tensor.grad is not None:
                tensor.grad = Tensor(_moved(tensor.grad.data, xp, device, dtype))
        return self

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward pass.

        ``inputs`` is the tuple of positional arguments. A hook that returns
        something other than None replaces the output. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        self._count_change()
        return _ForwardHookHandle(self, hook)

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        if not self._forward_hooks:
            return output
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of ``repr`` (the layer's settings)."""
        return ""

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, child in self._modules.items():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_text}")
        if not self._modules:
            return f"{type(self).__name__}({''.join(lines)})"
        body = "\n  ".join(lines)
        return f"{type(self).__name__}(\n  {body}\n)"


def _check_name(name: str) -> None:
    """Refuse names that dotted paths cannot hold (KeyError and TypeError, as torch).

    ``setattr(module, "a.bias", p)`` beside a submodule ``a`` would list
    ``a.bias`` twice, and the state dict would keep only one of them.
    """
    if not isinstance(name, str):
        raise TypeError(f"a parameter, buffer or submodule name must be a str, got {name!r}")
    if not name or "." in name:
        raise KeyError(
            f"a parameter, buffer or submodule name must be non-empty and contain no '.', "
            f"got {name!r}"
        )


def _check_type(kind: str, name: str, value, expected: type) -> None:
    if value is not None and not isinstance(value, expected):
        raise TypeError(
            f"{kind} {name!r} must be a {expected.__name__} or None, got {type(value).__name__}"
        )


def _checked_array(key: str, value, target: Tensor):
    """``value`` as a fresh array on ``target``'s backend and device, or an error naming ``key``."""
    array = value.data if isinstance(value, Tensor) else value
    try:
        backends.namespace_of(array)
    except TypeError:
        raise TypeError(
            f"load_state_dict: {key!r} must be a Tensor or an array, got {type(value).__name__}"
        ) from None
    shape = tuple(array.shape)
    if shape != target.shape:
        raise ValueError(
            f"load_state_dict: {key!r} has shape {shape}, the module expects {target.shape}"
        )
    given, expected = backends.dtype_name(array.dtype), backends.dtype_name(target.dtype)
    if given != expected:
        raise ValueError(
            f"load_state_dict: {key!r} has dtype {given}, the module expects {expected} "
            "(convert with .astype or build the module with that dtype)"
        )
    xp = target.xp
    # copy: the module must not alias the caller's array (a move may share host memory)
    return xp.asarray(backends.move(array, xp, target.device), copy=True)


def _moved(array, xp, device, dtype):
    target_xp = xp or backends.namespace_of(array)
    array = backends.move(array, target_xp, device)
    if dtype is not None and backends.is_floating(target_xp, array.dtype):
        array = target_xp.astype(array, backends.resolve_dtype(target_xp, dtype))
    return array


class _ForwardHookHandle(HookHandle):
    """A forward hook's handle: ``remove()`` also counts as a change of the module."""

    def __init__(self, module, hook):
        super().__init__(module._forward_hooks, hook)
        self._module = module

    def remove(self) -> None:
        if self.id in self._hooks:
            self._module._count_change()
        super().remove()
