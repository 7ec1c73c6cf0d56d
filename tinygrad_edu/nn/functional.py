"""Functions behind the layers, and the losses: ``import tinygrad_edu.nn.functional as F``.

Activations and softmax are the library's own (re-exported from
``tinygrad_edu.functional``). The losses are composites of differentiable
Tensor operations, so their gradients come from the chain rule; each docstring
states the math. Every loss takes ``reduction``: ``"mean"`` (the default),
``"sum"`` or ``"none"`` (one value per example).
"""

from __future__ import annotations

import math

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
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d  # noqa: F401
from .embedding import embedding  # noqa: F401
from .padding import pad  # noqa: F401
from .pooling import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

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


# ----------------------------------------------------------------- attention
def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two axes (see the module docstring).

    ``attn_mask`` broadcasts to (..., L, S): boolean (True = attend) or additive.
    ``dropout_p`` drops attention weights (always, like PyTorch's functional;
    pass 0 at evaluation). ``is_causal`` lets query i attend to keys j <= i.
    """
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(
            f"scaled_dot_product_attention needs q (..., L, E), k (..., S, E), v (..., S, Ev), "
            f"got {q.shape}, {k.shape}, {v.shape}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: q {q.shape} and k {k.shape} need one E, "
            f"k and v {v.shape} one S"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention takes attn_mask or is_causal, not both")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.mT) * scale
    xp = q.xp
    if is_causal:
        queries, keys = q.shape[-2], k.shape[-2]
        rows = xp.arange(queries, device=q.device)[:, None]
        attn_mask = Tensor(xp.arange(keys, device=q.device)[None, :] <= rows)
    if attn_mask is not None:
        attn_mask = _as_tensor(attn_mask, q, "attn_mask")
        if attn_mask.dtype == xp.bool:
            scores = where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    weights = scores.softmax(axis=-1)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return weights @ v


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


def nll_loss(
    log_probs: Tensor,
    target,
    reduction: str = "mean",
    *,
    weight=None,
    ignore_index: int = -100,
) -> Tensor:
    """Negative log-likelihood of the target classes: l_i = -w_{y_i} log_probs[i, y_i].

    ``log_probs`` has shape (N, C) or (N, C, d1, ...) (log-probabilities, e.g.
    from ``log_softmax``); ``target`` holds integer classes in [0, C) of shape
    (N,) or (N, d1, ...). ``weight`` (C,) scales each class (w = 1 without it);
    targets equal to ``ignore_index`` contribute 0. ``"mean"`` divides by the
    sum of the weights of the counted targets, as PyTorch does (N when no
    weight is given and nothing is ignored).
    """
    _check_reduction(reduction)
    target = _as_tensor(target, log_probs, "target")
    if weight is None and log_probs.ndim == 2 and _classes_in_range(log_probs, target):
        return _picked_nll(log_probs, target, reduction)
    rows, picked_class, counted = _class_rows(log_probs, target, ignore_index, "nll_loss")
    weights = _row_weights(weight, picked_class, counted, log_probs.shape[1], log_probs)
    losses = -_picked(rows, picked_class) * weights
    return _weighted_reduce(losses, weights, reduction, target.shape)


def _classes_in_range(scores: Tensor, target: Tensor) -> bool:
    """Whether ``target`` is an (N,) integer array of classes in [0, C): the fast path's case."""
    data = target.data
    xp = target.xp
    return (
        scores.ndim == 2
        and tuple(data.shape) == (scores.shape[0],)
        and backends.is_kind(xp, data.dtype, "integral")
        and (scores.shape[0] == 0 or backends.all_in_range(xp, data, scores.shape[1]))
    )


