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
    ValueError
        The file is not a safetensors file, or not a training checkpoint.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {os.fspath(path)!r} does not exist")
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
    """Restore a run saved by :func:`save_checkpoint`.

    Loads the model's and optimizer's state, the scheduler's and early
    stopping's counters and the host random generator, in that order; a
    mismatch (other layer sizes, another optimizer) raises before the host
    generator is touched.

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
    if metadata["optimizer_class"] != type(optimizer).__name__:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} was written with {metadata['optimizer_class']}, "
            f"not {type(optimizer).__name__}"
        )
    tensors = serialization.load(path, backend="numpy")
    model.load_state_dict(_with_prefix(tensors, MODEL_PREFIX))
    optimizer.load_flat_state(tensors, metadata, prefix=OPTIMIZER_PREFIX)
    if scheduler is not None and metadata["scheduler"] is not None:
        scheduler.load_state_dict(metadata["scheduler"])
    if early_stopping is not None and metadata["early_stopping"] is not None:
        early_stopping.load_state_dict(metadata["early_stopping"])
        best = _with_prefix(tensors, BEST_PREFIX)
        early_stopping.best_weights = {name: t.data for name, t in best.items()} or None
    backends.host_random().bit_generator.state = metadata["host_random_state"]
    return metadata["epoch"], History.from_dict(metadata["history"]), metadata["extra"]


def _with_prefix(tensors: dict, prefix: str) -> dict:
    return {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}
