"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, check_hyperparameter


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's rule and defaults).

    For every parameter :math:`\theta` with gradient :math:`g`:

    .. math::

        g &\leftarrow -g \quad \text{if maximize} \\
        g &\leftarrow g + \lambda \theta \quad \text{(weight decay } \lambda) \\
        b &\leftarrow g \ \text{on the first step, else } \mu b + (1 - \tau) g
            \quad \text{(momentum } \mu, \text{ dampening } \tau) \\
        g &\leftarrow g + \mu b \ \text{(Nesterov) or } b \ \text{(plain momentum)} \\
        \theta &\leftarrow \theta - \eta g

    With ``momentum=0`` this is :math:`\theta \leftarrow \theta - \eta g`;
    fed full batches (the gradient of the whole training loss), it is plain
    gradient descent.

    Parameters
    ----------
    params : iterable of Tensors or of dicts (parameter groups)
    lr : float
        Learning rate :math:`\eta` (PyTorch 2.x default 1e-3).
    momentum, dampening, weight_decay : float
        :math:`\mu`, :math:`\tau`, :math:`\lambda` above.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool
        Ascend instead of descend.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        check_hyperparameter("learning rate", lr)
        check_hyperparameter("momentum", momentum)
        check_hyperparameter("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def delta(self, param, grad, state, group):
        momentum = group["momentum"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data
        if momentum != 0:
            if "momentum_buffer" not in state:
                buffer = param.xp.asarray(grad, copy=True)  # like torch: never alias a gradient
            else:
                buffer = momentum * state["momentum_buffer"] + (1 - group["dampening"]) * grad
            state["momentum_buffer"] = buffer
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        return self.scalar(group["lr"], grad) * grad
