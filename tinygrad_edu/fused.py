"""Fused primitives: one node where the composite would record several.

Each of these equals a composite of the primitives in ``ops.py`` (and is
tested against it); they exist because a training step spends much of its
time in Python overhead per recorded node, and these three cover most nodes of
an MLP step (see ``docs/performance.md`` for the measurements):

* ``Linear``: ``z = x @ W + b`` (the lecture's feed-forward step);
* ``Softmax``: ``exp(x - logsumexp(x))`` in one node;
* ``SoftmaxCrossEntropy``: ``mean_i(logsumexp(z_i) - z_{i, y_i})`` with the
  classic backward ``(softmax(z) - onehot(y)) / N``.

Backward rules are still written with Tensor operations, so second
derivatives work through them as through any other op.
"""

from __future__ import annotations

from . import backend
from .derivatives import stable_softmax
from .ops import Primitive
from .tensor import Tensor, normalize_axes


class Linear(Primitive):
    """z = x @ W + b for x of shape (..., in), W (in, out), b (out,).

    dL/dx = g @ W^T,  dL/dW = x^T @ g (summed over batch axes),
    dL/db = g summed over every axis but the last.
    """

    def forward(self, xp, x, weight, bias):
        out = x @ weight if x.dtype == weight.dtype else xp.matmul(x, weight)  # promotes
        if bias is None:
            return out
        if backend.is_mutable(xp) and out.dtype == xp.result_type(out, bias):
            out += bias  # the product is a fresh array: add in place, no temporary
            return out
        return out + bias

    def backward(self, g):
        x, weight, _ = self.args
        F = self.F
        needs_x, needs_w, needs_b = self.needs_input_grad
        grad_x = F.matmul(g, F.matrix_transpose(weight)) if needs_x else None
        grad_w = None
        if needs_w:
            if x.ndim >= 2:
                grad_w = F.matmul(F.matrix_transpose(x), g)
            else:
                grad_w = F.matmul(F.reshape(x, (-1, 1)), F.reshape(g, (1, -1)))
        grad_b = F.sum(g, axis=tuple(range(g.ndim - 1))) if needs_b else None
        return grad_x, grad_w, grad_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The affine map ``x @ weight + bias`` as one recorded node."""
    if weight.ndim != 2:
        raise ValueError(f"linear needs a 2-D weight (in, out), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[0]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not match weight of shape {weight.shape} "
            f"(the input's last axis must be {weight.shape[0]})"
        )
    return Linear.apply(x, weight, bias)


class Softmax(Primitive):
    """y = exp(x - logsumexp(x)) along ``axis``;  dL/dx = y * (g - sum(g * y)).

    The max-shift inside keeps every exponent <= 0, so nothing overflows.
    """

    def forward(self, xp, x, axis):
        self.axis = axis
        return stable_softmax(xp, x, axis)

    def backward(self, g):
        y = self.out
        return (y * (g - self.F.sum(g * y, axis=self.axis, keepdims=True)),)


def softmax(x: Tensor, axis=-1) -> Tensor:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``axis``, computed stably."""
    if x.ndim == 0:
        raise ValueError("softmax needs at least one axis")
    return Softmax.apply(x, axis=normalize_axes(axis, x.ndim)[0])


class SoftmaxCrossEntropy(Primitive):
    """L_i = logsumexp(z_i) - z_{i, y_i} for logits z (N, C) and class indices y (N,).

    dL/dz = g_i * (softmax(z_i) - onehot(y_i)); with reduction "mean" g_i = g / N.
    """

    def forward(self, xp, logits, target, reduction):
        self.reduction = reduction
        classes = xp.arange(logits.shape[1], dtype=target.dtype, device=backend.device_of(logits))
        self.is_target = xp.reshape(target, (-1, 1)) == classes
        shift = xp.max(logits, axis=1, keepdims=True)
        log_norm = xp.log(xp.sum(xp.exp(logits - shift), axis=1)) + xp.reshape(shift, (-1,))
        # picked with a one-hot mask (works on every backend; a -inf elsewhere stays harmless)
        picked = xp.sum(xp.where(self.is_target, logits, xp.zeros_like(logits)), axis=1)
        losses = log_norm - picked
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / losses.shape[0] if reduction == "mean" else total

    def backward(self, g):
        F = self.F
        logits = self.args[0]
        onehot = F.const(F.xp.astype(self.is_target, logits.dtype))
        if self.reduction == "mean":
            g = g / logits.shape[0]
        elif self.reduction == "none":
            g = F.reshape(g, (-1, 1))
        return (F.softmax(logits, 1) - onehot) * g, None


def softmax_cross_entropy(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of integer class ``target`` (N,) under ``softmax(logits)`` (N, C)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if logits.ndim != 2 or target.ndim != 1 or target.shape[0] != logits.shape[0]:
        raise ValueError(
            "cross_entropy needs logits (N, C) and targets (N,), "
            f"got {logits.shape} and {target.shape}"
        )
    if not target.xp.isdtype(target.dtype, "integral"):
        raise TypeError(f"cross_entropy needs integer class targets, got dtype {target.dtype}")
    return SoftmaxCrossEntropy.apply(logits, target, reduction=reduction)
