"""Adam and AdamW: momentum on the gradient, scaled by its running second moment."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, check_hyperparameter


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's rule and defaults.

    At step :math:`t = 1, 2, \dots`, with :math:`m, v, \hat v_{\max}` starting at zero:

    .. math::

        g &\leftarrow g + \lambda \theta \quad \text{(weight decay; AdamW instead
            does } \theta \leftarrow \theta (1 - \eta \lambda)) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g \odot g \\
        v_{\max} &\leftarrow \max(v_{\max}, v) \text{ and use it for } v
            \quad \text{(amsgrad only)} \\
        \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t} \,
            m \Big/ \left(\frac{\sqrt{v}}{\sqrt{1 - \beta_2^t}} + \epsilon\right)

    Parameters
    ----------
    params : iterable of Tensors or of dicts (parameter groups)
    lr : float
        :math:`\eta`.
    betas : (float, float)
        :math:`(\beta_1, \beta_2)`, decay rates of the two moment averages.
    eps, weight_decay : float
        :math:`\epsilon, \lambda`.
    amsgrad : bool
        Divide by the largest :math:`v` seen so far (Reddi et al., 2018).
    maximize : bool
        Ascend instead of descend (:math:`g \leftarrow -g` first).
    decoupled_weight_decay : bool
        Shrink the parameters directly instead of adding :math:`\lambda\theta`
        to the gradient: that is AdamW.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        check_hyperparameter("learning rate", lr)
        check_hyperparameter("eps", eps)
        check_hyperparameter("beta1", betas[0], high=1.0)
        check_hyperparameter("beta2", betas[1], high=1.0)
        check_hyperparameter("weight_decay", weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def delta(self, param, grad, state, group):
        xp = param.xp
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param.data)
            state["exp_avg_sq"] = xp.zeros_like(param.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param.data)
        state["step"] += 1
        theta = param.data
        shrink = None  # AdamW's decoupled decay: theta <- theta (1 - lr wd) before the step
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            shrink = (lr * weight_decay) * theta
        elif weight_decay != 0:
            grad = grad + weight_decay * theta
        state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad
        state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * (grad * grad)
        second_moment = state["exp_avg_sq"]
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], second_moment)
            second_moment = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1 ** state["step"])
        denom = xp.sqrt(second_moment) / (1 - beta2 ** state["step"]) ** 0.5 + group["eps"]
        delta = step_size * (state["exp_avg"] / denom)
        return delta if shrink is None else shrink + delta


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first shrinks the parameters, :math:`\theta \leftarrow \theta
    (1 - \eta \lambda)`, then takes the Adam step (see ``Adam``) with the
    plain gradient. Default :math:`\lambda = 10^{-2}`, as in PyTorch.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
