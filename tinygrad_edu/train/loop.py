"""``fit`` and ``evaluate``: the training loop every example and the CLI share.

One epoch: for each mini-batch ``(X, y)`` the optimizer's ``step`` gets a
closure that zeroes the gradients, computes ``loss_fn(model(X), y)``, calls
``backward`` and returns the loss. Plain optimizers call it once; LBFGS calls
it as often as its line search needs. Then the validation data is evaluated,
the scheduler steps, early stopping looks at the epoch, and a checkpoint is
written.
"""

from __future__ import annotations

import math
import time

from .. import backend as backends
from ..autograd import no_grad
from ..compile import compile as compile_step
from ..data import DataLoader
from ..optim import LBFGS, NewtonCG
from .checkpoint import load_checkpoint, save_checkpoint
from .early_stopping import EarlyStopping
from .history import History
from .metrics import DEFAULT_METRICS, confusion_matrix, make_metric, predicted_classes

TASKS = ("classification", "regression")


def fit(
    model,
    loss_fn,
    optimizer,
    train_loader,
    val_loader=None,
    epochs: int = 10,
    metrics=None,
    early_stopping: EarlyStopping | int | None = None,
    checkpoint=None,
    resume=None,
    progress: bool = True,
    scheduler=None,
    task: str | None = None,
    extra: dict | None = None,
    compile: bool = False,  # noqa: A002  (the name the API gives it)
) -> History:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch :class:`History`.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(X_batch)``; put in training mode for the training
        batches and in evaluation mode (under ``no_grad``) for validation.
    loss_fn : callable
        ``loss_fn(output, y_batch)`` -> scalar Tensor (``F.cross_entropy``...).
    optimizer : optim.Optimizer
        Its ``step(closure)`` is called once per batch, so optimizers that
        need a closure (LBFGS) work too.
    train_loader, val_loader : DataLoader or iterable of (X, y) Tensor pairs
        ``train_loader.set_epoch(epoch)`` is called before each epoch when it
        exists, so epoch ``e`` sees the same batches in a fresh and in a
        resumed run.
    epochs : int
        Total number of epochs, counting those of a resumed checkpoint.
    metrics : sequence, optional
        Names (``"accuracy"``, ``"mse"``, ``"r2"``), :class:`Metric` objects
        or callables ``fn(output, target) -> float``. Default: accuracy for
        classification, R^2 and MSE for regression.
    early_stopping : EarlyStopping or int, optional
        An int is ``EarlyStopping(patience=int)``: stop when the monitored
        validation value (the first metric's ``val_`` key) has not improved for
        that many epochs, and restore the best epoch's weights at the end.
    checkpoint : path, optional
        Written (atomically) after every epoch: model, optimizer, scheduler,
        early stopping, history and the host random generator (dropout).
    resume : path, optional
        A checkpoint to continue from: training goes on with the epoch after
        the saved one and ends with the same parameters as a run that was
        never interrupted (same seed, same settings).
    progress : bool
        Show a tqdm progress bar (stderr) with the running loss and metrics.
    scheduler : optional
        A learning-rate scheduler stepped once after every epoch.
    task : "classification" or "regression", optional
        Picks the default metrics; inferred from the labels' dtype (integer:
        classification) when ``train_loader`` has a ``y`` array.
    extra : dict, optional
        JSON-ready entries stored in the checkpoint (read them back with
        ``read_checkpoint_metadata(path)["extra"]``).
    compile : bool
        Run each training batch through ``tg.compile`` (captured once per batch
        shape, then replayed; same numbers). Needs an optimizer whose
        ``step()`` takes no closure (not LBFGS or NewtonCG).

    Returns
    -------
    History
        ``history["loss"]``, ``history["val_accuracy"]``... one value per epoch;
        ``history.interrupted`` is True when Ctrl-C stopped the run (after the
        last finished epoch was checkpointed), ``history.stopped_early`` when
        early stopping did.

    Raises
    ------
    FloatingPointError
        The training loss became NaN or infinite (learning rate too large?).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if metrics is None:
        metrics = DEFAULT_METRICS[_resolve_task(task, train_loader)]
    metric_specs = list(metrics)
    train_metrics = [make_metric(spec) for spec in metric_specs]
    val_metrics = [make_metric(spec) for spec in metric_specs] if val_loader is not None else []
    history = _new_history(train_metrics, val_loader is not None)
    stopper = early_stopping
    if isinstance(early_stopping, int):
        stopper = EarlyStopping(patience=early_stopping)
    if stopper is not None:
        if val_loader is None and stopper.monitor is None:
            raise ValueError("early_stopping monitors validation values: pass val_loader too")
        stopper.attach(history)
    start_epoch = 0
    if resume is not None:
        start_epoch, history, _ = load_checkpoint(resume, model, optimizer, scheduler, stopper)
    saved_epochs = start_epoch
    bar = _progress_bar(progress, train_loader, start_epoch, epochs)
    step = _compiled_step(model, loss_fn, optimizer) if compile else None
    try:
        for epoch in range(start_epoch, epochs):
            if stopper is not None and stopper.stopped:
                break
            started = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            set_epoch = getattr(train_loader, "set_epoch", None)
            if set_epoch is not None:
                set_epoch(epoch)
            record = _train_epoch(
                model, loss_fn, optimizer, train_loader, train_metrics, bar, epoch, epochs, step
            )
            if val_loader is not None:
                val_record = _evaluate_loader(model, val_loader, val_metrics, loss_fn)
                record.update({"val_" + key: value for key, value in val_record.items()})
            record["lr"] = lr
            record["time"] = time.perf_counter() - started
            if scheduler is not None:
                scheduler.step()
            stop = stopper is not None and stopper.update(epoch, record, model)
            history.stopped_early = stop
            history.append(record)
            if bar is not None:
                bar.set_postfix_str(_postfix(record, epoch, epochs), refresh=False)
            if checkpoint is not None:
                save_checkpoint(
                    checkpoint, model, optimizer, history.epochs, history, scheduler, stopper, extra
                )
                saved_epochs = history.epochs
            if stop:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        if checkpoint is not None and saved_epochs < history.epochs:
            save_checkpoint(
                checkpoint, model, optimizer, history.epochs, history, scheduler, stopper, extra
            )
    finally:
        if bar is not None:
            bar.close()
    if stopper is not None:
        stopper.restore(model)
    return history


