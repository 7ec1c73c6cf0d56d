"""nn on every backend: Module mechanics, layers, losses, init and gradient clipping.

Values are checked against NumPy closed forms here; against PyTorch in
test_nn_torch.py.
"""

import copy
import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

from .helpers import directional_check, make_input


class TwoLayer(nn.Module):
    def __init__(self, backend=None):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(3, 4, dtype="float64", backend=backend),
            nn.ReLU(),
            nn.Linear(4, 2, dtype="float64", backend=backend),
        )
        self.norm = nn.BatchNorm1d(2, dtype="float64", backend=backend)

    def forward(self, x):
        return self.norm(self.layers(x))


def _values(module):
    return {name: t.numpy().copy() for name, t in module.state_dict().items()}


def _assert_same_state(module, before):
    after = _values(module)
    assert after.keys() == before.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


# ----------------------------------------------------------------- Module
def test_registration_and_dotted_names(backend_name, xp):
    model = TwoLayer(backend_name)
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "norm.weight", "norm.bias",
    ]  # fmt: skip
    assert [n for n, _ in model.named_buffers()] == [
        "norm.running_mean", "norm.running_var", "norm.num_batches_tracked",
    ]  # fmt: skip
    assert list(model.state_dict()) == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
        "norm.num_batches_tracked",
    ]  # fmt: skip
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert [n for n, _ in model.named_children()] == ["layers", "norm"]
    assert len(list(model.modules())) == 6
    assert [n for n, _ in model.named_modules()][:3] == ["", "layers", "layers.0"]
    assert [n for n, _ in model.named_parameters(recurse=False)] == []


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(tg.tensor([1.0, 2.0]) * 3)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert nn.Parameter(tg.zeros(2), requires_grad=False).requires_grad is False
    assert repr(p).startswith("Parameter(")
    with pytest.raises(TypeError):
        nn.Parameter(tg.tensor([1, 2], dtype="int64"))


def test_shared_parameter_is_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.parameters())) == 2


def test_reassigning_and_deleting_attributes():
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="weight"):
        layer.weight = tg.zeros(2, 3)
    layer.bias = None
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.extra = nn.Parameter(tg.zeros(1))
    assert "extra" in dict(layer.named_parameters())
    del layer.extra
    assert "extra" not in dict(layer.named_parameters())
    with pytest.raises(AttributeError, match="missing"):
        _ = layer.missing


def test_registering_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Forgetful()


def test_register_buffer_checks_and_forward_default():
    module = nn.Module()
    with pytest.raises(TypeError, match="buffer"):
        module.register_buffer("stats", [1.0])
    with pytest.raises(KeyError, match="'.'"):  # KeyError, as torch
        module.register_buffer("a.b", tg.zeros(1))
    module.register_buffer("stats", tg.zeros(2))
    assert list(module.state_dict()) == ["stats"]
    with pytest.raises(NotImplementedError, match="Module"):
        module(tg.zeros(1))


@pytest.mark.parametrize("how", ["setattr", "register_parameter", "add_module"])
def test_a_dotted_name_beside_a_submodule_is_refused(how):
    model = nn.Module()
    model.a = nn.Linear(2, 2)
    value = nn.Linear(1, 1) if how == "add_module" else nn.Parameter(tg.zeros(2))
    with pytest.raises(KeyError, match="'a.bias'"):
        if how == "setattr":
            setattr(model, "a.bias", value)
        else:
            getattr(model, how)("a.bias", value)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["a.weight", "a.bias"] and list(model.state_dict()) == names
    with pytest.raises(TypeError, match="str"):
        model.register_parameter(3, None)


def test_zero_grad_train_eval_requires_grad_and_apply():
    model = TwoLayer()
    model(make_input((5, 3), "numpy", seed=1)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.eval() is model and not any(m.training for m in model.modules())
    assert all(m.training for m in model.train().modules())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "TwoLayer" and visited.count("Linear") == 2


def test_repr_is_torch_like():
    model = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Sequential(nn.Dropout(0.1)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.1)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.BatchNorm1d(4)) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True)"
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"


