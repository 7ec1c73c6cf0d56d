"""A 784-512-512-10 MLP trained on 200,000 synthetic samples that live on Dask workers.

The data is made on the workers (``dask.array.random``), chunk by chunk, and
never passes through this process: no single machine (here: no single worker
process) has to hold it. Each mini-batch is a slice of whole chunks along the
batch axis, so the forward pass runs per chunk on the worker that holds it,
and the weight gradients ``X^T g`` are sums over chunks that Dask reduces
across workers. ``optimizer.step()`` persists the parameters and the Adam
moments after every step (``backend.materialize``), so the graph stays flat.

The labels come from a fixed random "teacher" (the argmax of a random linear
map of the inputs), so the loss falls as the model learns it. The script
prints the throughput (samples per second) on Dask, what the workers spent
computing (Dask's task stream), and the same step's throughput on NumPy with
one mini-batch in this process.

Run:  python examples/dask_synthetic.py [--samples 200000] [--chunk 10000]
          [--batch 20000] [--steps 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster, get_task_stream, wait

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim

FEATURES, CLASSES = 784, 10


def make_model() -> nn.Module:
    """784 -> 512 -> 512 -> 10 with ReLUs, float32, seeded host init."""
    tg.manual_seed(0)
    return nn.Sequential(
        nn.Linear(FEATURES, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, CLASSES)
    )


def synthetic(samples: int, chunk: int):
    """Inputs ~ N(0, 1) and teacher labels, as Dask arrays made on the workers."""
    teacher = np.random.default_rng(1).standard_normal((FEATURES, CLASSES)).astype("float32")
    X = da.random.default_rng(0).standard_normal((samples, FEATURES), chunks=(chunk, FEATURES))
    X = X.astype("float32")
    y = da.argmax(X @ teacher, axis=1).astype("int64")
    return X, y


def train_step(model, optimizer, X, y) -> tg.Tensor:
    """One Adam step on the batch; the loss comes back persisted with the parameters."""

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tg.tensor(X)), tg.tensor(y))
        loss.backward()
        return loss

    return optimizer.step(closure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per chunk")
    parser.add_argument("--batch", type=int, default=20_000, help="rows per step (whole chunks)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    if args.batch % args.chunk:
        parser.error("--batch must be a multiple of --chunk")
    batches = args.samples // args.batch

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster) as client:
        X, y = synthetic(args.samples, args.chunk)
        started = time.perf_counter()
        X, y = X.persist(), y.persist()  # made and kept on the workers
        wait([X, y])
        nbytes = X.nbytes + y.nbytes
        held = {w: len(keys) for w, keys in client.has_what().items()}  # chunks of X and y
        print(
            f"data: {args.samples} x {FEATURES} float32 ({nbytes / 2**20:.0f} MiB) in "
            f"{X.numblocks[0]} chunks of {args.chunk} rows, made on {args.workers} workers "
            f"(chunks of X and y per worker: {sorted(held.values())})"
        )
        model = make_model().to(backend="dask")
        optimizer = optim.Adam(model.parameters(), lr=args.lr)
        first = train_step(model, optimizer, X[: args.batch], y[: args.batch]).item()
        print(
            f"first step (and making the data) {time.perf_counter() - started:.1f} s, "
            f"loss {first:.4f}"
        )
        with get_task_stream(client) as tasks:
            started = time.perf_counter()
            for step in range(1, args.steps + 1):
                i = step % batches
                rows = slice(i * args.batch, (i + 1) * args.batch)
                loss = train_step(model, optimizer, X[rows], y[rows])
            last = loss.item()
            seconds = time.perf_counter() - started
        compute = sum(
            part["stop"] - part["start"]
            for task in tasks.data
            for part in task["startstops"]
            if part["action"] == "compute"
        )
        print(
            f"dask:  {args.steps} steps of {args.batch} samples in {seconds:.1f} s: "
            f"{args.steps * args.batch / seconds:.0f} samples/s; loss {first:.4f} -> {last:.4f}; "
            f"the workers computed {compute:.1f} s in all ({compute / seconds:.2f} busy workers)"
        )

    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(2)
    batch = rng.standard_normal((args.batch, FEATURES)).astype("float32")
    labels = rng.integers(0, CLASSES, args.batch)
    train_step(model, optimizer, batch, labels)  # warm-up
    steps = max(1, args.steps // 5)
    started = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, batch, labels).item()
    seconds = time.perf_counter() - started
    print(
        f"numpy: {steps} steps of {args.batch} samples in {seconds:.1f} s: "
        f"{steps * args.batch / seconds:.0f} samples/s (one process, one mini-batch in memory)"
    )


if __name__ == "__main__":
    main()
