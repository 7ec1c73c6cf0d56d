"""Memory: no growth over many training steps, and a W2 step's peak near the NumPy floor's."""

import gc
import sys
import tracemalloc
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_two_thousand_training_steps_do_not_grow_memory():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((16, 2)).astype(np.float32))
    y = tg.tensor(rng.standard_normal((16, 1)).astype(np.float32))

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    samples = []
    tracemalloc.start()
    try:
        for i in range(1, 2001):
            step()
            if i % 200 == 0:
                gc.collect()
                samples.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    # a leak of even 100 bytes a step would add 180 KB between the first and last sample
    assert max(samples[-3:]) - min(samples[:3]) < 64 * 1024, (
        f"traced bytes every 200 steps: {samples}"
    )


def _peak_of_training(implementation, workload) -> int:
    """Peak traced bytes from building the model through three steps (data excluded)."""
    gc.collect()
    tracemalloc.start()
    try:
        model = implementation.load().mlp(workload)
        for _ in range(3):
            model.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_w2_step_peak_memory_is_near_the_numpy_floor():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import implementations
        import workloads
    finally:
        sys.path.remove(str(BENCHMARKS))
    workload = workloads.synthetic_mlp(n_samples=512)
    floor = _peak_of_training(implementations.NumpyFloor(), workload)
    ours = _peak_of_training(implementations.TinygradEdu(), workload)
    assert ours <= 1.3 * floor, f"peak {ours / 2**20:.1f} MiB vs floor {floor / 2**20:.1f} MiB"
