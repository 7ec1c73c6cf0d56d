"""The table of op cases: every differentiable operation of the contract.

Each case gives the tinygrad_edu expression, the input shapes and domains, a
NumPy reference for the forward value and the same expression in PyTorch. The
table covers 0-d, 1-d and 3-d shapes, broadcasting on either side, every axis
form (None, int, negative int, tuple) and keepdims both ways.
"""

from dataclasses import dataclass, field

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import fused, ops_conv, ops_rnn


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
    "gelu_tanh": (
        lambda x: x.gelu(approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        lambda x: __import__("torch").nn.functional.gelu(x, approximate="tanh"),
        "real",
    ),
    "softplus_beta_threshold": (
        lambda x: x.softplus(beta=2.0, threshold=1.0),
        lambda x: np.where(2 * x > 1.0, x, np.log1p(np.exp(2 * x)) / 2),
        lambda x: __import__("torch").nn.functional.softplus(x, beta=2.0, threshold=1.0),
        "away",
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
    # im2col over axes 1, 2 of (2, 5, 7, 3): kernel (2, 3), stride (1, 2), dilation (2, 1)
    # gives 3 x 3 windows; window entry (i, j) of window (a, b) is x[:, a + 2 i, 2 b + j]
    (
        "unfold",
        lambda x: ops_conv.unfold(x, (2, 3), (1, 2), (2, 1), 1),
        [(2, 5, 7, 3)],
        lambda x: np.stack(
            [x[:, 2 * i : 2 * i + 3, j : j + 5 : 2] for i in range(2) for j in range(3)], -1
        ),
        None,
    ),
    (
        "fold",
        lambda c: ops_conv.fold(c, (2, 5, 7, 3), (2, 3), (1, 2), (2, 1), 1),
        [(2, 3, 3, 3, 6)],
        lambda c: _fold_reference(c),
        None,
    ),
    (
        "fold_of_unfold_overlapping_1d",  # stride 1, kernel 3: entries counted up to 3 times
        lambda x: ops_conv.fold(ops_conv.unfold(x, (3,), (1,), (1,), 2), (2, 3, 6), (3,), (1,), (1,), 2),
        [(2, 3, 6)],
        lambda x: x * np.array([1, 2, 3, 3, 2, 1]),
        None,
    ),
]


def _fold_reference(cols):
    """col2im by loops: out[:, a + 2 i, 2 b + j] += cols[:, a, b, :, 3 i + j] (see "unfold")."""
    out = np.zeros((2, 5, 7, 3))
    for a in range(3):
        for b in range(3):
            for i in range(2):
                for j in range(3):
                    out[:, a + 2 * i, 2 * b + j] += cols[:, a, b, :, 3 * i + j]
    return out


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


# ------------------------------------------------------------------ more operations (issue 14)
def _torch():
    return __import__("torch")


def _xp(x):
    return tg.array_namespace(x.xp)


def _np_softplus(x):
    return np.logaddexp(0, x)


MORE_UNARY = {
    # name: (ours, numpy, torch, domain); shapes () and (2, 3, 4)
    "tan": (lambda x: x.tan(), np.tan, lambda x: x.tan(), "real"),
    "asin": (lambda x: (0.9 * x.tanh()).asin(), lambda x: np.arcsin(0.9 * np.tanh(x)), lambda x: (0.9 * x.tanh()).asin(), "real"),
    "acos": (lambda x: (0.9 * x.tanh()).acos(), lambda x: np.arccos(0.9 * np.tanh(x)), lambda x: (0.9 * x.tanh()).acos(), "real"),
    "atan": (lambda x: x.atan(), np.arctan, lambda x: x.atan(), "real"),
    "sinh": (lambda x: x.sinh(), np.sinh, lambda x: x.sinh(), "real"),
    "cosh": (lambda x: x.cosh(), np.cosh, lambda x: x.cosh(), "real"),
    "asinh": (lambda x: x.asinh(), np.arcsinh, lambda x: x.asinh(), "real"),
    "acosh": (lambda x: (x + 1.0).acosh(), lambda x: np.arccosh(x + 1), lambda x: (x + 1.0).acosh(), "positive"),
    "atanh": (lambda x: (0.9 * x.tanh()).atanh(), lambda x: np.arctanh(0.9 * np.tanh(x)), lambda x: (0.9 * x.tanh()).atanh(), "real"),
    "log2": (lambda x: x.log2(), np.log2, lambda x: x.log2(), "positive"),
    "log10": (lambda x: x.log10(), np.log10, lambda x: x.log10(), "positive"),
    "log1p": (lambda x: x.log1p(), np.log1p, lambda x: x.log1p(), "positive"),
    "expm1": (lambda x: x.expm1(), np.expm1, lambda x: x.expm1(), "real"),
    "exp2": (lambda x: x.exp2(), np.exp2, lambda x: x.exp2(), "real"),
    "square": (lambda x: x.square(), np.square, lambda x: x.square(), "real"),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), lambda x: x.rsqrt(), "positive"),
    "reciprocal": (lambda x: x.reciprocal(), np.reciprocal, lambda x: x.reciprocal(), "away"),
    "sign": (lambda x: x.sign() * x, lambda x: np.sign(x) * x, lambda x: x.sign() * x, "away"),
    "floor": (lambda x: (3 * x).floor() + x, lambda x: np.floor(3 * x) + x, lambda x: (3 * x).floor() + x, "away"),
    "ceil": (lambda x: (3 * x).ceil() + x, lambda x: np.ceil(3 * x) + x, lambda x: (3 * x).ceil() + x, "away"),
    "round": (lambda x: (3 * x).round() + x, lambda x: np.round(3 * x) + x, lambda x: (3 * x).round() + x, "away"),
    "trunc": (lambda x: (3 * x).trunc() + x, lambda x: np.trunc(3 * x) + x, lambda x: (3 * x).trunc() + x, "away"),
    "silu": (lambda x: x.silu(), lambda x: x / (1 + np.exp(-x)), lambda x: _torch().nn.functional.silu(x), "real"),
    "mish": (lambda x: x.mish(), lambda x: x * np.tanh(_np_softplus(x)), lambda x: _torch().nn.functional.mish(x), "real"),
    "selu": (lambda x: x.selu(), None, lambda x: _torch().nn.functional.selu(x), "away"),
    "celu": (lambda x: x.celu(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0) / 0.5)), lambda x: _torch().nn.functional.celu(x, 0.5), "away"),  # alpha exact in float32: torch scales by a float32 1/alpha
    "hardtanh": (lambda x: x.hardtanh(), lambda x: np.clip(x, -1, 1), lambda x: _torch().nn.functional.hardtanh(x), "away"),
    "relu6": (lambda x: (4 * x).relu6(), lambda x: np.clip(4 * x, 0, 6), lambda x: _torch().nn.functional.relu6(4 * x), "away"),
    "hardsigmoid": (lambda x: (3 * x).hardsigmoid(), lambda x: np.clip(x / 2 + 0.5, 0, 1), None, "away"),  # torch's float64 hardsigmoid scales by a float32 1/6 (3e-8 off)
    "hardswish": (lambda x: (3 * x).hardswish(), lambda x: 3 * x * np.clip(x / 2 + 0.5, 0, 1), lambda x: _torch().nn.functional.hardswish(3 * x), "away"),
    "logsigmoid": (lambda x: x.logsigmoid(), lambda x: -_np_softplus(-x), lambda x: _torch().nn.functional.logsigmoid(x), "real"),
    "softsign": (lambda x: x.softsign(), lambda x: x / (1 + np.abs(x)), lambda x: _torch().nn.functional.softsign(x), "real"),
    "xp_abs": (lambda x: _xp(x).abs(x), np.abs, lambda x: x.abs(), "away"),
    "xp_exp_log_sqrt": (lambda x: _xp(x).sqrt(_xp(x).log(_xp(x).exp(x))), np.sqrt, lambda x: x.exp().log().sqrt(), "positive"),
    "xp_trig": (lambda x: _xp(x).sin(x) * _xp(x).cos(x) + _xp(x).tanh(x), lambda x: np.sin(x) * np.cos(x) + np.tanh(x), lambda x: x.sin() * x.cos() + x.tanh(), "real"),
    "xp_negative_positive": (lambda x: _xp(x).negative(_xp(x).positive(x)), np.negative, lambda x: -x, "real"),
    "xp_more_unary": (
        lambda x: sum(
            (getattr(_xp(x), f)(x / 3) for f in ("tan", "asin", "acos", "atanh")),
            start=sum(getattr(_xp(x), f)(x) for f in ("atan", "sinh", "cosh", "asinh", "expm1", "log1p", "log2", "log10", "reciprocal", "square")),
        )
        + _xp(x).acosh(1 + x) + _xp(x).sign(x) * x
        + sum(getattr(_xp(x), f)(3 * x) for f in ("floor", "ceil", "round", "trunc")),
        lambda x: np.tan(x / 3) + np.arcsin(x / 3) + np.arccos(x / 3) + np.arctanh(x / 3) + np.arctan(x) + np.sinh(x) + np.cosh(x) + np.arcsinh(x) + np.expm1(x) + np.log1p(x) + np.log2(x) + np.log10(x) + 1 / x + x * x + np.arccosh(1 + x) + np.sign(x) * x + np.floor(3 * x) + np.ceil(3 * x) + np.round(3 * x) + np.trunc(3 * x),
        None,
        "positive",
    ),
    "xp_astype": (lambda x: _xp(x).astype(_xp(x).astype(x, _xp(x).float32), _xp(x).float64) - _xp(x).astype(x, _xp(x).float32) + x, lambda x: x, lambda x: x, "real"),
}

