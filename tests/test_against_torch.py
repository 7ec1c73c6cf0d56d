"""Every op's value and gradient against PyTorch in float64 (rtol 1e-10).

PyTorch is a test oracle only; these tests skip where it is not installed.
"""

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg

from .helpers import make_input
from .op_cases import CASES

torch = pytest.importorskip("torch")


def _torch_inputs(inputs):
    return [torch.tensor(t.numpy(), dtype=torch.float64, requires_grad=True) for t in inputs]


@pytest.mark.parametrize("case", [c for c in CASES if c.torch_fn is not None], ids=lambda c: c.name)
def test_value_and_gradient_match_torch(case):
    inputs = [make_input(s, "numpy", case.domain(i), seed=i) for i, s in enumerate(case.shapes)]
    torch_inputs = _torch_inputs(inputs)
    out = case.fn(*inputs)
    torch_out = case.torch_fn(*torch_inputs)
    np.testing.assert_allclose(out.numpy(), torch_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    weight = np.random.default_rng(7).standard_normal(out.shape)
    (out * tg.tensor(weight)).sum().backward()
    (torch_out * torch.tensor(weight)).sum().backward()
    for ours, theirs in zip(inputs, torch_inputs):
        expected = theirs.grad.numpy() if theirs.grad is not None else np.zeros(ours.shape)
        np.testing.assert_allclose(ours.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def _mlp_params(rng):
    sizes = [(6, 16), (16, 12), (12, 4)]
    return [
        (rng.standard_normal(s) / np.sqrt(s[0]), rng.standard_normal(s[1]) * 0.1) for s in sizes
    ]


def test_three_layer_mlp_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(3)
    params = _mlp_params(rng)
    x = rng.standard_normal((32, 6))
    y = rng.integers(0, 4, 32)

    ours = [(tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)) for w, b in params]
    a = tg.tensor(x)
    for i, (w, b) in enumerate(ours):
        a = a @ w + b
        if i < len(ours) - 1:
            a = a.tanh() if i == 0 else a.relu()
    log_probs = a.log_softmax(axis=1)
    loss = -log_probs[tg.arange(32), tg.tensor(y, dtype="int64")].mean()
    loss.backward()

    theirs = [
        (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
        for w, b in params
    ]
    t = torch.tensor(x)
    for i, (w, b) in enumerate(theirs):
        t = t @ w + b
        if i < len(theirs) - 1:
            t = t.tanh() if i == 0 else t.relu()
    torch_loss = torch.nn.functional.cross_entropy(t, torch.tensor(y))
    torch_loss.backward()

    np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-10)
    for (w, b), (tw, tb) in zip(ours, theirs):
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_mlp_hessian_vector_product_matches_torch():
    """Hv = d/dw (dL/dw . v), through a tanh MLP with a softmax cross-entropy loss."""
    rng = np.random.default_rng(5)
    params = _mlp_params(rng)
    x = rng.standard_normal((16, 6))
    y = rng.integers(0, 4, 16)
    vectors = [rng.standard_normal(w.shape) for w, _ in params]

    def forward(lib, weights, biases, inputs, targets):
        a = inputs
        for i, (w, b) in enumerate(zip(weights, biases)):
            a = a @ w + b
            if i < len(weights) - 1:
                a = a.tanh()
        if lib == "tg":
            return -a.log_softmax(axis=1)[tg.arange(16), targets].mean()
        return torch.nn.functional.cross_entropy(a, targets)

    ws = [tg.tensor(w, requires_grad=True) for w, _ in params]
    bs = [tg.tensor(b, requires_grad=True) for _, b in params]
    loss = forward("tg", ws, bs, tg.tensor(x), tg.tensor(y, dtype="int64"))
    grads = tg.grad(loss, ws, create_graph=True)
    dot = sum((g * tg.tensor(v)).sum() for g, v in zip(grads, vectors))
    hvp = tg.grad(dot, ws)

    tws = [torch.tensor(w, requires_grad=True) for w, _ in params]
    tbs = [torch.tensor(b, requires_grad=True) for _, b in params]
    tloss = forward("torch", tws, tbs, torch.tensor(x), torch.tensor(y))
    tgrads = torch.autograd.grad(tloss, tws, create_graph=True)
    tdot = sum((g * torch.tensor(v)).sum() for g, v in zip(tgrads, vectors))
    thvp = torch.autograd.grad(tdot, tws)
    for ours, theirs in zip(hvp, thvp):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-13)


