"""CuPy on a CUDA device: the same numbers as NumPy, explicit moves, and mixing errors.

Every test here is marked ``gpu`` and skips, with the reason, where CuPy does
not import or no CUDA device answers. ``scripts/gpu-check`` runs this file
(``pytest -m gpu tests/test_gpu.py``).
"""

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import backend as backends
from tinygrad_edu import nn, optim

from .helpers import make_input, training_step
from .op_cases import CASES

pytestmark = pytest.mark.gpu

try:
    cupy_xp = backends.get_namespace("cupy")
except ValueError as err:
    pytest.skip(f"no usable GPU here: {err}", allow_module_level=True)


def _inputs(case, backend_name):
    return [
        make_input(shape, backend_name, case.domain(i), seed=i)
        for i, shape in enumerate(case.shapes)
    ]


def test_cupy_is_listed_with_its_devices():
    assert "cupy" in tg.backends()
    entry = backends.describe()["backends"]["cupy"]
    assert entry["available"] and entry["devices"][0].startswith("cuda:0")


@pytest.mark.parametrize("case", [c for c in CASES if c.ref is not None], ids=lambda c: c.name)
def test_forward_matches_numpy(case):
    inputs = _inputs(case, "cupy")
    out = case.fn(*inputs)
    assert out.backend == "cupy"
    expected = case.ref(*[t.numpy() for t in inputs])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_finite_differences(case):
    assert tg.gradcheck(case.fn, _inputs(case, "cupy"), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_scatter_add_sums_repeats_on_the_device():
    positions = cupy_xp.asarray([1, 1, 3, 1, 0])
    values = cupy_xp.asarray([1.0, 2.0, 3.0, 4.0, 5.0], dtype=cupy_xp.float32)
    out = backends.scatter_add_1d(cupy_xp, 5, positions, values)
    assert out.dtype == cupy_xp.float32
    np.testing.assert_array_equal(backends.to_numpy(out), [5.0, 7.0, 0.0, 3.0, 0.0])


def test_moves_to_the_gpu_and_back_carry_gradients():
    x = make_input((3, 4), "numpy")
    on_gpu = x.to(backend="cupy", device="cuda:0")
    assert on_gpu.backend == "cupy" and str(on_gpu.device) == str(cupy_xp.zeros(1).device)
    (on_gpu.tanh() * 2).sum().backward()
    assert x.grad.backend == "numpy"
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh(x.numpy()) ** 2), rtol=1e-12)
    assert isinstance(on_gpu.numpy(), np.ndarray), "numpy() copies to the host"


def test_cpu_and_gpu_tensors_do_not_mix():
    cpu = tg.zeros(3)
    gpu = tg.zeros(3, backend="cupy")
    with pytest.raises(ValueError, match=r"cupy.*numpy.*\.to\("):
        cpu + gpu


def test_torch_cuda_and_cupy_do_not_mix():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA device here")
    a = tg.zeros(3, backend="torch", device="cuda")
    with pytest.raises(ValueError, match=r"cupy.*torch"):
        a + tg.zeros(3, backend="cupy")


@pytest.mark.parametrize(("dtype", "rtol"), [("float64", 1e-10), ("float32", 1e-4)])
def test_one_training_step_matches_numpy(dtype, rtol):
    """The same MLP, data and SGD step on both backends give the same weights."""
    rng = np.random.default_rng(0)
    features = rng.standard_normal((32, 8)).astype(dtype)
    labels = rng.integers(0, 3, 32)
    weights = {}
    for name in ("numpy", "cupy"):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).to(
            backend=name, dtype=dtype
        )
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            optimizer.zero_grad()
            logits = model(tg.tensor(features, backend=name))
            F.cross_entropy(logits, tg.tensor(labels, backend=name)).backward()
            optimizer.step()
        weights[name] = [p.numpy() for p in model.parameters()]
        assert all(p.backend == name for p in model.parameters())
    for on_cpu, on_gpu in zip(weights["numpy"], weights["cupy"], strict=True):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=rtol, atol=rtol)


