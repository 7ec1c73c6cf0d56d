"""The ``tinygrad-edu`` command: ``train``, ``sweep``, ``evaluate``, ``predict`` and ``info``.

``tinygrad-edu train`` trains an MLP on a dataset with that dataset's recipe
(``tinygrad_edu.train.recipes``), any option overriding the recipe, then
prints train/validation/test metrics and the test result on a line of its own
(``test accuracy: 97.8%`` or ``test R2: 0.95``). ``sweep`` trains a grid of
learning rates x another setting and draws the validation results as a
heatmap, serially or one run per task on a Dask cluster (``--workers N``,
``--scheduler ADDRESS``; see ``tinygrad_edu.train.sweeps``); ``evaluate`` and
``predict`` use a model saved by ``train --save``; ``info`` lists the
backends, with the install command of each missing one. The bare command
prints the help; ``--version`` the version. Bad arguments end with a one-line
error on stderr and exit status 2 (1 for failures while running, 130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import math
import os
import platform
import stat
import sys
import time

import numpy as np
from tqdm.auto import tqdm

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F

from . import backend as backends
from . import benchmark as mnist1d_benchmark
from . import data
from .backend import INSTALL_HINTS
from .models import ACTIVATIONS, MNIST1D_MODELS
from .plotting import figure_format, plot_heatmap, plot_history
from .serialization import save, write_atomically
from .train import evaluate, fit, read_checkpoint_metadata, sweeps
from .train.recipes import (
    MOMENTUM_OPTIMIZERS,
    OPTIMIZER_LR,
    OPTIMIZERS,
    RECIPES,
    default_lr,
    defaults_table,
    load_splits,
    make_optimizer,
)
from .train.saved import build_model, load_saved, model_spec
from .train.saved import predict as predict_saved

PROG = "tinygrad-edu"
ALL_BACKENDS_HINT = 'pip install -e ".[backends]" (jax, dask, distributed)'
ACTIVATION_NAMES = tuple(ACTIVATIONS)  # the table is models.ACTIVATIONS
# settings a resumed run must share with its checkpoint (epochs may grow)
RUN_KEYS = (
    "dataset",
    "hidden",
    "activation",
    "dropout",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "batch_size",
    "dtype",
    "seed",
)


class UsageError(Exception):
    """A wrong command line: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


