"""Optimizers and schedulers against torch.optim: same start, same data, same trajectory.

A small tanh MLP (two weight matrices, two biases, and one parameter the loss
does not use, so it never gets a gradient) is trained for 50 steps in float64
by tinygrad_edu and by torch separately; the parameters must agree to 1e-6.

L-BFGS runs on an L2-regularised logistic regression instead: on the
non-convex MLP, fixed-step L-BFGS amplifies rounding differences of 1e-16
(torch and we sum in different orders) by about 10x per iteration, so after
a few hundred iterations any two implementations part ways. On a strongly
convex problem they must, and do, stay together.
"""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim

torch = pytest.importorskip("torch")

STEPS = 50

# (optimizer, keyword arguments): the defaults and one non-default setting each
CONFIGS = [
    ("SGD", {}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("SGD", {"lr": 0.01, "maximize": True}),
    ("Adagrad", {}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
    ),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
]

LBFGS_CONFIGS = [
    {},
    {"lr": 0.5, "max_iter": 3, "history_size": 4},
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "max_iter": 4, "history_size": 3},
]


# optimizers torch does not have, and the test that pins their trajectory instead
NO_TORCH_COUNTERPART = {
    "NewtonCG": "test_optim.py::test_newton_cg_trajectory_on_a_quadratic_is_newtons",
}


def test_every_optimizer_has_a_trajectory_test():
    from tests.test_optim import _library_optimizers

    covered = {name for name, _ in CONFIGS} | {"LBFGS"} | set(NO_TORCH_COUNTERPART)
    missing = [cls.__name__ for cls in _library_optimizers() if cls.__name__ not in covered]
    assert not missing, f"add a trajectory case to CONFIGS for {missing}"


def _problem():
    rng = np.random.default_rng(42)
    X = rng.standard_normal((16, 3))
    Y = np.stack([np.sin(X[:, 0]) + X[:, 1] * X[:, 2], X[:, 0] - X[:, 2] ** 2], axis=1)
    params = {
        "w1": rng.standard_normal((3, 6)) * 0.5,
        "b1": rng.standard_normal(6) * 0.1,
        "w2": rng.standard_normal((6, 2)) * 0.5,
        "b2": np.zeros(2),
        "unused": rng.standard_normal(4),
    }
    return X, Y, params


def _mlp_loss(X, Y, p):
    hidden = (X @ p["w1"] + p["b1"]).tanh()
    return (((hidden @ p["w2"] + p["b2"]) - Y) ** 2).mean()


def _logistic_problem():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 4)) * np.array([1.0, 3.0, 0.3, 1.0])
    T = (rng.uniform(size=(40, 2)) < 1 / (1 + np.exp(-2 * X[:, :2]))).astype(np.float64)
    params = {
        "w": rng.standard_normal((4, 2)),
        "b": rng.standard_normal(2),
        "unused": rng.standard_normal(3),
    }
    return X, T, params


def _logistic_loss(X, T, p):
    """Mean binary cross-entropy of ``sigmoid(X w + b)`` plus ``1e-3 |w|^2``."""
    z = X @ p["w"] + p["b"]
    return ((1 + z.exp()).log() - T * z).mean() + 0.001 * (p["w"] ** 2).sum()