MORE_BINARY = {
    # name: (ours, numpy, torch, domains), on the broadcast pairs below
    "atan2": (lambda a, b: a.atan2(b), np.arctan2, lambda a, b: _torch().atan2(a, b), ("real", "away")),
    "hypot": (lambda a, b: a.hypot(b), np.hypot, lambda a, b: _torch().hypot(a, b), ("away", "away")),
    "logaddexp": (lambda a, b: a.logaddexp(b), np.logaddexp, lambda a, b: _torch().logaddexp(a, b), ("real", "real")),
    "lerp": (lambda a, b: a.lerp(b, 0.3), lambda a, b: a + 0.3 * (b - a), lambda a, b: _torch().lerp(a, b, 0.3), ("real", "real")),
    "xp_arith": (lambda a, b: _xp(a).divide(_xp(a).multiply(_xp(a).add(a, b), _xp(a).subtract(a, b)), b), lambda a, b: (a + b) * (a - b) / b, lambda a, b: (a + b) * (a - b) / b, ("real", "away")),
    "xp_atan2_hypot_logaddexp": (lambda a, b: _xp(a).atan2(a, b) + _xp(a).hypot(a, b) + _xp(a).logaddexp(a, b), lambda a, b: np.arctan2(a, b) + np.hypot(a, b) + np.logaddexp(a, b), None, ("away", "away")),
    "xp_pow": (lambda a, b: _xp(a).pow(a, b), np.power, lambda a, b: a**b, ("positive", "real")),
    "xp_maximum_minimum": (lambda a, b: _xp(a).maximum(a, b) + 2 * _xp(a).minimum(a, b), lambda a, b: np.maximum(a, b) + 2 * np.minimum(a, b), lambda a, b: _torch().maximum(a, b) + 2 * _torch().minimum(a, b), ("real", "real")),
    "xp_where": (lambda a, b: _xp(a).where(a > b, a, b), lambda a, b: np.where(a > b, a, b), lambda a, b: _torch().where(a > b, a, b), ("real", "real")),
    "xp_clip_arrays": (lambda a, b: _xp(a).clip(a, min=b, max=b + 0.5), lambda a, b: np.minimum(np.maximum(a, b), b + 0.5), lambda a, b: _torch().clamp(a, min=b, max=b + 0.5), ("real", "real")),
}

