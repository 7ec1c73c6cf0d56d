"""Layers for research against PyTorch in float64: losses, padding, embeddings,
convolution, pooling, recurrent layers and attention.

Each functional is computed here and in PyTorch on the same float64 inputs;
values, input gradients and parameter gradients of ``sum(out * w)`` (w a
fixed random array) must agree. Modules load PyTorch's ``state_dict`` as it
is. Gradients are also checked against central differences (``tg.gradcheck``)
on every backend under test, and second derivatives of the convolution
through a Hessian-vector product. PyTorch is a test oracle only: without it
the comparisons skip and the gradient checks still run.
"""

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

from .helpers import make_input

TOL = {"rtol": 1e-9, "atol": 1e-11}


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
    "name, shape, options", CROSS_ENTROPY_CASES, ids=[c[0] for c in CROSS_ENTROPY_CASES]
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


@pytest.mark.parametrize("smoothing, weighted", [(0.0, False), (0.3, True)])
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
            lambda z, t: F.cross_entropy(
                z,
                t.detach(),
                reduction,
                label_smoothing=smoothing,
                weight=tg.tensor(weight, backend=backend_name) if weighted else None,
            ),
            lambda z, t: torch.nn.functional.cross_entropy(
                z,
                t.detach(),
                reduction=reduction,
                label_smoothing=smoothing,
                weight=torch.tensor(weight) if weighted else None,
            ),
            [logits, probs],
            backend_name,
        )


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


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
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


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
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
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
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
