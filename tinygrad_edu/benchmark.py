"""``tinygrad-edu benchmark mnist1d``: the MNIST-1D paper's table and figure, reproduced.

Greydanus & Kobak, *Scaling down deep learning with MNIST-1D* (ICML 2024),
train four models on MNIST-1D (4000 training and 1000 test examples of length
40) with one recipe: Adam, learning rate 1e-2, batches of 100 taken in order
(step k uses examples 100 k mod 4000 onwards), 6000 steps, the accuracy on
the whole training and test sets every 250 steps. They then train the same
models on inputs whose 40 positions are shuffled by one fixed permutation:
the MLP, which has no notion of position, does as well as before, while the
CNN and the GRU, whose inductive bias is locality in space or time, fall far
behind. Their table: logistic regression ~32%, MLP ~65%, CNN ~92-94%,
GRU ~89-91% test accuracy; shuffled, the CNN ~58% and the GRU ~53%.

``run`` trains each model (``tinygrad_edu.models.MNIST1D_MODELS``) on each
input order with that recipe and returns the curves; ``table`` and
``plot`` present them. With ``peer="torch"`` the identical recipe also runs
in PyTorch (its own models of the same architecture and initialisation,
float32, one thread) right after each of ours, so that the times compare
runs made under the same machine load. With ``compiled=True`` (``--compile``)
our training step goes through ``tg.compile``: the first step runs eagerly, the
second is captured, the rest replay the captured program (the same numbers,
bitwise, on NumPy); the runs are labelled "tinygrad_edu compiled" and record
the capture's cost.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import data, optim
from .autograd import no_grad
from .backend import manual_seed
from .creation import tensor
from .models import MNIST1D_MODELS, mnist1d_model
from .nn import functional as F
from .plotting import figure_format
from .serialization import write_atomically

PAPER = {  # test accuracy in %, the paper's table (normal, shuffled)
    "logistic": ("~32", "~32"),
    "mlp": ("~65", "~65"),
    "cnn": ("92-94", "~58"),
    "gru": ("89-91", "~53"),
}
STEPS, BATCH_SIZE, LR, EVAL_EVERY = 6000, 100, 1e-2, 250
SHUFFLE_SEED = 0  # the one fixed permutation of the 40 positions


@dataclass
class Run:
    """One model trained on one input order with one seed, by one library."""

    model: str
    shuffled: bool
    seed: int
    library: str
    steps: list = field(default_factory=list)  # the steps at which accuracy was measured
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    seconds: float = 0.0
    capture_ms: list = field(default_factory=list)  # compiled runs: ms per captured variant

    @property
    def final_test(self) -> float:
        return self.test_accuracy[-1]


def permutation(length: int = 40) -> np.ndarray:
    """The fixed spatial shuffle: one permutation of the positions, the same for every run."""
    return np.random.default_rng(SHUFFLE_SEED).permutation(length)


def load(shuffled: bool) -> tuple:
    """MNIST-1D's official split as float32 arrays, its positions shuffled if asked."""
    X_train, y_train, X_test, y_test = data.load_mnist1d()
    X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
    if shuffled:
        order = permutation(X_train.shape[1])
        X_train, X_test = X_train[:, order], X_test[:, order]
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)


def _schedule(steps: int, eval_every: int) -> set:
    return set(range(0, steps, eval_every)) | {steps}


LIBRARY, COMPILED = "tinygrad_edu", "tinygrad_edu compiled"


