"""Benchmark workloads shared by ``compare.py`` and the asv suite.

Each workload is plain NumPy data: the mini-batches (already sliced, in the
order every implementation visits them) and the initial parameters, drawn from
a seeded NumPy generator. Implementations only convert these arrays to their
own types, so every library starts from the same weights and sees the same
batches in the same order.

This module imports nothing but NumPy (and scikit-learn for the digits data,
with a synthetic stand-in when it is missing), so asv can import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SEED = 0


@dataclass
class MLPWorkload:
    """One SGD training step of a fully connected network.

    ``weights[l]`` has shape ``(sizes[l], sizes[l + 1])`` and layer ``l``
    computes ``z = a @ weights[l] + biases[l]`` (the lecture's ``z = aW + b``).
    The activation follows every layer but the last. ``loss`` is
    ``"cross_entropy"`` (integer targets, mean over the batch) or ``"mse"``
    (targets of shape ``(batch, 1)``, mean over all entries).
    """

    name: str
    description: str
    sizes: tuple[int, ...]
    activation: str  # "relu" or "tanh"
    loss: str  # "cross_entropy" or "mse"
    lr: float
    batches: list[tuple[np.ndarray, np.ndarray]]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    notes: list[str] = field(default_factory=list)

    @property
    def batch_size(self) -> int:
        return self.batches[0][0].shape[0]


@dataclass
class ChainWorkload:
    """A long chain of elementwise ops on a tiny array, then ``sum().backward()``.

    The chain repeats ``OPS`` (``x * 1.0001``, ``x + 0.001``, ``tanh``, ``sin``)
    until ``n_ops`` ops are recorded. It measures per-op overhead of the graph
    machinery (node creation, dispatch, the backward walk), not arithmetic.
    """

    name: str
    description: str
    x0: np.ndarray
    n_ops: int
    notes: list[str] = field(default_factory=list)


CHAIN_OPS = ("mul", "add", "tanh", "sin")
CHAIN_MUL = 1.0001
CHAIN_ADD = 0.001


def init_params(sizes, rng, dtype=np.float32):
    """PyTorch's default ``nn.Linear`` init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1.0 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        biases.append(rng.uniform(-bound, bound, (fan_out,)).astype(dtype))
    return weights, biases


def make_batches(X, y, batch_size, rng):
    """One shuffled epoch of full batches (drop_last), each a contiguous copy."""
    order = rng.permutation(len(X))
    n_batches = len(X) // batch_size
    return [
        (
            np.ascontiguousarray(X[order[i * batch_size : (i + 1) * batch_size]]),
            np.ascontiguousarray(y[order[i * batch_size : (i + 1) * batch_size]]),
        )
        for i in range(n_batches)
    ]


def digits_mlp(seed: int = SEED) -> MLPWorkload:
    """W1: sklearn digits (X / 16, float32), MLP 64-128-10 ReLU, CE, SGD 0.1, batch 64."""
    notes = []
    try:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    except ImportError:
        # Same shapes and value range, so the timing is comparable.
        gen = np.random.default_rng(seed + 100)
        X = gen.integers(0, 17, (1797, 64)).astype(np.float64)
        y = gen.integers(0, 10, 1797)
        notes.append("scikit-learn missing: synthetic digits-shaped data")
    X = (X / 16.0).astype(np.float32)
    y = y.astype(np.int64)
    rng = np.random.default_rng(seed)
    sizes = (64, 128, 10)
    weights, biases = init_params(sizes, rng)
    return MLPWorkload(
        name="W1 digits 64-128-10",
        description="digits, MLP 64-128-10 ReLU, softmax CE, SGD lr 0.1, batch 64",
        sizes=sizes,
        activation="relu",
        loss="cross_entropy",
        lr=0.1,
        batches=make_batches(X, y, 64, rng),
        weights=weights,
        biases=biases,
        notes=notes,
    )


def synthetic_mlp(seed: int = SEED, n_samples: int = 2048) -> MLPWorkload:
    """W2: 784 features, 10 classes, MLP 784-512-512-10 ReLU, batch 256, float32.

    Inputs are uniform in [0, 1) like pixel intensities; labels come from a
    random linear teacher, so the task is learnable and training stays finite.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, 784), dtype=np.float32)
    teacher = rng.standard_normal((784, 10)).astype(np.float32)
    y = np.argmax((X - 0.5) @ teacher, axis=1).astype(np.int64)
    sizes = (784, 512, 512, 10)
    weights, biases = init_params(sizes, rng)
    return MLPWorkload(
        name="W2 synthetic 784-512-512-10",
        description="synthetic 784 features/10 classes, MLP 784-512-512-10 ReLU, "
        "softmax CE, SGD lr 0.1, batch 256",
        sizes=sizes,
        activation="relu",
        loss="cross_entropy",
        lr=0.1,
        batches=make_batches(X, y, 256, rng),
        weights=weights,
        biases=biases,
    )


def franke(x, y):
    """Franke's test function on [0, 1]^2."""
    return (
        0.75 * np.exp(-((9 * x - 2) ** 2) / 4 - ((9 * y - 2) ** 2) / 4)
        + 0.75 * np.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10)
        + 0.5 * np.exp(-((9 * x - 7) ** 2) / 4 - ((9 * y - 3) ** 2) / 4)
        - 0.2 * np.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    )


def franke_regression(seed: int = SEED, n_samples: int = 400) -> MLPWorkload:
    """W3: Franke function + noise 0.1, MLP 2-32-32-1 tanh, MSE, SGD 0.1, batch 16."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, 2))
    y = franke(X[:, 0], X[:, 1]) + 0.1 * rng.standard_normal(n_samples)
    X = X.astype(np.float32)
    y = y.astype(np.float32).reshape(-1, 1)
    sizes = (2, 32, 32, 1)
    weights, biases = init_params(sizes, rng)
    return MLPWorkload(
        name="W3 franke 2-32-32-1",
        description="Franke regression, MLP 2-32-32-1 tanh, MSE, SGD lr 0.1, batch 16",
        sizes=sizes,
        activation="tanh",
        loss="mse",
        lr=0.1,
        batches=make_batches(X, y, 16, rng),
        weights=weights,
        biases=biases,
    )


def op_chain(seed: int = SEED, n_ops: int = 1000, n: int = 8) -> ChainWorkload:
    """Op chain: 1000 elementwise ops on an 8-element float64 array, fwd + bwd."""
    rng = np.random.default_rng(seed)
    return ChainWorkload(
        name=f"op chain {n_ops} ops",
        description=f"{n_ops} elementwise ops on {n} float64 values, cycling "
        f"x*{CHAIN_MUL}, x+{CHAIN_ADD}, tanh(x), sin(x); then sum().backward()",
        x0=rng.uniform(0.1, 1.0, n),
        n_ops=n_ops,
    )


def all_workloads(seed: int = SEED):
    return [digits_mlp(seed), synthetic_mlp(seed), franke_regression(seed), op_chain(seed)]
