"""Draw the graph figures of the docs from graphs that tinygrad_edu really records.

Run from the repository root to regenerate the PNGs in ``docs/images/``::

    python docs/snippets/draw_graphs.py

Each figure starts from a loss computed with tinygrad_edu, walks back through
``tensor.grad_fn.parents`` (the same walk the backward pass makes), and lays
the graph out left to right: leaves on the left, the loss on the right. Blue
boxes require grad, grey boxes are constants, yellow ellipses are operations.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure

import tinygrad_edu as tg

IMAGES = Path(__file__).resolve().parent.parent / "images"
LEAF_GRAD, LEAF_CONST, OP_COLOR = "#cfe2ff", "#e9ecef", "#fff3cd"
FORWARD_COLOR, BACKWARD_COLOR = "#333333", "#c0392b"


def count_consumers(roots) -> dict:
    """id(tensor) -> how many graph edges lead into it (gradient contributions it receives)."""
    counts, seen, stack = {}, {id(root) for root in roots}, list(roots)
    while stack:
        fn = stack.pop().grad_fn
        if fn is None or fn.parents is None:
            continue
        for parent, needs in zip(fn.parents, fn.needs_input_grad):
            if needs:
                counts[id(parent)] = counts.get(id(parent), 0) + 1
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
    return counts


def graph_of(loss: tg.Tensor) -> tuple[list, list]:
    """Tensors behind ``loss`` (inputs before the ops that use them) and edges.

    An edge ``(parent, child)`` means ``parent`` is an input of the operation
    that produced ``child``.
    """
    order, edges, seen = [], [], set()
    stack = [(loss, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        fn = tensor.grad_fn
        parents = [p for p in (fn.parents if fn is not None else ()) if isinstance(p, tg.Tensor)]
        edges.extend((p, tensor) for p in dict.fromkeys(parents))
        stack.extend((p, False) for p in reversed(parents))
    return order, edges


def layout(order: list, edges: list) -> dict:
    """Column = longest path from a leaf; leaves sit just left of their first user."""
    column = {}
    for tensor in order:
        inputs = [column[id(p)] for p, c in edges if c is tensor]
        column[id(tensor)] = 1 + max(inputs) if inputs else 0
    for tensor in order:
        if tensor.grad_fn is None:
            users = [column[id(c)] for p, c in edges if p is tensor]
            column[id(tensor)] = min(users) - 1
    by_column: dict = {}
    for tensor in order:
        by_column.setdefault(column[id(tensor)], []).append(tensor)
    position = {}
    for col, tensors in by_column.items():
        for row, tensor in enumerate(tensors):
            position[id(tensor)] = (col, (len(tensors) - 1) / 2 - row)
    return position


def draw(loss: tg.Tensor, names: dict, path: Path, show_backward: bool = False) -> None:
    """Draw the graph of ``loss``; ``names`` maps leaf tensors to labels.

    With ``show_backward`` every node that needs a gradient is annotated with
    the number of gradient contributions it waits for (its consumers), and red
    arrows show the gradients flowing back along each edge.
    """
    order, edges = graph_of(loss)
    position = layout(order, edges)
    consumers = count_consumers([loss])
    columns = max(x for x, _ in position.values()) + 1
    rows = max(sum(1 for x, _ in position.values() if x == c) for c in range(columns))
    fig = Figure(figsize=(1.9 * columns + 0.6, 1.15 * rows + 1.0), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    labels = {}
    for tensor in order:
        x, y = position[id(tensor)]
        fn = tensor.grad_fn
        shape = str(tensor.shape)
        if fn is None:
            label = f"{names.get(id(tensor), 'input')}\n{shape}"
            color = LEAF_GRAD if tensor.requires_grad else LEAF_CONST
            box = "round,pad=0.35"
        else:
            label = f"{fn.name}\n{shape}"
            color, box = OP_COLOR, "ellipse,pad=0.3"
        labels[id(tensor)] = ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=10,
            bbox={"boxstyle": box, "facecolor": color, "edgecolor": "#444444"},
        )
        if show_backward and id(tensor) in consumers:
            ax.text(
                x,
                y + 0.38,
                f"waits for {consumers[id(tensor)]}",
                ha="center",
                fontsize=8,
                color=BACKWARD_COLOR,
            )
    for parent, child in edges:
        (x0, y0), (x1, y1) = position[id(parent)], position[id(child)]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": FORWARD_COLOR,
                "patchA": labels[id(parent)].get_bbox_patch(),  # clipped to the outlines,
                "patchB": labels[id(child)].get_bbox_patch(),  # so every arrowhead shows
                "shrinkA": 2,
                "shrinkB": 2,
                "mutation_scale": 14,
            },
        )
        if show_backward and parent.requires_grad:
            ax.annotate(
                "",
                xy=(x0, y0 - 0.12),
                xytext=(x1, y1 - 0.12),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": BACKWARD_COLOR,
                    "linestyle": "--",
                    "shrinkA": 30,
                    "shrinkB": 30,
                    "connectionstyle": "arc3,rad=0.15",
                },
            )
    if show_backward:
        ax.text(
            -0.5,
            -rows / 2 + 0.05,
            "black: forward values    red, dashed: gradients",
            fontsize=8,
            color=BACKWARD_COLOR,
        )
    ax.set_xlim(-0.6, columns - 0.4)
    ax.set_ylim(-rows / 2 - 0.1, rows / 2 + 0.1)
    fig.savefig(path)


def recorded_graph(path: Path) -> None:
    """loss = sum(tanh(x * w + b)): the first example of the autodiff page."""
    x = tg.tensor([1.0, 2.0, 3.0])
    w = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = tg.tensor(0.1, requires_grad=True)
    loss = (x * w + b).tanh().sum()
    draw(loss, {id(x): "x", id(w): "w", id(b): "b"}, path)


def diamond_graph(path: Path) -> None:
    """loss = sum(sin(x) * cos(x)): x feeds two consumers, its gradient is a sum."""
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    loss = (x.sin() * x.cos()).sum()
    draw(loss, {id(x): "x"}, path, show_backward=True)


def main(out_dir: Path = IMAGES) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "autodiff-graph.png", out_dir / "autodiff-diamond.png"]
    recorded_graph(paths[0])
    diamond_graph(paths[1])
    return paths


if __name__ == "__main__":
    for written in main(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(written)
