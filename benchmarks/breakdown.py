"""Where one tinygrad_edu training step spends its time: forward, backward, update.

    python benchmarks/breakdown.py            # W1, W2 and W3
    python benchmarks/breakdown.py W3         # one workload (name prefix)

For each workload it times, on one thread, the hand-written NumPy floor's whole
step and three growing prefixes of tinygrad_edu's step on one fixed batch:
``forward`` (model and loss), ``+ backward`` (zero_grad, forward, backward) and
``+ update`` (the whole step). The learning rate is set to 0 so that the
weights, and with them the work per step, stay the same over the repeats.
Differences of the prefixes give the cost of each phase. Best of 7 repeats.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import implementations as impls  # noqa: E402
import workloads as wl  # noqa: E402
from compare import limit_threads  # noqa: E402


def best_us(fn, calls):
    return min(timeit.repeat(fn, number=calls, repeat=7)) / calls * 1e6


def breakdown(workload, calls):
    floor = impls.NumpyFloor().load().mlp(workload)
    ours = impls.TinygradEdu().load().mlp(workload)
    x, y = ours.data.batches[0]
    model, optimizer, loss_fn = ours.model, ours.opt, ours.loss_fn
    for group in optimizer.param_groups:
        group["lr"] = 0.0

    def forward():
        loss_fn(model(x), y)

    def backward():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()

    def step():
        backward()
        optimizer.step()

    times = {
        name: best_us(fn, calls)
        for name, fn in [
            ("floor", floor.step),
            ("forward", forward),
            ("backward", backward),
            ("step", step),
        ]
    }
    return {
        "floor step": times["floor"],
        "forward": times["forward"],
        "backward": times["backward"] - times["forward"],
        "update": times["step"] - times["backward"],
        "whole step": times["step"],
        "step / floor": times["step"] / times["floor"],
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    workloads = [w for w in wl.all_workloads() if isinstance(w, wl.MLPWorkload)]
    if argv:
        workloads = [w for w in workloads if w.name.startswith(tuple(argv))]
    limit_threads()
    print(
        f"{'workload':28}  {'floor step':>10}  {'forward':>8}  {'backward':>8}  "
        f"{'update':>8}  {'whole step':>10}  step / floor   (us)"
    )
    for workload in workloads:
        calls = 50 if workload.name.startswith("W2") else 2000
        r = breakdown(workload, calls)
        print(
            f"{workload.name:28}  {r['floor step']:10.1f}  {r['forward']:8.1f}  "
            f"{r['backward']:8.1f}  {r['update']:8.1f}  {r['whole step']:10.1f}  "
            f"{r['step / floor']:.2f}"
        )


if __name__ == "__main__":
    main()
