"""tg.compile's CUDA-graph path, run on the CPU with a stand-in for the graph.

On CuPy a replay hands its array calls to ``backend.graph_function`` (a CUDA
graph: tests/test_gpu.py, run only where a GPU is). The compiler's side of it,
which calls run before the launch, which inputs are bound and which copied,
the fallback when CuPy cannot capture, a parameter whose array was replaced,
returned values copied out of the graph's memory, is the same on every
backend. Here ``graph_function`` is replaced by ``StandInGraph``, which does what
a graph does with memory (unbound inputs copied into buffers it owns, bound
ones checked to be the same arrays, the arrays the capture made returned and
written again by every launch) but runs the function on NumPy. The replay
must stay bitwise equal to eager.
"""

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import backend, nn, optim
from tinygrad_edu.optim import lr_scheduler

from .helpers import training_step
from .test_compile import (
    assert_same_training,
    batches_of,
    mlp_builder,
    small_data,
    train_under_a_schedule,
    wl,
)


class StandInGraph:
    """A CUDA graph's memory behaviour around a plain call of ``fn`` on NumPy."""

    made: list = []

    def __init__(self, fn, bound, fail=False):
        self.fn, self.bound, self.fail = fn, bound, fail
        self.held = self.outputs = None
        self.launches = 0
        StandInGraph.made.append(self)

    def __call__(self, *inputs):
        if self.fail:
            raise backend.GraphCaptureFailed("stand-in: cuBLAS refused during capture")
        if self.held is None:
            self.held = [a if b else np.empty_like(a) for a, b in zip(inputs, self.bound)]
        for number, (held, array, bound) in enumerate(zip(self.held, inputs, self.bound)):
            if bound and array is not held:
                raise backend.GraphInputMoved(f"input {number} is another array")
            if not bound:
                np.copyto(held, array)
        results = self.fn(*self.held)
        if self.outputs is None:  # a graph's outputs are the arrays its capture made
            self.outputs = tuple(np.asarray(r) for r in results)
        else:  # ... into which every later launch writes
            for output, result in zip(self.outputs, results):
                np.copyto(output, result)
        self.launches += 1
        return self.outputs


@pytest.fixture
def graphs(monkeypatch):
    """Every graph the compiler asks for on NumPy, as StandInGraphs (failing ones if asked)."""
    StandInGraph.made = []
    options = {"fail": False}

    def graph_function(xp, fn, bound):
        if backend.backend_name(xp) != "numpy":
            return None
        return StandInGraph(fn, bound, fail=options["fail"] and fn.__name__ != "_pure_placeholder")

    monkeypatch.setattr(backend, "graph_function", graph_function)
    StandInGraph.options = options
    return StandInGraph


def launches(graphs):
    return sum(g.launches for g in graphs.made)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["W1", "W3"])
def test_sgd_steps_launch_a_graph_and_match_eager(graphs, name, dtype):
    workload = {"W1": wl.digits_mlp, "W3": wl.franke_regression}[name]()
    step = assert_same_training(mlp_builder(workload, dtype), batches_of(workload, dtype, 8))
    assert launches(graphs) >= 45  # 50 steps: the first two run eagerly, the rest launch
    assert "one CUDA graph" in step.explain(file=open("/dev/null", "w"))


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
        lambda ps: optim.Adam(ps, lr=1e-2),
    ],
    ids=["SGD-nesterov", "Adam"],
)
def test_optimizer_state_through_the_graph_matches_eager(graphs, make_optimizer):
    workload = wl.franke_regression()
    builder = mlp_builder(workload, "float64", make_optimizer)
    assert_same_training(builder, batches_of(workload, "float64", 8))


def test_a_changing_learning_rate_is_copied_in_before_each_launch(graphs):
    halved = lambda opt: lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    step = train_under_a_schedule(halved, "float64", batch_count=4)
    assert len(step.variants) == 1 and launches(graphs) >= 45


def test_dropout_keeps_the_plain_replay(graphs):
    X, y = small_data("float64")
    batches = [(tg.tensor(X[i : i + 8]), tg.tensor(y[i : i + 8])) for i in range(0, 40, 8)]

    def build():
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        return model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy

    step = assert_same_training(build, batches)
    assert launches(graphs) == 0  # a graph would draw its dropout mask once
    assert "CUDA graph" not in step.explain(file=open("/dev/null", "w"))


def test_a_step_the_graph_cannot_capture_is_replayed_plainly(graphs):
    graphs.options["fail"] = True
    workload = wl.digits_mlp()
    assert_same_training(mlp_builder(workload, "float32"), batches_of(workload, "float32", 8))
    failed = [g for g in graphs.made if g.fail]
    assert failed and launches(graphs) == 0


def test_a_replaced_parameter_array_captures_again(graphs):
    workload = wl.franke_regression()
    batches = batches_of(workload, "float64", 4)
    results = []
    for compiled in (False, True):
        tg.manual_seed(0)
        model, opt, loss_fn = mlp_builder(workload, "float64")()
        step = training_step(model, opt, loss_fn)
        if compiled:
            step = tg.compile(step)
        for i in range(12):
            if i == 6:  # the graph holds the old array: the next call must not write into it
                first = next(iter(model.parameters()))
                first.data = first.data.copy()
            step(*batches[i % len(batches)])
        results.append([p.numpy().copy() for p in model.parameters()])
    for eager, replayed in zip(*results, strict=True):
        assert np.array_equal(eager, replayed)
    assert len(graphs.made) >= 2 and launches(graphs) >= 6  # captured again after the swap


def test_returned_losses_are_copied_out_of_the_graph(graphs):
    workload = wl.franke_regression()
    model, opt, loss_fn = mlp_builder(workload, "float64")()
    step = tg.compile(training_step(model, opt, loss_fn))
    batches = batches_of(workload, "float64", 4)
    losses = [step(*batches[i % 4]) for i in range(8)]
    assert launches(graphs) >= 5
    values = [float(loss.numpy()) for loss in losses[2:]]
    assert len(set(values)) == len(values)  # each loss kept its own value


def test_state_that_views_a_copied_input_keeps_the_plain_replay(graphs):
    """A buffer kept as a view of the batch: the next launch's copy-in would rewrite it."""

    class Difference(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(5, 3)
            self.register_buffer("last", tg.tensor(np.zeros(20)))

        def forward(self, x):
            d = x * 2.0 - self.last.reshape(4, 5)
            self.last.data = x.reshape(-1).data  # state: a view of the argument
            return self.linear(d)

    rng = np.random.default_rng(1)
    batches = [(tg.tensor(rng.standard_normal((4, 5))), None) for _ in range(4)]

    def build():
        model = Difference()
        return model, optim.SGD(model.parameters(), lr=0.05), lambda out, _: (out**2).mean()

    assert_same_training(build, batches, steps=12)
    assert launches(graphs) == 0
