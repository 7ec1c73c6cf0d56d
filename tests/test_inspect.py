"""Graph export, the backward tracer, tensor hooks and anomaly detection."""

import re
import shutil
import struct
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.function import ProcessMode, thread_mode
from tinygrad_edu.inspect import AnomalyError, detect_anomaly, graph, trace_backward

from .helpers import make_input


def _mlp_loss(backend_name, sizes=(3, 4, 2), batch=5):
    """A sigmoid MLP, its MSE loss on seeded data, and the input tensor."""
    tg.manual_seed(0)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out, dtype="float64", backend=backend_name), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    x = make_input((batch, sizes[0]), backend_name, requires_grad=False)
    x.name = "x"
    target = make_input((batch, sizes[-1]), backend_name, seed=1, requires_grad=False)
    return model, x, target


def _functions(tensor) -> list:
    """Every distinct Function in the graph of ``tensor``."""
    found, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        if not isinstance(t, tg.Tensor) or t.grad_fn is None or id(t.grad_fn) in seen:
            continue
        seen.add(id(t.grad_fn))
        found.append(t.grad_fn)
        stack.extend(t.grad_fn.parents)
    return found


def _current_line() -> int:
    return sys._getframe(1).f_lineno


# ------------------------------------------------------------------ graph
def test_graph_has_one_node_per_op_and_named_leaves(backend_name, xp):
    model, x, target = _mlp_loss(backend_name)
    loss = F.mse_loss(model(x), target)
    g = graph(loss, params=model)
    assert len(g.ops) == len(_functions(loss))
    names = {node.name for node in g.leaves}
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "x"} <= names
    weight = next(node for node in g.nodes if node.name == "0.weight")
    assert weight.shape == (3, 4) and weight.requires_grad and weight.backend == backend_name
    assert g.nodes[-1].op == "SquaredError" and g.nodes[-1].shape == ()
    for source, target_id in g.edges:  # topological: inputs come first
        assert source < target_id
    x_node = next(node for node in g.nodes if node.name == "x")
    first_layer = next(node for node in g.ops if x_node.id in node.args)
    assert weight.id in first_layer.args  # z^1 = x W^1 + b^1 uses both
    listing = str(g)
    assert f"{first_layer.op}(%{x_node.id}, %{weight.id}" in listing
    assert "0.weight  [requires_grad]" in listing


def test_to_dot_is_valid_dot(backend_name, xp):
    model, x, target = _mlp_loss(backend_name)
    loss = F.mse_loss(model(x), target)
    g = graph(loss, params=dict(model.named_parameters()))
    dot = g.to_dot()
    assert dot.startswith("digraph") and dot.count("{") == dot.count("}") == 1
    declared = re.findall(r"^\s*(n\d+) \[label=\"([^\"]*)\"", dot, flags=re.M)
    assert len(declared) == len(g.nodes)
    declared_ids = {node_id for node_id, _ in declared}
    edges = re.findall(r"^\s*(n\d+) -> (n\d+);$", dot, flags=re.M)
    assert len(edges) == len(g.edges) > 0
    assert all(a in declared_ids and b in declared_ids for a, b in edges)
    labels = [label.split("\\n")[0] for _, label in declared]
    op_names = [fn.name for fn in _functions(loss)]
    assert sorted(label for label in labels if label in op_names) == sorted(op_names)
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= set(labels)
    try:  # a real DOT parser where one is installed (the graphviz package has none)
        import pydot
    except ImportError:
        return
    (parsed,) = pydot.graph_from_dot_data(dot)
    assert len(parsed.get_edges()) == len(g.edges)


def _png_size(path) -> tuple:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_render_with_matplotlib_writes_a_png(tmp_path):
    model, x, target = _mlp_loss("numpy")
    path = graph(F.mse_loss(model(x), target), params=model).render(
        tmp_path / "mlp.png", engine="matplotlib"
    )
    width, height = _png_size(path)
    assert width >= 200 and height >= 400 and path.stat().st_size > 10_000


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_render_with_dot_writes_a_png(tmp_path):
    model, x, target = _mlp_loss("numpy")
    path = graph(F.mse_loss(model(x), target), params=model).render(tmp_path / "mlp.png")
    width, height = _png_size(path)
    assert width > 50 and height > 50


def test_render_rejects_unknown_formats_and_engines(tmp_path):
    g = graph(tg.tensor([1.0], requires_grad=True) * 2)
    with pytest.raises(ValueError, match="png or .svg"):
        g.render(tmp_path / "graph.jpg")
    with pytest.raises(ValueError, match="engine"):
        g.render(tmp_path / "graph.png", engine="tikz")


