"""Layers for research against PyTorch in float64: losses, padding, embeddings,
convolution, pooling, recurrent layers and attention.

Each functional is computed here and in PyTorch on the same float64 inputs;
values, input gradients and parameter gradients of ``sum(out * w)`` (w a
fixed random array) must agree. Modules load PyTorch's ``state_dict`` as it
is. Gradients are also checked against central differences (``tg.gradcheck``)
on every backend under test, and second derivatives of the convolution
through a Hessian-vector product. PyTorch is a test oracle only: without it
the comparisons skip and the gradient checks still run.

The default suite runs every case on NumPy and array_api_strict. CI runs a
representative subset on torch and JAX as well (``pytest -m representative
--backends torch,jax``, in ``.ci/run``): every functional and module at least
once, one or a few cases of each grid. The whole grids there would take many
minutes (192 JAX tests took 439 s on a loaded 2-core machine, the 194 torch
ones 16 s): JAX compiles every operation for each new shape it meets (a
gradcheck of reflect padding: 57 compilations, 1.0 of its 1.7 s; the same
call again 0.09 s), and each case of a grid has shapes of its own.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

from .helpers import make_input, op_names

TOL = {"rtol": 1e-9, "atol": 1e-11}
REPRESENTATIVE = pytest.mark.representative


def representative(cases, *chosen, key=lambda case: case):
    """``cases`` for ``parametrize``, those whose ``key`` is in ``chosen`` marked
    representative (also run on torch and JAX in CI); a chosen key must exist."""
    keys = [key(case) for case in cases]
    unknown = [c for c in chosen if c not in keys]
    assert not unknown, f"no such cases: {unknown}"
    return [
        pytest.param(*(case if isinstance(case, tuple) else (case,)), marks=REPRESENTATIVE)
        if k in chosen
        else case
        for case, k in zip(cases, keys)
    ]


def _name(case):
    return case[0]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _host(t):
    return t.numpy() if isinstance(t, tg.Tensor) else np.asarray(t)


def compare_with_torch(torch, ours, theirs, inputs, backend, grads=True, seed=0):
    """``ours(*tensors)`` against ``theirs(*torch_tensors)``: values and gradients.

    ``inputs`` are NumPy arrays; float arrays become float64 tensors that need
    a gradient (when ``grads``), integer and boolean arrays constants.
    """
    mine, their = [], []
    for array in inputs:
        floating = np.issubdtype(np.asarray(array).dtype, np.floating)
        needs = grads and floating
        mine.append(tg.tensor(array, backend=backend, requires_grad=needs))
        their.append(torch.tensor(array, requires_grad=needs))
    out, expected = ours(*mine), theirs(*their)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL)
    if not grads:
        return out
    weight = np.random.default_rng(seed).standard_normal(out.shape)
    (out * tg.tensor(weight, backend=backend)).sum().backward()
    (expected * torch.from_numpy(weight)).sum().backward()
    for number, (t, e) in enumerate(zip(mine, their)):
        if t.requires_grad and not (e.grad is None and t.grad is None):  # a detached input
            assert t.grad is not None, f"input {number} got no gradient"
            np.testing.assert_allclose(
                t.grad.numpy(), e.grad.numpy(), **TOL, err_msg=f"gradient of input {number}"
            )
    return out


def _rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------- losses
def _class_case(shape, classes=4, seed=0, ignore=False):
    rng = _rng(seed)
    logits = rng.standard_normal((shape[0], classes) + shape[1:])
    target = rng.integers(0, classes, shape)
    if ignore:
        target.flat[::3] = -100
    return logits, target


CROSS_ENTROPY_CASES = [
    ("plain", (6,), {}),
    ("weight", (6,), {"weight": True}),
    ("ignore_index", (6,), {"ignore": True}),
    ("label_smoothing", (6,), {"label_smoothing": 0.2}),
    ("all_together", (6,), {"weight": True, "ignore": True, "label_smoothing": 0.1}),
    ("spatial", (3, 2, 5), {}),
    ("spatial_weighted_ignored", (3, 5), {"weight": True, "ignore": True}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "name, shape, options",
    representative(CROSS_ENTROPY_CASES, "all_together", "spatial_weighted_ignored", key=_name),
    ids=[c[0] for c in CROSS_ENTROPY_CASES],
)
def test_cross_entropy_and_nll_match_torch(
    torch, name, shape, options, reduction, backend_name, xp
):
    logits, target = _class_case(shape, ignore=options.get("ignore", False))
    kwargs = {}
    if options.get("weight"):
        kwargs["weight"] = _rng(3).uniform(0.5, 2.0, 4)
    smoothing = options.get("label_smoothing", 0.0)

    def ours(z, t):
        w = {"weight": tg.tensor(kwargs["weight"], backend=backend_name)} if kwargs else {}
        return F.cross_entropy(z, t, reduction, label_smoothing=smoothing, **w)

    def theirs(z, t):
        w = {"weight": torch.tensor(kwargs["weight"])} if kwargs else {}
        return torch.nn.functional.cross_entropy(
            z, t, reduction=reduction, label_smoothing=smoothing, **w
        )

    compare_with_torch(torch, ours, theirs, [logits, target], backend_name)
    if smoothing == 0.0:
        log_probs = torch.log_softmax(torch.tensor(logits), 1).numpy()

        def ours_nll(p, t):
            w = {"weight": tg.tensor(kwargs["weight"], backend=backend_name)} if kwargs else {}
            return F.nll_loss(p, t, reduction, **w)

        def theirs_nll(p, t):
            w = {"weight": torch.tensor(kwargs["weight"])} if kwargs else {}
            return torch.nn.functional.nll_loss(p, t, reduction=reduction, **w)

        compare_with_torch(torch, ours_nll, theirs_nll, [log_probs, target], backend_name)


@pytest.mark.parametrize(
    "smoothing, weighted", representative([(0.0, False), (0.3, True)], (0.3, True))
)
def test_cross_entropy_with_class_probabilities_matches_torch(
    torch, smoothing, weighted, backend_name, xp
):
    rng = _rng(1)
    logits = rng.standard_normal((5, 3, 2))
    probs = rng.dirichlet(np.ones(3), (5, 2)).transpose(0, 2, 1).copy()
    weight = rng.uniform(0.5, 2.0, 3)
    for reduction in ("mean", "sum", "none"):
        compare_with_torch(
            torch,
            lambda z, t, reduction=reduction: F.cross_entropy(
                z,
                t,
                reduction,
                label_smoothing=smoothing,
                weight=tg.tensor(weight, backend=backend_name) if weighted else None,
            ),
            lambda z, t, reduction=reduction: torch.nn.functional.cross_entropy(
                z,
                t,
                reduction=reduction,
                label_smoothing=smoothing,
                weight=torch.tensor(weight) if weighted else None,
            ),
            [logits, probs],
            backend_name,
        )


@REPRESENTATIVE
def test_cross_entropy_fast_path_is_kept_and_bad_targets_are_named(backend_name, xp):
    logits, target = _class_case((6,))
    z = tg.tensor(logits, backend=backend_name, requires_grad=True)
    loss = F.cross_entropy(z, tg.tensor(target, backend=backend_name))
    assert loss.grad_fn.name == "SoftmaxCrossEntropy"
    with pytest.raises(ValueError, match="target class 7 is out of range for 4 classes"):
        F.cross_entropy(z, tg.tensor(np.array([0, 1, 7, 2, 3, 1]), backend=backend_name))
    with pytest.raises(ValueError, match=r"need targets of shape \(6,\)"):
        F.cross_entropy(z, tg.tensor(np.zeros((6, 2), dtype=np.int64), backend=backend_name))
    with pytest.raises(ValueError, match="weight must have shape"):
        F.cross_entropy(
            z, tg.tensor(target, backend=backend_name), weight=tg.ones(3, backend=backend_name)
        )


POINTWISE_LOSSES = [
    ("l1", lambda p, t, r: F.l1_loss(p, t, r), lambda tf, p, t, r: tf.l1_loss(p, t, reduction=r)),
    (
        "smooth_l1",
        lambda p, t, r: F.smooth_l1_loss(p, t, r, beta=0.7),
        lambda tf, p, t, r: tf.smooth_l1_loss(p, t, reduction=r, beta=0.7),
    ),
    (
        "smooth_l1_beta0",
        lambda p, t, r: F.smooth_l1_loss(p, t, r, beta=0.0),
        lambda tf, p, t, r: tf.smooth_l1_loss(p, t, reduction=r, beta=0.0),
    ),
    (
        "huber",
        lambda p, t, r: F.huber_loss(p, t, r, delta=0.6),
        lambda tf, p, t, r: tf.huber_loss(p, t, reduction=r, delta=0.6),
    ),
    (
        "mse",
        lambda p, t, r: F.mse_loss(p, t, r),
        lambda tf, p, t, r: tf.mse_loss(p, t, reduction=r),
    ),
]


@pytest.mark.parametrize("reduction", representative(["mean", "sum", "none"], "mean"))
@pytest.mark.parametrize(
    "name, ours, theirs", POINTWISE_LOSSES, ids=[c[0] for c in POINTWISE_LOSSES]
)
def test_regression_losses_match_torch(torch, name, ours, theirs, reduction, backend_name, xp):
    rng = _rng(2)
    pred, target = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    compare_with_torch(
        torch,
        lambda p, t: ours(p, t, reduction),
        lambda p, t: theirs(torch.nn.functional, p, t, reduction),
        [pred, target],
        backend_name,
    )


@pytest.mark.parametrize("reduction", representative(["mean", "sum", "none"], "none"))
def test_binary_losses_match_torch(torch, reduction, backend_name, xp):
    rng = _rng(4)
    logits, target = rng.standard_normal((6, 3)) * 3, rng.uniform(size=(6, 3))
    weight, pos_weight = rng.uniform(0.5, 2, (6, 3)), rng.uniform(0.5, 3, 3)
    tf = torch.nn.functional
    compare_with_torch(
        torch,
        lambda x, t, w, pw: F.binary_cross_entropy_with_logits(
            x, t, reduction, weight=w.detach(), pos_weight=pw.detach()
        ),
        lambda x, t, w, pw: tf.binary_cross_entropy_with_logits(
            x, t, reduction=reduction, weight=w.detach(), pos_weight=pw.detach()
        ),
        [logits, target, weight, pos_weight],
        backend_name,
    )
    probs = 1 / (1 + np.exp(-logits))
    compare_with_torch(
        torch,
        lambda p, t, w: F.binary_cross_entropy(p, t, reduction, weight=w.detach()),
        lambda p, t, w: tf.binary_cross_entropy(p, t, reduction=reduction, weight=w.detach()),
        [probs, target, weight],
        backend_name,
    )
    # a probability of exactly 0 or 1 gives PyTorch's clamped log (-100), not inf
    edge = tg.tensor([0.0, 1.0, 0.5], backend=backend_name)
    expected = tf.binary_cross_entropy(
        torch.tensor([0.0, 1.0, 0.5]).double(),
        torch.tensor([1.0, 0.0, 1.0]).double(),
        reduction="none",
    )
    got = F.binary_cross_entropy(
        edge.astype("float64"), tg.tensor([1.0, 0.0, 1.0], backend=backend_name), "none"
    )
    np.testing.assert_allclose(got.numpy(), expected.numpy(), **TOL)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize(
    "reduction", representative(["mean", "sum", "none", "batchmean"], "batchmean")
)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(torch, reduction, log_target, backend_name, xp):
    rng = _rng(5)
    log_q = np.log(rng.dirichlet(np.ones(4), 3))
    p = rng.dirichlet(np.ones(4), 3)
    p[0, 1] = 0.0  # 0 log 0 = 0
    target = np.log(p + 1e-3) if log_target else p
    compare_with_torch(
        torch,
        # the target detached: PyTorch's gradient in t is NaN where t = 0 (log 0)
        lambda x, t: F.kl_div(x, t.detach(), reduction, log_target=log_target),
        lambda x, t: torch.nn.functional.kl_div(
            x, t.detach(), reduction=reduction, log_target=log_target
        ),
        [log_q, target],
        backend_name,
    )


LOSS_MODULES = [
    (lambda: nn.CrossEntropyLoss(label_smoothing=0.1), "cross_entropy", {"label_smoothing": 0.1}),
    (lambda: nn.NLLLoss(reduction="sum"), "nll_loss", {"reduction": "sum"}),
    (lambda: nn.L1Loss(), "l1_loss", {}),
    (lambda: nn.SmoothL1Loss(beta=0.5), "smooth_l1_loss", {"beta": 0.5}),
    (lambda: nn.HuberLoss(delta=2.0), "huber_loss", {"delta": 2.0}),
    (lambda: nn.KLDivLoss(reduction="batchmean"), "kl_div", {"reduction": "batchmean"}),
    (lambda: nn.BCELoss(), "binary_cross_entropy", {}),
    (
        lambda: nn.BCEWithLogitsLoss(pos_weight=tg.tensor([2.0, 1.0, 0.5])),
        "binary_cross_entropy_with_logits",
        {},
    ),
]


@pytest.mark.parametrize("make, function, options", LOSS_MODULES, ids=[c[1] for c in LOSS_MODULES])
def test_loss_modules_call_their_functions(make, function, options):
    rng = _rng(6)
    module = make()
    if function in ("cross_entropy", "nll_loss"):
        x, t = tg.tensor(rng.standard_normal((4, 3))), tg.tensor([0, 2, 1, 1], dtype="int64")
    elif function == "binary_cross_entropy":
        x, t = tg.tensor(rng.uniform(0.1, 0.9, (4, 3))), tg.tensor(rng.uniform(size=(4, 3)))
    else:
        x, t = tg.tensor(rng.standard_normal((4, 3))), tg.tensor(rng.standard_normal((4, 3)))
    reduction = options.pop("reduction", "mean")
    if function == "binary_cross_entropy_with_logits":
        options["pos_weight"] = module.pos_weight
    expected = getattr(F, function)(x, t, reduction, **options)
    assert module(x, t).item() == expected.item()


# ----------------------------------------------------------------- padding and embeddings
PAD_CASES = [
    ("constant", (1, 2), 3),
    ("constant", (2, 0, 1, 3), 4),
    ("constant", (-1, 2, 1, -2), 4),
    ("reflect", (2, 1), 3),
    ("reflect", (3, 3, 1, 2), 4),
    ("replicate", (2, 5), 3),
    ("replicate", (1, 0, 4, 2), 4),
    ("circular", (3, 1), 3),
    ("circular", (4, 5, 2, 0), 4),
]


@pytest.mark.parametrize(
    "mode, amounts, ndim",
    representative(
        PAD_CASES,
        ("constant", (-1, 2, 1, -2), 4),
        ("reflect", (3, 3, 1, 2), 4),
        ("replicate", (1, 0, 4, 2), 4),
        ("circular", (4, 5, 2, 0), 4),
    ),
)
def test_pad_matches_torch(torch, mode, amounts, ndim, backend_name, xp):
    x = _rng(7).standard_normal((2, 3, 4, 5)[:ndim])
    compare_with_torch(
        torch,
        lambda t: F.pad(t, amounts, mode=mode, value=0.5),
        lambda t: torch.nn.functional.pad(
            t, amounts, mode=mode, **({"value": 0.5} if mode == "constant" else {})
        ),
        [x],
        backend_name,
    )


def test_pad_rejects_bad_amounts():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match="less than the axis length 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="even number of ints"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="pad mode must be one of"):
        F.pad(x, (1, 1), mode="mirror")


@REPRESENTATIVE
def test_embedding_matches_torch_and_sums_repeated_rows(torch, backend_name, xp):
    theirs = torch.nn.Embedding(7, 3, padding_idx=2, dtype=torch.float64)
    ours = nn.Embedding(7, 3, padding_idx=2, dtype="float64", backend=backend_name)
    ours.load_state_dict(theirs.state_dict())
    indices = np.array([[1, 2, 1], [6, 1, 0]])
    out = ours(tg.tensor(indices, backend=backend_name))
    expected = theirs(torch.tensor(indices))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL)
    weight = _rng(8).standard_normal(out.shape)
    (out * tg.tensor(weight, backend=backend_name)).sum().backward()
    (expected * torch.from_numpy(weight)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL)
    assert not np.any(ours.weight.grad.numpy()[2])  # the padding row learns nothing
    assert np.all(nn.Embedding(5, 2, padding_idx=-1).weight.numpy()[4] == 0)
    with pytest.raises(ValueError, match="index 7 is out of range for a table of 7 rows"):
        ours(tg.tensor([7], dtype="int64", backend=backend_name))


def test_flatten_and_unflatten_are_inverse():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    flat = nn.Flatten()(x)
    assert flat.shape == (2, 12)
    assert nn.Unflatten(1, (3, -1))(flat).tolist() == x.tolist()
    assert nn.Unflatten(-1, (2, 2))(x).shape == (2, 3, 2, 2)


# ----------------------------------------------------------------- convolution
CONV1D_GRID = [
    (k, s, p, d, g, bias)
    for k in (1, 3)
    for s in (1, 2)
    for p in (0, 2, "same", "valid")
    for d in (1, 2)
    for g in (1, 2)
    for bias in [(k + s + d + g) % 2 == 0]  # with and without a bias across the grid
    if not (p == "same" and s != 1)
]


@pytest.mark.parametrize(
    "k, s, p, d, g, bias",
    representative(CONV1D_GRID, (3, 2, 2, 2, 2, False), (3, 1, "same", 2, 1, False)),
)
def test_conv1d_matches_torch_over_a_grid(torch, k, s, p, d, g, bias, backend_name, xp):
    rng = _rng(9)
    inputs = [rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 4 // g, k))]
    if bias:
        inputs.append(rng.standard_normal(6))
    compare_with_torch(
        torch,
        lambda x, w, *b: F.conv1d(x, w, b[0] if b else None, s, p, d, g),
        lambda x, w, *b: torch.nn.functional.conv1d(x, w, b[0] if b else None, s, p, d, g),
        inputs,
        backend_name,
    )


CONV2D_GRID = [
    ((3, 2), 1, "same", 1, 1),
    ((3, 3), 2, 1, 1, 1),
    ((2, 3), (2, 1), (1, 0), (1, 2), 2),
    ((1, 1), 1, 0, 1, 4),
    ((3, 2), (1, 2), "valid", (2, 1), 2),
    ((3, 3), 1, "same", 2, 1),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize(
    "k, s, p, d, g",
    representative(CONV2D_GRID, ((2, 3), (2, 1), (1, 0), (1, 2), 2), ((3, 3), 1, "same", 2, 1)),
)
def test_conv2d_matches_torch(torch, k, s, p, d, g, backend_name, xp):
    rng = _rng(10)
    inputs = [
        rng.standard_normal((2, 4, 7, 6)),
        rng.standard_normal((8, 4 // g) + k),
        rng.standard_normal(8),
    ]
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv2d(x, w, b, s, p, d, g),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, s, p, d, g),
        inputs,
        backend_name,
    )


CONV_TRANSPOSE_GRID = [
    (3, 1, 0, 0, 1, 1),
    (3, 2, 1, 1, 1, 1),
    (2, 3, 0, 2, 1, 2),
    (3, 2, 2, 0, 2, 2),
    (1, 2, 0, 1, 1, 1),
    (3, 1, 1, 1, 2, 1),
]


@pytest.mark.parametrize(
    "k, s, p, op, d, g", representative(CONV_TRANSPOSE_GRID, (3, 2, 2, 0, 2, 2))
)
def test_conv_transpose_matches_torch(torch, k, s, p, op, d, g, backend_name, xp):
    rng = _rng(11)
    tf = torch.nn.functional
    inputs = [
        rng.standard_normal((2, 4, 5)),
        rng.standard_normal((4, 6 // g, k)),
        rng.standard_normal(6),
    ]
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv_transpose1d(x, w, b, s, p, op, g, d),
        lambda x, w, b: tf.conv_transpose1d(x, w, b, s, p, op, g, d),
        inputs,
        backend_name,
    )
    inputs = [
        rng.standard_normal((2, 4, 4, 3)),
        rng.standard_normal((4, 6 // g, k, 2)),
        rng.standard_normal(6),
    ]
    compare_with_torch(
        torch,
        lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, g, d),
        lambda x, w, b: tf.conv_transpose2d(x, w, b, s, p, op, g, d),
        inputs,
        backend_name,
    )


def _module_against_torch(torch, ours, theirs, x, backend, load=True):
    """Load PyTorch's state dict as it is; outputs, input and parameter gradients agree."""
    if load:
        ours.load_state_dict(theirs.state_dict())
    tx = torch.tensor(x, requires_grad=True)
    mine = tg.tensor(x, backend=backend, requires_grad=True)
    out, expected = ours(mine), theirs(tx)
    if isinstance(out, tuple):  # recurrent layers: (output, h_n) or (output, (h_n, c_n))
        out, expected = _flat(out), _flat(expected)
    else:
        out, expected = [out], [expected]
    loss, their_loss = 0.0, 0.0
    for number, (o, e) in enumerate(zip(out, expected)):
        np.testing.assert_allclose(o.numpy(), e.detach().numpy(), **TOL, err_msg=f"output {number}")
        weight = _rng(20 + number).standard_normal(o.shape)
        loss = loss + (o * tg.tensor(weight, backend=backend)).sum()
        their_loss = their_loss + (e * torch.from_numpy(weight)).sum()
    loss.backward()
    their_loss.backward()
    np.testing.assert_allclose(mine.grad.numpy(), tx.grad.numpy(), **TOL)
    their_parameters = dict(theirs.named_parameters())
    assert set(their_parameters) == {name for name, _ in ours.named_parameters()}
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(
            parameter.grad.numpy(), their_parameters[name].grad.numpy(), **TOL, err_msg=name
        )


