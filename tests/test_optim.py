"""Optimizers without torch: they minimise, they checkpoint exactly, they keep dtypes.

The comparisons with torch.optim trajectories live in test_optim_torch.py.
"""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend as backends
from tinygrad_edu import nn, optim
from tinygrad_edu.optim import lr_scheduler

ROSENBROCK_START = (-1.5, 2.0)


def rosenbrock(v):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1)."""
    x, y = v[0], v[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _minimise(optimizer, loss_fn, steps):
    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)


# (optimizer, settings, steps, the value it must get below; f starts at 12.5)
ROSENBROCK_RUNS = [
    ("SGD", {"lr": 1e-3}, 500, 5.0),
    ("SGD", {"lr": 1e-3, "momentum": 0.9}, 500, 0.01),
    ("Adagrad", {"lr": 1.0}, 500, 4.0),
    ("RMSprop", {"lr": 3e-3, "momentum": 0.9}, 500, 0.1),
    ("Adam", {"lr": 0.1}, 500, 0.02),
    ("AdamW", {"lr": 0.1}, 500, 0.05),
    ("LBFGS", {"lr": 0.1}, 5, 4.0),
    ("LBFGS", {"line_search_fn": "strong_wolfe"}, 5, 1e-9),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "steps", "bound"), ROSENBROCK_RUNS, ids=lambda c: str(c)
)
def test_rosenbrock_is_lowered(backend_name, name, kwargs, steps, bound):
    v = tg.tensor(ROSENBROCK_START, dtype="float64", backend=backend_name, requires_grad=True)
    start_value = rosenbrock(v).item()
    _minimise(getattr(optim, name)([v], **kwargs), lambda: rosenbrock(v), steps)
    assert start_value == 12.5
    assert rosenbrock(v).item() < bound


def test_lbfgs_strong_wolfe_reaches_the_rosenbrock_minimum(backend_name):
    """Within 100 L-BFGS iterations (state ``n_iter``, one ``step`` call): (1, 1) to 1e-6.

    The default tolerances stop at |grad| <= 1e-7, about 2e-6 from (1, 1) here;
    tighter ones let the iterations finish the job (43 iterations, 53 closure calls).
    """
    v = tg.tensor(ROSENBROCK_START, dtype="float64", backend=backend_name, requires_grad=True)
    opt = optim.LBFGS(
        [v],
        max_iter=100,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        line_search_fn="strong_wolfe",
    )
    _minimise(opt, lambda: rosenbrock(v), 1)
    assert opt.state[v]["n_iter"] <= 100
    assert opt.state[v]["func_evals"] <= opt.param_groups[0]["max_eval"] == 125
    np.testing.assert_allclose(v.numpy(), [1.0, 1.0], rtol=0, atol=1e-6)


def _least_squares(backend_name, dtype="float64"):
    """Data, parameters (w and a bias c) and the loss mean((X w + c - y)^2); its minimum."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(40)
    design = np.hstack([X, np.ones((40, 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    best = float(np.mean((design @ solution - y) ** 2))
    Xt, yt = (
        tg.tensor(X, dtype=dtype, backend=backend_name),
        tg.tensor(y, dtype=dtype, backend=backend_name),
    )
    w = tg.zeros(3, dtype=dtype, backend=backend_name, requires_grad=True)
    c = tg.zeros(1, dtype=dtype, backend=backend_name, requires_grad=True)
    return (w, c), lambda: ((Xt @ w + c - yt) ** 2).mean(), best


LEAST_SQUARES_RUNS = [
    ("SGD", {"lr": 0.1}, 100),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, 100),
    ("Adagrad", {"lr": 0.5}, 100),
    ("RMSprop", {"lr": 0.01, "centered": True}, 100),
    ("Adam", {"lr": 0.1, "amsgrad": True}, 100),
    ("AdamW", {"lr": 0.1}, 100),
    ("LBFGS", {}, 2),
    ("LBFGS", {"line_search_fn": "strong_wolfe"}, 2),
]


@pytest.mark.parametrize(("name", "kwargs", "steps"), LEAST_SQUARES_RUNS, ids=lambda c: str(c))
def test_least_squares_gap_closes(backend_name, name, kwargs, steps):
    params, loss_fn, best = _least_squares(backend_name)
    start_gap = loss_fn().item() - best
    _minimise(getattr(optim, name)(params, **kwargs), loss_fn, steps)
    assert loss_fn().item() - best < 0.05 * start_gap


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "LBFGS"])
def test_float32_parameters_stay_float32(backend_name, xp, name):
    params, loss_fn, _ = _least_squares(backend_name, dtype="float32")
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    opt = getattr(optim, name)(params, lr=0.01, **kwargs)
    _minimise(opt, loss_fn, 3)
    assert all(p.dtype == xp.float32 for p in params)
    arrays = [
        a
        for s in opt.state.values()
        for v in s.values()
        for a in (v if isinstance(v, list) else [v])
        if hasattr(a, "dtype")
    ]
    assert arrays and all(a.dtype == xp.float32 for a in arrays)


def test_sgd_step_is_the_formula(backend_name):
    w = tg.tensor([1.0, -2.0], dtype="float64", backend=backend_name, requires_grad=True)
    (w * w).sum().backward()
    optim.SGD([w], lr=0.25).step()
    np.testing.assert_array_equal(w.numpy(), [1.0 - 0.25 * 2.0, -2.0 + 0.25 * 4.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True),
        lambda ps: optim.Adam(ps, weight_decay=0.1, amsgrad=True),
        lambda ps: optim.RMSprop(ps, momentum=0.5, centered=True),
        lambda ps: optim.Adagrad(ps, weight_decay=0.1),
    ],
)
def test_step_leaves_gradients_alone_and_skips_parameters_without_one(backend_name, make):
    used = tg.tensor([1.0, -2.0], dtype="float64", backend=backend_name, requires_grad=True)
    unused = tg.tensor([3.0], dtype="float64", backend=backend_name, requires_grad=True)
    opt = make([used, unused])
    for _ in range(2):
        opt.zero_grad()
        (used * used).sum().backward()
        grad_before = used.grad.numpy().copy()
        unused_before = unused.data
        opt.step()
        np.testing.assert_array_equal(used.grad.numpy(), grad_before)
        assert unused.data is unused_before and unused.grad is None
    assert unused not in opt.state and opt.state[used]


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "LBFGS"])
def test_zero_dimensional_parameters(backend_name, name):
    """NumPy turns 0-d results into scalars; parameters must stay arrays and checkpoint."""
    w = tg.tensor(3.0, dtype="float64", backend=backend_name, requires_grad=True)
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    opt = getattr(optim, name)([w], lr=0.1, **kwargs)
    _minimise(opt, lambda: (w - 1) ** 2, 3)
    assert w.shape == () and type(w.data) is type(tg.zeros(1, backend=backend_name).data)
    assert abs(w.item() - 1.0) < 1.9  # closer to the minimum at 1 than the start, 3
    tensors, metadata = opt.flat_state()
    assert all(t.numpy().ndim <= 1 for t in tensors.values())
    opt.load_flat_state({k: t.numpy() for k, t in tensors.items()}, metadata)
    _minimise(opt, lambda: (w - 1) ** 2, 1)


