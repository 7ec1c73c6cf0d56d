"""Function transforms: derivatives as functions, in the style of JAX.

Each transform takes a function ``f`` of Tensors and returns a function (or
evaluates it), computed with the reverse-mode engine:

* ``grad(f)(x)`` = df/dx for a scalar ``f``; ``value_and_grad`` also gives f(x);
* ``vjp(f, x)`` = (f(x), u -> u^T J), the vector-Jacobian product J^T u;
* ``jvp(f, x, v)`` = (f(x), J v), forward mode by the double-vjp trick;
* ``jacobian(f)(x)`` = J with shape ``f(x).shape + x.shape``, one vjp per output entry;
* ``hessian(f)(x)`` = jacobian(grad(f))(x);
* ``hvp(f, x, v)`` = (f(x), H v), reverse over reverse.

Every gradient is computed with ``create_graph=True``, so the results are
differentiable again and the transforms nest: ``grad(grad(f))`` is f''.
Arguments being differentiated that do not require grad are replaced by
detached copies that do; those that already do are used as they are (which is
what lets an outer transform see through an inner one). Call ``.detach()`` on
a result to drop its graph.
"""

from __future__ import annotations

import functools

from .autograd import enable_grad
from .autograd import grad as _engine_grad
from .creation import zeros_like
from .functional import stack
from .tensor import Tensor


def grad(f, argnums=0):
    """The gradient of a scalar-valued ``f`` as a function.

    Parameters
    ----------
    f : callable
        Takes Tensors (and anything else) and returns a scalar Tensor.
    argnums : int or tuple of int
        The positional argument(s) to differentiate with respect to.

    Returns
    -------
    callable
        ``g(*args)`` returns df/d args[argnums] (a tuple for a tuple ``argnums``),
        each with its argument's shape.

    Examples
    --------
    >>> d2 = grad(grad(lambda x: x.sin()))       # -sin
    >>> d2(tg.tensor(0.5, dtype="float64")).item()
    -0.479425538604203
    """
    value_and_grad_f = value_and_grad(f, argnums)

    @functools.wraps(f)
    def gradient(*args):
        return value_and_grad_f(*args)[1]

    return gradient


def value_and_grad(f, argnums=0):
    """Like :func:`grad`, but the function returns ``(f(*args), gradient)``."""

    @functools.wraps(f)
    def value_and_gradient(*args):
        positions = _positions(argnums, len(args))
        args = _tracked(args, positions)
        with enable_grad():
            value = _tensor_result(f(*args), "grad")
            if value.size != 1:
                raise ValueError(f"grad(f): f must return a scalar, got shape {value.shape}")
            grads = _vjp(value, [args[i] for i in positions])
        return value, (grads[0] if isinstance(argnums, int) else grads)

    return value_and_gradient


def vjp(f, *primals):
    """Evaluate ``f`` and return its vector-Jacobian product as a function.

    Returns
    -------
    (Tensor, callable)
        ``out = f(*primals)`` and ``vjp_fn(u)``, which returns a tuple with
        ``u^T (d out / d primal_i)`` for every primal: the gradient of
        ``sum(u * out)``, which is what backpropagation computes.
    """
    primals = _tracked(primals, range(len(primals)))
    with enable_grad():
        out = _tensor_result(f(*primals), "vjp")

    def vjp_fn(cotangent: Tensor) -> tuple:
        _check_same_shape(cotangent, out, "vjp: the cotangent", "the output")
        with enable_grad():
            return _vjp(out, primals, cotangent)

    return out, vjp_fn


def jvp(f, primals, tangents):
    """The Jacobian-vector product ``J v``, forward mode from two reverse passes.

    The double-vjp trick: for a dummy cotangent ``u``, ``w(u) = J^T u`` is
    linear in ``u``, so ``d/du <J^T u, v> = J v``. The first reverse pass
    builds ``J^T u`` as a differentiable function of ``u`` (``create_graph``);
    the second differentiates ``<J^T u, v>`` with respect to ``u``. The value
    of ``u`` does not matter (zeros here).

    Parameters
    ----------
    primals, tangents : Tensor or tuple of Tensors
        The point x and the direction v (one tangent per primal, same shapes).

    Returns
    -------
    (Tensor, Tensor)
        ``f(*primals)`` and ``J v = sum_i (d out / d primal_i) v_i``, shaped like the output.
    """
    primals, tangents = _matched(primals, tangents, "jvp")
    primals = _tracked(primals, range(len(primals)))
    with enable_grad():
        out = _tensor_result(f(*primals), "jvp")
        dummy = zeros_like(out, requires_grad=True)
        pulled_back = _vjp(out, primals, dummy)
        (tangent_out,) = _vjp(_inner(pulled_back, tangents), [dummy])
    return out, tangent_out


