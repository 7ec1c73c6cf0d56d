"""Tracked ratios: tinygrad_edu's time over the hand-written NumPy floor's, per workload.

Absolute times (the ``time_*`` benchmarks) move with the machine and with
whatever else runs on it; the ratio of two codes timed interleaved in one
process moves much less, so it is what the history graphs and the regression
gate (``benchmarks/check-regression``) follow. 1.0 is the floor; lower is
better.
"""

import os

from .common import RATIO_WORKLOADS, floor_ratio, implementations, needs, runner


class FloorRatio:
    """Time per step (op chain: per chain) of tinygrad_edu / the NumPy floor, NumPy backend.

    Interleaved rounds of ~``block_s`` blocks, one BLAS thread, median of the
    per-round ratios (see ``common.floor_ratio``). The settings give about
    2 s of timing per workload; their run-to-run spread is in
    ``benchmarks/README.md``. ``TINYGRAD_EDU_RATIO_ROUNDS=3`` in the
    environment makes a smoke run (asv's ``--quick`` does not reach a ``track_``
    benchmark's own loop).
    """

    params = list(RATIO_WORKLOADS)
    param_names = ["workload"]
    unit = "x floor"
    timeout = 180
    rounds = 1  # asv's processes per benchmark: a track_ value is not averaged over them
    rounds_per_ratio = int(os.environ.get("TINYGRAD_EDU_RATIO_ROUNDS", 60))
    block_s = 0.01
    warmup_s = 0.2

    def setup(self, workload_name):
        workload = RATIO_WORKLOADS[workload_name]()
        self.floor = runner(implementations.NumpyFloor().load(), workload)
        with needs(f"what {workload_name} uses (tinygrad_edu nn, optim, functional)"):
            self.ours = runner(implementations.TinygradEdu().load(), workload)
            self.ours()  # a first call: an older commit may lack a method only used here

    def track_floor_ratio(self, workload_name):
        return floor_ratio(
            self.ours, self.floor, self.rounds_per_ratio, self.block_s, self.warmup_s
        )
