"""An MLP trained on the 8x8 digits with Dask arrays on a local Dask cluster, next to NumPy.

The training images are a Dask array chunked along the batch axis (4 chunks
by default). tinygrad_edu computes through ``xp``, so the same model code
builds a lazy task graph: the forward pass ``X @ W + b`` runs chunk by chunk
on the workers, and the weight gradient ``X^T g`` is a sum over the chunks.
Nothing runs until a number is asked for. After every step the loss, the new
parameters and the Adam moments are persisted on the cluster in one call
(``backend.materialize``), so the graph of step t does not contain steps
1..t-1, and the work they share (the gradient) runs once.

The same seed, data and full-batch Adam steps then run on NumPy; the two test
accuracies agree (the weights differ only by the order of floating-point sums
across chunks).

Run:  python examples/dask_digits.py [--steps 100] [--workers 2] [--chunks 4]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

try:
    import dask.array as da
    from dask.distributed import Client, LocalCluster
except ModuleNotFoundError as missing:  # an optional dependency: say how to get it
    sys.exit(f'dask_digits.py needs {missing.name}: pip install "dask[array]" distributed')

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import backend, data, nn, optim


def make_model() -> nn.Module:
    """64 pixels -> 64 hidden ReLU units -> 10 digit logits (seeded host init)."""
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(dtype="float64")


def train(model, x_train, y_train, steps: int, lr: float, after_step=None) -> list[float]:
    """Full-batch Adam on cross-entropy; returns the loss every 25 steps and at the end."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train), y_train)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            loss = after_step(loss, model, optimizer)
        if step % 25 == 0 or step == steps - 1:
            losses.append(loss.item())
    return losses


def persist_step(loss, model, optimizer):
    """Compute this step's loss, parameters and Adam moments on the cluster.

    One ``backend.materialize`` (a single ``dask.persist``) for all of them, so
    the gradient graph they share runs once; afterwards each is a handle to
    results held by the workers.
    """
    params = list(model.parameters())
    moments = [
        (state, key)
        for state in optimizer.state.values()
        for key, value in state.items()
        if isinstance(value, da.Array)
    ]
    loss_data, *arrays = backend.materialize(
        [loss.data, *[p.data for p in params], *[state[key] for state, key in moments]]
    )
    for param, array in zip(params, arrays[: len(params)], strict=True):
        param.data = array
    for (state, key), array in zip(moments, arrays[len(params) :], strict=True):
        state[key] = array
    return tg.tensor(loss_data)


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
    numpy_accuracy = accuracy(model, tg.tensor(X_test), tg.tensor(y_test))
    numpy_weights = [p.numpy() for p in model.parameters()]
    print(
        f"numpy: test accuracy {numpy_accuracy:.4f}  final loss {losses[-1]:.4f}  "
        f"({time.perf_counter() - start:.1f} s)"
    )

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster):
        start = time.perf_counter()
        rows = -(-len(X_train) // args.chunks)
        x_train = da.from_array(X_train, chunks=(rows, -1)).persist()  # the data lives on workers
        y_train_d = da.from_array(y_train, chunks=rows).persist()
        model = make_model().to(backend="dask")
        losses = train(
            model, tg.tensor(x_train), tg.tensor(y_train_d), args.steps, args.lr, persist_step
        )
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


if __name__ == "__main__":
    main()
