"""tg.compile sees every change of what the step reads between calls, as eager does.

Each test runs one small model twice from the same seed, eagerly and compiled,
changes something the step reads between two calls (a global or closure number,
an argument object's attribute, a module's attribute, ``requires_grad``, the
optimizer's parameter groups, ...) and requires the compiled run to give
bitwise the losses, parameters, gradients and optimizer state of the eager run.
"""

import dataclasses
import re
import sys
import threading
import time
import types
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim

from .helpers import training_step
from .test_compile import _eager_and_compiled, _state_arrays

_rng = np.random.default_rng(0)
X = tg.tensor(_rng.standard_normal((8, 5)).astype("float32"))
Y = tg.tensor(_rng.standard_normal((8, 2)).astype("float32"))
LOSS_WEIGHT = 1.0  # read by the step of test_a_global_number_is_read_on_every_call


# ------------------------------------------------------------ harness
def _mlp(optimizer=optim.SGD, **hyper):
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
    return model, optimizer(model.parameters(), **({"lr": 0.1} | hyper))


def _run(build, compiled, steps):
    """``build()`` gives (model, opt, step, arguments); ``arguments(i)`` makes the changes due
    before call ``i`` and returns its arguments. The labelled losses and final state, the step."""
    tg.manual_seed(0)
    model, opt, step, arguments = build()
    run = tg.compile(step) if compiled else step
    values = []
    for i in range(steps):
        args = arguments(i)
        values.append((f"loss of call {i}", tg.Tensor(run(*args)).numpy().copy()))
        del args  # a fresh argument object dies here, as in a training loop
    values += [(f"state array {j}", v) for j, v in enumerate(_state_arrays(model, opt))]
    return values, run


def _assert_same(eager, compiled):
    for (label, a), (_, b) in zip(eager, compiled):  # the losses come first
        if a is None or b is None:
            assert a is None and b is None, f"{label}: eager {a!r}, compiled {b!r}"
        else:
            np.testing.assert_array_equal(b, a, err_msg=f"{label}: compiled differs from eager")
    assert len(eager) == len(compiled), "the optimizer state differs in size"


def _same_as_eager(build, steps=6):
    """Eager and compiled runs of ``build`` (see ``_run``) bitwise equal; the compiled step."""
    (eager, _), (compiled, run) = (_run(build, flag, steps) for flag in (False, True))
    _assert_same(eager, compiled)
    return run


def _compile_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, tg.CompileWarning)]


# ------------------------------------------------------------ 1. Python numbers the step reads
def test_a_global_number_is_read_on_every_call(monkeypatch):
    """A loss weight kept in a global and changed between calls is used by every call."""
    monkeypatch.setitem(globals(), "LOSS_WEIGHT", 1.0)

    def build():
        model, opt = _mlp()

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * LOSS_WEIGHT
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            globals()["LOSS_WEIGHT"] = float(i + 1)  # a warm-up schedule of the loss weight
            return X, Y

        return model, opt, step, arguments

    _same_as_eager(build)


def test_a_closure_number_is_read_on_every_call():
    """A loss weight in a closure cell (nonlocal) changed between calls is used by every call."""

    def build():
        model, opt = _mlp()
        weight = 1.0

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * weight
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            nonlocal weight
            weight = float(i + 1)
            return X, Y

        return model, opt, step, arguments

    _same_as_eager(build)


# ------------------------------------------------------------ 2. argument objects
class _Config:
    def __init__(self, scale):
        self.scale = scale


@pytest.mark.parametrize("fresh", [False, True], ids=["attribute-changed", "fresh-object"])
def test_an_argument_objects_attributes_are_read_on_every_call(fresh):
    """A config object argument is read on every call: its changed attribute, or a new object."""

    def build():
        model, opt = _mlp()
        kept = _Config(1.0)

        def step(x, y, config):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * config.scale
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            if fresh:  # freed after the call: CPython hands its id to the next one
                return X, Y, _Config(float(i + 1))
            kept.scale = float(i + 1)
            return X, Y, kept

        return model, opt, step, arguments

    _same_as_eager(build, steps=12)  # a few calls: the freed ids come back


