"""Record the path an optimizer takes, for plots that compare optimizers."""

from __future__ import annotations

import inspect

import numpy as np  # host bookkeeping only: stacking the recorded points for plotting

from ..autograd import no_grad
from ..tensor import Tensor


def record_trajectory(optimizer_factory, f, x0, steps: int):
    """Run an optimizer on ``f`` from ``x0`` and keep every iterate.

    Parameters
    ----------
    optimizer_factory : callable
        ``optimizer_factory([x])`` returns an optimizer for the one tensor
        ``x``, e.g. ``lambda params: optim.Adam(params, lr=0.01)``.
    f : callable
        ``f(x)`` returns the scalar loss Tensor.
    x0 : Tensor, list or array
        The starting point (Python data becomes float64).
    steps : int
        How many times to call ``optimizer.step``.

    Returns
    -------
    points : numpy.ndarray, shape (steps + 1, x0.size)
        ``x`` before the first step and after each step (flattened).
    losses : numpy.ndarray, shape (steps + 1,)
        ``f`` at each of those points.

    Optimizers whose ``step`` requires a closure (``LBFGS``, ``NewtonCG``) get
    one; the others see ``backward()`` then ``step()``. The closure calls
    ``backward(retain_graph=True)`` when gradients are on, so it serves both
    kinds (``NewtonCG`` differentiates the returned loss a second time).
    """
    x = x0.detach() if isinstance(x0, Tensor) else Tensor(x0, dtype="float64")
    x.requires_grad_(True)
    optimizer = optimizer_factory([x])
    takes_closure = _step_requires_closure(optimizer)

    def closure():
        optimizer.zero_grad()
        loss = f(x)
        if loss.requires_grad:
            loss.backward(retain_graph=True)
        return loss

    points, losses = [], []

    def keep():
        points.append(np.reshape(x.numpy(), -1).copy())
        with no_grad():
            losses.append(f(x).item())

    keep()
    for _ in range(steps):
        if takes_closure:
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
        keep()
    return np.stack(points), np.asarray(losses)


def _step_requires_closure(optimizer) -> bool:
    closure = inspect.signature(optimizer.step).parameters.get("closure")
    return closure is not None and closure.default is inspect.Parameter.empty
