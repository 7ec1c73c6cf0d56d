"""tinygrad_edu: a small, readable reverse-mode autodiff library over any Array-API backend.

>>> import tinygrad_edu as tg
>>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

from .autograd import GradcheckError, enable_grad, grad, gradcheck, is_grad_enabled, no_grad
from .backend import (
    available_backends as backends,
    default_backend,
    get_default_backend,
    get_default_dtype,
    manual_seed,
    set_default_backend,
    set_default_dtype,
)
from .creation import arange, eye, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
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
from .tensor import Function, Tensor
from . import data, func, inspect, nn, optim, train  # noqa: E402  (subpackages use the names above)
from .inspect import AnomalyError, detect_anomaly, graph, trace_backward
from .serialization import load, load_metadata, save

__version__ = "0.1.0"

float32 = "float32"
float64 = "float64"
int64 = "int64"
int32 = "int32"
bool_ = "bool"