# ------------------------------------------------------------ 3. module attributes
@pytest.mark.parametrize(
    "change",
    [lambda m: setattr(m[2], "p", 0.9), lambda m: setattr(m[1], "negative_slope", 0.9)],
    ids=["Dropout.p", "LeakyReLU.negative_slope"],
)
def test_a_changed_module_attribute_is_seen(change):
    """Setting Dropout.p or LeakyReLU.negative_slope between calls changes the compiled step too."""

    def build():  # _run seeds the generator: eager and compiled draw the same dropout masks
        layers = [nn.Linear(5, 16), nn.LeakyReLU(0.01), nn.Dropout(0.1), nn.Linear(16, 2)]
        model = nn.Sequential(*layers)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def arguments(i):
            if i == 3:
                change(model)
            return X, Y

        return model, opt, training_step(model, opt, F.mse_loss), arguments

    _same_as_eager(build)


# ------------------------------------------------------------ 4. -0.0
def test_negative_zero_is_not_the_variant_of_zero():
    """A -0.0 argument after 0.0 gives what eager gives with -0.0 (1 / -0.0 is -inf)."""

    def step(x, s):
        return 1.0 / (x * s)

    compiled = tg.compile(step)
    x = tg.tensor(np.ones(3))
    with np.errstate(divide="ignore"):
        for _ in range(3):
            np.testing.assert_array_equal(compiled(x, 0.0).numpy(), step(x, 0.0).numpy())
        np.testing.assert_array_equal(compiled(x, -0.0).numpy(), step(x, -0.0).numpy())


# ------------------------------------------------------------ 5. requires_grad
def test_freezing_a_parameter_between_calls_is_seen():
    """After p.requires_grad = False the frozen weight stays put and its .grad is as in eager."""
    frozen = []

    def build():
        model, opt = _mlp()

        def arguments(i):
            if i == 3:
                for p in model[0].parameters():
                    p.requires_grad = False
                frozen.append(model[0].weight.numpy().copy())
            return X, Y

        return model, opt, training_step(model, opt, F.mse_loss), arguments

    (eager, _), (compiled, run) = (_run(build, flag, 6) for flag in (False, True))
    weight, grad = dict(compiled)["state array 0"], dict(compiled)["state array 1"]  # model[0]
    np.testing.assert_array_equal(weight, frozen[1], err_msg="compiled: the frozen weight moved")
    assert (grad is None) == (dict(eager)["state array 1"] is None), "frozen weight's .grad"
    _assert_same(eager, compiled)


# ------------------------------------------------------------ 6. parameter groups
@pytest.mark.parametrize("change", ["add_param_group", "replace-params"])
def test_changed_param_groups_are_seen(change):
    """add_param_group, or a group's "params" replaced, after capture: the new set is trained."""

    def build():
        model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
        trained = model[2].parameters() if change == "add_param_group" else model.parameters()
        opt = optim.SGD(trained, lr=0.1)

        def arguments(i):
            if i == 3 and change == "add_param_group":
                opt.add_param_group({"params": list(model[0].parameters())})  # train layer 0 too
            elif i == 3:
                opt.param_groups[0]["params"] = list(model[2].parameters())  # only the head now
            return X, Y

        return model, opt, training_step(model, opt, F.mse_loss), arguments

    _same_as_eager(build)


# ------------------------------------------------------------ 7. in-place NumPy calls
IN_PLACE = {
    "np.clip-out": lambda b: np.clip(b, -0.05, 0.05, out=b),
    "np.copyto": lambda b: np.copyto(b, np.clip(b, -0.05, 0.05)),
    "ndarray.clip-out": lambda b: b.clip(-0.05, 0.05, out=b),
    "np.putmask": lambda b: np.putmask(b, b > 0.05, 0.05),
    "np.put": lambda b: np.put(b, [0], 0.0),
    "ndarray.sort": lambda b: b.sort(),
    "ndarray.fill": lambda b: b.fill(0.01),
}


@pytest.mark.parametrize("write", list(IN_PLACE.values()), ids=list(IN_PLACE))
def test_in_place_numpy_calls_on_parameters_are_replayed(write):
    """An in-place NumPy call on a parameter's array (weight clipping) happens on every replay."""

    def build():
        model, opt = _mlp()

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            write(model[0].bias.data)
            return loss

        return model, opt, step

    _eager_and_compiled(build, [(X, Y)], steps=6)