def _train(make_optimizer, params, X, Y, steps, loss_fn=_mlp_loss):
    """``steps`` optimizer steps on ``loss_fn`` (tinygrad_edu or torch tensors alike)."""
    optimizer = make_optimizer(list(params.values()))

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(X, Y, params)
        loss.backward()
        return loss

    for _ in range(steps):
        if isinstance(optimizer, (optim.LBFGS, torch.optim.LBFGS)):
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
    return optimizer


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=lambda c: str(c))
def test_trajectory_matches_torch(backend_name, xp, name, kwargs):
    X, Y, start = _problem()
    ours = {k: tg.tensor(v, backend=backend_name, requires_grad=True) for k, v in start.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    opt = _train(
        lambda ps: getattr(optim, name)(ps, **kwargs),
        ours,
        tg.tensor(X, backend=backend_name),
        tg.tensor(Y, backend=backend_name),
        STEPS,
    )
    torch_opt = _train(
        lambda ps: getattr(torch.optim, name)(ps, **kwargs),
        theirs,
        torch.tensor(X),
        torch.tensor(Y),
        STEPS,
    )
    for key in start:
        got, want = ours[key].numpy(), theirs[key].detach().numpy()
        assert not np.array_equal(want, start[key]) or key == "unused"
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12, err_msg=key)
        assert ours[key].dtype == xp.float64
    np.testing.assert_array_equal(ours["unused"].numpy(), start["unused"])
    assert opt.state[ours["w1"]].keys() == torch_opt.state[theirs["w1"]].keys()
    assert ours["unused"] not in opt.state


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS, ids=lambda c: str(c))
def test_lbfgs_trajectory_matches_torch(backend_name, xp, kwargs):
    X, T, start = _logistic_problem()
    ours = {k: tg.tensor(v, backend=backend_name, requires_grad=True) for k, v in start.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    opt = _train(
        lambda ps: optim.LBFGS(ps, **kwargs),
        ours,
        tg.tensor(X, backend=backend_name),
        tg.tensor(T, backend=backend_name),
        STEPS,
        _logistic_loss,
    )
    torch_opt = _train(
        lambda ps: torch.optim.LBFGS(ps, **kwargs),
        theirs,
        torch.tensor(X),
        torch.tensor(T),
        STEPS,
        _logistic_loss,
    )
    for key in start:
        np.testing.assert_allclose(
            ours[key].numpy(), theirs[key].detach().numpy(), rtol=1e-6, atol=1e-12, err_msg=key
        )
    np.testing.assert_array_equal(ours["unused"].numpy(), start["unused"])
    ours_state, torch_state = opt.state[ours["w"]], torch_opt.state[theirs["w"]]
    assert ours_state["n_iter"] == torch_state["n_iter"] > STEPS
    assert ours_state["func_evals"] == torch_state["func_evals"]
    assert len(ours_state["old_dirs"]) == len(torch_state["old_dirs"])
    assert ours_state["t"] == pytest.approx(float(torch_state["t"]), rel=1e-6)


def test_parameter_groups_match_torch(backend_name):
    X, Y, start = _problem()
    ours = {k: tg.tensor(v, backend=backend_name, requires_grad=True) for k, v in start.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}

    def groups(ps):
        return [{"params": ps[:2], "lr": 0.1, "momentum": 0.5}, {"params": ps[2:]}]

    _train(
        lambda ps: optim.SGD(groups(ps), lr=0.02, momentum=0.9),
        ours,
        tg.tensor(X, backend=backend_name),
        tg.tensor(Y, backend=backend_name),
        20,
    )
    _train(
        lambda ps: torch.optim.SGD(groups(ps), lr=0.02, momentum=0.9),
        theirs,
        torch.tensor(X),
        torch.tensor(Y),
        20,
    )
    for key in start:
        np.testing.assert_allclose(ours[key].numpy(), theirs[key].detach().numpy(), rtol=1e-6)


SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULERS, ids=lambda c: str(c))
def test_scheduler_sequence_matches_torch(name, kwargs):
    ours_opt = optim.SGD(
        [
            {"params": [tg.zeros(2, requires_grad=True)], "lr": 0.1},
            {"params": [tg.zeros(2, requires_grad=True)], "lr": 0.03},
        ]
    )
    torch_opt = torch.optim.SGD(
        [
            {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1},
            {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.03},
        ]
    )
    ours = getattr(optim.lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    assert ours.get_last_lr() == theirs.get_last_lr()
    for _ in range(30):
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15, abs=1e-18)
        assert [g["lr"] for g in ours_opt.param_groups] == ours.get_last_lr()
        assert ours.last_epoch == theirs.last_epoch


def _rosenbrock_and_gradient(v):
    x, y = v[0], v[1]
    value = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    return float(value), [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)]


def _wavy_and_gradient(v):
    x, y = v[0], v[1]
    value = x * x + y * y + np.sin(5 * x) + np.cos(3 * y)
    return float(value), [2 * x + 5 * np.cos(5 * x), 2 * y - 3 * np.sin(3 * y)]


# (function, start, first trial step, max_ls): together they reach every branch of the
# search: extrapolation, zoom, the 10%-inside rule, "old low becomes high", max_ls spent
LINE_SEARCHES = [
    (_rosenbrock_and_gradient, (-1.5, 2.0), 1e-4, 25),
    (_rosenbrock_and_gradient, (-1.5, 2.0), 1.0, 25),
    (_rosenbrock_and_gradient, (-1.5, 2.0), 30.0, 25),
    (_rosenbrock_and_gradient, (0.5, -0.9), 1e-3, 2),
    (_rosenbrock_and_gradient, (-1.7, 1.3), 10.0, 25),
    (_rosenbrock_and_gradient, (1.3, 1.7), 1.0, 25),
    (_wavy_and_gradient, (-0.3, 0.9), 10.0, 25),
    (_wavy_and_gradient, (-1.5, 0.9), 100.0, 25),
    (_wavy_and_gradient, (0.1, 1.1), 100.0, 25),
]


@pytest.mark.parametrize(
    ("function", "start", "first_step", "max_ls"),
    LINE_SEARCHES,
    ids=lambda c: getattr(c, "__name__", str(c)),
)
def test_strong_wolfe_line_search_matches_torch(xp, function, start, first_step, max_ls):
    from torch.optim.lbfgs import _strong_wolfe as torch_strong_wolfe

    from tinygrad_edu.optim.lbfgs import _strong_wolfe

    x0 = np.array(start)
    f0, g0 = function(x0)
    d = -np.array(g0) / np.abs(g0).sum()

    def ours_at(t):
        f, g = function(x0 + t * d)
        return f, xp.asarray(g, dtype=xp.float64)

    def theirs_at(x, t, direction):
        f, g = function(x0 + float(t) * direction.numpy())
        return f, torch.tensor(g, dtype=torch.float64)

    gtd = float(np.dot(g0, d))
    f, g, t, evals = _strong_wolfe(
        ours_at, first_step, xp.asarray(d), f0, xp.asarray(g0, dtype=xp.float64), gtd, max_ls=max_ls
    )
    torch_f, torch_g, torch_t, torch_evals = torch_strong_wolfe(
        theirs_at,
        None,
        first_step,
        torch.tensor(d),
        f0,
        torch.tensor(g0, dtype=torch.float64),
        torch.tensor(gtd, dtype=torch.float64),
        max_ls=max_ls,
    )
    assert (f, float(t), evals) == pytest.approx((torch_f, float(torch_t), torch_evals), rel=1e-12)
    np.testing.assert_allclose(tg.tensor(g).numpy(), torch_g.numpy(), rtol=1e-12)