MORE_BROADCAST_PAIRS = [((), ()), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1))]

_MORE_AXES = [(None, False), (1, True), ((0, 2), False)]

MORE_REDUCTIONS = {
    "prod": (lambda x, a, k: x.prod(axis=a, keepdims=k), lambda x, a, k: np.prod(x, axis=a, keepdims=k), None, "away"),
    "xp_sum_mean": (lambda x, a, k: _xp(x).sum(x, axis=a, keepdims=k) + _xp(x).mean(x, axis=a, keepdims=k), lambda x, a, k: np.sum(x, axis=a, keepdims=k) + np.mean(x, axis=a, keepdims=k), None, "real"),
    "xp_prod": (lambda x, a, k: _xp(x).prod(x, axis=a, keepdims=k), lambda x, a, k: np.prod(x, axis=a, keepdims=k), None, "away"),
    "xp_max_min": (lambda x, a, k: _xp(x).max(x, axis=a, keepdims=k) - _xp(x).min(x, axis=a, keepdims=k), lambda x, a, k: np.max(x, axis=a, keepdims=k) - np.min(x, axis=a, keepdims=k), None, "real"),
    "xp_var_std": (lambda x, a, k: _xp(x).var(x, axis=a, keepdims=k, correction=1) + _xp(x).std(x, axis=a, keepdims=k), lambda x, a, k: np.var(x, axis=a, keepdims=k, ddof=1) + np.std(x, axis=a, keepdims=k), None, "real"),
    "xp_vector_norm": (lambda x, a, k: _xp(x).linalg.vector_norm(x, axis=a, keepdims=k), lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k)), None, "real"),
    "xp_vector_norm_3": (lambda x, a, k: _xp(x).linalg.vector_norm(x, axis=a, keepdims=k, ord=3), lambda x, a, k: np.sum(np.abs(x) ** 3, axis=a, keepdims=k) ** (1 / 3), None, "away"),
    "xp_vector_norm_1": (lambda x, a, k: _xp(x).linalg.vector_norm(x, axis=a, keepdims=k, ord=1), lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k), None, "away"),
    "xp_vector_norm_inf": (lambda x, a, k: _xp(x).linalg.vector_norm(x, axis=a, keepdims=k, ord=float("inf")), lambda x, a, k: np.max(np.abs(x), axis=a, keepdims=k), None, "away"),
}


def _spd(a):
    """A symmetric positive definite matrix from any square a: a a^T + n I."""
    n = a.shape[-1]
    return a @ a.mT + tg.tensor(n * np.eye(n), backend=a.xp)


def _np_spd(a):
    return a @ np.swapaxes(a, -1, -2) + a.shape[-1] * np.eye(a.shape[-1])


def _torch_spd(a):
    return a @ a.mT + a.shape[-1] * _torch().eye(a.shape[-1], dtype=a.dtype)


def _sym(a):
    return 0.5 * (a + a.mT)


def _well(a):
    """A well-conditioned square matrix: a + n I."""
    return a + tg.tensor(a.shape[-1] * np.eye(a.shape[-1]), backend=a.xp)


def _np_well(a):
    return a + a.shape[-1] * np.eye(a.shape[-1])


def _torch_well(a):
    return a + a.shape[-1] * _torch().eye(a.shape[-1], dtype=a.dtype)


def _svd_gauge_free(u, s, vh):
    """A function of the SVD that no sign choice of the singular vectors changes:
    squared entries, the first singular pair's outer product and the values."""
    return (u * u) @ (vh * vh) + u[..., :, :1] * vh[..., :1, :] + s.sum()


def _np_svd(a, full_matrices=False):
    return np.linalg.svd(a, full_matrices=full_matrices)


def _torch_svd(a, full_matrices=False):
    return _torch().linalg.svd(a, full_matrices=full_matrices)


def _int_index(x, values):
    return tg.tensor(np.array(values), dtype="int64", backend=x.xp)


def _float_values(x, values):
    return tg.tensor(np.array(values, dtype=np.float64), backend=x.xp)


def _setitem_rows(x, v):
    y = x * 1.0
    y[1:3] = v
    return y


def _torch_setitem_rows(x, v):
    y = x * 1.0
    y[1:3] = v
    return y


def _iadd_chain(x, v):
    y = x * 2.0
    y += v
    y *= x
    return y