def _flat(outputs):
    flat = []
    for item in outputs:
        flat.extend(_flat(item) if isinstance(item, tuple) else [item])
    return flat


CONV_MODULES = [
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 11)),
    ("Conv1d", (4, 6, 3), {"padding": "same", "dilation": 2, "bias": False}, (2, 4, 11)),
    ("Conv2d", (3, 4, (3, 2)), {"stride": (2, 1), "padding": 1}, (2, 3, 7, 6)),
    (
        "ConvTranspose1d",
        (4, 6, 3),
        {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
        (2, 4, 5),
    ),
    ("ConvTranspose2d", (3, 4, 3), {"stride": 2, "dilation": 2}, (2, 3, 4, 3)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 10)),
    ("MaxPool2d", ((2, 3),), {"stride": 1, "dilation": (2, 1)}, (2, 3, 7, 6)),
    ("AvgPool1d", (3,), {"padding": 1, "count_include_pad": False}, (2, 3, 10)),
    ("AvgPool2d", (2,), {"stride": 1}, (2, 3, 5, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
]


@pytest.mark.parametrize(
    "name, args, kwargs, shape",
    representative(
        CONV_MODULES,
        *("Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "AvgPool2d"),
        "AdaptiveAvgPool2d",
        key=_name,
    ),
    ids=[c[0] for c in CONV_MODULES],
)
def test_conv_and_pool_modules_load_torch_state_dicts(
    torch, name, args, kwargs, shape, backend_name, xp
):
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    extra = {"dtype": "float64", "backend": backend_name} if "Pool" not in name else {}
    ours = getattr(nn, name)(*args, **kwargs, **extra)
    _module_against_torch(torch, ours, theirs, _rng(12).standard_normal(shape), backend_name)


def test_conv_init_follows_torch_bounds():
    layer = nn.Conv1d(4, 30, 5, groups=2)
    bound = 1 / np.sqrt(2 * 5)  # fan_in = in/groups * kernel
    assert layer.weight.shape == (30, 2, 5)
    assert 0.9 * bound < np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    transposed = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert transposed.weight.shape == (4, 3, 3, 3)


def test_conv_errors_name_the_problem():
    x = tg.zeros(2, 4, 9)
    with pytest.raises(ValueError, match="an input with 4 channels and groups=1"):
        F.conv1d(x, tg.zeros(6, 3, 3))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        F.conv1d(x, tg.zeros(6, 4, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="does not fit"):
        F.conv1d(x, tg.zeros(6, 4, 11))
    with pytest.raises(ValueError, match=r"input of shape \(N, C, 2 spatial axes\)"):
        F.conv2d(x[0, 0], tg.zeros(6, 4, 3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    assert F.conv1d(x[0], tg.zeros(6, 4, 3)).shape == (6, 7)  # an unbatched input


GRADCHECK_CASES = [
    (
        "conv1d",
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
        [(1, 2, 7), (2, 1, 3), (2,)],
    ),
    (
        "conv2d",
        lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1),
        [(1, 2, 4, 5), (2, 2, 2, 3), (2,)],
    ),
    (
        "conv_transpose1d",
        lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
        [(1, 2, 4), (2, 2, 3), (2,)],
    ),
    (
        "conv_transpose2d",
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, groups=2),
        [(1, 2, 3, 2), (2, 1, 2, 2), (2,)],
    ),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2, 1, 1), [(1, 2, 4, 3)]),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), [(1, 2, 7)]),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(1, 2, 5, 4)]),
    ("pad_reflect", lambda x: F.pad(x, (2, 1, 1, 1), mode="reflect"), [(1, 3, 4)]),
    ("pad_circular", lambda x: F.pad(x, (2, 3), mode="circular"), [(2, 4)]),
    (
        "embedding",
        lambda w: F.embedding(tg.tensor([[0, 2, 2], [1, 0, 2]], dtype="int64", backend=w.xp), w),
        [(3, 2)],
    ),
]


