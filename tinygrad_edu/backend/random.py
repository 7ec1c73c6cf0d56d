"""Random numbers, drawn on the host and moved: one seed, the same numbers everywhere.

One process-wide NumPy generator serves every thread (as ``torch.manual_seed``
seeds one default generator): ``manual_seed`` in the main thread reaches draws
made in worker threads too. NumPy's generators hold a lock per draw, so
concurrent draws are safe; which thread gets which numbers then depends on
the order the threads draw in.
"""

from __future__ import annotations

import threading

import numpy as np

from .arrays import dtype_name, from_numpy

_generator: np.random.Generator | None = None
_lock = threading.Lock()  # guards the first creation and a reseed


def host_random(seed=None) -> np.random.Generator:
    """The library's host random generator (set by ``manual_seed``)."""
    global _generator
    if _generator is None:
        with _lock:
            if _generator is None:
                _generator = np.random.default_rng(seed)
    return _generator


def manual_seed(seed: int) -> None:
    """Seed the host generator: the same seed gives the same numbers everywhere."""
    global _generator
    with _lock:
        _generator = np.random.default_rng(seed)


def standard_normal(shape, xp, dtype, device=None, seed=None):
    """N(0, 1) numbers drawn on the host (seeded generator) and moved to ``xp``."""
    if seed is None and getattr(type(xp), "records_calls", False):  # tg.compile records the draw
        return xp.record_draw(standard_normal, shape, dtype, device=device)
    generator = np.random.default_rng(seed) if seed is not None else host_random()
    return from_numpy(generator.standard_normal(shape).astype(dtype_name(dtype)), xp, device)


def uniform(shape, xp, dtype, low=0.0, high=1.0, device=None):
    """U(low, high) numbers drawn on the host generator and moved to ``xp``."""
    if getattr(type(xp), "records_calls", False):  # tg.compile records it
        return xp.record_draw(uniform, shape, dtype, low=low, high=high, device=device)
    values = host_random().uniform(low, high, shape).astype(dtype_name(dtype))
    return from_numpy(values, xp, device)