def test_a_compiled_step_replays_the_eager_numbers_on_cupy():
    """tg.compile on CuPy: 20 Adam steps; Adam's bias corrections (Python numbers next to
    arrays) keep the call-by-call replay."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((32, 8)), backend="cupy")
    y = tg.tensor(rng.integers(0, 3, 32), backend="cupy")
    results = []
    for compiled in (False, True):
        tg.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(8, 16, dtype="float64"), nn.Tanh(), nn.Linear(16, 3, dtype="float64")
        ).to(backend="cupy")
        opt = optim.Adam(model.parameters(), lr=1e-2)
        step = training_step(model, opt, F.cross_entropy)
        run = tg.compile(step) if compiled else step
        losses = [run(x, y).numpy() for _ in range(20)]
        results.append(losses + [p.numpy() for p in model.parameters()])
    assert run.variants and "eager" not in run.variants[0]
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _compiled_runs(build, loss_fn=F.mse_loss, steps=12):
    """Losses and parameters after eager and compiled steps on CuPy; the compiled step."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((32, 8)), backend="cupy")
    y = tg.tensor(rng.standard_normal((32, 1)), backend="cupy")
    results = []
    for compiled in (False, True):
        tg.manual_seed(0)
        model, opt = build()
        step = training_step(model, opt, loss_fn)
        run = tg.compile(step) if compiled else step
        losses = [run(x, y).numpy() for _ in range(steps)]
        results.append(losses + [p.numpy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    return run


class _Elementwise(nn.Module):
    """pred = sum_j x_j w_j + b: no matmul, so the step can be captured as a CUDA graph."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(tg.tensor(np.linspace(-0.5, 0.5, 8), backend="cupy"))
        self.b = nn.Parameter(tg.zeros(1, dtype="float64", backend="cupy"))

    def forward(self, x):
        return (x * self.w).sum(axis=1, keepdims=True) + self.b


def test_a_compiled_step_without_matmul_launches_one_cuda_graph():
    def build():
        model = _Elementwise()
        return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def squared_error(pred, y):  # mse_loss sums the squares with a dot product: cuBLAS
        return ((pred - y) * (pred - y)).mean()

    run = _compiled_runs(build, squared_error)
    program = next(v.program for v in run._variants.values() if v.program is not None)
    assert "one CUDA graph" in run.explain(file=open("/dev/null", "w"))
    assert program.run is program._globals["_replay"]  # captured, not fallen back


def test_a_compiled_step_with_matmul_falls_back_to_the_plain_replay():
    def build():
        model = nn.Sequential(
            nn.Linear(8, 16, dtype="float64"), nn.Tanh(), nn.Linear(16, 1, dtype="float64")
        )
        return model.to(backend="cupy"), optim.SGD(model.parameters(), lr=0.05)

    run = _compiled_runs(build)  # the same numbers, whichever replay ran
    program = next(v.program for v in run._variants.values() if v.program is not None)
    captured = program.run is program._globals["_replay"]
    print(f"matmul step: {'captured as a CUDA graph' if captured else 'plain replay'}")


# ------------------------------------------- CUDA graphs: backend.graph_function
def _graph_step(w, x, lr):
    """Elementwise calls and sums (no matmul: CuPy refuses cuBLAS calls while a stream
    captures), an in-place update of the bound ``w``, and two fresh outputs."""
    y = cupy_xp.tanh(x * w)
    loss = cupy_xp.sum(y * y)
    grad = cupy_xp.sum(2.0 * y * (1.0 - y * y) * x, axis=0)
    w -= lr * grad
    return loss, grad


def _graph_inputs(seed):
    """New arrays each call: a batch and a 0-d learning rate (copied into the graph)."""
    rng = np.random.default_rng(seed)
    return cupy_xp.asarray(rng.standard_normal((64, 8))), cupy_xp.asarray(0.05 + 0.01 * seed)


def _graph_parameter():
    return cupy_xp.asarray(np.random.default_rng(100).standard_normal(8))


def test_a_captured_step_matches_running_it_plainly():
    """Five launches (the first one captures, then launches: w is updated once, not twice)."""
    w = _graph_parameter()
    w_plain = cupy_xp.asarray(w, copy=True)
    run = backends.graph_function(cupy_xp, _graph_step, [True, False, False])
    for seed in range(5):
        x, lr = _graph_inputs(seed)
        loss, grad = run(w, x, lr)
        loss_plain, grad_plain = _graph_step(w_plain, x, lr)
        for got, want in ((loss, loss_plain), (grad, grad_plain), (w, w_plain)):
            np.testing.assert_allclose(
                backends.to_numpy(got), backends.to_numpy(want), rtol=1e-12, atol=0
            )


def test_a_graph_launches_in_order_on_the_callers_stream():
    """On a non-blocking stream of the caller's: what is queued there before a call is
    copied in, and what is read there after it sees the launch."""
    import cupy

    w = _graph_parameter()
    w_plain = cupy_xp.asarray(w, copy=True)
    cupy.cuda.get_current_stream().synchronize()  # w is written before another stream reads it
    run = backends.graph_function(cupy_xp, _graph_step, [True, False, False])
    with cupy.cuda.Stream(non_blocking=True):
        for seed in range(3):
            x, lr = _graph_inputs(seed)
            x *= 1.5  # queued on this stream just before the call
            loss, _ = run(w, x, lr)
            loss_plain, _ = _graph_step(w_plain, x, lr)
            np.testing.assert_allclose(
                backends.to_numpy(loss), backends.to_numpy(loss_plain), rtol=1e-12, atol=0
            )
        got, want = backends.to_numpy(w), backends.to_numpy(w_plain)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_a_graph_returns_the_same_output_arrays_every_launch():
    w = _graph_parameter()
    run = backends.graph_function(cupy_xp, _graph_step, [True, False, False])
    first = run(w, *_graph_inputs(0))
    first_loss = float(backends.to_numpy(first[0]))
    second = run(w, *_graph_inputs(1))
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert float(backends.to_numpy(first[0])) != first_loss, "overwritten by the next launch"


def test_unbound_inputs_are_copied_in_before_each_launch():
    run = backends.graph_function(cupy_xp, lambda x: (x * 2.0,), [False])
    x = cupy_xp.asarray([1.0, 2.0])
    (out,) = run(x)
    np.testing.assert_array_equal(backends.to_numpy(out), [2.0, 4.0])
    x[...] = 5.0  # the same array, new values
    run(x)
    np.testing.assert_array_equal(backends.to_numpy(out), [10.0, 10.0])
    x[...] = 7.0  # after the launch: the graph reads its own copy, made at the next call
    np.testing.assert_array_equal(backends.to_numpy(out), [10.0, 10.0])
    run(cupy_xp.asarray([3.0, 4.0]))  # another array of the same shape and dtype
    np.testing.assert_array_equal(backends.to_numpy(out), [6.0, 8.0])


def test_a_bound_input_must_be_the_array_the_graph_was_captured_with():
    w = _graph_parameter()
    run = backends.graph_function(cupy_xp, _graph_step, [True, False, False])
    run(w, *_graph_inputs(0))
    before = backends.to_numpy(w).copy()
    with pytest.raises(backends.GraphInputMoved, match="input 0 is bound"):
        run(cupy_xp.asarray(w, copy=True), *_graph_inputs(1))
    x, lr = _graph_inputs(1)
    with pytest.raises(backends.GraphInputMoved, match=r"input 1 is float64 \(32, 8\)"):
        run(w, x[:32], lr)
    np.testing.assert_array_equal(backends.to_numpy(w), before)  # nothing was launched


def test_a_step_that_reads_the_host_is_refused_and_changes_nothing():
    def reads_the_host(w, x):
        w *= 2.0  # queued before the host read: it must not run
        if float(cupy_xp.sum(x)) > 0:  # a device-to-host copy: not allowed while capturing
            w += 1.0
        return (w,)

    w, x = cupy_xp.ones(3), cupy_xp.ones(3)
    run = backends.graph_function(cupy_xp, reads_the_host, [True, False])
    with pytest.raises(backends.GraphCaptureFailed, match="could not capture") as failed:
        run(w, x)
    assert failed.value.__cause__ is not None
    np.testing.assert_array_equal(backends.to_numpy(w), [1.0, 1.0, 1.0])
    with pytest.raises(backends.GraphCaptureFailed, match="failed before"):
        run(w, x)  # not captured again
    np.testing.assert_array_equal(backends.to_numpy(w * 3.0), [3.0, 3.0, 3.0])  # CuPy works on


def test_a_matmul_step_is_captured_exactly_or_refused_untouched():
    """A step with matmuls: CuPy 14 refuses cuBLAS calls during capture
    (``cupy_backends/cuda/libs/cublas.pyx``, ``setStream``), so the capture must fail
    cleanly with w unchanged; a CuPy that allows them must give the plain numbers."""

    def linear_step(w, x, lr):
        w *= 1.0 - lr  # weight decay, queued before the first matmul
        grad = x.T @ (x @ w)
        w -= lr * grad
        return (grad,)

    rng = np.random.default_rng(3)
    x, lr = cupy_xp.asarray(rng.standard_normal((16, 4))), cupy_xp.asarray(0.01)
    w = cupy_xp.asarray(rng.standard_normal(4))
    w_plain = cupy_xp.asarray(w, copy=True)
    run = backends.graph_function(cupy_xp, linear_step, [True, False, False])
    try:
        (grad,) = run(w, x, lr)
    except backends.GraphCaptureFailed as failed:
        assert "cuBLAS" in str(failed.__cause__), failed.__cause__
        np.testing.assert_array_equal(backends.to_numpy(w), backends.to_numpy(w_plain))
        return
    (grad_plain,) = linear_step(w_plain, x, lr)
    np.testing.assert_allclose(backends.to_numpy(grad), backends.to_numpy(grad_plain), rtol=1e-12)
    np.testing.assert_allclose(backends.to_numpy(w), backends.to_numpy(w_plain), rtol=1e-12)