def train_ours(model_name, arrays, steps, eval_every, seed, backend="numpy", compiled=False) -> Run:
    """The paper's recipe with tinygrad_edu: Adam 1e-2, ordered batches of 100.

    ``compiled``: each training step through ``tg.compile`` (see the module's text).
    """
    X_train, y_train, X_test, y_test = arrays
    manual_seed(seed)
    model = mnist1d_model(model_name, dtype="float32", backend=backend)
    optimizer = optim.Adam(model.parameters(), lr=LR)
    where = {"backend": backend}
    X_all, y_all = tensor(X_train, **where), tensor(y_train, **where)
    X_held = tensor(X_test, **where)
    run = Run(model_name, False, seed, COMPILED if compiled else LIBRARY)

    def train_step(x, y):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    if compiled:
        from .compile import compile as compile_step  # the module defines ``compile``

        train_step = compile_step(train_step)
    checkpoints = _schedule(steps, eval_every)
    started = time.perf_counter()
    for step in range(steps + 1):
        if step in checkpoints:
            model.eval()
            with no_grad():
                run.steps.append(step)
                run.train_accuracy.append(_accuracy(model(X_all).numpy(), y_train))
                run.test_accuracy.append(_accuracy(model(X_held).numpy(), y_test))
            model.train()
        if step == steps:
            break
        start = (step * BATCH_SIZE) % len(X_train)
        x = X_all[start : start + BATCH_SIZE]
        train_step(x, y_all[start : start + BATCH_SIZE])
    run.seconds = time.perf_counter() - started
    if compiled:
        run.capture_ms = [v["capture_ms"] for v in train_step.variants if "capture_ms" in v]
    return run


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train_torch(model_name, arrays, steps, eval_every, seed) -> Run:
    """The identical recipe in PyTorch (float32, one thread): the time reference."""
    import torch  # an optional peer: only this function needs it

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1, self.linear2 = nn.Linear(40, 100), nn.Linear(100, 100)
            self.linear3 = nn.Linear(100, 10)

        def forward(self, x):
            h = self.linear1(x).relu()
            return self.linear3(h + self.linear2(h).relu())

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1)
            self.conv2 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
            self.conv3 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
            self.linear = nn.Linear(125, 10)

        def forward(self, x):
            h = x.view(-1, 1, x.shape[-1])
            h = self.conv3(self.conv2(self.conv1(h).relu()).relu()).relu()
            return self.linear(h.view(h.shape[0], -1))

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 6, batch_first=True, bidirectional=True)
            self.linear = nn.Linear(480, 10)

        def forward(self, x):
            output, _ = self.gru(x.view(*x.shape[:2], 1))
            return self.linear(output.reshape(output.shape[0], -1))

    make = {
        "logistic": lambda: nn.Linear(40, 10),
        "mlp": Residual,
        "cnn": Conv,
        "gru": Recurrent,
    }
    model = make[model_name]()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    X_train, y_train, X_test, y_test = arrays
    X_all, y_all = torch.from_numpy(X_train), torch.from_numpy(y_train)
    X_held = torch.from_numpy(X_test)
    run = Run(model_name, False, seed, "torch")
    checkpoints = _schedule(steps, eval_every)
    started = time.perf_counter()
    for step in range(steps + 1):
        if step in checkpoints:
            model.eval()
            with torch.no_grad():
                run.steps.append(step)
                run.train_accuracy.append(_accuracy(model(X_all).numpy(), y_train))
                run.test_accuracy.append(_accuracy(model(X_held).numpy(), y_test))
            model.train()
        if step == steps:
            break
        start = (step * BATCH_SIZE) % len(X_train)
        loss = nn.functional.cross_entropy(
            model(X_all[start : start + BATCH_SIZE]), y_all[start : start + BATCH_SIZE]
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    run.seconds = time.perf_counter() - started
    return run


def run(
    models=tuple(MNIST1D_MODELS),
    steps: int = STEPS,
    seeds=(0,),
    eval_every: int = EVAL_EVERY,
    peer: str | None = None,
    backend: str = "numpy",
    report=None,
    compiled: bool = False,
) -> list:
    """Train every model on normal and shuffled inputs for every seed; a list of ``Run``.

    ``report(run)`` (e.g. ``print``) is called after each run. With
    ``peer="torch"`` each of our runs is followed by PyTorch's run of the
    same recipe. ``compiled``: our steps through ``tg.compile``.
    """
    unknown = [m for m in models if m not in MNIST1D_MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MNIST1D_MODELS)}")
    if peer not in (None, "torch"):
        raise ValueError(f"peer must be 'torch' or None, got {peer!r}")
    if peer == "torch":
        try:
            import torch  # noqa: F401  (checked before hours of training, not after)
        except ImportError:
            raise ValueError("--peer torch needs PyTorch installed") from None
    runs = []
    for shuffled in (False, True):
        arrays = load(shuffled)
        for seed in seeds:
            for name in models:
                for library in ("tinygrad_edu", "torch") if peer == "torch" else ("tinygrad_edu",):
                    if library == "torch":
                        result = train_torch(name, arrays, steps, eval_every, seed)
                    else:
                        result = train_ours(
                            name, arrays, steps, eval_every, seed, backend, compiled
                        )
                    result.shuffled = shuffled
                    runs.append(result)
                    if report is not None:
                        report(result)
    return runs


