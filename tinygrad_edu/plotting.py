"""Figures for training runs: learning curves, sweep heatmaps, line plots.

The file's extension picks the format: ``.png``, ``.pdf`` or ``.svg``
(anything else is refused); files are written atomically, as ``tg.save`` does.

Matplotlib is imported only when a function here is called, and only its
object-oriented API is used (``Figure`` with the Agg canvas): no window
opens, nothing needs a display, and a notebook's pyplot backend is left alone.
"""

from __future__ import annotations

import io
import math
import os

from .serialization import write_atomically

CURVE_KEYS = {"loss": "loss", "accuracy": "accuracy", "r2": "R$^2$", "mse": "MSE"}


def _figure(width: float, height: float, columns: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, axes


FIGURE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}


def figure_format(path) -> str:
    """The format that ``path``'s extension names (``"png"``, ``"pdf"``, ``"svg"``).

    Raises ValueError for any other extension, rather than writing PNG bytes
    into a file called ``.pdf``.
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FIGURE_FORMATS:
        raise ValueError(
            f"cannot write a figure to {os.fspath(path)!r}: the name must end in "
            f"{', '.join(list(FIGURE_FORMATS)[:-1])} or {list(FIGURE_FORMATS)[-1]}"
        )
    return FIGURE_FORMATS[extension]


def figure_path(out, default_name: str) -> str:
    """Where ``--out`` asks for a figure: a folder (then ``default_name`` in it) or a file.

    ``out`` is a folder when it exists as one or ends with a path separator;
    otherwise it is the file to write and must end in ``.png``. The folder
    must exist. Errors are ValueErrors that say what to pass instead.
    """
    out = os.fspath(out)
    if os.path.isdir(out) or out.endswith((os.sep, "/")):
        if not os.path.isdir(out):
            raise ValueError(f"--out {out!r}: the folder does not exist")
        return os.path.join(out, default_name)
    if not out.lower().endswith(".png"):
        raise ValueError(f"--out {out!r}: give a folder or a file ending in .png")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise ValueError(f"--out {out!r}: the folder {folder!r} does not exist")
    return out


def _save(figure, path) -> str:
    path = os.fspath(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=figure_format(path), dpi=120)
    write_atomically(path, buffer.getvalue())
    return path


def plot_history(
    history, path, title: str | None = None, loss_name: str = "loss", dropout: bool = False
) -> str:
    """Learning curves: loss on the left, the first metric (accuracy, R^2...) on the right.

    The training curve (solid) is the running average over each epoch's
    batches, measured while the model trained (with dropout on, when
    ``dropout``); the validation curve (dashed) is measured after each epoch
    in evaluation mode. ``loss_name`` labels the loss axis (``"cross-entropy"``,
    ``"MSE"``). A dotted line and a star mark the best validation epoch: the
    highest validation metric (the lowest validation loss when there is no
    metric; ties go to the earliest epoch). Epochs are counted from 1.
    Returns ``path``.
    """
    metric = next((key for key in history if key in CURVE_KEYS and key != "loss"), None)
    panels = ["loss"] + ([metric] if metric else [])
    from matplotlib.ticker import MaxNLocator

    figure, axes = _figure(5.0 * len(panels), 3.8, len(panels))
    epochs = range(1, history.epochs + 1)
    train_label = "train (running average" + (", dropout on)" if dropout else ")")
    best = _best_epoch(history, metric)
    for axis, key in zip(axes, panels, strict=True):
        for name, style, label in ((key, "-", train_label), ("val_" + key, "--", "validation")):
            if name in history:
                axis.plot(epochs, history[name], style, label=label)
        if best is not None and "val_" + key in history:
            axis.axvline(best, color="grey", linestyle=":", linewidth=1)
            axis.plot(
                [best],
                [history["val_" + key][best - 1]],
                "*",
                color="C3",
                markersize=11,
                label=f"best validation epoch ({best})",
            )
        if key == "loss" and min(history["loss"], default=1.0) > 0:
            axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(loss_name if key == "loss" else CURVE_KEYS[key])
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def _best_epoch(history, metric) -> int | None:
    """The best validation epoch (from 1): highest metric, else lowest loss; earliest on ties."""
    lower_is_better = metric is None or metric == "mse"
    key = "val_" + (metric or "loss")
    values = list(history[key]) if key in history else []
    scored = [(v if lower_is_better else -v, e) for e, v in enumerate(values, 1) if v == v]
    return min(scored)[1] if scored else None


def plot_heatmap(
    values,
    row_labels,
    column_labels,
    path,
    xlabel: str,
    ylabel: str,
    title: str = "",
    value_format: str = "{:.3f}",
    best: tuple[int, int] | None = None,
) -> str:
    """A grid of numbers as a coloured heatmap, each cell annotated.

    ``values[i][j]`` belongs to row ``row_labels[i]`` and column
    ``column_labels[j]``; NaN cells (diverged runs) stay blank. ``best =
    (i, j)`` outlines that cell in red and says so under the axis. Returns
    ``path``.
    """
    rows, columns = len(row_labels), len(column_labels)
    figure, (axis,) = _figure(1.2 * columns + 2.5, 0.8 * rows + 1.8)
    masked = [[math.nan if v is None else float(v) for v in row] for row in values]
    image = axis.imshow(masked, cmap="viridis", aspect="auto")
    figure.colorbar(image, ax=axis)
    axis.set_xticks(range(columns), [str(label) for label in column_labels])
    axis.set_yticks(range(rows), [str(label) for label in row_labels])
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    finite = [v for row in masked for v in row if not math.isnan(v)]
    middle = (min(finite) + max(finite)) / 2 if finite else 0.0
    for i, row in enumerate(masked):
        for j, value in enumerate(row):
            text = "diverged" if math.isnan(value) else value_format.format(value)
            colour = "black" if math.isnan(value) or value > middle else "white"
            axis.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)
    if best is not None:
        from matplotlib.patches import Rectangle

        i, j = best
        axis.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)
        )
        axis.set_xlabel(f"{xlabel}\n(red outline: the best cell)")
    if title:
        axis.set_title(title)
    return _save(figure, path)


def plot_curves(
    curves: dict,
    path,
    xlabel: str,
    ylabel: str,
    title: str = "",
    log_y: bool = False,
    points: dict | None = None,
) -> str:
    """Several labelled lines on one axis: ``curves = {label: (x, y)}``.

    ``points`` (optional) adds scatter data, ``{label: (x, y)}``, drawn under
    the lines. Returns ``path``.
    """
    figure, (axis,) = _figure(6.4, 4.2)
    for label, (x, y) in (points or {}).items():
        axis.scatter(x, y, s=6, alpha=0.4, color="grey", label=label)
    for label, (x, y) in curves.items():
        axis.plot(x, y, label=label)
    if log_y:
        axis.set_yscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small")
    if title:
        axis.set_title(title)
    return _save(figure, path)