def test_zero_grad(backend_name):
    w = tg.tensor([1.0, 2.0], dtype="float64", backend=backend_name, requires_grad=True)
    opt = optim.SGD([w])
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_parameter_groups_use_their_own_learning_rate(backend_name):
    a = tg.tensor([1.0], dtype="float64", backend=backend_name, requires_grad=True)
    b = tg.tensor([1.0], dtype="float64", backend=backend_name, requires_grad=True)
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.25)
    (a + b).sum().backward()
    opt.step()
    assert (a.item(), b.item()) == (0.5, 0.75)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.25]


# ------------------------------------------------------------ checkpoints
CHECKPOINTED = {
    "SGD": lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9, nesterov=True),
    "Adam": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True),
    "LBFGS": lambda ps: optim.LBFGS(ps, max_iter=2, history_size=3, line_search_fn="strong_wolfe"),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
}


def _rosenbrock_run(backend_name, make, steps, params_from=ROSENBROCK_START, load=None):
    v = tg.tensor(params_from, dtype="float64", backend=backend_name, requires_grad=True)
    opt = make([v])
    if load is not None:
        load(opt)
    _minimise(opt, lambda: rosenbrock(v), steps)
    return v, opt


@pytest.mark.parametrize("name", list(CHECKPOINTED))
def test_restored_optimizer_continues_bit_identically(backend_name, name):
    """10 + 10 steps through a NumPy checkpoint equal 20 uninterrupted steps, bit for bit."""
    make = CHECKPOINTED[name]
    uninterrupted, full_opt = _rosenbrock_run(backend_name, make, 20)
    first_half, opt = _rosenbrock_run(backend_name, make, 10)
    tensors, metadata = opt.flat_state()
    on_disk = {key: t.numpy().copy() for key, t in tensors.items()}
    assert all(isinstance(value, str) for value in metadata.values())
    resumed, resumed_opt = _rosenbrock_run(
        backend_name,
        make,
        10,
        params_from=first_half.numpy().copy(),
        load=lambda o: o.load_flat_state(on_disk, metadata),
    )
    np.testing.assert_array_equal(resumed.numpy(), uninterrupted.numpy())
    assert not np.array_equal(resumed.numpy(), first_half.numpy())
    counters = {k: v for k, v in full_opt.state[uninterrupted].items() if isinstance(v, int)}
    assert counters == {k: resumed_opt.state[resumed][k] for k in counters}
    assert set(counters) & {"step", "n_iter"} or name == "SGD"


