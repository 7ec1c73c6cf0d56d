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


class CrossEntropyLoss(Module):
    """``F.cross_entropy``: softmax cross-entropy of logits (N, C, ...) and class targets.

    ``weight`` (C,) is kept as a buffer; ``ignore_index`` and ``label_smoothing``
    as in ``F.cross_entropy``.
    """

    def __init__(
        self,
        reduction: str = "mean",
        *,
        weight=None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        F._check_reduction(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        self.reduction, self.ignore_index, self.label_smoothing = (
            reduction,
            ignore_index,
            label_smoothing,
        )
        self.register_buffer("weight", _as_buffer(weight))

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.cross_entropy(
            logits,
            target,
            self.reduction,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class NLLLoss(Module):
    """``F.nll_loss``: -w_{y_i} log_probs[i, y_i], for log-probabilities (N, C, ...)."""

    def __init__(self, reduction: str = "mean", *, weight=None, ignore_index: int = -100):
        super().__init__()
        F._check_reduction(reduction)
        self.reduction, self.ignore_index = reduction, ignore_index
        self.register_buffer("weight", _as_buffer(weight))

    def forward(self, log_probs: Tensor, target) -> Tensor:
        return F.nll_loss(
            log_probs, target, self.reduction, weight=self.weight, ignore_index=self.ignore_index
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """``F.binary_cross_entropy_with_logits``: w [p_w t softplus(-x) + (1 - t) softplus(x)].

    ``weight`` and ``pos_weight`` are kept as buffers.
    """

    def __init__(self, reduction: str = "mean", *, weight=None, pos_weight=None):
        super().__init__()
        F._check_reduction(reduction)
        self.reduction = reduction
        self.register_buffer("weight", _as_buffer(weight))
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            logits, target, self.reduction, weight=self.weight, pos_weight=self.pos_weight
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _as_buffer(value):
    return value if value is None or isinstance(value, Tensor) else Tensor(value)


class BCELoss(_Loss):
    """``F.binary_cross_entropy``: -w [t log p + (1 - t) log(1 - p)] on probabilities."""

    def __init__(self, reduction: str = "mean", *, weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))

    def forward(self, probs: Tensor, target) -> Tensor:
        return F.binary_cross_entropy(probs, target, self.reduction, weight=self.weight)


class L1Loss(_Loss):
    """``F.l1_loss``: |pred - target|."""

    def forward(self, pred: Tensor, target) -> Tensor:
        return F.l1_loss(pred, target, self.reduction)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss``: 0.5 d**2 / beta for |d| < beta, else |d| - 0.5 beta."""

    def __init__(self, reduction: str = "mean", *, beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, pred: Tensor, target) -> Tensor:
        return F.smooth_l1_loss(pred, target, self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(_Loss):
    """``F.huber_loss``: 0.5 d**2 for |d| <= delta, else delta (|d| - 0.5 delta)."""

    def __init__(self, reduction: str = "mean", *, delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, pred: Tensor, target) -> Tensor:
        return F.huber_loss(pred, target, self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class KLDivLoss(Module):
    """``F.kl_div``: t (log t - input) for log-probabilities ``input``."""

    def __init__(self, reduction: str = "mean", *, log_target: bool = False):
        super().__init__()
        if reduction not in F._REDUCTIONS + ("batchmean",):
            raise ValueError(
                f"reduction must be one of {F._REDUCTIONS + ('batchmean',)}, got {reduction!r}"
            )
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: Tensor, target) -> Tensor:
        return F.kl_div(input, target, self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
