"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, check_hyperparameter


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's rule and defaults.

    At step :math:`t = 1, 2, \dots`, with the accumulator :math:`G` starting
    at ``initial_accumulator_value``:

    .. math::

        g &\leftarrow g + \lambda \theta \quad \text{(weight decay)} \\
        \tilde\eta &= \eta / (1 + (t - 1) \cdot \text{lr\_decay}) \\
        G &\leftarrow G + g \odot g \\
        \theta &\leftarrow \theta - \tilde\eta \, g / (\sqrt{G} + \epsilon)

    Parameters
    ----------
    params : iterable of Tensors or of dicts (parameter groups)
    lr : float
        :math:`\eta`.
    lr_decay, weight_decay, initial_accumulator_value, eps : float
        As in the formula (:math:`\lambda` is ``weight_decay``).
    maximize : bool
        Ascend instead of descend (:math:`g \leftarrow -g` first).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        check_hyperparameter("learning rate", lr)
        check_hyperparameter("lr_decay", lr_decay)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("initial_accumulator_value", initial_accumulator_value)
        check_hyperparameter("eps", eps)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def delta(self, param, grad, state, group):
        xp = param.xp
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param.data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] = state["sum"] + grad * grad
        std = xp.sqrt(state["sum"]) + group["eps"]
        return lr * (grad / std)
