"""Newton-CG: Newton's method with the Newton system solved by conjugate gradients.

The Hessian is never formed: conjugate gradients only needs products ``H v``,
and each costs one extra reverse pass through the graph of the gradient
(``create_graph=True``), the same trick as ``tinygrad_edu.func.hvp``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ..autograd import enable_grad, grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyperparameter


class NewtonCG(Optimizer):
    r"""Line-search Newton-CG (truncated Newton; Nocedal & Wright, Algorithm 7.1).

    Each ``step(closure)`` is one Newton iteration at the parameters
    :math:`x` with gradient :math:`g` and Hessian :math:`H`:

    1. Solve :math:`H p = -g` approximately by conjugate gradients from
       :math:`p = 0`, stopping when the residual
       :math:`\lVert H p + g \rVert \le \min(\text{tol}, \sqrt{\lVert g \rVert})\,\lVert g \rVert`
       (a forcing sequence that gives superlinear convergence), after
       ``max_cg_iter`` iterations, or at negative curvature
       :math:`d^\top H d \le 0` along a CG direction :math:`d`; then the
       current :math:`p` is kept (:math:`-g` if it is the very first).
    2. Backtrack from :math:`t = \text{lr}`, halving, until the Armijo condition
       :math:`f(x + t p) \le f(x) + c_1 t\, g^\top p` holds (at most
       ``max_ls`` trials; without success the parameters stay where they were).

    Every CG iteration needs one Hessian-vector product
    :math:`H d = \nabla_x \langle \nabla f(x), d \rangle`, computed by a
    reverse pass through the graph of :math:`\nabla f` (built with
    ``create_graph=True``).

    Parameters
    ----------
    params : iterable of Tensors (one group only)
    lr : float
        The first trial step of the line search (1 is the full Newton step).
    max_cg_iter : int, optional
        CG iterations per step; default the number of parameter entries (the
        bound within which CG solves the system exactly in exact arithmetic).
    tol : float
        Upper bound of the CG forcing term, in (0, 1).
    tolerance_grad : float
        ``step`` does nothing when :math:`\max |g| \le` ``tolerance_grad``.
    c1 : float
        The Armijo constant.
    max_ls : int
        Most line-search trials per step.

    Notes
    -----
    ``state[params[0]]`` counts ``n_iter`` (Newton iterations), ``func_evals``
    (closure calls) and ``hvp_evals`` (Hessian-vector products).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        max_cg_iter: int | None = None,
        tol: float = 1e-2,
        tolerance_grad: float = 1e-12,
        c1: float = 1e-4,
        max_ls: int = 30,
    ):
        check_hyperparameter("learning rate", lr)
        check_hyperparameter("tol", tol, low=0.0, high=1.0)
        check_hyperparameter("c1", c1, low=0.0, high=1.0)
        check_hyperparameter("max_ls", max_ls, low=1)
        if max_cg_iter is not None:
            check_hyperparameter("max_cg_iter", max_cg_iter, low=1)
        defaults = dict(
            lr=lr,
            max_cg_iter=max_cg_iter,
            tol=tol,
            tolerance_grad=tolerance_grad,
            c1=c1,
            max_ls=max_ls,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("NewtonCG does not support parameter groups: pass one list of tensors")

    @property
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    def step(self, closure: Callable):
        """One Newton-CG iteration; returns the loss from the first closure call.

        ``closure()`` recomputes the loss and returns it. NewtonCG
        differentiates that loss twice itself, so the closure must keep its
        graph: either no ``backward()`` at all, or ``backward(retain_graph=True)``
        guarded by ``if loss.requires_grad`` (line-search trials run the closure
        under ``no_grad``).
        """
        if closure is None:
            raise TypeError("NewtonCG.step needs a closure that recomputes and returns the loss")
        group = self.param_groups[0]
        state = self.state.setdefault(self._params[0], {})
        for counter in ("n_iter", "func_evals", "hvp_evals"):
            state.setdefault(counter, 0)
        with enable_grad():
            loss = closure()
            grads = self._gradient(loss)
        state["func_evals"] += 1
        flat_grad = self._flatten(grads)
        xp = self._params[0].xp
        if float(xp.max(xp.abs(flat_grad))) <= group["tolerance_grad"]:
            return loss
        state["n_iter"] += 1
        direction = self._newton_direction(grads, flat_grad, group, state)
        self._line_search(
            closure, float(loss), _dot(xp, flat_grad, direction), direction, group, state
        )
        return loss

    # ------------------------------------------------------------ pieces
    def _gradient(self, loss: Tensor) -> list:
        """dL/dparams with their graph (zeros for parameters the loss ignores)."""
        try:
            grads = grad(loss, self._params, create_graph=True, allow_unused=True)
        except RuntimeError as err:
            if "retain_graph" not in str(err):
                raise
            raise RuntimeError(
                "NewtonCG.step: the loss graph was freed by backward() inside the closure; "
                "return the loss without calling backward(), or call "
                "backward(retain_graph=True)"
            ) from err
        return [
            Tensor._wrap(p.xp.zeros_like(p.data)) if g is None else g
            for p, g in zip(self._params, grads, strict=True)
        ]

    def _flatten(self, tensors) -> object:
        xp = self._params[0].xp
        return xp.concat([xp.reshape(t.data, (-1,)) for t in tensors])

    def _pieces(self, flat) -> list:
        """A flat vector cut into constant Tensors shaped like the parameters."""
        xp = self._params[0].xp
        pieces, offset = [], 0
        for p in self._params:
            pieces.append(Tensor._wrap(xp.reshape(flat[offset : offset + p.size], p.shape)))
            offset += p.size
        return pieces

    def _hessian_times(self, grads: list, flat_vector, state: dict):
        """``H v = d <g(x), v> / dx`` by a reverse pass through the gradient's graph."""
        state["hvp_evals"] += 1
        pairs = [
            (g, v) for g, v in zip(grads, self._pieces(flat_vector), strict=True) if g.requires_grad
        ]
        if not pairs:  # the gradient is constant: a linear loss has H = 0
            return flat_vector * 0
        with enable_grad():
            inner = sum((g * v).sum() for g, v in pairs)
        products = grad(inner, self._params, retain_graph=True, allow_unused=True)
        return self._flatten(
            Tensor._wrap(p.xp.zeros_like(p.data)) if hv is None else hv
            for p, hv in zip(self._params, products, strict=True)
        )

    def _newton_direction(self, grads: list, flat_grad, group: dict, state: dict):
        """Truncated CG on ``H p = -g`` (residual ``r = H p + g``)."""
        xp = self._params[0].xp
        grad_norm = math.sqrt(_dot(xp, flat_grad, flat_grad))
        target = min(group["tol"], math.sqrt(grad_norm)) * grad_norm
        max_cg_iter = group["max_cg_iter"] or flat_grad.shape[0]
        p = xp.zeros_like(flat_grad)
        r = flat_grad
        d = -r
        r_squared = grad_norm * grad_norm
        for iteration in range(max_cg_iter):
            hd = self._hessian_times(grads, d, state)
            curvature = _dot(xp, d, hd)
            if curvature <= 0:  # H is not positive definite along d: Newton's model has no minimum
                return -flat_grad if iteration == 0 else p
            alpha = r_squared / curvature
            p = p + alpha * d
            r = r + alpha * hd
            r_squared_new = _dot(xp, r, r)
            if math.sqrt(r_squared_new) <= target:
                break
            d = -r + (r_squared_new / r_squared) * d
            r_squared = r_squared_new
        return p

    def _line_search(self, closure, loss: float, slope: float, direction, group, state) -> None:
        """Backtracking until ``f(x + t p) <= f(x) + c1 t g^T p``; rebinds ``param.data``."""
        start = [p.data for p in self._params]  # never written into, so no copy
        steps = self._pieces(direction)
        t = group["lr"]
        for _ in range(group["max_ls"]):
            for param, origin, step in zip(self._params, start, steps, strict=True):
                param.data = origin + t * step.data
            with no_grad():
                trial = float(closure())
            state["func_evals"] += 1
            if trial <= loss + group["c1"] * t * slope:
                return
            t *= 0.5
        for param, origin in zip(self._params, start, strict=True):
            param.data = origin


def _dot(xp, a, b) -> float:
    return float(xp.sum(a * b))