def test_forward_hook_sees_inputs_and_output_can_replace_and_be_removed(backend_name, xp):
    layer = nn.Linear(3, 2, backend=backend_name)
    x = tg.ones(4, 3, backend=backend_name)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs, out)))
    out = layer(x)
    assert seen[0][0] is layer and seen[0][1][0] is x and seen[0][2] is out
    replacer = layer.register_forward_hook(lambda m, inputs, out: out * 0)
    assert float(layer(x).abs().sum().item()) == 0.0
    replacer.remove()
    handle.remove()
    assert float(layer(x).abs().sum().item()) > 0 and len(seen) == 2


# ----------------------------------------------------------------- state dicts
def test_state_dict_round_trip_with_tensors_and_arrays(backend_name, xp):
    source, target = TwoLayer(backend_name), TwoLayer(backend_name)
    source(make_input((6, 3), backend_name))  # moves the running statistics
    target.load_state_dict(source.state_dict())
    _assert_same_state(target, _values(source))
    other = TwoLayer(backend_name)
    target.load_state_dict({name: t.data for name, t in other.state_dict().items()})
    _assert_same_state(target, _values(other))


def test_load_state_dict_copies_and_moves_across_backends(backend_name, xp):
    model = nn.Linear(2, 2, dtype="float64", backend=backend_name)
    host = {"weight": np.ones((2, 2)), "bias": np.zeros(2)}
    model.load_state_dict(host)
    assert model.weight.backend == backend_name
    host["weight"][0, 0] = 5.0
    assert model.weight.numpy()[0, 0] == 1.0  # the module does not alias the caller's array


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda sd: sd.pop("layers.0.bias"), KeyError, ["missing", "layers.0.bias"]),
        (lambda sd: sd.update(extra=tg.zeros(1)), KeyError, ["unexpected", "extra"]),
        (lambda sd: sd.update({"norm.bias": tg.zeros(3, dtype="float64")}), ValueError,
         ["norm.bias", "shape", "(3,)"]),
        (lambda sd: sd.update({"norm.running_var": tg.ones(2, dtype="float32")}), ValueError,
         ["norm.running_var", "dtype", "float32"]),
        (lambda sd: sd.update({"norm.weight": "nonsense"}), TypeError, ["norm.weight"]),
    ],
    ids=["missing", "unexpected", "shape", "dtype", "type"],
)  # fmt: skip
def test_bad_state_dict_names_the_key_and_leaves_module_unchanged(change, error, words):
    model = TwoLayer()
    before = _values(model)
    state = {name: t + 1 for name, t in TwoLayer().state_dict().items()}  # all valid but one
    change(state)
    with pytest.raises(error) as info:
        model.load_state_dict(state)
    for word in words:
        assert word in str(info.value)
    _assert_same_state(model, before)


def test_deepcopy_gives_an_independent_model_for_best_so_far_snapshots():
    model = TwoLayer()
    snapshot = copy.deepcopy(model)
    before = _values(model)
    model.load_state_dict({name: t + 1 for name, t in model.state_dict().items()})
    _assert_same_state(snapshot, before)
    assert isinstance(snapshot.layers[0].weight, nn.Parameter)
    assert snapshot.layers[0].weight is not model.layers[0].weight


