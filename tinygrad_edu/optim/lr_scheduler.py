"""Learning-rate schedules: change each group's ``"lr"`` once per ``step()``.

Same sequences as ``torch.optim.lr_scheduler`` (the recursive forms, which
scale the current ``"lr"``): call ``scheduler.step()`` after
``optimizer.step()``, typically once per epoch.

>>> scheduler = StepLR(optimizer, step_size=30, gamma=0.1)  # doctest: +SKIP
>>> for epoch in range(100):  # doctest: +SKIP
...     train_one_epoch(model, optimizer)
...     scheduler.step()
"""

from __future__ import annotations

import math

from .optimizer import Optimizer


class LRScheduler:
    """Base class: ``last_epoch`` counts ``step()`` calls; subclasses write ``get_lr``.

    On creation every group gets ``"initial_lr"`` (its current ``"lr"``, unless
    already set), kept in ``base_lrs``.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch`` (called by ``step``)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set every group's ``"lr"``."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest ``step`` (or the initial ones)."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer: numbers and lists of numbers only."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise KeyError(f"unknown scheduler state entries {unknown} for {type(self).__name__}")
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    :math:`\eta_e = \eta_0 \, \gamma^{\lfloor e / \text{step\_size} \rfloor}`.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: :math:`\eta_e = \eta_0 \gamma^e`."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial learning rate to ``eta_min`` over ``T_max`` epochs.

    .. math::

        \eta_e = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
            \left(1 + \cos\left(\pi e / T_{\max}\right)\right)

    computed, as in PyTorch, recursively from the current ``"lr"``:
    :math:`\eta_e = \eta_{\min} + (\eta_{e-1} - \eta_{\min})
    \frac{1 + \cos(\pi e / T_{\max})}{1 + \cos(\pi (e - 1) / T_{\max})}`,
    restarting upwards after :math:`T_{\max}` (the cosine's period is
    :math:`2 T_{\max}`).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max <= 0:
            raise ValueError(f"T_max must be positive, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (epoch - 1 - period) % (2 * period) == 0:  # the cosine's lowest point: climb again
            return [
                group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
                for base_lr, group in zip(self.base_lrs, groups, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (
            1 + math.cos(math.pi * (epoch - 1) / period)
        )
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]