def _class_rows(scores: Tensor, target: Tensor, ignore_index: int, fn_name: str):
    """Scores (N, C, d1, ...) as rows (M, C), integer targets (M,) and the counted mask.

    The class axis moves last so that every position (n, d1, ...) becomes one
    row; ignored targets are replaced by class 0 (their rows are then masked
    out with a zero weight) and every other target must lie in [0, C).
    """
    if scores.ndim < 2:
        raise ValueError(
            f"{fn_name} needs scores of shape (N, C) or (N, C, d1, ...), got {scores.shape}"
        )
    xp = target.xp
    if not backends.is_kind(xp, target.dtype, "integral"):
        raise TypeError(
            f"{fn_name} needs integer class targets (or, for cross_entropy, class "
            f"probabilities of the logits' shape), got dtype {backends.dtype_name(target.dtype)} "
            f"of shape {target.shape}"
        )
    expected = (scores.shape[0],) + scores.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{fn_name}: scores of shape {scores.shape} need targets of shape {expected}, "
            f"got {target.shape}"
        )
    classes = scores.shape[1]
    if scores.ndim > 2:
        scores = scores.transpose((0,) + tuple(range(2, scores.ndim)) + (1,))
    rows = scores.reshape(-1, classes)
    flat = xp.reshape(backends.as_index(xp, target.data), (-1,))
    counted = flat != ignore_index
    safe = xp.where(counted, flat, xp.zeros_like(flat))
    if safe.shape[0] and not backends.all_in_range(xp, safe, classes):
        low, high = backends.integer_range(xp, safe)
        bad = low if low < 0 else high
        raise ValueError(f"{fn_name}: target class {bad} is out of range for {classes} classes")
    return rows, safe, counted


def _picked(rows: Tensor, target) -> Tensor:
    """rows[i, target_i] for every row, through a one-hot mask (see ``_picked_nll``)."""
    xp = rows.xp
    classes = xp.arange(rows.shape[1], dtype=target.dtype, device=rows.device)
    return where(Tensor(target[:, None] == classes[None, :]), rows, 0.0).sum(axis=1)


def _row_weights(weight, target, counted, classes: int, like: Tensor):
    """w_{y_i} for every row, 0 where the target is ignored: a constant array."""
    xp = like.xp
    mask = xp.astype(counted, like.dtype)
    if weight is None:
        return mask
    weight = _as_tensor(weight, like, "weight")
    if weight.shape != (classes,):
        raise ValueError(
            f"weight must have shape ({classes},) for {classes} classes, got {weight.shape}"
        )
    return xp.take(xp.astype(weight.data, like.dtype), target, axis=0) * mask