def test_state_dict_round_trip_and_snapshot(backend_name):
    make = CHECKPOINTED["LBFGS"]
    uninterrupted, _ = _rosenbrock_run(backend_name, make, 6)
    first_half, opt = _rosenbrock_run(backend_name, make, 3)
    saved = opt.state_dict()
    params_at_save = first_half.numpy().copy()
    n_iter, history = saved["state"][0]["n_iter"], len(saved["state"][0]["old_dirs"])
    _minimise(opt, lambda: rosenbrock(first_half), 1)  # must not change the saved dict
    assert (saved["state"][0]["n_iter"], len(saved["state"][0]["old_dirs"])) == (n_iter, history)
    assert saved["param_groups"][0]["params"] == [0]
    resumed, _ = _rosenbrock_run(
        backend_name, make, 3, params_from=params_at_save, load=lambda o: o.load_state_dict(saved)
    )
    np.testing.assert_array_equal(resumed.numpy(), uninterrupted.numpy())


def test_load_state_dict_restores_hyperparameters_and_moves_state(backend_name, xp):
    source = tg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    opt = optim.Adam([source], lr=0.05)
    _minimise(opt, lambda: (source * source).sum(), 2)
    target = tg.tensor([1.0, 2.0], dtype="float32", backend=backend_name, requires_grad=True)
    restored = optim.Adam([target], lr=0.9)
    restored.load_state_dict(opt.state_dict())
    assert restored.param_groups[0]["lr"] == 0.05
    assert restored.param_groups[0]["params"][0] is target
    assert restored.state[target]["step"] == 2
    assert restored.state[target]["exp_avg"].dtype == xp.float32
    np.testing.assert_allclose(
        tg.tensor(restored.state[target]["exp_avg"]).numpy(),
        tg.tensor(opt.state[source]["exp_avg"]).numpy(),
        rtol=1e-6,
    )


def test_load_state_dict_rejects_a_different_layout():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([a, b], momentum=0.9)
    _minimise(opt, lambda: (a * b).sum(), 1)
    other = optim.SGD([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict but 1 here"):
        optim.SGD([a]).load_state_dict(opt.state_dict())
    bad = opt.state_dict()
    bad["state"][7] = {}
    before = opt.state_dict()
    with pytest.raises(KeyError, match=r"\[7\]"):
        opt.load_state_dict(bad)
    assert opt.state_dict()["state"].keys() == before["state"].keys()
    with pytest.raises(KeyError, match="optimizer.layout"):
        opt.load_flat_state({}, {})
    tensors, metadata = opt.flat_state()
    with pytest.raises(KeyError, match="state.0.momentum_buffer"):
        opt.load_flat_state({}, metadata)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: optim.SGD(p[0]), TypeError, "single Tensor"),
        (lambda p: optim.Adam([]), ValueError, "empty parameter list"),
        (lambda p: optim.SGD(p, lr=-1.0), ValueError, "learning rate"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), ValueError, "beta2"),
        (lambda p: optim.SGD(p, nesterov=True), ValueError, "Nesterov"),
        (lambda p: optim.SGD([p[0], p[0]]), ValueError, "more than once"),
        (lambda p: optim.SGD([p[0] * 2]), ValueError, "non-leaf"),
        (lambda p: optim.SGD([1.0]), TypeError, "Tensors"),
        (lambda p: optim.LBFGS([{"params": p}, {"params": [tg.zeros(1)]}]), ValueError, "groups"),
        (lambda p: optim.LBFGS(p, line_search_fn="armijo"), ValueError, "strong_wolfe"),
        (lambda p: optim.LBFGS(p).step(None), TypeError, "closure"),
        (lambda p: lr_scheduler.StepLR(optim.SGD(p), step_size=0), ValueError, "step_size"),
        (lambda p: lr_scheduler.ExponentialLR(object(), gamma=0.5), TypeError, "not an Optimizer"),
    ],
)
def test_bad_input_gets_a_clear_error(make, error, message):
    params = [tg.tensor([1.0], requires_grad=True)]
    with pytest.raises(error, match=message):
        make(params)


