"""Grad mode and the backward tracer are per thread; the random generator is process-wide.

Each test forces the interleaving it needs (events, barriers, a short switch
interval), so it is deterministic and bounded in time.
"""

import sys
import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.function import thread_mode
from tinygrad_edu.nn import functional as F

TIMEOUT = 60  # seconds: a deadlocked test fails instead of hanging


@pytest.fixture
def fast_switching():
    """Switch threads every 10 us, so that threads really interleave inside the engine."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


def _run(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread did not finish"


def _model_and_data(seed):
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((32, 6)), dtype="float32")
    y = tg.tensor(rng.integers(0, 3, 32), dtype="int64")
    return model, x, y


def _train(model, x, y, steps=60):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()]


def test_threads_training_separate_models_give_the_serial_weights(fast_switching):
    serial = [_train(*_model_and_data(seed)) for seed in range(4)]
    setups = [_model_and_data(seed) for seed in range(4)]  # initialised in this thread
    results, errors = {}, []

    def work(seed):
        try:
            results[seed] = _train(*setups[seed])
        except Exception as err:  # reported below with the thread's seed
            errors.append((seed, repr(err)))

    _run([threading.Thread(target=work, args=(seed,)) for seed in range(4)])
    assert not errors
    for seed in range(4):
        for threaded, expected in zip(results[seed], serial[seed]):
            np.testing.assert_array_equal(threaded, expected)


def test_no_grad_in_one_thread_leaves_recording_on_in_another():
    inside, checked = threading.Event(), threading.Event()

    def inference():
        with tg.no_grad():
            inside.set()
            checked.wait(TIMEOUT)

    thread = threading.Thread(target=inference)
    thread.start()
    assert inside.wait(TIMEOUT)
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()  # recorded: this thread never entered no_grad
    checked.set()
    thread.join(TIMEOUT)
    assert y.requires_grad and y.grad_fn is not None
    y.backward()
    assert w.grad.tolist() == [2.0, 4.0]


def test_an_inference_thread_beside_training_changes_nothing(fast_switching):
    expected = _train(*_model_and_data(1))
    model, x, y = _model_and_data(1)
    other, other_x, _ = _model_and_data(2)
    done = threading.Event()

    def inference():
        while not done.is_set():
            with tg.no_grad():
                other(other_x)

    thread = threading.Thread(target=inference)
    thread.start()
    try:
        got = _train(model, x, y)
    finally:
        done.set()
        thread.join(TIMEOUT)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_overlapping_no_grad_blocks_in_two_threads_restore_grad_mode():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    modes = {}

    def first():
        with tg.no_grad():
            first_in.set()
            second_in.wait(TIMEOUT)
        modes["first after"] = tg.is_grad_enabled()
        first_out.set()

    def second():
        first_in.wait(TIMEOUT)
        with tg.no_grad():
            second_in.set()
            first_out.wait(TIMEOUT)  # the first thread leaves its block while we are in ours
            modes["second inside"] = tg.is_grad_enabled()
        modes["second after"] = tg.is_grad_enabled()

    _run([threading.Thread(target=first), threading.Thread(target=second)])
    assert modes == {"first after": True, "second inside": False, "second after": True}
    assert tg.is_grad_enabled()


def test_grad_on_separate_graphs_in_four_threads_is_right(fast_switching):
    errors = []

    def work(scale):
        for step in range(300):
            x = tg.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
            (g,) = tg.grad((x * x * scale).sum(), x)
            if g.tolist() != [2.0 * scale, 4.0 * scale, 6.0 * scale]:
                errors.append((scale, step, g.tolist()))

    _run([threading.Thread(target=work, args=(scale,)) for scale in (1.0, 2.0, 3.0, 4.0)])
    assert not errors


def test_manual_seed_reaches_worker_threads():
    tg.manual_seed(123)
    drawn = {}

    def work():
        drawn["worker"] = tg.rand(5).numpy()

    _run([threading.Thread(target=work)])
    tg.manual_seed(123)
    np.testing.assert_array_equal(drawn["worker"], tg.rand(5).numpy())


def test_draws_from_many_threads_are_all_distinct_numbers():
    """Concurrent draws share one generator safely: no number is handed out twice."""
    tg.manual_seed(0)
    drawn = []
    lock = threading.Lock()

    def work():
        for _ in range(50):
            values = tg.rand(20).numpy().tolist()
            with lock:
                drawn.extend(values)

    _run([threading.Thread(target=work) for _ in range(4)])
    assert len(drawn) == 4000 and len(set(drawn)) == 4000


def test_the_backward_tracer_is_per_thread():
    traced, other_done = threading.Event(), threading.Event()
    seen = {}

    def other():
        traced.wait(TIMEOUT)
        seen["tracer in other thread"] = thread_mode.tracer
        x = tg.tensor([1.0], requires_grad=True)
        (x * 2).sum().backward()
        other_done.set()

    thread = threading.Thread(target=other)
    thread.start()
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.trace_backward() as trace:
        traced.set()
        other_done.wait(TIMEOUT)
        (w * w).sum().backward()
    thread.join(TIMEOUT)
    assert seen["tracer in other thread"] is None
    assert [step.op for step in trace.steps] == ["Sum", "Mul"]


def test_no_grad_as_a_decorator_restores_grad_mode_in_recursion_and_threads():
    @tg.no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and tg.is_grad_enabled()
    entered, release = threading.Barrier(2, timeout=TIMEOUT), threading.Event()
    after = {}

    @tg.no_grad()
    def infer(name):
        entered.wait()
        if name == "first":
            release.wait(TIMEOUT)
        return tg.is_grad_enabled()

    def work(name):
        infer(name)
        if name == "second":
            release.set()
        after[name] = tg.is_grad_enabled()

    _run([threading.Thread(target=work, args=(name,)) for name in ("first", "second")])
    assert after == {"first": True, "second": True}


def test_a_tracer_watches_only_its_own_threads_passes():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = tg.randn(5, 3)
    watching, passed = threading.Event(), threading.Event()

    def other():
        watching.wait(TIMEOUT)
        model(x).sum().backward()
        passed.set()

    thread = threading.Thread(target=other)
    thread.start()
    with tg.trace_backward() as trace:
        trace.watch_layers(model)
        watching.set()
        passed.wait(TIMEOUT)
    thread.join(TIMEOUT)
    assert trace.steps == [] and trace.watched == {}
