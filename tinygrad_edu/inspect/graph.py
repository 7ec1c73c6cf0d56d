"""The computation graph behind a Tensor, as data, text, DOT or a picture.

``graph(loss, params=model)`` walks back from ``loss`` through the Function
that made each tensor (``tensor.grad_fn``) to its inputs, and lists one node
per operation plus one node per leaf (parameters, inputs, constants). Build it
before ``backward()``: a plain backward pass frees the graph.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .. import backend
from ..tensor import Tensor

_SIMPLE = (bool, int, float, str, type(None))


@dataclass
class GraphNode:
    """One tensor of the graph: a leaf, or the output of the operation ``op``.

    ``args`` lists the operation's inputs in order: node ids (int) for tensors
    and ``repr`` strings for Python scalars. ``attrs`` holds the operation's
    simple settings (``axis``, ``keepdims``, ...).
    """

    id: int
    op: str | None
    shape: tuple
    dtype: str
    backend: str
    requires_grad: bool
    is_leaf: bool
    name: str | None = None
    args: tuple = ()
    attrs: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The node's headline: the leaf's name (or "input"), else the op."""
        if self.is_leaf:
            return self.name or ("input" if not self.requires_grad else "leaf")
        return self.op if self.name is None else f"{self.op} ({self.name})"


class Graph:
    """Nodes in topological order (inputs before the operations that use them).

    Attributes
    ----------
    nodes : list of GraphNode
        ``nodes[i].id == i``; the last node is the tensor the graph was built from.
    edges : list of (int, int)
        ``(source, target)``: the output of ``source`` is an input of ``target``.
    """

    def __init__(self, nodes: list, edges: list):
        self.nodes = nodes
        self.edges = edges

    @property
    def ops(self) -> list:
        return [node for node in self.nodes if not node.is_leaf]

    @property
    def leaves(self) -> list:
        return [node for node in self.nodes if node.is_leaf]

    def __str__(self) -> str:
        """One line per node, SSA style: ``%3 = MatMul(%0, %1)  (4, 5) float64``."""
        rows = []
        for node in self.nodes:
            if node.is_leaf:
                what = f"{node.title}  [{'requires_grad' if node.requires_grad else 'no grad'}]"
            else:
                inputs = ", ".join(f"%{a}" if isinstance(a, int) else a for a in node.args)
                settings = "".join(f", {k}={v}" for k, v in node.attrs.items())
                what = f"{node.op}({inputs}{settings})"
                if node.name:
                    what += f"  # {node.name}"
            rows.append((f"%{node.id}", what, f"{node.shape} {node.dtype}"))
        width = max(len(what) for _, what, _ in rows)
        return "\n".join(f"{ref:>4} = {what:<{width}}  {info}" for ref, what, info in rows)

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language (plain text, no dependency).

        Leaves are boxes (grey for constants, blue for tensors that require
        grad), operations are ellipses; edges run from inputs to outputs.
        """
        lines = [
            "digraph computation {",
            "  rankdir=TB;",
            '  node [fontname="Helvetica", fontsize=10];',
        ]
        for node in self.nodes:
            label = f"{node.title}\\n{node.shape} {node.dtype}"
            if node.is_leaf:
                color = "#cfe2ff" if node.requires_grad else "#e9ecef"
                style = f'shape=box, style="rounded,filled", fillcolor="{color}"'
            else:
                style = 'shape=ellipse, style=filled, fillcolor="#fff3cd"'
            lines.append(f'  n{node.id} [label="{_escape(label)}", {style}];')
        lines.extend(f"  n{source} -> n{target};" for source, target in self.edges)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def render(self, path, engine: str = "auto") -> Path:
        """Draw the graph into ``path`` (``.png`` or ``.svg``) and return the path.

        ``engine="dot"`` runs the Graphviz ``dot`` program on :meth:`to_dot`;
        ``"matplotlib"`` draws a layered layout (leaves on top, the output at
        the bottom); ``"auto"`` uses ``dot`` where it is installed.
        """
        path = Path(path)
        file_format = path.suffix.lstrip(".").lower()
        if file_format not in ("png", "svg"):
            raise ValueError(f"render() writes .png or .svg files, got {path.name!r}")
        if engine not in ("auto", "dot", "matplotlib"):
            raise ValueError(f"engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
        dot_program = shutil.which("dot")
        if engine == "dot" and dot_program is None:
            raise RuntimeError("engine='dot' needs the Graphviz 'dot' program on the PATH")
        if engine != "matplotlib" and dot_program is not None:
            subprocess.run(
                [dot_program, f"-T{file_format}", "-o", str(path)],
                input=self.to_dot(),
                text=True,
                check=True,
                capture_output=True,
            )
        else:
            _draw_with_matplotlib(self, path)
        return path

    def depths(self) -> list:
        """The layer of each node: an op sits one below its deepest input and a
        leaf directly above its first consumer."""
        depth = [0] * len(self.nodes)
        inputs = [[] for _ in self.nodes]
        consumers = [[] for _ in self.nodes]
        for source, target in self.edges:
            inputs[target].append(source)
            consumers[source].append(target)
        for node in self.nodes:  # topological order: inputs already have their depth
            if inputs[node.id]:
                depth[node.id] = 1 + max(depth[i] for i in inputs[node.id])
        for node in self.leaves:
            if consumers[node.id]:
                depth[node.id] = min(depth[t] for t in consumers[node.id]) - 1
        return depth


def graph(output: Tensor, params=None) -> Graph:
    """The graph of operations that computed ``output``.

    Parameters
    ----------
    output : Tensor
        Usually a loss. Build the graph before ``backward()`` (which frees it
        unless ``retain_graph=True``).
    params : Module or dict of name -> Tensor, optional
        Names for leaves, e.g. ``"0.weight"`` for an ``nn.Sequential``. A
        tensor's own ``name`` attribute is used too.

    Returns
    -------
    Graph
        With ``nodes``, ``edges``, ``to_dot()``, ``render(path)`` and a readable
        ``str()``.

    Examples
    --------
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> print(tg.graph((x * x).sum(), params={"x": x}))
      %0 = x  [requires_grad]                  (2,) float32
      %1 = Mul(%0, %0)                         (2,) float32
      %2 = Sum(%1, axis=(0,), keepdims=False)  () float32
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"graph() needs a Tensor, got {type(output).__name__}")
    names = _leaf_names(params)
    ids = {}
    nodes, edges = [], []
    for tensor in _inputs_first(output):
        fn = tensor.grad_fn
        parents = fn.parents if fn is not None and fn.parents is not None else ()
        node = GraphNode(
            id=len(nodes),
            op=None if fn is None else fn.name,
            shape=tensor.shape,
            dtype=backend.dtype_name(tensor.dtype),
            backend=tensor.backend,
            requires_grad=tensor.requires_grad,
            is_leaf=fn is None,
            name=tensor.name or names.get(id(tensor)),
            args=tuple(ids[id(p)] if isinstance(p, Tensor) else repr(p) for p in parents),
            attrs={} if fn is None else _settings(fn),
        )
        ids[id(tensor)] = node.id
        nodes.append(node)
        edges.extend((a, node.id) for a in dict.fromkeys(node.args) if isinstance(a, int))
    return Graph(nodes, edges)