# ------------------------------------------------------------ argument types
def _positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _float(text)
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _probability(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _hidden(text: str) -> tuple[int, ...]:
    """``"128,64"`` -> (128, 64): the hidden layer widths."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated layer widths like 128,64, got {text!r}"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be positive, got {text!r}")
    return sizes


# ------------------------------------------------------------ the parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train small neural networks with tinygrad_edu.")
    parser.add_argument("--version", action="version", version=f"{PROG} {tg.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train an MLP on a dataset",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train an MLP; unset options come from the dataset's defaults:\n\n"
        + defaults_table()
        + "\n\nAnother --optimizer without --lr gets the dataset's lr scaled by the typical "
        "ratio of their learning rates ("
        + ", ".join(f"{name} {lr:g}" for name, lr in OPTIMIZER_LR.items())
        + "); lbfgs gets lr 1 and trains on full batches without dropout unless told "
        "otherwise.",
    )
    _add_model_options(train)
    train.add_argument(
        "--model",
        choices=TRAIN_MODELS,
        help="mlp (default: the recipe's MLP), or for --dataset mnist1d the paper's cnn or gru",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument(
        "--compile",
        action="store_true",
        help="capture each training step once with tg.compile and replay it (same numbers)",
    )
    train.add_argument(
        "--epochs",
        type=_positive_int,
        help="total epochs (a resumed run counts the checkpoint's epochs too)",
    )
    train.add_argument(
        "--plot", metavar="PATH", help="write loss and metric curves (.png, .pdf or .svg)"
    )
    train.add_argument("--save", metavar="PATH", help="save the trained model (safetensors)")
    train.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="write a checkpoint after every epoch (default with --resume: the resumed file)",
    )
    train.add_argument(
        "--resume",
        metavar="PATH",
        help="continue from a checkpoint; settings not given come from it",
    )
    train.set_defaults(handler=run_train)

    sweep = commands.add_parser(
        "sweep", help="grid over learning rate x another setting; heatmap of validation results"
    )
    sweep.description = SWEEP_DESCRIPTION
    _add_model_options(sweep, lr=False)
    sweep.set_defaults(lr=None)  # swept: --lrs
    sweep.add_argument(
        "--lrs",
        type=_positive_float,
        nargs="+",
        default=[1e-4, 1e-3, 1e-2, 1e-1],
        help="learning rates (default: 1e-4 1e-3 1e-2 1e-1)",
    )
    sweep.add_argument(
        "--param",
        choices=("hidden", "weight_decay", "optimizer"),
        default="hidden",
        help="the second setting (default: hidden)",
    )
    sweep.add_argument(
        "--values",
        nargs="+",
        help="its values (hidden: widths like 32 64 "
        "128,64; weight_decay: numbers; optimizer: names); default per --param",
    )
    sweep.add_argument(
        "--epochs", type=_positive_int, default=20, help="epochs per run (default: 20)"
    )
    sweep.add_argument(
        "--out",
        metavar="PATH",
        default="sweep.png",
        help="heatmap, .png, .pdf or .svg (default: sweep.png)",
    )
    _add_cluster_options(sweep)
    sweep.set_defaults(handler=run_sweep)

    info = commands.add_parser("info", help="version, backends, devices, default dtype")
    info.description = (
        "Print the version, the default backend and dtype, every backend that works here "
        "with its devices, and for each missing one why and the command that installs it."
    )
    info.set_defaults(handler=run_info)
    _add_saved_model_commands(commands)
    _add_benchmark_command(commands)
    return parser


# ------------------------------------------------------------ benchmark mnist1d
def _add_benchmark_command(commands) -> None:
    bench = commands.add_parser(
        "benchmark",
        help="the MNIST-1D paper's four models, normal and shuffled inputs: table and figure",
        description="Train the MNIST-1D paper's logistic regression, MLP, CNN and GRU with "
        "its recipe (Adam lr 1e-2, ordered batches of 100, 6000 steps), on normal and "
        "spatially shuffled inputs; print the table and write the accuracy figure.",
    )
    bench.add_argument("suite", choices=("mnist1d",), help="the benchmark to run")
    bench.add_argument(
        "--models",
        type=lambda text: _names(text, tuple(MNIST1D_MODELS), "--models"),
        default=tuple(MNIST1D_MODELS),
        help=f"comma-separated subset of {','.join(MNIST1D_MODELS)} (default: all)",
    )
    bench.add_argument("--steps", type=_positive_int, default=6000, help="default: 6000")
    bench.add_argument(
        "--seeds",
        type=lambda text: tuple(_seed(part) for part in text.split(",")),
        default=(0,),
        help="comma-separated seeds, e.g. 0,1,2 (default: 0)",
    )
    bench.add_argument(
        "--eval-every", type=_positive_int, default=250, help="steps between accuracy points"
    )
    bench.add_argument("--peer", choices=("torch",), help="also run the same recipe in PyTorch")
    bench.add_argument(
        "--out", metavar="PATH", default="mnist1d.png", help="figure (default: mnist1d.png)"
    )
    bench.add_argument(
        "--backend", choices=backends.KNOWN_BACKENDS, default="numpy", help="default: numpy"
    )
    bench.add_argument("--threads", type=_positive_int, default=1, help="BLAS threads (default: 1)")
    bench.add_argument(
        "--compile",
        action="store_true",
        help="train through tg.compile (same numbers; prints each model's capture cost)",
    )
    bench.set_defaults(handler=run_benchmark)


def _names(text: str, choices: tuple, option: str) -> tuple:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in choices]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{option}: unknown {', '.join(unknown) or 'empty list'}; "
            f"choose from {','.join(choices)}"
        )
    return names


def run_benchmark(args) -> int:
    _check_output(args.out, "--out", figure=True)

    def report(run):
        order = "shuffled" if run.shuffled else "normal"
        capture = "".join(f", capture {ms:.0f} ms" for ms in run.capture_ms)
        print(
            f"{run.library:>12} {run.model:>8} {order:>8} seed {run.seed}: test accuracy "
            f"{100 * run.final_test:.1f}%, {run.seconds:.1f} s{capture}",
            flush=True,
        )

    runs = mnist1d_benchmark.run(
        args.models, args.steps, args.seeds, args.eval_every, args.peer, args.backend, report,
        compiled=args.compile,
    )  # fmt: skip
    print()
    print(mnist1d_benchmark.table(runs))
    spent = mnist1d_benchmark.totals(runs)
    ours = mnist1d_benchmark.COMPILED if args.compile else mnist1d_benchmark.LIBRARY
    line = f"total training time: {ours} {spent[ours]:.1f} s"
    if "torch" in spent:
        ratio = spent[ours] / spent["torch"]
        line += f", torch {spent['torch']:.1f} s (ratio {ratio:.2f})"
    print(line)
    print(f"figure written to {mnist1d_benchmark.plot(runs, args.out)}")
    return 0


def _add_model_options(parser, lr: bool = True) -> None:
    parser.add_argument("--dataset", choices=tuple(RECIPES), help="default: digits")
    parser.add_argument("--hidden", type=_hidden, help="hidden widths, e.g. 128,64")
    parser.add_argument("--activation", choices=ACTIVATION_NAMES)
    parser.add_argument("--dropout", type=_probability, help="dropout after each hidden layer")
    parser.add_argument("--optimizer", choices=OPTIMIZERS)
    if lr:
        parser.add_argument("--lr", type=_positive_float, help="learning rate")
    parser.add_argument(
        "--momentum",
        type=_probability,
        help="in [0, 1), for momentum and nesterov (default 0.9) and rmsprop (default 0)",
    )
    parser.add_argument(
        "--weight-decay", type=_non_negative_float, help="L2 penalty (adamw: decoupled decay)"
    )
    parser.add_argument("--batch-size", type=_positive_int)
    parser.add_argument(
        "--backend",
        choices=backends.KNOWN_BACKENDS,
        default="numpy",
        help="array library (default: numpy)",
    )
    parser.add_argument("--dtype", choices=("float32", "float64"))
    parser.add_argument(
        "--seed",
        type=_seed,
        help="seeds the split, the weights, the batch order and dropout (default: 0)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="BLAS threads (default: 1, fastest for these small matrices)",
    )


def _add_cluster_options(parser) -> None:
    """The sweep's Dask options: where the runs go, and the results file."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_positive_int,
        help="run the sweep on a local Dask cluster of N single-threaded worker processes",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the sweep on an existing Dask cluster (e.g. tcp://host:8786)",
    )
    parser.add_argument(
        "--results", metavar="FILE", help="write each finished run to FILE (JSON lines)"
    )
    parser.add_argument(
        "--resume",
        metavar="FILE",
        help="skip the runs already in FILE (a --results file); new ones are added to it",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


# ------------------------------------------------------------ entry point
def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # the bare command: what can I do here?
        build_parser().print_help()
        return 0
    try:
        args = build_parser().parse_args(argv)
        _check_backend(getattr(args, "backend", None))
        # a diverging run is reported by fit's loss check, not by NumPy's overflow warnings
        with _blas_threads(getattr(args, "threads", None)), np.errstate(all="ignore"):
            return args.handler(args)
    except UsageError as err:
        return _fail(err, 2)
    except (ValueError, OSError, FloatingPointError) as err:
        return _fail(err, 1)
    except MemoryError as err:  # NumPy's message is a paragraph; keep its first sentence
        return _fail(f"out of memory ({str(err).split(';')[0] or 'no details'})", 1)
    except KeyError as err:
        return _fail(err.args[0] if err.args else err, 1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _fail(error, status: int) -> int:
    message = " ".join(str(error).split())  # one line, whatever the message holds
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _check_backend(name) -> None:
    if name is None:
        return
    try:
        backends.get_namespace(name)
    except ValueError:
        available = ", ".join(backends.available_backends())
        raise UsageError(
            f"argument --backend: {name!r} is not available on this machine "
            f"(available: {available}); install it with: {INSTALL_HINTS[name]}"
        ) from None


@contextlib.contextmanager
def _blas_threads(threads):
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


# ------------------------------------------------------------ settings
def resolve_config(args) -> dict:
    """The run's settings: the options given, the rest from the dataset's recipe."""
    dataset = args.dataset or "digits"
    recipe = RECIPES[dataset]
    optimizer = args.optimizer or recipe.optimizer
    choice = OPTIMIZERS[optimizer]
    if args.momentum is not None and not choice.momentum:
        raise UsageError(
            f"argument --momentum: {optimizer} has no momentum; use one of "
            f"{', '.join(MOMENTUM_OPTIMIZERS)}"
        )
    if not choice.weight_decay and args.weight_decay:
        raise UsageError(f"argument --weight-decay: {optimizer} takes no weight decay")
    default_momentum = choice.default_momentum
    full_batch = choice.full_batch
    return {
        "dataset": dataset,
        "hidden": list(args.hidden or recipe.hidden),
        "activation": args.activation or recipe.activation,
        "dropout": _given(args.dropout, 0.0 if full_batch else recipe.dropout),
        "optimizer": optimizer,
        "lr": _given(args.lr, default_lr(recipe, optimizer)),
        "momentum": _given(args.momentum, default_momentum),
        "weight_decay": _given(args.weight_decay, choice.default_weight_decay),
        "batch_size": _given(args.batch_size, None if full_batch else recipe.batch_size),
        "epochs": _given(getattr(args, "epochs", None), recipe.epochs),
        "dtype": args.dtype or "float32",
        "seed": _given(args.seed, 0),
        "model": _train_model_name(args, dataset),
    }


TRAIN_MODELS = ("mlp", "cnn", "gru")


def _train_model_name(args, dataset: str) -> str:
    name = getattr(args, "model", None) or "mlp"
    if name != "mlp" and dataset != "mnist1d":
        raise UsageError(f"argument --model: {name} is built for --dataset mnist1d")
    return name


def _given(value, default):
    return default if value is None else value


def _resumed_config(args) -> dict:
    """Settings stored in the checkpoint, checked against those on the command line."""
    metadata = read_checkpoint_metadata(args.resume)
    extra = metadata.get("extra")
    saved = extra.get("config") if isinstance(extra, dict) else None
    if saved is None:
        raise ValueError(f"checkpoint {args.resume!r} was not written by '{PROG} train'")
    _check_saved_config(args.resume, saved)
    done = metadata.get("epoch")
    if args.epochs is not None and isinstance(done, int) and args.epochs <= done:
        raise UsageError(
            f"argument --epochs: the checkpoint {args.resume!r} already holds {done} epochs "
            f"and --epochs counts them too: give more than {done} to train further"
        )
    given = {key: getattr(args, key) for key in RUN_KEYS}
    if args.hidden is not None:
        given["hidden"] = list(args.hidden)
    for key in RUN_KEYS:
        if given[key] is not None and given[key] != saved[key]:
            raise UsageError(
                f"argument --{key.replace('_', '-')}: {_label(given[key])} differs from the "
                f"checkpoint's {_label(saved[key])}; a resumed run keeps its settings"
            )
    return {**saved, "epochs": args.epochs if args.epochs is not None else saved["epochs"]}


def _check_saved_config(path, saved) -> None:
    """The checkpoint's settings, each checked as its option would check it."""

    def fail(key, why):
        return ValueError(
            f"checkpoint {os.fspath(path)!r}: setting {key!r} {why} (was the file edited?)"
        )

    if not isinstance(saved, dict):
        raise fail("config", "is not a dict")
    for key in (*RUN_KEYS, "epochs"):
        if key not in saved:
            raise fail(key, "is missing")
    choices = {
        "dataset": RECIPES,
        "activation": ACTIVATION_NAMES,
        "optimizer": OPTIMIZERS,
        "dtype": ("float32", "float64"),
    }
    for key, allowed in choices.items():
        if saved[key] not in allowed:
            raise fail(key, f"is {saved[key]!r}, not one of {', '.join(allowed)}")

    def number(value, integer=False):
        kinds = (int,) if integer else (int, float)
        return isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)

    hidden = saved["hidden"]
    if not isinstance(hidden, list) or not all(number(w, True) and w >= 1 for w in hidden):
        raise fail("hidden", f"is {hidden!r}, not a list of positive integer widths")
    checks = {
        "lr": (lambda v: number(v) and v > 0, "a positive number"),
        "dropout": (lambda v: number(v) and 0 <= v < 1, "a number in [0, 1)"),
        "momentum": (lambda v: number(v) and 0 <= v < 1, "a number in [0, 1)"),
        "weight_decay": (lambda v: number(v) and v >= 0, "a number >= 0"),
        "seed": (lambda v: number(v, True) and v >= 0, "an integer >= 0"),
        "epochs": (lambda v: number(v, True) and v >= 1, "a positive integer"),
        "batch_size": (lambda v: v is None or (number(v, True) and v >= 1), "a positive integer"),
    }
    for key, (valid, expected) in checks.items():
        if not valid(saved[key]):
            raise fail(key, f"is {saved[key]!r}, expected {expected}")


# ------------------------------------------------------------ training
def _check_model_size(sizes, dtype: str) -> None:
    """Refuse, in one line, a model whose training state cannot fit in this machine's memory.

    Training holds the weights, their gradients and up to two optimizer
    moments (Adam): about four arrays of the parameters' size.
    """
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    itemsize = np.dtype(dtype).itemsize
    needed = 4 * parameters * itemsize
    available = _physical_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"the model {'-'.join(map(str, sizes))} has {parameters:,} parameters: training "
            f"it in {dtype} needs about {needed / 2**30:,.1f} GiB (weights, gradients, "
            f"optimizer state), more than this machine's {available / 2**30:,.1f} GiB"
        )


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on every platform (Windows)
        return None


def train_model_spec(config: dict, splits) -> dict:
    """Which builder makes the model of ``config``, with what arguments (saved with it)."""
    features = splits.X_train.shape[1]
    if config.get("model", "mlp") != "mlp":  # the MNIST-1D paper's CNN or GRU
        return model_spec("mnist1d_model", {"name": config["model"]}, features)
    sizes = [features, *config["hidden"], RECIPES[config["dataset"]].classes or 1]
    arguments = {"sizes": sizes, "activation": config["activation"], "dropout": config["dropout"]}
    return model_spec("mlp", arguments, features)


def train_model(
    config: dict, backend: str, progress: bool, checkpoint=None, resume=None, compiled=False
):
    """Build the recipe's data, model and optimizer from ``config`` and fit.

    ``compiled``: train through ``tg.compile`` (``fit(compile=True)``).

    Returns ``(model, history, splits, loss_fn, seconds)``.
    """
    recipe = RECIPES[config["dataset"]]
    splits = load_splits(config["dataset"], config["seed"])
    tg.manual_seed(config["seed"])
    spec = train_model_spec(config, splits)
    if spec["builder"] == "mlp":
        _check_model_size(spec["arguments"]["sizes"], config["dtype"])
    model = build_model(spec, dtype=config["dtype"], backend=backend)
    optimizer = make_optimizer(
        config["optimizer"],
        model.parameters(),
        config["lr"],
        config["momentum"],
        config["weight_decay"],
    )
    batch_size = config["batch_size"] or len(splits.X_train)
    where = {"backend": backend, "dtype": config["dtype"]}
    train_loader = data.DataLoader(
        splits.X_train, splits.y_train, batch_size, seed=config["seed"], **where
    )
    val_loader = data.DataLoader(splits.X_val, splits.y_val, 1024, shuffle=False, **where)
    loss_fn = F.cross_entropy if recipe.task == "classification" else F.mse_loss
    started = time.perf_counter()
    history = fit(
        model,
        loss_fn,
        optimizer,
        train_loader,
        val_loader,
        epochs=config["epochs"],
        checkpoint=checkpoint,
        resume=resume,
        progress=progress,
        task=recipe.task,
        extra={"config": config},
        compile=compiled,
    )
    return model, history, splits, loss_fn, time.perf_counter() - started


def run_train(args) -> int:
    if args.resume is not None:
        config = _resumed_config(args)
        checkpoint = args.checkpoint or args.resume
    else:
        config = resolve_config(args)
        checkpoint = args.checkpoint
    _check_output(args.plot, "--plot", figure=True)
    _check_output(args.save, "--save")
    _check_output(checkpoint, "--checkpoint")
    model, history, splits, loss_fn, seconds = train_model(
        config, args.backend, not args.no_progress, checkpoint, args.resume, args.compile
    )
    if history.interrupted:
        where = f"; checkpoint in {checkpoint} (continue with --resume {checkpoint})"
        print(
            f"{PROG}: interrupted after {history.epochs} epochs" + (where if checkpoint else ""),
            file=sys.stderr,
        )
        return 130
    task = RECIPES[config["dataset"]].task
    results = {
        part: evaluate(model, X, y, task=task, loss_fn=loss_fn)
        for part, X, y in (
            ("train", splits.X_train, splits.y_train),
            ("val", splits.X_val, splits.y_val),
            ("test", splits.X_test, splits.y_test),
        )
    }
    print(_results_table(results, task))
    print(
        f"time {seconds:.1f} s, {history.epochs} epochs, {config['optimizer']} "
        f"lr {config['lr']:g}, {_architecture(config)}, "
        f"backend {args.backend}, {config['dtype']}, seed {config['seed']}"
    )
    if splits.note:
        print(f"note: {splits.note}")
    if args.save:
        spec = train_model_spec(config, splits)
        save(model.state_dict(), args.save, metadata={"config": config, "model": spec})
        print(f"model saved to {args.save} (use it: {PROG} evaluate {args.save})")
    if args.plot:
        plot_history(
            history,
            args.plot,
            title=f"{config['dataset']}: {config['optimizer']} lr {config['lr']:g}",
            loss_name="cross-entropy" if task == "classification" else "MSE",
            dropout=config["dropout"] > 0,
        )
        print(f"curves written to {args.plot}")
    test = results["test"]
    if task == "classification":
        print(f"test accuracy: {100 * test['accuracy']:.1f}%")
    else:
        print(f"test R2: {test['r2']:.2f}")
    return 0


def _check_output(path, option: str, figure: bool = False) -> None:
    """Refuse, before any training, an output path that cannot be written.

    A folder (or a name ending in a separator), a missing or read-only
    folder, a read-only file, and for figures an extension other than
    .png/.pdf/.svg. Read-only means no write permission or no write bit at
    all: ``tg.save`` refuses a 0444 file even for root, and so does this.
    """
    if path is None:
        return
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise UsageError(f"argument {option}: {path!r} is a folder; give a file name in it")
    if figure:
        try:
            figure_format(path)
        except ValueError as err:
            raise UsageError(f"argument {option}: {err}") from None
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {folder!r} does not exist")
    if not _writable(folder):
        raise PermissionError(f"cannot write {path!r}: the folder {folder!r} is read-only")
    if os.path.exists(target) and not _writable(target):
        raise PermissionError(f"cannot write {path!r}: the file is read-only")


def _writable(path: str) -> bool:
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return os.access(path, os.W_OK) and bool(os.stat(path).st_mode & write_bits)


def _architecture(config: dict, activation: bool = False) -> str:
    """``hidden 64,32`` (with ``, relu`` if asked) for an MLP, ``model cnn`` for the others."""
    if config.get("model", "mlp") != "mlp":
        return f"model {config['model']}"
    shape = f"hidden {','.join(map(str, config['hidden']))}"
    return f"{shape}, {config['activation']}" if activation else shape


def _results_table(results: dict, task: str) -> str:
    parts = list(results)
    rows = [
        ("", *(RESULT_COLUMNS.get(part, part) for part in parts)),
        ("loss", *(_number(results[p]["loss"]) for p in parts)),
    ]
    if task == "classification":
        rows.append(("accuracy", *(f"{100 * results[p]['accuracy']:.1f}%" for p in parts)))
    else:
        rows.append(("MSE", *(_number(results[p]["mse"]) for p in parts)))
        rows.append(("R2", *(_number(results[p]["r2"]) for p in parts)))
    width = max(10, *(len(cell) + 2 for row in rows for cell in row[1:]))
    return "\n".join(
        f"{row[0]:<10}" + "".join(f"{cell:>{width}}" for cell in row[1:]) for row in rows
    )


def _number(value: float) -> str:
    """Four decimals, or scientific notation where they would not fit (a diverged loss)."""
    return f"{value:.4f}" if abs(value) < 1e5 or not math.isfinite(value) else f"{value:.4e}"


# ------------------------------------------------------------ sweep
SWEEP_DEFAULT_VALUES = {
    "hidden": ["32", "64", "128"],
    "weight_decay": ["0", "1e-4", "1e-3", "1e-2"],
    "optimizer": ["sgd", "momentum", "adam"],
}


def _sweep_values(param: str, texts) -> list:
    parse = {"hidden": _hidden, "weight_decay": _non_negative_float}.get(param)
    values = []
    for text in texts:
        if param == "optimizer":
            if text not in OPTIMIZERS:
                raise UsageError(
                    f"argument --values: unknown optimizer {text!r}; choose from "
                    f"{', '.join(OPTIMIZERS)}"
                )
            values.append(text)
            continue
        try:
            values.append(parse(text))
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"argument --values: {err}") from None
    return values


