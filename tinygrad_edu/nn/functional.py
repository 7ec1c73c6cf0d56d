"""Functions behind the layers, and the losses: ``import tinygrad_edu.nn.functional as F``.

Activations and softmax are the library's own (re-exported from
``tinygrad_edu.functional``). The losses are composites of differentiable
Tensor operations, so their gradients come from the chain rule; each docstring
states the math. Every loss takes ``reduction``: ``"mean"`` (the default),
``"sum"`` or ``"none"`` (one value per example).
"""

from __future__ import annotations

from .. import backend as backends
from .. import fused
from ..functional import (  # noqa: F401  (re-exported for F.relu, F.softmax, ...)
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    logsumexp,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
    where,
)
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------- layers
linear = fused.linear  # z = x @ W + b in one node; documented there


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: keep each entry with probability 1 - p and scale it by 1 / (1 - p).

    y = x * m / (1 - p) with m ~ Bernoulli(1 - p), so E[y] = x and nothing needs
    rescaling at evaluation time. The mask is drawn on the host generator
    (``tg.manual_seed``), so one seed gives the same mask on every backend.
    Outside training (or with p = 0) the input comes back unchanged.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    xp = x.xp
    draws = backends.uniform(x.shape, xp, x.dtype, device=x.device)
    scaled_mask = xp.astype(draws >= p, x.dtype) * (1.0 / (1.0 - p))
    return x * Tensor(scaled_mask)


def layer_norm(
    x: Tensor, normalized_shape: tuple, weight=None, bias=None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the trailing axes ``normalized_shape``, then scale and shift.

    y = (x - mean) / sqrt(var + eps) * weight + bias, with the mean and the
    biased variance (divisor n) taken over the last ``len(normalized_shape)`` axes.
    """
    normalized_shape = tuple(normalized_shape)
    first = x.ndim - len(normalized_shape)
    if first < 0 or x.shape[first:] != normalized_shape:
        raise ValueError(
            f"layer_norm over trailing shape {normalized_shape} got an input of shape {x.shape}"
        )
    axes = tuple(range(first, x.ndim))
    centered = x - x.mean(axis=axes, keepdims=True)
    variance = (centered * centered).mean(axis=axes, keepdims=True)
    y = centered / (variance + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# ----------------------------------------------------------------- losses
def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _as_tensor(value, like: Tensor, name: str) -> Tensor:
    """A target given as an array becomes a constant Tensor; a mismatch of backends raises later."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, list, tuple)):
        return Tensor(value, backend=like.backend, device=like.device)
    try:
        backends.namespace_of(value)
    except TypeError:
        kind = type(value).__name__
        raise TypeError(f"{name} must be a Tensor or an array, got {kind}") from None
    return Tensor(value)


def mse_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: l_i = (pred_i - target_i)**2, reduced by ``reduction``.

    ``pred`` and ``target`` must have the same shape (no silent broadcasting).
    One recorded node (``fused.SquaredError``); the checks happen there.
    """
    if not isinstance(target, Tensor):
        target = _as_tensor(target, pred, "target")
    return fused.squared_error(pred, target, reduction)


def nll_loss(log_probs: Tensor, target, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target classes: l_i = -log_probs[i, target_i].

    ``log_probs`` has shape (N, C) (log-probabilities, e.g. from ``log_softmax``),
    ``target`` holds N integer classes in [0, C). ``"mean"`` divides by N.
    """
    _check_reduction(reduction)
    target = _as_tensor(target, log_probs, "target")
    fused.check_class_targets(log_probs, target, "nll_loss")
    return _picked_nll(log_probs, target, reduction)


def _picked_nll(log_probs: Tensor, target: Tensor, reduction: str) -> Tensor:
    """-log_probs[i, target_i] for every row i (targets already checked).

    Picked with a one-hot mask, ``sum_c where(c == target_i, log_probs[i, c], 0)``:
    O(N C) work and memory like the log-softmax before it, on every backend
    (integer-array indexing would need an N x NC scatter matrix on backends
    without a native scatter-add), and ``where`` keeps a -inf in another
    class from turning into NaN.
    """
    xp = log_probs.xp
    classes = xp.arange(log_probs.shape[1], dtype=target.dtype, device=log_probs.device)
    is_target = Tensor(target.data[:, None] == classes[None, :])
    return _reduce(-where(is_target, log_probs, 0.0).sum(axis=1), reduction)


def cross_entropy(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy with integer class targets.

    l_i = -log softmax(logits_i)[target_i] = logsumexp(logits_i) - logits_i[target_i],
    with the log-sum-exp shift that keeps it finite for any logits
    (``log(softmax(.))`` would give -inf once a probability underflows). The
    gradient is (softmax(logits) - onehot(target)) / N: one fused node
    (``fused.SoftmaxCrossEntropy``), equal to ``nll_loss(log_softmax(logits))``.
    """
    if not isinstance(target, Tensor):
        target = _as_tensor(target, logits, "target")
    return fused.softmax_cross_entropy(logits, target, reduction)  # checks everything once


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably.

    l = -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] = softplus(x) - x t
      = max(x, 0) - x t + log1p(exp(-|x|)),
    finite for every x (``softplus`` is computed in that form). Integer or
    boolean targets are converted to the logits' dtype.
    """
    _check_reduction(reduction)
    target = _as_tensor(target, logits, "target")
    if logits.shape != target.shape:
        raise ValueError(
            "binary_cross_entropy_with_logits needs logits and target of one shape, "
            f"got {logits.shape} and {target.shape}"
        )
    if not backends.is_floating(target.xp, target.dtype):
        target = target.astype(logits.dtype)
    return _reduce(logits.softplus() - logits * target, reduction)