def _ties_nan_and_edges():
    """Inputs where torch's choice of index matters: ties, NaN, -0.0, 0-d, empty axes."""
    rng = np.random.default_rng(11)
    ties = rng.integers(-2, 3, (4, 7)).astype(np.float64)
    with_nan = ties.copy()
    with_nan[1, 2] = with_nan[1, 5] = with_nan[3, 0] = np.nan
    signed_zeros = np.array([[0.0, -0.0, 0.0, -0.0], [-0.0, 0.0, -0.0, 1.0]])
    return [
        (ties, 1), (ties, 0), (ties, -1), (with_nan, 1), (with_nan, 0), (signed_zeros, 1),
        (np.array(2.5), 0), (np.array(2.5), -1), (np.zeros((0, 3)), 0), (np.zeros((2, 0)), 1),
        (np.zeros((3, 0)), 0),
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_ties_nan_and_empty_match_torch(name, backend_name, xp):
    for values, axis in _ties_nan_and_edges():
        x = tg.tensor(values, backend=backend_name, requires_grad=True)
        tx = torch.tensor(values, requires_grad=True)
        ours, theirs = getattr(x, name)(axis), getattr(torch, name)(tx, axis)
        assert type(ours).__name__ == name and ours._fields == ("values", "indices")
        assert ours.indices.tolist() == theirs.indices.tolist(), (values, axis)
        assert ours.indices.numpy().dtype == np.int64 and not ours.indices.requires_grad
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.detach().numpy())
        # gradients go to the index each output came from; second derivatives too
        weight = np.random.default_rng(1).standard_normal(values.shape)
        (g,) = tg.grad((ours.values**2 * tg.tensor(weight, backend=backend_name)).sum(), x,
                       create_graph=True)  # fmt: skip
        (tgrad,) = torch.autograd.grad((theirs.values**2 * torch.tensor(weight)).sum(), tx,
                                       create_graph=True)  # fmt: skip
        np.testing.assert_allclose(g.numpy(), tgrad.detach().numpy(), rtol=1e-10)
        if values.size and not np.isnan(values).any():
            (h,) = tg.grad(g.sum(), x)
            (th,) = torch.autograd.grad(tgrad.sum(), tx)
            np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10)


def test_cummax_on_integers_and_bad_axes_as_torch(backend_name, xp):
    values = np.array([[3, -1, 3, 7, 7], [0, 0, -5, 2, 2]], dtype=np.int32)
    for name in ("cummax", "cummin"):
        ours = getattr(tg, name)(tg.tensor(values, backend=backend_name), 1)
        theirs = getattr(torch, name)(torch.tensor(values), 1)
        assert ours.values.tolist() == theirs.values.tolist()
        assert ours.indices.tolist() == theirs.indices.tolist()
        assert ours.values.numpy().dtype == np.int32
    with pytest.raises(ValueError, match="axis 1 is out of range for a tensor with 0 dim"):
        tg.tensor(1.0).cummax(1)
    with pytest.raises(ValueError, match="out of range"):
        tg.tensor(values).cummin(2)


