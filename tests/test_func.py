"""Function transforms (grad, vjp, jvp, jacobian, hessian, hvp), Newton-CG and trajectories."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import func, optim
from tinygrad_edu.inspect import record_trajectory
from tinygrad_edu.optim.newton_cg import NewtonCG

from .helpers import make_input


def _values(backend_name, values):
    return tg.tensor(np.asarray(values, dtype=np.float64), backend=backend_name)


def _curve(x):
    """f: R^3 -> R^3, f(x) = (x0 x1, sin x0, x1^2 x2)."""
    return tg.stack([x[0] * x[1], x[0].sin(), x[1] * x[1] * x[2]])


def _curve_jacobian(x0, x1, x2):
    return np.array([[x1, x0, 0], [np.cos(x0), 0, 0], [0, 2 * x1 * x2, x1**2]])


def _scalar(x):
    """f(x) = x0^2 x1 + sin(x2) x0 + exp(x1)."""
    return x[0] * x[0] * x[1] + x[2].sin() * x[0] + x[1].exp()


def _scalar_hessian(x0, x1, x2):
    return np.array(
        [
            [2 * x1, 2 * x0, np.cos(x2)],
            [2 * x0, np.exp(x1), 0],
            [np.cos(x2), 0, -np.sin(x2) * x0],
        ]
    )


POINT = [0.7, -0.4, 1.3]


# ------------------------------------------------------------------ grad
def test_grad_and_value_and_grad(backend_name, xp):
    x = make_input((4,), backend_name, requires_grad=False)
    f = lambda t: (t.sin() * t).sum()  # noqa: E731
    xv = x.numpy()
    np.testing.assert_allclose(func.grad(f)(x).numpy(), np.cos(xv) * xv + np.sin(xv), rtol=1e-13)
    value, gradient = func.value_and_grad(f)(x)
    np.testing.assert_allclose(value.item(), np.sum(np.sin(xv) * xv), rtol=1e-13)
    np.testing.assert_allclose(gradient.numpy(), np.cos(xv) * xv + np.sin(xv), rtol=1e-13)
    assert not x.requires_grad and x.grad is None  # the input was copied, not touched


def test_grad_with_several_argnums(backend_name, xp):
    x = make_input((3,), backend_name)
    y = make_input((3,), backend_name, seed=1)
    dx, dy = func.grad(lambda a, b: (a * b * b).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(dx.numpy(), y.numpy() ** 2, rtol=1e-14)
    np.testing.assert_allclose(dy.numpy(), 2 * x.numpy() * y.numpy(), rtol=1e-14)
    only_y = func.grad(lambda a, b: (a * b * b).sum(), argnums=1)(x, y)
    np.testing.assert_allclose(only_y.numpy(), dy.numpy(), rtol=1e-14)
    assert x.grad is None and y.grad is None


def test_grad_composes_to_higher_derivatives(backend_name, xp):
    x = _values(backend_name, 0.5)
    cube = lambda t: t * t * t  # noqa: E731
    assert func.grad(func.grad(cube))(x).item() == pytest.approx(3.0, rel=1e-14)
    third = func.grad(func.grad(func.grad(cube)))(x)
    assert third.item() == pytest.approx(6.0, rel=1e-14)
    d2_sin = func.grad(func.grad(lambda t: t.sin()))(x)
    assert d2_sin.item() == pytest.approx(-math.sin(0.5), rel=1e-14)


def test_grad_of_an_unused_argument_is_zero():
    x, y = tg.tensor([1.0, 2.0], dtype="float64"), tg.tensor([3.0], dtype="float64")
    dx, dy = func.grad(lambda a, b: (a * a).sum(), argnums=(0, 1))(x, y)
    assert dy.tolist() == [0.0] and dx.tolist() == [2.0, 4.0]


def test_transform_errors_name_the_problem():
    x = tg.tensor([1.0, 2.0], dtype="float64")
    with pytest.raises(ValueError, match="scalar"):
        func.grad(lambda t: t * 2)(x)
    with pytest.raises(TypeError, match="argument 0 .* Tensor"):
        func.grad(lambda t: t * 2)(2.0)
    with pytest.raises(ValueError, match="argnums 3"):
        func.grad(lambda t: t.sum(), argnums=3)(x)
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(3,\)"):
        func.jvp(lambda t: t * 2, x, tg.tensor([1.0, 2.0, 3.0], dtype="float64"))
    with pytest.raises(TypeError, match="one Tensor"):
        func.jacobian(lambda t: (t, t))(x)


# ------------------------------------------------------------------ vjp, jvp
def test_vjp_is_u_transpose_times_jacobian(backend_name, xp):
    x = _values(backend_name, POINT)
    u = _values(backend_name, [0.3, -1.1, 2.0])
    out, vjp_fn = func.vjp(_curve, x)
    (pulled,) = vjp_fn(u)
    J = _curve_jacobian(*POINT)
    np.testing.assert_allclose(pulled.numpy(), u.numpy() @ J, rtol=1e-14)
    np.testing.assert_allclose(vjp_fn(u * 2.0)[0].numpy(), 2 * u.numpy() @ J, rtol=1e-14)
    with pytest.raises(ValueError, match="cotangent"):
        vjp_fn(_values(backend_name, [1.0]))


def test_jvp_equals_jacobian_times_v(backend_name, xp):
    x = _values(backend_name, POINT)
    v = _values(backend_name, [0.5, 2.0, -1.0])
    out, tangent_out = func.jvp(_curve, (x,), (v,))
    J = func.jacobian(_curve)(x)
    np.testing.assert_allclose(tangent_out.numpy(), J.numpy() @ v.numpy(), rtol=1e-14)
    np.testing.assert_allclose(tangent_out.numpy(), _curve_jacobian(*POINT) @ v.numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.numpy(), _curve(x).numpy(), rtol=1e-15)


def test_jvp_with_two_primals_sums_their_contributions(backend_name, xp):
    a = make_input((2, 3), backend_name)
    b = make_input((3,), backend_name, seed=1)
    va = make_input((2, 3), backend_name, seed=2)
    vb = make_input((3,), backend_name, seed=3)
    _, tangent = func.jvp(lambda p, q: p @ q, (a, b), (va, vb))
    expected = va.numpy() @ b.numpy() + a.numpy() @ vb.numpy()  # product rule
    np.testing.assert_allclose(tangent.numpy(), expected, rtol=1e-13)


# ------------------------------------------------------------------ jacobian, hessian, hvp
def test_jacobian_of_small_functions(backend_name, xp):
    x = _values(backend_name, POINT)
    np.testing.assert_allclose(
        func.jacobian(_curve)(x).numpy(), _curve_jacobian(*POINT), rtol=1e-14, atol=1e-15
    )
    X = make_input((2, 3), backend_name)
    B = make_input((3, 4), backend_name, seed=1)
    J = func.jacobian(lambda m: m @ B)(X)  # d(XB)_{ij} / dX_{kl} = delta_ik B_lj
    expected = np.einsum("ik,lj->ijkl", np.eye(2), B.numpy())
    assert J.shape == (2, 4, 2, 3)
    np.testing.assert_allclose(J.numpy(), expected, rtol=1e-14, atol=1e-15)
    dX, dB = func.jacobian(lambda m, n: (m @ n).sum(axis=0), argnums=(0, 1))(X, B)
    assert dX.shape == (4, 2, 3) and dB.shape == (4, 3, 4)


def test_hessian_of_small_functions(backend_name, xp):
    x = _values(backend_name, POINT)
    H = func.hessian(_scalar)(x)
    np.testing.assert_allclose(H.numpy(), _scalar_hessian(*POINT), rtol=1e-13, atol=1e-15)
    A = np.array([[2.0, 1.0], [0.0, 3.0]])
    quadratic = lambda t: 0.5 * (t @ (_values(backend_name, A) @ t))  # noqa: E731
    H_quadratic = func.hessian(quadratic)(_values(backend_name, [0.3, -0.2]))
    np.testing.assert_allclose(H_quadratic.numpy(), (A + A.T) / 2, rtol=1e-14)
    with pytest.raises(TypeError, match="one argument position"):
        func.hessian(_scalar, argnums=(0,))


def test_hvp_equals_hessian_times_v(backend_name, xp):
    x = _values(backend_name, POINT)
    v = _values(backend_name, [1.0, -2.0, 0.5])
    value, product = func.hvp(_scalar, x, v)
    np.testing.assert_allclose(product.numpy(), _scalar_hessian(*POINT) @ v.numpy(), rtol=1e-13)
    assert value.item() == pytest.approx(_scalar(x).item(), rel=1e-15)
    _, (product_tuple,) = func.hvp(_scalar, (x,), (v,))
    np.testing.assert_array_equal(product_tuple.numpy(), product.numpy())


def test_transform_results_stay_differentiable():
    x = tg.tensor([0.3, 0.8], dtype="float64", requires_grad=True)
    gradient = func.grad(lambda t: (t * t * t).sum())(x)  # 3 x^2, still a function of x
    gradient.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy(), rtol=1e-14)


# ------------------------------------------------------------------ Newton-CG
def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _distance_to_minimum(x) -> float:
    return math.hypot(*(v - 1.0 for v in x.tolist()))


def _newton_cg_iterations(backend_name="numpy", limit=100) -> int:
    x = tg.tensor([-1.2, 1.0], dtype="float64", backend=backend_name, requires_grad=True)
    optimizer = NewtonCG([x])
    while _distance_to_minimum(x) > 1e-8:
        assert optimizer.state.get(x, {}).get("n_iter", 0) < limit, "Newton-CG did not converge"
        optimizer.step(lambda: _rosenbrock(x))
    return optimizer.state[x]["n_iter"]


def test_newton_cg_minimizes_rosenbrock(backend_name, xp):
    assert _newton_cg_iterations(backend_name) <= 25


def _lbfgs_distance(lbfgs_class, tensor, n_iter: int) -> float:
    """Distance to (1, 1) after ``n_iter`` L-BFGS iterations (strong Wolfe) from (-1.2, 1)."""
    x = tensor([-1.2, 1.0], requires_grad=True)
    optimizer = lbfgs_class(
        [x],
        max_iter=n_iter,
        max_eval=10 * n_iter,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-14,
        tolerance_change=1e-20,
    )

    def closure():
        optimizer.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    optimizer.step(closure)
    return math.hypot(*(v - 1.0 for v in x.tolist()))


def test_newton_cg_needs_fewer_iterations_than_lbfgs():
    n_newton = _newton_cg_iterations()
    float64 = lambda values, requires_grad: tg.tensor(  # noqa: E731
        values, dtype="float64", requires_grad=requires_grad
    )
    assert _lbfgs_distance(optim.LBFGS, float64, n_newton) > 1e-8
    assert _lbfgs_distance(optim.LBFGS, float64, 100) <= 1e-8  # it does get there, later


def test_newton_cg_needs_fewer_iterations_than_torch_lbfgs():
    torch = pytest.importorskip("torch")
    n_newton = _newton_cg_iterations()
    float64 = lambda values, requires_grad: torch.tensor(  # noqa: E731
        values, dtype=torch.float64, requires_grad=requires_grad
    )
    assert _lbfgs_distance(torch.optim.LBFGS, float64, n_newton) > 1e-8
    assert _lbfgs_distance(torch.optim.LBFGS, float64, 100) <= 1e-8


def test_newton_cg_solves_a_quadratic_in_one_step(backend_name, xp):
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    b = np.array([1.0, -2.0, 0.5])
    weight = tg.tensor(np.zeros((3, 1)), backend=backend_name, requires_grad=True)
    bias = tg.tensor(np.zeros(1), backend=backend_name, requires_grad=True)
    A_t, b_t = _values(backend_name, A), _values(backend_name, b)

    def closure():
        x = tg.concat([weight.reshape(-1)[:2], weight.reshape(-1)[2:] + bias])
        return 0.5 * (x @ (A_t @ x)) - (b_t @ x)

    optimizer = NewtonCG([weight, bias], tol=1e-12)
    optimizer.step(closure)
    x = np.concatenate([weight.numpy().ravel()[:2], weight.numpy().ravel()[2:] + bias.numpy()])
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-12)


def test_newton_cg_escapes_negative_curvature():
    """f = x0^2 - x1^2 + x1^4 has a saddle at 0 and minima at (0, +-1/sqrt 2)."""
    x = tg.tensor([0.5, 0.1], dtype="float64", requires_grad=True)
    optimizer = NewtonCG([x])
    for _ in range(30):
        optimizer.step(lambda: x[0] ** 2 - x[1] ** 2 + x[1] ** 4)
    np.testing.assert_allclose(x.numpy(), [0.0, 1 / math.sqrt(2)], atol=1e-10)


def test_newton_cg_rejects_a_closure_that_frees_the_graph():
    x = tg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    optimizer = NewtonCG([x])

    def closure():
        loss = (x * x).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="retain_graph=True"):
        optimizer.step(closure)
    with pytest.raises(ValueError, match="tol"):
        NewtonCG([x], tol=1.5)


# ------------------------------------------------------------------ trajectories
def test_record_trajectory_with_closure_and_plain_optimizers():
    points, losses = record_trajectory(NewtonCG, _rosenbrock, [-1.2, 1.0], steps=25)
    assert points.shape == (26, 2) and losses.shape == (26,)
    np.testing.assert_array_equal(points[0], [-1.2, 1.0])
    assert losses[0] == pytest.approx(24.2) and losses[-1] < 1e-20
    assert np.all(np.diff(losses) <= 0)  # the Armijo line search never goes up
    sgd_points, sgd_losses = record_trajectory(
        lambda params: optim.SGD(params, lr=1e-3), _rosenbrock, [-1.2, 1.0], steps=5
    )
    x = np.array([-1.2, 1.0])
    for point in sgd_points[1:]:  # x <- x - lr * grad f(x)
        grad = np.array(
            [-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)]
        )
        x = x - 1e-3 * grad
        np.testing.assert_allclose(point, x, rtol=1e-12)
    lbfgs_points, _ = record_trajectory(
        lambda params: optim.LBFGS(params, max_iter=1, max_eval=25, line_search_fn="strong_wolfe"),
        _rosenbrock,
        [-1.2, 1.0],
        steps=3,
    )
    assert lbfgs_points.shape == (4, 2) and not np.allclose(lbfgs_points[3], lbfgs_points[0])
