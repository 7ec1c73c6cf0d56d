"""Gradient utilities: clipping by norm or by value (PyTorch's semantics)."""

from __future__ import annotations

import math

from .. import backend as backends
from ..creation import zeros
from ..tensor import Tensor


def _with_grads(parameters) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = (sum over every gradient entry of |g|**norm_type) ** (1 / norm_type)
    (the largest |g| for ``norm_type=inf``), then each gradient is multiplied by
    min(1, max_norm / (total + 1e-6)). Parameters without a gradient are skipped.

    Returns
    -------
    Tensor
        The total norm before clipping (0-d, the first gradient's dtype).
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if not params:
        return zeros(())
    xp = params[0].grad.xp
    dtype = params[0].grad.dtype
    # each step is wrapped in xp.asarray: NumPy turns 0-d results into scalars
    if norm_type == math.inf:
        partial = [xp.asarray(xp.max(xp.abs(p.grad.data)), dtype=dtype) for p in params]
        total = xp.asarray(xp.max(xp.stack(partial)))
    else:
        partial = [
            xp.asarray(xp.sum(xp.abs(p.grad.data) ** norm_type), dtype=dtype) for p in params
        ]
        total = xp.asarray(xp.sum(xp.stack(partial)) ** (1.0 / norm_type))
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is {float(total)}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    one = xp.asarray(1.0, dtype=dtype, device=backends.device_of(total))
    coef = xp.minimum(max_norm / (total + 1e-6), one)
    for p in params:
        p.grad = Tensor(p.grad.data * xp.astype(coef, p.grad.dtype))
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value]."""
    for p in _with_grads(parameters):
        p.grad = Tensor(p.grad.xp.clip(p.grad.data, -clip_value, clip_value))