# ------------------------------------------------------------ 8. threads before the capture
def test_threads_calling_a_step_before_its_capture_take_turns():
    """Threads calling a fresh compiled step neither fail nor warn, and it replays right after."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((32, 16)).astype("float32"))
    y = tg.tensor(rng.standard_normal((32, 4)).astype("float32"))

    def model_and_opt():
        model = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 4))
        return model, optim.SGD(model.parameters(), lr=0.01)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for trial in range(20):
            tg.manual_seed(trial)
            model, opt = model_and_opt()
            run = tg.compile(training_step(model, opt, F.mse_loss))  # nothing captured yet
            errors, start = [], threading.Barrier(4)

            def worker(run=run, errors=errors, start=start):
                start.wait()  # all four call the cold step at once
                try:
                    for _ in range(5):
                        run(x, y)
                except Exception as err:  # noqa: BLE001 (reported below)
                    errors.append(f"{type(err).__name__}: {err}")

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                threads = [threading.Thread(target=worker) for _ in range(4)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            assert not errors, f"trial {trial}: {len(errors)} thread(s) raised: {errors[0]}"
            assert not _compile_warnings(caught), f"trial {trial}: {_compile_warnings(caught)}"
            assert all("eager" not in v for v in run.variants), (trial, run.variants)
            # one more call from this thread: the eager step from the state the threads left
            eager_model, eager_opt = model_and_opt()
            state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
            eager_model.load_state_dict(state)
            eager = training_step(eager_model, eager_opt, F.mse_loss)
            np.testing.assert_array_equal(run(x, y).numpy(), eager(x, y).numpy())
            for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
                np.testing.assert_array_equal(p.numpy(), q.numpy())
                np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    finally:
        sys.setswitchinterval(switch)


# ------------------------------------------------------------ 9. random draws in the step
def test_a_step_drawing_with_randn_keeps_the_random_stream_and_runs_once_per_call():
    """Under tg.manual_seed a step with tg.randn noise is replayed and gives eager's losses."""
    counters = []

    def build():
        model, opt = _mlp()
        counters.append(calls := [])

        def step(x, y):
            calls.append(1)  # a Python side effect: once per call
            opt.zero_grad()
            loss = F.mse_loss(model(x + 0.1 * tg.randn(*x.shape)), y)
            loss.backward()
            opt.step()
            return loss

        return model, opt, step

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _eager_and_compiled(build, [(X, Y)], steps=5)
    # tg.randn is recorded (no fallback); the one warning says the replay skips the append
    assert [
        m for m in _compile_warnings(caught) if "the step changes the list calls" not in m
    ] == []
    # Compiled, the body runs for the eager first call and the capture; replays run no Python
    # code of the step (as with jax.jit). Never twice for one call.
    assert [len(calls) for calls in counters] == [5, 2], "calls of the step body: eager, compiled"


def test_an_abandoned_capture_puts_the_random_generator_back():
    """A capture that stops after a draw (a tensor it cannot reach) leaves the stream as eager."""

    def build():
        model, opt = _mlp()

        def step(x, y):
            opt.zero_grad()
            noisy = x + 0.1 * tg.randn(*x.shape)
            shift = tg.Tensor(np.full((1, 5), 0.5, np.float32))  # the class: not recorded
            loss = F.mse_loss(model(noisy + shift), y)
            loss.backward()
            opt.step()
            return loss

        return model, opt, step

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _eager_and_compiled(build, [(X, Y)], steps=5)
    assert any("cannot reach" in str(w.message) for w in caught)


# ------------------------------------------------------------ 10. a compiled method, two instances
@pytest.mark.parametrize("change", ["eval", "momentum"])
def test_a_compiled_method_sees_each_instances_state(change):
    """@tg.compile on a method, two trainers: one switched to eval() or given momentum is seen."""

    class Trainer:
        def __init__(self):
            layers = [nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2)]
            self.model = nn.Sequential(*layers)
            self.opt = optim.SGD(self.model.parameters(), lr=0.1)

        def step(self, x, y):
            self.opt.zero_grad()
            loss = F.mse_loss(self.model(x), y)
            loss.backward()
            self.opt.step()
            return loss

        compiled_step = tg.compile(step)

    runs = []
    for method in ("step", "compiled_step"):
        tg.manual_seed(0)
        a, b = Trainer(), Trainer()
        losses = []
        for _ in range(3):  # b is called last
            losses += [getattr(t, method)(X, Y).numpy().copy() for t in (a, b)]
        if change == "eval":
            a.model.eval()
        else:
            a.opt.param_groups[0]["momentum"] = 0.9
        losses += [getattr(a, method)(X, Y).numpy().copy() for _ in range(3)]
        runs.append(
            [(f"loss {i} ({'ab'[i % 2] if i < 6 else 'a'})", v) for i, v in enumerate(losses)]
            + [(f"a: state {j}", v) for j, v in enumerate(_state_arrays(a.model, a.opt))]
            + [(f"b: state {j}", v) for j, v in enumerate(_state_arrays(b.model, b.opt))]
        )
    _assert_same(*runs)


