"""Loss modules: thin wrappers that hold ``reduction`` and call ``nn.functional``."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """``F.mse_loss``: mean of (pred - target)**2."""

    def forward(self, pred: Tensor, target) -> Tensor:
        return F.mse_loss(pred, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """``F.cross_entropy``: softmax cross-entropy of logits (N, C) and integer targets (N,)."""

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.cross_entropy(logits, target, self.reduction)


class NLLLoss(_Loss):
    """``F.nll_loss``: -log_probs[i, target_i], for log-probabilities (N, C)."""

    def forward(self, log_probs: Tensor, target) -> Tensor:
        return F.nll_loss(log_probs, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits``: softplus(x) - x t, computed stably."""

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)
