"""Small synthetic datasets for the lecture's demos, each seeded.

Every function draws from ``numpy.random.default_rng(seed)``, so the same
arguments give the same arrays on every machine. Features are float64;
classification labels are int64, regression targets are float64 of shape (n,).
"""

from __future__ import annotations

import numpy as np


def franke_function(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Franke's test function on the unit square.

    f(x, y) = 3/4 exp(-(9x-2)^2/4 - (9y-2)^2/4) + 3/4 exp(-(9x+1)^2/49 - (9y+1)/10)
            + 1/2 exp(-(9x-7)^2/4 - (9y-3)^2/4) - 1/5 exp(-(9x-4)^2 - (9y-7)^2)
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return (
        0.75 * np.exp(-((9 * x - 2) ** 2) / 4 - (9 * y - 2) ** 2 / 4)
        + 0.75 * np.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10)
        + 0.5 * np.exp(-((9 * x - 7) ** 2) / 4 - (9 * y - 3) ** 2 / 4)
        - 0.2 * np.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    )


def franke(n: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Regression data: Franke's function at uniform points, plus noise.

    Returns
    -------
    X : ndarray, shape (n, 2)
        Points drawn uniformly from [0, 1)^2.
    y : ndarray, shape (n,)
        ``franke_function(X[:, 0], X[:, 1]) + noise * N(0, 1)``.
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 2))
    y = franke_function(X[:, 0], X[:, 1]) + noise * rng.standard_normal(n)
    return X, y


def sine1d(
    n: int, noise: float = 0.0, seed: int = 0, frequency: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D regression target for the universal-approximation demo.

    Returns
    -------
    X : ndarray, shape (n, 1)
        Points drawn uniformly from [-pi, pi).
    y : ndarray, shape (n,)
        ``sin(frequency * x) + noise * N(0, 1)``.
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, size=(n, 1))
    y = np.sin(frequency * X[:, 0]) + noise * rng.standard_normal(n)
    return X, y


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: Gaussian blobs at the corners of the unit square.

    The corner (a, b) has label ``a XOR b``; with ``noise=0`` the points are
    exactly the truth table. Corners get n // 4 points each (the first
    n % 4 corners one more), in shuffled order.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray of int64, shape (n,)
    """
    rng = np.random.default_rng(seed)
    corner_index = rng.permutation(np.arange(n) % 4)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = corners[corner_index] + noise * rng.standard_normal((n, 2))
    y = np.array([0, 1, 1, 0], dtype=np.int64)[corner_index]
    return X, y


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (like scikit-learn's ``make_moons``).

    Class 0 is the upper moon (ceil(n/2) points), class 1 the lower one,
    each point moved by N(0, noise^2) in both coordinates; shuffled.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray of int64, shape (n,)
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2).astype(np.int64)
    angle = rng.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    X = np.where(y[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    return X, y


def spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n toy problem).

    Arm k sweeps the angle k*4 .. (k+1)*4 radians (plus N(0, noise^2)) while
    the radius grows from 0 to 1. Classes get n // classes points each (the
    first n % classes one more), in shuffled order.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray of int64, shape (n,)
    """
    if classes < 1:
        raise ValueError(f"spirals needs classes >= 1, got {classes}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % classes).astype(np.int64)
    radius = rng.uniform(size=n)
    angle = 4.0 * (y + radius) + noise * rng.standard_normal(n)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, y