@pytest.mark.parametrize(
    "name, fn, shapes",
    representative(GRADCHECK_CASES, "conv1d", "conv_transpose2d", "max_pool2d", key=_name),
    ids=[c[0] for c in GRADCHECK_CASES],
)
def test_gradcheck_layers(name, fn, shapes, backend_name, xp):
    inputs = [
        make_input(shape, backend_name, domain="away", seed=n) for n, shape in enumerate(shapes)
    ]
    assert tg.gradcheck(fn, inputs)


@REPRESENTATIVE
def test_conv1d_hessian_vector_product_matches_torch(torch, backend_name, xp):
    """v -> H v for L = sum(r * tanh(conv1d(x, w))) over (x, w), by double backward."""
    rng = _rng(13)
    x0, w0 = rng.standard_normal((2, 3, 8)), rng.standard_normal((4, 3, 3))
    r = rng.standard_normal((2, 4, 4))
    vx, vw = rng.standard_normal(x0.shape), rng.standard_normal(w0.shape)

    def loss(x, w, lib):
        conv = F.conv1d if lib is tg else torch.nn.functional.conv1d
        y = conv(x, w, None, 2, 1)
        weight = tg.tensor(r, backend=backend_name) if lib is tg else torch.tensor(r)
        return (y.tanh() * weight).sum()

    x = tg.tensor(x0, backend=backend_name, requires_grad=True)
    w = tg.tensor(w0, backend=backend_name, requires_grad=True)
    gx, gw = tg.grad(loss(x, w, tg), [x, w], create_graph=True)
    directional = (gx * tg.tensor(vx, backend=backend_name)).sum() + (
        gw * tg.tensor(vw, backend=backend_name)
    ).sum()
    hx, hw = tg.grad(directional, [x, w])
    _, (ex, ew) = torch.autograd.functional.hvp(
        lambda a, b: loss(a, b, torch),
        (torch.tensor(x0), torch.tensor(w0)),
        (torch.tensor(vx), torch.tensor(vw)),
    )
    np.testing.assert_allclose(hx.numpy(), ex.numpy(), **TOL)
    np.testing.assert_allclose(hw.numpy(), ew.numpy(), **TOL)