MORE_OPS = [
    # name, ours, shapes, numpy, torch, domains
    ("cumsum", lambda x: x.cumsum(1), [(2, 3, 4)], lambda x: np.cumsum(x, 1), lambda x: x.cumsum(1), ()),
    ("cumsum_flat", lambda x: x.cumsum(), [(2, 3)], lambda x: np.cumsum(x), lambda x: x.flatten().cumsum(0), ()),
    ("cumprod", lambda x: x.cumprod(-1), [(2, 4)], lambda x: np.cumprod(x, -1), lambda x: x.cumprod(-1), ("away",)),
    ("logcumsumexp", lambda x: x.logcumsumexp(0), [(5, 2)], lambda x: np.logaddexp.accumulate(x, 0), lambda x: x.logcumsumexp(0), ()),
    ("xp_cumulative_sum_initial", lambda x: _xp(x).cumulative_sum(x, axis=1, include_initial=True), [(2, 3)], lambda x: np.concatenate([np.zeros((2, 1)), np.cumsum(x, 1)], 1), None, ()),
    ("xp_cumulative_prod_initial", lambda x: _xp(x).cumulative_prod(x, axis=0, include_initial=True), [(3, 2)], lambda x: np.concatenate([np.ones((1, 2)), np.cumprod(x, 0)], 0), None, ("away",)),
    ("prod_with_one_zero", lambda x: (x * _float_values(x, [1, 0, 1, 1])).prod(), [(4,)], lambda x: np.prod(x * [1, 0, 1, 1]), lambda x: (x * _torch().tensor([1.0, 0, 1, 1], dtype=x.dtype)).prod(), ()),
    ("prod_with_two_zeros", lambda x: (x * _float_values(x, [[1, 0], [0, 1]])).prod(axis=0), [(2, 2)], lambda x: np.prod(x * [[1, 0], [0, 1]], 0), lambda x: (x * _torch().tensor([[1.0, 0], [0, 1]], dtype=x.dtype)).prod(0), ()),
    ("prod_grad_of_grad", lambda x: tg.grad(x.prod(), x, create_graph=True)[0], [(4,)], None, lambda x: _torch().autograd.grad(x.prod(), x, create_graph=True)[0], ("away",)),
    ("sort_values", lambda x: x.sort(axis=1)[0], [(3, 4)], lambda x: np.sort(x, 1), lambda x: x.sort(dim=1)[0], ()),
    ("sort_descending", lambda x: x.sort(descending=True)[0], [(5,)], lambda x: -np.sort(-x), lambda x: x.sort(descending=True)[0], ()),
    ("sort_ties", lambda x: (x * 0 + _float_values(x, [2, 1, 2, 1])).sort()[0] * x.sort()[0], [(4,)], None, lambda x: (x * 0 + _torch().tensor([2.0, 1, 2, 1], dtype=x.dtype)).sort(stable=True)[0] * x.sort()[0], ()),
    ("xp_sort", lambda x: _xp(x).sort(x, axis=0, descending=True), [(4, 2)], lambda x: -np.sort(-x, 0), lambda x: x.sort(dim=0, descending=True)[0], ()),
    ("topk", lambda x: x.topk(2)[0], [(3, 5)], lambda x: -np.sort(-x, -1)[:, :2], lambda x: x.topk(2)[0], ()),
    ("topk_smallest", lambda x: x.topk(3, axis=0, largest=False)[0], [(4, 2)], lambda x: np.sort(x, 0)[:3], lambda x: x.topk(3, dim=0, largest=False)[0], ()),
    ("flip", lambda x: x.flip(1), [(2, 3, 4)], lambda x: np.flip(x, 1), lambda x: x.flip(1), ()),
    ("flip_all", lambda x: x.flip(), [(2, 3)], lambda x: np.flip(x), lambda x: x.flip((0, 1)), ()),
    ("roll", lambda x: x.roll(2, 1), [(2, 5)], lambda x: np.roll(x, 2, 1), lambda x: x.roll(2, 1), ()),
    ("roll_flat", lambda x: x.roll(-3), [(2, 3)], lambda x: np.roll(x, -3), lambda x: x.roll(-3), ()),
    ("tril", lambda x: x.tril(), [(3, 4)], np.tril, lambda x: x.tril(), ()),
    ("triu_k", lambda x: x.triu(1), [(2, 3, 3)], lambda x: np.triu(x, 1), lambda x: x.triu(1), ()),
    ("tile", lambda x: x.tile((2, 1, 3)), [(2, 3)], lambda x: np.tile(x, (2, 1, 3)), lambda x: x.tile((2, 1, 3)), ()),
    ("repeat", lambda x: x.repeat(2, 3), [(2, 3)], lambda x: np.tile(x, (2, 3)), lambda x: x.repeat(2, 3), ()),
    ("repeat_interleave", lambda x: x.repeat_interleave(2, axis=0), [(3, 2)], lambda x: np.repeat(x, 2, 0), lambda x: x.repeat_interleave(2, dim=0), ()),
    ("repeat_interleave_counts", lambda x: x.repeat_interleave(_int_index(x, [1, 0, 3])), [(3,)], lambda x: np.repeat(x, [1, 0, 3]), lambda x: x.repeat_interleave(_torch().tensor([1, 0, 3])), ()),
    ("split", lambda x: x.split(2, axis=1)[1] * x.split(2, axis=1)[2].sum(), [(2, 5)], lambda x: x[:, 2:4] * x[:, 4:].sum(), lambda x: x.split(2, dim=1)[1] * x.split(2, dim=1)[2].sum(), ()),
    ("split_sections", lambda x: x.split([1, 3])[1], [(4, 2)], lambda x: x[1:], lambda x: x.split([1, 3])[1], ()),
    ("chunk", lambda x: x.chunk(3)[2], [(7,)], lambda x: x[6:], lambda x: x.chunk(3)[2], ()),
    ("unflatten", lambda x: x.unflatten(1, (2, -1)), [(3, 4)], lambda x: x.reshape(3, 2, 2), lambda x: x.unflatten(1, (2, -1)), ()),
    ("diagonal", lambda x: x.diagonal(), [(3, 4)], np.diagonal, lambda x: x.diagonal(), ()),
    ("diagonal_offset_axes", lambda x: x.diagonal(-1, 0, 2), [(4, 2, 3)], lambda x: np.diagonal(x, -1, 0, 2), lambda x: x.diagonal(-1, 0, 2), ()),
    ("moveaxis", lambda x: x.moveaxis(0, -1), [(2, 3, 4)], lambda x: np.moveaxis(x, 0, -1), lambda x: x.moveaxis(0, -1), ()),
    ("take", lambda x: x.take(_int_index(x, [2, 0, 2]), axis=1), [(2, 3)], lambda x: np.take(x, [2, 0, 2], 1), lambda x: x[:, [2, 0, 2]], ()),
    ("gather", lambda x: x.gather(1, _int_index(x, [[0, 0], [2, 1]])), [(2, 3)], lambda x: np.take_along_axis(x, np.array([[0, 0], [2, 1]]), 1), lambda x: x.gather(1, _torch().tensor([[0, 0], [2, 1]])), ()),
    ("gather_smaller_index", lambda x: x.gather(0, _int_index(x, [[1, 0]])), [(2, 3)], lambda x: np.take_along_axis(x[:, :2], np.array([[1, 0]]), 0), lambda x: x.gather(0, _torch().tensor([[1, 0]])), ()),
    ("scatter_add", lambda x, s: x.scatter_add(0, _int_index(x, [[1, 0, 1], [1, 1, 0]]), s), [(2, 3), (2, 3)], None, lambda x, s: x.scatter_add(0, _torch().tensor([[1, 0, 1], [1, 1, 0]]), s), ()),
    ("gather_grad_of_grad", lambda x: tg.grad((x.gather(0, _int_index(x, [[1, 1, 0]])) ** 3).sum(), x, create_graph=True)[0], [(2, 3)], None, lambda x: _torch().autograd.grad((x.gather(0, _torch().tensor([[1, 1, 0]])) ** 3).sum(), x, create_graph=True)[0], ()),
    ("masked_fill", lambda x: x.masked_fill(x > 0, 0.5), [(3, 4)], lambda x: np.where(x > 0, 0.5, x), lambda x: x.masked_fill(x > 0, 0.5), ()),
    ("setitem", _setitem_rows, [(4, 3), (3,)], lambda x, v: np.concatenate([x[:1], np.broadcast_to(v, (2, 3)), x[3:]]), _torch_setitem_rows, ()),
    ("setitem_grad_of_grad", lambda x, v: tg.grad((_setitem_rows(x, v) ** 3).sum(), [x, v], create_graph=True)[1], [(4, 3), (3,)], None, lambda x, v: _torch().autograd.grad((_torch_setitem_rows(x, v) ** 3).sum(), [x, v], create_graph=True)[1], ()),
    ("inplace_chain", _iadd_chain, [(2, 3), (3,)], lambda x, v: (2 * x + v) * x, _iadd_chain, ()),
    ("pad_constant", lambda x: tg.pad(x, (1, 2, 0, 1), value=0.5), [(2, 3)], lambda x: np.pad(x, ((0, 1), (1, 2)), constant_values=0.5), lambda x: _torch().nn.functional.pad(x, (1, 2, 0, 1), value=0.5), ()),
    ("pad_reflect", lambda x: tg.pad(x, (2, 1), mode="reflect"), [(2, 4)], lambda x: np.pad(x, ((0, 0), (2, 1)), mode="reflect"), lambda x: _torch().nn.functional.pad(x, (2, 1), mode="reflect"), ()),
    ("pad_replicate", lambda x: tg.pad(x, (2, 1), mode="replicate"), [(2, 3)], lambda x: np.pad(x, ((0, 0), (2, 1)), mode="edge"), lambda x: _torch().nn.functional.pad(x, (2, 1), mode="replicate"), ()),
    ("pad_circular", lambda x: tg.pad(x, (1, 2), mode="circular"), [(1, 2, 3)], lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2)), mode="wrap"), lambda x: _torch().nn.functional.pad(x, (1, 2), mode="circular"), ()),
    ("einsum_matmul", lambda a, b: tg.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)], lambda a, b: a @ b, lambda a, b: _torch().einsum("ij,jk->ik", a, b), ()),
    ("einsum_batched_implicit", lambda a, b: tg.einsum("bij,bkj", a, b), [(2, 3, 4), (2, 5, 4)], lambda a, b: np.einsum("bij,bkj", a, b), lambda a, b: _torch().einsum("bij,bkj", a, b), ()),
    ("einsum_trace_ellipsis", lambda a: tg.einsum("...ii->...", a), [(2, 3, 3)], lambda a: np.einsum("...ii->...", a), lambda a: _torch().einsum("...ii->...", a), ()),
    ("einsum_outer_sum", lambda a, b: tg.einsum("i,j->", a, b), [(3,), (4,)], lambda a, b: np.einsum("i,j->", a, b), lambda a, b: _torch().einsum("i,j->", a, b), ()),
    ("tensordot", lambda a, b: tg.tensordot(a, b, axes=([1, 0], [0, 2])), [(3, 2, 4), (2, 5, 3)], lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])), lambda a, b: _torch().tensordot(a, b, dims=([1, 0], [0, 2])), ()),
    ("tensordot_int", lambda a, b: tg.tensordot(a, b), [(2, 3, 4), (3, 4, 2)], np.tensordot, lambda a, b: _torch().tensordot(a, b), ()),
    ("outer", lambda a, b: tg.outer(a, b), [(3,), (4,)], np.outer, lambda a, b: _torch().outer(a, b), ()),
    ("softmin", lambda x: x.softmin(axis=1), [(2, 3)], lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True), lambda x: _torch().nn.functional.softmin(x, 1), ()),
    ("xp_take_along_axis", lambda x: _xp(x).take_along_axis(x, _xp(x).asarray(np.array([[2, 0, 2]])), axis=1), [(2, 3)], lambda x: np.take_along_axis(x, np.array([[2, 0, 2]]), 1), None, ()),
    ("xp_take", lambda x: _xp(x).take(x, _xp(x).asarray(np.array([1, 1, 0])), axis=0), [(2, 3)], lambda x: np.take(x, [1, 1, 0], 0), None, ()),
    ("xp_manipulation", lambda a, b: _xp(a).concat([_xp(a).stack([a, b], axis=1), _xp(a).expand_dims(_xp(a).flip(a, axis=0), axis=1)], axis=1), [(2, 3), (2, 3)], lambda a, b: np.concatenate([np.stack([a, b], 1), np.flip(a, 0)[:, None]], 1), None, ()),
    ("xp_shapes", lambda x: _xp(x).permute_dims(_xp(x).reshape(_xp(x).moveaxis(_xp(x).roll(x, 1, axis=0), 0, 1), (3, 2, 1)), (2, 0, 1)), [(2, 3)], lambda x: np.transpose(np.reshape(np.moveaxis(np.roll(x, 1, 0), 0, 1), (3, 2, 1)), (2, 0, 1)), None, ()),
    ("xp_squeeze_unstack_broadcast", lambda x: _xp(x).unstack(_xp(x).squeeze(_xp(x).broadcast_to(x, (2, 1, 3)), axis=1))[1] * _xp(x).broadcast_arrays(x, x[0])[1][0, 0], [(1, 3)], lambda x: x[0] * x[0, 0], None, ()),
    ("xp_tile_repeat_tril", lambda x: _xp(x).tril(_xp(x).repeat(_xp(x).tile(x, (1, 2)), 2, axis=0), k=1), [(2, 3)], lambda x: np.tril(np.repeat(np.tile(x, (1, 2)), 2, 0), 1), None, ()),
    ("xp_matmul_tensordot_vecdot", lambda a, b: _xp(a).vecdot(_xp(a).matmul(a, b), _xp(a).tensordot(a, b, axes=1)) + _xp(a).sum(_xp(a).matrix_transpose(a)), [(3, 3), (3, 3)], lambda a, b: np.sum((a @ b) * np.tensordot(a, b, 1), -1) + a.sum(), None, ()),
    ("xp_linalg_solve", lambda a, b: _xp(a).linalg.solve(_well(a), b), [(3, 3), (3, 2)], lambda a, b: np.linalg.solve(_np_well(a), b), lambda a, b: _torch().linalg.solve(_torch_well(a), b), ()),
    ("xp_linalg_solve_vector", lambda a, b: _xp(a).linalg.solve(_well(a), b), [(2, 3, 3), (3,)], lambda a, b: np.linalg.solve(_np_well(a), b), lambda a, b: _torch().linalg.solve(_torch_well(a), b), ()),
    ("xp_linalg_inv", lambda a: _xp(a).linalg.inv(_well(a)), [(2, 3, 3)], lambda a: np.linalg.inv(_np_well(a)), lambda a: _torch().linalg.inv(_torch_well(a)), ()),
    ("xp_linalg_det", lambda a: _xp(a).linalg.det(_well(a)), [(2, 3, 3)], lambda a: np.linalg.det(_np_well(a)), lambda a: _torch().linalg.det(_torch_well(a)), ()),
    ("xp_linalg_slogdet", lambda a: _xp(a).linalg.slogdet(a).logabsdet, [(3, 3)], lambda a: np.linalg.slogdet(a)[1], lambda a: _torch().linalg.slogdet(a)[1], ()),
    ("xp_linalg_cholesky", lambda a: _xp(a).linalg.cholesky(_spd(a)), [(3, 3)], lambda a: np.linalg.cholesky(_np_spd(a)), lambda a: _torch().linalg.cholesky(_torch_spd(a)), ()),
    ("xp_linalg_cholesky_upper", lambda a: _xp(a).linalg.cholesky(_spd(a), upper=True), [(2, 3, 3)], lambda a: np.swapaxes(np.linalg.cholesky(_np_spd(a)), -1, -2), lambda a: _torch().linalg.cholesky(_torch_spd(a), upper=True), ()),
    ("xp_linalg_eigvalsh", lambda a: _xp(a).linalg.eigvalsh(_sym(a)), [(3, 3)], lambda a: np.linalg.eigvalsh(0.5 * (a + a.T)), lambda a: _torch().linalg.eigvalsh(_sym(a)), ()),
    ("xp_linalg_eigh_vectors", lambda a: _xp(a).linalg.eigh(_sym(a)).eigenvectors ** 2, [(3, 3)], lambda a: np.linalg.eigh(0.5 * (a + a.T))[1] ** 2, lambda a: _torch().linalg.eigh(_sym(a))[1] ** 2, ()),
    ("xp_linalg_qr", lambda a: _xp(a).linalg.qr(a).Q * 2 + _xp(a).linalg.qr(a).R.sum(), [(4, 3)], lambda a: np.linalg.qr(a)[0] * 2 + np.linalg.qr(a)[1].sum(), lambda a: _torch().linalg.qr(a)[0] * 2 + _torch().linalg.qr(a)[1].sum(), ()),
    ("xp_linalg_qr_square_batched", lambda a: _xp(a).linalg.qr(a).R, [(2, 3, 3)], lambda a: np.linalg.qr(a)[1], lambda a: _torch().linalg.qr(a)[1], ()),
    ("xp_linalg_qr_wide", lambda a: _xp(a).linalg.qr(a).Q * 2 + _xp(a).linalg.qr(a).R.sum(), [(3, 5)], lambda a: np.linalg.qr(a)[0] * 2 + np.linalg.qr(a)[1].sum(), lambda a: _torch().linalg.qr(a)[0] * 2 + _torch().linalg.qr(a)[1].sum(), ()),
    ("xp_linalg_qr_wide_batched_r", lambda a: _xp(a).linalg.qr(a).R, [(2, 2, 4)], lambda a: np.linalg.qr(a)[1], lambda a: _torch().linalg.qr(a)[1], ()),
    ("xp_linalg_qr_complete_tall_r", lambda a: _xp(a).linalg.qr(a, mode="complete").R, [(4, 2)], lambda a: np.linalg.qr(a, mode="complete")[1], None, ()),  # torch refuses this gradient
    ("xp_linalg_qr_hvp", lambda a: tg.grad((_xp(a).linalg.qr(a).R ** 2).sum() + _xp(a).linalg.qr(a).Q.sum(), a, create_graph=True)[0], [(3, 4)], None, lambda a: _torch().autograd.grad((_torch().linalg.qr(a)[1] ** 2).sum() + _torch().linalg.qr(a)[0].sum(), a, create_graph=True)[0], ()),
    ("xp_linalg_svdvals", lambda a: _xp(a).linalg.svdvals(a), [(3, 4)], lambda a: np.linalg.svd(a, compute_uv=False), lambda a: _torch().linalg.svdvals(a), ()),
    ("xp_linalg_svd_values", lambda a: _xp(a).linalg.svd(a, full_matrices=False).S, [(2, 4, 3)], lambda a: np.linalg.svd(a, compute_uv=False), lambda a: _torch().linalg.svdvals(a), ()),
    ("xp_linalg_svd_tall", lambda a: _svd_gauge_free(*_xp(a).linalg.svd(a, full_matrices=False)), [(4, 3)], lambda a: _svd_gauge_free(*_np_svd(a)), lambda a: _svd_gauge_free(*_torch_svd(a)), ()),
    ("xp_linalg_svd_wide_batched", lambda a: _svd_gauge_free(*_xp(a).linalg.svd(a, full_matrices=False)), [(2, 3, 4)], lambda a: _svd_gauge_free(*_np_svd(a)), lambda a: _svd_gauge_free(*_torch_svd(a)), ()),
    ("xp_linalg_svd_square_full", lambda a: _svd_gauge_free(*_xp(a).linalg.svd(a)), [(3, 3)], lambda a: _svd_gauge_free(*_np_svd(a, True)), lambda a: _svd_gauge_free(*_torch_svd(a, True)), ()),
    ("xp_linalg_svd_hvp", lambda a: tg.grad(_svd_gauge_free(*_xp(a).linalg.svd(a, full_matrices=False)).sum(), a, create_graph=True)[0], [(3, 4)], None, lambda a: _torch().autograd.grad(_svd_gauge_free(*_torch_svd(a)).sum(), a, create_graph=True)[0], ()),
    ("xp_linalg_svdvals_hvp", lambda a: tg.grad((_xp(a).linalg.svdvals(a) ** 3).sum(), a, create_graph=True)[0], [(4, 3)], None, lambda a: _torch().autograd.grad((_torch().linalg.svdvals(a) ** 3).sum(), a, create_graph=True)[0], ()),
    ("xp_linalg_matrix_norms", lambda a: _xp(a).linalg.matrix_norm(a) + _xp(a).linalg.matrix_norm(a, ord="nuc") + _xp(a).linalg.matrix_norm(a, ord=2) + _xp(a).linalg.matrix_norm(a, ord=1) + _xp(a).linalg.matrix_norm(a, ord=float("inf")), [(3, 4)], lambda a: sum(np.linalg.norm(a, o) for o in ("fro", "nuc", 2, 1, np.inf)), lambda a: sum(_torch().linalg.matrix_norm(a, o) for o in ("fro", "nuc", 2, 1, float("inf"))), ("away",)),
    ("xp_linalg_trace_diagonal_outer_cross", lambda a, b: _xp(a).linalg.trace(a, offset=1) + _xp(a).linalg.diagonal(a).sum() + _xp(a).linalg.outer(a[0], b).sum() + _xp(a).linalg.cross(a, b).sum(), [(3, 3), (3,)], lambda a, b: np.trace(a, 1) + np.trace(a) + np.outer(a[0], b).sum() + np.cross(a, b).sum(), None, ()),
    ("xp_linalg_matrix_power", lambda a: _xp(a).linalg.matrix_power(a, 3) + _xp(a).linalg.matrix_power(_well(a), -2), [(3, 3)], lambda a: np.linalg.matrix_power(a, 3) + np.linalg.matrix_power(_np_well(a), -2), lambda a: _torch().linalg.matrix_power(a, 3) + _torch().linalg.matrix_power(_torch_well(a), -2), ()),
    ("xp_linalg_solve_hvp", lambda a, b: tg.grad((_xp(a).linalg.solve(_well(a), b) ** 2).sum(), [a, b], create_graph=True)[0], [(3, 3), (3,)], None, lambda a, b: _torch().autograd.grad((_torch().linalg.solve(_torch_well(a), b) ** 2).sum(), [a, b], create_graph=True)[0], ()),
    ("xp_linalg_inv_hvp", lambda a: tg.grad(_xp(a).linalg.inv(_well(a)).sum(), a, create_graph=True)[0], [(3, 3)], None, lambda a: _torch().autograd.grad(_torch().linalg.inv(_torch_well(a)).sum(), a, create_graph=True)[0], ()),
    ("xp_linalg_det_hvp", lambda a: tg.grad(_xp(a).linalg.det(a), a, create_graph=True)[0], [(3, 3)], None, lambda a: _torch().autograd.grad(_torch().linalg.det(a), a, create_graph=True)[0], ()),
    ("xp_linalg_slogdet_hvp", lambda a: tg.grad(_xp(a).linalg.slogdet(_well(a)).logabsdet, a, create_graph=True)[0], [(3, 3)], None, lambda a: _torch().autograd.grad(_torch().linalg.slogdet(_torch_well(a))[1], a, create_graph=True)[0], ()),
    ("xp_linalg_norm_hvp", lambda a: tg.grad(_xp(a).linalg.vector_norm(a) + _xp(a).linalg.matrix_norm(a), a, create_graph=True)[0], [(3, 3)], None, lambda a: _torch().autograd.grad(_torch().linalg.vector_norm(a) + _torch().linalg.matrix_norm(a), a, create_graph=True)[0], ()),
    ("cumprod_zeros", lambda x: x.cumprod(1), [(3, 5)], lambda x: np.cumprod(x, 1), lambda x: x.cumprod(1), ("zeros",)),
    ("cumprod_zeros_axis0_flat", lambda x: x.cumprod(0) + x.cumprod().reshape(x.shape), [(6, 2)], lambda x: np.cumprod(x, 0) + np.cumprod(x).reshape(x.shape), lambda x: x.cumprod(0) + x.flatten().cumprod(0).reshape(x.shape), ("zeros",)),
    ("cumprod_zeros_broadcast", lambda a, b: (a * b).cumprod(-1), [(2, 1, 4), (3, 1)], lambda a, b: np.cumprod(a * b, -1), lambda a, b: (a * b).cumprod(-1), ("zeros", "real")),
    ("xp_cumulative_prod_zeros_initial", lambda x: _xp(x).cumulative_prod(x, axis=0, include_initial=True), [(4, 3)], lambda x: np.concatenate([np.ones((1, 3)), np.cumprod(x, 0)], 0), None, ("zeros",)),
    ("cumprod_zeros_grad_of_grad", lambda x: tg.grad((x.cumprod(1) ** 2).sum(), x, create_graph=True)[0], [(3, 5)], None, lambda x: _torch().autograd.grad((x.cumprod(1) ** 2).sum(), x, create_graph=True)[0], ("zeros",)),
    ("prod_zeros", lambda x: x.prod(axis=1) + x.prod(axis=(0, 2), keepdims=True).sum(), [(2, 5, 3)], lambda x: np.prod(x, 1) + np.prod(x, (0, 2), keepdims=True).sum(), lambda x: x.prod(1) + x.prod(0, keepdim=True).prod(2, keepdim=True).sum(), ("zeros",)),
    ("prod_zeros_grad_of_grad", lambda x: tg.grad(x.prod(axis=0).sum() + x.prod(), x, create_graph=True)[0], [(4, 2)], None, lambda x: _torch().autograd.grad(x.prod(0).sum() + x.prod(), x, create_graph=True)[0], ("zeros",)),
    ("xp_prod_zeros", lambda x: _xp(x).prod(x, axis=-1), [(3, 4)], lambda x: np.prod(x, -1), None, ("zeros",)),
    ("cummax", lambda x: x.cummax(1).values, [(3, 5)], lambda x: np.maximum.accumulate(x, 1), lambda x: x.cummax(1).values, ()),
    ("cummin_neg_axis", lambda x: tg.cummin(x, -2).values, [(2, 4, 3)], lambda x: np.minimum.accumulate(x, 1), lambda x: _torch().cummin(x, -2).values, ()),
    ("cummax_0d", lambda x: x.cummax(0).values * 2, [()], lambda x: x * 2, lambda x: x.cummax(0).values * 2, ()),
    ("cummax_grad_of_grad", lambda x: tg.grad((x.cummax(0).values ** 3).sum() + (x.cummin(0)[0] ** 2).sum(), x, create_graph=True)[0], [(6,)], None, lambda x: _torch().autograd.grad((x.cummax(0).values ** 3).sum() + (x.cummin(0)[0] ** 2).sum(), x, create_graph=True)[0], ()),
    ("xp_diff", lambda x, p: _xp(x).diff(x, axis=0, n=2) * 2 + _xp(x).diff(x, prepend=p).sum(), [(4, 3), (4, 1)], lambda x, p: np.diff(x, 2, 0) * 2 + np.diff(x, prepend=p).sum(), lambda x, p: _torch().diff(x, 2, 0) * 2 + _torch().diff(x, prepend=p).sum(), ()),
    ("cumsum_grad_of_grad", lambda x: tg.grad((x.cumsum(0) ** 3).sum(), x, create_graph=True)[0], [(4,)], None, lambda x: _torch().autograd.grad((x.cumsum(0) ** 3).sum(), x, create_graph=True)[0], ()),
]


