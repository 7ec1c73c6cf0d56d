"""Fused primitives: one node where the composite would record several.

Each of these equals a composite of the primitives in ``ops.py`` (and is
tested against it); they exist because a training step spends much of its
time in Python overhead per recorded node, and these four cover most nodes of
an MLP step (see ``docs/performance.md`` for the measurements):

* ``Linear``: ``z = x @ W + b`` (the lecture's feed-forward step);
* ``Softmax``: ``exp(x - logsumexp(x))`` in one node;
* ``SoftmaxCrossEntropy``: ``mean_i(logsumexp(z_i) - z_{i, y_i})`` with the
  classic backward ``(softmax(z) - onehot(y)) / N``;
* ``SquaredError``: ``mean((p - t)^2)`` with backward ``2 (p - t) / n``, the
  regression loss in one node instead of four (subtract, square, sum, scale).

Their backward rules are written in the vocabulary ``F`` like every other
op's, so second derivatives work through them too.
"""

from __future__ import annotations

import math

from . import backend, derivatives
from .backend import stable_softmax
from .function import Function
from .tensor import Tensor, normalize_axes


class Linear(Function):
    """z = x @ W + b for x of shape (..., in), W (in, out), b (out,).

    dL/dx = g @ W^T,  dL/dW = x^T @ g (summed over batch axes),
    dL/db = g summed over every axis but the last.
    """

    def forward(self, xp, x, weight, bias):
        out = x @ weight if x.dtype == weight.dtype else xp.matmul(x, weight)  # promotes
        if bias is None:
            return out
        if out.dtype == bias.dtype and backend.is_mutable(xp):
            out += bias  # the product is a fresh array: add in place, no temporary
            return out
        return out + bias

    def backward(self, F, g, inputs, out):
        x, weight, _ = inputs
        needs_x, needs_w, needs_b = self.needs_input_grad
        grad_x = F.matmul(g, F.matrix_transpose(weight)) if needs_x else None
        grad_w = None
        if needs_w:
            if x.ndim >= 2:
                grad_w = F.matmul(F.matrix_transpose(x), g)
            else:
                grad_w = F.matmul(F.reshape(x, (-1, 1)), F.reshape(g, (1, -1)))
        batch_axes = 0 if g.ndim == 2 else tuple(range(g.ndim - 1))
        grad_b = F.sum(g, axis=batch_axes) if needs_b else None
        return grad_x, grad_w, grad_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """z = x @ W + b with ``W`` of shape (in_features, out_features): the lecture's z = aW + b.

    One recorded node (``fused.Linear``) instead of a matmul and an add.
    """
    x_shape, w_shape = x.data.shape, weight.data.shape  # runs every layer, every step: no copies
    if len(w_shape) != 2:
        raise ValueError(f"linear needs a 2-D weight (in, out), got shape {tuple(w_shape)}")
    if not x_shape or x_shape[-1] != w_shape[0]:
        raise ValueError(
            f"linear: input of shape {tuple(x_shape)} does not match weight of shape "
            f"{tuple(w_shape)} (the input's last axis must be {w_shape[0]})"
        )
    return Linear.apply(x, weight, bias)


class Softmax(Function):
    """y = exp(x - logsumexp(x)) along ``axis``;  dL/dx = y * (g - sum(g * y)).

    The max-shift inside keeps every exponent <= 0, so nothing overflows.
    """

    def forward(self, xp, x, axis):
        self.axis = axis
        return stable_softmax(xp, x, axis)

    def backward(self, F, g, inputs, out):
        y = out
        return (y * (g - F.sum(g * y, axis=self.axis, keepdims=True)),)