def evaluate(
    model, X, y=None, task: str | None = None, loss_fn=None, batch_size: int = 1024
) -> dict:
    """Metrics of ``model`` on a dataset, computed in evaluation mode under ``no_grad``.

    Parameters
    ----------
    model : nn.Module
    X : array, Tensor or DataLoader
        Inputs (then ``y`` holds the targets), or a loader of ``(X, y)`` batches.
    y : array or Tensor, optional
        Targets when ``X`` is not a loader.
    task : "classification" or "regression", optional
        Default: classification for integer targets, regression otherwise.
    loss_fn : callable, optional
        Also report ``loss``: the sample-weighted mean of ``loss_fn`` over batches.
    batch_size : int
        Batch size when ``X`` is an array.

    Returns
    -------
    dict
        classification: ``accuracy`` (float) and ``confusion_matrix`` (NumPy
        int64 array; row = true class, column = predicted class);
        regression: ``mse`` and ``r2``; plus ``loss`` with ``loss_fn``.
        The model's training/evaluation mode is left as it was.
    """
    if y is None and hasattr(X, "shape"):
        raise ValueError("evaluate got an array X without its targets y")
    loader = X if y is None else _loader_for(model, X, y, batch_size)
    task = _resolve_task(task, loader)
    metrics = [make_metric(name) for name in DEFAULT_METRICS[task]]
    counts = [] if task == "classification" else None
    results = _evaluate_loader(model, loader, metrics, loss_fn, counts)
    if counts:
        total = counts[0]
        for batch_counts in counts[1:]:
            total = total + batch_counts
        results["confusion_matrix"] = backends.to_numpy(total)
    return results


# ------------------------------------------------------------------ internals
def _compiled_step(model, loss_fn, optimizer):
    """One training batch as a ``tg.compile`` step: returns (loss, output before the update)."""
    if isinstance(optimizer, (LBFGS, NewtonCG)):
        raise ValueError(
            f"fit(compile=True) needs an optimizer whose step() takes no closure; "
            f"{type(optimizer).__name__} re-evaluates the loss inside step()"
        )

    def train_step(X_batch, y_batch):
        optimizer.zero_grad()
        output = model(X_batch)
        loss = loss_fn(output, y_batch)
        loss.backward()
        optimizer.step()
        return loss, output

    return compile_step(train_step)


