"""The table of op cases: every differentiable operation of the contract.

Each case gives the tinygrad_edu expression, the input shapes and domains, a
NumPy reference for the forward value and the same expression in PyTorch. The
table covers 0-d, 1-d and 3-d shapes, broadcasting on either side, every axis
form (None, int, negative int, tuple) and keepdims both ways.
"""

from dataclasses import dataclass, field

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import fused, ops_rnn


def _targets(z):
    return tg.tensor([0, 2, 1, 2], dtype="int64", backend=z.xp)


def _torch_ce(z, reduction):
    import torch

    return torch.nn.functional.cross_entropy(z, torch.tensor([0, 2, 1, 2]), reduction=reduction)


@dataclass
class OpCase:
    name: str
    fn: object  # (*tensors) -> Tensor, tinygrad_edu
    shapes: tuple
    ref: object = None  # (*numpy arrays) -> numpy array
    torch_fn: object = None  # (*torch tensors) -> torch tensor
    domains: tuple = ()
    strict: bool = True  # expected to run on array_api_strict
    params: dict = field(default_factory=dict)

    def domain(self, i):
        return self.domains[i] if i < len(self.domains) else "real"


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis) if axis is not None else y.reshape(())


def _torch_axis(axis):
    return tuple(range(0)) if axis == () else axis


SHAPES_1 = [(), (5,), (2, 3, 4)]

UNARY = {
    # name: (ours, numpy, torch, domain)
    "neg": (lambda x: -x, lambda x: -x, lambda x: -x, "real"),
    "exp": (lambda x: x.exp(), np.exp, lambda x: x.exp(), "real"),
    "log": (lambda x: x.log(), np.log, lambda x: x.log(), "positive"),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, lambda x: x.sqrt(), "positive"),
    "abs": (lambda x: x.abs(), np.abs, lambda x: x.abs(), "away"),
    "sin": (lambda x: x.sin(), np.sin, lambda x: x.sin(), "real"),
    "cos": (lambda x: x.cos(), np.cos, lambda x: x.cos(), "real"),
    "tanh": (lambda x: x.tanh(), np.tanh, lambda x: x.tanh(), "real"),
    "sigmoid": (lambda x: x.sigmoid(), _np_sigmoid, lambda x: x.sigmoid(), "real"),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), lambda x: x.relu(), "away"),
    "softplus": (
        lambda x: x.softplus(),
        lambda x: np.log1p(np.exp(x)),
        lambda x: __import__("torch").nn.functional.softplus(x),
        "real",
    ),
    "leaky_relu": (
        lambda x: x.leaky_relu(),
        lambda x: np.where(x > 0, x, 0.01 * x),
        lambda x: __import__("torch").nn.functional.leaky_relu(x),
        "away",
    ),
    "leaky_relu_0.2": (
        lambda x: tg.leaky_relu(x, negative_slope=0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        lambda x: __import__("torch").nn.functional.leaky_relu(x, 0.2),
        "away",
    ),
    "elu": (
        lambda x: x.elu(),
        lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
        lambda x: __import__("torch").nn.functional.elu(x),
        "away",
    ),
    "elu_alpha": (
        lambda x: tg.elu(x, alpha=0.5),
        lambda x: np.where(x > 0, x, 0.5 * (np.exp(np.minimum(x, 0)) - 1)),
        lambda x: __import__("torch").nn.functional.elu(x, 0.5),
        "away",
    ),
    "gelu": (
        lambda x: x.gelu(),
        None,
        lambda x: __import__("torch").nn.functional.gelu(x),
        "real",
    ),
    "clip": (
        lambda x: x.clip(-0.5, 0.7),
        lambda x: np.clip(x, -0.5, 0.7),
        lambda x: x.clamp(-0.5, 0.7),
        "away",
    ),
    "clip_min_only": (
        lambda x: x.clip(min=0.3),
        lambda x: np.clip(x, 0.3, None),
        lambda x: x.clamp(min=0.3),
        "away",
    ),
    "astype": (
        lambda x: x.astype("float64") * 2,
        lambda x: x.astype(np.float64) * 2,
        lambda x: x.double() * 2,
        "real",
    ),
    "softmax": (
        lambda x: x.softmax(axis=-1) if x.ndim else x.softmax(axis=-1),
        None,
        lambda x: x.softmax(dim=-1),
        "real",
    ),
    "log_softmax": (
        lambda x: x.log_softmax(axis=-1),
        None,
        lambda x: x.log_softmax(dim=-1),
        "real",
    ),
}