def softmax(x: Tensor, axis=-1) -> Tensor:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``, computed stably."""
    if x.ndim == 0:  # one entry: softmax is 1 (and its gradient 0), as in PyTorch
        return Softmax.apply(x.reshape((1,)), axis=0).reshape(())
    axis = normalize_axes(axis, x.ndim)[0]
    if x.shape[axis] == 0:
        return x * 1.0  # nothing to normalise: the empty result, as in PyTorch
    return Softmax.apply(x, axis=axis)


class SoftmaxCrossEntropy(Function):
    """L_i = logsumexp(z_i) - z_{i, y_i} for logits z (N, C) and class indices y (N,).

    dL/dz = g_i * (softmax(z_i) - onehot(y_i)); with reduction "mean" g_i = g / N.
    The forward pass computes softmax(z) on the way to logsumexp and keeps it:
    a plain backward reuses it, a recorded one (``create_graph``) recomputes
    it as a Tensor so that it can be differentiated again.
    """

    def forward(self, xp, logits, target, reduction):
        # Indices in the default integer dtype: uint8 labels and arange(N) would wrap
        # past 255 rows, and torch reads a uint8 index array as a mask.
        target = backend.as_index(xp, target)
        self.reduction, self.target = reduction, target
        kernels = derivatives.array_ops(xp)  # raw-array argmax/sum/reshape, no wrappers
        self.rows = rows = xp.arange(logits.shape[0], device=backend.device_of(logits))
        # The row maxima, found through their positions: NumPy's argmax along a short
        # axis is several times faster than its max, and the value is the same.
        top = kernels.argmax(logits, axis=1)
        shift = kernels.reshape(backend.getitem(xp, logits, (rows, top)), (-1, 1))
        exps = xp.exp(logits - shift)  # every exponent <= 0: nothing overflows
        sums = kernels.sum(exps, axis=1, keepdims=True)
        self.probs = exps / sums
        picked = backend.getitem(xp, logits, (rows, target))  # z_{i, y_i}
        # log(sum) - (z_y - m), not (log(sum) + m) - z_y: a large m would take digits away
        losses = kernels.reshape(xp.log(sums), (-1,)) - (picked - kernels.reshape(shift, (-1,)))
        if reduction == "none":
            return losses
        total = kernels.sum(losses)
        return total / losses.shape[0] if reduction == "mean" else total

    def backward(self, F, g, inputs, out):
        logits = inputs[0]
        if self.reduction == "mean":
            g = g / logits.shape[0]
        elif self.reduction == "none":
            g = F.reshape(g, (-1, 1))
        if not F.recording:  # the saved softmax, minus g at each row's class: no one-hot matrix
            scale = g if self.reduction != "none" else F.reshape(g, (-1,))
            grad = F.subtract_at_rows(self.probs * g, self.rows, self.target, scale)
            if grad is not None:
                return grad, None
        probs = F.softmax(logits, 1) if F.recording else self.probs
        onehot = F.const(F.raw.one_hot(self.target, logits.shape[1], F.value(logits).dtype))
        return (probs - onehot) * g, None


def softmax_cross_entropy(
    logits: Tensor, target: Tensor, reduction: str = "mean", checked: bool = False
) -> Tensor:
    """Cross-entropy of integer class ``target`` (N,) under ``softmax(logits)`` (N, C).

    ``checked=True``: the caller has already checked the targets (shape, dtype, range).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not checked:  # the targets' range is one reduction over them: checked once a step
        check_class_targets(logits, target, "cross_entropy")
    return SoftmaxCrossEntropy.apply(logits, target, reduction=reduction)


def check_class_targets(scores: Tensor, target: Tensor, fn_name: str) -> None:
    """Integer targets of shape (N,), each in [0, C), for scores of shape (N, C)."""
    scores_shape, target_data = scores.data.shape, target.data  # no copies: runs every step
    if len(scores_shape) != 2:
        raise ValueError(f"{fn_name} needs scores of shape (N, C), got {scores.shape}")
    xp = target.xp
    if not backend.is_kind(xp, target_data.dtype, "integral"):
        raise TypeError(
            f"{fn_name} needs integer class targets, got dtype "
            f"{backend.dtype_name(target.dtype)}; "
            "pass class indices, e.g. tg.tensor(labels, dtype='int64'), or use "
            "binary_cross_entropy_with_logits / mse_loss for real-valued targets"
        )
    n, classes = scores_shape
    if target_data.shape != (n,):
        raise ValueError(
            f"{fn_name}: scores of shape {scores.shape} need targets of shape ({n},), "
            f"got {target.shape}"
        )
    if n and not backend.all_in_range(xp, target_data, classes):
        low, high = backend.integer_range(xp, target_data)
        if low < 0 or high >= classes:
            bad = low if low < 0 else high
            raise ValueError(f"{fn_name}: target class {bad} is out of range for {classes} classes")


class SquaredError(Function):
    """L = sum or mean of (p - t)^2 (or the elementwise squares), p and t of one shape.

    dL/dp = g * 2 (p - t) (divided by the number of elements n for "mean"),
    dL/dt = -dL/dp. The difference is recomputed in backward from the inputs,
    so under ``create_graph`` it is a recorded Tensor like any other.
    """

    def forward(self, xp, pred, target, reduction):
        self.reduction = reduction
        diff = pred - target
        if reduction == "none":
            return diff * diff
        flat = derivatives.array_ops(xp).reshape(diff, (-1,))
        total = flat @ flat  # the sum of squares as one dot product
        return total / flat.shape[0] if reduction == "mean" else total

    def backward(self, F, g, inputs, out):
        pred, target = inputs
        count = math.prod(pred.shape)
        # (an empty input has an empty gradient: any finite scale will do)
        scale = 2.0 / count if self.reduction == "mean" and count else 2.0
        grad_pred = (pred - target) * (g * scale)
        needs_pred, needs_target = self.needs_input_grad
        return (grad_pred if needs_pred else None), (-grad_pred if needs_target else None)


def squared_error(pred: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``(pred - target)**2`` summed, averaged or elementwise, as one recorded node."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if pred.data.shape != target.data.shape:
        raise ValueError(
            f"mse_loss (squared error) needs pred and target of one shape, got {pred.shape} "
            f"and {target.shape}"
        )
    return SquaredError.apply(pred, target, reduction=reduction)