# ------------------------------------------------------------ 11. range checks of the library
def _embedding_case():
    def build():
        model = nn.Sequential(nn.Embedding(10, 3), nn.Flatten(), nn.Linear(18, 2))
        opt = optim.SGD(model.parameters(), lr=0.1)
        return model, opt, training_step(model, opt, F.mse_loss)

    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 10, (4, 6))
    good = (tg.tensor(tokens.copy()), tg.tensor(rng.standard_normal((4, 2)).astype("float32")))
    tokens[2, 3] = 10  # one past the table
    return build, good, (tg.tensor(tokens), good[1])


def _binary_cross_entropy_case():
    def build():
        model = nn.Sequential(nn.Linear(5, 2), nn.Sigmoid())
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, prior, t):  # the model's probabilities mixed with a prior
            opt.zero_grad()
            loss = F.binary_cross_entropy(0.5 * model(x) + 0.5 * prior, t)
            loss.backward()
            opt.step()
            return loss

        return model, opt, step

    rng = np.random.default_rng(1)
    prior = np.full((4, 2), 0.5, dtype="float32")
    target = tg.tensor((rng.random((4, 2)) > 0.5).astype("float32"))
    good = (X[:4], tg.tensor(prior.copy()), target)
    prior[1, 0] = 3.0  # not a probability
    return build, good, (X[:4], tg.tensor(prior), target)


@pytest.mark.parametrize(
    "case", [_embedding_case, _binary_cross_entropy_case], ids=["Embedding", "binary_cross_entropy"]
)
def test_embedding_and_binary_cross_entropy_are_replayed(case):
    """Embedding and binary_cross_entropy replay with no warning; bad input raises as in eager."""
    build, good, bad = case()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _eager_and_compiled(build, [good], steps=5)
    assert not _compile_warnings(caught)
    assert run.variants and "eager" not in run.variants[-1], run.variants
    tg.manual_seed(0)
    with pytest.raises(ValueError) as expected:
        build()[2](*bad)  # the eager step's message
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        run(*bad)  # a call of the captured signature: the replay checks the range


# ------------------------------------------------------------ 12. bookkeeping
def test_a_float_argument_changing_every_call_keeps_the_bookkeeping_bounded():
    """500 calls with 500 different float arguments give eager's results and a bounded _seen."""

    def build():
        model, opt = _mlp()

        def step(x, y, scale):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * scale
            loss.backward()
            opt.step()
            return loss

        return model, opt, step

    with pytest.warns(tg.CompileWarning, match="argument scale changes from call to call"):
        run = _eager_and_compiled(build, [(X, Y, 1.0 + i * 1e-6) for i in range(500)], steps=500)
    assert len(run._seen) <= 64, f"{len(run._seen)} signatures remembered"


# ------------------------------------------------------------ arrays made or given as they are
def test_tensors_made_inside_the_step_are_replayed():
    """tg.zeros, tg.ones, tg.arange, tg.full and tg.tensor of a constant inside a step: replayed."""

    def build():
        model, opt = _mlp()
        weights = [0.5, 1.0]

        def step(x, y):
            opt.zero_grad()
            start = tg.zeros(x.shape[0], 7) + tg.ones(1, 7) * 0.1  # a hidden state's start
            ramp = tg.arange(5, dtype="float32") / 5 + tg.full((1, 5), 0.25)
            hidden = model[0](x * ramp) + start
            out = model[2](model[1](hidden))
            loss = (((out - y) ** 2) * tg.tensor(weights)).mean()
            loss.backward()
            opt.step()
            return loss

        return model, opt, step, lambda i: (X, Y)

    with warnings.catch_warnings():
        warnings.simplefilter("error", tg.CompileWarning)
        run = _same_as_eager(build)
    assert all("eager" not in v for v in run.variants), run.variants