BINARY = {
    # name: (ours, numpy, torch, domains)
    "add": (lambda a, b: a + b, np.add, lambda a, b: a + b, ("real", "real")),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: a - b, ("real", "real")),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: a * b, ("real", "real")),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: a / b, ("real", "away")),
    "pow": (lambda a, b: a**b, np.power, lambda a, b: a**b, ("positive", "real")),
    "maximum": (
        tg.maximum,
        np.maximum,
        lambda a, b: __import__("torch").maximum(a, b),
        ("real", "real"),
    ),
    "minimum": (
        tg.minimum,
        np.minimum,
        lambda a, b: __import__("torch").minimum(a, b),
        ("real", "real"),
    ),
    "where": (
        lambda a, b: tg.where(a > b, a, b * 2),
        lambda a, b: np.where(a > b, a, b * 2),
        lambda a, b: __import__("torch").where(a > b, a, b * 2),
        ("real", "real"),
    ),
}

BROADCAST_PAIRS = [
    ((), ()),
    ((), (5,)),
    ((5,), ()),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((2, 1, 4), (3, 1)),
    ((1, 3, 1), (2, 3, 4)),
    ((), (2, 3, 4)),
]

SCALAR_FORMS = {
    "add_scalar": (lambda x: x + 1.5, lambda x: x + 1.5, lambda x: x + 1.5, "real"),
    "radd_scalar": (lambda x: 1.5 + x, lambda x: 1.5 + x, lambda x: 1.5 + x, "real"),
    "rsub_scalar": (lambda x: 2 - x, lambda x: 2 - x, lambda x: 2 - x, "real"),
    "rmul_scalar": (lambda x: 3 * x, lambda x: 3 * x, lambda x: 3 * x, "real"),
    "rdiv_scalar": (lambda x: 2.0 / x, lambda x: 2.0 / x, lambda x: 2.0 / x, "away"),
    "pow_scalar": (lambda x: x**3, lambda x: x**3, lambda x: x**3, "real"),
    "pow_half": (lambda x: x**0.5, np.sqrt, lambda x: x**0.5, "positive"),
    "pow_zero": (lambda x: x**0, lambda x: x**0, lambda x: x**0, "real"),
    "rpow_scalar": (lambda x: 2.0**x, lambda x: 2.0**x, lambda x: 2.0**x, "real"),
    "maximum_scalar": (
        lambda x: tg.maximum(x, 0.1),
        lambda x: np.maximum(x, 0.1),
        lambda x: x.clamp(min=0.1),
        "away",
    ),
    "where_scalar": (
        lambda x: tg.where(x > 0, x, 0.0),
        lambda x: np.where(x > 0, x, 0.0),
        lambda x: __import__("torch").where(x > 0, x, 0.0),
        "away",
    ),
}

AXES = [None, 0, -1, 1, (0, 2), (-1, 0)]

