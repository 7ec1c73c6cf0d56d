"""nn against torch.nn in float64: layers, losses, init gains, clipping and weight interop.

Each layer's parameters are copied into its PyTorch twin (a Linear weight
transposed: ours is (in, out), PyTorch's (out, in)); then outputs, input
gradients and parameter gradients must agree. PyTorch is a test oracle only.
"""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

from .helpers import make_input

torch = pytest.importorskip("torch")

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _to_torch(t, requires_grad=False):
    return torch.tensor(t.numpy(), dtype=torch.float64, requires_grad=requires_grad)


def _linear_weights(module) -> set:
    """Names of the Linear weights: (in, out) here, (out, in) in PyTorch."""
    return {
        f"{name}.weight" if name else "weight"
        for name, m in module.named_modules()
        if isinstance(m, nn.Linear)
    }


def _copy_into_torch(ours, theirs):
    """Copy our parameters and buffers into the PyTorch module (Linear weights transposed)."""
    their_state = theirs.state_dict()
    transposed = _linear_weights(ours)
    with torch.no_grad():
        for name, tensor in ours.state_dict().items():
            value = torch.from_numpy(tensor.numpy().copy())
            their_state[name].copy_(value.T if name in transposed else value)


def _compare(ours, theirs, x, seed=0):
    """Forward, then backward of sum(out * w): outputs, input and parameter grads agree."""
    tx = _to_torch(x, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL)
    weight = np.random.default_rng(seed).standard_normal(out.shape)
    (out * tg.tensor(weight, backend=x.backend)).sum().backward()
    (tout * torch.from_numpy(weight)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)
    their_params = dict(theirs.named_parameters())
    transposed = _linear_weights(ours)
    for name, param in ours.named_parameters():
        grad = param.grad.numpy()
        expected = their_params[name].grad.numpy()
        np.testing.assert_allclose(grad.T if name in transposed else grad, expected, **TOL)
    x.grad = None
    ours.zero_grad()
    theirs.zero_grad()


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_with_transposed_weight(bias, backend_name, xp):
    ours = nn.Linear(5, 3, bias=bias, dtype="float64", backend=backend_name)
    theirs = torch.nn.Linear(5, 3, bias=bias, dtype=torch.float64)
    _copy_into_torch(ours, theirs)
    _compare(ours, theirs, make_input((7, 5), backend_name))
    _compare(ours, theirs, make_input((2, 4, 5), backend_name, seed=3))  # batched leading axes


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
        (nn.ELU(0.7), torch.nn.ELU(0.7)),
        (nn.GELU(), torch.nn.GELU()),
        (nn.Softmax(axis=1), torch.nn.Softmax(dim=1)),
        (nn.LogSoftmax(axis=0), torch.nn.LogSoftmax(dim=0)),
        (nn.Identity(), torch.nn.Identity()),
        (nn.Flatten(), torch.nn.Flatten()),
    ],
    ids=lambda m: type(m).__name__,
)
def test_activation_modules_match_torch(ours, theirs, backend_name, xp):
    _compare(ours, theirs, make_input((4, 6), backend_name, domain="away"))


def test_layer_norm_matches_torch(backend_name, xp):
    ours = nn.LayerNorm((3, 4), eps=1e-4, dtype="float64", backend=backend_name)
    nn.init.normal_(ours.weight)
    nn.init.normal_(ours.bias)
    theirs = torch.nn.LayerNorm((3, 4), eps=1e-4, dtype=torch.float64)
    _copy_into_torch(ours, theirs)
    _compare(ours, theirs, make_input((5, 3, 4), backend_name))


@pytest.mark.parametrize("shape", [(16, 3), (6, 3, 5)], ids=["NC", "NCL"])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_matches_torch_in_train_and_eval(shape, momentum, backend_name, xp):
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype="float64", backend=backend_name)
    nn.init.uniform_(ours.weight, 0.5, 1.5)
    nn.init.normal_(ours.bias)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum, dtype=torch.float64)
    _copy_into_torch(ours, theirs)
    assert ours.training and theirs.training
    for step in range(3):
        x = make_input(shape, backend_name, seed=step)
        x.data = x.data * 2.0 + 1.0
        _compare(ours, theirs, x, seed=step)
    for name, buffer in ours.named_buffers():
        np.testing.assert_allclose(buffer.numpy(), theirs.state_dict()[name].numpy(), **TOL)
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, make_input(shape, backend_name, seed=9))
    assert ours.num_batches_tracked.item() == 3


def test_dropout_in_eval_is_identity_like_torch():
    x = make_input((4, 5), "numpy")
    theirs = torch.nn.Dropout(0.3).eval()
    np.testing.assert_array_equal(nn.Dropout(0.3).eval()(x).numpy(), theirs(_to_torch(x)).numpy())


