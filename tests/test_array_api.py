"""The differentiable Array-API namespace: coverage, the array object, Array-API-generic code.

The standard's own conformance suite runs apart (``scripts/array-api-tests``);
these tests check what it does not: gradients, in-place rules, the namespace
being complete and every differentiable function having an op case.
"""

import inspect
import math
from pathlib import Path

import array_api_compat
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.array_api import _linalg, _namespace

from .helpers import make_input

# Every function of the 2024.12 standard and its linalg extension (array_api_stubs/_2024_12).
STANDARD_FUNCTIONS = """
arange asarray empty empty_like eye from_dlpack full full_like linspace meshgrid ones ones_like
tril triu zeros zeros_like astype can_cast finfo iinfo isdtype result_type abs acos acosh add
asin asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_invert bitwise_or
bitwise_right_shift bitwise_xor ceil clip conj copysign cos cosh divide equal exp expm1 floor
floor_divide greater greater_equal hypot imag isfinite isinf isnan less less_equal log log1p
log2 log10 logaddexp logical_and logical_not logical_or logical_xor maximum minimum multiply
negative nextafter not_equal positive pow real reciprocal remainder round sign signbit sin sinh
square sqrt subtract tan tanh trunc take take_along_axis __array_namespace_info__ matmul
matrix_transpose tensordot vecdot broadcast_arrays broadcast_to concat expand_dims flip moveaxis
permute_dims repeat reshape roll squeeze stack tile unstack argmax argmin count_nonzero nonzero
searchsorted where unique_all unique_counts unique_inverse unique_values argsort sort
cumulative_prod cumulative_sum max mean min prod std sum var all any diff
""".split()
LINALG_FUNCTIONS = """
cholesky cross det diagonal eigh eigvalsh inv matmul matrix_norm matrix_power matrix_rank
matrix_transpose outer pinv qr slogdet solve svd svdvals tensordot trace vecdot vector_norm
""".split()
DTYPES = """bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64
complex64 complex128""".split()
CONSTANTS = ["e", "inf", "nan", "newaxis", "pi"]

# Functions written out in the namespace but with no derivative to check (creation,
# inspection, the identity-like ones checked below).
NOT_DIFFERENTIATED = {"asarray", "meshgrid", "finfo", "floor_divide", "__array_namespace_info__"}


@pytest.fixture
def txp(backend_name):
    """The differentiable namespace of each selected backend."""
    return tg.array_namespace(backend_name)


def test_every_name_of_the_standard_is_there(txp):
    missing = [name for name in STANDARD_FUNCTIONS + DTYPES + CONSTANTS if not hasattr(txp, name)]
    missing += [f"linalg.{name}" for name in LINALG_FUNCTIONS if not hasattr(txp.linalg, name)]
    assert not missing, f"missing from the namespace: {missing}"
    assert txp.__array_api_version__ == "2024.12"


def test_dtypes_are_the_backends_and_compat_finds_the_namespace(txp):
    x = txp.asarray([1.0, 2.0], dtype=txp.float32)
    assert isinstance(x, tg.Tensor) and x.dtype == txp.float32
    assert array_api_compat.array_namespace(x) is txp
    assert x.__array_namespace__() is txp
    assert tg.array_namespace(x.xp) is txp
    assert txp.asarray([1, 2]).dtype == txp.int64


