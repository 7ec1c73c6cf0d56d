"""Splitting and feature scaling on host NumPy arrays.

Fit scalers on the training part only, then transform every part with the
training statistics; anything else leaks the validation and test data into
the model.
"""

from __future__ import annotations

import numpy as np


def train_val_test_split(
    X, y, val: float = 0.1, test: float = 0.2, stratify: bool = False, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into training, validation and test parts.

    The test part gets ``round(test * n)`` samples, the validation part
    ``round(val * n)``, training the rest. With ``stratify=True`` each part
    keeps the class proportions of ``y``: every class's count in a part is
    within one of its proportional share.

    Parameters
    ----------
    X, y : array_like
        Samples along the first axis; the same length.
    val, test : float
        Fractions in [0, 1) of the whole set; ``val + test < 1``.
    stratify : bool
        Keep the class proportions of ``y`` in every part.
    seed : int
        Seed of the NumPy generator that shuffles.

    Returns
    -------
    X_train, y_train, X_val, y_val, X_test, y_test : ndarray
        Each part in shuffled order; a part of size 0 is an empty array.

    Examples
    --------
    >>> X, y = np.arange(20).reshape(10, 2), np.arange(10) % 2
    >>> parts = train_val_test_split(X, y, val=0.2, test=0.2)
    >>> [len(part) for part in parts]
    [6, 6, 2, 2, 2, 2]
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} and {len(y)}")
    for name, fraction in (("val", val), ("test", test)):
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {fraction}")
    if val + test >= 1.0:
        raise ValueError(f"val + test must be below 1 to leave training data, got {val + test}")
    n = len(y)
    n_test, n_val = round(test * n), round(val * n)
    if n_test + n_val >= n:
        raise ValueError(f"{n} samples with val={val}, test={test} leave no training samples")
    rng = np.random.default_rng(seed)
    order = _stratified_order(y, rng) if stratify else rng.permutation(n)
    test_index, val_index, train_index = np.split(order, [n_test, n_test + n_val])
    if stratify:
        # the stratified order interleaves classes; shuffle within each part
        train_index, val_index, test_index = (
            rng.permutation(index) for index in (train_index, val_index, test_index)
        )
    return (
        X[train_index], y[train_index],
        X[val_index], y[val_index],
        X[test_index], y[test_index],
    )  # fmt: skip


def _stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation whose every prefix holds each class in proportion.

    Within class c (size n_c), the sample of shuffled rank r gets the key
    (r + 1/2) / n_c; sorting all samples by key spreads each class evenly,
    so any prefix of length k holds round(k * n_c / n) +- 1 samples of c.
    Ties between classes are broken at random.
    """
    _, class_index, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    shuffled = rng.permutation(len(y))
    rank = np.empty(len(y), dtype=np.int64)
    for c in range(len(class_counts)):
        members = shuffled[class_index[shuffled] == c]
        rank[members] = np.arange(len(members))
    key = (rank + 0.5) / class_counts[class_index]
    return np.lexsort((rng.permutation(len(y)), key))


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1.

    Statistics come from :meth:`fit` (population std, ``ddof=0``); a
    constant feature gets std 1 so it maps to 0 instead of dividing by 0.
    Outputs are float64.

    Attributes
    ----------
    mean, std : ndarray or None
        Per-feature statistics of the data passed to ``fit``.

    Examples
    --------
    >>> scaler = Standardizer().fit(np.array([[0.0], [2.0]]))  # training part only
    >>> scaler.transform(np.array([[4.0]]))
    array([[3.]])
    """

    def __init__(self):
        self.mean = None
        self.std = None

    def fit(self, X) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std == 0, 1.0, std)
        return self

    def transform(self, X) -> np.ndarray:
        _check_fitted(self, self.mean)
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.std

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X_scaled) -> np.ndarray:
        _check_fitted(self, self.mean)
        return np.asarray(X_scaled, dtype=np.float64) * self.std + self.mean


class MinMaxScaler:
    """Scale each feature linearly to ``feature_range`` (default [0, 1]).

    The minimum and maximum come from :meth:`fit`; a constant feature maps to
    the lower end of the range. Outputs are float64; data outside the fitted
    range maps outside ``feature_range``.
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)):
        low, high = feature_range
        if not low < high:
            raise ValueError(f"feature_range must be (low, high), low < high; got {feature_range}")
        self.feature_range = (float(low), float(high))
        self.data_min = None
        self.data_range = None

    def fit(self, X) -> MinMaxScaler:
        X = np.asarray(X, dtype=np.float64)
        self.data_min = X.min(axis=0)
        data_range = X.max(axis=0) - self.data_min
        self.data_range = np.where(data_range == 0, 1.0, data_range)
        return self

    def transform(self, X) -> np.ndarray:
        _check_fitted(self, self.data_min)
        low, high = self.feature_range
        unit = (np.asarray(X, dtype=np.float64) - self.data_min) / self.data_range
        return low + unit * (high - low)

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X_scaled) -> np.ndarray:
        _check_fitted(self, self.data_min)
        low, high = self.feature_range
        unit = (np.asarray(X_scaled, dtype=np.float64) - low) / (high - low)
        return unit * self.data_range + self.data_min


def _check_fitted(scaler, statistic) -> None:
    if statistic is None:
        raise RuntimeError(f"{type(scaler).__name__} is not fitted yet: call fit() first")
