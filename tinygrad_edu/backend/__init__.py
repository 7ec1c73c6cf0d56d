"""The only place that knows concrete array libraries, by concern.

Everything else in tinygrad_edu computes through an Array-API namespace ``xp``
obtained here:

* ``namespaces``: backend names, probing, the default backend, the namespace
  of an array;
* ``arrays``: devices, dtypes, moves between backends, ``describe``;
* ``random``: the seeded host generator;
* ``kernels``: what the standard lacks, each a native fast path then a
  standard fallback.

The names below are the package's surface (``backend.namespace_of(x)``).
"""

# ruff: noqa: F401  (this module re-exports)
from .arrays import (
    as_index,
    describe,
    device_of,
    dtype_name,
    from_numpy,
    from_python,
    get_default_dtype,
    index_dtype,
    is_floating,
    is_kind,
    materialize,
    move,
    python_dtype,
    resolve_device,
    resolve_dtype,
    set_default_dtype,
    to_numpy,
)
from .extra_kernels import (
    argsort,
    compat_namespace,
    floor_divide,
    scatter_add_along_axis,
    setitem,
)
from .kernels import (
    all_in_range,
    as_array,
    erf,
    getitem,
    index_add,
    integer_range,
    method_shortcuts,
    scatter_add_1d,
    stable_sigmoid,
    stable_softmax,
    subtract_at_rows,
    zeros_like,
)
from .namespaces import (
    KNOWN_BACKENDS,
    SINGLE_DEVICE_TYPES,
    available_backends,
    backend_name,
    default_backend,
    get_default_backend,
    get_namespace,
    is_mutable,
    is_mutable_type,
    namespace_of,
    set_default_backend,
    unavailable_reason,
)
from .random import host_random, manual_seed, standard_normal, uniform