def test_non_strict_load_reports_missing_and_unexpected_keys():
    model = nn.Linear(2, 2)
    result = model.load_state_dict({"weight": tg.ones(2, 2), "other": tg.ones(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(model.weight.numpy(), np.ones((2, 2)))


def test_to_moves_parameters_buffers_and_grads_in_place():
    model = TwoLayer()
    model(make_input((5, 3), "numpy")).sum().backward()
    params = list(model.parameters())
    before = _values(model)
    assert model.to(backend="array_api_strict") is model
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    assert {t.backend for t in model.state_dict().values()} == {"array_api_strict"}
    assert {p.grad.backend for p in model.parameters()} == {"array_api_strict"}
    _assert_same_state(model, before)
    model.to(dtype="float32")
    assert tg.backend.dtype_name(model.norm.running_mean.dtype) == "float32"
    assert tg.backend.dtype_name(model.norm.num_batches_tracked.dtype) == "int64"
    with pytest.raises(ValueError, match="known backends"):
        model.to(backend="nope")


# ----------------------------------------------------------------- layers
def test_linear_computes_x_at_w_plus_b(backend_name, xp):
    layer = nn.Linear(3, 2, dtype="float64", backend=backend_name)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    x = make_input((5, 3), backend_name)
    expected = x.numpy() @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    no_bias = nn.Linear(3, 2, bias=False, dtype="float64", backend=backend_name)
    assert no_bias.bias is None
    np.testing.assert_allclose(no_bias(x).numpy(), x.numpy() @ no_bias.weight.numpy())
    directional_check(lambda x, w, b: F.linear(x, w, b), [x, layer.weight, layer.bias])


def test_linear_default_init_is_uniform_in_one_over_sqrt_fan_in():
    tg.manual_seed(3)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound
    assert tg.backend.dtype_name(layer.weight.dtype) == "float32"
    assert abs(layer.weight.numpy().std() - bound / math.sqrt(3)) < 0.01 * bound


def test_same_seed_gives_same_layer_on_every_backend(backend_name, xp):
    tg.manual_seed(7)
    ours = nn.Sequential(nn.Linear(4, 3, backend=backend_name), nn.LayerNorm(3))
    tg.manual_seed(7)
    reference = nn.Sequential(nn.Linear(4, 3, backend="numpy"), nn.LayerNorm(3))
    _assert_same_state(ours, _values(reference))


def test_float32_layer_on_float64_input_computes_in_float64(backend_name, xp):
    layers = [nn.Linear(3, 3, backend=backend_name), nn.LayerNorm(3, backend=backend_name)]
    layers.append(nn.BatchNorm1d(3, backend=backend_name))
    x = make_input((4, 3), backend_name)
    for layer in layers:
        out = layer(x)
        assert tg.backend.dtype_name(out.dtype) == "float64", type(layer).__name__
        out.sum().backward()
        weight = layer.weight
        assert tg.backend.dtype_name(weight.grad.dtype) == "float32"
    assert tg.backend.dtype_name(layers[2].running_var.dtype) == "float32"


def test_sequential_indexing_slicing_iteration_and_append():
    first, second, third = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(first, second)
    model.append(third)
    assert len(model) == 3 and model[0] is first and model[-1] is third
    assert all(a is b for a, b in zip(model, [first, second, third], strict=True))
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and tail[0] is second and len(tail) == 2
    with pytest.raises(IndexError, match="length 3"):
        model[3]
    with pytest.raises(TypeError, match="Modules"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    x = tg.randn(4, 2)
    np.testing.assert_allclose(model(x).numpy(), third(first(x).relu()).numpy())


def test_module_list_registers_its_modules():
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)]).extend([nn.Linear(2, 1)])
    assert len(blocks) == 3 and isinstance(blocks[:2], nn.ModuleList)
    assert [n for n, _ in blocks.named_parameters()][-2:] == ["2.weight", "2.bias"]


@pytest.mark.parametrize(
    "module, reference",
    [
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (nn.Tanh(), np.tanh),
        (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
        (nn.Softmax(axis=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0)),
        (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True))),
        (nn.Identity(), lambda x: x),
        (nn.Flatten(), lambda x: x.reshape(len(x), -1)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "",
)
def test_activation_modules(module, reference, backend_name, xp):
    x = make_input((3, 4), backend_name, domain="away")
    np.testing.assert_allclose(module(x).numpy(), reference(x.numpy()), rtol=1e-12)
    directional_check(module, [x])


def test_gelu_module_is_the_exact_gelu(backend_name, xp):
    x = make_input((3, 4), backend_name)
    np.testing.assert_allclose(nn.GELU()(x).numpy(), x.gelu().numpy())


def test_dropout_scales_survivors_in_train_and_is_identity_in_eval(backend_name, xp):
    layer = nn.Dropout(0.25)
    x = make_input((200, 50), backend_name, domain="away")
    out = layer(x).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], x.numpy()[kept] / 0.75, rtol=1e-14)
    assert abs(kept.mean() - 0.75) < 0.02
    out_sum = layer(x).sum()
    out_sum.backward()
    assert set(np.unique(x.grad.numpy())) <= {0.0, 1 / 0.75}
    assert layer.eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert float(nn.Dropout(1.0)(x).abs().sum().item()) == 0.0
    with pytest.raises(ValueError, match="1.5"):
        nn.Dropout(1.5)


def test_dropout_mask_is_seeded_and_the_same_on_every_backend(backend_name, xp):
    tg.manual_seed(11)
    ours = nn.Dropout(0.5)(tg.ones(6, 7, dtype="float64", backend=backend_name)).numpy()
    tg.manual_seed(11)
    reference = nn.Dropout(0.5)(tg.ones(6, 7, dtype="float64")).numpy()
    np.testing.assert_array_equal(ours, reference)


