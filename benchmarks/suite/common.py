"""What the asv benchmarks share: the workloads of ``benchmarks/compare.py``.

The workload definitions (data, initial weights, batch order) live in
``benchmarks/workloads.py`` and the implementations in
``benchmarks/implementations.py``, so asv times exactly what the peer
comparison times.
"""

import sys
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent
if str(BENCHMARKS_DIR) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS_DIR))

import implementations  # noqa: E402, F401  (re-exported for the benchmark modules)
import workloads  # noqa: E402

from tinygrad_edu import backend  # noqa: E402

WORKLOADS = {
    "W1_digits_64_128_10": workloads.digits_mlp,
    "W2_784_512_512_10": workloads.synthetic_mlp,
    "W3_2_32_32_1_tanh": workloads.franke_regression,
}


def gpu_backends() -> list[str]:
    """The backends to parametrise over: numpy always, cupy where a GPU answers."""
    return ["numpy"] + [name for name in ("cupy",) if name in backend.available_backends()]