def _train_epoch(model, loss_fn, optimizer, loader, metrics, bar, epoch, epochs, step=None):
    model.train()
    for metric in metrics:
        metric.reset()
    loss_total, count = 0.0, 0
    for batch_number, (X_batch, y_batch) in enumerate(loader):
        first_output = []

        def closure(X_batch=X_batch, y_batch=y_batch, first_output=first_output):
            optimizer.zero_grad()
            output = model(X_batch)
            loss = loss_fn(output, y_batch)
            loss.backward()
            if not first_output:
                first_output.append(output.detach())
            return loss

        if step is None:
            loss = float(optimizer.step(closure))
        else:
            loss, output = step(X_batch, y_batch)
            loss = float(loss)
            first_output.append(output)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss} in epoch {epoch}, batch {batch_number}; "
                "try a smaller learning rate"
            )
        n = int(y_batch.shape[0])
        loss_total += loss * n
        count += n
        for metric in metrics:
            metric.update(first_output[0], y_batch)
        if bar is not None:
            bar.update(1)
            running = {"loss": loss_total / count} | {m.name: m.compute() for m in metrics}
            bar.set_postfix_str(_postfix(running, epoch, epochs), refresh=False)
    record = {"loss": loss_total / count if count else math.nan}
    record.update({metric.name: metric.compute() for metric in metrics})
    return record


def _evaluate_loader(model, loader, metrics, loss_fn=None, confusion_counts=None) -> dict:
    was_training = model.training
    model.eval()
    for metric in metrics:
        metric.reset()
    loss_total, count = 0.0, 0
    try:
        with no_grad():
            for X_batch, y_batch in loader:
                output = model(X_batch)
                n = int(y_batch.shape[0])
                if loss_fn is not None:
                    loss_total += float(loss_fn(output, y_batch)) * n
                count += n
                for metric in metrics:
                    metric.update(output, y_batch)
                if confusion_counts is not None:
                    classes = output.shape[1] if output.ndim == 2 else 2
                    confusion_counts.append(
                        confusion_matrix(y_batch.data, predicted_classes(output), classes)
                    )
    finally:
        model.train(was_training)
    results = {"loss": loss_total / count if count else math.nan} if loss_fn is not None else {}
    results.update({metric.name: metric.compute() for metric in metrics})
    return results


def _new_history(train_metrics, has_validation: bool) -> History:
    if has_validation and train_metrics:
        first = train_metrics[0]
        return History("val_" + first.name, first.higher_is_better)
    return History("val_loss" if has_validation else "loss", higher_is_better=False)


def _resolve_task(task, loader) -> str:
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        return task
    labels = getattr(loader, "y", None)
    if labels is None:
        raise ValueError(
            "cannot infer the task from this loader: pass task='classification' "
            "or task='regression'"
        )
    return "classification" if labels.dtype.kind in "iub" else "regression"


def _loader_for(model, X, y, batch_size: int) -> DataLoader:
    """A DataLoader in order, on the backend, device and dtype of the model's parameters."""
    first = next(iter(model.parameters()), None)
    if first is None:
        return DataLoader(X, y, batch_size, shuffle=False)
    return DataLoader(
        X,
        y,
        batch_size,
        shuffle=False,
        backend=first.backend,
        device=first.device,
        dtype=backends.dtype_name(first.dtype),
    )


def _progress_bar(progress: bool, loader, start_epoch: int, epochs: int):
    if not progress or start_epoch >= epochs:
        return None
    from tqdm.auto import tqdm

    try:
        batches = len(loader)
    except TypeError:
        batches = None
    total = None if batches is None else batches * (epochs - start_epoch)
    return tqdm(total=total, unit="batch", dynamic_ncols=True)


def _postfix(values: dict, epoch: int, epochs: int) -> str:
    shown = (f"{key} {value:.4g}" for key, value in values.items() if key not in ("lr", "time"))
    return f"epoch {epoch + 1}/{epochs} " + " ".join(shown)
