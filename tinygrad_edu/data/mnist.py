"""The classic 28x28 MNIST, read from IDX files the user already has.

Nothing is downloaded: put the four files (raw or gzipped) in one folder and
pass that folder to :func:`load_mnist`.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# IDX type byte -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/)
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def load_mnist(
    root: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from the four IDX files in the folder ``root``.

    Each file may be raw or gzipped (``train-images-idx3-ubyte`` or
    ``train-images-idx3-ubyte.gz``); the torchvision layout
    ``root/MNIST/raw/`` is found too.

    Parameters
    ----------
    root : path
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``.

    Returns
    -------
    X_train : ndarray of uint8, shape (60000, 28, 28)
    y_train : ndarray of int64, shape (60000,)
    X_test : ndarray of uint8, shape (10000, 28, 28)
    y_test : ndarray of int64, shape (10000,)
        Pixel values are 0..255; ``X.reshape(len(X), -1) / 255`` gives flat
        features in [0, 1].

    Raises
    ------
    FileNotFoundError
        When the folder or a file is missing; the message lists what to put where.
    ValueError
        When a file is not a valid IDX file or images and labels disagree.
    """
    root = Path(root)
    paths = [_find_file(root, name) for name in MNIST_FILES]
    missing = [name for name, path in zip(MNIST_FILES, paths, strict=True) if path is None]
    if missing:
        where = "is missing" if not root.is_dir() else "lacks " + ", ".join(missing)
        raise FileNotFoundError(
            f"MNIST folder {str(root)!r} {where}. Put the four IDX files "
            f"{', '.join(MNIST_FILES)} (raw or .gz) into {str(root)!r}; "
            "nothing is downloaded."
        )
    X_train, y_train, X_test, y_test = (read_idx(path) for path in paths)
    for images, labels, image_path, label_path in (
        (X_train, y_train, paths[0], paths[1]),
        (X_test, y_test, paths[2], paths[3]),
    ):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{image_path} (shape {images.shape}) and {label_path} "
                f"(shape {labels.shape}) are not matching image and label files"
            )
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)


def _find_file(root: Path, name: str) -> Path | None:
    for folder in (root, root / "MNIST" / "raw"):
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw, or gzipped when the name ends in ``.gz``).

    Returns
    -------
    ndarray
        In the file's shape, with the native-endian version of its dtype.

    Raises
    ------
    ValueError
        Naming the file when its header or length is wrong.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            content = file.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"cannot decompress IDX file {path}: {err}") from None
    if len(content) < 4 or content[:2] != b"\x00\x00" or content[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {content[:4]!r})")
    dtype, ndim = IDX_DTYPES[content[2]], content[3]
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(f"IDX file {path} is truncated inside its header")
    shape = tuple(int(size) for size in np.frombuffer(content, ">u4", ndim, offset=4))
    expected_size = header_size + dtype.itemsize * int(np.prod(shape))
    if len(content) != expected_size:
        raise ValueError(
            f"IDX file {path} holds {len(content)} bytes, but its header "
            f"(shape {shape}, {dtype.name}) needs {expected_size}"
        )
    values = np.frombuffer(content, dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))
