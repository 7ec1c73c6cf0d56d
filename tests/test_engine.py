"""The engine apart from the ops: graph order, accumulation, freeing, modes, errors."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd

from .helpers import make_input


@pytest.fixture(autouse=True, params=["fast path", "reference loop"])
def engine_path(request, monkeypatch):
    """Every engine test runs twice: through plain_backward and through the reference loop."""
    monkeypatch.setattr(autograd, "FAST_PATH", request.param == "fast path")
    return request.param


def test_diamond_and_reuse_accumulate(backend_name, xp):
    x = make_input((3,), backend_name)
    a = x * 2
    y = (a * a + a.exp() + x).sum()  # x reaches y along three paths
    y.backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 8 * xv + 2 * np.exp(2 * xv) + 1, rtol=1e-12)


def test_gradients_accumulate_over_two_backward_calls(backend_name, xp):
    x = make_input((4,), backend_name)
    (x * x).sum().backward()
    first = x.grad.numpy().copy()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), first + 3)


def test_second_backward_on_freed_graph_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(
        x.grad.numpy(), 2 * (np.exp([1, 2]) * (1 + np.array([1, 2]))), rtol=1e-6
    )


def test_backward_on_non_scalar_needs_a_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(gradient=tg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_no_grad_records_nothing_and_works_as_decorator():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2 + 1
    assert not y.requires_grad and y.grad_fn is None

    @tg.no_grad()
    def double(t):
        return t * 2

    z = double(x)
    assert not z.requires_grad and z.grad_fn is None
    assert tg.is_grad_enabled()
    with tg.no_grad(), tg.enable_grad():
        assert (x * 2).requires_grad


def test_plain_backward_records_nothing():
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    (x.tanh() ** 2).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_second_derivatives_of_tanh_cubed_are_analytic(backend_name, xp):
    """d/dx sum(tanh(x)^3) = 3 t^2 (1 - t^2); d2/dx2 = 6 t (1 - t^2)^2 - 6 t^3 (1 - t^2)."""
    x = make_input((5,), backend_name)
    (g,) = tg.grad((x.tanh() ** 3).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)  # the Hessian is diagonal: its diagonal
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(g.numpy(), 3 * t**2 * (1 - t**2), rtol=1e-12)
    np.testing.assert_allclose(
        h.numpy(), 6 * t * (1 - t**2) ** 2 - 6 * t**3 * (1 - t**2), rtol=1e-12
    )


def test_hessian_vector_product_equals_finite_difference_of_gradients():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    v = rng.standard_normal((4, 3))
    x = tg.tensor(rng.standard_normal((8, 4)))

    def loss(w):
        return ((x @ w).tanh() ** 2).sum() + (w * w * w).sum()

    w = tg.tensor(w0, requires_grad=True)
    (g,) = tg.grad(loss(w), w, create_graph=True)
    (hv,) = tg.grad((g * tg.tensor(v)).sum(), w)

    def gradient_at(values):
        wt = tg.tensor(values, requires_grad=True)
        return tg.grad(loss(wt), wt)[0].numpy()

    eps = 1e-6
    numeric = (gradient_at(w0 + eps * v) - gradient_at(w0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_100k_op_chain_has_no_recursion_error_and_graph_is_freed():
    x = tg.tensor([0.5], dtype="float64", requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.00001
        y = y + 0.0
    middle = weakref.ref(y.grad_fn.parents[0])  # an intermediate kept alive only by the graph
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.00001**50_000], rtol=1e-9)
    gc.collect()
    assert middle() is None, "the graph was not released after backward()"


def test_grad_does_not_touch_dot_grad_and_reports_unused():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    unused = tg.tensor([3.0], requires_grad=True)
    (g,) = tg.grad((x * x).sum(), x)
    assert x.grad is None and g.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad((x * x).sum(), [x, unused])
    g_x, g_unused = tg.grad((x * x).sum(), [x, unused], allow_unused=True)
    assert g_unused is None


def test_grad_of_intermediate_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (g,) = tg.grad((h * h).sum(), h)
    assert g.tolist() == [6.0, 12.0]


def test_float32_parameter_with_float64_input_gets_float32_gradient():
    w = tg.tensor([[1.0, 2.0]], requires_grad=True)  # float32 by default
    x = tg.tensor(np.array([[0.5], [1.5]]))  # float64 array keeps its dtype
    y = x @ w
    assert y.dtype == np.float64  # promotion, never a silent downcast
    y.sum().backward()
    assert w.grad.dtype == np.float32


def test_default_dtype_and_python_data():
    assert tg.tensor([1, 2]).dtype == np.float32
    assert tg.tensor([True, False]).dtype == np.bool_
    tg.set_default_dtype("float64")
    assert tg.tensor(1.5).dtype == np.float64
    assert tg.tensor(np.arange(3)).dtype == np.arange(3).dtype  # arrays keep their dtype


def test_same_seed_same_numbers_on_every_backend():
    values = {}
    for name in ("numpy", "array_api_strict"):
        tg.manual_seed(42)
        values[name] = (tg.randn(3, 4, backend=name).numpy(), tg.rand(5, backend=name).numpy())
    np.testing.assert_array_equal(values["numpy"][0], values["array_api_strict"][0])
    np.testing.assert_array_equal(values["numpy"][1], values["array_api_strict"][1])


def test_creation_functions(backend_name, xp):
    assert tg.zeros(2, 3, backend=backend_name).shape == (2, 3)
    assert tg.ones((4,), backend=backend_name).numpy().sum() == 4
    assert tg.full((2,), 7.0, backend=backend_name).tolist() == [7.0, 7.0]
    assert tg.eye(3, backend=backend_name).numpy().trace() == 3
    assert tg.arange(4, backend=backend_name).tolist() == [0, 1, 2, 3]
    assert tg.arange(0.0, 1.0, 0.5, backend=backend_name).tolist() == [0.0, 0.5]
    t = tg.randn(2, backend=backend_name, requires_grad=True)
    assert tg.zeros_like(t).shape == (2,) and tg.ones_like(t).tolist() == [1.0, 1.0]
    assert t.requires_grad and t.backend == backend_name


def test_conversions(backend_name, xp):
    t = tg.tensor([[1.0, 2.0]], backend=backend_name, requires_grad=True)
    assert t.item if t.size > 1 else True
    assert t.tolist() == [[1.0, 2.0]] and t.ndim == 2 and t.size == 2
    assert isinstance(t.numpy(), np.ndarray)
    d = t.detach()
    assert not d.requires_grad and d.grad_fn is None
    moved = t.to(backend="numpy")
    assert moved.backend == "numpy" and moved.requires_grad
    moved.sum().backward()
    assert t.grad.backend == backend_name and t.grad.tolist() == [[1.0, 1.0]]
    assert "Tensor(" in repr(t)
    with pytest.raises(ValueError, match="one element"):
        t.item()


# ------------------------------------------------------------------ errors
def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 6\)"):
        tg.zeros(3, 4) @ tg.zeros(5, 6)


def test_broadcast_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        tg.zeros(2, 3).broadcast_to((4, 5))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        tg.zeros(2, 3) + tg.zeros(4)


def test_mixing_backends_names_both_and_suggests_to():
    a = tg.zeros(3, backend="numpy")
    b = tg.zeros(3, backend="array_api_strict")
    with pytest.raises(ValueError, match=r"array_api_strict.*numpy.*\.to\("):
        a + b


def test_requires_grad_on_integer_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="floating"):
        tg.tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        tg.tensor([True, False], requires_grad=True)


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match="numpy.*cupy.*array_api_strict.*torch.*jax.*dask"):
        tg.zeros(2, backend="tensorflow")


def test_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 3"):
        tg.zeros(2, 3).sum(axis=3)


def test_hooks_see_and_replace_the_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()) or g * 2)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [6.0, 6.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_old_one_argument_backward_is_refused_with_a_pointer():
    with pytest.raises(TypeError, match=r"backward\(self, F, g, inputs, out\)"):

        class OldStyle(tg.Function):
            def forward(self, xp, x):
                return x

            def backward(self, grad_out):
                return (grad_out,)


def test_fast_path_and_reference_agree_on_a_training_step(backend_name, xp):
    """An MLP step's gradients are the same bit for bit through both loops."""
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(5, 7), tg.nn.Tanh(), tg.nn.Linear(7, 3))
    model.to(backend=backend_name)
    x = tg.randn(4, 5, backend=backend_name)
    y = tg.tensor([0, 2, 1, 2], backend=backend_name, dtype="int64")
    grads = {}
    for fast in (True, False):
        autograd.FAST_PATH = fast
        model.zero_grad()
        tg.nn.functional.cross_entropy(model(x), y).backward()
        grads[fast] = [p.grad.numpy().copy() for p in model.parameters()]
    for fast_grad, reference_grad in zip(grads[True], grads[False]):
        np.testing.assert_array_equal(fast_grad, reference_grad)