def test_graph_after_backward_has_only_the_output():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    assert len(graph(y).nodes) == 3
    y.backward()  # frees the graph
    freed = graph(y)
    assert [node.op for node in freed.nodes] == ["Sum"] and freed.freed
    assert str(freed).startswith("this graph was freed by backward(); print it before")
    assert "retain_graph=True" in str(freed)
    with pytest.raises(RuntimeError, match="freed by backward"):
        freed.to_dot()


def test_graph_listing_shows_raw_arrays_as_constants_and_hides_sequence():
    """``model(X / 16)`` feeds a raw array: one short ``const`` entry, not its values."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10))
    images = np.linspace(0, 16, 8 * 64).reshape(8, 64)
    loss = F.cross_entropy(model(images / 16), np.arange(8))
    g = graph(loss, params=model)
    listing = str(g).splitlines()
    assert len(listing) == len(g.nodes)
    assert "Linear(const (8, 64) float64, %0, %1)" in listing[2]
    assert "array(" not in str(g) and "sequence=" not in str(g)
    assert max(len(line) for line in listing) < 80
    assert f"sequence={g.nodes[2].attrs['sequence']})" in g.listing(sequence=True)
    assert g.nodes[2].attrs["sequence"] >= 0  # still there as data


def test_graph_column_is_sized_to_the_content():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    lines = str(graph((x * x).sum(), params={"x": x})).splitlines()
    assert lines[0] == "%0 = x  [requires_grad]                  (2,) float32"
    assert lines[2] == "%2 = Sum(%1, axis=(0,), keepdims=False)  () float32"


def test_graph_and_tracer_draw_themselves_in_a_notebook():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    svg = graph(y, params={"x": x})._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.rstrip().endswith("</svg>")
    with trace_backward() as tr:
        y.backward()
    table = tr._repr_html_()
    assert table.startswith("<table>") and table.count("<tr>") == 1 + len(tr.steps) == 3
    assert "<td>Mul</td>" in table and "|dL/d output|" in table


# ------------------------------------------------------------------ tracer
def test_tracer_records_each_node_with_gradient_norms_and_summed_axes(backend_name, xp):
    a = make_input((4, 3), backend_name)
    b = make_input((3,), backend_name, seed=1)
    with trace_backward() as tr:
        out = ((a + b) * 2.0).sum()
        out.backward()
    assert [step.op for step in tr.steps] == ["Sum", "Mul", "Add"]
    add = tr.steps[2]
    assert add.output_shape == (4, 3)
    np.testing.assert_allclose(add.grad_out_norm, np.sqrt(12 * 4.0), rtol=1e-12)
    into_a, into_b = add.inputs
    assert into_a.summed_axes == () and into_a.shape == (4, 3)
    assert into_b.summed_axes == (0,) and into_b.shape == (3,)
    np.testing.assert_allclose(into_b.norm, np.linalg.norm(b.grad.numpy()), rtol=1e-12)
    table = str(tr)
    assert "summed axes (0,)" in table and len(table.splitlines()) == 4
    assert thread_mode.tracer is None


def test_tracer_is_switched_off_after_an_exception():
    with pytest.raises(KeyError), trace_backward():
        raise KeyError("inside the block")
    assert thread_mode.tracer is None


def test_watch_keeps_the_gradient_of_an_intermediate_tensor():
    x = tg.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    with trace_backward() as tr:
        h = x * x
        tr.watch(h, "h")
        (h * 3.0).sum().backward()
    np.testing.assert_array_equal(tr.watched["h"].numpy(), [3.0, 3.0, 3.0])
    assert any(step.name == "h" for step in tr.steps)
    assert not h._hooks  # removed when the block ended


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_layer_deltas_equal_the_lecture_equations(backend_name, xp):
    """delta^L = f'(z^L) * dC/da^L and delta^l = (delta^{l+1} W^{l+1 T}) * f'(z^l)."""
    model, x, target = _mlp_loss(backend_name, sizes=(4, 6, 5, 3), batch=7)
    with trace_backward() as tr:
        assert tr.watch_layers(model) == ["z1", "z2", "z3"]
        loss = F.mse_loss(model(x), target)
        loss.backward()
    deltas = [delta.numpy() for delta in tr.layer_deltas()]

    weights = [layer.weight.numpy() for layer in model if isinstance(layer, nn.Linear)]
    biases = [layer.bias.numpy() for layer in model if isinstance(layer, nn.Linear)]
    activation, zs = x.numpy(), []
    for W, b in zip(weights, biases, strict=True):
        zs.append(activation @ W + b)
        activation = _sigmoid(zs[-1])
    y = target.numpy()
    derivative = [_sigmoid(z) * (1 - _sigmoid(z)) for z in zs]  # f'(z) for the sigmoid
    expected = [None] * 3
    expected[2] = derivative[2] * 2 * (activation - y) / y.size  # dC/da^L of the mean squared error
    for layer in (1, 0):
        expected[layer] = (expected[layer + 1] @ weights[layer + 1].T) * derivative[layer]
    for number, (got, want) in enumerate(zip(deltas, expected, strict=True), start=1):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-16, err_msg=f"delta^{number}")
    # the weight gradients follow: dC/dW^l = a^{l-1 T} delta^l
    np.testing.assert_allclose(model[0].weight.grad.numpy(), x.numpy().T @ expected[0], atol=1e-12)
    assert all(not layer._forward_hooks for layer in model)


def test_layer_deltas_need_watch_layers_and_a_backward_pass():
    model, x, target = _mlp_loss("numpy")
    with trace_backward() as tr:
        with pytest.raises(RuntimeError, match="watch_layers"):
            tr.layer_deltas()
        tr.watch_layers(model)
        model(x)
        with pytest.raises(RuntimeError, match="z1, z2"):
            tr.layer_deltas()
    with pytest.raises(ValueError, match="no nn.Linear"):
        trace_backward().watch_layers(nn.Sigmoid())


# ------------------------------------------------------------------ hooks
def test_a_hook_that_doubles_a_gradient_doubles_the_leaf_gradient(backend_name, xp):
    x = make_input((3,), backend_name)

    def leaf_gradient(double: bool):
        x.grad = None
        hidden = x.sin() * 3.0
        handle = hidden.register_hook(lambda g: g * 2.0) if double else None
        (hidden * hidden).sum().backward()
        return x.grad.numpy().copy(), handle

    plain, _ = leaf_gradient(double=False)
    doubled, handle = leaf_gradient(double=True)
    np.testing.assert_allclose(doubled, 2 * plain, rtol=1e-14)
    leaf_handle = x.register_hook(lambda g: g * 2.0)
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy(), rtol=1e-14)
    leaf_handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy(), rtol=1e-14)
    handle.remove()
    assert not x._hooks


# ------------------------------------------------------------------ anomalies
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_log_of_a_negative_number_in_forward(backend_name, xp):
    x = tg.tensor([1.0, -2.0], dtype="float64", backend=backend_name, requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        doubled = x * 2.0
        line = _current_line() + 1
        logged = doubled.log()
        logged.exp().sum()
    message = str(info.value)
    assert message.startswith("Log produced non-finite values (1 NaN of 2 entries)")
    assert f"test_inspect.py:{line}" in message
    assert "range [-4, 2]" in message
    assert ProcessMode.anomaly is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_zero_over_zero_in_the_backward_of_sqrt(backend_name, xp):
    x = tg.tensor([0.0, 4.0], dtype="float64", backend=backend_name, requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        line = _current_line() + 1
        root = x.sqrt()
        total = root.sum()
        np.testing.assert_array_equal(root.numpy(), [0.0, 2.0])  # the forward is fine
        total.backward()
    message = str(info.value)
    assert message.startswith("the backward of Sqrt produced non-finite values (1 Inf of 2")
    assert f"test_inspect.py:{line}" in message
    assert "range [0, 4]" in message
    assert x.grad is None and ProcessMode.anomaly is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_overflow_of_exp(backend_name, xp):
    x = tg.tensor([1.0, 800.0], dtype="float64", backend=backend_name, requires_grad=True)
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        scaled = x * 1.0
        line = _current_line() + 1
        scaled.exp()
    message = str(info.value)
    assert message.startswith("Exp produced non-finite values (1 Inf of 2 entries)")
    assert f"test_inspect.py:{line}" in message and "range [1, 800]" in message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_detection_is_off_outside_the_block():
    x = tg.tensor([-1.0], dtype="float64", requires_grad=True)
    logged = x.log()  # NaN, silently
    assert np.isnan(logged.item()) and not hasattr(logged.grad_fn, "created_at")
    assert ProcessMode.anomaly is None


def test_anomaly_decorator_restores_the_mode_after_recursion():
    @detect_anomaly()
    def depth(n):
        assert ProcessMode.anomaly is not None
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and ProcessMode.anomaly is None


def test_anomaly_passes_values_that_were_already_non_finite():
    scores = tg.tensor([[1.0, 2.0, 3.0]], dtype="float64", requires_grad=True)
    mask = tg.tensor([[0.0, -np.inf, 0.0]], dtype="float64")  # data, not a failure
    with detect_anomaly():
        probabilities = (scores + mask).softmax()
        probabilities[0, 0].backward()
    assert probabilities.numpy()[0, 1] == 0 and np.isfinite(scores.grad.numpy()).all()


def test_anomaly_mode_gives_the_same_gradients_on_a_clean_graph(backend_name, xp):
    model, x, target = _mlp_loss(backend_name)
    F.mse_loss(model(x), target).backward()
    expected = model[0].weight.grad.numpy().copy()
    model.zero_grad()
    with detect_anomaly():
        F.mse_loss(model(x), target).backward()
    np.testing.assert_array_equal(model[0].weight.grad.numpy(), expected)
