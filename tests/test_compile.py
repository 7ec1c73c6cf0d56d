"""tg.compile: a replayed step gives the same numbers as the eager step (bitwise on NumPy).

Every training test runs one model twice from the same seed, eagerly and
compiled, and compares losses, parameters, gradients, buffers and optimizer
state after 50 steps. Each also checks that replays really happened (a
compiled step that silently ran eagerly would pass the comparison).
"""

import re
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader
from tinygrad_edu.optim import lr_scheduler

from .helpers import training_step

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import workloads as wl  # noqa: E402

compile_module = sys.modules["tinygrad_edu.compile"]
STEPS = 50


# ------------------------------------------------------------ harness
def train(build, batches, compiled, steps=STEPS, backend="numpy", every_epoch=None):
    """Run ``steps`` steps; return (losses, final state arrays, the step)."""
    tg.manual_seed(0)
    model, opt, loss_fn = build()
    step = training_step(model, opt, loss_fn)
    run = tg.compile(step) if compiled else step
    losses = []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        loss = run(x, y)
        losses.append(tg.Tensor(loss).numpy().copy())
        if every_epoch is not None and (i + 1) % len(batches) == 0:
            every_epoch()
    return losses, _state_arrays(model, opt), run


def _state_arrays(model, opt):
    arrays = []
    for p in model.parameters():
        arrays += [p.numpy().copy(), None if p.grad is None else p.grad.numpy().copy()]
    arrays += [b.numpy().copy() for b in model.buffers()]
    for state in opt.state.values():
        for key in sorted(state):
            value = state[key]
            arrays.append(
                np.asarray(tg.Tensor(value).numpy()) if hasattr(value, "shape") else value
            )
    return arrays


def assert_same_training(build, batches, steps=STEPS, every_epoch_factory=None, equal=True):
    results = []
    for compiled in (False, True):
        hook = every_epoch_factory() if every_epoch_factory else None
        results.append(train(build, batches, compiled, steps, every_epoch=hook))
    (eager_losses, eager_state, _), (losses, state, step) = results
    assert step.variants and all("eager" not in v for v in step.variants), step.variants
    assert len(eager_state) == len(state)
    compare = np.array_equal if equal else lambda a, b: np.allclose(a, b, rtol=1e-12, atol=1e-12)
    for number, (a, b) in enumerate(zip(eager_losses, losses, strict=True)):
        assert compare(a, b), f"loss of step {number}: {a} != {b}"
    for number, (a, b) in enumerate(zip(eager_state, state, strict=True)):
        if a is None or b is None or not hasattr(a, "shape"):
            assert a == b if not hasattr(a, "shape") else b is None and a is None
        else:
            assert compare(a, b), f"state array {number} differs"
    return step


def mlp_builder(workload, dtype, make_optimizer=None):
    def build():
        layers = []
        for W, b in zip(workload.weights, workload.biases, strict=True):
            linear = nn.Linear(*W.shape, dtype=dtype)
            linear.load_state_dict({"weight": W.astype(dtype), "bias": b.astype(dtype)})
            activation = nn.ReLU() if workload.activation == "relu" else nn.Tanh()
            layers += [linear, activation]
        model = nn.Sequential(*layers[:-1])
        opt = (make_optimizer or (lambda ps: optim.SGD(ps, lr=workload.lr)))(model.parameters())
        loss_fn = F.cross_entropy if workload.loss == "cross_entropy" else F.mse_loss
        return model, opt, loss_fn

    return build


def batches_of(workload, dtype, count=None):
    pairs = workload.batches[:count]
    return [
        (tg.tensor(x.astype(dtype)), tg.tensor(y.astype(dtype) if y.dtype.kind == "f" else y))
        for x, y in pairs
    ]