def run_sweep(args) -> int:
    values = _sweep_values(args.param, args.values or SWEEP_DEFAULT_VALUES[args.param])
    if getattr(args, args.param) is not None:
        raise UsageError(
            f"argument --{args.param.replace('_', '-')}: it is swept; give its values with --values"
        )
    if args.lr is not None:
        raise UsageError("argument --lr: the learning rate is swept; use --lrs")
    _check_output(args.out, "--out", figure=True)
    task = RECIPES[args.dataset or "digits"].task
    metric = "accuracy" if task == "classification" else "r2"
    configs = [  # all settled (and checked) before the first run
        [
            resolve_config(argparse.Namespace(**{**vars(args), args.param: value, "lr": lr}))
            for lr in args.lrs
        ]
        for value in values
    ]
    _check_sweep_sizes(configs)

    def report(record: dict) -> None:
        config = record["config"]
        tqdm.write(
            f"{args.param}={_label(config[args.param])} lr={config['lr']:g}: "
            f"val {metric} {_run_text(record, metric)}"
        )

    run = functools.partial(sweep_run, backend=args.backend, threads=args.threads)
    with _sweep_client(args) as client:
        records = sweeps.sweep(
            run,
            [config for row_configs in configs for config in row_configs],
            client=client,
            results=args.results,
            resume=args.resume,
            progress=not args.no_progress,
            callback=report,
        )
    scores = iter([_run_score(record, metric) for record in records])
    grid = [[next(scores) for _ in args.lrs] for _ in values]
    row_labels = [f"{_label(value)}" for value in values]
    column_labels = [f"{lr:g}" for lr in args.lrs]
    print(_grid_table(grid, row_labels, column_labels, args.param, metric))
    finite = [
        (score, i, j)
        for i, row in enumerate(grid)
        for j, score in enumerate(row)
        if score is not None and not math.isnan(score)
    ]
    best = None
    if finite:
        score, i, j = max(finite, key=_best_cell_order)
        best = (i, j)
        print(
            f"best: {args.param}={row_labels[i]}, lr={column_labels[j]} "
            f"(val {metric} {_score_text(score, metric)}; {BEST_TIES})"
        )
    shown = "accuracy (%)" if metric == "accuracy" else "R2"
    plot_heatmap(
        [
            [math.nan if s is None else 100 * s if metric == "accuracy" else s for s in row]
            for row in grid
        ],
        row_labels,
        column_labels,
        args.out,
        xlabel="learning rate",
        ylabel=args.param,
        title=f"{args.dataset or 'digits'}: validation {shown}, {args.epochs} epochs",
        value_format="{:.1f}" if metric == "accuracy" else "{:.3f}",
        best=best,
    )
    print(f"heatmap written to {args.out}")
    return 0


