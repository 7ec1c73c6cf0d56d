"""Layers: ``Linear``, containers, activations, ``Flatten`` and ``Dropout``.

Parameters are created with the default float dtype on the default backend
unless the constructor is given ``dtype``, ``backend`` or ``device``. A layer
applied to an input of a wider dtype computes in that dtype (Array-API
promotion): a float32 ``Linear`` on a float64 input returns float64.
"""

from __future__ import annotations

import math

from ..creation import zeros
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """An affine map: z = x @ W + b, the lecture's z = aW + b.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the last axis of the input and of the output.
    bias : bool
        Whether to add the learnable ``b`` (otherwise ``self.bias`` is None).
    dtype, backend, device : optional
        Where the parameters live (default float dtype, default backend).

    Attributes
    ----------
    weight : Parameter of shape (in_features, out_features)
        Note: the transpose of PyTorch's ``(out, in)`` layout, so rows are
        inputs and ``x @ W`` needs no transpose. To load a PyTorch weight,
        transpose it.
    bias : Parameter of shape (out_features,) or None

    Both start as U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default
    (``kaiming_uniform_`` with a = sqrt(5) for the weight).

    Notes
    -----
    Dtypes promote as in NumPy, and nothing silently downcasts: a float64
    input (a NumPy array such as ``X / 16``) to a float32 layer computes in
    float64, and so does everything after it. To stay in float32, give
    float32 inputs: ``model(tg.tensor(X, dtype="float32"))`` or
    ``X.astype("float32")`` (``DataLoader(..., dtype="float32")`` for batches).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {size!r}")
        self.in_features = in_features
        self.out_features = out_features
        where = {"dtype": dtype, "backend": backend, "device": device}
        self.weight = Parameter(zeros(in_features, out_features, **where))
        if bias:
            self.bias = Parameter(zeros(out_features, **where))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh initial values (see the class docstring)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        parameters = self._parameters  # self.weight would go through Module.__getattr__
        return F.linear(x, parameters["weight"], parameters["bias"])

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


# ----------------------------------------------------------------- containers
class _ModuleSequence(Module):
    """Children named "0", "1", ...: indexing, slicing, ``len`` and iteration.

    Subclasses define ``_from_list(modules)``, which builds the container a
    slice returns (renumbered from "0").
    """

    def __init__(self, modules):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module):
        """Add ``module`` at the end (named ``str(len(self))``); returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._from_list(list(self._modules.values())[index])
        try:
            return list(self._modules.values())[index]
        except IndexError:
            raise IndexError(
                f"index {index} is out of range for {type(self).__name__} of length {len(self)}"
            ) from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))


class Sequential(_ModuleSequence):
    """Apply the given modules one after the other; they are named "0", "1", ...

    Examples
    --------
    >>> from tinygrad_edu import nn
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> model[0], len(model)
    (Linear(in_features=2, out_features=8, bias=True), 3)
    """

    def __init__(self, *modules: Module):
        super().__init__(modules)

    @classmethod
    def _from_list(cls, modules: list) -> Sequential:
        return cls(*modules)

    def forward(self, x):
        for module in self._modules.values():
            if module._forward_hooks or type(module).__call__ is not Module.__call__:
                x = module(x)
            else:  # what module(x) would do, minus one call: it matters for small layers
                x = module.forward(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (``forward`` is up to the owner)."""

    def __init__(self, modules=()):
        super().__init__(modules)

    @classmethod
    def _from_list(cls, modules: list) -> ModuleList:
        return cls(modules)

    def extend(self, modules) -> ModuleList:
        for module in modules:
            self.append(module)
        return self


# ----------------------------------------------------------------- activations
class Identity(Module):
    """y = x."""

    def forward(self, x):
        return x


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class GELU(Module):
    """y = x * Phi(x) (the exact form, PyTorch's default)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.gelu()


class LeakyReLU(Module):
    """y = x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """y = x for x > 0, else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return x.elu(self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softmax(Module):
    """y_i = exp(x_i) / sum_j exp(x_j) along ``axis``."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """y_i = x_i - logsumexp(x) along ``axis`` (pairs with ``nll_loss``)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(self.axis)


class Flatten(Module):
    """Merge the axes from ``start_axis`` on: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_axis: int = 1):
        super().__init__()
        self.start_axis = start_axis

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"


class Unflatten(Module):
    """Split axis ``axis`` into ``sizes``: Unflatten(1, (1, 28, 28)) maps (N, 784) to (N, 1, 28, 28)

    The inverse of ``Flatten``; one size may be -1 (inferred).
    """

    def __init__(self, axis: int, sizes):
        super().__init__()
        self.axis, self.sizes = axis, tuple(sizes)

    def forward(self, x: Tensor) -> Tensor:
        axis = self.axis % x.ndim if -x.ndim <= self.axis < x.ndim else None
        if axis is None:
            raise ValueError(f"Unflatten: axis {self.axis} is out of range for shape {x.shape}")
        return x.reshape(x.shape[:axis] + self.sizes + x.shape[axis + 1 :])

    def extra_repr(self) -> str:
        return f"axis={self.axis}, sizes={self.sizes}"


class Dropout(Module):
    """Inverted dropout with drop probability ``p`` in training, identity in eval.

    In training each entry is zeroed with probability p and the survivors are
    scaled by 1 / (1 - p) (see ``F.dropout``); the mask comes from the host
    generator, so ``tg.manual_seed`` makes it reproducible on every backend.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
