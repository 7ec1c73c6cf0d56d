"""Mini-batches from host NumPy arrays, moved to a backend as Tensors.

Batches are gathered and cast on the host with NumPy and only then handed to
``tinygrad_edu.tensor``, so one transfer per batch reaches the backend.
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_edu.backend import dtype_name, get_default_backend, to_numpy


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` Tensor pairs in mini-batches.

    Each ``iter(loader)`` (one ``for`` loop) is one epoch and advances
    :attr:`epoch` by one. With ``shuffle=True`` epoch ``e`` visits the samples
    in the order of a NumPy generator seeded with ``(seed, e)``: the same seed
    and epoch give the same batches on every run, and a resumed run reproduces
    the order by calling ``set_epoch(e)`` first.

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Features, kept on the host: a NumPy array, a list, a Tensor or an
        array of any backend (copied to NumPy once).
    y : array_like, shape (n, ...)
        Labels or targets, the same length as ``X``.
    batch_size : int
        Samples per batch; the last batch may be smaller unless ``drop_last``.
    shuffle : bool
        Visit samples in a seeded random order; in order 0..n-1 otherwise.
    seed : int
        Non-negative seed of the shuffling.
    drop_last : bool
        Skip the final batch when it has fewer than ``batch_size`` samples.
    backend : str or module, optional
        Where the batches live (``"numpy"``, ``"array_api_strict"``, ...);
        None is tinygrad_edu's default backend at the start of each epoch
        (``tg.set_default_backend``, ``with tg.default_backend(...)``).
    dtype : dtype or str, optional
        Dtype of the feature batches, default ``float32``. Floating targets
        get it too; integer and boolean labels keep their dtype.
    device : optional
        Device on the backend, passed to ``tinygrad_edu.tensor``.

    Examples
    --------
    >>> X, y = np.zeros((100, 3)), np.arange(100) % 2
    >>> loader = DataLoader(X, y, batch_size=32, seed=0)
    >>> len(loader), [tuple(X_batch.shape) for X_batch, _ in loader]
    (4, [(32, 3), (32, 3), (32, 3), (4, 3)])
    >>> loader.epoch  # the next loop visits epoch 1's order
    1
    """

    def __init__(
        self,
        X,
        y,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        backend=None,
        dtype=None,
        device=None,
    ):
        self.X, self.y = _host_array(X), _host_array(y)
        if len(self.X) != len(self.y):
            raise ValueError(f"X and y differ in length: {len(self.X)} and {len(self.y)}")
        if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if not (isinstance(seed, (int, np.integer)) and seed >= 0):
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.backend = backend
        self.device = device
        self.dtype = np.dtype(dtype_name(dtype if dtype is not None else "float32"))
        self.epoch = 0

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        if self.drop_last:
            return len(self.X) // self.batch_size
        return math.ceil(len(self.X) / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (to resume a run)."""
        self.epoch = epoch

    def sample_order(self, epoch: int) -> np.ndarray:
        """The sample indices that epoch ``epoch`` visits, in order."""
        if not self.shuffle:
            return np.arange(len(self.X))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.X))

    def __iter__(self):
        import tinygrad_edu as tg  # here, not on top: the package imports data

        order = self.sample_order(self.epoch)
        self.epoch += 1
        backend = self.backend if self.backend is not None else get_default_backend()
        batch_starts = range(0, len(self) * self.batch_size, self.batch_size)
        return (
            self._batch(tg, order[start : start + self.batch_size], backend)
            for start in batch_starts
        )

    def _batch(self, tg, index: np.ndarray, backend):
        X_batch = self.X[index].astype(self.dtype, copy=False)
        y_batch = self.y[index]
        if y_batch.dtype.kind == "f":
            y_batch = y_batch.astype(self.dtype, copy=False)
        return (
            tg.tensor(X_batch, backend=backend, device=self.device),
            tg.tensor(y_batch, backend=backend, device=self.device),
        )

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={len(self.X)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, "
            f"backend={self.backend!r}, dtype={self.dtype.name}, epoch={self.epoch})"
        )


def _host_array(data) -> np.ndarray:
    """``data`` as a host NumPy array (a view when it already is one)."""
    try:
        return to_numpy(data)
    except TypeError:  # not an Array-API array: a list, or a Tensor
        return np.asarray(data.numpy() if hasattr(data, "numpy") else data)
