"""Shared fixtures: the backend every op/nn/optim test runs on.

``pytest --backends numpy,array_api_strict`` (the default) selects backends;
``--backends torch,jax,dask`` runs the same tests on those, ``--backends all``
on every known backend. A backend that does not import or answer here (CuPy
without a CUDA device) is skipped with the reason.

JAX computes in float32 unless its 64-bit mode is on, and the tests check
gradients in float64: when jax is selected, 64-bit mode is switched on before
any test runs (tinygrad_edu itself never changes JAX's global configuration).

A test that cannot apply to a backend is listed in ``NOT_APPLICABLE`` with the
reason, and is reported as skipped, never dropped silently.
"""

import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend as backends

DEFAULT_BACKENDS = "numpy,array_api_strict"

_LBFGS_ON_DASK = (
    "slow, not wrong: every scalar L-BFGS reads (the loss, norms, and up to "
    "2 x history_size dot products an iteration) is a Dask computation of its own, "
    "about 1 s an iteration on a loaded 2-core machine, so these multi-step runs take "
    "many minutes; tests/test_distributed.py checks a short L-BFGS run on Dask against "
    "NumPy instead"
)

# (backend, substring of the test id) -> why the test cannot apply there.
NOT_APPLICABLE = {
    ("dask", "LBFGS"): _LBFGS_ON_DASK,
    ("dask", "lbfgs"): _LBFGS_ON_DASK,
}


def pytest_addoption(parser):
    parser.addoption(
        "--backends",
        default=DEFAULT_BACKENDS,
        help="comma-separated backends for the parametrised suites, or 'all' "
        f"(known: {', '.join(backends.KNOWN_BACKENDS)})",
    )


def selected_backends(config) -> list[str]:
    value = config.getoption("--backends")
    if value == "all":
        return list(backends.KNOWN_BACKENDS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in backends.KNOWN_BACKENDS]
    if unknown:
        raise pytest.UsageError(
            f"--backends: unknown {', '.join(unknown)}; known: {', '.join(backends.KNOWN_BACKENDS)}"
        )
    return names


def pytest_configure(config):
    if "jax" in selected_backends(config):
        enable_jax_float64()


def enable_jax_float64() -> None:
    """Switch on JAX's 64-bit mode (float64 arrays) if JAX is installed."""
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", selected_backends(metafunc.config))


def pytest_collection_modifyitems(config, items):
    # Slow end-to-end tests (tests/test_asv.py) run only when asked for: -m slow.
    slow_selected = "slow" in (config.getoption("-m") or "")
    for item in items:
        if "slow" in item.keywords and not slow_selected:
            item.add_marker(pytest.mark.skip(reason="slow: run with -m slow (.ci/run does)"))
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend_name")
        for (name, pattern), reason in NOT_APPLICABLE.items():
            if backend == name and pattern in item.nodeid:
                item.add_marker(pytest.mark.skip(reason=f"not applicable to {name}: {reason}"))


@pytest.fixture
def xp(backend_name):
    """The namespace of the backend under test (skips if unavailable here)."""
    try:
        return backends.get_namespace(backend_name)
    except ValueError as err:
        pytest.skip(f"backend {backend_name} unavailable: {err}")


@pytest.fixture(autouse=True)
def _reset_defaults():
    """Every test starts with the documented defaults and a fixed seed."""
    tg.set_default_dtype("float32")
    tg.set_default_backend("numpy")
    tg.manual_seed(0)
    yield
    tg.set_default_dtype("float32")
    tg.set_default_backend("numpy")


@pytest.fixture(autouse=True)
def _forget_ops_defined_by_tests():
    """An op class a test defines (tests/test_engine.py has several) leaves the registry
    afterwards, so ``test_every_op_has_a_case`` sees only the library's ops whatever the order."""
    registered = dict(tg.Function.registry)
    yield
    if len(tg.Function.registry) != len(registered):
        tg.Function.registry.clear()
        tg.Function.registry.update(registered)