def test_numpy_arrays_given_to_the_step_are_inputs_not_constants():
    """A loader that refills one NumPy buffer in place: each replay reads the new batch."""
    buffer_x, buffer_y = np.zeros((8, 5), np.float32), np.zeros((8, 2), np.float32)

    def build():
        model, opt = _mlp()
        batches = np.random.default_rng(1)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(tg.tensor(x)), tg.tensor(y))
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            buffer_x[...] = batches.standard_normal((8, 5))
            buffer_y[...] = batches.standard_normal((8, 2))
            return buffer_x, buffer_y

        return model, opt, step, arguments

    with warnings.catch_warnings():
        warnings.simplefilter("error", tg.CompileWarning)
        run = _same_as_eager(build)
    assert run.variants[0]["inputs"] == "x: float32 (8, 5), y: float32 (8, 2)", run.variants


@pytest.mark.parametrize("change", ["replace-parameter", "add-hook", "remove-hook"])
def test_a_module_changed_after_the_capture_is_captured_again(change):
    """A parameter object replaced, a forward hook added or removed: the next call sees it."""
    handles = []

    def build():
        model, opt = _mlp()
        if change == "remove-hook":
            handles.append(model[1].register_forward_hook(lambda m, i, out: out * 0.5))

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            if i == 3 and change == "replace-parameter":  # a new head, given to the optimizer
                model[2].weight = nn.Parameter(tg.tensor(np.full((7, 2), 0.1, np.float32)))
                opt.param_groups[0]["params"][2] = model[2].weight
            elif i == 3 and change == "add-hook":
                model[1].register_forward_hook(lambda m, i, out: out * 0.5)
            elif i == 3:
                handles.pop().remove()
            return X, Y

        return model, opt, step, arguments

    _same_as_eager(build)


@pytest.mark.parametrize("rebind", ["float64", "fortran-order", "same-values"])
def test_a_parameter_array_rebound_between_calls_is_checked_again(rebind):
    """``p.data`` replaced by another array: its dtype and memory order are checked anew."""

    def build():
        model, opt = _mlp()

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x.astype("float64") if rebind == "float64" else x), y)
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            if i == 3:
                for p in model.parameters():
                    rebound = {
                        "float64": lambda a: a.astype(np.float64),
                        "fortran-order": np.asfortranarray,
                        "same-values": np.copy,
                    }[rebind]
                    p.data = rebound(p.data)
            return X, Y

        return model, opt, step, arguments

    run = _same_as_eager(build, steps=7)
    assert len(run.variants) == (1 if rebind == "same-values" else 2), run.variants


COUNTER = 0  # read by the step of test_a_value_changing_on_every_call_is_named_once


@pytest.mark.parametrize("changing", ["argument", "global"])
def test_a_value_changing_on_every_call_is_named_once(changing, monkeypatch):
    """Nothing replays because a value changes every call: one warning names it; results stay."""
    monkeypatch.setitem(globals(), "COUNTER", 0)

    def build():
        model, opt = _mlp()

        def step(x, y, scale):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * scale * (1 + 0 * COUNTER)
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            globals()["COUNTER"] = i if changing == "global" else 0
            return X, Y, 1.0 + (i / 100 if changing == "argument" else 0)

        return model, opt, step, arguments

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _same_as_eager(build, steps=40)
    messages = _compile_warnings(caught)
    assert len(messages) == 1, messages
    named = "argument scale" if changing == "argument" else "the global COUNTER"
    assert f"replayed nothing: {named}" in messages[0], messages[0]
    assert len(run._variants) <= 8  # captures only now and then, not on every call


# ------------------------------------------------------------ a second review
class _Scaled(nn.Module):
    scale = 1.0  # a class attribute: self.scale resolves to the class

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 2)

    def forward(self, x):
        return self.lin(x) * self.scale


def _plain_step(model, opt):
    """A training step defined in this module (its globals are this module's)."""

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def test_a_class_attribute_read_through_self_is_seen(monkeypatch):
    """``Scaled.scale`` changed on the class between calls is what ``self.scale`` gives forward."""
    monkeypatch.setattr(_Scaled, "scale", 1.0)

    def build():
        model = _Scaled()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def arguments(i):
            _Scaled.scale = float(i + 1)
            return X, Y

        return model, opt, training_step(model, opt, F.mse_loss), arguments

    _same_as_eager(build)