def _check_sweep_sizes(configs) -> None:
    """Every model of the grid fits in memory: checked before the first run."""
    first = configs[0][0]
    features = load_splits(first["dataset"], first["seed"]).X_train.shape[1]
    outputs = RECIPES[first["dataset"]].classes or 1
    for row in configs:
        _check_model_size([features, *row[0]["hidden"], outputs], row[0]["dtype"])


def sweep_run(config: dict, backend: str = "numpy", threads: int | None = 1) -> dict:
    """Train one configuration of a sweep; its last epoch's validation metrics.

    The sweep's task: module-level so that Dask workers can import it, and
    with the BLAS thread count and floating-point settings of ``main`` so
    that a worker computes the same bits as a serial sweep.
    """
    with _blas_threads(threads), np.errstate(all="ignore"):
        _, history, *_ = train_model(config, backend, progress=False)
    if history.interrupted:
        raise KeyboardInterrupt
    return {key: values[-1] for key, values in history.items() if key.startswith("val_")}


@contextlib.contextmanager
def _sweep_client(args):
    """A Dask client for ``--workers`` (a LocalCluster) or ``--scheduler``; else None."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    option = "--workers" if args.workers is not None else "--scheduler"
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            f"argument {option}: needs Dask's 'distributed' package "
            "(pip install 'tinygrad_edu[backends]')"
        ) from None
    if args.workers is not None:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(args.scheduler, timeout=10)
    except (OSError, TimeoutError, ValueError) as err:
        raise OSError(f"cannot reach the Dask scheduler at {args.scheduler!r}: {err}") from None
    with client:
        threaded = {worker: n for worker, n in client.nthreads().items() if n != 1}
        if threaded:
            raise UsageError(
                f"argument --scheduler: workers {', '.join(sorted(threaded))} run "
                f"{max(threaded.values())} threads; a sweep needs single-threaded workers "
                "(dask worker ADDRESS --nthreads 1 --nworkers N), as the seeded random "
                "generator is shared by a process's threads"
            )
        yield client


def _run_score(record: dict, metric: str):
    """A run's validation metric: NaN if it diverged, None if it failed otherwise."""
    if record["status"] == "ok":
        return record["metrics"]["val_" + metric]
    return math.nan if record["error"].startswith("FloatingPointError") else None