def build_more_cases():
    cases = []
    for name, (ours, ref, torch_fn, domain) in MORE_UNARY.items():
        for shape in ((), (2, 3, 4)):  # 0-d and 3-d: the 1-d case adds nothing the others miss
            cases.append(OpCase(f"{name}{shape}", ours, (shape,), ref, torch_fn, (domain,)))
    for name, (ours, ref, torch_fn, domains) in MORE_BINARY.items():
        for shapes in MORE_BROADCAST_PAIRS:
            cases.append(OpCase(f"{name}{shapes}", ours, shapes, ref, torch_fn, domains))
    for name, (ours, ref, _, domain) in MORE_REDUCTIONS.items():
        for axis, keepdims in _MORE_AXES:
            cases.append(
                OpCase(
                    f"{name}(axis={axis},keepdims={keepdims})",
                    lambda x, ours=ours, a=axis, k=keepdims: ours(x, a, k),
                    ((2, 3, 4),),
                    lambda x, ref=ref, a=axis, k=keepdims: ref(x, a, k),
                    None,
                    (domain,),
                )
            )
    for name, ours, shapes, ref, torch_fn, domains in MORE_OPS:
        cases.append(OpCase(name, ours, tuple(shapes), ref, torch_fn, domains))
    return cases


CASES += build_more_cases()