def jacobian(f, argnums=0):
    """The Jacobian of ``f`` as a function, built row by row from vjps.

    Returns
    -------
    callable
        ``jac(*args)`` returns ``J`` with ``J[i..., j...] = d out[i...] / d x[j...]``
        of shape ``out.shape + x.shape`` (a tuple over ``argnums`` if it is a
        tuple). One reverse pass per output entry, with ``e_i`` as cotangent.
    """

    @functools.wraps(f)
    def jacobian_of_f(*args):
        positions = _positions(argnums, len(args))
        args = _tracked(args, positions)
        inputs = [args[i] for i in positions]
        with enable_grad():
            out = _tensor_result(f(*args), "jacobian")
            if out.size == 0:
                raise ValueError(f"jacobian(f): f returned an empty tensor of shape {out.shape}")
            rows = [_vjp(out, inputs, _basis(out, k)) for k in range(out.size)]
            jacobians = tuple(
                stack([row[j] for row in rows]).reshape(out.shape + x.shape)
                for j, x in enumerate(inputs)
            )
        return jacobians[0] if isinstance(argnums, int) else jacobians

    return jacobian_of_f


def hessian(f, argnums: int = 0):
    """The Hessian ``d^2 f / dx^2`` of a scalar ``f`` as a function: jacobian(grad(f)).

    ``hessian(f)(x)`` has shape ``x.shape + x.shape``.
    """
    if not isinstance(argnums, int):
        raise TypeError(f"hessian takes one argument position (an int), got {argnums!r}")
    return jacobian(grad(f, argnums), argnums)


def hvp(f, primals, tangents):
    """The Hessian-vector product ``H v`` of a scalar ``f``, reverse over reverse.

    ``H v = d/dx <grad f(x), v>``: one reverse pass with ``create_graph`` gives
    ``grad f`` as a differentiable function of x, a second one differentiates
    its inner product with the constant ``v``. Never forms ``H``.

    Returns
    -------
    (Tensor, Tensor or tuple)
        ``f(*primals)`` and ``H v`` (a tuple, one per primal, when primals is a tuple).
    """
    single = isinstance(primals, Tensor)
    primals, tangents = _matched(primals, tangents, "hvp")
    primals = _tracked(primals, range(len(primals)))
    with enable_grad():
        out = _tensor_result(f(*primals), "hvp")
        if out.size != 1:
            raise ValueError(f"hvp(f): f must return a scalar, got shape {out.shape}")
        products = _vjp(_inner(_vjp(out, primals), tangents), primals)
    return out, (products[0] if single else products)


# ---------------------------------------------------------------- helpers
def _vjp(out: Tensor, inputs, cotangent: Tensor | None = None) -> tuple:
    """``d <cotangent, out> / d inputs``, differentiable, zeros for unused inputs."""
    if not out.requires_grad:
        return tuple(zeros_like(x) for x in inputs)
    grads = _engine_grad(out, inputs, grad_outputs=cotangent, create_graph=True, allow_unused=True)
    return tuple(zeros_like(x) if g is None else g for g, x in zip(grads, inputs, strict=True))


def _inner(tensors, others) -> Tensor:
    """``sum_i <tensors_i, others_i>`` over all entries."""
    return sum((a * b).sum() for a, b in zip(tensors, others, strict=True))


def _basis(out: Tensor, k: int) -> Tensor:
    """The unit tensor e_k shaped like ``out`` (1 at flat position k)."""
    xp = out.xp
    positions = xp.arange(out.size, device=out.device)
    return Tensor(xp.reshape(xp.astype(positions == k, out.dtype), out.shape))


def _positions(argnums, n_args: int) -> tuple:
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for position in positions:
        if not isinstance(position, int) or not -n_args <= position < n_args:
            raise ValueError(f"argnums {argnums!r} does not fit a call with {n_args} arguments")
    return tuple(p % n_args for p in positions)


def _tracked(args, positions) -> list:
    args = list(args)
    for position in positions:
        x = args[position]
        if not isinstance(x, Tensor):
            raise TypeError(
                f"argument {position} is differentiated, so it must be a Tensor, "
                f"got {type(x).__name__}"
            )
        if not x.requires_grad:
            args[position] = x.detach().requires_grad_(True)
    return args


def _tensor_result(value, transform: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{transform}(f): f must return one Tensor, got {type(value).__name__}")
    return value


def _matched(primals, tangents, transform: str) -> tuple:
    primals = (primals,) if isinstance(primals, Tensor) else tuple(primals)
    tangents = (tangents,) if isinstance(tangents, Tensor) else tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"{transform}: {len(primals)} primals but {len(tangents)} tangents (one per primal)"
        )
    for i, (x, v) in enumerate(zip(primals, tangents, strict=True)):
        _check_same_shape(v, x, f"{transform}: tangent {i}", "its primal")
    return primals, tangents


def _check_same_shape(tensor, reference: Tensor, what: str, reference_what: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} must be a Tensor, got {type(tensor).__name__}")
    if tensor.shape != reference.shape:
        raise ValueError(
            f"{what} has shape {tensor.shape} but {reference_what} has shape {reference.shape}"
        )