def small_data(dtype, n=40, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype(dtype)
    y = rng.integers(0, classes, n)
    return X, y


def train_under_a_schedule(schedule, dtype, batch_count):
    """W3 with SGD and momentum, ``schedule(opt)`` stepped after every epoch: eager and
    compiled the same; the compiled step."""
    workload = wl.franke_regression()
    holder = {}

    def make_optimizer(params):
        holder["opt"] = optim.SGD(params, lr=0.1, momentum=0.9)
        return holder["opt"]

    def every_epoch_factory():
        schedulers = []

        def hook():
            if not schedulers:
                schedulers.append(schedule(holder["opt"]))
            schedulers[0].step()

        return hook

    return assert_same_training(
        mlp_builder(workload, dtype, make_optimizer),
        batches_of(workload, dtype, batch_count),
        every_epoch_factory=every_epoch_factory,
    )


# ------------------------------------------------------------ 1. the three MLP workloads
WORKLOADS = {"W1": wl.digits_mlp, "W2": wl.synthetic_mlp, "W3": wl.franke_regression}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_mlp_workloads_are_bitwise_equal_to_eager(name, dtype):
    workload = WORKLOADS[name]()
    batches = batches_of(workload, dtype)
    if name == "W2":  # the 784-512-512-10 network on four 16-row slices: the suite stays quick
        batches = [(x[:16], y[:16]) for x, y in batches[:4]]
    assert_same_training(mlp_builder(workload, dtype), batches)


# ------------------------------------------------------------ 2. state: optimizers, layers, data
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda ps: optim.Adam(ps, lr=1e-2),
        lambda ps: optim.AdamW(ps, lr=1e-2),
        lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-3, amsgrad=True),
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    ],
    ids=["Adam", "AdamW", "Adam-amsgrad", "SGD-nesterov"],
)
def test_optimizer_state_is_kept(make_optimizer, dtype):
    workload = wl.franke_regression()
    assert_same_training(mlp_builder(workload, dtype, make_optimizer), batches_of(workload, dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "schedule",
    [
        lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=3),
    ],
    ids=["StepLR", "Cosine"],
)
def test_momentum_under_a_schedule_reads_lr_on_every_call(schedule, dtype):
    step = train_under_a_schedule(schedule, dtype, batch_count=8)
    assert len(step.variants) == 1  # lr changed every epoch, and nothing was captured again


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_draws_new_masks_from_the_seeded_generator(dtype):
    X, y = small_data(dtype)
    batches = [(tg.tensor(X[i : i + 8]), tg.tensor(y[i : i + 8])) for i in range(0, 40, 8)]

    def build():
        model = nn.Sequential(
            nn.Linear(6, 16, dtype=dtype), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3, dtype=dtype)
        )
        return model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy

    assert_same_training(build, batches)
    _, _, step = train(build, batches, True, steps=6)
    assert "uniform" in step.explain(file=open("/dev/null", "w"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batchnorm_running_statistics_follow_eager(dtype):
    X, y = small_data(dtype)
    batches = [(tg.tensor(X[i : i + 10]), tg.tensor(y[i : i + 10])) for i in range(0, 40, 10)]

    def build():
        model = nn.Sequential(
            nn.Linear(6, 8, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype), nn.Tanh(),
            nn.Linear(8, 3, dtype=dtype),
        )  # fmt: skip
        return model, optim.Adam(model.parameters(), lr=1e-2), F.cross_entropy

    assert_same_training(build, batches)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_smaller_last_batch_is_a_second_variant(dtype):
    X, y = small_data(dtype, n=37)
    loader = DataLoader(X, y, batch_size=8, shuffle=True, seed=3, dtype=dtype)
    batches = [batch for epoch in range(4) for batch in loader]

    def build():
        model = nn.Sequential(nn.Linear(6, 8, dtype=dtype), nn.Tanh(), nn.Linear(8, 3, dtype=dtype))
        return model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy

    step = assert_same_training(build, batches, steps=len(batches))
    shapes = sorted(v["inputs"] for v in step.variants)
    assert len(shapes) == 2 and "(5, 6)" in shapes[0] + shapes[1]


# ------------------------------------------------------------ conv and GRU networks
def sequence_data(dtype, length, n=48, classes=10, seed=0, rows=16, backend="numpy"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, length)).astype(dtype)
    y = rng.integers(0, classes, n)
    return [
        (tg.tensor(X[i : i + rows], backend=backend), tg.tensor(y[i : i + rows], backend=backend))
        for i in range(0, n, rows)
    ]


def sequence_builder(name, dtype, backend="numpy"):
    """MNIST-1D's CNN (strided, padded Conv1d layers) or a small bidirectional GRU (8 steps)."""

    def build():
        if name == "cnn":
            model = tg.models.mnist1d_model("cnn", dtype=dtype, backend=backend)
            opt = optim.Adam(model.parameters(), lr=1e-2)
        else:
            model = tg.models.BiGRUNet(hidden_size=4, time_steps=8, dtype=dtype, backend=backend)
            opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return model, opt, F.cross_entropy

    return build


SEQUENCE_LENGTH = {"cnn": 40, "gru": 8}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["cnn", "gru"])
def test_conv1d_and_gru_networks_are_bitwise_equal_to_eager(name, dtype):
    batches = sequence_data(dtype, SEQUENCE_LENGTH[name])
    step = assert_same_training(sequence_builder(name, dtype), batches)
    assert step.variants[0]["replayed"] > 50


