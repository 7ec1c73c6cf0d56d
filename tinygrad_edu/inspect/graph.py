"""The computation graph behind a Tensor, as data, text, DOT or a picture.

``graph(loss, params=model)`` walks back from ``loss`` through the Function
that made each tensor (``tensor.grad_fn``) to its inputs, and lists one node
per operation plus one node per leaf (parameters, inputs, constants). Build it
before ``backward()``: a plain backward pass frees the graph (the listing then
says so instead of printing a node without inputs).

In a notebook a graph draws itself (``_repr_svg_``): with Graphviz's ``dot``
where it is installed, otherwise with matplotlib.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .. import backend
from ..tensor import Tensor

_SIMPLE = (bool, int, float, str, type(None))
_HIDDEN = ("sequence",)  # bookkeeping of the engine, listed only when asked
_NOT_SETTINGS = ("parents", "inputs", "needs_input_grad", "created_at", "F")
_ALIGN_AT_MOST = 60  # a longer line pushes its own shape column, not everyone's
FREED = (
    "this graph was freed by backward(); print it before, or pass retain_graph=True "
    "to backward() to keep it"
)


@dataclass
class GraphNode:
    """One tensor of the graph: a leaf, or the output of the operation ``op``.

    ``args`` lists the operation's inputs in order: node ids (int) for tensors,
    ``"const (8, 64) float64"`` for a raw array that entered as a constant, and
    ``repr`` strings for Python scalars. ``attrs`` holds the operation's simple
    settings (``axis``, ``keepdims``, ...) and its creation ``sequence``.
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
    freed : bool
        True when ``backward()`` had already freed the graph: ``nodes`` then
        holds only the output, and ``str()`` says so.
    """

    def __init__(self, nodes: list, edges: list, freed: bool = False):
        self.nodes = nodes
        self.edges = edges
        self.freed = freed

    @property
    def ops(self) -> list:
        return [node for node in self.nodes if not node.is_leaf]

    @property
    def leaves(self) -> list:
        return [node for node in self.nodes if node.is_leaf]

    def __str__(self) -> str:
        """One line per node, SSA style: ``%3 = MatMul(%0, %1)  (4, 5) float64``."""
        return self.listing()

    def listing(self, sequence: bool = False) -> str:
        """The text of ``str(graph)``; ``sequence=True`` adds each op's creation number.

        The shape column is aligned to the longest line up to 60 characters;
        a longer line pushes only its own shape to the right.
        """
        if self.freed:
            return FREED
        rows = []
        for node in self.nodes:
            if node.is_leaf:
                what = f"{node.title}  [{'requires_grad' if node.requires_grad else 'no grad'}]"
            else:
                inputs = ", ".join(f"%{a}" if isinstance(a, int) else a for a in node.args)
                settings = "".join(
                    f", {k}={v}" for k, v in node.attrs.items() if sequence or k not in _HIDDEN
                )
                what = f"{node.op}({inputs}{settings})"
                if node.name:
                    what += f"  # {node.name}"
            rows.append((f"%{node.id}", what, f"{node.shape} {node.dtype}"))
        width = min(max(len(what) for _, what, _ in rows), _ALIGN_AT_MOST)
        ref_width = max(len(ref) for ref, _, _ in rows)
        return "\n".join(
            f"{ref:>{ref_width}} = {what:<{width}}  {info}" for ref, what, info in rows
        )

    def _repr_svg_(self) -> str:
        """Jupyter's hook: the drawing as SVG text (see :meth:`to_svg`)."""
        return self.to_svg()

    def to_svg(self, engine: str = "auto") -> str:
        """The drawing of :meth:`render` as SVG text, without a file."""
        self._check_not_freed()
        engine = _pick_engine(engine)
        if engine == "dot":
            return _run_dot(self.to_dot(), "svg").decode("utf-8")
        buffer = io.StringIO()
        _draw_with_matplotlib(self, buffer, "svg")
        return buffer.getvalue()

    def _check_not_freed(self) -> None:
        if self.freed:
            raise RuntimeError(FREED)

    def to_dot(self) -> str:
        """The graph in Graphviz's DOT language (plain text, no dependency).

        Leaves are boxes (grey for constants, blue for tensors that require
        grad), operations are ellipses; edges run from inputs to outputs.
        """
        self._check_not_freed()
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
        self._check_not_freed()
        if _pick_engine(engine) == "dot":
            path.write_bytes(_run_dot(self.to_dot(), file_format))
        else:
            _draw_with_matplotlib(self, path, file_format)
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
    fn = output.grad_fn
    if fn is not None and fn.parents is None:  # backward() dropped the inputs of every node
        node = GraphNode(
            0,
            fn.name,
            output.shape,
            backend.dtype_name(output.dtype),
            output.backend,
            output.requires_grad,
            False,
            output.name,
        )
        return Graph([node], [], freed=True)
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
            args=tuple(ids[id(p)] if isinstance(p, Tensor) else _constant(p) for p in parents),
            attrs={} if fn is None else _settings(fn),
        )
        ids[id(tensor)] = node.id
        nodes.append(node)
        edges.extend((a, node.id) for a in dict.fromkeys(node.args) if isinstance(a, int))
    return Graph(nodes, edges)