def test_layer_norm_matches_the_formula_and_its_gradient(backend_name, xp):
    layer = nn.LayerNorm((2, 3), eps=1e-3, dtype="float64", backend=backend_name)
    layer.weight.data = make_input((2, 3), backend_name, seed=2).data
    layer.bias.data = make_input((2, 3), backend_name, seed=3).data
    x = make_input((4, 2, 3), backend_name)
    host = x.numpy()
    mean = host.mean(axis=(1, 2), keepdims=True)
    var = host.var(axis=(1, 2), keepdims=True)
    expected = (host - mean) / np.sqrt(var + 1e-3) * layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    directional_check(layer, [x])
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        layer(make_input((4, 3, 2), backend_name))


def test_batch_norm_train_and_eval_match_the_formulas(backend_name, xp):
    layer = nn.BatchNorm1d(3, momentum=0.2, dtype="float64", backend=backend_name)
    assert layer.training
    batches = [make_input((8, 3), backend_name, seed=s) for s in range(3)]
    running_mean, running_var = np.zeros(3), np.ones(3)
    for x in batches:
        host = x.numpy()
        expected = (host - host.mean(0)) / np.sqrt(host.var(0) + 1e-5)
        np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
        running_mean = 0.8 * running_mean + 0.2 * host.mean(0)
        running_var = 0.8 * running_var + 0.2 * host.var(0, ddof=1)
    np.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), running_var, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 3
    layer.eval()
    x = batches[0]
    expected = (x.numpy() - running_mean) / np.sqrt(running_var + 1e-5)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 3
    directional_check(layer, [x])
    directional_check(layer.train(), [x])


def test_batch_norm_errors(backend_name, xp):
    layer = nn.BatchNorm1d(3, backend=backend_name)
    with pytest.raises(ValueError, match="more than one value"):
        layer(tg.ones(1, 3, backend=backend_name))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        layer(tg.ones(4, 2, backend=backend_name))


# ----------------------------------------------------------------- losses
def _log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_closed_forms(reduction, backend_name, xp):
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    logits = make_input((6, 4), backend_name)
    labels = tg.tensor(np.array([0, 3, 1, 1, 2, 0]), backend=backend_name)
    host, picked = logits.numpy(), (np.arange(6), labels.numpy())
    target = make_input((6, 4), backend_name, seed=5, requires_grad=False)
    probs = tg.tensor(np.random.default_rng(2).uniform(size=(6, 4)), backend=backend_name)
    cases = [
        (F.mse_loss(logits, target, reduction), (host - target.numpy()) ** 2),
        (F.cross_entropy(logits, labels, reduction), -_log_softmax(host)[picked]),
        (F.nll_loss(logits, labels, reduction), -host[picked]),
        (
            F.binary_cross_entropy_with_logits(logits, probs, reduction),
            -(probs.numpy() * np.log(1 / (1 + np.exp(-host))))
            - (1 - probs.numpy()) * np.log(1 - 1 / (1 + np.exp(-host))),
        ),
    ]
    for loss, expected in cases:
        np.testing.assert_allclose(loss.numpy(), reduce(expected), rtol=1e-12)
    directional_check(lambda z: F.cross_entropy(z, labels, reduction), [logits])
    directional_check(lambda z: F.binary_cross_entropy_with_logits(z, probs, reduction), [logits])


def test_loss_modules_call_the_functions():
    logits, labels = make_input((4, 3), "numpy"), tg.tensor([0, 2, 1, 1], dtype="int64")
    assert nn.CrossEntropyLoss()(logits, labels).item() == F.cross_entropy(logits, labels).item()
    assert (
        nn.NLLLoss(reduction="sum")(logits, labels).item()
        == F.nll_loss(logits, labels, "sum").item()
    )
    assert nn.MSELoss()(logits, logits * 2).item() == F.mse_loss(logits, logits * 2).item()
    target = logits * 0
    assert nn.BCEWithLogitsLoss()(logits, target).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, target).item()
    )
    assert repr(nn.MSELoss("sum")) == "MSELoss(reduction='sum')"