def table(runs: list) -> str:
    """Per model, input order and library: mean final test accuracy (and per seed), train
    accuracy, seconds, and the paper's figure."""
    header = (
        "model",
        "input",
        "library",
        "test acc %",
        "per seed",
        "train acc %",
        "time s",
        "paper",
    )
    rows = [header]
    groups: dict = {}
    for r in runs:
        groups.setdefault((r.model, r.shuffled, r.library), []).append(r)
    for (model, shuffled, library), group in groups.items():
        tests = [100 * r.final_test for r in group]
        rows.append(
            (
                model,
                "shuffled" if shuffled else "normal",
                library,
                f"{np.mean(tests):.1f}",
                " ".join(f"{t:.1f}" for t in tests),
                f"{100 * np.mean([r.train_accuracy[-1] for r in group]):.1f}",
                f"{np.mean([r.seconds for r in group]):.1f}",
                PAPER[model][shuffled],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def totals(runs: list) -> dict:
    """Total training seconds per library (all models, both input orders, all seeds)."""
    result: dict = {}
    for r in runs:
        result[r.library] = result.get(r.library, 0.0) + r.seconds
    return result


def plot(runs: list, path, library: str | None = None) -> str:
    """The paper-style figure: train and test accuracy against step, solid normal, dashed shuffled.

    One colour per model; with several seeds the mean curve. Written atomically, as
    PNG, PDF or SVG by the file name's extension. ``library``: whose runs (default:
    ours, eager or compiled, whichever ran).
    """
    if library is None:
        library = next((r.library for r in runs if r.library != "torch"), LIBRARY)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2, sharey=True)
    colours = dict(zip(MNIST1D_MODELS, ("tab:gray", "tab:blue", "tab:orange", "tab:green")))
    groups: dict = {}
    for r in runs:
        if r.library == library:
            groups.setdefault((r.model, r.shuffled), []).append(r)
    for (model, shuffled), group in groups.items():
        steps = group[0].steps
        for axis, key in zip(axes, ("train_accuracy", "test_accuracy")):
            curve = 100 * np.mean([getattr(r, key) for r in group], axis=0)
            axis.plot(
                steps,
                curve,
                "--" if shuffled else "-",
                color=colours[model],
                label=f"{model}{' (shuffled)' if shuffled else ''}",
            )
    seeds = sorted({r.seed for r in runs})
    for axis, title in zip(axes, ("train accuracy", "test accuracy")):
        axis.set_title(title)
        axis.set_xlabel("training step")
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    axes[1].legend(loc="lower right", fontsize=8)
    figure.suptitle(
        f"MNIST-1D with {library}: solid normal inputs, dashed spatially shuffled "
        f"({'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))})"
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format=figure_format(path), dpi=120)
    write_atomically(path, buffer.getvalue())
    return os.fspath(path)