def test_backward_signatures_are_checked_by_what_they_can_take():
    class TakesAnything(tg.Function):  # *args can take (F, g, inputs, out)
        def forward(self, xp, x):
            return x

        def backward(self, *args):
            return (args[1],)

    with pytest.raises(TypeError, match="cannot take the rule signature"):

        class TooFew(tg.Function):
            def forward(self, xp, x):
                return x

            def backward(self, F, g):
                return (g,)


def test_a_user_op_named_like_a_builtin_does_not_replace_it_in_recorded_backward():
    class Softmax(tg.Function):  # the user's own op, with a built-in's name
        def forward(self, xp, x):
            return x

        def backward(self, F, g, inputs, out):
            return (g,)

    x = tg.tensor([[1.0, 2.0, 0.5]], dtype="float64", requires_grad=True)
    loss = tg.nn.functional.cross_entropy(x, tg.tensor([1], dtype="int64"))
    (grad,) = tg.grad(loss, x, create_graph=True)  # records the built-in softmax
    grad.sum().backward()
    assert x.grad is not None


def test_anomaly_detection_ignores_gradients_nobody_receives():
    class Scale(tg.Function):
        def forward(self, xp, x, factor):
            return x * factor

        def backward(self, F, g, inputs, out):
            x, factor = inputs
            return g * factor, g * x / 0.0  # the factor's gradient is thrown away

    x = tg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    factor = tg.tensor([3.0, 4.0], dtype="float64")
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        Scale.apply(x, factor).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