# ----------------------------------------------------------------- recurrent layers
def _recurrent_against_torch(torch, ours, theirs, inputs, backend):
    """Like ``_module_against_torch`` for several inputs (x and initial states)."""
    ours.load_state_dict(theirs.state_dict())
    ours.train(theirs.training)
    mine = [tg.tensor(a, backend=backend, requires_grad=True) for a in inputs]
    their = [torch.tensor(a, requires_grad=True) for a in inputs]

    def call(module, args):
        if isinstance(module, (nn.LSTM, torch.nn.LSTM)) and len(args) == 3:
            return module(args[0], (args[1], args[2]))
        if isinstance(module, (nn.LSTMCell, torch.nn.LSTMCell)) and len(args) == 3:
            return module(args[0], (args[1], args[2]))
        return module(*args)

    out, expected = call(ours, mine), call(theirs, their)
    out = _flat(out) if isinstance(out, tuple) else [out]
    expected = _flat(expected) if isinstance(expected, tuple) else [expected]
    loss, their_loss = 0.0, 0.0
    for number, (o, e) in enumerate(zip(out, expected)):
        np.testing.assert_allclose(o.numpy(), e.detach().numpy(), **TOL, err_msg=f"output {number}")
        weight = _rng(30 + number).standard_normal(o.shape)
        loss = loss + (o * tg.tensor(weight, backend=backend)).sum()
        their_loss = their_loss + (e * torch.from_numpy(weight)).sum()
    loss.backward()
    their_loss.backward()
    for number, (m, t) in enumerate(zip(mine, their)):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **TOL, err_msg=f"input {number}")
    their_parameters = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(their_parameters)
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(
            parameter.grad.numpy(), their_parameters[name].grad.numpy(), **TOL, err_msg=name
        )