CFG = {"w": 1.0}  # read by the steps of test_a_number_in_a_container_is_read_on_every_call
WS = [1.0]
GL = [1.0, 2.0]


class _MultipliedSGD(optim.SGD):
    """SGD whose step is multiplied by ``self.cfg["mult"]``: a user's optimizer subclass."""

    def __init__(self, params, **hyper):
        super().__init__(params, **hyper)
        self.cfg = {"mult": 1.0}

    def delta(self, param, grad, state, group):
        return super().delta(param, grad, state, group) * self.cfg["mult"]


@pytest.mark.parametrize("entry", ['CFG["w"]', "WS[0]", "tg.tensor(GL)", 'opt.cfg["mult"]'])
def test_a_number_in_a_container_is_read_on_every_call(entry, monkeypatch):
    """A number in a global dict or list, or in a custom optimizer's dict, changed: it is used."""
    monkeypatch.setattr(sys.modules[__name__], "CFG", {"w": 1.0})
    monkeypatch.setattr(sys.modules[__name__], "WS", [1.0])
    monkeypatch.setattr(sys.modules[__name__], "GL", [1.0, 2.0])

    def build():
        model, opt = _mlp(_MultipliedSGD if entry == 'opt.cfg["mult"]' else optim.SGD)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            if entry == 'CFG["w"]':
                loss = loss * CFG["w"]
            elif entry == "WS[0]":
                loss = loss * WS[0]
            elif entry == "tg.tensor(GL)":
                loss = (loss * tg.tensor([v for v in GL])).sum()
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            value = float(i + 1)
            {
                'CFG["w"]': lambda: CFG.__setitem__("w", value),
                "WS[0]": lambda: WS.__setitem__(0, value),
                "tg.tensor(GL)": lambda: GL.__setitem__(0, value),
                'opt.cfg["mult"]': lambda: opt.cfg.__setitem__("mult", value / 2),
            }[entry]()
            return X, Y

        return model, opt, step, arguments

    _same_as_eager(build)


_config = types.ModuleType("config")
_config.w = 1.0


class _Hyper:
    w = 1.0


@dataclasses.dataclass(slots=True)
class _Slotted:
    w: float = 1.0


@pytest.mark.parametrize(
    "holder", [_config, _Hyper, _Slotted()], ids=["module", "class-namespace", "slots-dataclass"]
)
def test_a_namespace_attribute_is_read_on_every_call(holder):
    """``config.w`` of a module, a class used as a namespace or a slots dataclass: seen changed."""

    def build():
        model, opt = _mlp()

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * holder.w
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            holder.w = float(i + 1)
            return X, Y

        return model, opt, step, arguments

    _same_as_eager(build)


def _gained(module, z):
    return z * module.gain


class _Gained(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 2)
        self.gain = 1.0

    def forward(self, x):
        return self.lin(x)


def test_a_module_attribute_read_by_a_helper_function_is_seen():
    """``model.gain`` read by a plain function the step calls (not a method) is seen changed."""

    def build():
        model = _Gained()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(_gained(model, model(x)), y)
            loss.backward()
            opt.step()
            return loss

        def arguments(i):
            model.gain = float(i + 1)
            return X, Y

        return model, opt, step, arguments

    _same_as_eager(build)


@pytest.mark.parametrize("default", ["dtype", "backend"])
def test_a_changed_default_dtype_or_backend_is_seen(default):
    """After tg.set_default_dtype/backend, tensors made in the step follow it, as in eager."""
    if default == "backend":
        pytest.importorskip("array_api_strict")

    def run(compiled):
        tg.manual_seed(0)
        model, opt = _mlp()

        def step(x, y):
            c = tg.ones(()) if default == "dtype" else 1.0  # array_api_strict cannot meet NumPy
            opt.zero_grad()
            loss = F.mse_loss(model(x), y) * c
            loss.backward()
            opt.step()
            return loss, tg.zeros(3)

        f = tg.compile(step) if compiled else step
        out = []
        for i in range(5):
            if i == 3 and default == "dtype":
                tg.set_default_dtype("float64")
            elif i == 3:
                tg.set_default_backend("array_api_strict")
            loss, z = f(X, Y)
            kind = type(z.data).__module__.split(".")[0]
            out.append((loss.numpy().tolist(), str(loss.dtype), str(z.dtype), kind))
        return out

    dtype, backend = tg.get_default_dtype(), tg.get_default_backend()
    try:
        eager = run(False)
        tg.set_default_dtype(dtype)
        tg.set_default_backend(backend)
        compiled = run(True)
    finally:
        tg.set_default_dtype(dtype)
        tg.set_default_backend(backend)
    assert compiled == eager