LOSSES = [
    ("mse_loss", lambda: make_input((5, 3), "numpy", seed=8)),
    ("cross_entropy", lambda: tg.tensor(np.array([2, 0, 1, 1, 2]))),
    ("nll_loss", lambda: tg.tensor(np.array([1, 0, 2, 2, 0]))),
    ("binary_cross_entropy_with_logits", lambda: tg.tensor(
        np.random.default_rng(4).uniform(size=(5, 3)), requires_grad=True)),
]  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, make_target", LOSSES, ids=[n for n, _ in LOSSES])
def test_losses_match_torch_value_and_gradients(name, make_target, reduction, backend_name, xp):
    pred = make_input((5, 3), backend_name)
    target = make_target().to(backend=backend_name)
    if target.requires_grad:  # a leaf on this backend
        target = target.detach().requires_grad_()
    tpred = _to_torch(pred, requires_grad=True)
    ttarget = torch.from_numpy(target.numpy().copy()).requires_grad_(target.requires_grad)
    loss = getattr(F, name)(pred, target, reduction=reduction)
    tloss = getattr(torch.nn.functional, name)(tpred, ttarget, reduction=reduction)
    np.testing.assert_allclose(loss.numpy(), tloss.detach().numpy(), **TOL)
    weight = np.random.default_rng(1).standard_normal(loss.shape)
    (loss * tg.tensor(weight, backend=backend_name)).sum().backward()
    (tloss * torch.from_numpy(weight)).sum().backward()
    np.testing.assert_allclose(pred.grad.numpy(), tpred.grad.numpy(), **TOL)
    if target.requires_grad:
        np.testing.assert_allclose(target.grad.numpy(), ttarget.grad.numpy(), **TOL)


def test_calculate_gain_matches_torch():
    for nonlinearity in ["linear", "sigmoid", "tanh", "relu", "selu", "conv2d"]:
        assert nn.init.calculate_gain(nonlinearity) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity), rel=1e-15
        )
    for slope in [None, 0.2, math.sqrt(5)]:
        assert nn.init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-15
        )


def test_our_fans_of_an_in_out_weight_equal_torchs_of_the_out_in_weight():
    ours = tg.zeros(7, 5, 3)  # (in, out, kernel)
    theirs = torch.zeros(5, 7, 3)  # (out, in, kernel)
    assert nn.init.calculate_fan_in_and_fan_out(
        ours
    ) == torch.nn.init._calculate_fan_in_and_fan_out(theirs)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, backend_name, xp):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    ours, theirs = [], []
    for g in grads:
        p = nn.Parameter(tg.zeros(*g.shape, dtype="float64", backend=backend_name))
        p.grad = tg.tensor(g, backend=backend_name)
        ours.append(p)
        q = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        q.grad = torch.from_numpy(g.copy())
        theirs.append(q)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TOL)


# ----------------------------------------------------------------- interop
def _torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 8),
        torch.nn.BatchNorm1d(8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    ).double()


def _our_mlp(backend):
    return nn.Sequential(
        nn.Linear(6, 16, dtype="float64", backend=backend),
        nn.Tanh(),
        nn.Linear(16, 8, dtype="float64", backend=backend),
        nn.BatchNorm1d(8, dtype="float64", backend=backend),
        nn.ReLU(),
        nn.Linear(8, 3, dtype="float64", backend=backend),
    )


def test_loading_a_pytorch_mlp_gives_the_same_predictions(backend_name, xp):
    """Interop: a PyTorch state_dict, Linear weights transposed, loads into our model."""
    theirs = _torch_mlp()
    x = np.random.default_rng(2).standard_normal((32, 6))
    theirs(torch.from_numpy(x))  # one training step moves the BatchNorm statistics
    theirs.eval()
    ours = _our_mlp(backend_name).eval()
    transposed = _linear_weights(ours)
    converted = {
        name: (value.T if name in transposed else value).numpy().copy()
        for name, value in theirs.state_dict().items()
    }
    ours.load_state_dict(converted)
    prediction = ours(tg.tensor(x, backend=backend_name))
    np.testing.assert_allclose(prediction.numpy(), theirs(torch.from_numpy(x)).detach(), **TOL)


def test_exporting_our_weights_to_pytorch_gives_the_same_predictions():
    ours = _our_mlp("numpy")
    x = make_input((20, 6), "numpy", requires_grad=False)
    ours(x)
    ours.eval()
    theirs = _torch_mlp().eval()
    _copy_into_torch(ours, theirs)
    np.testing.assert_allclose(ours(x).numpy(), theirs(_to_torch(x)).detach().numpy(), **TOL)