# ------------------------------------------------------------ schedulers
def _sgd(lr=0.1):
    return optim.SGD([tg.zeros(1, requires_grad=True)], lr=lr)


def test_schedulers_follow_their_closed_forms():
    schedules = [
        (lr_scheduler.StepLR(_sgd(), step_size=4, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 4)),
        (lr_scheduler.ExponentialLR(_sgd(), gamma=0.9), lambda e: 0.1 * 0.9**e),
        (
            lr_scheduler.CosineAnnealingLR(_sgd(), T_max=10, eta_min=0.01),
            lambda e: 0.01 + 0.5 * 0.09 * (1 + math.cos(math.pi * e / 10)),
        ),
    ]
    for scheduler, closed_form in schedules:
        assert scheduler.get_last_lr() == [0.1]
        for epoch in range(1, 31):
            scheduler.step()
            assert scheduler.last_epoch == epoch
            assert scheduler.get_last_lr()[0] == pytest.approx(closed_form(epoch), rel=1e-12)
            assert scheduler.optimizer.param_groups[0]["lr"] == scheduler.get_last_lr()[0]


def test_scheduler_state_dict_round_trip():
    scheduler = lr_scheduler.CosineAnnealingLR(_sgd(), T_max=8)
    for _ in range(5):
        scheduler.step()
    saved = scheduler.state_dict()
    assert "optimizer" not in saved
    optimizer = _sgd()
    optimizer.load_state_dict(scheduler.optimizer.state_dict())
    resumed = lr_scheduler.CosineAnnealingLR(optimizer, T_max=8)
    resumed.load_state_dict(saved)
    for _ in range(5):
        scheduler.step()
        resumed.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr()
    with pytest.raises(KeyError, match="unknown scheduler state"):
        resumed.load_state_dict({"gamma": 0.5})


# ------------------------------------------------------------------ in-place steps
@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_parameters_step_in_place_and_plain_tensors_leave_the_callers_array(backend_name, name):
    start = np.array([1.0, -2.0])
    param = nn.Parameter(tg.tensor(start, backend=backend_name, dtype="float64"))
    plain = tg.tensor(start.copy(), backend=backend_name, dtype="float64", requires_grad=True)
    caller_array = plain.data
    opt = getattr(optim, name)([param, plain], lr=0.1)
    array_before = param.data
    opt.zero_grad()
    ((param * param).sum() + (plain * plain).sum()).backward()
    opt.step()
    mutable = backends.is_mutable(param.xp)
    assert (param.data is array_before) == mutable  # in place exactly where arrays are mutable
    np.testing.assert_array_equal(tg.tensor(caller_array).numpy(), start)  # rebound, not written
    np.testing.assert_allclose(param.numpy(), plain.numpy(), rtol=1e-15)
    assert not np.array_equal(param.numpy(), start)


def test_parameter_copies_the_array_it_is_given():
    source = np.array([1.0, 2.0])
    param = nn.Parameter(source)
    param.grad = tg.tensor(np.array([1.0, 1.0]))
    optim.SGD([param], lr=0.5).step()
    np.testing.assert_array_equal(param.numpy(), [0.5, 1.5])
    np.testing.assert_array_equal(source, [1.0, 2.0])  # the caller's array is untouched


def test_backward_through_a_graph_recorded_before_an_in_place_step_raises(backend_name):
    layer = nn.Linear(3, 2, dtype="float64", backend=backend_name)
    x = tg.ones(4, 3, dtype="float64", backend=backend_name)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    stale = layer(x).sum()  # recorded with the weights before the step
    layer(x).sum().backward()
    opt.step()
    if not backends.is_mutable(layer.weight.xp):
        stale.backward()  # rebinding keeps the old arrays: the old graph is still valid
        return
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()
    opt.zero_grad()
    layer(x).sum().backward()  # a fresh forward pass is fine
    assert layer.weight.grad is not None


def test_a_graph_on_a_detached_alias_of_a_stepped_parameter_raises(backend_name):
    weight = nn.Parameter(tg.tensor([1.0, 2.0, 3.0], dtype="float64", backend=backend_name))
    opt = optim.SGD([weight], lr=0.5)
    x = tg.ones(3, dtype="float64", backend=backend_name, requires_grad=True)
    (weight * weight).sum().backward()
    y = (x * weight.detach()).sum()  # saves the parameter's array under another tensor
    opt.step()
    if not backends.is_mutable(weight.xp):
        y.backward()  # rebinding: the graph keeps the old array, so the result is right
        np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
        return
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


