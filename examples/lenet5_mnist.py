"""LeNet-5 on the classic MNIST, from the IDX files you already have.

The network (LeCun et al., 1998, with ReLU and max pooling as usually taught
today): conv 5x5 (1 -> 6, padding 2) -> ReLU -> 2x2 max pool -> conv 5x5
(6 -> 16) -> ReLU -> 2x2 max pool -> flatten 16*5*5 = 400 -> 120 -> 84 -> 10,
ReLU between the linear layers. Trained with Adam (lr 1e-3, batches of 64)
and the softmax cross-entropy; pixels are scaled to [0, 1]. Nothing is
downloaded: ``--root`` is a folder holding ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte`` (raw or gzipped; see ``data.load_mnist``).

Run:  python examples/lenet5_mnist.py --root ~/data/mnist [--epochs 2] [--limit 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import data, nn, optim


def lenet5(dtype=None) -> nn.Sequential:
    """LeNet-5 for 1 x 28 x 28 images: two conv/pool stages, three linear layers."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120, dtype=dtype),
        nn.ReLU(),
        nn.Linear(120, 84, dtype=dtype),
        nn.ReLU(),
        nn.Linear(84, 10, dtype=dtype),
    )


def accuracy(model, images, labels, batch_size=1000) -> float:
    model.eval()
    correct = 0
    with tg.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(tg.tensor(images[start : start + batch_size]))
            correct += int(
                np.sum(np.argmax(logits.numpy(), axis=1) == labels[start : start + batch_size])
            )
    model.train()
    return correct / len(images)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder with the four MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, help="train on the first LIMIT images only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X_train, y_train, X_test, y_test = data.load_mnist(args.root)
    if args.limit:
        X_train, y_train = X_train[: args.limit], y_train[: args.limit]
    # (N, 28, 28) uint8 -> (N, 1, 28, 28) float32 in [0, 1]
    X_train = (X_train[:, None] / 255.0).astype(np.float32)
    X_test = (X_test[:, None] / 255.0).astype(np.float32)

    tg.manual_seed(args.seed)
    model = lenet5(dtype="float32")
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loader = data.DataLoader(X_train, y_train, args.batch_size, seed=args.seed)
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        for epoch in range(1, args.epochs + 1):
            total, batches = 0.0, 0
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, batches = total + loss.item(), batches + 1
            print(f"epoch {epoch}: mean training loss {total / max(batches, 1):.4f}")
        test = accuracy(model, X_test, y_test)
    print(f"time {time.perf_counter() - started:.1f} s, {len(X_train)} training images")
    print(f"test accuracy: {100 * test:.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