# ------------------------------------------------------------ 3. fallbacks and the cache
def _regression_setup(dtype="float64"):
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.Tanh(), nn.Linear(4, 1, dtype=dtype))
    opt = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((5, 3)).astype(dtype))
    y = tg.tensor(rng.standard_normal((5, 1)).astype(dtype))
    return model, opt, x, y


def test_item_inside_the_step_warns_once_and_runs_eagerly():
    model, opt, x, y = _regression_setup()
    eager_model, eager_opt, _, _ = _regression_setup()
    seen = []

    def step(x, y, model=model, opt=opt):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        seen.append(loss.item())
        return loss

    eager = training_step(eager_model, eager_opt, F.mse_loss)
    compiled = tg.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(6):
            compiled(x, y)
            eager(x, y)
    messages = [str(w.message) for w in caught if issubclass(w.category, tg.CompileWarning)]
    assert len(messages) == 1 and "seen.append(loss.item())" in messages[0], messages
    assert "test_compile.py" in messages[0]
    assert len(seen) == 6
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert np.array_equal(p.numpy(), q.numpy())
    assert compiled.variants[-1]["eager"].startswith("test_compile.py")


def test_strict_raises_naming_the_line():
    model, opt, x, y = _regression_setup()

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        if loss > 1:  # a data-dependent branch
            loss = loss * 0.5
        loss.backward()
        opt.step()
        return loss

    compiled = tg.compile(step, strict=True)
    compiled(x, y)
    with pytest.raises(tg.CompileError, match=r"test_compile.py:\d+ \(if loss > 1:"):
        for _ in range(3):
            compiled(x, y)
    assert all(isinstance(p.data, np.ndarray) for p in model.parameters())  # arrays restored


def test_printing_a_tensor_in_the_step_falls_back():
    model, opt, x, y = _regression_setup()

    def step(x):
        out = model(x)
        print(out, file=open("/dev/null", "w"))
        return out.sum()

    compiled = tg.compile(step)
    with pytest.warns(tg.CompileWarning, match="print"):
        for _ in range(3):
            compiled(x)


def test_a_scheduler_stepped_inside_the_step_runs_eagerly_with_a_warning():
    model, opt, x, y = _regression_setup()
    eager_model, eager_opt, _, _ = _regression_setup()
    schedulers = [lr_scheduler.StepLR(o, step_size=2, gamma=0.5) for o in (opt, eager_opt)]

    def make(model, opt, scheduler):
        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            scheduler.step()  # a Python number (last_epoch) changes inside the step
            return loss

        return step

    compiled = tg.compile(make(model, opt, schedulers[0]))
    eager = make(eager_model, eager_opt, schedulers[1])
    with pytest.warns(tg.CompileWarning, match="last_epoch"):
        for _ in range(6):
            compiled(x, y)
            eager(x, y)
    assert schedulers[0].last_epoch == schedulers[1].last_epoch == 6
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert np.array_equal(p.numpy(), q.numpy())


