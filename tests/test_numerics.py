"""Numerics at the edges, each a minimal case where the library once disagreed with PyTorch.

Values and gradients are compared with PyTorch (skipped without it) in float64
and float32, on every selected backend.
"""

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

DTYPES = ["float64", "float32"]


def _ours(values, backend_name, dtype, requires_grad=True):
    return tg.tensor(
        np.asarray(values, dtype=dtype), backend=backend_name, requires_grad=requires_grad
    )


def _theirs(values, dtype):
    return torch.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def _close(ours, theirs, dtype, rtol=None):
    rtol = rtol or (1e-12 if dtype == "float64" else 1e-6)
    expected = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=rtol, atol=0, equal_nan=True)


def _grads_match(fn_ours, fn_theirs, values, backend_name, dtype):
    """Value and gradient of ``fn(x).sum()`` against PyTorch."""
    x, xt = _ours(values, backend_name, dtype), _theirs(values, dtype)
    y, yt = fn_ours(x), fn_theirs(xt)
    _close(y, yt, dtype)
    y.sum().backward()
    yt.sum().backward()
    _close(x.grad, xt.grad, dtype)


# 1-2: powers at base 0 and negative bases
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("base", [0.0, -2.0, 3.0])
def test_python_scalar_base_to_a_tensor_power(base, dtype, backend_name, xp):
    values = [0.5, 2.0, 0.0, -1.0] if base == 0.0 else [0.5, 2.0, 0.0, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** -1 = inf on the way
        _grads_match(lambda x: base**x, lambda x: base**x, values, backend_name, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_power_at_zero_base_and_zero_exponent(dtype, backend_name, xp):
    a, b = _ours([0.0, 2.0, 0.0], backend_name, dtype), _ours([0.0, 0.0, 2.0], backend_name, dtype)
    at, bt = _theirs([0.0, 2.0, 0.0], dtype), _theirs([0.0, 0.0, 2.0], dtype)
    (a**b).sum().backward()
    (at**bt).sum().backward()
    _close(a.grad, at.grad, dtype)
    _close(b.grad, bt.grad, dtype)


# 3: min and minimum on integers and booleans
@pytest.mark.parametrize(
    "values, dtype",
    [([0, -(2**31)], "int32"), ([0, 128, 255], "uint8"), ([True, False], "bool")],
)
def test_min_is_exact_on_integers_and_booleans(values, dtype, backend_name, xp):
    if backend_name == "array_api_strict" and dtype == "bool":
        pytest.skip("the standard's min is defined for real numbers only (strict refuses bools)")
    x = tg.tensor(np.asarray(values, dtype=dtype), backend=backend_name)
    expected = torch.tensor(np.asarray(values, dtype=dtype))
    assert x.min().item() == expected.min().item()
    assert tg.minimum(x, x).tolist() == np.minimum(values, values).tolist()


@pytest.mark.parametrize("dtype", DTYPES)
def test_min_and_minimum_gradients_share_ties(dtype, backend_name, xp):
    values = [3.0, 1.0, 1.0, 2.0]
    _grads_match(lambda x: x.min(), lambda x: x.min(), values, backend_name, dtype)
    other = [1.0, 1.0, 5.0, 0.0]
    _grads_match(
        lambda x: tg.minimum(x, tg.tensor(np.asarray(other, dtype=dtype), backend=backend_name)),
        lambda x: torch.minimum(x, torch.tensor(np.asarray(other, dtype=dtype))),
        values,
        backend_name,
        dtype,
    )


# 4: var/std with no degrees of freedom, std's gradient on a constant slice
@pytest.mark.parametrize("correction", [3, 5])
def test_var_without_degrees_of_freedom_is_nan(correction, backend_name, xp):
    x = _ours([1.0, 2.0, 3.0], backend_name, "float64")
    assert np.isnan(x.var(correction=correction).item())
    assert np.isnan(x.std(correction=correction).item())


@pytest.mark.parametrize("dtype", DTYPES)
def test_std_of_a_constant_row_has_zero_gradient(dtype, backend_name, xp):
    values = [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]]
    _grads_match(
        lambda x: x.std(axis=1), lambda x: x.std(dim=1, correction=0), values, backend_name, dtype
    )
    _grads_match(
        lambda x: x.std(axis=1, correction=1),
        lambda x: x.std(dim=1, correction=1),
        values,
        backend_name,
        dtype,
    )


# 5: float16 means over more entries than float16 can count
def test_float16_mean_of_many_entries(backend_name, xp):
    if backend_name == "array_api_strict":
        pytest.skip("the standard has no float16")
    x = tg.tensor(np.ones(70_000, dtype=np.float16), backend=backend_name)
    assert x.mean().item() == 1.0
    assert x.mean().dtype == x.dtype


# 6: 0-d softmax, zero-size axes that are not reduced
def test_softmax_of_a_0d_tensor(backend_name, xp):
    x = _ours(3.0, backend_name, "float64")
    y = x.softmax()
    y.backward()
    assert y.item() == 1.0 and x.grad.item() == 0.0


@pytest.mark.parametrize("reduce", ["max", "min", "logsumexp", "log_softmax", "softmax"])
def test_reductions_over_a_nonempty_axis_of_an_empty_tensor(reduce, backend_name, xp):
    x = _ours(np.zeros((0, 3)), backend_name, "float64")
    y = getattr(x, reduce)(axis=1)
    expected = getattr(torch.zeros(0, 3, dtype=torch.float64), reduce)(dim=1)
    expected = expected if isinstance(expected, torch.Tensor) else expected.values
    assert y.shape == tuple(expected.shape)


def test_logsumexp_over_an_empty_axis_is_minus_infinity(backend_name, xp):
    x = _ours(np.zeros((0, 3)), backend_name, "float64")
    assert x.logsumexp(axis=0).tolist() == [-np.inf] * 3


def test_max_over_an_empty_axis_is_refused(backend_name, xp):
    x = _ours(np.zeros((0, 3)), backend_name, "float64")
    with pytest.raises(ValueError, match="max over an empty axis"):
        x.max(axis=0)


# 7: large logits keep their digits
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_and_cross_entropy_with_large_logits(dtype, backend_name, xp):
    values = [[5000.0, 5000.0, 0.0], [1.0, 2.0, 3.0]]
    _grads_match(
        lambda x: x.log_softmax(axis=1), lambda x: x.log_softmax(dim=1), values, backend_name, dtype
    )
    x, xt = _ours(values, backend_name, dtype), _theirs(values, dtype)
    target = tg.tensor([0, 2], dtype="int64", backend=backend_name)
    loss = tg.nn.functional.cross_entropy(x, target)
    loss_t = torch.nn.functional.cross_entropy(xt, torch.tensor([0, 2]))
    _close(loss, loss_t, dtype)
    loss.backward()
    loss_t.backward()
    _close(x.grad, xt.grad, dtype)


# 8: NaN entries
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_and_maximum_route_the_gradient_to_nan(dtype, backend_name, xp):
    _grads_match(lambda x: x.max(), lambda x: x.max(), [np.nan, 1.0, 2.0], backend_name, dtype)
    _grads_match(lambda x: x.max(), lambda x: x.max(), [1.0, np.nan, np.nan], backend_name, dtype)
    other = [1.0, np.nan, 2.0]
    for ours, theirs in ((tg.maximum, torch.maximum), (tg.minimum, torch.minimum)):
        _grads_match(
            lambda x, f=ours: f(x, tg.tensor(np.asarray(other, dtype=dtype), backend=backend_name)),
            lambda x, f=theirs: f(x, torch.tensor(np.asarray(other, dtype=dtype))),
            [np.nan, 1.0, 2.0],
            backend_name,
            dtype,
        )


def test_log_softmax_of_a_row_with_infinity_is_nan(backend_name, xp):
    x = _ours([[np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf]], backend_name, "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf on the way, as in PyTorch
        assert np.isnan(x.log_softmax(axis=1).numpy()).all()


# 9: NumPy's indexing rules on every backend
INDEXES = {
    "slice then array": lambda i: (slice(None, 2), i),
    "array then None": lambda i: (i, None),
    "int and two arrays": lambda i: (0, i, i),
    "array then Ellipsis": lambda i: (i, Ellipsis),
    "Ellipsis then array": lambda i: (Ellipsis, i),
    "arrays around a slice": lambda i: (i, slice(None), i),
    "slice past the end": lambda i: (slice(0, 4),),
    "slice before the start": lambda i: (slice(-5, 2),),
    "reversed": lambda i: (slice(None, None, -1),),
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_numpy_indexing_rules_with_gradients(name, backend_name, xp):
    """Values as NumPy indexes; the gradient of sum(y**2) adds 2 x at every position read."""
    values = np.arange(60.0).reshape(3, 4, 5)
    positions = np.array([2, 0, -1, 2])
    x = _ours(values, backend_name, "float64")
    y = x[INDEXES[name](tg.tensor(positions, backend=backend_name, dtype="int64"))]
    numpy_index = INDEXES[name](positions)
    np.testing.assert_array_equal(y.numpy(), values[numpy_index])
    (y * y).sum().backward()
    expected = np.zeros_like(values)
    flat_positions = np.arange(values.size).reshape(values.shape)[numpy_index]
    np.add.at(
        expected.reshape(-1),
        flat_positions.reshape(-1),
        2 * values.reshape(-1)[flat_positions.reshape(-1)],
    )
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize(
    "dtype, shape", [("int16", (200, 200)), ("uint8", (20, 20)), ("int8", (100, 3))]
)
def test_small_integer_index_dtypes_do_not_overflow(dtype, shape, backend_name, xp):
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    rows = np.array([shape[0] - 1, 3], dtype=dtype)
    cols = np.array([shape[1] - 1, 1], dtype=dtype)
    x = tg.tensor(values, backend=backend_name)
    picked = x[tg.tensor(rows, backend=backend_name), tg.tensor(cols, backend=backend_name)]
    np.testing.assert_array_equal(picked.numpy(), values[rows, cols])