_t = torch
EMPTY_AXIS_OPS = {
    # name: (ours, torch), each (x, axis) -> tensor; values and gradients compared
    "sum": (lambda x, a: x.sum(a), lambda x, a: x.sum(a)),
    "sum_all": (lambda x, a: x.sum(), lambda x, a: x.sum()),
    "prod": (lambda x, a: x.prod(a), lambda x, a: x.prod(a)),
    "prod_all": (lambda x, a: x.prod(), lambda x, a: x.prod()),
    "mean": (lambda x, a: x.mean(a), lambda x, a: x.mean(a)),
    "var": (lambda x, a: x.var(a), lambda x, a: x.var(a, correction=0)),
    "logsumexp": (lambda x, a: x.logsumexp(a), lambda x, a: x.logsumexp(a)),
    "cumsum": (lambda x, a: x.cumsum(a), lambda x, a: x.cumsum(a)),
    "cumprod": (lambda x, a: x.cumprod(a), lambda x, a: x.cumprod(a)),
    "logcumsumexp": (lambda x, a: x.logcumsumexp(a), lambda x, a: x.logcumsumexp(a)),
    "cummax": (lambda x, a: x.cummax(a).values, lambda x, a: x.cummax(a).values),
    "sort": (lambda x, a: x.sort(a)[0], lambda x, a: x.sort(a)[0]),
    "topk_0": (lambda x, a: x.topk(0, a)[0], lambda x, a: x.topk(0, a)[0]),
    "softmax": (lambda x, a: x.softmax(a), lambda x, a: x.softmax(a)),
    "log_softmax": (lambda x, a: x.log_softmax(a), lambda x, a: x.log_softmax(a)),
    "flip_roll": (lambda x, a: x.flip(a).roll(1, a), lambda x, a: x.flip(a).roll(1, a)),
    "gather": (
        lambda x, a: x.gather(a, tg.tensor(np.zeros(x.shape, dtype=np.int64), backend=x.xp)),
        lambda x, a: x.gather(a, _t.zeros(x.shape, dtype=_t.int64)),
    ),
    "take_along_axis": (
        lambda x, a: x.__array_namespace__().take_along_axis(
            x, x.__array_namespace__().zeros(x.shape, dtype=x.__array_namespace__().int64), axis=a
        ),
        lambda x, a: _t.take_along_dim(x, _t.zeros(x.shape, dtype=_t.int64), a),
    ),
    "diff": (
        lambda x, a: x.__array_namespace__().diff(x, axis=a),
        lambda x, a: _t.diff(x, dim=a),
    ),
}


@pytest.mark.parametrize("name", sorted(EMPTY_AXIS_OPS))
def test_empty_axes_as_torch(name, backend_name, xp):
    """Size-0 axes, reduced over or kept: the same values, shapes and (empty) gradients."""
    ours_fn, torch_fn = EMPTY_AXIS_OPS[name]
    for shape, axis in [((0,), 0), ((2, 0), 1), ((0, 3), 0), ((0, 3), 1), ((2, 0), 0)]:
        x = tg.tensor(np.zeros(shape), backend=backend_name, requires_grad=True)
        tx = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # both warn of a mean or var of nothing
            out, expected = ours_fn(x, axis), torch_fn(tx, axis)
            out.sum().backward()
        assert out.shape == tuple(expected.shape), (shape, axis)
        np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
        expected.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_min_argmin_over_an_empty_axis_raise_like_torch(backend_name, xp):
    x = tg.tensor(np.zeros((2, 0)), backend=backend_name)
    for reduce in (lambda t: t.max(1), lambda t: t.min(1), lambda t: t.argmin(1)):
        with pytest.raises(ValueError, match="empty"):
            reduce(x)
        with pytest.raises(IndexError, match="non-zero size"):
            reduce(torch.zeros((2, 0)))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
def test_signed_integer_sums_and_products_wrap_as_torch(dtype, backend_name, xp):
    """Signed integers: sums and products in int64 (the standard's default integer dtype,
    and torch's), wrapping at int64's ends like torch; elementwise ops wrap in their own dtype."""
    info = np.iinfo(dtype)
    values = np.array([info.max, info.max, info.min, 3, info.max], dtype=dtype)
    x = tg.tensor(values, backend=backend_name)
    tx = torch.tensor(values)
    txp = x.__array_namespace__()
    pairs = [
        (x.sum(), tx.sum()),
        (x.cumsum(0), tx.cumsum(0)),
        (x.prod(), tx.prod()),
        (x.cumprod(0), tx.cumprod(0)),
        (txp.sum(x), tx.sum()),
        (txp.cumulative_sum(x), tx.cumsum(0)),
        (txp.prod(x), tx.prod()),
        (txp.cumulative_prod(x), tx.cumprod(0)),
        (x + x, tx + tx),
        (x * x, tx * tx),
        (x.cummax(0).values, tx.cummax(0).values),
    ]
    big = tg.tensor(np.array([2**62, 2**62, 2**62]), backend=backend_name)  # wraps in int64
    tbig = torch.tensor([2**62, 2**62, 2**62])
    pairs += [(big.sum(), tbig.sum()), (big.cumsum(0), tbig.cumsum(0)), (big.prod(), tbig.prod())]
    for ours, theirs in pairs:
        assert str(ours.numpy().dtype) == str(theirs.numpy().dtype)
        assert ours.tolist() == theirs.tolist()