def test_tensors_made_in_the_step_and_returned_are_fresh_on_every_call():
    """The caller writes into the returned tg.zeros / tg.tensor: the next call returns new ones."""
    model, opt = _mlp()

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss, tg.zeros(2), tg.tensor([1.0, 2.0])

    run = tg.compile(step)
    for i in range(5):
        _, zeros, ones_twos = run(X, Y)
        assert zeros.numpy().tolist() == [0.0, 0.0], f"call {i}"
        assert ones_twos.numpy().tolist() == [1.0, 2.0], f"call {i}"
        zeros.data[0] = 7.0  # the caller reuses the returned arrays
        ones_twos.data[1] = 7.0
    assert all("eager" not in v for v in run.variants), run.variants


def test_two_compiled_steps_calling_each_other_from_two_threads_do_not_deadlock():
    """Thread 1 calls step a (which calls b), thread 2 step b (which calls a): both finish."""
    x = tg.tensor(np.ones((4, 3), np.float32))

    def a(x, depth):
        time.sleep(0.05)  # Python work in the eager first call or the capture: a wide window
        return fb(x, depth - 1) if depth else (x * 2).sum()

    def b(x, depth):
        time.sleep(0.05)
        return fa(x, depth - 1) if depth else (x * 3).sum()

    fa, fb = tg.compile(a), tg.compile(b)
    results = {fa: [], fb: []}

    def worker(f):
        results[f].extend(float(f(x, 1).numpy()) for _ in range(3))

    threads = [threading.Thread(target=worker, args=(f,), daemon=True) for f in (fa, fb)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 1.5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the threads are still blocked"
    assert results == {fa: [36.0] * 3, fb: [24.0] * 3}, results


def test_torch_tensors_given_to_the_step_are_inputs():
    """A loader's torch.Tensor batches given as they are: captured once, replayed as in eager."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 2))

    def build():
        model = nn.Linear(5, 2, backend="torch", dtype="float64")
        opt = optim.SGD(model.parameters(), lr=0.1)
        target = tg.tensor(y, backend="torch")
        batches = [torch.tensor(x + i) for i in range(6)]  # kept, as a list of batches is

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(tg.tensor(x)), y)
            loss.backward()
            opt.step()
            return loss

        return model, opt, step, lambda i: (batches[i], target)

    run = _same_as_eager(build)
    assert any("eager" not in v for v in run.variants), run.variants


def test_a_script_global_named_like_an_attribute_causes_no_captures(monkeypatch):
    """A loop variable ``step`` changing every call while the step calls opt.step(): it replays."""
    monkeypatch.setitem(globals(), "step", 0)
    model, opt = _mlp()
    run = tg.compile(_plain_step(model, opt))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(20):  # a script's `for step in range(20)`: the global step changes
            globals()["step"] = i
            run(X, Y)
    assert not _compile_warnings(caught), _compile_warnings(caught)
    assert len(run.variants) == 1 and "eager" not in run.variants[0], run.variants


class _Meter:
    def __init__(self):
        self.n = 0


@pytest.mark.parametrize("change", ["list-append", "attribute-counter"])
def test_a_step_changing_a_python_value_replays_and_warns_once(change):
    """A step that appends to a list or bumps meter.n: it replays, and one warning says so."""

    def build():
        model, opt = _mlp()
        log, meter = [], _Meter()

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            if change == "list-append":
                log.append(1)
            else:
                meter.n += 1
            return loss

        return model, opt, step, lambda i: (X, Y)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _same_as_eager(build, steps=20)
    messages = _compile_warnings(caught)
    assert len(messages) == 1 and "the step changes" in messages[0], messages
    assert len(run.variants) == 1 and "eager" not in run.variants[0], run.variants
