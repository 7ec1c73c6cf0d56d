"""Stop training when the monitored validation value stops improving."""

from __future__ import annotations

import math

from .history import History


class EarlyStopping:
    """Stop after ``patience`` epochs without improvement of ``monitor``.

    An epoch improves when its value beats the best so far by more than
    ``min_delta`` (``value > best + min_delta`` when higher is better,
    ``value < best - min_delta`` otherwise). With ``restore_best_weights``
    the model's parameters and buffers of the best epoch are kept and put
    back when ``fit`` ends, whether it stopped early, ran out of epochs or
    was interrupted.

    Parameters
    ----------
    patience : int
        Epochs without improvement before stopping (>= 1).
    monitor : str, optional
        History key to watch; default: the one ``fit`` monitors (the first
        validation metric, e.g. ``val_accuracy`` or ``val_r2``).
    higher_is_better : bool, optional
        Default: False for keys containing ``loss`` or ``mse``, True otherwise.
    min_delta : float
        Smallest change that counts as an improvement.
    restore_best_weights : bool
        Put the best epoch's weights back at the end of ``fit``.
    """

    def __init__(
        self,
        patience: int = 10,
        monitor: str | None = None,
        higher_is_better: bool | None = None,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive int, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.patience = patience
        self.monitor = monitor
        self.higher_is_better = higher_is_better
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.epochs_without_improvement = 0
        self.stopped = False
        self.best_weights: dict | None = None

    def attach(self, history: History) -> None:
        """Fill in ``monitor`` and its direction from the history's defaults."""
        if self.monitor is None:
            self.monitor = history.monitor
        if self.higher_is_better is None:
            self.higher_is_better = (
                history.higher_is_better
                if self.monitor == history.monitor
                else not any(word in self.monitor for word in ("loss", "mse"))
            )

    def update(self, epoch: int, record: dict, model) -> bool:
        """Look at one finished epoch's ``record``; return True when training should stop."""
        if self.monitor not in record:
            raise KeyError(
                f"early stopping monitors {self.monitor!r}, but the epoch recorded only "
                f"{', '.join(record)} (pass val_loader to fit to get val_ keys)"
            )
        value = record[self.monitor]
        if self._improves(value):
            self.best_value, self.best_epoch = value, epoch
            self.epochs_without_improvement = 0
            if self.restore_best_weights:
                self.best_weights = {
                    name: t.xp.asarray(t.data, copy=True) for name, t in model.state_dict().items()
                }
        else:
            self.epochs_without_improvement += 1
        self.stopped = self.epochs_without_improvement >= self.patience
        return self.stopped

    def _improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best_value is None:
            return True
        if self.higher_is_better:
            return value > self.best_value + self.min_delta
        return value < self.best_value - self.min_delta

    def restore(self, model) -> None:
        """Load the best epoch's weights into ``model`` (if kept)."""
        if self.restore_best_weights and self.best_weights is not None:
            model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        """The counters (JSON-ready); the best weights travel separately."""
        return {
            "monitor": self.monitor,
            "higher_is_better": self.higher_is_better,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopped": self.stopped,
        }

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            if key not in self.state_dict():
                raise KeyError(f"unknown early-stopping state entry {key!r}")
            setattr(self, key, value)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, monitor={self.monitor!r}, "
            f"best_value={self.best_value}, best_epoch={self.best_epoch})"
        )
