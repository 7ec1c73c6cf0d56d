"""Test helpers: inputs on a backend, and gradient checks along random directions."""

import numpy as np

import tinygrad_edu as tg


def make_input(shape, backend, domain="real", seed=0, requires_grad=True):
    """A float64 tensor on ``backend`` whose values suit the op's domain.

    ``real``: normal values; ``away``: |x| in [0.2, 2] with random sign (away
    from the kinks of abs, relu, clip, max); ``positive``: in [0.5, 2]; ``zeros``:
    normal values with every third entry (flat positions 1, 4, 7, ...) exactly 0.
    """
    rng = np.random.default_rng(seed)
    if domain == "positive":
        values = rng.uniform(0.5, 2.0, shape)
    elif domain == "away":
        values = rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    else:
        values = rng.standard_normal(shape)
    if domain == "zeros":
        values = np.where(np.arange(values.size).reshape(shape) % 3 == 1, 0.0, values)
    return tg.tensor(
        np.asarray(values, dtype=np.float64), backend=backend, requires_grad=requires_grad
    )


def directional_check(fn, inputs, eps=1e-6, rtol=1e-6, atol=1e-8, directions=2, seed=1):
    """Check analytic gradients against central differences along random directions.

    For ``L = sum(fn(*inputs) * w)`` and random unit-scale directions ``v``:
    ``(L(x + eps v) - L(x - eps v)) / (2 eps)`` must equal ``sum(dL/dx * v)``.
    """
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    weight = tg.tensor(rng.standard_normal(out.shape), backend=out.xp)
    loss = (out * weight).sum()
    tracked = [t for t in inputs if t.requires_grad]
    grads = tg.grad(loss, tracked, allow_unused=True)
    for t, g in zip(tracked, grads):
        g_host = np.zeros(t.shape) if g is None else g.numpy()
        assert g_host.shape == t.shape
        original = t.data
        for _ in range(directions):
            v = rng.standard_normal(t.shape)
            with tg.no_grad():
                t.data = t.xp.asarray(original + t.xp.asarray(eps * v))
                plus = (fn(*inputs) * weight).sum().item()
                t.data = t.xp.asarray(original - t.xp.asarray(eps * v))
                minus = (fn(*inputs) * weight).sum().item()
            t.data = original
            numeric = (plus - minus) / (2 * eps)
            analytic = float(np.sum(g_host * v))
            assert abs(analytic - numeric) <= atol + rtol * abs(numeric) + 1e-7 * (
                1 + abs(numeric)
            ), f"directional derivative: analytic {analytic} vs numerical {numeric}"
    return out


def op_names(tensor) -> set:
    """The names of every Function in the graph that produced ``tensor``."""
    names, stack, seen = set(), [tensor], set()
    while stack:
        t = stack.pop()
        if not isinstance(t, tg.Tensor) or id(t) in seen or t.grad_fn is None:
            continue
        seen.add(id(t))
        names.add(t.grad_fn.name)
        stack.extend(t.grad_fn.parents)
    return names


def training_step(model, opt, loss_fn):
    """The plain step the compile tests capture: zero_grad, loss, backward, step; the loss."""

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step
