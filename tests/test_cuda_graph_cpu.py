"""backend.graph_function off CuPy: None for every other namespace, and no CuPy needed.

The CUDA-graph capture itself is tested on a GPU only (tests/test_gpu.py, run by
scripts/gpu-check).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu import backend as backends

ROOT = Path(__file__).resolve().parent.parent


def _step(w, x):
    return (w * x,)


@pytest.mark.parametrize("name", [n for n in backends.available_backends() if n != "cupy"])
def test_no_graph_where_the_namespace_is_not_cupy(name):
    xp = backends.get_namespace(name)
    assert backends.graph_function(xp, _step, [True, False]) is None


def test_the_module_imports_and_answers_without_cupy():
    """With ``import cupy`` made to fail, the package imports and answers None on NumPy."""
    program = (
        "import sys; sys.modules['cupy'] = None\n"  # None in sys.modules: import raises
        "from tinygrad_edu import backend\n"
        "xp = backend.get_namespace('numpy')\n"
        "assert backend.graph_function(xp, lambda x: (x,), [False]) is None\n"
        "assert issubclass(backend.GraphInputMoved, ValueError)\n"
        "assert 'cupy' not in [m for m, v in sys.modules.items() if v is not None]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
