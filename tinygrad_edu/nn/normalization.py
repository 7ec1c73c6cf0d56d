"""Normalisation layers: ``LayerNorm`` and ``BatchNorm1d`` (PyTorch's semantics)."""

from __future__ import annotations

from ..autograd import no_grad
from ..creation import ones, zeros
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


class LayerNorm(Module):
    """Normalise each example over its trailing axes, then scale and shift.

    y = (x - mean) / sqrt(var + eps) * weight + bias, the mean and the biased
    variance (divisor n) taken over the last ``len(normalized_shape)`` axes of
    each example. Same in training and evaluation.

    Parameters
    ----------
    normalized_shape : int or tuple
        The trailing shape to normalise over (an int means the last axis).
    eps : float
        Added to the variance for stability.
    elementwise_affine : bool
        Learnable ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.
    dtype, backend, device : optional
        Where the parameters live.
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        shape = self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        where = {"dtype": dtype, "backend": backend, "device": device}
        if elementwise_affine:
            self.weight = Parameter(ones(shape, **where))
            self.bias = Parameter(zeros(shape, **where))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class BatchNorm1d(Module):
    """Normalise each feature over the batch; PyTorch's ``BatchNorm1d``.

    Input of shape (N, C) or (N, C, L); statistics per channel C, over N (and L).

    * Training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias with the
      batch mean and the *biased* batch variance (divisor n). The running
      statistics move towards the batch's, with the *unbiased* variance
      (divisor n - 1):
      ``running = (1 - momentum) * running + momentum * batch``.
    * Evaluation (``eval()``): the running statistics replace the batch's.

    ``momentum=None`` gives the cumulative average over all batches seen
    (factor 1 / num_batches_tracked). Modules start in training mode.

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
        Added to the variance for stability.
    momentum : float or None
        Weight of the newest batch in the running statistics.
    affine : bool
        Learnable ``weight`` (ones) and ``bias`` (zeros) of shape (C,).
    dtype, backend, device : optional
        Where the parameters and running statistics live.

    Notes
    -----
    Buffers: ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked`` (int64), saved by ``state_dict`` under PyTorch's names.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        dtype=None,
        backend=None,
        device=None,
    ):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        where = {"dtype": dtype, "backend": backend, "device": device}
        if affine:
            self.weight = Parameter(ones(num_features, **where))
            self.bias = Parameter(zeros(num_features, **where))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", zeros(num_features, **where))
        self.register_buffer("running_var", ones(num_features, **where))
        self.register_buffer(
            "num_batches_tracked", zeros((), dtype="int64", backend=backend, device=device)
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) needs input of shape (N, {self.num_features}) "
                f"or (N, {self.num_features}, L), got {x.shape}"
            )
        axes = (0,) if x.ndim == 2 else (0, 2)
        channel_shape = (self.num_features,) + (1,) * (x.ndim - 2)
        if self.training:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(
                    "BatchNorm1d in training mode needs more than one value per channel, "
                    f"got input shape {x.shape}; use a larger batch or eval()"
                )
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            variance = (centered * centered).mean(axis=axes, keepdims=True)
            self._update_running_stats(mean, variance, count)
        else:
            centered = x - self.running_mean.reshape(channel_shape)
            variance = self.running_var.reshape(channel_shape)
        y = centered / (variance + self.eps).sqrt()
        if self.affine:
            y = y * self.weight.reshape(channel_shape) + self.bias.reshape(channel_shape)
        return y

    def _update_running_stats(self, mean: Tensor, variance: Tensor, count: int) -> None:
        """running = (1 - f) * running + f * batch, with the unbiased batch variance."""
        with no_grad():
            self.num_batches_tracked.data = (self.num_batches_tracked + 1).data
            factor = self.momentum
            if factor is None:
                factor = 1.0 / self.num_batches_tracked.item()
            batch_stats = (
                (self.running_mean, mean),
                (self.running_var, variance * (count / (count - 1))),
            )
            for running, batch in batch_stats:
                updated = (1 - factor) * running + factor * batch.reshape(self.num_features)
                running.data = updated.astype(running.dtype).data

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )
