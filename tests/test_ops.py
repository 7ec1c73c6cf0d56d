"""Every op: forward against NumPy, backward against central differences (float64).

Runs on each selected backend (numpy and array_api_strict by default).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import tinygrad_edu as tg
from tinygrad_edu.tensor import Function

from .helpers import directional_check, make_input, op_names
from .op_cases import BINARY, CASES, UNARY


def _inputs(case, backend_name, seed=0):
    return [
        make_input(shape, backend_name, case.domain(i), seed=seed + i)
        for i, shape in enumerate(case.shapes)
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_matches_numpy(case, backend_name, xp):
    if case.ref is None:
        pytest.skip("no closed-form NumPy reference (checked against torch)")
    inputs = _inputs(case, backend_name)
    out = case.fn(*inputs)
    expected = case.ref(*[t.numpy() for t in inputs])
    assert out.backend == backend_name
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert out.shape == np.shape(expected)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_finite_differences(case, backend_name, xp):
    inputs = _inputs(case, backend_name)
    assert tg.gradcheck(case.fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_recorded_and_raw_backward_agree(case, backend_name, xp):
    """Every rule runs on raw arrays (plain backward) and on Tensors (create_graph)."""
    inputs = _inputs(case, backend_name)
    out = case.fn(*inputs)
    weight = tg.tensor(np.random.default_rng(3).standard_normal(out.shape), backend=backend_name)
    loss = (out * weight).sum()
    raw = tg.grad(loss, inputs, retain_graph=True, allow_unused=True)
    recorded = tg.grad(loss, inputs, create_graph=True, allow_unused=True)
    for r, c in zip(raw, recorded):
        assert (r is None) == (c is None)
        if r is not None:
            np.testing.assert_allclose(r.numpy(), c.numpy(), rtol=1e-13, atol=1e-15)


def test_every_op_has_a_case():
    """A new primitive without a row in the table fails here."""
    covered = set()
    for case in CASES:
        covered |= op_names(case.fn(*_inputs(case, "numpy")))
    missing = set(Function.builtins) - covered  # the library's own ops (tests define others)
    missing.discard("NoDerivative")  # its rule raises: test_array_api checks that it does
    assert not missing, f"ops without a test case: {sorted(missing)}"


# ------------------------------------------------------------------ hypothesis
@settings(max_examples=20, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    name=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_binary_broadcasting_hypothesis(shapes, name, seed):
    ours, ref, _, domains = BINARY[name]
    for backend_name in ("numpy", "array_api_strict"):
        a = make_input(shapes.input_shapes[0], backend_name, domains[0], seed)
        b = make_input(shapes.input_shapes[1], backend_name, domains[1], seed + 1)
        out = directional_check(ours, [a, b])
        assert out.shape == shapes.result_shape
        np.testing.assert_allclose(out.numpy(), ref(a.numpy(), b.numpy()), rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
    name=st.sampled_from([n for n in sorted(UNARY) if "softmax" not in n]),
    seed=st.integers(0, 2**16),
)
def test_elementwise_hypothesis(shape, name, seed):
    ours, _, _, domain = UNARY[name]
    for backend_name in ("numpy", "array_api_strict"):
        x = make_input(shape, backend_name, domain, seed)
        out = directional_check(ours, [x])
        assert out.shape == shape


# ------------------------------------------------------------------ special values
def test_sigmoid_no_overflow_at_large_magnitude():
    x = tg.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype="float64", requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], rtol=1e-12)
    assert np.all(np.isfinite(x.grad.numpy()))


def test_softplus_and_logsumexp_are_stable():
    x = tg.tensor([-1000.0, 0.0, 1000.0], dtype="float64", requires_grad=True)
    np.testing.assert_allclose(x.softplus().numpy(), [0.0, np.log(2.0), 1000.0])
    big = tg.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype="float64")
    np.testing.assert_allclose(big.logsumexp(axis=1).numpy(), [1000 + np.log(2), -1000 + np.log(2)])
    np.testing.assert_allclose(big.log_softmax(axis=1).numpy(), np.full((2, 2), -np.log(2)))
    inf_row = tg.tensor([[-np.inf, -np.inf]], dtype="float64")
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer here
        assert np.all(inf_row.logsumexp(axis=1).numpy() == -np.inf)


def test_max_ties_share_the_gradient():
    x = tg.tensor([1.0, 3.0, 3.0, 2.0], dtype="float64", requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5, 0])


def test_repeated_integer_indices_sum(backend_name, xp):
    x = make_input((4,), backend_name)
    x[tg.tensor([1, 1, 3, 1], dtype="int64", backend=backend_name)].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 3, 0, 1])


def test_comparisons_are_boolean_and_not_differentiable(backend_name, xp):
    a = make_input((3,), backend_name)
    for result in (a < 0, a <= 0, a > 0, a >= 0, a == a, a != 0):
        assert result.dtype == result.xp.bool and not result.requires_grad


def test_argmax(backend_name, xp):
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]], backend=backend_name)
    assert x.argmax(axis=1).tolist() == [1, 0]
    assert x.argmax().item() == 3
    assert not x.argmax().requires_grad


def test_erf_standard_fallback_is_accurate():
    from tinygrad_edu import backend

    scipy_special = pytest.importorskip("scipy.special")
    values = np.linspace(-7, 7, 2001)
    fallback = backend.kernels._erf_standard(backend.get_namespace("numpy"), values)
    np.testing.assert_allclose(fallback, scipy_special.erf(values), rtol=1e-13, atol=1e-15)
