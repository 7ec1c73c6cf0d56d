"""tinygrad_edu: a small, readable reverse-mode autodiff library over any Array-API backend.

>>> import tinygrad_edu as tg
>>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

from . import data, func, inspect, nn, optim, train  # noqa: E402  (subpackages use the names above)
from .autograd import enable_grad, grad, is_grad_enabled, no_grad
from .backend import (
    available_backends as backends,
)
from .backend import (
    default_backend,
    get_default_backend,
    get_default_dtype,
    manual_seed,
    set_default_backend,
    set_default_dtype,
)
from .creation import arange, eye, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .function import Function
from .functional import (
    concat,
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    logsumexp,
    maximum,
    minimum,
    relu,
    sigmoid,
    softmax,
    softplus,
    stack,
    tanh,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .inspect import AnomalyError, detect_anomaly, graph, trace_backward
from .serialization import load, load_metadata, save
from .tensor import Tensor

__version__ = "0.1.0"

float32 = "float32"
float64 = "float64"
int64 = "int64"
int32 = "int32"
bool_ = "bool"

__all__ = [
    # tensors and creation
    "Tensor",
    "Function",
    "tensor",
    "zeros",
    "ones",
    "full",
    "eye",
    "arange",
    "zeros_like",
    "ones_like",
    "randn",
    "rand",
    "manual_seed",
    # backends and defaults
    "backends",
    "default_backend",
    "get_default_backend",
    "set_default_backend",
    "get_default_dtype",
    "set_default_dtype",
    # differentiable functions
    "concat",
    "stack",
    "where",
    "maximum",
    "minimum",
    "softmax",
    "log_softmax",
    "logsumexp",
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "leaky_relu",
    "elu",
    "gelu",
    # autodiff
    "grad",
    "gradcheck",
    "GradcheckError",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "graph",
    "trace_backward",
    "detect_anomaly",
    "AnomalyError",
    # saving
    "save",
    "load",
    "load_metadata",
    # subpackages
    "data",
    "func",
    "inspect",
    "nn",
    "optim",
    "train",
    # dtype names
    "float32",
    "float64",
    "int32",
    "int64",
    "bool_",
]
