"""Backends: choosing one, moving between them, refusing to mix them, and what each lacks.

Tests with a ``backend_name`` argument run on the selected backends
(``--backends``); the cross-backend tests run wherever torch, JAX or Dask is
installed and skip otherwise.
"""

import contextlib
import json
import sys
import threading
import types
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend as backends

from .helpers import make_input


@contextlib.contextmanager
def jax_float64(enabled=True):
    """JAX's 64-bit mode for the duration of a block (skips without JAX)."""
    jax = pytest.importorskip("jax")
    with jax.enable_x64(enabled):
        yield


@pytest.fixture
def fresh_probes(monkeypatch):
    """Forget which backends were probed, so a test can fake a library."""
    registry = backends.namespaces
    monkeypatch.setattr(registry, "_namespaces", dict(registry._namespaces))
    monkeypatch.setattr(registry, "_unavailable", dict(registry._unavailable))
    registry._namespaces.pop("cupy", None)
    registry._unavailable.pop("cupy", None)


def _fake_cupy(monkeypatch, device_count):
    """A ``cupy`` module whose runtime reports ``device_count`` or raises it."""

    def get_device_count():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=runtime)
    fake.zeros = lambda n: pytest.fail("the probe allocated without a device")
    namespace = types.ModuleType("fake_cupy_namespace")
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setitem(sys.modules, "fake_cupy_namespace", namespace)
    monkeypatch.setitem(backends.namespaces._NAMESPACE_MODULES, "cupy", "fake_cupy_namespace")


# ------------------------------------------------------------------ which backends
def test_backends_lists_the_usable_ones_in_order():
    names = tg.backends()
    assert names[:1] == ["numpy"] and "array_api_strict" in names
    assert names == [n for n in backends.KNOWN_BACKENDS if n in names]
    for name in names:
        assert backends.backend_name(backends.get_namespace(name)) == name


def test_missing_library_is_unavailable_with_the_reason(monkeypatch, fresh_probes):
    modules = backends.namespaces._NAMESPACE_MODULES
    monkeypatch.setitem(modules, "cupy", "no_such_module_for_tinygrad_edu")
    assert "cupy" not in tg.backends()
    with pytest.raises(ValueError, match=r"'cupy' is not available.*no_such_module.*numpy"):
        tg.zeros(2, backend="cupy")


@pytest.mark.parametrize(
    ("device_count", "reason"),
    [(0, "no CUDA device was found"), (RuntimeError("cudaErrorInsufficientDriver"), "Driver")],
)
def test_cupy_without_a_device_is_unavailable(monkeypatch, fresh_probes, device_count, reason):
    _fake_cupy(monkeypatch, device_count)
    assert "cupy" not in tg.backends()
    with pytest.raises(ValueError, match=reason):
        backends.get_namespace("cupy")
    entry = backends.describe()["backends"]["cupy"]
    assert not entry["available"] and reason in entry["reason"] and entry["devices"] == []


def test_describe_is_json_ready_and_names_versions_and_devices():
    info = backends.describe()
    json.dumps(info)
    assert info["default_backend"] == "numpy" and info["default_dtype"] == "float32"
    assert set(info["backends"]) == set(backends.KNOWN_BACKENDS)
    numpy_entry = info["backends"]["numpy"]
    assert numpy_entry == {
        "available": True,
        "version": np.__version__,
        "devices": ["cpu"],
        "reason": None,
    }
    strict = info["backends"]["array_api_strict"]
    assert strict["available"] and any("device1" in d for d in strict["devices"])


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match="known backends: numpy, cupy, array_api_strict"):
        backends.get_namespace("tensorflow")
    with pytest.raises(TypeError, match="name or an array namespace"):
        backends.get_namespace(3)


# ------------------------------------------------------------------ switching
def test_set_default_backend_applies_to_python_data_and_creation():
    tg.set_default_backend("array_api_strict")
    assert tg.get_default_backend() == "array_api_strict"
    assert tg.tensor([1.0]).backend == "array_api_strict"
    assert tg.zeros(2).backend == "array_api_strict" and tg.randn(2).backend == "array_api_strict"
    assert tg.tensor(np.ones(2)).backend == "numpy", "an existing array keeps its backend"
    tg.set_default_backend(np)  # a raw library module names its backend too
    assert tg.get_default_backend() == "numpy" and tg.tensor([1.0]).backend == "numpy"