RECURRENT_CASES = [
    ("RNN", {"num_layers": 2, "bidirectional": True}, True),
    ("RNN", {"nonlinearity": "relu", "batch_first": True}, False),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}, True),
    ("GRU", {"bias": False}, False),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, True),
    ("LSTM", {"num_layers": 2, "batch_first": True}, False),
]


@pytest.mark.parametrize(
    "name, options, with_state",
    representative(RECURRENT_CASES, *(c for c in RECURRENT_CASES if c[1].get("bidirectional"))),
)
def test_recurrent_layers_match_torch(torch, name, options, with_state, backend_name, xp):
    rng = _rng(14)
    theirs = getattr(torch.nn, name)(3, 4, **options).double()
    ours = getattr(nn, name)(3, 4, **options, dtype="float64", backend=backend_name)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    shape = (2, 5, 3) if options.get("batch_first") else (5, 2, 3)
    inputs = [rng.standard_normal(shape)]
    if with_state:
        inputs += [rng.standard_normal((layers, 2, 4))] * (2 if name == "LSTM" else 1)
    _recurrent_against_torch(torch, ours, theirs, inputs, backend_name)


@pytest.mark.parametrize("name", representative(["RNN", "GRU", "LSTM"], "LSTM"))
def test_recurrent_layers_take_unbatched_sequences(torch, name, backend_name, xp):
    theirs = getattr(torch.nn, name)(3, 4, bidirectional=True).double()
    ours = getattr(nn, name)(3, 4, bidirectional=True, dtype="float64", backend=backend_name)
    _recurrent_against_torch(torch, ours, theirs, [_rng(15).standard_normal((6, 3))], backend_name)