REDUCTIONS = {
    # name: (ours(x, axis, keepdims), numpy, torch, domain)
    "sum": (
        lambda x, a, k: x.sum(axis=a, keepdims=k),
        lambda x, a, k: np.sum(x, axis=a, keepdims=k),
        lambda x, a, k: (
            x.sum(dim=a, keepdim=k)
            if a is not None
            else (x.sum().reshape([1] * x.ndim) if k else x.sum())
        ),
        "real",
    ),
    "mean": (
        lambda x, a, k: x.mean(axis=a, keepdims=k),
        lambda x, a, k: np.mean(x, axis=a, keepdims=k),
        lambda x, a, k: (
            x.mean(dim=a, keepdim=k)
            if a is not None
            else (x.mean().reshape([1] * x.ndim) if k else x.mean())
        ),
        "real",
    ),
    "max": (
        lambda x, a, k: x.max(axis=a, keepdims=k),
        lambda x, a, k: np.max(x, axis=a, keepdims=k),
        lambda x, a, k: x.amax(dim=a if a is not None else tuple(range(x.ndim)), keepdim=k),
        "real",
    ),
    "min": (
        lambda x, a, k: x.min(axis=a, keepdims=k),
        lambda x, a, k: np.min(x, axis=a, keepdims=k),
        lambda x, a, k: x.amin(dim=a if a is not None else tuple(range(x.ndim)), keepdim=k),
        "real",
    ),
    "logsumexp": (
        lambda x, a, k: x.logsumexp(axis=a, keepdims=k),
        _np_logsumexp,
        lambda x, a, k: x.logsumexp(dim=a if a is not None else tuple(range(x.ndim)), keepdim=k),
        "real",
    ),
    "var": (
        lambda x, a, k: x.var(axis=a, keepdims=k),
        lambda x, a, k: np.var(x, axis=a, keepdims=k),
        lambda x, a, k: x.var(dim=a, keepdim=k, correction=0),
        "real",
    ),
    "var_unbiased": (
        lambda x, a, k: x.var(axis=a, correction=1, keepdims=k),
        lambda x, a, k: np.var(x, axis=a, ddof=1, keepdims=k),
        lambda x, a, k: x.var(dim=a, keepdim=k, correction=1),
        "real",
    ),
    "std": (
        lambda x, a, k: x.std(axis=a, keepdims=k),
        lambda x, a, k: np.std(x, axis=a, keepdims=k),
        lambda x, a, k: x.std(dim=a, keepdim=k, correction=0),
        "real",
    ),
}

