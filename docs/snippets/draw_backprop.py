"""Draw the back-propagation figure: forward values and errors of a 3-layer network.

Run from the repository root to regenerate ``docs/images/backprop-network.png``::

    python docs/snippets/draw_backprop.py

The top row is the forward pass, ``a^0 -> z^1 -> a^1 -> ... -> a^L -> C``;
the red arrows below it carry the errors ``delta^l = dC/dz^l`` back, and the
labels under each layer give the parameter gradients computed from them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure

IMAGES = Path(__file__).resolve().parent.parent / "images"
LAYERS = 3
FORWARD_COLOR, BACKWARD_COLOR = "#333333", "#c0392b"
VALUE_COLOR, PRE_COLOR, COST_COLOR = "#cfe2ff", "#fff3cd", "#f8d7da"


def forward_nodes(layers: int) -> list[tuple[str, str]]:
    """(label, fill color) of the forward chain a^0, z^1, a^1, ..., a^L, C."""
    nodes = [(r"$a^0$", VALUE_COLOR)]
    for l in range(1, layers + 1):
        nodes.append((rf"$z^{l}$", PRE_COLOR))
        nodes.append((rf"$a^{l}$", VALUE_COLOR))
    nodes.append((r"$C$", COST_COLOR))
    return nodes


def draw(path: Path, layers: int = LAYERS) -> None:
    nodes = forward_nodes(layers)
    fig = Figure(figsize=(1.3 * len(nodes) + 0.4, 4.4), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    y_forward, y_label = 1.0, 0.0
    for x, (label, color) in enumerate(nodes):
        ax.text(
            x,
            y_forward,
            label,
            ha="center",
            va="center",
            fontsize=18,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": color, "edgecolor": "#444444"},
        )
    for x in range(len(nodes) - 1):
        l = x // 2 + 1
        if x == len(nodes) - 2:
            step = "cost"
        elif x % 2 == 0:
            step = rf"$\cdot W^{l} + b^{l}$"
        else:
            step = r"$f$"
        ax.annotate(
            "",
            xy=(x + 1, y_forward),
            xytext=(x, y_forward),
            arrowprops={"arrowstyle": "-|>", "color": FORWARD_COLOR, "shrinkA": 26, "shrinkB": 26},
        )
        ax.text(x + 0.5, y_forward + 0.2, step, ha="center", fontsize=16, color=FORWARD_COLOR)
    for l in range(layers, 0, -1):
        z_column = 2 * l - 1
        source = z_column + 2  # z^{l+1}, or the cost C for the output layer
        text = (
            rf"$\delta^{l} = f'(z^{l}) \odot \partial C / \partial a^{l}$"
            if l == layers
            else rf"$\delta^{l} = (\delta^{l + 1} W^{{{l + 1}\,T}}) \odot f'(z^{l})$"
        )
        ax.annotate(
            "",
            xy=(z_column, y_forward - 0.2),
            xytext=(source, y_forward - 0.2),
            arrowprops={
                "arrowstyle": "-|>",
                "color": BACKWARD_COLOR,
                "linestyle": "--",
                "shrinkA": 18,
                "shrinkB": 18,
                "connectionstyle": "arc3,rad=-0.3",
            },
        )
        ax.text(z_column, y_label + 0.3, text, ha="center", fontsize=15, color=BACKWARD_COLOR)
        ax.text(
            z_column,
            y_label + 0.02,
            rf"$\partial C/\partial W^{l} = a^{{{l - 1}\,T}} \delta^{l}$",
            ha="center",
            fontsize=15,
            color=BACKWARD_COLOR,
        )
        ax.text(
            z_column,
            y_label - 0.3,
            rf"$\partial C/\partial b^{l} = \sum_i \delta^{l}_i$",
            ha="center",
            fontsize=15,
            color=BACKWARD_COLOR,
        )
    ax.set_xlim(-0.7, len(nodes) - 0.3)
    ax.set_ylim(-0.42, 1.42)
    fig.savefig(path)


def main(out_dir: Path = IMAGES) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "backprop-network.png"
    draw(path)
    return [path]


if __name__ == "__main__":
    for written in main(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(written)