@pytest.mark.parametrize("rebind", ["init", "user"])
def test_a_zero_dim_parameter_holding_a_numpy_scalar_still_steps(rebind):
    param = nn.Parameter(tg.tensor(1.0, dtype="float64"))
    if rebind == "init":
        nn.init.constant_(param, 3.0)
    else:
        param.data = param.data * 3  # NumPy makes a scalar of a 0-d product
    start = float(param.data)
    opt = optim.SGD([param], lr=0.1)
    (param * param).backward()
    opt.step()
    assert float(param.data) == pytest.approx(start - 0.1 * 2 * start)


def _library_optimizers():
    """Every Optimizer subclass that tinygrad_edu.optim defines (the registry tests iterate)."""
    found, todo = [], [optim.Optimizer]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("tinygrad_edu.optim"):
                found.append(sub)
    return sorted(set(found), key=lambda cls: cls.__name__)


def test_the_optimizer_registry_holds_every_exported_optimizer():
    exported = {getattr(optim, name) for name in optim.__all__}
    assert {cls for cls in exported if isinstance(cls, type) and cls is not optim.Optimizer} == set(
        _library_optimizers()
    )


def _trajectory(cls, lr, steps=3):
    """Parameters after ``steps`` steps of ``cls(lr=lr)`` on a small least-squares problem."""
    rng = np.random.default_rng(5)
    X, Y = tg.tensor(rng.standard_normal((8, 3))), tg.tensor(rng.standard_normal((8, 2)))
    tg.manual_seed(5)
    model = nn.Linear(3, 2, dtype="float64")
    optimizer = cls(model.parameters(), lr=lr)
    calls_backward = not issubclass(cls, optim.NewtonCG)  # it differentiates the loss itself

    def closure():
        optimizer.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        if calls_backward:
            loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return optimizer, [p.numpy() for p in model.parameters()]


@pytest.mark.parametrize("cls", _library_optimizers(), ids=lambda cls: cls.__name__)
def test_a_zero_dim_tensor_or_array_learning_rate_acts_as_the_number(cls):
    _, expected = _trajectory(cls, 0.05)
    for lr in (tg.tensor(0.05, dtype="float64"), np.asarray(0.05), np.float64(0.05)):
        optimizer, got = _trajectory(cls, lr)
        assert type(optimizer.param_groups[0]["lr"]) is float
        for g, e in zip(got, expected, strict=True):
            assert g.dtype == np.float64 and g.tobytes() == e.tobytes(), type(lr)
    with pytest.raises(ValueError, match="learning rate.*0-d.*shape \\(2,\\)"):
        cls([tg.zeros(2, requires_grad=True)], lr=tg.tensor([0.1, 0.2]))


def test_tensor_hyperparameters_in_groups_and_betas_become_numbers():
    w = tg.zeros(2, requires_grad=True)
    optimizer = optim.Adam(
        [{"params": [w], "lr": tg.tensor(0.1)}], betas=(tg.tensor(0.8), np.asarray(0.9))
    )
    group = optimizer.param_groups[0]
    assert type(group["lr"]) is float and all(type(b) is float for b in group["betas"])
    with pytest.raises(ValueError, match="weight_decay.*0-d"):
        optim.Adam([{"params": [w], "weight_decay": np.zeros(3)}])


def test_newton_cg_trajectory_on_a_quadratic_is_newtons():
    """f(x) = x^T A x / 2 - b^T x: CG solves the Newton system exactly in n iterations,
    so the first step lands on A^{-1} b and the second stays there (no torch counterpart)."""
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 4))
    A, b = M @ M.T + 4 * np.eye(4), rng.standard_normal(4)
    x = tg.tensor(np.zeros(4), requires_grad=True)
    optimizer = optim.NewtonCG([x], tol=1e-12)
    A_t, b_t = tg.tensor(A), tg.tensor(b)
    trajectory = []
    for _ in range(2):
        optimizer.step(lambda: 0.5 * (x * (A_t @ x)).sum() - (b_t * x).sum())
        trajectory.append(x.numpy().copy())
    np.testing.assert_allclose(trajectory, [np.linalg.solve(A, b)] * 2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "LBFGS"])
def test_a_zero_dim_learning_rate_of_the_parameters_backend(backend_name, name):
    def run(lr):
        w = tg.tensor([1.0, -2.0], backend=backend_name, requires_grad=True)
        optimizer = getattr(optim, name)([w], lr=lr)

        def closure():
            optimizer.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss

        for _ in range(2):
            optimizer.step(closure)
        return w.numpy()

    expected = run(0.125)
    rate = tg.tensor(0.125, backend=backend_name)
    for lr in (rate, rate.data):  # the Tensor and its backend's own 0-d array
        got = run(lr)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
