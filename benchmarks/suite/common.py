"""What the asv benchmarks share: the workloads, the NumPy floor and the step runners of compare.py.

The workload definitions (data, initial weights, batch order) live in
``benchmarks/workloads.py``, the implementations (tinygrad_edu and the
hand-written NumPy floor) in ``benchmarks/implementations.py``, and the step
runners and warm-up come from ``benchmarks/compare.py``, so
asv times exactly what the peer comparison times.

asv builds every commit into its own environment and runs *this* suite (the
checked-out one) against it, so a benchmark must cope with a commit that
predates what it needs: wrap the setup in ``needs("...")``, which turns the
missing import or name into ``NotImplementedError``, asv's "skipped".
"""

import contextlib
import gc
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent
if str(BENCHMARKS_DIR) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS_DIR))

# The commit under test, imported before compare.py (which puts the work tree
# on sys.path so that it can time an uninstalled checkout) can shadow it.
import tinygrad_edu  # noqa: E402

_path = list(sys.path)
import compare  # noqa: E402
import implementations  # noqa: E402, F401  (re-exported for the benchmark modules)
import workloads  # noqa: E402

sys.path[:] = _path

from tinygrad_edu import backend  # noqa: E402


def one_blas_thread():
    """One BLAS/OpenMP thread, as compare.py sets (threadpoolctl comes with scikit-learn).

    Not compare.limit_threads(): that also imports torch to limit its threads,
    which costs seconds per benchmark process and hundreds of MB in peakmem_
    wherever torch happens to be installed.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1)


# On a shared 2-core machine a multi-threaded BLAS mostly measures the other processes.
_THREAD_LIMIT = one_blas_thread()

# In an environment asv built, the package must be that commit's, not the work tree's.
_env_dir = os.environ.get("ASV_ENV_DIR")
if _env_dir and os.environ.get("ASV_ENV_TYPE") != "existing":
    if not Path(tinygrad_edu.__file__).resolve().is_relative_to(Path(_env_dir).resolve()):
        raise RuntimeError(
            f"tinygrad_edu imported from {tinygrad_edu.__file__}, outside asv's environment "
            f"{_env_dir}: the benchmarks would time the wrong commit"
        )

WORKLOADS = {
    "W1_digits_64_128_10": workloads.digits_mlp,
    "W2_784_512_512_10": workloads.synthetic_mlp,
    "W3_2_32_32_1_tanh": workloads.franke_regression,
}

# What the floor ratios are tracked on: every MLP workload and the op chain.
# A new workload (conv, GRU, a compiled step) is one more entry here.
RATIO_WORKLOADS = {**WORKLOADS, "op_chain_1000": workloads.op_chain}


def gpu_backends() -> list[str]:
    """The backends to parametrise over: numpy always, cupy where a GPU answers.

    Only CuPy is probed (``backend.available_backends()`` would import torch,
    JAX and Dask where installed: seconds in every benchmark process).
    """
    if importlib.util.find_spec("cupy") is None:
        return ["numpy"]
    try:
        backend.get_namespace("cupy")  # raises without a CUDA device
    except Exception:  # ValueError; some older commits' probe recursed instead
        return ["numpy"]
    return ["numpy", "cupy"]


@contextlib.contextmanager
def needs(feature: str):
    """Skip (``NotImplementedError``) when the commit under test lacks ``feature``.

    A missing module, attribute or keyword argument at setup means an older
    commit, not a broken benchmark; anything else still fails loudly.
    """
    try:
        yield
    except (ImportError, AttributeError, TypeError) as exc:
        raise NotImplementedError(
            f"this commit lacks {feature} ({type(exc).__name__}: {exc})"
        ) from exc


def runner(impl, workload):
    """compare.py's zero-argument callable for one step (MLP) or one chain (op chain)."""
    return compare.make_runner(impl, workload)


def floor_ratio(ours, floor, rounds: int, block_s: float, warmup_s: float) -> float:
    """Median over interleaved rounds of (our CPU time per call / the floor's), one thread.

    Each round times one block of ``ours`` and one of ``floor`` back to back
    (which goes first alternates, as in compare.py), so a machine that slows
    down or speeds up between rounds changes both sides of each round's ratio
    alike, and the median drops the rounds that something disturbed.

    The clock is the process's CPU time, not the wall clock (compare.py's):
    on a shared machine with more runnable processes than cores, a 10 ms block
    of wall time is stretched by whatever the scheduler runs in between, which
    CPU time does not count (measured under a load average of 6.7 on 2 cores:
    the op chain's ratio moved 7.8x between repeats on the wall clock and
    1.08x on CPU time). What is left is the slowdown of sharing caches and
    cores, which hits both codes of a round alike.
    """
    one_blas_thread()  # again: setup may have loaded a library with its own pool
    runners = {"ours": ours, "floor": floor}
    gc.collect()
    gc.freeze()
    try:
        blocks = {name: compare.calibrate(fn, warmup_s, block_s) for name, fn in runners.items()}
        ratios = []
        for round_index in range(rounds):
            order = ("ours", "floor") if round_index % 2 == 0 else ("floor", "ours")
            per_call = {}
            for name in order:
                fn, block = runners[name], blocks[name]
                gc.collect()  # cheap after gc.freeze(); keeps one side's garbage out of the other's
                start = time.process_time()
                for _ in range(block):
                    fn()
                per_call[name] = (time.process_time() - start) / block
            if per_call["floor"] > 0:
                ratios.append(per_call["ours"] / per_call["floor"])
    finally:
        gc.unfreeze()
    return statistics.median(ratios)
