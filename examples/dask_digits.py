"""An MLP trained on the 8x8 digits with Dask arrays on a local Dask cluster, next to NumPy.

The training images are a Dask array chunked along the batch axis (4 chunks
by default). tinygrad_edu computes through ``xp``, so the same model code
builds a lazy task graph: the forward pass ``X @ W + b`` runs chunk by chunk
on the workers, and the weight gradient ``X^T g`` is a sum over the chunks.
Nothing runs until a number is asked for. Every ``optimizer.step()`` persists
the new parameters and the Adam moments on the cluster in one call
(``backend.materialize``), so the graph of step t does not contain steps
1..t-1, and the work they share (the gradient) runs once.

The same seed, data and full-batch Adam steps then run on NumPy; the two test
accuracies agree (the weights differ only by the order of floating-point sums
across chunks). The last line splits Dask's time per step: building the task
graph in this process, the step (update graph, persist, waiting for the
workers), reading the loss, and what the workers spent computing (Dask's task
stream); the difference is scheduling and communication.

Run:  python examples/dask_digits.py [--steps 100] [--workers 2] [--chunks 4]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

try:
    import dask.array as da
    from dask.distributed import Client, LocalCluster, get_task_stream
except ModuleNotFoundError as missing:  # an optional dependency: say how to get it
    sys.exit(f'dask_digits.py needs {missing.name}: pip install "dask[array]" distributed')

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import data, nn, optim


def make_model() -> nn.Module:
    """64 pixels -> 64 hidden ReLU units -> 10 digit logits (seeded host init)."""
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(dtype="float64")


def train(model, x_train, y_train, steps: int, lr: float, timer=None) -> list[float]:
    """Full-batch Adam on cross-entropy; returns the loss every 25 steps and at the end.

    On Dask, ``optimizer.step(closure)`` persists the new parameters, the Adam
    moments and the closure's loss in one ``backend.materialize``, so step t's
    graph does not hold steps 1..t-1, the gradient they share runs once, and
    reading the loss computes nothing more. ``timer`` (a dict) collects the
    seconds spent building the graph (the closure: forward and backward) and in
    the rest of ``step`` (the update's graph, and on Dask scheduling and
    waiting for the workers), and reading the loss.
    """
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses = []
    timer = {} if timer is None else timer
    timer.update(graph=0.0, step=0.0, loss=0.0)

    def closure():
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train), y_train)
        loss.backward()
        timer["graph"] += time.perf_counter() - started
        return loss

    for step in range(steps):
        started = time.perf_counter()
        loss = optimizer.step(closure)
        stepped = time.perf_counter()
        if step % 25 == 0 or step == steps - 1:
            losses.append(loss.item())
        timer["loss"] += time.perf_counter() - stepped
        timer["step"] += stepped - started
    timer["step"] -= timer["graph"]
    return losses


def accuracy(model, x, y) -> float:
    with tg.no_grad():
        predicted = model(x).argmax(axis=1)
    return (predicted == y).astype("float64").mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=4, help="chunks along the batch axis")
    args = parser.parse_args()

    X, y = data.load_digits()
    X_train, y_train, _, _, X_test, y_test = data.train_val_test_split(
        X / 16.0, y, val=0.0, test=0.3, stratify=True, seed=0
    )
    print(f"digits: {len(X_train)} training and {len(X_test)} test images, {args.steps} steps")

    start = time.perf_counter()
    model = make_model()
    losses = train(model, tg.tensor(X_train), tg.tensor(y_train), args.steps, args.lr)
    numpy_seconds = time.perf_counter() - start
    numpy_accuracy = accuracy(model, tg.tensor(X_test), tg.tensor(y_test))
    numpy_weights = [p.numpy() for p in model.parameters()]
    print(
        f"numpy: test accuracy {numpy_accuracy:.4f}  final loss {losses[-1]:.4f}  "
        f"({time.perf_counter() - start:.1f} s)"
    )

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster) as client:
        start = time.perf_counter()
        rows = -(-len(X_train) // args.chunks)
        x_train = da.from_array(X_train, chunks=(rows, -1)).persist()  # the data lives on workers
        y_train_d = da.from_array(y_train, chunks=rows).persist()
        model = make_model().to(backend="dask")
        timer = {}
        with get_task_stream(client) as tasks:
            trained = time.perf_counter()
            losses = train(
                model, tg.tensor(x_train), tg.tensor(y_train_d), args.steps, args.lr, timer
            )
            trained = time.perf_counter() - trained
        x_test = da.from_array(X_test, chunks=(rows, -1))
        dask_accuracy = accuracy(model, tg.tensor(x_test), tg.tensor(y_test, backend="dask"))
        gap = max(
            np.abs(p.numpy() - w).max()
            for p, w in zip(model.parameters(), numpy_weights, strict=True)
        )
        print(
            f"dask:  test accuracy {dask_accuracy:.4f}  final loss {losses[-1]:.4f}  "
            f"({time.perf_counter() - start:.1f} s; {args.workers} workers x 1 thread, "
            f"{x_train.numblocks[0]} chunks of <= {rows} images)"
        )
        print(f"largest weight difference dask vs numpy: {gap:.2e}")
        compute = sum(
            part["stop"] - part["start"]
            for task in tasks.data
            for part in task["startstops"]
            if part["action"] == "compute"
        )
        per_step = 1e3 / args.steps
        print(
            f"per step: numpy {numpy_seconds * per_step:.1f} ms; dask {trained * per_step:.1f} ms "
            f"= graph building {timer['graph'] * per_step:.1f} + step (update graph, persist, "
            f"wait) {timer['step'] * per_step:.1f} + loss reads (waiting for the cluster) "
            f"{timer['loss'] * per_step:.1f}; "
            f"the workers computed {compute * per_step:.1f} ms (summed over "
            f"{len(tasks.data) // args.steps} tasks a step)"
        )


if __name__ == "__main__":
    main()