SHAPE_OPS = [
    # name, ours, shapes, numpy, torch
    (
        "reshape",
        lambda x: x.reshape(4, 6),
        [(2, 3, 4)],
        lambda x: x.reshape(4, 6),
        lambda x: x.reshape(4, 6),
    ),
    (
        "reshape_tuple_neg",
        lambda x: x.reshape((-1, 2)),
        [(2, 3, 4)],
        lambda x: x.reshape(-1, 2),
        lambda x: x.reshape(-1, 2),
    ),
    (
        "reshape_0d",
        lambda x: x.reshape(1, 1),
        [()],
        lambda x: x.reshape(1, 1),
        lambda x: x.reshape(1, 1),
    ),
    (
        "transpose_reverse",
        lambda x: x.transpose(),
        [(2, 3, 4)],
        lambda x: x.transpose(),
        lambda x: x.permute(2, 1, 0),
    ),
    (
        "transpose_axes",
        lambda x: x.transpose(1, 0, 2),
        [(2, 3, 4)],
        lambda x: x.transpose(1, 0, 2),
        lambda x: x.permute(1, 0, 2),
    ),
    ("T", lambda x: x.T, [(3, 4)], lambda x: x.T, lambda x: x.T),
    ("flatten", lambda x: x.flatten(), [(2, 3, 4)], lambda x: x.reshape(-1), lambda x: x.flatten()),
    (
        "flatten_start",
        lambda x: x.flatten(1),
        [(2, 3, 4)],
        lambda x: x.reshape(2, -1),
        lambda x: x.flatten(1),
    ),
    (
        "squeeze",
        lambda x: x.squeeze(1),
        [(2, 1, 4)],
        lambda x: x.squeeze(1),
        lambda x: x.squeeze(1),
    ),
    (
        "squeeze_all",
        lambda x: x.squeeze(),
        [(1, 3, 1)],
        lambda x: x.squeeze(),
        lambda x: x.squeeze(),
    ),
    (
        "unsqueeze",
        lambda x: x.unsqueeze(-1),
        [(2, 3)],
        lambda x: x[..., None],
        lambda x: x.unsqueeze(-1),
    ),
    ("unsqueeze_0d", lambda x: x.unsqueeze(0), [()], lambda x: x[None], lambda x: x.unsqueeze(0)),
    (
        "broadcast_to",
        lambda x: x.broadcast_to((2, 3, 4)),
        [(3, 1)],
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        lambda x: x.broadcast_to((2, 3, 4)),
    ),
    (
        "broadcast_0d",
        lambda x: x.broadcast_to((2, 3)),
        [()],
        lambda x: np.broadcast_to(x, (2, 3)),
        lambda x: x.broadcast_to((2, 3)),
    ),
    ("index_int", lambda x: x[1], [(2, 3, 4)], lambda x: x[1], lambda x: x[1]),
    ("index_neg_int", lambda x: x[-1, 2], [(2, 3, 4)], lambda x: x[-1, 2], lambda x: x[-1, 2]),
    (
        "index_slices",
        lambda x: x[:, 1:, ::2],
        [(2, 3, 4)],
        lambda x: x[:, 1:, ::2],
        lambda x: x[:, 1:, ::2],
    ),
    (
        "index_none_ellipsis",
        lambda x: x[None, ..., 1],
        [(2, 3, 4)],
        lambda x: x[None, ..., 1],
        lambda x: x[None, ..., 1],
    ),
    (
        "index_int_array_repeats",
        lambda x: x[[0, 2, 2, 0]],
        [(3, 4)],
        lambda x: x[[0, 2, 2, 0]],
        lambda x: x[[0, 2, 2, 0]],
    ),
    (
        "index_array_axis1",
        lambda x: x[:, tg.tensor([3, 0, 3], dtype="int64", backend=x.xp)],
        [(3, 4)],
        lambda x: x[:, [3, 0, 3]],
        lambda x: x[:, [3, 0, 3]],
    ),
    (
        "index_pairs_gather",
        lambda x: x[
            tg.tensor([0, 1, 1, 2], dtype="int64", backend=x.xp),
            tg.tensor([3, 0, 0, 1], dtype="int64", backend=x.xp),
        ],
        [(3, 4)],
        lambda x: x[[0, 1, 1, 2], [3, 0, 0, 1]],
        lambda x: x[[0, 1, 1, 2], [3, 0, 0, 1]],
    ),
    ("index_bool_mask", lambda x: x[x > 0], [(3, 4)], lambda x: x[x > 0], lambda x: x[x > 0]),
    (
        "concat_axis0",
        lambda a, b: tg.concat([a, b]),
        [(2, 3), (4, 3)],
        lambda a, b: np.concatenate([a, b]),
        lambda a, b: __import__("torch").cat([a, b]),
    ),
    (
        "concat_neg_axis",
        lambda a, b: tg.concat([a, b, a], axis=-1),
        [(2, 3), (2, 1)],
        lambda a, b: np.concatenate([a, b, a], -1),
        lambda a, b: __import__("torch").cat([a, b, a], -1),
    ),
    (
        "stack",
        lambda a, b: tg.stack([a, b]),
        [(2, 3), (2, 3)],
        lambda a, b: np.stack([a, b]),
        lambda a, b: __import__("torch").stack([a, b]),
    ),
    (
        "stack_axis_last",
        lambda a, b: tg.stack([a, b, a], axis=-1),
        [(4,), (4,)],
        lambda a, b: np.stack([a, b, a], -1),
        lambda a, b: __import__("torch").stack([a, b, a], -1),
    ),
    (
        "stack_0d",
        lambda a, b: tg.stack([a, b]),
        [(), ()],
        lambda a, b: np.stack([a, b]),
        lambda a, b: __import__("torch").stack([a, b]),
    ),
    ("matmul_2d", lambda a, b: a @ b, [(3, 4), (4, 5)], np.matmul, lambda a, b: a @ b),
    ("matmul_vec_vec", lambda a, b: a @ b, [(4,), (4,)], np.matmul, lambda a, b: a @ b),
    ("matmul_vec_mat", lambda a, b: a @ b, [(4,), (4, 5)], np.matmul, lambda a, b: a @ b),
    ("matmul_mat_vec", lambda a, b: a @ b, [(3, 4), (4,)], np.matmul, lambda a, b: a @ b),
    ("matmul_batched", lambda a, b: a @ b, [(2, 3, 4), (2, 4, 5)], np.matmul, lambda a, b: a @ b),
    (
        "matmul_broadcast_left",
        lambda a, b: a @ b,
        [(3, 4), (2, 4, 5)],
        np.matmul,
        lambda a, b: a @ b,
    ),
    (
        "matmul_broadcast_right",
        lambda a, b: a @ b,
        [(2, 1, 3, 4), (3, 4, 5)],
        np.matmul,
        lambda a, b: a @ b,
    ),
    ("matmul_vec_batched", lambda a, b: a @ b, [(4,), (2, 4, 5)], np.matmul, lambda a, b: a @ b),
    ("matmul_batched_vec", lambda a, b: a @ b, [(2, 3, 4), (4,)], np.matmul, lambda a, b: a @ b),
    (
        "index_grad_of_grad",  # IndexAdd, the adjoint of Index, differentiated in turn
        lambda x: tg.grad((x[[0, 2, 2]] ** 3).sum(), x, create_graph=True)[0],
        [(3, 4)],
        lambda x: np.stack([3 * x[0] ** 2, 0 * x[1], 6 * x[2] ** 2]),
        lambda x: __import__("torch").autograd.grad(
            (x[[0, 2, 2]] ** 3).sum(), x, create_graph=True
        )[0],
    ),
    (
        "slice_grad_of_grad",
        lambda x: tg.grad((x[1:, ::2] ** 3).sum(), x, create_graph=True)[0],
        [(3, 4)],
        lambda x: np.where((np.arange(3)[:, None] >= 1) & (np.arange(4) % 2 == 0), 3 * x**2, 0),
        lambda x: __import__("torch").autograd.grad((x[1:, ::2] ** 3).sum(), x, create_graph=True)[
            0
        ],
    ),
    (
        "linear",
        lambda x, w, b: fused.linear(x, w, b),
        [(5, 3), (3, 4), (4,)],
        lambda x, w, b: x @ w + b,
        lambda x, w, b: x @ w + b,
    ),
    (
        "linear_batched",
        lambda x, w, b: fused.linear(x, w, b),
        [(2, 5, 3), (3, 4), (4,)],
        lambda x, w, b: x @ w + b,
        lambda x, w, b: x @ w + b,
    ),
    (
        "linear_vector",
        lambda x, w, b: fused.linear(x, w, b),
        [(3,), (3, 4), (4,)],
        lambda x, w, b: x @ w + b,
        lambda x, w, b: x @ w + b,
    ),
    (
        "linear_no_bias",
        lambda x, w: fused.linear(x, w),
        [(5, 3), (3, 4)],
        lambda x, w: x @ w,
        lambda x, w: x @ w,
    ),
    (
        "softmax_axis0",
        lambda x: x.softmax(axis=0),
        [(4, 3)],
        lambda x: np.exp(x) / np.exp(x).sum(0),
        lambda x: x.softmax(0),
    ),
    (
        "softmax_cross_entropy_mean",
        lambda z: fused.softmax_cross_entropy(z, _targets(z)),
        [(4, 3)],
        None,
        lambda z: _torch_ce(z, "mean"),
    ),
    (
        "softmax_cross_entropy_sum",
        lambda z: fused.softmax_cross_entropy(z, _targets(z), "sum"),
        [(4, 3)],
        None,
        lambda z: _torch_ce(z, "sum"),
    ),
    (
        "softmax_cross_entropy_none",
        lambda z: fused.softmax_cross_entropy(z, _targets(z), "none"),
        [(4, 3)],
        None,
        lambda z: _torch_ce(z, "none"),
    ),
    (
        "softmax_cross_entropy_equals_composite",
        lambda z: (
            fused.softmax_cross_entropy(z, _targets(z))
            - (-z.log_softmax(axis=1)[tg.arange(4, backend=z.xp), _targets(z)].mean())
            + z.sum() * 0
        ),
        [(4, 3)],
        lambda z: 0 * z.sum(),
        None,
    ),
    (
        "squared_error_mean",
        lambda p, t: fused.squared_error(p, t),
        [(4, 3), (4, 3)],
        lambda p, t: ((p - t) ** 2).mean(),
        lambda p, t: __import__("torch").nn.functional.mse_loss(p, t),
    ),
    (
        "squared_error_sum",
        lambda p, t: fused.squared_error(p, t, "sum"),
        [(2, 3, 4), (2, 3, 4)],
        lambda p, t: ((p - t) ** 2).sum(),
        lambda p, t: __import__("torch").nn.functional.mse_loss(p, t, reduction="sum"),
    ),
    (
        "squared_error_none",
        lambda p, t: fused.squared_error(p, t, "none"),
        [(5,), (5,)],
        lambda p, t: (p - t) ** 2,
        lambda p, t: __import__("torch").nn.functional.mse_loss(p, t, reduction="none"),
    ),
    (
        "squared_error_0d",
        lambda p, t: fused.squared_error(p, t),
        [(), ()],
        lambda p, t: (p - t) ** 2,
        lambda p, t: __import__("torch").nn.functional.mse_loss(p, t),
    ),
    (
        "squared_error_equals_composite",
        lambda p, t: fused.squared_error(p, t) - ((p - t) * (p - t)).mean() + p.sum() * 0,
        [(4, 3), (4, 3)],
        lambda p, t: 0 * p.sum(),
        None,
    ),
    (
        "move_roundtrip",
        lambda x: x.to(backend="numpy").to(backend=x.xp) * 2,
        [(2, 3)],
        lambda x: x * 2,
        lambda x: x * 2,
    ),
    ("gru_sequence", lambda p, h, w, b: ops_rnn.gru_sequence(p, h, w, b), [(3, 2, 6), (2, 2), (6, 2), (6,)], None, None),
    ("gru_sequence_reverse_equals_composite", lambda p, h, w: ops_rnn.gru_sequence(p, h, w, None, True) - ops_rnn.gru_recurrence(p, h, w, None, True) + p.sum() * 0, [(3, 2, 6), (2, 2), (6, 2)], lambda p, h, w: np.zeros((3, 2, 2)), None),
]