def test_losses_stay_finite_for_huge_logits(backend_name, xp):
    logits = tg.tensor([[1000.0, -1000.0, 0.0]], dtype="float64", backend=backend_name)
    logits.requires_grad_()
    loss = F.cross_entropy(logits, tg.tensor([1], dtype="int64", backend=backend_name))
    loss.backward()
    assert loss.item() == pytest.approx(2000.0)
    np.testing.assert_allclose(logits.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-12)
    big = tg.tensor([800.0, -800.0], dtype="float64", backend=backend_name, requires_grad=True)
    labels = tg.tensor([0.0, 1.0], dtype="float64", backend=backend_name)
    bce = F.binary_cross_entropy_with_logits(big, labels, "sum")
    bce.backward()
    assert bce.item() == pytest.approx(1600.0)
    np.testing.assert_allclose(big.grad.numpy(), [1.0, -1.0])


def test_cross_entropy_with_a_masked_class_is_finite(backend_name, xp):
    """A -inf logit (a masked class) must not turn the loss or its gradient into NaN."""
    logits = tg.tensor([[0.5, -math.inf, 1.5]], dtype="float64", backend=backend_name)
    logits.requires_grad_()
    loss = F.cross_entropy(logits, tg.tensor([0], dtype="int64", backend=backend_name))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(1 + math.e))
    expected = [1 / (1 + math.e) - 1, 0.0, math.e / (1 + math.e)]
    np.testing.assert_allclose(logits.grad.numpy(), [expected], rtol=1e-12)


def test_loss_errors_are_clear(backend_name, xp):
    logits = make_input((3, 4), backend_name)
    with pytest.raises(TypeError, match="integer class targets"):
        F.cross_entropy(logits, tg.tensor([0.0, 1.0, 2.0], backend=backend_name))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        F.cross_entropy(logits, tg.tensor([0, 1], dtype="int64", backend=backend_name))
    with pytest.raises(ValueError, match="class 4 is out of range for 4 classes"):
        F.nll_loss(logits, tg.tensor([0, 4, 1], dtype="int64", backend=backend_name))
    with pytest.raises(ValueError, match="class -1"):
        F.cross_entropy(logits, tg.tensor([0, -1, 1], dtype="int64", backend=backend_name))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(4, 3\)"):
        F.mse_loss(logits, make_input((4, 3), backend_name))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(3,\)"):
        F.binary_cross_entropy_with_logits(logits, make_input((3,), backend_name))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(logits, logits, reduction="average")
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(make_input((4,), backend_name), tg.tensor(1, dtype="int64"))


def test_binary_targets_may_be_integers():
    logits = make_input((5,), "numpy")
    labels = tg.tensor([0, 1, 1, 0, 1], dtype="int64")
    as_float = F.binary_cross_entropy_with_logits(logits, labels.astype("float64"))
    assert F.binary_cross_entropy_with_logits(logits, labels).item() == as_float.item()


def test_functional_reexports_activations():
    x = make_input((2, 3), "numpy")
    for name in ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "elu", "softplus"]:
        np.testing.assert_allclose(getattr(F, name)(x).numpy(), getattr(x, name)().numpy())
    np.testing.assert_allclose(F.leaky_relu(x, 0.3).numpy(), x.leaky_relu(0.3).numpy())


# ----------------------------------------------------------------- init
@pytest.mark.parametrize(
    "fill, expected_std",
    [
        (lambda t: nn.init.xavier_uniform_(t, gain=2.0), 2.0 * math.sqrt(2 / 700)),
        (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / 700)),
        (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
        (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
         math.sqrt(2 / 300)),
        (lambda t: nn.init.kaiming_normal_(t, a=0.2), math.sqrt(2 / 1.04 / 400)),
        (lambda t: nn.init.normal_(t, mean=1.0, std=0.5), 0.5),
        (lambda t: nn.init.uniform_(t, -3.0, 3.0), math.sqrt(3.0)),
    ],
    ids=["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal_fan_out",
         "kaiming_normal_leaky", "normal", "uniform"],
)  # fmt: skip
def test_init_statistics_follow_torch_formulas_for_in_out_weights(
    fill, expected_std, backend_name, xp
):
    weight = tg.zeros(400, 300, dtype="float64", backend=backend_name)  # (fan_in, fan_out)
    assert fill(weight) is weight
    assert weight.backend == backend_name and tg.backend.dtype_name(weight.dtype) == "float64"
    values = weight.numpy()
    assert abs(values.std() - expected_std) < 0.02 * expected_std


