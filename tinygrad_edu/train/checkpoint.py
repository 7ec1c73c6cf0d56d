"""Training checkpoints: everything a run needs to continue bit for bit.

One safetensors file (written atomically by ``tinygrad_edu.serialization``)
holds

* tensors: ``model.<name>`` (parameters and buffers), the optimizer's arrays
  (``optimizer.state.<index>.<key>``) and, with early stopping,
  ``early_stopping.<name>`` (the best epoch's weights);
* metadata (JSON): the number of finished epochs, the history, the optimizer's
  layout and hyperparameters, the scheduler's and early stopping's counters,
  the host random generator's state (dropout masks) and the caller's own
  ``extra`` entries (the command line stores its settings there).

Data order needs nothing more: ``fit`` calls ``loader.set_epoch(epoch)``
before each epoch, and a DataLoader's order depends only on its seed and
the epoch.
"""

from __future__ import annotations

import os
import stat

from .. import backend as backends
from .. import serialization
from .early_stopping import EarlyStopping
from .history import History

FORMAT = "tinygrad_edu.train.checkpoint"
VERSION = 1
MODEL_PREFIX = "model."
OPTIMIZER_PREFIX = "optimizer."
BEST_PREFIX = "early_stopping."


def save_checkpoint(
    path,
    model,
    optimizer,
    epoch: int,
    history: History,
    scheduler=None,
    early_stopping: EarlyStopping | None = None,
    extra: dict | None = None,
) -> None:
    """Write the training state after ``epoch`` finished epochs to ``path`` (atomically)."""
    tensors = {MODEL_PREFIX + name: t for name, t in model.state_dict().items()}
    optimizer_tensors, optimizer_layout = optimizer.flat_state(prefix=OPTIMIZER_PREFIX)
    tensors.update(optimizer_tensors)
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": epoch,
        "history": history.to_dict(),
        "optimizer_class": type(optimizer).__name__,
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "early_stopping": None,
        "host_random_state": backends.host_random().bit_generator.state,
        "extra": extra or {},
        **optimizer_layout,
    }
    if early_stopping is not None:
        metadata["early_stopping"] = early_stopping.state_dict()
        for name, array in (early_stopping.best_weights or {}).items():
            tensors[BEST_PREFIX + name] = array
    serialization.save(tensors, path, metadata=metadata)


def read_checkpoint_metadata(path) -> dict:
    """The metadata of a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    IsADirectoryError
        ``path`` is a folder.
    ValueError
        ``path`` is not a regular file, not a safetensors file, or not a
        training checkpoint.
    """
    name = os.fspath(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"checkpoint {name!r} does not exist")
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {name!r} is a symbolic link to a missing file")
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"checkpoint {name!r} is a folder, not a checkpoint file")
    if not stat.S_ISREG(mode):
        raise ValueError(f"checkpoint {name!r} is {serialization.file_kind(mode)}, not a file")
    metadata = serialization.load_metadata(path)
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{os.fspath(path)!r} is a safetensors file but not a training checkpoint "
            "(written by tinygrad_edu.train.fit(checkpoint=...))"
        )
    if metadata.get("version") != VERSION:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} has format version {metadata.get('version')}; "
            f"this tinygrad_edu reads version {VERSION}"
        )
    return metadata


def load_checkpoint(
    path, model, optimizer, scheduler=None, early_stopping: EarlyStopping | None = None
) -> tuple[int, History, dict]:
    """Restore a run saved by :func:`save_checkpoint`, all or nothing.

    Everything is checked first: the metadata's types (epoch, history,
    scheduler and early-stopping counters, the random generator's state),
    the model's tensors (names, shapes, dtypes), the optimizer's class,
    layout and hyperparameters. Only then are the model, the optimizer, the
    scheduler, early stopping and the host random generator set, so a
    mismatch or an edited file raises a ValueError (KeyError for missing
    model entries) naming the file and leaves every object as it was.

    Returns
    -------
    epoch : int
        Finished epochs: training continues with epoch ``epoch``.
    history : History
        The history so far.
    extra : dict
        The ``extra`` entries given to :func:`save_checkpoint`.
    """
    metadata = read_checkpoint_metadata(path)
    name = os.fspath(path)
    epoch, history, extra = _checked_metadata(name, metadata, scheduler, early_stopping)
    if metadata["optimizer_class"] != type(optimizer).__name__:
        raise ValueError(
            f"checkpoint {name!r} was written with {metadata['optimizer_class']}, "
            f"not {type(optimizer).__name__}"
        )
    tensors = serialization.load(path, backend="numpy")
    try:
        model_arrays, _, _ = model.checked_state_dict(_with_prefix(tensors, MODEL_PREFIX))
        optimizer_state = optimizer.checked_flat_state(tensors, metadata, prefix=OPTIMIZER_PREFIX)
        best = _with_prefix(tensors, BEST_PREFIX)
        if best:
            model.checked_state_dict(best)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise ValueError(f"checkpoint {name!r} does not fit this run: {message}") from None
    # ---- every check passed: now change things
    for target, array in model_arrays:
        target.data = array
    optimizer.state, optimizer.param_groups = optimizer_state
    if scheduler is not None and metadata["scheduler"] is not None:
        scheduler.load_state_dict(metadata["scheduler"])
    if early_stopping is not None and metadata["early_stopping"] is not None:
        early_stopping.load_state_dict(metadata["early_stopping"])
        early_stopping.best_weights = {key: t.data for key, t in best.items()} or None
    backends.host_random().bit_generator.state = metadata["host_random_state"]
    return epoch, history, extra


