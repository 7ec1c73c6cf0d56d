"""The ``tinygrad-edu`` command: ``train``, ``sweep`` and ``info``.

``tinygrad-edu train`` trains an MLP on a dataset with that dataset's recipe
(``tinygrad_edu.train.recipes``), any option overriding the recipe, then
prints train/validation/test metrics and the test result on a line of its own
(``test accuracy: 97.8%`` or ``test R2: 0.95``). ``sweep`` trains a grid of
learning rates x another setting and draws the validation results as a
heatmap; ``info`` lists the backends. Bad arguments end with a one-line error
on stderr and exit status 2 (1 for failures while running, 130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import sys
import time

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F

from . import backend as backends
from . import benchmark as mnist1d_benchmark
from . import data
from .models import MNIST1D_MODELS, mlp, mnist1d_model
from .plotting import plot_heatmap, plot_history
from .serialization import save
from .train import evaluate, fit, read_checkpoint_metadata
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

PROG = "tinygrad-edu"
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu")
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
        "--epochs",
        type=_positive_int,
        help="total epochs (a resumed run counts the checkpoint's epochs too)",
    )
    train.add_argument("--plot", metavar="PATH", help="write loss and metric curves as a PNG")
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
    _add_model_options(sweep)
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
        "--out", metavar="PATH", default="sweep.png", help="heatmap PNG (default: sweep.png)"
    )
    sweep.set_defaults(handler=run_sweep)

    info = commands.add_parser("info", help="version, backends, devices, default dtype")
    info.set_defaults(handler=run_info)
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
    _check_folder(args.out)

    def report(run):
        order = "shuffled" if run.shuffled else "normal"
        print(
            f"{run.library:>12} {run.model:>8} {order:>8} seed {run.seed}: test accuracy "
            f"{100 * run.final_test:.1f}%, {run.seconds:.1f} s",
            flush=True,
        )

    runs = mnist1d_benchmark.run(
        args.models, args.steps, args.seeds, args.eval_every, args.peer, args.backend, report
    )
    print()
    print(mnist1d_benchmark.table(runs))
    spent = mnist1d_benchmark.totals(runs)
    line = f"total training time: tinygrad_edu {spent['tinygrad_edu']:.1f} s"
    if "torch" in spent:
        ratio = spent["tinygrad_edu"] / spent["torch"]
        line += f", torch {spent['torch']:.1f} s (ratio {ratio:.2f})"
    print(line)
    print(f"figure written to {mnist1d_benchmark.plot(runs, args.out)}")
    return 0


def _add_model_options(parser) -> None:
    parser.add_argument("--dataset", choices=tuple(RECIPES), help="default: digits")
    parser.add_argument("--hidden", type=_hidden, help="hidden widths, e.g. 128,64")
    parser.add_argument("--activation", choices=ACTIVATION_NAMES)
    parser.add_argument("--dropout", type=_probability, help="dropout after each hidden layer")
    parser.add_argument("--optimizer", choices=OPTIMIZERS)
    parser.add_argument("--lr", type=_positive_float, help="learning rate")
    parser.add_argument(
        "--momentum",
        type=_non_negative_float,
        help="for momentum and nesterov (default 0.9) and rmsprop (default 0)",
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


# ------------------------------------------------------------ entry point
def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
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
            f"(available: {available})"
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
    if args.momentum is not None and optimizer not in MOMENTUM_OPTIMIZERS:
        raise UsageError(
            f"argument --momentum: {optimizer} has no momentum; use one of "
            f"{', '.join(MOMENTUM_OPTIMIZERS)}"
        )
    if optimizer == "lbfgs" and args.weight_decay:
        raise UsageError("argument --weight-decay: lbfgs takes no weight decay")
    default_momentum = 0.9 if optimizer in ("momentum", "nesterov") else 0.0
    full_batch = optimizer == "lbfgs"
    return {
        "dataset": dataset,
        "hidden": list(args.hidden or recipe.hidden),
        "activation": args.activation or recipe.activation,
        "dropout": _given(args.dropout, 0.0 if full_batch else recipe.dropout),
        "optimizer": optimizer,
        "lr": _given(args.lr, default_lr(recipe, optimizer)),
        "momentum": _given(args.momentum, default_momentum),
        "weight_decay": _given(args.weight_decay, 0.0 if optimizer != "adamw" else 1e-2),
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
    saved = read_checkpoint_metadata(args.resume)["extra"].get("config")
    if saved is None:
        raise ValueError(f"checkpoint {args.resume!r} was not written by '{PROG} train'")
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


# ------------------------------------------------------------ training
def train_model(config: dict, backend: str, progress: bool, checkpoint=None, resume=None):
    """Build the recipe's data, model and optimizer from ``config`` and fit.

    Returns ``(model, history, splits, loss_fn, seconds)``.
    """
    recipe = RECIPES[config["dataset"]]
    splits = load_splits(config["dataset"], config["seed"])
    tg.manual_seed(config["seed"])
    outputs = recipe.classes or 1
    if config.get("model", "mlp") != "mlp":  # the MNIST-1D paper's CNN or GRU
        model = mnist1d_model(config["model"], dtype=config["dtype"], backend=backend)
    else:
        model = mlp(
            [splits.X_train.shape[1], *config["hidden"], outputs],
            config["activation"],
            config["dropout"],
            dtype=config["dtype"],
            backend=backend,
        )
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
    )
    return model, history, splits, loss_fn, time.perf_counter() - started


def run_train(args) -> int:
    if args.resume is not None:
        config = _resumed_config(args)
        checkpoint = args.checkpoint or args.resume
    else:
        config = resolve_config(args)
        checkpoint = args.checkpoint
    for path in (args.plot, args.save, checkpoint):
        _check_folder(path)
    model, history, splits, loss_fn, seconds = train_model(
        config, args.backend, not args.no_progress, checkpoint, args.resume
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
    shape = f"hidden {','.join(map(str, config['hidden']))}"
    if config.get("model", "mlp") != "mlp":
        shape = f"model {config['model']}"
    print(
        f"time {seconds:.1f} s, {history.epochs} epochs, {config['optimizer']} "
        f"lr {config['lr']:g}, {shape}, "
        f"backend {args.backend}, {config['dtype']}, seed {config['seed']}"
    )
    if splits.note:
        print(f"note: {splits.note}")
    if args.save:
        save(model.state_dict(), args.save, metadata={"config": config})
        print(f"model saved to {args.save}")
    if args.plot:
        plot_history(
            history,
            args.plot,
            title=f"{config['dataset']}: {config['optimizer']} lr {config['lr']:g}",
        )
        print(f"curves written to {args.plot}")
    test = results["test"]
    if task == "classification":
        print(f"test accuracy: {100 * test['accuracy']:.1f}%")
    else:
        print(f"test R2: {test['r2']:.2f}")
    return 0


def _check_folder(path) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {folder!r} does not exist")


def _results_table(results: dict, task: str) -> str:
    parts = list(results)
    rows = [("", *parts), ("loss", *(f"{results[p]['loss']:.4f}" for p in parts))]
    if task == "classification":
        rows.append(("accuracy", *(f"{100 * results[p]['accuracy']:.1f}%" for p in parts)))
    else:
        rows.append(("MSE", *(f"{results[p]['mse']:.4f}" for p in parts)))
        rows.append(("R2", *(f"{results[p]['r2']:.4f}" for p in parts)))
    return "\n".join(f"{row[0]:<10}" + "".join(f"{cell:>10}" for cell in row[1:]) for row in rows)


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
    _check_folder(args.out)
    task = RECIPES[args.dataset or "digits"].task
    metric = "accuracy" if task == "classification" else "r2"
    configs = [  # all settled (and checked) before the first run
        [
            resolve_config(argparse.Namespace(**{**vars(args), args.param: value, "lr": lr}))
            for lr in args.lrs
        ]
        for value in values
    ]
    grid = []
    for value, row_configs in zip(values, configs, strict=True):
        row = []
        for config in row_configs:
            try:
                _, history, *_ = train_model(config, args.backend, progress=False)
                score = history["val_" + metric][-1]
            except FloatingPointError:
                score = math.nan
            row.append(score)
            print(
                f"{args.param}={_label(value)} lr={config['lr']:g}: "
                f"val {metric} {_score_text(score, metric)}",
                flush=True,
            )
        grid.append(row)
    row_labels = [f"{_label(value)}" for value in values]
    column_labels = [f"{lr:g}" for lr in args.lrs]
    print(_grid_table(grid, row_labels, column_labels, args.param, metric))
    finite = [
        (score, i, j)
        for i, row in enumerate(grid)
        for j, score in enumerate(row)
        if not math.isnan(score)
    ]
    if finite:
        score, i, j = max(finite)
        print(
            f"best: {args.param}={row_labels[i]}, lr={column_labels[j]} "
            f"(val {metric} {_score_text(score, metric)})"
        )
    shown = "accuracy (%)" if metric == "accuracy" else "R2"
    plot_heatmap(
        [[100 * s if metric == "accuracy" else s for s in row] for row in grid],
        row_labels,
        column_labels,
        args.out,
        xlabel="learning rate",
        ylabel=args.param,
        title=f"{args.dataset or 'digits'}: validation {shown}, {args.epochs} epochs",
        value_format="{:.1f}" if metric == "accuracy" else "{:.3f}",
    )
    print(f"heatmap written to {args.out}")
    return 0


def _label(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _score_text(score: float, metric: str) -> str:
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
            "diverged"
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
            print(f"  {name}: {entry['reason']}")
    return 0