def _weighted_reduce(losses: Tensor, weights, reduction: str, target_shape):
    """Reduce per-row losses; ``"mean"`` divides by the sum of the row weights."""
    if reduction == "none":
        return losses.reshape(target_shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / Tensor(losses.xp.sum(weights))


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


def cross_entropy(
    logits: Tensor,
    target,
    reduction: str = "mean",
    *,
    weight=None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy with class indices or class probabilities as targets.

    With class indices y (shape (N,) or (N, d1, ...) for logits (N, C) or
    (N, C, d1, ...)) and p = log_softmax(logits) over the class axis:

        l_i = (1 - eps) * (-w_{y_i} p_{i, y_i}) + (eps / C) * (-sum_c w_c p_{i, c})

    with eps = ``label_smoothing`` and w the class ``weight`` (1 without it);
    targets equal to ``ignore_index`` give 0, and ``"mean"`` divides by the sum
    of w_{y_i} over the counted targets (PyTorch's convention). With class
    probabilities t (a float target of the logits' shape) the smoothed
    t' = (1 - eps) t + eps / C gives l_i = -sum_c w_c t'_{i, c} p_{i, c}, and
    ``"mean"`` divides by the number of positions N * d1 * ...

    ``logsumexp(z) - z_y`` keeps the loss finite for any logits. The common
    case (N, C) logits, classes in range, no weight or smoothing runs as one
    fused node (``fused.SoftmaxCrossEntropy``): gradient (softmax - onehot) / N.
    """
    _check_reduction(reduction)
    if not isinstance(target, Tensor):
        target = _as_tensor(target, logits, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if weight is None and label_smoothing == 0.0 and _classes_in_range(logits, target):
        return fused.softmax_cross_entropy(logits, target, reduction, checked=True)
    if logits.ndim < 2:
        raise ValueError(
            f"cross_entropy needs logits of shape (N, C) or (N, C, d1, ...), got {logits.shape}"
        )
    classes = logits.shape[1]
    log_probs = log_softmax(logits, axis=1)
    if backends.is_floating(target.xp, target.dtype) and target.shape == logits.shape:
        return _cross_entropy_probabilities(log_probs, target, reduction, weight, label_smoothing)
    rows, picked_class, counted = _class_rows(log_probs, target, ignore_index, "cross_entropy")
    weights = _row_weights(weight, picked_class, counted, classes, logits)
    losses = -_picked(rows, picked_class) * weights
    if label_smoothing:
        xp = logits.xp
        class_weights = (
            xp.ones((classes,), dtype=logits.dtype, device=logits.device)
            if weight is None
            else xp.astype(_as_tensor(weight, logits, "weight").data, logits.dtype)
        )
        is_counted = Tensor(xp.astype(counted, logits.dtype))
        smooth = -(rows * Tensor(class_weights)).sum(axis=1) * is_counted
        losses = losses * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)
    return _weighted_reduce(losses, weights, reduction, target.shape)


def _cross_entropy_probabilities(log_probs, target, reduction, weight, label_smoothing):
    """-sum_c w_c t'_c log_probs_c over the class axis (see ``cross_entropy``)."""
    classes = log_probs.shape[1]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        weight = _as_tensor(weight, log_probs, "weight")
        if weight.shape != (classes,):
            raise ValueError(
                f"weight must have shape ({classes},) for {classes} classes, got {weight.shape}"
            )
        terms = terms * weight.reshape((classes,) + (1,) * (log_probs.ndim - 2))
    return _reduce(-terms.sum(axis=1), reduction)


def _same_shape(a: Tensor, b: Tensor, fn_name: str, what: str = "input and target") -> None:
    if a.shape != b.shape:
        raise ValueError(f"{fn_name} needs {what} of one shape, got {a.shape} and {b.shape}")


def _float_target(target, like: Tensor, fn_name: str) -> Tensor:
    """The target as a Tensor of ``like``'s shape; integer or boolean targets become floats."""
    target = _as_tensor(target, like, "target")
    _same_shape(like, target, fn_name)
    if not backends.is_floating(target.xp, target.dtype):
        target = target.astype(like.dtype)
    return target


def binary_cross_entropy_with_logits(
    logits: Tensor, target, reduction: str = "mean", *, weight=None, pos_weight=None
) -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably.

    l = -w [p_w t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
      = w [p_w t softplus(-x) + (1 - t) softplus(x)],
    finite for every x (``softplus`` is computed as max(x, 0) + log1p(exp(-|x|))).
    ``weight`` (broadcast to the logits) scales each element, ``pos_weight``
    (broadcast along the last axis, one per class) the positive term; without
    ``pos_weight`` this is softplus(x) - x t. Integer or boolean targets are
    converted to the logits' dtype.
    """
    _check_reduction(reduction)
    target = _float_target(target, logits, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        losses = logits.softplus() - logits * target
    else:
        pos_weight = _as_tensor(pos_weight, logits, "pos_weight")
        losses = pos_weight * target * (-logits).softplus() + (1.0 - target) * logits.softplus()
    if weight is not None:
        losses = losses * _as_tensor(weight, logits, "weight")
    return _reduce(losses, reduction)


def binary_cross_entropy(probs: Tensor, target, reduction: str = "mean", *, weight=None) -> Tensor:
    """Binary cross-entropy of probabilities: l = -w [t log p + (1 - t) log(1 - p)].

    As in PyTorch each log is clamped to >= -100, so p = 0 or 1 gives a finite
    loss; the clamp is a ``where`` on p > 0, so where a log is clamped its
    gradient is 0 (PyTorch instead divides by max(p (1 - p), 1e-12) there).
    ``weight`` (broadcast to ``probs``) scales each element. Prefer
    ``binary_cross_entropy_with_logits`` on logits: it is stable everywhere.
    """
    _check_reduction(reduction)
    target = _float_target(target, probs, "binary_cross_entropy")
    xp = probs.xp
    if probs.size and not backends.all_probabilities(xp, probs.data):
        raise ValueError(
            "binary_cross_entropy needs probabilities in [0, 1] "
            "(for logits use binary_cross_entropy_with_logits)"
        )
    losses = -(target * _clamped_log(probs) + (1.0 - target) * _clamped_log(1.0 - probs))
    if weight is not None:
        losses = losses * _as_tensor(weight, probs, "weight")
    return _reduce(losses, reduction)


def _clamped_log(p: Tensor) -> Tensor:
    """max(log p, -100), with a zero gradient where p = 0 (no 0 * inf)."""
    positive = Tensor(p.data > 0)
    return where(positive, where(positive, p, 1.0).log(), -100.0).clip(min=-100.0)


def l1_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: l_i = |pred_i - target_i| (gradient sign(d), 0 at d = 0)."""
    _check_reduction(reduction)
    target = _as_tensor(target, pred, "target")
    _same_shape(pred, target, "l1_loss", "pred and target")
    return _reduce((pred - target).abs(), reduction)


def smooth_l1_loss(pred: Tensor, target, reduction: str = "mean", *, beta: float = 1.0) -> Tensor:
    """l_i = 0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta, for d = pred - target.

    Quadratic near 0 and linear beyond ``beta``, with matching value and slope
    at |d| = beta; beta = 0 gives ``l1_loss``. Equals ``huber_loss(delta=beta) / beta``.
    """
    _check_reduction(reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss needs beta >= 0, got {beta}")
    target = _as_tensor(target, pred, "target")
    _same_shape(pred, target, "smooth_l1_loss", "pred and target")
    diff = pred - target
    size = diff.abs()
    if beta == 0:
        return _reduce(size, reduction)
    losses = where(Tensor(size.data < beta), diff * diff * (0.5 / beta), size - 0.5 * beta)
    return _reduce(losses, reduction)


def huber_loss(pred: Tensor, target, reduction: str = "mean", *, delta: float = 1.0) -> Tensor:
    """l_i = 0.5 d**2 where |d| <= delta, else delta (|d| - 0.5 delta), for d = pred - target."""
    _check_reduction(reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss needs delta > 0, got {delta}")
    target = _as_tensor(target, pred, "target")
    _same_shape(pred, target, "huber_loss", "pred and target")
    diff = pred - target
    size = diff.abs()
    losses = where(Tensor(size.data <= delta), diff * diff * 0.5, (size - 0.5 * delta) * delta)
    return _reduce(losses, reduction)


def kl_div(input: Tensor, target, reduction: str = "mean", *, log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with ``input`` = log q: l_i = t_i (log t_i - input_i).

    ``input`` holds log-probabilities, ``target`` probabilities t (0 log 0 = 0),
    or log-probabilities with ``log_target=True``: l_i = exp(t_i) (t_i - input_i).
    ``"batchmean"`` divides the sum by the batch size N = input.shape[0] (the
    true KL divergence per example); ``"mean"`` divides by the number of elements,
    as PyTorch does.
    """
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(
            f"reduction must be one of {_REDUCTIONS + ('batchmean',)}, got {reduction!r}"
        )
    target = _as_tensor(target, input, "target")
    _same_shape(input, target, "kl_div")
    if log_target:
        losses = target.exp() * (target - input)
    else:
        positive = Tensor(target.data > 0)
        log_t = where(positive, where(positive, target, 1.0).log(), 0.0)
        losses = target * log_t - target * input
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(losses, reduction)