def test_a_changed_hyperparameter_captures_again():
    model, opt, x, y = _regression_setup()
    eager_model, eager_opt, _, _ = _regression_setup()

    compiled = tg.compile(training_step(model, opt, F.mse_loss))
    eager = training_step(eager_model, eager_opt, F.mse_loss)
    for momentum in (0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5):
        for o in (opt, eager_opt):
            o.param_groups[0]["momentum"] = momentum
        compiled(x, y)
        eager(x, y)
    assert len([v for v in compiled.variants if "eager" not in v]) == 2
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert np.array_equal(p.numpy(), q.numpy())


def test_more_variants_than_the_cache_holds_stay_correct():
    model, opt, _, _ = _regression_setup()
    eager_model, eager_opt, _, _ = _regression_setup()
    rng = np.random.default_rng(2)
    data = [
        (tg.tensor(rng.standard_normal((n, 3))), tg.tensor(rng.standard_normal((n, 1))))
        for n in (2, 3, 4, 5, 6)
    ]

    compiled = tg.compile(training_step(model, opt, F.mse_loss), max_variants=2)
    eager = training_step(eager_model, eager_opt, F.mse_loss)
    for i in range(40):
        x, y = data[(i // 3) % len(data)]
        assert np.array_equal(compiled(x, y).numpy(), eager(x, y).numpy())
    assert len(compiled.variants) == 2
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert np.array_equal(p.numpy(), q.numpy())
        assert np.array_equal(p.grad.numpy(), q.grad.numpy())


def test_bad_targets_raise_the_eager_message_on_a_replay():
    tg.manual_seed(0)
    model = nn.Linear(4, 3, dtype="float64")
    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = tg.compile(training_step(model, opt, F.cross_entropy))
    x = tg.tensor(np.ones((2, 4)))
    for _ in range(4):
        compiled(x, tg.tensor(np.array([0, 2])))
    before = model.weight.numpy().copy()
    with pytest.raises(ValueError, match="target class 7 is out of range for 3 classes"):
        compiled(x, tg.tensor(np.array([0, 7])))
    assert np.array_equal(model.weight.numpy(), before)


def test_returned_tensors_are_detached_and_grads_overwritten():
    model, opt, x, y = _regression_setup()

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss, {"out": loss * 2}

    compiled = tg.compile(step)
    for _ in range(4):
        loss, extra = compiled(x, y)
    assert loss.grad_fn is None and not loss.requires_grad
    assert np.array_equal(extra["out"].numpy(), loss.numpy() * 2)
    first = model[0].weight.grad
    before = first.numpy().copy()
    compiled(x, y)
    grad = model[0].weight.grad
    assert grad is first and not np.array_equal(before, grad.numpy())  # overwritten in place
    model[0].weight.grad = mine = tg.Tensor(np.zeros((3, 4)))
    compiled(x, y)  # a .grad set from outside is replaced, never written into
    assert model[0].weight.grad is not mine and not mine.numpy().any()


def _eager_and_compiled(build, inputs, steps=12):
    """Losses, parameters, grads and optimizer state after ``steps`` eager and compiled steps."""
    results = []
    for compiled in (False, True):
        tg.manual_seed(0)
        model, opt, step = build()
        run = tg.compile(step) if compiled else step
        losses = [tg.Tensor(run(*inputs[i % len(inputs)])).numpy().copy() for i in range(steps)]
        results.append(losses + _state_arrays(model, opt))
    for number, (a, b) in enumerate(zip(*results, strict=True)):
        assert (a is None and b is None) or np.array_equal(a, b), f"value {number} differs"
    return run


def test_gradient_clipping_in_the_step_replays_its_0d_arithmetic():
    """clip_grad_norm_ makes 0-d scalars (NumPy returns np.float64, not arrays): no out= there."""

    def build():
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            out = model(x)
            loss = ((out - y) * (out - y)).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            return loss

        return model, opt, step

    rng = np.random.default_rng(1)
    inputs = [(tg.tensor(rng.standard_normal((4, 5))), tg.tensor(rng.standard_normal((4, 3))))]
    run = _eager_and_compiled(build, inputs)
    assert run.variants and "eager" not in run.variants[0]


def test_a_constant_of_equal_rows_is_replayed_from_one_row_with_the_same_bits():
    """Constants over 64 KiB whose rows are all the same bits (ReLU's zeros) are kept as
    one broadcast row; -0.0 is not 0.0, so rows equal only in value stay whole. Compared
    bit by bit; 3 x 4096 float64 is 96 KiB, 3 x 8 stays whole."""
    rows = [[-0.0, 0.0, -0.0, 0.0], [0.0] * 4, [-0.0, 0.0, -0.0, 0.0]]  # equal in value only
    signed = [[-0.0, 0.0, -1.0, 2.0], [3.0, -0.0, 0.0, -4.0], [0.0] * 4]

    def make_step(width):
        def step(x):
            mixed = tg.tensor(np.tile(rows, width // 4))
            zeros = tg.full(x.shape, -0.0, dtype="float64")
            return tg.maximum(x.relu() * -1.0, zeros) + mixed

        return step

    for width, row_constants in ((4096, 2), (8, 0)):
        step = make_step(width)
        x = tg.tensor(np.tile(signed, width // 4))
        compiled = tg.compile(step)
        results = [compiled(x).numpy().tobytes() for _ in range(3)]
        assert results == [step(x).numpy().tobytes()] * 3
        constants = re.search(r"# constants: (.*)", compiled.explain()).group(1)
        assert constants.count(f"float64 (1, {width})") == row_constants, constants
        assert f"(3, {width})" in constants, constants


def test_a_row_constant_keeps_the_eager_memory_order_of_a_transposed_operand():
    """maximum(x.T, full C-ordered zeros) comes out C-ordered, maximum(x.T, row) F-ordered:
    a later sum along an axis adds in another order. Such a constant stays whole."""

    def step(x):
        clipped = tg.maximum(x.mT, tg.full(x.mT.shape, 0.0, dtype="float64"))
        return clipped.sum(axis=1)

    x = tg.tensor(np.random.default_rng(3).standard_normal((300, 200)))  # 480 KB
    compiled = tg.compile(step)
    results = [compiled(x).numpy().tobytes() for _ in range(3)]
    assert results == [step(x).numpy().tobytes()] * 3


def test_an_elementwise_call_of_two_constants_keeps_its_shape():
    """``full * full`` kept (its result is written in place later): both are constants, so
    neither may become a row, or the result would be one row too."""
    shape = (256, 512)

    def product(x):
        c = tg.full(shape, 2.0, dtype="float64")
        t = c * c
        t.data[0, :3] = x.data[0, :3]
        return t.sum(axis=1)

    def in_place_sum(x):
        t = tg.zeros(shape, dtype="float64") + tg.full(shape, 1.0, dtype="float64")
        data = t.data
        data += x.data
        return t

    x = tg.tensor(np.random.default_rng(4).standard_normal(shape))
    for step in (product, in_place_sum):
        compiled = tg.compile(step)
        expected = step(x).numpy()
        for _ in range(4):
            result = compiled(x).numpy()
            assert result.shape == expected.shape and result.tobytes() == expected.tobytes()


def test_a_non_contiguous_argument_in_another_layout_is_another_variant():
    """Neither C- nor F-ordered, then F-ordered: NumPy lays results out after the strides,
    so the signature holds the strides of an argument that is not C-ordered."""

    def step(x):
        y = x * 2.0
        z = y + tg.zeros(y.shape, dtype="float64")  # y read again below: no reuse
        return z.sum(axis=1) + y.sum(axis=0).sum()

    rng = np.random.default_rng(5)
    strided = [tg.tensor(rng.standard_normal((300, 400)))[:, ::2] for _ in range(2)]
    f_ordered = [tg.tensor(np.asfortranarray(rng.standard_normal((300, 200)))) for _ in range(4)]
    compiled = tg.compile(step)
    for x in strided + f_ordered:
        assert compiled(x).numpy().tobytes() == step(x).numpy().tobytes()
    assert len(compiled.variants) == 2


def test_a_result_is_written_into_an_operand_only_in_the_same_layout():
    """maximum(F-ordered y, C-ordered zeros) comes out C-ordered: written into y's memory
    (``out=y``) it would be F-ordered and the sum after it would add in another order."""

    def step(x):
        y = x * 2.0
        return tg.maximum(y, tg.zeros(y.shape, dtype="float64")).sum(axis=1)

    rng = np.random.default_rng(6)
    compiled = tg.compile(step)
    for _ in range(5):
        x = tg.tensor(np.asfortranarray(rng.standard_normal((300, 200))))
        assert compiled(x).numpy().tobytes() == step(x).numpy().tobytes()


def _transposed_step_builder():
    def build():
        linear = nn.Linear(5, 1)
        opt = optim.SGD(linear.parameters(), lr=1e-3)

        def step(x):
            opt.zero_grad()
            t = x.T * linear.bias  # (200, 5), F-ordered as NumPy makes it
            s = (t * t).sum(axis=0)  # a sum over the long axis: its order follows the layout
            loss = s.mean() * 1e-3 + linear(x.T).mean()
            loss.backward()
            opt.step()
            return s

        return linear, opt, step

    return build


def test_results_of_transposed_operands_keep_their_layout():
    rng = np.random.default_rng(1)
    inputs = [(tg.tensor(rng.standard_normal((5, 200))),) for _ in range(4)]
    _eager_and_compiled(_transposed_step_builder(), inputs)


def test_an_argument_in_another_memory_order_is_another_variant():
    rng = np.random.default_rng(2)
    c_ordered = [(tg.tensor(rng.standard_normal((5, 200))),) for _ in range(2)]
    f_ordered = [(tg.tensor(np.asfortranarray(rng.standard_normal((5, 200)))),) for _ in range(2)]
    run = _eager_and_compiled(_transposed_step_builder(), c_ordered + f_ordered, steps=16)
    assert len(run.variants) == 2


def test_replays_from_several_threads_at_once_stay_right():
    """A program's buffers hold one call's values: concurrent calls take turns."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 4))

    def predict(x):
        with tg.no_grad():
            return model(x)

    run = tg.compile(predict)
    rng = np.random.default_rng(0)
    batches = [tg.tensor(rng.standard_normal((32, 16))) for _ in range(8)]
    expected = [predict(x).numpy().copy() for x in batches]
    for x in batches[:3]:
        run(x)
    assert "_buffer" in run.source()
    wrong = []

    def worker(offset):
        for i in range(200):
            j = (i + offset) % 8
            if not np.array_equal(run(batches[j]).numpy(), expected[j]):
                wrong.append(j)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert not wrong


def test_a_graph_recorded_before_a_replayed_step_is_stale():
    model, opt, x, y = _regression_setup()

    def step(x, y):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()

    compiled = tg.compile(step)
    for _ in range(3):
        compiled(x, y)
    old = F.mse_loss(model(x), y)
    compiled(x, y)
    with pytest.raises(RuntimeError, match="modified in place"):
        old.backward()


def test_the_op_chain_and_a_gradient_of_an_argument():
    x0 = np.linspace(0.1, 1.0, 8)

    def chain(x):
        y = x
        for k in range(40):
            y = [y * 1.0001, y + 0.001, y.tanh(), y.sin()][k % 4]
        y.sum().backward()
        return x.grad

    compiled = tg.compile(chain)
    for shift in range(5):  # a new input on every call: the replay's gradient is its own
        expected = chain(tg.tensor(x0 + shift, requires_grad=True)).numpy()
        x = tg.tensor(x0 + shift, requires_grad=True)
        got = compiled(x)
        assert np.array_equal(got.numpy(), expected) and np.array_equal(x.grad.numpy(), expected)
    counts = compiled.variants[0]
    assert counts["dropped"] > 0 and counts["recorded"] > counts["replayed"]


# ------------------------------------------------------------ 4. explain()
def test_explain_names_the_lecture_quantities(capsys):
    workload = wl.franke_regression()
    model, opt, loss_fn = mlp_builder(workload, "float32")()
    batches = batches_of(workload, "float32", 3)
    compiled = tg.compile(training_step(model, opt, loss_fn))
    assert "nothing captured" in compiled.explain()
    for i in range(3):
        compiled(*batches[i])
    text = compiled.explain()
    assert text == capsys.readouterr().out.split("\n", 1)[1].rstrip("\n")
    for line in ("z1 = x @ W1", "z1 += b1", "a1 = tanh(z1)", "z3 = a2 @ W3", "W1 -= ",
                 "W1.grad <- dW1"):  # fmt: skip
        assert line in text, line
    assert compiled.source().startswith("def _replay(_args):")


def test_the_compile_page_shows_what_explain_prints(capsys, tmp_path, monkeypatch):
    page = (Path(__file__).resolve().parent.parent / "docs" / "compile.md").read_text()
    namespace = {"__name__": "docs_compile"}
    monkeypatch.chdir(tmp_path)
    for code in re.findall(r"^```python\n(.*?)^```", page, re.MULTILINE | re.DOTALL):
        exec(code, namespace)
    shown = re.findall(r"^```text\n(# variant.*?)^```", page, re.MULTILINE | re.DOTALL)[0]
    assert namespace["text"] == shown.rstrip("\n")
    assert capsys.readouterr().out.endswith(shown)


def test_a_compiled_method_and_a_compiled_module():
    class Trainer:
        def __init__(self):
            self.model, self.opt, self.x, self.y = _regression_setup()

        @tg.compile
        def step(self, x, y):
            self.opt.zero_grad()
            loss = F.mse_loss(self.model(x), y)
            loss.backward()
            self.opt.step()
            return loss

    trainer, (model, opt, x, y) = Trainer(), _regression_setup()
    for _ in range(5):
        got = trainer.step(trainer.x, trainer.y)
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        assert np.array_equal(got.numpy(), loss.numpy())
    assert "eager" not in Trainer.step.variants[0]
    forward = tg.compile(model)
    with tg.no_grad():
        for _ in range(3):
            assert np.array_equal(forward(x).numpy(), model(x).numpy())
    assert "eager" not in forward.variants[0]


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="needs a callable"):
        tg.compile(3)
    with pytest.raises(ValueError, match="max_variants"):
        tg.compile(lambda: None, max_variants=0)


# ------------------------------------------------------------ 5. other backends
@pytest.mark.parametrize("other", ["array_api_strict", "torch"])
def test_other_backends_replay_to_1e_12(other):
    if other not in tg.backends():
        pytest.skip(f"{other} is not installed here")
    workload = wl.digits_mlp()

    def build():
        model, opt, loss_fn = mlp_builder(workload, "float64")()
        model.to(backend=other)
        return model, optim.SGD(model.parameters(), lr=workload.lr), loss_fn

    batches = [
        (x.to(backend=other), y.to(backend=other)) for x, y in batches_of(workload, "float64", 6)
    ]
    assert_same_training(build, batches, steps=20, equal=False)


@pytest.mark.parametrize("other", ["array_api_strict", "torch"])
@pytest.mark.parametrize("name", ["cnn", "gru"])
def test_conv1d_and_gru_on_other_backends_to_1e_12(name, other):
    if other not in tg.backends():
        pytest.skip(f"{other} is not installed here")
    batches = sequence_data("float64", SEQUENCE_LENGTH[name], backend=other)
    assert_same_training(sequence_builder(name, "float64", other), batches, steps=20, equal=False)


def _jax_runs(dropout):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.random((16, 2)).astype("float32"), backend="jax")
    y = tg.tensor(rng.integers(0, 3, 16), backend="jax")
    results = []
    for compiled in (False, True):
        tg.manual_seed(0)
        layers = [nn.Linear(2, 8), nn.Tanh()] + ([nn.Dropout(0.2)] if dropout else [])
        model = nn.Sequential(*layers, nn.Linear(8, 3)).to(backend="jax")
        opt = optim.Adam(model.parameters(), lr=0.01)
        step = training_step(model, opt, F.cross_entropy)
        run = tg.compile(step) if compiled else step
        losses = [run(x, y).numpy() for _ in range(10)]
        results.append(losses + [p.numpy() for p in model.parameters()])
    assert "eager" not in run.variants[0]
    return results, run.explain(file=open("/dev/null", "w"))


def test_jax_replays_under_jax_jit_to_float32_rounding():
    if "jax" not in tg.backends():
        pytest.skip("jax is not installed here")
    (eager, compiled), shown = _jax_runs(dropout=False)
    assert "one jax.jit function" in shown  # XLA fuses the calls: float32 rounding differs
    for a, b in zip(eager, compiled, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_jax_with_random_draws_replays_call_by_call_bitwise():
    if "jax" not in tg.backends():
        pytest.skip("jax is not installed here")
    (eager, compiled), shown = _jax_runs(dropout=True)
    assert "jax.jit" not in shown and "uniform" in shown
    assert all(np.array_equal(a, b) for a, b in zip(eager, compiled, strict=True))


# ------------------------------------------------------------ 6. fit and the command line
def test_fit_with_compile_gives_the_eager_run(monkeypatch):
    loop = sys.modules["tinygrad_edu.train.loop"]
    made = []
    monkeypatch.setattr(loop, "compile_step", lambda fn: made.append(tg.compile(fn)) or made[-1])
    X, y = small_data("float32", n=50)
    runs = []
    for compiled in (False, True):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loader = DataLoader(X, y, batch_size=16, shuffle=True, seed=1)  # a smaller last batch
        history = tg.train.fit(
            model, F.cross_entropy, opt, loader, loader, epochs=4, progress=False,
            scheduler=lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), compile=compiled,
        )  # fmt: skip
        runs.append((history, [p.numpy() for p in model.parameters()]))
    (eager, eager_params), (compiled, params) = runs
    assert eager["loss"] == compiled["loss"] and eager["val_accuracy"] == compiled["val_accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(eager_params, params, strict=True))
    assert len(made) == 1 and len(made[0].variants) == 2
    assert all("eager" not in v for v in made[0].variants)


def test_fit_with_compile_refuses_closure_optimizers():
    X, y = small_data("float64")
    model = nn.Linear(6, 3, dtype="float64")
    with pytest.raises(ValueError, match="LBFGS re-evaluates the loss"):
        tg.train.fit(
            model, F.cross_entropy, optim.LBFGS(model.parameters()), DataLoader(X, y, 8),
            epochs=1, progress=False, compile=True,
        )  # fmt: skip


def test_train_command_with_compile_prints_the_eager_numbers(tmp_path):
    import subprocess

    outputs = []
    for extra in ([], ["--compile"]):
        command = [
            sys.executable, "-m", "tinygrad_edu", "train", "--dataset", "digits", "--epochs", "2",
            "--no-progress", *extra,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "CompileWarning" not in result.stderr
        outputs.append([line for line in result.stdout.splitlines() if not line.startswith("time")])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("name", ["mlp", "cnn", "gru"])
def test_benchmark_mnist1d_compiled_trains_to_the_eager_weights(name, monkeypatch):
    from tinygrad_edu import benchmark

    made = []

    def recorded_model(*args, **kwargs):
        made.append(tg.models.mnist1d_model(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(benchmark, "mnist1d_model", recorded_model)
    arrays = benchmark.load(False)
    eager = benchmark.train_ours(name, arrays, steps=6, eval_every=3, seed=0)
    compiled = benchmark.train_ours(name, arrays, steps=6, eval_every=3, seed=0, compiled=True)
    assert (eager.library, compiled.library) == ("tinygrad_edu", "tinygrad_edu compiled")
    assert eager.test_accuracy == compiled.test_accuracy
    assert eager.capture_ms == [] and len(compiled.capture_ms) == 1  # one variant, replayed
    for a, b in zip(made[0].parameters(), made[1].parameters(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


def test_benchmark_command_with_compile_reports_the_capture(capsys, tmp_path):
    from tinygrad_edu import cli

    argv = ["benchmark", "mnist1d", "--steps", "4", "--eval-every", "2", "--models", "logistic"]
    assert cli.main([*argv, "--compile", "--out", str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"tinygrad_edu compiled\s+logistic\s+normal .*, capture \d+ ms$", out, re.M)
    assert "total training time: tinygrad_edu compiled" in out