def _run_text(record: dict, metric: str) -> str:
    score = _run_score(record, metric)
    return f"failed ({record['error']})" if score is None else _score_text(score, metric)


def _label(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _score_text(score, metric: str) -> str:
    if score is None:
        return "failed"
    if math.isnan(score):
        return "diverged"
    return f"{100 * score:.1f}%" if metric == "accuracy" else f"{score:.3f}"


def _grid_table(grid, row_labels, column_labels, param: str, metric: str) -> str:
    width = max(10, *(len(label) + 1 for label in column_labels))
    first = max(len(param) + 5, *(len(label) for label in row_labels)) + 2
    title = f"val {metric}" + (" (%)" if metric == "accuracy" else "")
    corner = f"{param} \\ lr"
    lines = [title, f"{corner:<{first}}" + "".join(f"{c:>{width}}" for c in column_labels)]
    for label, row in zip(row_labels, grid, strict=True):
        cells = (
            "failed"
            if s is None
            else "diverged"
            if math.isnan(s)
            else f"{100 * s:.1f}"
            if metric == "accuracy"
            else f"{s:.3f}"
            for s in row
        )
        lines.append(f"{label:<{first}}" + "".join(f"{cell:>{width}}" for cell in cells))
    return "\n".join(lines)


# ------------------------------------------------------------ info
def run_info(args) -> int:
    machine = backends.describe()
    print(
        f"tinygrad_edu {tg.__version__} (Python {platform.python_version()}, numpy "
        f"{machine['numpy']}, array-api-compat {machine['array_api_compat']})"
    )
    print(f"default backend: {machine['default_backend']}")
    print(f"default dtype: {machine['default_dtype']}")
    entries = machine["backends"]
    print("backends:")
    for name, entry in entries.items():
        if entry["available"]:
            float64 = "" if entry.get("float64", True) else " (float64 off)"
            print(f"  {name} {entry['version']}: {', '.join(entry['devices'])}{float64}")
    missing = {name: entry for name, entry in entries.items() if not entry["available"]}
    if missing:
        print("not available:")
        for name, entry in missing.items():
            print(f"  {name}: {entry['reason']}; install: {INSTALL_HINTS.get(name, '-')}")
        print(f"all optional CPU backends at once: {ALL_BACKENDS_HINT}")
    return 0


# The table's training column is measured after training, in evaluation mode
# (dropout off): not the running average that the "train" curve shows.
RESULT_COLUMNS = {"train": "train-eval"}


# ------------------------------------------------------------ sweep: the best cell
SWEEP_DESCRIPTION = (
    "Train one run per cell of a grid: learning rates (--lrs) x the values of another "
    "setting (--param, --values), each for --epochs epochs with the dataset's other "
    "defaults. Prints each run's final validation score and the grid, names the best "
    "cell, and draws the grid as a heatmap (--out) with the best cell outlined. Ties go "
    "to the first row (the first of --values), then to the first of --lrs."
)
BEST_TIES = "ties: the first row, then the first of --lrs"


def _best_cell_order(cell):
    """Sort key of ``(score, row, column)``: higher score; on ties the first row and column."""
    score, row, column = cell
    return score, -row, -column


# ------------------------------------------------------------ evaluate and predict
def _add_saved_model_commands(commands) -> None:
    evaluate_command = commands.add_parser(
        "evaluate",
        help="test metrics of a model saved by 'train --save'",
        description="Rebuild the model saved by 'train --save MODEL' (its settings are in the "
        "file) and print its metrics on the test split of its dataset, drawn with the seed "
        "it was trained with (or of --dataset, for another dataset with the same inputs).",
    )
    evaluate_command.add_argument("model", metavar="MODEL", help="a .safetensors file")
    evaluate_command.add_argument(
        "--dataset", choices=tuple(RECIPES), help="default: the one it was trained on"
    )
    evaluate_command.set_defaults(handler=run_evaluate, backend=None, threads=1)

    predict_command = commands.add_parser(
        "predict",
        help="predictions of a saved model for inputs in a .npy or .csv file",
        description="Run the model saved by 'train --save MODEL' on INPUT, one sample per "
        "row (.npy: a 2-D array; .csv: comma-separated numbers, no header). Inputs are raw "
        "as the dataset gives them (digits: pixel values 0..16) and scaled as in training. "
        "Prints one prediction per line (the class, or the regression value), or writes "
        "them to --out.",
    )
    predict_command.add_argument("model", metavar="MODEL", help="a .safetensors file")
    predict_command.add_argument("inputs", metavar="INPUT", help="a .npy or .csv file")
    predict_command.add_argument(
        "--out", metavar="FILE", help="write the predictions to FILE (.npy or .csv)"
    )
    predict_command.set_defaults(handler=run_predict, backend=None, threads=1)


def _saved_model(path: str):
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no such model file: {path!r} (write one with '{PROG} train --save')"
        )
    return load_saved(path)