def test_default_backend_context_nests_restores_and_stays_in_its_thread():
    seen_in_thread = []
    with tg.default_backend("array_api_strict"):
        assert tg.ones(1).backend == "array_api_strict"
        with tg.default_backend("numpy"):
            assert tg.ones(1).backend == "numpy"
        assert tg.ones(1).backend == "array_api_strict"
        worker = threading.Thread(target=lambda: seen_in_thread.append(tg.ones(1).backend))
        worker.start()
        worker.join()
    assert tg.ones(1).backend == "numpy" and seen_in_thread == ["numpy"]
    with pytest.raises(ValueError, match="unknown backend"), tg.default_backend("nope"):
        pass


def test_backend_and_device_on_creation(backend_name, xp):
    t = tg.tensor([[1.0, 2.0]], backend=backend_name, device="cpu")
    assert t.backend == backend_name and t.dtype == xp.float32
    assert tg.zeros(2, backend=xp).backend == backend_name, "a namespace module works too"
    assert tg.tensor(t.data).backend == backend_name


def test_unknown_device_name_is_refused():
    with pytest.raises(ValueError, match="backend 'numpy' has no device 'cuda'"):
        tg.tensor([1.0], device="cuda")


def test_strict_devices_move_and_gradients_come_back():
    strict = backends.get_namespace("array_api_strict")
    x = tg.tensor([1.0, 2.0], backend="array_api_strict", requires_grad=True)
    on_device1 = x.to(device="device1")
    assert on_device1.device == strict.Device("device1")
    (on_device1 * on_device1).sum().backward()
    assert x.grad.device == x.device and x.grad.tolist() == [2.0, 4.0]
    made_there = tg.tensor([1.0], backend="array_api_strict", device="device1")
    assert made_there.device == strict.Device("device1")


def test_to_moves_between_backends_and_back_with_gradients(backend_name, xp):
    x = make_input((2, 3), backend_name)
    on_strict = x.to(backend="array_api_strict")
    assert on_strict.backend == "array_api_strict" and on_strict.requires_grad
    (on_strict.to(backend=backend_name) * 3).sum().backward()
    assert x.grad.backend == backend_name
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 3.0))
    assert x.to(backend=backend_name).data is x.data, "a move to where it is changes nothing"


# ------------------------------------------------------------------ mixing is an error
def _pairs_to_mix():
    pairs = [("numpy", "array_api_strict")]
    for other in ("torch", "jax", "dask"):
        pairs.append(("numpy", other))
    pairs.append(("torch", "jax"))
    return pairs


@pytest.mark.parametrize(("first", "second"), _pairs_to_mix())
def test_mixing_backends_names_both_and_suggests_to(first, second):
    for name in (first, second):
        pytest.importorskip(name)
    a = tg.zeros(3, backend=first, requires_grad=True)
    b = tg.zeros(3, backend=second)
    for combine in (lambda: a + b, lambda: b * a, lambda: a < b, lambda: tg.where(a > 0, a, b)):
        with pytest.raises(ValueError, match=r"different backends.*\.to\(") as caught:
            combine()
        assert first in str(caught.value) and second in str(caught.value)
    assert (a + b.to(backend=first)).backend == first


def test_mixing_devices_names_both():
    strict = backends.get_namespace("array_api_strict")
    a = tg.zeros(3, backend="array_api_strict")
    b = tg.zeros(3, backend="array_api_strict", device=strict.Device("device1"))
    with pytest.raises(ValueError, match=r"CPU_DEVICE.*device1.*\.to\("):
        a + b
    assert (a.to(device="device1") + b).device == b.device


def test_mixing_in_an_index_is_an_error():
    x = tg.zeros(4, backend="numpy")
    with pytest.raises(ValueError, match="different backends"):
        x[tg.tensor([0, 1], dtype="int64", backend="array_api_strict")]