def test_every_differentiable_function_has_an_op_case():
    """A differentiable function of the namespace that no op case calls fails here."""
    source = (Path(__file__).parent / "op_cases.py").read_text()
    written = {
        name
        for cls in (_namespace.ArrayNamespace, _linalg.LinalgNamespace)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    uncovered = [
        name
        for name in sorted(written - NOT_DIFFERENTIATED)
        if f".{name}(" not in source and f'"{name}"' not in source
    ]
    assert not uncovered, f"namespace functions without an op case: {uncovered}"


def _gaussian_nll(x, mean, log_sigma):
    """Written against the standard only: -log N(x | mean, exp(log_sigma)^2), summed."""
    xp = array_api_compat.array_namespace(x, mean, log_sigma)
    z = (x - mean) / xp.exp(log_sigma)
    return xp.sum(0.5 * z**2 + log_sigma + 0.5 * math.log(2 * math.pi))


def _heat_step(u, alpha):
    """One explicit finite-difference step of u_t = alpha u_xx with fixed ends."""
    xp = array_api_compat.array_namespace(u)
    zero = xp.zeros(1, dtype=u.dtype)
    lap = xp.concat([zero, u[2:] - 2 * u[1:-1] + u[:-2], zero])
    return u + alpha * lap


def test_array_api_generic_code_runs_on_arrays_and_tensors_and_differentiates(backend_name):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(6)
    native = tg.backend.get_namespace(backend_name)
    plain = _gaussian_nll(*(native.asarray(np.asarray(v)) for v in (data, 0.3, -0.2)))
    x = tg.tensor(data, backend=backend_name)
    mean = tg.tensor(np.float64(0.3), backend=backend_name, requires_grad=True)
    log_sigma = tg.tensor(np.float64(-0.2), backend=backend_name, requires_grad=True)
    loss = _gaussian_nll(x, mean, log_sigma)
    np.testing.assert_allclose(loss.item(), float(plain), rtol=1e-12)
    assert tg.gradcheck(lambda m, s: _gaussian_nll(x, m, s), [mean, log_sigma])
    u = make_input((7,), backend_name)
    assert tg.gradcheck(lambda v: _heat_step(_heat_step(v, 0.2), 0.2), [u])


def test_inplace_on_a_leaf_that_requires_grad_raises():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w += 1.0
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 3.0
    with tg.no_grad():
        w += 1.0  # an optimizer-style update
        w[1] = 5.0
    assert w.tolist() == [2.0, 5.0] and w.requires_grad and w.is_leaf


def test_inplace_on_other_tensors_records_and_keeps_dtype():
    a = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = a * 1.0
    y *= a  # y = a^2
    y[0] = 5.0  # the first entry no longer depends on a
    (g,) = tg.grad(y.sum(), a)
    assert g.tolist() == [0.0, 4.0, 6.0]
    counts = tg.tensor([1, 2, 3])
    counts += 1  # int stays int
    counts //= 2
    assert counts.dtype == np.int64 and counts.tolist() == [1, 1, 2]


def test_an_older_node_refuses_backward_after_an_inplace_write():
    a = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = a * 1.0
    z = y * y  # saves y
    y += 1.0
    with pytest.raises(RuntimeError, match=r"modified in place .*by an in-place operator"):
        z.sum().backward()
    w = a * 1.0
    v = w * w
    w[0] = 3.0
    with pytest.raises(RuntimeError, match=r"by an assignment x\[index\] = value\)"):
        v.sum().backward()
    weight = tg.nn.Parameter(tg.tensor(np.array([1.0, 2.0])))
    square = weight * weight
    (weight * 1.0).sum().backward()
    tg.optim.SGD([weight], lr=0.1).step()
    with pytest.raises(RuntimeError, match=r"by optimizer\.step\(\)\)"):
        square.sum().backward()


def test_array_object_conversions_and_operators(txp):
    x = txp.asarray([[1, 2], [3, 4]], dtype=txp.int64)
    assert (x & 1).tolist() == [[1, 0], [1, 0]]
    assert (~x).tolist() == [[-2, -3], [-4, -5]]
    assert (x << 1).tolist() == [[2, 4], [6, 8]] and (5 % x).tolist() == [[0, 1], [2, 1]]
    assert x.mT.tolist() == [[1, 3], [2, 4]]
    assert int(x[0, 1]) == 2 and float(x[1, 1]) == 4.0 and complex(x[0, 0]) == 1 + 0j
    assert [1, 2, 3][x[0, 0]] == 2  # __index__
    assert x.to_device(x.device).tolist() == x.tolist()


def test_integer_functions_and_comparisons_give_plain_tensors(txp):
    x = txp.asarray([3.0, 1.0, 2.0])
    x.requires_grad_()
    for out in (txp.argsort(x), txp.greater(x, 1.5), txp.nonzero(x)[0], txp.unique_values(x)):
        assert isinstance(out, tg.Tensor) and not out.requires_grad
    assert txp.sort(x).requires_grad  # values are differentiable


def test_tensor_of_python_ints_is_a_class_target():
    targets = tg.tensor([0, 2, 1])
    assert targets.dtype == np.int64
    logits = tg.tensor(np.zeros((3, 3)), requires_grad=True)
    loss = tg.nn.functional.cross_entropy(logits, targets)
    assert abs(loss.item() - math.log(3)) < 1e-12


def test_full_svd_of_a_non_square_matrix_refuses_a_gradient_through_its_vectors():
    xp = tg.array_namespace("numpy")
    a = xp.asarray(np.random.default_rng(0).standard_normal((4, 3)))
    a.requires_grad = True
    u, s, vh = xp.linalg.svd(a)  # full_matrices=True: U is 4 x 4, its last column not unique
    assert u.shape == (4, 4) and vh.shape == (3, 3)
    (grad,) = tg.grad(s.sum(), a)  # the singular values keep their derivative
    np.testing.assert_allclose(grad.numpy(), u.numpy()[:, :3] @ vh.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="full_matrices=False"):
        tg.grad(u.sum(), a)


def test_complete_qr_of_a_tall_matrix_refuses_a_gradient_through_q():
    xp = tg.array_namespace("numpy")
    a = xp.asarray(np.random.default_rng(1).standard_normal((4, 2)))
    a.requires_grad = True
    q, r = xp.linalg.qr(a, mode="complete")
    assert q.shape == (4, 4) and r.shape == (4, 2)
    np.testing.assert_allclose((q @ r).numpy(), a.numpy(), atol=1e-12)
    (grad,) = tg.grad(r.sum(), a)  # R is the reduced R over zero rows: it keeps its derivative
    assert np.isfinite(grad.numpy()).all()
    with pytest.raises(ValueError, match="mode='reduced'"):
        tg.grad(q.sum(), a)


def test_integer_sums_and_products_have_the_standards_dtype(txp, backend_name):
    """Sums and products of integers, and their scans, in the default integer dtype of
    their kind (the standard; torch keeps its own int64 for unsigned ones), wrapping as
    the backend does."""
    small = txp.asarray([200, 200, 3], dtype=txp.uint8)
    signed = txp.asarray([100, 100, 3], dtype=txp.int8)
    unsigned_sum = txp.int64 if backend_name == "torch" else txp.uint64
    for x, dtype in ((small, unsigned_sum), (signed, txp.int64)):
        for out in (txp.sum(x), x.sum(), txp.prod(x), x.prod(), txp.cumulative_sum(x), x.cumsum()):
            assert out.dtype == dtype
        assert txp.cumulative_prod(x).dtype == x.cumprod(0).dtype == dtype
    assert txp.sum(small).tolist() == 403 and signed.cumprod(0).tolist() == [100, 10000, 30000]
    assert (small + small).tolist() == [144, 144, 6]  # elementwise: wraps in uint8
    top = txp.asarray([2**63 - 1, 1], dtype=txp.int64)
    assert txp.sum(top).tolist() == -(2**63)


def test_a_nan_gradient_stays_in_its_own_entry_through_integer_indexing(txp):
    """The scatter-add of integer indexing's gradient (array_api_strict: the standard
    fallback) adds a NaN only where it belongs, not into every entry."""
    x = txp.asarray([1.0, 2.0, 3.0])
    x.requires_grad_()
    picked = x[txp.asarray([0, 0, 2])] * txp.asarray([float("nan"), 1.0, 1.0])
    (grad,) = tg.grad(txp.sum(picked), x)
    assert np.isnan(grad.tolist()[0]) and grad.tolist()[1:] == [0.0, 1.0]


def test_a_sole_zero_dimensional_mask_indexes_as_numpy(txp):
    """``x[mask]`` with a 0-d boolean mask adds an axis of length 0 or 1 (the standard's
    sole-mask case: array_api_strict refuses the mask inside a tuple)."""
    empty = txp.asarray(np.zeros((0,), dtype=bool))
    assert empty[txp.asarray(False)].shape == (0, 0)
    x = txp.asarray(np.arange(6.0).reshape(2, 3))
    x.requires_grad_()
    assert x[txp.asarray(True)].shape == (1, 2, 3) and x[txp.asarray(False)].shape == (0, 2, 3)
    (grad,) = tg.grad(x[txp.asarray(True)].sum(), x)
    assert grad.tolist() == [[1.0] * 3] * 2
