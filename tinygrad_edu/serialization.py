"""Saving and loading tensors as safetensors files: no pickle, no code execution.

A safetensors file is an 8-byte header length, a JSON header (each tensor's
dtype, shape and byte range, plus a str -> str ``__metadata__`` table) and the
raw bytes. Unlike a pickle file, loading one cannot run code.

``save`` writes atomically: the bytes go to a temporary file in the target's
folder, are flushed to disk (``fsync``) and only then renamed over the target
(``os.replace``, atomic on POSIX and Windows). A crash mid-write leaves the
previous file intact. A path that is a symbolic link is written through (the
link's target is replaced, as ``open()`` and ``torch.save`` do); an existing
file keeps its permission bits, and a read-only one (no write bit) is refused
with ``PermissionError``, whoever runs the program. Temporary files are
removed on every exception; those a killed writer left behind (named
``.<name>.<pid>-<uuid>.tmp``, the process gone) are removed by the next save
of the same target.

``load`` reads only regular files, and checks the header length against the
file's size before reading anything else: a device (``/dev/zero``), a FIFO or
a folder is refused with a ValueError naming the path instead of being read
without end.

``metadata`` holds what is not a tensor (epoch, optimizer hyperparameters...):
each value is stored as JSON text, so nested dicts, lists and numbers come
back as they went in.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
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
    payload = safetensors.numpy.save(_host_arrays(tensors), metadata=_encode_metadata(metadata))
    write_atomically(path, payload)


def write_atomically(path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` as ``save`` does (atomically, through links, keeping the mode).

    Raises FileNotFoundError when the folder does not exist, IsADirectoryError
    when ``path`` is a folder and PermissionError when it is a read-only file.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)  # through symbolic links, as open() writes
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    _write_atomically(target, payload, shown=path)


def load(path, backend=None, device=None) -> dict:
    """Read a safetensors file into ``{name: Tensor}``.

    The tensors go to ``backend``/``device`` (default: the default backend).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a regular file (a folder, a device, a FIFO), or the
        file is truncated, corrupt or not a safetensors file (nothing is
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
    with _open_regular(path) as file:
        _check_header_length(path, file)
    try:  # safe_open checks the header and the file's length without reading the data
        with safetensors.safe_open(os.fspath(path), framework="numpy") as file:
            stored = file.metadata() or {}
    except (safetensors.SafetensorError, ValueError, TypeError) as err:
        raise _invalid_file(path, err) from None
    return {key: _json_or_text(path, key, text) for key, text in stored.items()}


# ----------------------------------------------------------------- helpers
def _host_arrays(tensors: dict) -> dict:
    if not isinstance(tensors, dict):
        hint = "; pass model.state_dict()" if hasattr(tensors, "state_dict") else ""
        raise TypeError(f"save needs a dict of name -> Tensor, got {type(tensors).__name__}{hint}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: tensor names must be strings, got {name!r}")
        if name == "__metadata__":  # the header's own key: the file could not be read back
            raise ValueError("save: '__metadata__' is reserved by the safetensors format")
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
        except RecursionError:
            raise ValueError(f"save: metadata {key!r} is nested too deeply for JSON") from None
    return encoded


def _json_or_text(path, key: str, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
    except RecursionError:
        raise ValueError(
            f"{os.fspath(path)!r}: metadata {key!r} is nested too deeply to be read"
        ) from None


def _temporary_pattern(name: str):
    """Our temporary files for target ``name``.

    Group 1 is the writer's pid; names written by older versions lack it and
    count as stale.
    """
    return re.compile(rf"\.{re.escape(name)}\.(?:(\d+)-)?[0-9a-f]{{32}}\.tmp")


def _write_atomically(path: str, payload: bytes, shown: str) -> None:
    """Write to a fresh temporary file beside ``path``, fsync, then rename over ``path``.

    ``path`` has its symbolic links resolved; ``shown`` is the name the caller gave.
    """
    folder, name = os.path.split(path)
    mode = _existing_mode(path, shown)
    _remove_stale_temporaries(folder, name)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
    # O_EXCL: never reuse an existing file; mode 0o666 lets the umask decide, as for open()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:  # an overwritten file keeps its permissions, as with open()
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _sync_folder(folder)


def _existing_mode(path: str, shown: str) -> int | None:
    """The permission bits of the file at ``path`` (None if none); refuse a read-only one."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(f"cannot save to {shown!r}: it is a folder")
    mode = stat.S_IMODE(status.st_mode)
    # checked on the bits, not with os.access: root may write anything, but a 0444 file
    # says "do not overwrite me" (torch.save and open() fail on it for everyone else)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(f"cannot save to {shown!r}: the file is read-only")
    return mode


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Delete temporary files of ``name`` whose writer was killed (its process is gone)."""
    pattern = _temporary_pattern(name)
    for entry in os.listdir(folder):
        match = pattern.fullmatch(entry)
        if match is None or (match.group(1) is not None and _alive(int(match.group(1)))):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(folder, entry))


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":
        # another thread of this process may be writing it; on Windows os.kill(pid, 0)
        # would send Ctrl-C instead of probing, so its temporaries are kept
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: leave it
    return True


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


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (``"a folder"``, ``"a FIFO (named pipe)"``...)."""
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((text for test, text in kinds if test(mode)), "not a regular file")


@contextlib.contextmanager
def _open_regular(path):
    """Open ``path`` for reading only if it is a regular file (checked before and after opening).

    The first check keeps ``open`` from blocking on a FIFO; the second, on
    the open descriptor, catches a file swapped in between.
    """
    _check_exists(path)
    status = os.stat(path)  # follows symbolic links: a link to /dev/zero is a device
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(
            f"{os.fspath(path)!r} is {file_kind(status.st_mode)}, not a safetensors file"
        )
    with open(path, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ValueError(
                f"{os.fspath(path)!r} is {file_kind(status.st_mode)}, not a safetensors file"
            )
        yield file


def _check_header_length(path, file) -> int:
    """The file's size, after checking that its 8-byte header length fits inside it."""
    size = os.fstat(file.fileno()).st_size
    head = file.read(8)
    if len(head) == 8:
        header_length = int.from_bytes(head, "little")
        if 8 + header_length > size:
            raise _invalid_file(
                path, ValueError(f"header of {header_length} bytes in a file of {size} bytes")
            )
    file.seek(0)
    return size


def _read(path) -> bytes:
    with _open_regular(path) as file:
        size = _check_header_length(path, file)
        return file.read(size)  # at most what stat reported, even if the file grows


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
