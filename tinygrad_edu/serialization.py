"""Saving and loading tensors as safetensors files: no pickle, no code execution.

A safetensors file is an 8-byte header length, a JSON header (each tensor's
dtype, shape and byte range, plus a str -> str ``__metadata__`` table) and the
raw bytes. Unlike a pickle file, loading one cannot run code.

``save`` writes atomically: the bytes go to a temporary file in the target's
folder, are flushed to disk (``fsync``) and only then renamed over the target
(``os.replace``, atomic on POSIX and Windows). A crash mid-write leaves the
previous file intact.

``metadata`` holds what is not a tensor (epoch, optimizer hyperparameters...):
each value is stored as JSON text, so nested dicts, lists and numbers come
back as they went in.
"""

from __future__ import annotations

import json
import os
import uuid

import safetensors
import safetensors.numpy

from . import backend as backends
from .tensor import Tensor


def save(tensors: dict, path, metadata: dict | None = None) -> None:
    """Write ``{name: Tensor or array}`` to ``path`` as a safetensors file.

    Parameters
    ----------
    tensors : dict
        Names (str) to Tensors or arrays of any backend (copied to the host).
    path : str or os.PathLike
        The file to write; its folder must exist. Replaced atomically.
    metadata : dict, optional
        ``{str: JSON-serialisable value}`` stored in the file's header; read
        it back with ``load_metadata``.

    Examples
    --------
    >>> import tinygrad_edu as tg
    >>> from tinygrad_edu import nn
    >>> from tinygrad_edu.serialization import save, load
    >>> import tempfile, os
    >>> model = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save(model.state_dict(), path, metadata={"epoch": 3})
    >>> sorted(load(path))
    ['bias', 'weight']
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    payload = safetensors.numpy.save(_host_arrays(tensors), metadata=_encode_metadata(metadata))
    _write_atomically(path, payload)


def load(path, backend=None, device=None) -> dict:
    """Read a safetensors file into ``{name: Tensor}``.

    The tensors go to ``backend``/``device`` (default: the default backend).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        the file is truncated, corrupt or not a safetensors file (nothing is
        returned: the whole file is checked before any tensor is built).
    """
    arrays = _decode(path, _read(path))
    xp = backends.get_namespace(backend)
    return {name: Tensor(backends.from_numpy(array, xp, device)) for name, array in arrays.items()}


def load_metadata(path) -> dict:
    """The ``metadata`` that ``save`` stored in ``path`` (``{}`` if none).

    Values written by ``save`` come back as the JSON values they were; text
    that is not JSON (from another writer) comes back as a string.
    """
    _check_exists(path)
    try:  # safe_open checks the header and the file's length without reading the data
        with safetensors.safe_open(os.fspath(path), framework="numpy") as file:
            stored = file.metadata() or {}
    except (safetensors.SafetensorError, ValueError, TypeError) as err:
        raise _invalid_file(path, err) from None
    return {key: _json_or_text(text) for key, text in stored.items()}


# ----------------------------------------------------------------- helpers
def _host_arrays(tensors: dict) -> dict:
    if not isinstance(tensors, dict):
        hint = "; pass model.state_dict()" if hasattr(tensors, "state_dict") else ""
        raise TypeError(f"save needs a dict of name -> Tensor, got {type(tensors).__name__}{hint}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {name!r}")
        array = value.data if isinstance(value, Tensor) else value
        try:
            backends.namespace_of(array)
        except TypeError:
            raise TypeError(
                f"save: {name!r} is a {type(value).__name__}, not a Tensor or array; "
                "put non-tensor values in metadata="
            ) from None
        host = backends.to_numpy(array)
        # safetensors writes the memory buffer as is: a transposed view would come back wrong
        arrays[name] = host if host.flags.c_contiguous else host.copy(order="C")
    return arrays


def _encode_metadata(metadata: dict | None) -> dict | None:
    if metadata is None:
        return None
    encoded = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"save: metadata keys must be strings, got {key!r}")
        try:
            encoded[key] = json.dumps(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"save: metadata {key!r} is not JSON-serialisable: {err}") from None
    return encoded


def _json_or_text(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _write_atomically(path: str, payload: bytes) -> None:
    """Write to a fresh temporary file beside ``path``, fsync, then rename over ``path``."""
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    # O_EXCL: never reuse an existing file; mode 0o666 lets the umask decide, as for open()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX only; Windows has no folder descriptors)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _check_exists(path) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")


def _read(path) -> bytes:
    _check_exists(path)
    with open(path, "rb") as file:
        return file.read()


def _invalid_file(path, err: Exception) -> ValueError:
    return ValueError(
        f"{os.fspath(path)!r} is not a valid safetensors file "
        f"(truncated, corrupt or another format): {err}"
    )


def _decode(path, payload: bytes) -> dict:
    """``{name: NumPy array}`` from a file's bytes, or a ValueError naming the file."""
    try:
        return safetensors.numpy.load(payload)
    except (safetensors.SafetensorError, ValueError, TypeError) as err:
        raise _invalid_file(path, err) from None