@pytest.mark.parametrize(
    "name", representative(["RNNCell", "GRUCell", "LSTMCell"], "RNNCell", "GRUCell", "LSTMCell")
)
def test_cells_match_torch(torch, name, backend_name, xp):
    rng = _rng(16)
    theirs = getattr(torch.nn, name)(3, 5).double()
    ours = getattr(nn, name)(3, 5, dtype="float64", backend=backend_name)
    states = [rng.standard_normal((4, 5))] * (2 if name == "LSTMCell" else 1)
    _recurrent_against_torch(
        torch, ours, theirs, [rng.standard_normal((4, 3))] + states, backend_name
    )
    _recurrent_against_torch(torch, ours, theirs, [rng.standard_normal((4, 3))], backend_name)


def test_dropout_between_recurrent_layers_only_in_training():
    tg.manual_seed(3)
    gru = nn.GRU(2, 3, num_layers=2, dropout=0.5, dtype="float64")
    x = tg.tensor(_rng(17).standard_normal((4, 1, 2)))
    gru.eval()
    first, again = gru(x)[0].numpy(), gru(x)[0].numpy()
    assert np.array_equal(first, again)
    gru.train()
    assert not np.allclose(gru(x)[0].numpy(), first)


@pytest.mark.parametrize("name", representative(["RNN", "GRU", "LSTM"], "GRU"))
def test_gradcheck_recurrent_layers(name, backend_name, xp):
    layer = getattr(nn, name)(
        2, 2, num_layers=2, bidirectional=True, dtype="float64", backend=backend_name
    )
    x = make_input((3, 1, 2), backend_name)
    assert tg.gradcheck(lambda x: layer(x)[0], [x])
    weight_ih = layer.weight_ih_l1_reverse
    assert tg.gradcheck(lambda w: _with_parameter(layer, "weight_ih_l1_reverse", w, x), [weight_ih])


def _with_parameter(layer, name, value, x):
    saved = layer._parameters[name]
    layer._parameters[name] = value
    try:
        return layer(x)[0]
    finally:
        layer._parameters[name] = saved


def test_recurrent_errors_name_the_problem():
    gru = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"initial state of shape \(2, 5, 4\)"):
        gru(tg.zeros(6, 5, 3), tg.zeros(1, 5, 4))
    with pytest.raises(ValueError, match=r"input of shape \(L, N, 3\)"):
        gru(tg.zeros(6, 5, 2))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


@REPRESENTATIVE
def test_fused_gru_equals_the_composite_recurrence(backend_name, xp):
    """``ops_rnn.GRUSequence`` (one node per direction) against ``cell_step`` composed over time."""
    fused = nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype="float64", backend=backend_name)
    composite = nn.GRU(
        3, 4, num_layers=2, bidirectional=True, dtype="float64", backend=backend_name
    )
    composite.fused = False
    composite.load_state_dict(fused.state_dict())
    x0 = _rng(18).standard_normal((5, 2, 3))
    results = []
    for layer in (fused, composite):
        x = tg.tensor(x0, backend=backend_name, requires_grad=True)
        output, h_n = layer(x)
        ((output * output).sum() + (h_n * 3.0).sum()).backward()
        results.append([output, h_n, x.grad] + [p.grad for p in layer.parameters()])
    assert "GRUSequence" in op_names(fused(x)[0]) and "GRUSequence" not in op_names(composite(x)[0])
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-12, atol=1e-13)


