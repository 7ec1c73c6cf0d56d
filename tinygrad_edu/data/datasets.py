"""Bundled and locally generated datasets: scikit-learn's digits and MNIST-1D.

Nothing here touches the network. MNIST-1D is generated with the ``mnist1d``
package's own generator and cached as a pickle-free ``.npz`` file.
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

MNIST1D_CACHE_FILE = "mnist1d_default_seed42_v1.npz"
MNIST1D_SHAPES = {
    "X_train": (4000, 40),
    "y_train": (4000,),
    "X_test": (1000, 40),
    "y_test": (1000,),
}


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits bundled with scikit-learn (no download).

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Flattened 8x8 images; pixel values are integers from 0 to 16
        (divide by 16 to scale them to [0, 1]).
    y : ndarray of int64, shape (1797,)
        Digit labels 0..9.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    X, y = sklearn_load_digits(return_X_y=True)
    return X.astype(np.float64), y.astype(np.int64)


def default_cache_dir() -> Path:
    """Where tinygrad_edu caches generated data.

    ``$XDG_CACHE_HOME/tinygrad_edu`` when ``XDG_CACHE_HOME`` is set, else
    ``~/.cache/tinygrad_edu``. The folder is not created here.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "tinygrad_edu"


def load_mnist1d(
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D (Greydanus 2020), generated locally with its default settings.

    The arrays come from ``mnist1d``'s own generator (``make_dataset`` with
    ``get_dataset_args()``: 5000 samples, seed 42, 80/20 split), which is
    deterministic, so every machine gets the same data. The first call
    generates it (about a second) and caches it; later calls read the cache.
    A cache file that cannot be read is regenerated.

    Parameters
    ----------
    cache_dir : path, optional
        Folder for the cache file; default :func:`default_cache_dir`
        (``$XDG_CACHE_HOME/tinygrad_edu`` or ``~/.cache/tinygrad_edu``).

    Returns
    -------
    X_train : ndarray of float64, shape (4000, 40)
    y_train : ndarray of int64, shape (4000,)
    X_test : ndarray of float64, shape (1000, 40)
    y_test : ndarray of int64, shape (1000,)
        Signals are standardised over the whole set (mean 0, std 1);
        labels are 0..9.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / MNIST1D_CACHE_FILE
    arrays = _read_mnist1d_cache(path)
    if arrays is None:
        arrays = generate_mnist1d()
        _write_npz_atomically(path, arrays)
    return tuple(arrays[name] for name in MNIST1D_SHAPES)


def generate_mnist1d() -> dict[str, np.ndarray]:
    """Run ``mnist1d.data.make_dataset`` with its defaults; no files written.

    The generator seeds Python's and NumPy's global random state; both are
    restored afterwards so a caller's random streams are not disturbed.

    Returns
    -------
    dict
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` as in :func:`load_mnist1d`.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        generated = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {
        "X_train": np.asarray(generated["x"], dtype=np.float64),
        "y_train": np.asarray(generated["y"], dtype=np.int64),
        "X_test": np.asarray(generated["x_test"], dtype=np.float64),
        "y_test": np.asarray(generated["y_test"], dtype=np.int64),
    }


def _read_mnist1d_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the file is missing or not as expected."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in MNIST1D_SHAPES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    for name, shape in MNIST1D_SHAPES.items():
        expected_kind = "i" if name.startswith("y") else "f"
        if arrays[name].shape != shape or arrays[name].dtype.kind != expected_kind:
            return None
    return arrays


def _write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` so that readers never see a partial file.

    A cache that cannot be written only costs a regeneration next time, so
    failure is a warning, not an error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as temp_file:
                np.savez(temp_file, **arrays)
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.replace(temp_name, path)
        except BaseException:
            os.unlink(temp_name)
            raise
    except OSError as err:
        warnings.warn(f"could not cache MNIST-1D at {path}: {err}", stacklevel=3)