def test_init_is_seeded_and_identical_on_every_backend(backend_name, xp):
    results = []
    for backend in (backend_name, "numpy"):
        tg.manual_seed(4)
        weight = tg.zeros(5, 3, backend=backend)
        nn.init.xavier_normal_(weight)
        nn.init.kaiming_uniform_(bias := tg.zeros(3, 2, backend=backend))
        results.append((weight.numpy(), bias.numpy()))
    for ours, reference in zip(*results, strict=True):
        np.testing.assert_array_equal(ours, reference)
    assert tg.backend.dtype_name(weight.dtype) == "float32"


def test_constant_inits_and_fans(backend_name, xp):
    weight = tg.ones(4, 2, 3, backend=backend_name)
    assert nn.init.calculate_fan_in_and_fan_out(weight) == (12, 6)
    np.testing.assert_array_equal(nn.init.zeros_(weight).numpy(), np.zeros((4, 2, 3)))
    np.testing.assert_array_equal(nn.init.ones_(weight).numpy(), np.ones((4, 2, 3)))
    np.testing.assert_array_equal(nn.init.constant_(weight, 2.5).numpy(), np.full((4, 2, 3), 2.5))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(tg.zeros(3))
    with pytest.raises(ValueError, match="mode"):
        nn.init.kaiming_normal_(weight, mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.init.kaiming_normal_(weight, nonlinearity="swish")


# ----------------------------------------------------------------- clipping
def _with_grads(backend_name, grads):
    params = []
    for g in grads:
        p = nn.Parameter(tg.zeros(*np.shape(g), dtype="float64", backend=backend_name))
        p.grad = tg.tensor(np.asarray(g, dtype=np.float64), backend=backend_name)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_together(backend_name, xp):
    params = _with_grads(backend_name, [[3.0, 0.0], [[0.0], [4.0]]])
    params.append(nn.Parameter(tg.zeros(2, backend=backend_name)))  # no grad: skipped
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3 * coef, 0.0])
    np.testing.assert_allclose(params[1].grad.numpy(), [[0.0], [4 * coef]])
    unchanged = _with_grads(backend_name, [[0.3, 0.4]])
    assert nn.utils.clip_grad_norm_(unchanged, 10.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(unchanged[0].grad.numpy(), [0.3, 0.4])
    inf_params = _with_grads(backend_name, [[-3.0, 1.0], [2.0]])
    assert nn.utils.clip_grad_norm_(inf_params, 1.5, norm_type=math.inf).item() == 3.0
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_value_and_nonfinite_norm(backend_name, xp):
    params = _with_grads(backend_name, [[-3.0, 0.5, 2.0]])
    nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])
    bad = _with_grads(backend_name, [[np.inf, 1.0]])
    with pytest.raises(RuntimeError, match="inf"):
        nn.utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)


def test_cross_entropy_with_small_integer_targets_and_many_rows(backend_name):
    rng = np.random.default_rng(0)
    logits_host = rng.normal(size=(300, 5))
    labels = rng.integers(0, 5, size=300)
    results = []
    for dtype in ("int64", "uint8", "int16"):
        logits = tg.tensor(logits_host, dtype="float64", backend=backend_name, requires_grad=True)
        target = tg.tensor(labels.astype(dtype), backend=backend_name)
        loss = F.cross_entropy(logits, target)
        loss.backward()
        results.append((loss.item(), logits.grad.numpy()))
    for loss, grad in results[1:]:
        assert loss == pytest.approx(results[0][0], rel=1e-12)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-12)


def test_mse_loss_of_empty_inputs_is_nan_with_an_empty_gradient(backend_name):
    pred = tg.zeros(0, 3, dtype="float64", backend=backend_name, requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = F.mse_loss(pred, tg.zeros(0, 3, dtype="float64", backend=backend_name))
        loss.backward()
    assert np.isnan(loss.item()) and pred.grad.shape == (0, 3)


def test_sequential_calls_layers_through_their_call():
    class Scale(nn.Module):
        def forward(self, x):
            return x

        def __call__(self, x):
            return x * 10

    assert nn.Sequential(Scale())(tg.ones(1)).item() == 10.0
