"""The only place that knows concrete array libraries, by concern.

Everything else in tinygrad_edu computes through an Array-API namespace ``xp``
obtained here:

* ``namespaces``: backend names, probing, the default backend, the namespace
  of an array;
* ``arrays``: devices, dtypes, moves between backends;
* ``random``: the seeded host generator;
* ``kernels``: what the standard lacks, each a native fast path then a
  standard fallback;
* ``info``: what this machine offers (``describe``, for ``tinygrad-edu info``);
* ``cuda_graph``: a step captured as a CUDA graph on CuPy (``graph_function``).

Their public names are the package's surface (``backend.namespace_of(x)``).
"""

from .arrays import *  # noqa: F403
from .cuda_graph import *  # noqa: F403
from .extra_kernels import *  # noqa: F403
from .info import *  # noqa: F403
from .kernels import *  # noqa: F403
from .namespaces import *  # noqa: F403
from .random import *  # noqa: F403
