"""The per-epoch record of a training run."""

from __future__ import annotations

import math
from collections.abc import Mapping


class History(Mapping):
    """Per-epoch values, one list per key: ``history["val_loss"][epoch]``.

    Keys are ``loss`` and each training metric (running values over the
    epoch's batches, in training mode), ``val_loss`` and ``val_<metric>``
    (after the epoch, in evaluation mode) when there is validation data,
    ``lr`` (the learning rate the epoch used) and ``time`` (seconds).
    Epochs are numbered from 0.

    Parameters
    ----------
    monitor : str, optional
        The key that :attr:`best_epoch` looks at (``fit`` sets it to the
        validation metric, or to ``val_loss``/``loss`` without one).
    higher_is_better : bool
        Whether larger values of ``monitor`` are better.

    Attributes
    ----------
    stopped_early : bool
        Early stopping ended the run.
    interrupted : bool
        Ctrl-C (KeyboardInterrupt) ended the run; the lists hold the epochs
        that finished.

    Examples
    --------
    >>> history = History(monitor="val_loss", higher_is_better=False)
    >>> history.append({"loss": 0.9, "val_loss": 0.8})
    >>> history.append({"loss": 0.5, "val_loss": 0.9})
    >>> history["val_loss"], history.best_epoch, history.epochs
    ([0.8, 0.9], 0, 2)
    """

    def __init__(self, monitor: str | None = None, higher_is_better: bool = False):
        self.monitor = monitor
        self.higher_is_better = higher_is_better
        self.stopped_early = False
        self.interrupted = False
        self._values: dict[str, list[float]] = {}
        self._epochs = 0

    def append(self, record: dict) -> None:
        """Add one epoch's values; a key missing from ``record`` gets NaN."""
        for key in record:
            if key not in self._values:
                self._values[key] = [math.nan] * self._epochs
        for key, values in self._values.items():
            values.append(float(record.get(key, math.nan)))
        self._epochs += 1

    def __getitem__(self, key: str) -> list[float]:
        if key not in self._values:
            raise KeyError(f"history has no {key!r}; it has {', '.join(self._values) or 'nothing'}")
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return self._epochs

    def last(self) -> dict:
        """The latest epoch's values as ``{key: value}`` (empty before the first epoch)."""
        return {key: values[-1] for key, values in self._values.items() if values}

    @property
    def best_epoch(self) -> int | None:
        """Index of the epoch with the best ``monitor`` value (the first, on ties).

        None before the first epoch or when every value is NaN.
        """
        if self.monitor is None or self.monitor not in self._values:
            return None
        sign = -1.0 if self.higher_is_better else 1.0
        scored = [
            (sign * value, epoch)
            for epoch, value in enumerate(self._values[self.monitor])
            if not math.isnan(value)
        ]
        return min(scored)[1] if scored else None

    @property
    def best_value(self) -> float | None:
        """The ``monitor`` value at :attr:`best_epoch`."""
        epoch = self.best_epoch
        return None if epoch is None else self._values[self.monitor][epoch]

    def to_dict(self) -> dict:
        """Plain data (JSON-serialisable; NaN is written as null)."""
        return {
            "monitor": self.monitor,
            "higher_is_better": self.higher_is_better,
            "stopped_early": self.stopped_early,
            "epochs": self._epochs,
            "values": {
                key: [None if math.isnan(v) else v for v in values]
                for key, values in self._values.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """Inverse of :meth:`to_dict`."""
        history = cls(data["monitor"], data["higher_is_better"])
        history.stopped_early = data["stopped_early"]
        history._epochs = data["epochs"]
        history._values = {
            key: [math.nan if v is None else float(v) for v in values]
            for key, values in data["values"].items()
        }
        return history

    def __repr__(self) -> str:
        last = ", ".join(f"{key}={value:.4g}" for key, value in self.last().items())
        return f"History(epochs={self._epochs}, monitor={self.monitor!r}, last: {last})"
