"""``gradcheck``: analytic gradients against central differences, in float64.

The test every op passes: for a scalar ``L``, ``dL/dx_i ~ (L(x + eps e_i) -
L(x - eps e_i)) / (2 eps)``, with an error of order ``eps**2``.
"""

from __future__ import annotations

from . import backend
from .autograd import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3) -> bool:
    """Compare analytic gradients of ``fn(*inputs)`` with central differences.

    Each input is copied to float64 on its own backend. For a non-scalar output
    the check uses ``L = sum(output * w)`` with a fixed random weight ``w``.
    Every entry of every input that requires grad is perturbed by ``+-eps``:
    ``dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)``, and the check
    passes where ``|analytic - numerical| <= atol + rtol * |numerical|``.
    Returns True or raises ``GradcheckError`` naming the input and the worst entry.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    inputs64 = [
        t.detach().astype("float64").requires_grad_(t.requires_grad) if isinstance(t, Tensor) else t
        for t in inputs
    ]
    checked = [t for t in inputs64 if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    out = fn(*inputs64)
    weight = Tensor(backend.standard_normal(out.shape, out.xp, "float64", seed=0), backend=out.xp)

    def scalar_loss():
        return (fn(*inputs64) * weight).sum()

    analytic = grad(scalar_loss(), checked, allow_unused=True)
    for number, (t, g) in enumerate(zip(checked, analytic)):
        xp = t.xp
        numeric = _central_differences(scalar_loss, t, eps)
        got = xp.zeros_like(t.data) if g is None else g.data
        excess = xp.reshape(xp.abs(got - numeric) - (atol + rtol * xp.abs(numeric)), (-1,))
        if t.size and float(xp.max(excess)) > 0:
            worst = int(xp.argmax(excess))
            flat_got, flat_numeric = xp.reshape(got, (-1,)), xp.reshape(numeric, (-1,))
            raise GradcheckError(
                f"gradcheck failed for input {number} (shape {t.shape}): at flat index {worst} "
                f"analytic {float(flat_got[worst]):.10g} "
                f"vs numerical {float(flat_numeric[worst]):.10g}"
            )
    return True


def _central_differences(loss_fn, target: Tensor, eps: float):
    xp, base = target.xp, target.data
    positions = xp.arange(target.size, device=target.device)
    numeric = []
    try:  # no no_grad() here: fn may itself call grad() (checks of second derivatives)
        for i in range(target.size):
            step = xp.reshape(xp.astype(positions == i, base.dtype), base.shape) * eps
            target.data = xp.asarray(base + step)
            plus = loss_fn().item()
            target.data = xp.asarray(base - step)
            minus = loss_fn().item()
            numeric.append((plus - minus) / (2 * eps))
    finally:
        target.data = base
    return xp.reshape(xp.asarray(numeric, dtype=base.dtype, device=target.device), base.shape)
