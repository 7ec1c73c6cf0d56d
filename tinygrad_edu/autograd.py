"""Gradient mode, functional gradients and the finite-difference check.

The backward pass itself lives in ``tensor.py`` (``run_backward``); this module
holds what users call around it: ``no_grad``, ``grad`` and ``gradcheck``.
"""

from __future__ import annotations

import contextlib

from . import backend
from .tensor import Tensor, _GradMode, run_backward


class no_grad(contextlib.ContextDecorator):
    """Record nothing inside: results have no graph and ``requires_grad=False``.

    Works as ``with tg.no_grad():`` and as a ``@tg.no_grad()`` decorator.
    """

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous
        return False


class enable_grad(no_grad):
    """Record again inside a ``no_grad`` block."""

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = True
        return self


def is_grad_enabled() -> bool:
    return _GradMode.enabled


def grad(
    outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False
):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Returns a tuple with one Tensor per input: ``sum_k d outputs_k / d input``
    weighted by ``grad_outputs`` (ones for scalar outputs). With
    ``create_graph=True`` the results are differentiable again (grad of grad,
    Hessian-vector products). An input that does not influence the outputs
    raises unless ``allow_unused=True`` (then its entry is None).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad(): an output does not require grad (no input was tracked)")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad(): every input must have requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    for position, g in enumerate(grads):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {position} does not influence the outputs; pass allow_unused=True"
            )
    return tuple(grads)


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