def _leaf_names(params) -> dict:
    if params is None:
        return {}
    items = params.named_parameters() if hasattr(params, "named_parameters") else params.items()
    return {id(tensor): name for name, tensor in items}


def _inputs_first(output: Tensor) -> list:
    """Every tensor that ``output`` was computed from, each after its inputs
    (an iterative depth-first search, so deep graphs need no recursion)."""
    order, seen = [], set()
    stack = [(output, False)]
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
        if fn is not None and fn.parents is not None:
            stack.extend(
                (p, False)
                for p in reversed(fn.parents)
                if isinstance(p, Tensor) and id(p) not in seen
            )
    return order


def _settings(fn) -> dict:
    """The op's simple settings (axis, keepdims, bounds...) for labels."""
    settings = {}
    for key, value in vars(fn).items():
        if key.startswith("_") or key in ("parents", "needs_input_grad", "created_at"):
            continue
        if isinstance(value, _SIMPLE) or (
            isinstance(value, tuple) and all(isinstance(v, _SIMPLE) for v in value)
        ):
            settings[key] = value
    return settings


def _escape(text: str) -> str:
    return text.replace('"', '\\"')


def _draw_with_matplotlib(g: Graph, path: Path) -> None:
    """A layered drawing: one row per depth, rows ordered to follow their inputs."""
    from matplotlib.figure import Figure

    depth = g.depths()
    rows: dict = {}
    for node in g.nodes:
        rows.setdefault(depth[node.id], []).append(node.id)
    inputs = {node.id: [s for s, t in g.edges if t == node.id] for node in g.nodes}
    x_of = {}
    for level in sorted(rows):
        row = rows[level]
        # barycentre heuristic: place each node near the mean x of its inputs
        row.sort(key=lambda i: sum(x_of.get(s, 0.0) for s in inputs[i]) / max(len(inputs[i]), 1))
        for position, node_id in enumerate(row):
            x_of[node_id] = position - (len(row) - 1) / 2
    width = max(len(row) for row in rows.values())
    n_levels = max(rows) - min(rows) + 1
    fig = Figure(figsize=(max(4.0, 2.2 * width), max(3.0, 0.95 * n_levels)), dpi=80)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    top = max(rows)

    def point(node_id):
        return x_of[node_id], top - depth[node_id]

    for source, target in g.edges:
        ax.annotate(
            "",
            xy=point(target),
            xytext=point(source),
            arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 16, "shrinkB": 18},
        )
    for node in g.nodes:
        if node.is_leaf:
            color = "#cfe2ff" if node.requires_grad else "#e9ecef"
            box = "round,pad=0.3,rounding_size=0.2"
        else:
            color, box = "#fff3cd", "ellipse,pad=0.25"
        ax.text(
            *point(node.id),
            f"{node.title}\n{str(node.shape)}",
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": box, "facecolor": color, "edgecolor": "#444444"},
        )
    ax.set_xlim(-width / 2, width / 2)
    ax.set_ylim(-0.6, top + 0.6)
    fig.savefig(path)