# ------------------------------------------------------------------ dtypes
def test_dtype_names_from_every_library():
    assert backends.dtype_name("float32") == "float32" and backends.dtype_name("f8") == "float64"
    assert backends.dtype_name(np.int64) == "int64" and backends.dtype_name(float) == "float64"
    strict = backends.get_namespace("array_api_strict")
    assert backends.dtype_name(strict.float32) == "float32"
    assert backends.resolve_dtype(strict, np.float64) == strict.float64
    with pytest.raises(TypeError, match="unknown dtype 'float7'"):
        backends.resolve_dtype(strict, "float7")


def test_torch_dtypes_are_understood():
    torch = pytest.importorskip("torch")
    assert backends.dtype_name(torch.float64) == "float64"
    assert backends.dtype_name(torch.bool) == "bool"
    t = tg.tensor([1.0, 2.0], dtype=torch.float64, backend="torch")
    assert t.dtype == torch.float64
    assert tg.tensor([1, 2], dtype=torch.int64).dtype == np.int64, "a torch dtype on numpy"
    assert t.astype(np.float32).dtype == torch.float32


def test_jax_float64_needs_64_bit_mode():
    with jax_float64(False):
        with pytest.raises(ValueError, match="jax_enable_x64"):
            tg.tensor(np.zeros(2), backend="jax")
        with pytest.raises(ValueError, match="jax_enable_x64"):
            tg.zeros(2, dtype="float64", backend="jax")
        x = tg.tensor([1.0, 2.0], backend="jax", requires_grad=True)
        assert x.dtype == np.float32
        with pytest.raises(ValueError, match="jax_enable_x64"):
            tg.gradcheck(lambda t: t * t, [x])
        assert backends.describe()["backends"]["jax"]["float64"] is False
    with jax_float64():
        assert tg.tensor(np.zeros(2), backend="jax").dtype == np.float64
        assert backends.describe()["backends"]["jax"]["float64"] is True


# ------------------------------------------------------------------ conversions
def test_read_only_host_arrays_are_copied_for_torch():
    pytest.importorskip("torch")
    source = np.broadcast_to(np.arange(3.0), (2, 3))  # read-only, stride 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = tg.tensor(source, backend="torch")
    assert t.tolist() == [[0.0, 1.0, 2.0]] * 2
    assert t.data.data_ptr() != source.ctypes.data


@pytest.mark.parametrize("name", ["torch", "jax", "dask"])
def test_numpy_and_item_on_other_backends(name):
    pytest.importorskip(name)
    with jax_float64() if name == "jax" else contextlib.nullcontext():
        t = tg.tensor(np.arange(6.0).reshape(2, 3), backend=name)
        assert t.backend == name and isinstance(t.numpy(), np.ndarray)
        np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))
        assert t.sum().item() == 15.0 and t[1, 2].item() == 5.0


def test_resolve_device_names():
    strict = backends.get_namespace("array_api_strict")
    assert backends.resolve_device(strict, "cpu") == strict.Device("CPU_DEVICE")
    assert backends.resolve_device(backends.get_namespace("numpy"), "cpu") == "cpu"
    assert backends.resolve_device(strict, None) is None
    torch = pytest.importorskip("torch")
    torch_xp = backends.get_namespace("torch")
    assert backends.resolve_device(torch_xp, 1) == torch.device("cuda:1")
    assert backends.resolve_device(torch_xp, "cpu") == torch.device("cpu")


# ------------------------------------------------------------------ what the standard lacks
def test_scatter_add_sums_repeated_positions(backend_name, xp):
    positions = tg.tensor([1, 1, 3, 1, 0], dtype="int64", backend=backend_name).data
    values = tg.tensor([1.0, 2.0, 3.0, 4.0, 5.0], backend=backend_name).data
    out = backends.scatter_add_1d(xp, 5, positions, values)
    assert out.dtype == values.dtype
    np.testing.assert_array_equal(backends.to_numpy(out), [5.0, 7.0, 0.0, 3.0, 0.0])