def _constant(value) -> str:
    """How a non-Tensor input reads in the listing: arrays by shape and dtype."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"const {tuple(value.shape)} {backend.dtype_name(value.dtype)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _pick_engine(engine: str) -> str:
    """The engine to use, "dot" or "matplotlib" ("auto": dot where installed)."""
    if engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
    if engine == "dot" and shutil.which("dot") is None:
        raise RuntimeError("engine='dot' needs the Graphviz 'dot' program on the PATH")
    if engine == "auto":
        return "dot" if shutil.which("dot") is not None else "matplotlib"
    return engine


def _run_dot(dot_text: str, file_format: str) -> bytes:
    result = subprocess.run(
        [shutil.which("dot"), f"-T{file_format}"],
        input=dot_text.encode("utf-8"),
        check=True,
        capture_output=True,
    )
    return result.stdout


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
        if key.startswith("_") or key in _NOT_SETTINGS:
            continue
        if isinstance(value, _SIMPLE) or (
            isinstance(value, tuple) and all(isinstance(v, _SIMPLE) for v in value)
        ):
            settings[key] = value
    return settings


def _escape(text: str) -> str:
    return text.replace('"', '\\"')


def _draw_with_matplotlib(g: Graph, target, file_format: str) -> None:
    """A layered drawing: one row per depth, rows ordered to follow their inputs.

    ``target`` is a path or a file object. Arrows are clipped to the outlines
    of the boxes and ellipses they join, so every arrowhead shows.
    """
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

    labels = {}
    for node in g.nodes:
        if node.is_leaf:
            color = "#cfe2ff" if node.requires_grad else "#e9ecef"
            box = "round,pad=0.3,rounding_size=0.2"
        else:
            color, box = "#fff3cd", "ellipse,pad=0.25"
        labels[node.id] = ax.text(
            *point(node.id),
            f"{node.title}\n{str(node.shape)}",
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": box, "facecolor": color, "edgecolor": "#444444"},
        )
    for source, end in g.edges:  # drawn after the labels, whose outlines clip them
        ax.annotate(
            "",
            xy=point(end),
            xytext=point(source),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555555",
                "patchA": labels[source].get_bbox_patch(),
                "patchB": labels[end].get_bbox_patch(),
                "shrinkA": 1,
                "shrinkB": 1,
                "mutation_scale": 12,
            },
        )
    ax.set_xlim(-width / 2, width / 2)
    ax.set_ylim(-0.6, top + 0.6)
    fig.savefig(target, format=file_format)
