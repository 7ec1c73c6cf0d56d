"""Streaming metrics: accumulate over mini-batches, read once per epoch.

Each metric sees ``(output, target)`` Tensor pairs batch by batch through
``update`` and gives one number from ``compute``. The per-batch work runs on
the backend through ``xp``; only a few scalars per batch reach the host, so
the numbers are exact over the whole epoch, not averages of batch averages.

Classification outputs are logits of shape (N, C) with integer targets (N,);
regression outputs and targets share a shape, (N,) or (N, k).
"""

from __future__ import annotations

import math

from .. import backend as backends
from ..tensor import Tensor


class Metric:
    """Base class: ``reset``, ``update(output, target)``, ``compute() -> float``.

    Attributes
    ----------
    name : str
        Key in the training history (``"accuracy"``, ``"val_accuracy"``...).
    higher_is_better : bool
        Which way early stopping and ``History.best_epoch`` look.
    """

    name = "metric"
    higher_is_better = True

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: Tensor, target: Tensor) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError


class Accuracy(Metric):
    """Fraction of samples whose predicted class equals the target.

    accuracy = (1/N) sum_i [argmax_c output_ic == target_i]; a 1-D output is
    read as one logit per sample (class 1 when the logit is positive).
    """

    name = "accuracy"

    def reset(self) -> None:
        self.correct = 0
        self.count = 0

    def update(self, output: Tensor, target: Tensor) -> None:
        xp = output.xp
        hits = predicted_classes(output) == xp.astype(target.data, xp.int64)
        self.correct += int(xp.sum(xp.astype(hits, xp.int64)))
        self.count += int(target.shape[0])

    def compute(self) -> float:
        return self.correct / self.count if self.count else math.nan


class MeanSquaredError(Metric):
    """mse = (1/M) sum_j (output_j - target_j)**2 over all M entries."""

    name = "mse"
    higher_is_better = False

    def reset(self) -> None:
        self.squared_error = 0.0
        self.count = 0

    def update(self, output: Tensor, target: Tensor) -> None:
        xp = output.xp
        diff = output.data - xp.reshape(target.data, output.shape)
        self.squared_error += float(xp.sum(diff * diff))
        self.count += math.prod(output.shape)

    def compute(self) -> float:
        return self.squared_error / self.count if self.count else math.nan


class R2Score(Metric):
    """Coefficient of determination, averaged over output columns.

    R^2 = 1 - SS_res / SS_tot with SS_res = sum_i (y_i - yhat_i)**2 and
    SS_tot = sum_i (y_i - mean(y))**2 per column (scikit-learn's
    ``uniform_average``). SS_tot is accumulated with Chan's parallel update of
    (count, mean, M2), so large target means do not cancel catastrophically.
    A constant target column scores 1 if predicted exactly, else 0.
    """

    name = "r2"

    def reset(self) -> None:
        self.count = 0
        self.mean = None
        self.total_m2 = None
        self.residual = None

    def update(self, output: Tensor, target: Tensor) -> None:
        xp = output.xp
        y = xp.reshape(target.data, output.shape)
        if y.ndim == 1:
            y, yhat = y[:, None], output.data[:, None]
        else:
            yhat = xp.reshape(output.data, (y.shape[0], -1))
            y = xp.reshape(y, (y.shape[0], -1))
        n = int(y.shape[0])
        if n == 0:
            return
        batch_mean = xp.mean(y, axis=0)
        batch_m2 = _host_list(xp.sum((y - batch_mean) ** 2, axis=0))
        batch_residual = _host_list(xp.sum((y - yhat) ** 2, axis=0))
        batch_mean = _host_list(batch_mean)
        if self.mean is None:
            self.count, self.mean = n, batch_mean
            self.total_m2, self.residual = batch_m2, batch_residual
            return
        total = self.count + n
        for j, (mean_b, m2_b, res_b) in enumerate(
            zip(batch_mean, batch_m2, batch_residual, strict=True)
        ):
            delta = mean_b - self.mean[j]
            self.total_m2[j] += m2_b + delta * delta * self.count * n / total
            self.mean[j] += delta * n / total
            self.residual[j] += res_b
        self.count = total

    def compute(self) -> float:
        if not self.count:
            return math.nan
        scores = [
            (1.0 if res == 0 else 0.0) if tot == 0 else 1.0 - res / tot
            for res, tot in zip(self.residual, self.total_m2, strict=True)
        ]
        return sum(scores) / len(scores)


class MeanOf(Metric):
    """Sample-weighted mean of ``fn(output, target)`` over batches (any callable metric)."""

    def __init__(self, fn, higher_is_better: bool = True):
        self.fn = fn
        self.name = getattr(fn, "__name__", "metric")
        self.higher_is_better = higher_is_better
        super().__init__()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output: Tensor, target: Tensor) -> None:
        n = int(target.shape[0])
        self.total += float(self.fn(output, target)) * n
        self.count += n

    def compute(self) -> float:
        return self.total / self.count if self.count else math.nan


METRICS = {"accuracy": Accuracy, "mse": MeanSquaredError, "r2": R2Score}
DEFAULT_METRICS = {"classification": ("accuracy",), "regression": ("r2", "mse")}


def make_metric(spec) -> Metric:
    """A fresh :class:`Metric` from a name (``"accuracy"``, ``"mse"``, ``"r2"``),
    a Metric instance (used as is) or a callable ``fn(output, target) -> float``."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        if spec not in METRICS:
            raise ValueError(f"unknown metric {spec!r}; known metrics: {', '.join(METRICS)}")
        return METRICS[spec]()
    if callable(spec):
        return MeanOf(spec)
    raise TypeError(f"a metric must be a name, a Metric or a callable, got {type(spec).__name__}")


def predicted_classes(output: Tensor):
    """The class each row of logits predicts, as an int64 backend array."""
    xp = output.xp
    if output.ndim == 1:
        return xp.astype(output.data > 0, xp.int64)
    if output.ndim != 2:
        raise ValueError(f"classification output must be (N,) or (N, C) logits, got {output.shape}")
    return xp.astype(xp.argmax(output.data, axis=1), xp.int64)


def confusion_matrix(labels, predictions, num_classes: int):
    """counts[i, j] = number of samples of class i predicted as class j.

    ``labels`` and ``predictions`` are integer backend arrays of one namespace;
    the counting is a scatter-add of ones at ``i * num_classes + j``.
    """
    xp = backends.namespace_of(labels)
    flat_index = xp.astype(labels, xp.int64) * num_classes + xp.astype(predictions, xp.int64)
    ones = xp.ones(flat_index.shape, dtype=xp.int64, device=backends.device_of(labels))
    counts = backends.scatter_add_1d(xp, num_classes * num_classes, flat_index, ones)
    return xp.reshape(counts, (num_classes, num_classes))


def _host_list(array) -> list[float]:
    return [float(value) for value in backends.to_numpy(array).reshape(-1)]