def test_gru_hessian_vector_product_matches_torch(torch, backend_name, xp):
    """Double backward through the fused GRU: v -> H v of L = sum(r * output) in the input x."""
    theirs = torch.nn.GRU(2, 3, bidirectional=True).double()
    ours = nn.GRU(2, 3, bidirectional=True, dtype="float64", backend=backend_name)
    ours.load_state_dict(theirs.state_dict())
    rng = _rng(19)
    x0, r, v = (
        rng.standard_normal((4, 2, 2)),
        rng.standard_normal((4, 2, 6)),
        rng.standard_normal((4, 2, 2)),
    )
    x = tg.tensor(x0, backend=backend_name, requires_grad=True)
    (gx,) = tg.grad((ours(x)[0] * tg.tensor(r, backend=backend_name)).sum(), [x], create_graph=True)
    (hv,) = tg.grad((gx * tg.tensor(v, backend=backend_name)).sum(), [x])
    _, expected = torch.autograd.functional.hvp(
        lambda a: (theirs(a)[0] * torch.tensor(r)).sum(), torch.tensor(x0), torch.tensor(v)
    )
    np.testing.assert_allclose(hv.numpy(), expected.numpy(), **TOL)


# ----------------------------------------------------------------- MNIST-1D models and benchmark
def test_paper_models_have_the_papers_shapes():
    from tinygrad_edu import models

    x = tg.zeros(3, 40)
    sizes = {}
    for name in models.MNIST1D_MODELS:
        model = models.mnist1d_model(name)
        assert model(x).shape == (3, 10)
        sizes[name] = sum(p.size for p in model.parameters())
    # 40*10+10; 40*100+100 + 100*100+100 + 100*10+10; 150 + 2*1900 + 1260;
    # 2 directions * (18*1 + 18*6 + 18 + 18) + 480*10+10
    assert sizes == {"logistic": 410, "mlp": 15210, "cnn": 5210, "gru": 5134}
    with pytest.raises(ValueError, match="unknown model 'vit'"):
        models.mnist1d_model("vit")


def test_benchmark_command_prints_the_table_and_writes_the_figure(capsys, tmp_path):
    from tinygrad_edu import cli

    figure = tmp_path / "mnist1d.png"
    argv = ["benchmark", "mnist1d", "--steps", "10", "--eval-every", "5"]
    argv += ["--models", "logistic,gru", "--out", str(figure), "--peer", "torch"]
    if importlib.util.find_spec("torch") is None:
        argv = argv[:-2]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    for model in ("logistic", "gru"):
        for order in ("normal", "shuffled"):
            assert re.search(rf"^{model}\s+{order}\s+tinygrad_edu\s+\d+\.\d", out, re.M), out
    assert "total training time: tinygrad_edu" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["benchmark", "mnist1d", "--models", "cnn,vit"]) == 2
    assert "--models: unknown vit" in capsys.readouterr().err


def test_benchmark_shuffle_is_one_fixed_permutation():
    from tinygrad_edu import benchmark

    order = benchmark.permutation()
    assert sorted(order) == list(range(40)) and not np.array_equal(order, np.arange(40))
    assert np.array_equal(order, benchmark.permutation())
    normal, shuffled = benchmark.load(False), benchmark.load(True)
    np.testing.assert_array_equal(shuffled[0], normal[0][:, order])
    np.testing.assert_array_equal(shuffled[3], normal[3])


def test_train_command_takes_the_papers_models(capsys):
    from tinygrad_edu import cli

    argv = ["train", "--dataset", "mnist1d", "--model", "gru", "--epochs", "1", "--no-progress"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "model gru" in out and re.search(r"test accuracy: \d+\.\d%", out)
    assert cli.main(["train", "--dataset", "digits", "--model", "cnn"]) == 2
    assert "built for --dataset mnist1d" in capsys.readouterr().err


# ----------------------------------------------------------------- attention
SDPA_CASES = [
    ("plain", {}),
    ("causal", {"is_causal": True}),
    ("boolean_mask", {"mask": "bool"}),
    ("additive_mask", {"mask": "float"}),
    ("scale", {"scale": 0.3}),
]


@pytest.mark.parametrize(
    "name, options",
    representative(SDPA_CASES, "causal", "boolean_mask", "additive_mask", key=_name),
    ids=[c[0] for c in SDPA_CASES],
)
def test_scaled_dot_product_attention_matches_torch(torch, name, options, backend_name, xp):
    rng = _rng(21)
    inputs = [rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5))]
    inputs.append(rng.standard_normal((2, 3, 6, 7)))
    options = dict(options)
    kind = options.pop("mask", None)
    if kind == "bool":
        mask = rng.random((4, 6)) > 0.4
        mask[:, 0] = True  # every query keeps a key
        inputs.append(mask)
    elif kind == "float":
        inputs.append(rng.standard_normal((3, 4, 6)))
    compare_with_torch(
        torch,
        lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, *m, **options),
        lambda q, k, v, *m: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, *m, **options
        ),
        inputs,
        backend_name,
    )