def run_evaluate(args) -> int:
    config, spec, model = _saved_model(args.model)
    dataset = args.dataset or config["dataset"]
    splits = load_splits(dataset, config.get("seed", 0))
    features = spec["input_features"]
    if splits.X_test.shape[1] != features:
        raise UsageError(
            f"argument --dataset: {dataset} has {splits.X_test.shape[1]} input features, "
            f"the model takes {features}"
        )
    task = RECIPES[dataset].task
    loss_fn = F.cross_entropy if task == "classification" else F.mse_loss
    where = {"dtype": config.get("dtype", "float32")}
    test = data.DataLoader(splits.X_test, splits.y_test, 1024, shuffle=False, **where)
    results = {"test": evaluate(model, test, task=task, loss_fn=loss_fn)}
    print(_results_table(results, task))
    print(
        f"model {args.model}: {dataset}, {_architecture(config, activation=True)}, "
        f"{config.get('dtype', 'float32')}, "
        f"seed {config.get('seed', 0)}"
    )
    if splits.note:
        print(f"note: {splits.note}")
    if task == "classification":
        print(f"test accuracy: {100 * results['test']['accuracy']:.1f}%")
    else:
        print(f"test R2: {results['test']['r2']:.2f}")
    return 0


def _read_inputs(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such input file: {path!r}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{path!r} is not a .npy array of numbers: {err}") from None
    if suffix == ".csv":
        try:
            return np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=1)
        except ValueError as err:
            raise ValueError(f"{path!r} is not comma-separated numbers: {err}") from None
    raise UsageError(f"argument INPUT: {path!r} must be a .npy or .csv file")


def _write_predictions(path: str, predictions: np.ndarray) -> None:
    """``predictions`` as a .npy array or a .csv column, written atomically."""
    _check_output(path, "--out")
    buffer = io.BytesIO()
    if os.path.splitext(path)[1].lower() == ".npy":
        np.save(buffer, predictions, allow_pickle=False)
    else:
        integer = predictions.dtype.kind in "iu"
        np.savetxt(buffer, predictions, delimiter=",", fmt="%d" if integer else "%.9g")
    write_atomically(path, buffer.getvalue())


def run_predict(args) -> int:
    if args.out and os.path.splitext(args.out)[1].lower() not in (".npy", ".csv"):
        raise UsageError(f"argument --out: {args.out!r} must end in .npy or .csv")
    config, spec, model = _saved_model(args.model)
    predictions = predict_saved(model, _read_inputs(args.inputs), config, spec["input_features"])
    if args.out:
        _write_predictions(args.out, predictions)
        print(f"{len(predictions)} predictions written to {args.out}")
        return 0
    for row in predictions:
        print(row if np.ndim(row) == 0 else ",".join(f"{value:.9g}" for value in row))
    return 0
