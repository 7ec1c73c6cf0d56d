"""RMSprop: divide by a running root-mean-square of the gradients."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, check_hyperparameter


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's rule and defaults.

    With :math:`v`, :math:`\bar g` and :math:`b` starting at zero:

    .. math::

        g &\leftarrow g + \lambda \theta \quad \text{(weight decay)} \\
        v &\leftarrow \alpha v + (1 - \alpha) g \odot g \\
        \bar g &\leftarrow \alpha \bar g + (1 - \alpha) g \quad \text{(centered only)} \\
        s &= \sqrt{v} + \epsilon, \text{ or } \sqrt{v - \bar g \odot \bar g} + \epsilon
            \text{ when centered} \\
        b &\leftarrow \mu b + g / s, \quad \theta \leftarrow \theta - \eta b
            \quad \text{(momentum } \mu > 0) \\
        \theta &\leftarrow \theta - \eta \, g / s \quad \text{(no momentum)}

    Parameters
    ----------
    params : iterable of Tensors or of dicts (parameter groups)
    lr, alpha, eps, weight_decay, momentum : float
        :math:`\eta, \alpha, \epsilon, \lambda, \mu` above.
    centered : bool
        Normalise by an estimate of the gradient's variance instead of its
        second moment.
    maximize : bool
        Ascend instead of descend (:math:`g \leftarrow -g` first).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        check_hyperparameter("learning rate", lr)
        check_hyperparameter("alpha", alpha)
        check_hyperparameter("eps", eps)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("momentum", momentum)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def delta(self, param, grad, state, group):
        xp = param.xp
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param.data)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param.data)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data
        state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * (grad * grad)
        if group["centered"]:
            state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * grad
            mean_square = state["square_avg"] - state["grad_avg"] * state["grad_avg"]
            scale = xp.sqrt(mean_square) + group["eps"]
        else:
            scale = xp.sqrt(state["square_avg"]) + group["eps"]
        if momentum > 0:
            state["momentum_buffer"] = momentum * state["momentum_buffer"] + grad / scale
            return group["lr"] * state["momentum_buffer"]
        return group["lr"] * (grad / scale)
