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


def _save(figure, path) -> str:
    path = os.fspath(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=figure_format(path), dpi=120)
    write_atomically(path, buffer.getvalue())
    return path


def plot_history(history, path, title: str | None = None) -> str:
    """Learning curves: loss on the left, the first metric (accuracy, R^2...) on the right.

    Training curves are solid, validation curves (``val_`` keys) dashed;
    epochs are counted from 1. Returns ``path``.
    """
    metric = next((key for key in history if key in CURVE_KEYS and key != "loss"), None)
    panels = ["loss"] + ([metric] if metric else [])
    from matplotlib.ticker import MaxNLocator

    figure, axes = _figure(5.0 * len(panels), 3.8, len(panels))
    epochs = range(1, history.epochs + 1)
    for axis, key in zip(axes, panels, strict=True):
        for name, style, label in ((key, "-", "train"), ("val_" + key, "--", "validation")):
            if name in history:
                axis.plot(epochs, history[name], style, label=label)
        if key == "loss" and min(history["loss"], default=1.0) > 0:
            axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(CURVE_KEYS[key])
        axis.grid(True, alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_heatmap(
    values,
    row_labels,
    column_labels,
    path,
    xlabel: str,
    ylabel: str,
    title: str = "",
    value_format: str = "{:.3f}",
) -> str:
    """A grid of numbers as a coloured heatmap, each cell annotated.

    ``values[i][j]`` belongs to row ``row_labels[i]`` and column
    ``column_labels[j]``; NaN cells (diverged runs) stay blank. Returns ``path``.
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