def _checked_metadata(name: str, metadata: dict, scheduler, early_stopping):
    """``(epoch, history, extra)`` after checking the type of every metadata entry."""

    def fail(what: str):
        return ValueError(f"checkpoint {name!r}: {what} (was the file edited?)")

    for key in ("epoch", "history", "optimizer_class", "host_random_state", "extra"):
        if key not in metadata:
            raise fail(f"the entry {key!r} is missing")
    epoch = metadata["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise fail(f"'epoch' must be a non-negative integer, got {epoch!r}")
    if not isinstance(metadata["optimizer_class"], str):
        raise fail(f"'optimizer_class' must be a name, got {metadata['optimizer_class']!r}")
    if not isinstance(metadata["extra"], dict):
        raise fail(f"'extra' must be a dict, got {type(metadata['extra']).__name__}")
    history = _checked_history(metadata["history"], epoch, fail)
    for key, live in (("scheduler", scheduler), ("early_stopping", early_stopping)):
        saved = metadata.get(key)
        if saved is not None and live is not None:
            _check_like(saved, live.state_dict(), key, fail)
    generator = backends.host_random()
    try:  # on a throwaway generator of the same kind: the real one is set last
        type(generator.bit_generator)().state = metadata["host_random_state"]
    except (TypeError, ValueError, KeyError) as err:
        raise fail(f"'host_random_state' is not a random generator state ({err})") from None
    return epoch, history, metadata["extra"]


def _checked_history(data, epoch: int, fail) -> History:
    if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
        raise fail("'history' is not a history")
    if data.get("epochs") != epoch:
        raise fail(f"'history' has {data.get('epochs')!r} epochs, 'epoch' says {epoch}")
    for key, values in data["values"].items():
        if (
            not isinstance(values, list)
            or len(values) != epoch
            or not all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                for v in values
            )
        ):
            raise fail(f"history {key!r} must be {epoch} numbers")
    try:
        return History.from_dict(data)
    except (KeyError, TypeError, ValueError) as err:
        raise fail(f"'history' is not a history ({err!r})") from None


def _check_like(saved, template, where: str, fail) -> None:
    """``saved`` (from JSON) has ``template``'s keys and kinds of values, recursively."""
    if isinstance(template, dict):
        if not isinstance(saved, dict) or set(saved) != set(template):
            raise fail(f"{where!r} does not hold the entries {sorted(template)}")
        for key, value in template.items():
            _check_like(saved[key], value, f"{where}.{key}", fail)
    elif isinstance(template, (list, tuple)):
        if not isinstance(saved, list) or len(saved) != len(template):
            raise fail(f"{where!r} must be a list of {len(template)} entries")
        for number, (item, value) in enumerate(zip(saved, template, strict=True)):
            _check_like(item, value, f"{where}.{number}", fail)
    elif template is None or saved is None:
        return  # unset counters (best_epoch before the first epoch) are None
    elif (
        isinstance(template, bool) != isinstance(saved, bool)
        or (isinstance(template, (int, float)) and not isinstance(saved, (int, float)))
        or (isinstance(template, str) and not isinstance(saved, str))
    ):
        raise fail(f"{where!r} is {saved!r}, expected a value like {template!r}")


def _with_prefix(tensors: dict, prefix: str) -> dict:
    return {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}
