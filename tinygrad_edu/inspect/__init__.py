"""Look inside autodiff: the graph, the backward pass, and where NaNs come from.

* :func:`graph` — the operations behind a tensor, as text, DOT or a picture;
* :class:`trace_backward` — a table of every gradient the engine passes on,
  and the lecture's layer deltas ``delta^l = dC/dz^l`` of an MLP;
* :class:`detect_anomaly` — stop at the first op that produced NaN or Inf;
* :func:`record_trajectory` — an optimizer's path, for comparison plots.
"""

from .anomaly import AnomalyError, detect_anomaly
from .graph import Graph, GraphNode, graph
from .trace import InputGradient, TraceStep, trace_backward
from .trajectory import record_trajectory

__all__ = [
    "AnomalyError",
    "Graph",
    "GraphNode",
    "InputGradient",
    "TraceStep",
    "detect_anomaly",
    "graph",
    "record_trajectory",
    "trace_backward",
]