@REPRESENTATIVE
def test_softmax_of_attention_is_stable_for_large_scores(backend_name, xp):
    q = tg.tensor(np.full((1, 2, 3), 400.0), backend=backend_name)
    k = tg.tensor(np.array([[[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]]), backend=backend_name)
    v = tg.tensor(np.array([[[1.0], [2.0]]]), backend=backend_name)
    out = F.scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(out.numpy(), [[[1.0], [1.0]]])


MHA_CASES = [
    ({"batch_first": False}, {}),
    ({"batch_first": True}, {"key_padding_mask": True}),
    ({"batch_first": False, "bias": False}, {"attn_mask": "bool", "average_attn_weights": False}),
    ({"batch_first": True}, {"attn_mask": "float", "need_weights": False}),
    ({"batch_first": False}, {"is_causal": True}),
]


@pytest.mark.parametrize("options, call", representative(MHA_CASES, MHA_CASES[1], MHA_CASES[2]))
def test_multihead_attention_loads_torch_weights_and_matches(
    torch, options, call, backend_name, xp
):
    rng = _rng(22)
    theirs = torch.nn.MultiheadAttention(8, 2, **options).double()
    ours = nn.MultiheadAttention(8, 2, **options, dtype="float64", backend=backend_name)
    ours.load_state_dict(theirs.state_dict())  # out_proj.weight in PyTorch's (out, in) as well
    batch_first = options["batch_first"]
    shape_q, shape_k = ((3, 4, 8), (3, 5, 8)) if batch_first else ((4, 3, 8), (5, 3, 8))
    if call.get("is_causal"):
        shape_k = shape_q
    query, key = rng.standard_normal(shape_q), rng.standard_normal(shape_k)
    value = rng.standard_normal(shape_k)
    length, source = 4, 5 if not call.get("is_causal") else 4
    kwargs_ours, kwargs_theirs = {}, {}
    if call.get("key_padding_mask"):
        mask = np.zeros((3, source), bool)
        mask[1, 2] = mask[0, 4] = True
        kwargs_ours["key_padding_mask"] = tg.tensor(mask, backend=backend_name)
        kwargs_theirs["key_padding_mask"] = torch.tensor(mask)
    if call.get("attn_mask") == "bool":
        mask = rng.random((length, source)) > 0.6
        mask[:, 0] = False  # True blocks: every query keeps key 0
        kwargs_ours["attn_mask"], kwargs_theirs["attn_mask"] = (
            tg.tensor(mask, backend=backend_name),
            torch.tensor(mask),
        )
    elif call.get("attn_mask") == "float":
        mask = rng.standard_normal((3 * 2, length, source))
        kwargs_ours["attn_mask"], kwargs_theirs["attn_mask"] = (
            tg.tensor(mask, backend=backend_name),
            torch.tensor(mask),
        )
    if call.get("is_causal"):
        mask = np.triu(np.ones((length, length), bool), 1)
        kwargs_theirs["attn_mask"] = torch.tensor(mask)
        kwargs_theirs["is_causal"] = True
        kwargs_ours["is_causal"] = True
    for flag in ("need_weights", "average_attn_weights"):
        if flag in call:
            kwargs_ours[flag] = kwargs_theirs[flag] = call[flag]

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = ours

        def forward(self, q):
            out, weights = self.attention(
                q,
                tg.tensor(key, backend=backend_name),
                tg.tensor(value, backend=backend_name),
                **kwargs_ours,
            )
            return out if weights is None else (out, weights)

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = theirs

        def forward(self, q):
            out, weights = self.attention(
                q, torch.tensor(key), torch.tensor(value), **kwargs_theirs
            )
            return out if weights is None else (out, weights)

    wrapped_ours, wrapped_theirs = Ours(), Theirs()
    _module_against_torch(torch, wrapped_ours, wrapped_theirs, query, backend_name, load=False)


@pytest.mark.parametrize("name", representative(["sdpa", "mha"], "sdpa"))
def test_gradcheck_attention(name, backend_name, xp):
    if name == "sdpa":
        shapes = [(1, 3, 2), (1, 4, 2), (1, 4, 3)]
        mask = tg.tensor(np.tril(np.ones((3, 4), bool)), backend=backend_name)
        fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask)  # noqa: E731
    else:
        layer = nn.MultiheadAttention(4, 2, dtype="float64", backend=backend_name)
        shapes = [(3, 2, 4)]
        fn = lambda x: layer(x, x, x)[0]  # noqa: E731
    inputs = [make_input(shape, backend_name, seed=n) for n, shape in enumerate(shapes)]
    assert tg.gradcheck(fn, inputs)


def test_lenet5_example_trains_on_a_small_synthetic_idx_set(tmp_path):
    from .test_data import write_tiny_mnist

    write_tiny_mnist(tmp_path / "mnist", n_train=40, n_test=10)
    example = Path(__file__).resolve().parent.parent / "examples" / "lenet5_mnist.py"
    result = subprocess.run(
        [sys.executable, str(example), "--root", str(tmp_path / "mnist"), "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "40 training images" in result.stdout
    assert re.search(r"test accuracy: \d+\.\d%", result.stdout)


def test_compare_layer_rows_run_and_agree_with_torch(torch, tmp_path):
    import json

    out = tmp_path / "layers.json"
    compare = Path(__file__).resolve().parent.parent / "benchmarks" / "compare.py"
    command = [sys.executable, str(compare), "--only", "L1,L5", "--skip-peers", "--repeats", "1"]
    command += ["--block-ms", "1", "--warmup-ms", "1", "--json", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    reports = {r["workload"]: r["results"] for r in json.loads(out.read_text())["workloads"]}
    assert set(reports) == {"L1 conv1d small", "L5 GRU step"}
    for rows in reports.values():
        assert rows["tinygrad_edu"]["check"] == "input gradient vs torch: ok"
        assert rows["tinygrad_edu"]["vs_torch"] > 0


POOL_GRID = [(k, s, p) for k in (2, 3) for s in (None, 1, 2) for p in (0, 1)]


@pytest.mark.parametrize("k, s, p", representative(POOL_GRID, (3, 2, 1)))
def test_pooling_matches_torch_over_a_grid(torch, k, s, p, backend_name, xp):
    rng = _rng(23)
    tf = torch.nn.functional
    x1, x2 = [rng.standard_normal((2, 3, 9))], [rng.standard_normal((2, 3, 7, 8))]
    for d in (1, 2):
        compare_with_torch(
            torch,
            lambda x, d=d: F.max_pool1d(x, k, s, p, d),
            lambda x, d=d: tf.max_pool1d(x, k, s, p, d),
            x1,
            backend_name,
        )
        compare_with_torch(
            torch,
            lambda x, d=d: F.max_pool2d(x, k, s, p, d),
            lambda x, d=d: tf.max_pool2d(x, k, s, p, d),
            x2,
            backend_name,
        )
    for include in (True, False):
        compare_with_torch(
            torch,
            lambda x, include=include: F.avg_pool1d(x, k, s, p, include),
            lambda x, include=include: tf.avg_pool1d(x, k, s, p, count_include_pad=include),
            x1,
            backend_name,
        )
        compare_with_torch(
            torch,
            lambda x, include=include: F.avg_pool2d(x, (k, 2), s, (p, 0), include),
            lambda x, include=include: tf.avg_pool2d(
                x, (k, 2), s, (p, 0), count_include_pad=include
            ),
            x2,
            backend_name,
        )
