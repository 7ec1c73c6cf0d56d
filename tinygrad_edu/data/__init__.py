"""Datasets, splits, scaling and mini-batches: the host side of training.

Everything here works on NumPy arrays; only :class:`DataLoader` creates
``tinygrad_edu`` Tensors, one batch at a time. Nothing is downloaded.

Example
-------
>>> from tinygrad_edu import data
>>> X, y = data.load_digits()
>>> X_train, y_train, X_val, y_val, X_test, y_test = data.train_val_test_split(
...     X / 16, y, val=0.1, test=0.2, stratify=True)
>>> loader = data.DataLoader(X_train, y_train, batch_size=64)
"""

from tinygrad_edu.data.datasets import (
    default_cache_dir,
    generate_mnist1d,
    load_digits,
    load_mnist1d,
)
from tinygrad_edu.data.loader import DataLoader
from tinygrad_edu.data.mnist import load_mnist, read_idx
from tinygrad_edu.data.preprocessing import (
    MinMaxScaler,
    Standardizer,
    train_val_test_split,
)
from tinygrad_edu.data.synthetic import (
    franke,
    franke_function,
    sine1d,
    spirals,
    two_moons,
    xor,
)

__all__ = [
    "DataLoader",
    "MinMaxScaler",
    "Standardizer",
    "default_cache_dir",
    "franke",
    "franke_function",
    "generate_mnist1d",
    "load_digits",
    "load_mnist",
    "load_mnist1d",
    "read_idx",
    "sine1d",
    "spirals",
    "train_val_test_split",
    "two_moons",
    "xor",
]
