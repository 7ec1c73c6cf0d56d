"""L-BFGS: a quasi-Newton method that remembers the last few steps.

PyTorch's algorithm (itself after minFunc), written on flat backend arrays:
every parameter is flattened and concatenated into one vector ``x``. Scalars
(losses, dot products, step sizes) are Python floats.

On Dask, whose arrays are lazy task graphs, each new gradient vector, search
direction and set of parameters is computed once and kept
(``backend.materialize``) as soon as it is made: the many scalars an iteration
reads from it then do not each recompute the gradient, and the remembered
``(s, y)`` pairs do not hold the graphs of all earlier iterations. Elsewhere
``materialize`` hands the arrays back unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .. import backend
from ..autograd import enable_grad, no_grad
from .optimizer import Optimizer, check_hyperparameter, keep_array_type


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4), PyTorch's version.

    Each ``step(closure)`` runs up to ``max_iter`` iterations. Iteration
    :math:`k` with gradient :math:`g_k`:

    .. math::

        s &= x_k - x_{k-1} = t d, \quad y = g_k - g_{k-1}; \quad
            \text{if } y^\top s > 10^{-10}: \text{ remember } (s, y),\
            \rho = 1 / y^\top s,\ \gamma = y^\top s / y^\top y \\
        d &= -H g_k \quad \text{(two-loop recursion over the remembered pairs,
            } H_0 = \gamma I) \\
        x_{k+1} &= x_k + t d, \quad t = \min(1, 1/\lVert g_1 \rVert_1) \cdot
            \text{lr on the very first iteration, else } t = \text{lr}

    The first direction is :math:`d = -g`. With ``line_search_fn="strong_wolfe"``
    :math:`t` is instead chosen by a line search satisfying the strong Wolfe
    conditions :math:`f(x + t d) \le f(x) + c_1 t\, g^\top d` and
    :math:`|g(x + t d)^\top d| \le c_2 |g^\top d|` (:math:`c_1 = 10^{-4}`,
    :math:`c_2 = 0.9`), bracketing then zooming with cubic interpolation.

    A step stops early when :math:`\max|g| \le` ``tolerance_grad``, when
    :math:`g^\top d > -` ``tolerance_change``, when :math:`\max|t d|` or the
    change of the loss is at most ``tolerance_change``, or after ``max_eval``
    evaluations of the closure. ``state[params[0]]`` keeps the counters
    ``n_iter`` (iterations over all steps) and ``func_evals`` (closure calls).

    Parameters
    ----------
    params : iterable of Tensors (one group only)
    lr : float
        Step length (the line search's first trial step).
    max_iter : int
        Iterations per ``step``.
    max_eval : int, optional
        Closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad, tolerance_change : float
        Stopping tolerances (see above).
    history_size : int
        How many :math:`(s, y)` pairs to remember.
    line_search_fn : None or "strong_wolfe"
    """

    state_like_params = False  # its state: flat vectors over all parameters

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        check_hyperparameter("learning rate", lr)
        check_hyperparameter("history_size", history_size, low=1)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(
                f"line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}"
            )
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS does not support parameter groups: pass one list of tensors")

    @property
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    def _flat_grad(self):
        """All gradients as one vector (zeros for parameters without a gradient)."""
        xp = self._params[0].xp
        pieces = [
            xp.zeros(p.size, dtype=p.dtype, device=p.device)
            if p.grad is None
            else xp.reshape(p.grad.data, (-1,))
            for p in self._params
        ]
        return _computed(xp.concat(pieces))

    def _add_step(self, t: float, direction) -> None:
        """``x <- x + t * direction``, piece by piece, rebinding each ``param.data``."""
        xp = self._params[0].xp
        offset = 0
        for p in self._params:
            piece = xp.reshape(direction[offset : offset + p.size], p.shape)
            p.data = keep_array_type(p.data + t * piece, p.data)
            offset += p.size
        for p, data in zip(
            self._params, backend.materialize([p.data for p in self._params]), strict=True
        ):
            p.data = data

    def _evaluate_at(self, closure: Callable, start: list, t: float, direction):
        """Loss and flat gradient at ``x + t * direction``; the parameters go back to ``start``."""
        self._add_step(t, direction)
        loss = float(_call(closure))
        flat_grad = self._flat_grad()
        for p, data in zip(self._params, start, strict=True):
            p.data = data
        return loss, flat_grad

    def step(self, closure: Callable):
        """Run up to ``max_iter`` iterations; return the loss from the first closure call.

        ``closure()`` must zero the gradients, compute the loss, call
        ``backward`` on it and return it; it runs with gradients enabled.
        """
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that recomputes the loss and its gradient")
        with no_grad():
            return self._iterate(closure)

    def _iterate(self, closure: Callable):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = _call(closure)
        loss = float(first_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if _max_abs(flat_grad) <= tolerance_grad:
            return first_loss
        optimal = False

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the direction d = -H g
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1.0
            else:
                y, s = backend.materialize([flat_grad - prev_flat_grad, d * t])
                ys = _dot(y, s)
                if ys > 1e-10:  # curvature condition: keep H positive definite
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / _dot(y, y)
                d = _computed(_two_loop(-flat_grad, old_dirs, old_stps, ro, H_diag))
            prev_flat_grad = flat_grad
            prev_loss = loss

            # the step length t
            if state["n_iter"] == 1:
                t = min(1.0, _divide(1.0, _abs_sum(flat_grad))) * lr
            else:
                t = lr
            gtd = _dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            if group["line_search_fn"] == "strong_wolfe":
                start = [p.data for p in self._params]  # never written into, so no copy

                def evaluate(trial_t, start=start, d=d):
                    return self._evaluate_at(closure, start, trial_t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    evaluate, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_step(t, d)
                optimal = _max_abs(flat_grad) <= tolerance_grad
            else:
                self._add_step(t, d)
                ls_func_evals = 0
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    loss = float(_call(closure))
                    flat_grad = self._flat_grad()
                    optimal = _max_abs(flat_grad) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or optimal:
                break
            if _max_abs(d * t) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no more progress

        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_stps,
            ro=ro,
            H_diag=H_diag,
            prev_flat_grad=prev_flat_grad,
            prev_loss=prev_loss,
        )
        return first_loss


def _two_loop(q, old_dirs, old_stps, ro, H_diag):
    """``-H g`` from ``q = -g``: the L-BFGS two-loop recursion with ``H_0 = H_diag * I``."""
    alphas = [0.0] * len(old_dirs)
    for i in reversed(range(len(old_dirs))):
        alphas[i] = _dot(old_stps[i], q) * ro[i]
        q = q - alphas[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        beta = _dot(old_dirs[i], r) * ro[i]
        r = r + (alphas[i] - beta) * old_stps[i]
    return r


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Step length satisfying the strong Wolfe conditions along ``d`` (torch's lswolfe).

    ``evaluate(t)`` gives ``(f, g)`` at ``x + t d``. Points are tuples
    ``(t, f, g, g^T d)``. Phase 1 grows ``t`` until a bracket holds an
    acceptable point; phase 2 (zoom) shrinks the bracket by cubic
    interpolation. Returns ``(f, g, t, number of evaluations)``.
    """
    d_norm = _max_abs(d)
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = _dot(g_new, d)
    previous = (0.0, f, g, gtd)
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        current = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= previous[1]):
            bracket = [previous, current]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [current]
            done = True
            break
        if gtd_new >= 0:
            bracket = [previous, current]
            break
        t_prev = previous[0]
        t = _cubic_interpolate(
            t_prev,
            previous[1],
            previous[3],
            t,
            f_new,
            gtd_new,
            bounds=(t + 0.01 * (t - t_prev), t * 10),
        )
        previous = current
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [(0.0, f, g, gtd), (t, f_new, g_new, gtd_new)]

    insufficient_progress = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (t_a, f_a, _, gtd_a), (t_b, f_b, _, gtd_b) = bracket
        if abs(t_b - t_a) * d_norm < tolerance_change:  # bracket too small
            break
        t = _cubic_interpolate(t_a, f_a, gtd_a, t_b, f_b, gtd_b)
        # a trial point too close to an end of the bracket moves 10% inside it
        lo, hi = min(t_a, t_b), max(t_a, t_b)
        margin = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < margin:
            if insufficient_progress or t >= hi or t <= lo:
                t = hi - margin if abs(t - hi) < abs(t - lo) else lo + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False

        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1
        current = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = current  # no sufficient decrease: shrink from the high side
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]  # the old low becomes the high end
            bracket[low] = current
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through ``(x1, f1, f'=g1)``, ``(x2, f2, f'=g2)``, within bounds.

    ``d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2)``, ``d2 = sqrt(d1^2 - g1 g2)``,
    ``x = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)`` (for ``x1 <= x2``);
    the middle of the bounds when the cubic has no minimum.
    """
    lower, upper = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - _divide(3 * (f1 - f2), x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            minimum = x2 - (x2 - x1) * _divide(g2 + d2 - d1, g2 - g1 + 2 * d2)
        else:
            minimum = x1 - (x1 - x2) * _divide(g1 + d2 - d1, g1 - g2 + 2 * d2)
        return min(max(minimum, lower), upper)
    return (lower + upper) / 2.0


def _divide(a: float, b: float) -> float:
    """``a / b`` with IEEE results for ``b == 0`` (inf or nan), like torch's 0-d tensors."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _computed(array):
    """``array`` computed now and kept if it is lazy (Dask); as it is otherwise."""
    return backend.materialize([array])[0]


def _call(closure):
    with enable_grad():
        return closure()


def _dot(a, b) -> float:
    return float(backend.namespace_of(a).vecdot(a, b))


def _max_abs(a) -> float:
    xp = backend.namespace_of(a)
    return float(xp.max(xp.abs(a)))


def _abs_sum(a) -> float:
    xp = backend.namespace_of(a)
    return float(xp.sum(xp.abs(a)))