def build_cases():
    cases = []
    for name, (ours, ref, torch_fn, domain) in UNARY.items():
        for shape in SHAPES_1:
            if name in ("softmax", "log_softmax") and shape == ():
                continue
            cases.append(OpCase(f"{name}{shape}", ours, (shape,), ref, torch_fn, (domain,)))
    for name, (ours, ref, torch_fn, domains) in BINARY.items():
        for shapes in BROADCAST_PAIRS:
            cases.append(OpCase(f"{name}{shapes}", ours, shapes, ref, torch_fn, domains))
    for name, (ours, ref, torch_fn, domain) in SCALAR_FORMS.items():
        for shape in SHAPES_1:
            cases.append(OpCase(f"{name}{shape}", ours, (shape,), ref, torch_fn, (domain,)))
    for name, (ours, ref, torch_fn, domain) in REDUCTIONS.items():
        for axis in AXES:
            for keepdims in (False, True):
                cases.append(
                    OpCase(
                        f"{name}(axis={axis},keepdims={keepdims})",
                        lambda x, ours=ours, a=axis, k=keepdims: ours(x, a, k),
                        ((2, 3, 4),),
                        lambda x, ref=ref, a=axis, k=keepdims: ref(x, a, k),
                        lambda x, t=torch_fn, a=axis, k=keepdims: t(x, a, k),
                        (domain,),
                    )
                )
        for shape, axis in (((), None), ((), 0), ((5,), None), ((5,), 0), ((5,), -1)):
            if shape == () and name in ("var_unbiased", "std"):
                continue  # 0/0 and sqrt at 0: no derivative to check
            for keepdims in (False, True):
                cases.append(
                    OpCase(
                        f"{name}{shape}(axis={axis},keepdims={keepdims})",
                        lambda x, ours=ours, a=axis, k=keepdims: ours(x, a, k),
                        (shape,),
                        # NumPy's reductions refuse axis 0 on a 0-d array; ours accept it like torch
                        lambda x, ref=ref, a=axis, k=keepdims: ref(x, a if x.ndim else None, k),
                        None,  # torch's 0-d reduction rules differ in corner cases
                        (domain,),
                    )
                )
    for name, ours, shapes, ref, torch_fn in SHAPE_OPS:
        cases.append(OpCase(name, ours, tuple(shapes), ref, torch_fn))
    return cases


CASES = build_cases()