GATHERS = {
    "rows": lambda x, i, j: x[i],
    "columns": lambda x, i, j: x[:, j],
    "ellipsis_last": lambda x, i, j: x[..., j],
    "pairs": lambda x, i, j: x[i, j],
    "negative": lambda x, i, j: x[-i - 1],
}


@pytest.mark.parametrize("form", sorted(GATHERS))
def test_integer_array_indexing_and_its_gradient(form, backend_name, xp):
    x = make_input((3, 4), backend_name)
    rows = tg.tensor([0, 2, 2, 1], dtype="int64", backend=backend_name)
    cols = tg.tensor([3, 0, 3, 1], dtype="int64", backend=backend_name)
    out = GATHERS[form](x, rows, cols)
    expected = GATHERS[form](x.numpy(), rows.numpy(), cols.numpy())
    np.testing.assert_array_equal(out.numpy(), expected)
    out.sum().backward()
    flat_positions = GATHERS[form](np.arange(12).reshape(3, 4), rows.numpy(), cols.numpy())
    counts = np.bincount(flat_positions.reshape(-1), minlength=12).reshape(3, 4)
    np.testing.assert_array_equal(x.grad.numpy(), counts)


def test_boolean_mask_has_a_known_shape(backend_name, xp):
    x = tg.tensor(np.arange(-3.0, 3.0).reshape(2, 3), backend=backend_name, requires_grad=True)
    picked = x[x > 0]
    assert picked.shape == (2,) and picked.tolist() == [1.0, 2.0]
    picked.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]


def test_erf_matches_scipy(backend_name, xp):
    special = pytest.importorskip("scipy.special")
    values = np.linspace(-4.0, 4.0, 17)
    out = backends.erf(xp, tg.tensor(values, backend=backend_name).data)
    np.testing.assert_allclose(backends.to_numpy(out), special.erf(values), rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ Dask
def test_dask_chunks_stay_lazy_until_a_number_is_asked_for():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(0)
    features, weights = rng.standard_normal((8, 3)), rng.standard_normal((3, 2))
    x = tg.tensor(da.from_array(features, chunks=(2, 3)))
    w = tg.tensor(weights, backend="dask", requires_grad=True)
    assert x.backend == "dask" and x.data.numblocks == (4, 1)
    loss = ((x @ w).tanh() ** 2).mean()
    assert isinstance(loss.data, da.Array), "nothing computed yet"
    loss.backward()
    hidden = np.tanh(features @ weights)
    expected = features.T @ (2 * hidden * (1 - hidden**2)) / hidden.size
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)
    assert loss.item() == pytest.approx(np.mean(hidden**2), rel=1e-12)


@pytest.mark.parametrize("name", ["jax", "dask"])
def test_immutable_backends_are_never_written_in_place(name):
    pytest.importorskip(name)
    with jax_float64() if name == "jax" else contextlib.nullcontext():
        xp = backends.get_namespace(name)
        assert not backends.is_mutable(xp)
        x = tg.tensor(np.arange(6.0).reshape(2, 3), backend=name, requires_grad=True)
        (x[1:, ::2] * 2).sum().backward()  # the adjoint of basic indexing, without writes
        np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [2, 0, 2]])


def test_materialize_computes_dask_arrays_together_and_passes_others_through():
    da = pytest.importorskip("dask.array")
    eager = np.arange(3.0)
    lazy = da.from_array(np.arange(4.0), chunks=2) * 2
    chunks_done = []

    def shared_work(block):
        if block.size:  # Dask also calls it once on an empty block to learn the output type
            chunks_done.append(block.tolist())
        return block + 1

    shared = lazy.map_blocks(shared_work, dtype=lazy.dtype)
    out = backends.materialize([eager, shared.sum(), shared * 3])
    assert out[0] is eager
    assert sorted(chunks_done) == [[0, 2], [4, 6]], "the shared part ran once, for both results"
    assert float(out[1].compute()) == 16.0 and out[2].compute().tolist() == [3, 9, 15, 21]
    assert len(chunks_done) == 2, "the results are kept, not recomputed"
    assert len(out[2].dask) == 2, "the graph is cut: one task per chunk, nothing upstream"
