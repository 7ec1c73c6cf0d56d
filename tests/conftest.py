"""Shared fixtures: the backend every op/nn/optim test runs on.

``pytest --backends numpy,array_api_strict`` (the default) selects backends;
``--backends all`` adds torch, jax and dask where they are installed. A backend
that cannot be imported is skipped with the reason.
"""

import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend as backends

DEFAULT_BACKENDS = "numpy,array_api_strict"


def pytest_addoption(parser):
    parser.addoption(
        "--backends",
        default=DEFAULT_BACKENDS,
        help="comma-separated backends for the parametrised suites, or 'all'",
    )


def selected_backends(config) -> list[str]:
    value = config.getoption("--backends")
    if value == "all":
        return [b for b in backends.KNOWN_BACKENDS if b != "cupy"] + ["cupy"]
    return [name.strip() for name in value.split(",") if name.strip()]


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", selected_backends(metafunc.config))


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
    tg.manual_seed(0)
    yield
    tg.set_default_dtype("float32")
