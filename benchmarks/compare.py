"""Peer comparison: tinygrad_edu against a hand-written NumPy floor and other libraries.

Run from the repository root::

    python benchmarks/compare.py [--repeats N] [--quick] [--json PATH]

Everything runs on one thread (threadpoolctl + ``torch.set_num_threads(1)``).
Each (workload, implementation) pair is first checked: a fresh copy runs a few
steps and its parameters (or gradient, for the op chain) are compared with the
NumPy floor's. Then each pair is warmed up and calibrated so that one timed
block of consecutive steps lasts about ``--block-ms``. The timed rounds are
interleaved: every round times one block of each implementation in turn (the
starting implementation rotates), so slow drifts of the machine hit all of them
alike. The reported time is the median over rounds of the per-step mean within
a block; the spread column is the interquartile range over rounds relative to
the median.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# Benchmark the working tree's tinygrad_edu even when it is not installed.
sys.path.insert(1, str(HERE.parent))

try:
    from . import implementations as impls
    from . import workloads as wl
except ImportError:  # run as a script
    import implementations as impls
    import workloads as wl

FLOOR = impls.NumpyFloor.name
TORCH = impls.Torch.name
TINY = impls.TinygradEdu.name
COMPILED = impls.TinygradEduCompiled.name
COMPILED_LOSS = impls.TinygradEduCompiledLoss.name
CHECK_STEPS = 5


def load_implementations():
    """Import each library; return (loaded implementations, {name: skip note})."""
    loaded, skipped = [], {}
    for cls in impls.ALL:
        impl = cls()
        try:
            loaded.append(impl.load())
        except Exception as exc:  # a half-written library may raise anything
            skipped[impl.name] = f"not importable: {type(exc).__name__}: {exc}"
    return loaded, skipped


def limit_threads():
    """One thread everywhere. Call after every library is imported."""
    from threadpoolctl import threadpool_info, threadpool_limits

    limiter = threadpool_limits(limits=1)
    try:
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    except (ImportError, RuntimeError):
        pass
    return limiter, threadpool_info()


def cpu_model():
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or platform.machine()
    name = fields.get("model name", platform.machine())
    extra = ", ".join(
        f"{label} {fields[key]}"
        for key, label in (("cpu family", "family"), ("model", "model"), ("stepping", "stepping"))
        if key in fields
    )
    return f"{name} ({extra})" if extra else name


def environment(pools, loaded, skipped):
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "numpy": np.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "threadpools": [
            {
                k: pool.get(k)
                for k in (
                    "user_api",
                    "internal_api",
                    "prefix",
                    "version",
                    "architecture",
                    "threading_layer",
                    "num_threads",
                    "filepath",
                )
            }
            for pool in pools
        ],
        "libraries": {},
        "skipped": skipped,
    }
    for impl in loaded:
        if impl.name == TORCH:
            torch = impl.torch
            config = torch.__config__.show()
            blas = next(
                (
                    part.split("=")[1]
                    for part in config.replace(",", " ").split()
                    if part.startswith("BLAS_INFO=")
                ),
                "?",
            )
            info["libraries"][impl.name] = {
                "version": torch.__version__,
                "num_threads": torch.get_num_threads(),
                "blas": blas,
                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            }
        elif impl.name == TINY:
            info["libraries"][impl.name] = {
                "version": getattr(impl.tg, "__version__", "?"),
                "file": getattr(impl.tg, "__file__", "?"),
            }
        elif impl.name == "autograd (HIPS)":
            from importlib.metadata import version

            info["libraries"][impl.name] = {"version": version("autograd")}
        elif impl.name == "mygrad":
            info["libraries"][impl.name] = {"version": impl.mg.__version__}
    return info


def print_environment(info):
    print("== environment")
    print(f"python {info['python']} on {info['platform']}")
    print(f"CPU: {info['cpu']}, {info['logical_cpus']} logical CPUs")
    load = info["load_average_1min"]
    busy = "  (busy machine: timings will be noisy)" if load > 0.5 else ""
    print(f"load average (1 min) before the run: {load:.2f}{busy}")
    print(f"numpy {info['numpy']}")
    for pool in info["threadpools"]:
        arch = f", kernel {pool['architecture']}" if pool.get("architecture") else ""
        where = str(Path(pool["filepath"]).parent).split("site-packages/")[-1]
        print(
            f"  threadpool {pool['user_api']}: {pool['prefix']} {pool['version'] or ''}"
            f"{arch}, threads = {pool['num_threads']} ({where})"
        )
    coretype = info["OPENBLAS_CORETYPE"]
    print("OPENBLAS_CORETYPE: " + (f"set to {coretype!r}" if coretype else "not set"))
    for name, lib in info["libraries"].items():
        details = ", ".join(f"{k} {v}" for k, v in lib.items())
        print(f"{name}: {details}")
    for name, note in info["skipped"].items():
        print(f"SKIPPED {name}: {note}")
    print()


# --------------------------------------------------------------------------
# correctness check and timing
# --------------------------------------------------------------------------
def make_runner(impl, workload):
    """A zero-argument callable doing one timed unit of work."""
    if isinstance(workload, wl.ChainWorkload):
        return impl.chain(workload)
    return impl.mlp(workload).step


def check(impl, workload):
    """Run a fresh copy a few steps; return (result arrays, description)."""
    if isinstance(workload, wl.ChainWorkload):
        return [np.asarray(impl.chain(workload)())]
    model = impl.mlp(workload)
    for _ in range(CHECK_STEPS):
        model.step()
    return [np.array(p, copy=True) for p in model.params()]


def compare_results(result, reference, rtol, atol):
    if len(result) != len(reference):
        return f"MISMATCH: {len(result)} arrays vs {len(reference)}"
    worst = 0.0
    for got, want in zip(result, reference, strict=True):
        if got.shape != want.shape:
            return f"MISMATCH: shape {got.shape} vs {want.shape}"
        if not np.all(np.isfinite(got)):
            return "MISMATCH: non-finite values"
        err = np.max(np.abs(got.astype(np.float64) - want) / (atol + rtol * np.abs(want)))
        worst = max(worst, float(err))
    return "ok" if worst <= 1.0 else f"MISMATCH ({worst:.1f}x tolerance)"


def calibrate(fn, warmup_s, block_s):
    """Warm up, then return how many calls make one block of about block_s."""
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < warmup_s:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    return max(1, round(block_s / per_call))


def time_interleaved(runners, repeats, block_sizes):
    """Round-robin timing; returns {name: [seconds per call, one per round]}."""
    names = list(runners)
    samples = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            fn, block = runners[name], block_sizes[name]
            # Cheap after gc.freeze(); keeps one library's garbage out of the next's time.
            gc.collect()
            start = time.perf_counter()
            for _ in range(block):
                fn()
            samples[name].append((time.perf_counter() - start) / block)
    return samples


def run_workload(workload, loaded, skipped, args):
    per_op = isinstance(workload, wl.ChainWorkload)
    rtol, atol = (1e-10, 1e-12) if per_op else (1e-3, 1e-5)
    reference = None
    rows, runners = {}, {}
    for impl in loaded:
        try:
            result = check(impl, workload)
            if impl.name == FLOOR:
                reference, status = result, "reference"
            elif reference is None:
                status = "unchecked (no NumPy floor)"
            else:
                status = compare_results(result, reference, rtol, atol)
            runners[impl.name] = make_runner(impl, workload)
            rows[impl.name] = {"check": status}
        except Exception as exc:
            rows[impl.name] = {"skipped": f"skipped: {type(exc).__name__}: {exc}"}

    limit_threads()  # again: setup may have loaded a library with its own thread pool
    gc.collect()
    gc.freeze()
    block_sizes = {
        name: calibrate(fn, args.warmup_ms / 1e3, args.block_ms / 1e3)
        for name, fn in runners.items()
    }
    samples = time_interleaved(runners, args.repeats, block_sizes)
    gc.unfreeze()

    scale = 1e6 / workload.n_ops if per_op else 1e3
    for name, times in samples.items():
        q1, median, q3 = np.percentile(times, [25, 50, 75])
        rows[name].update(
            median=median * scale,
            iqr_pct=100 * (q3 - q1) / median,
            block=block_sizes[name],
            samples_s=times,
        )
    for name, row in rows.items():
        if "median" not in row:
            continue
        if FLOOR in samples:
            row["vs_numpy"] = row["median"] / rows[FLOOR]["median"]
        if name == TINY and TORCH in samples:
            row["vs_torch"] = row["median"] / rows[TORCH]["median"]
    rows.update({name: {"skipped": note} for name, note in skipped.items()})
    return {
        "workload": workload.name,
        "description": workload.description,
        "unit": "us/op" if per_op else "ms/step",
        "notes": workload.notes,
        "results": rows,
    }


# ------------------------------------------------------------ layer rows (conv, GRU)
# (name, description, input shape, layer): forward + backward of sum(y * w) for a
# fixed random w, float32, against PyTorch eager with the same weights and inputs.
LAYER_ROWS = [
    (
        "L1 conv1d small",
        "Conv1d(25, 25, 3, stride 2, pad 1) on (100, 25, 19): the MNIST-1D CNN's 2nd layer",
        (100, 25, 19),
        ("conv1d", 25, 25, 3, {"stride": 2, "padding": 1}),
    ),
    (
        "L2 conv1d mid",
        "Conv1d(64, 64, 5, pad 2) on (32, 64, 256)",
        (32, 64, 256),
        ("conv1d", 64, 64, 5, {"padding": 2}),
    ),
    (
        "L3 conv2d small",
        "Conv2d(8, 16, 3, pad 1) on (32, 8, 28, 28)",
        (32, 8, 28, 28),
        ("conv2d", 8, 16, 3, {"padding": 1}),
    ),
    (
        "L4 conv2d mid",
        "Conv2d(32, 64, 3, pad 1) on (16, 32, 64, 64)",
        (16, 32, 64, 64),
        ("conv2d", 32, 64, 3, {"padding": 1}),
    ),
    (
        "L5 GRU step",
        "bidirectional GRU(1, 6) over 40 steps, batch 100 (batch first): the MNIST-1D GRU layer",
        (100, 40, 1),
        ("gru", 1, 6, 0, {}),
    ),
]


def _layer_pair(spec, shape, torch, tg):
    """(ours, theirs, x, tx, w, tw): the same layer in both libraries, same weights."""
    kind, first, second, kernel, options = spec
    rng = np.random.default_rng(wl.SEED)
    if kind == "gru":
        theirs = torch.nn.GRU(first, second, batch_first=True, bidirectional=True)
        ours = tg.nn.GRU(first, second, batch_first=True, bidirectional=True)
    else:
        cls = {"conv1d": "Conv1d", "conv2d": "Conv2d"}[kind]
        theirs = getattr(torch.nn, cls)(first, second, kernel, **options)
        ours = getattr(tg.nn, cls)(first, second, kernel, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        out = theirs(torch.from_numpy(x))
    out = out[0] if isinstance(out, tuple) else out
    w = rng.standard_normal(tuple(out.shape)).astype(np.float32)
    return ours, theirs, x, w


def layer_reports(args):
    """The conv and GRU rows: tinygrad_edu and PyTorch eager, forward + backward."""
    try:
        import torch

        import tinygrad_edu as tg
    except ImportError as exc:
        print(f"layer rows skipped: {exc}")
        return []
    reports = []
    for name, description, shape, spec in LAYER_ROWS:
        if args.only and not name.startswith(tuple(p.strip() for p in args.only.split(","))):
            continue
        ours, theirs, x, w = _layer_pair(spec, shape, torch, tg)
        x_ours, w_ours = tg.tensor(x, requires_grad=True), tg.tensor(w)
        x_theirs = torch.from_numpy(x).requires_grad_(True)
        w_theirs = torch.from_numpy(w)

        def step_ours(ours=ours, x_ours=x_ours, w_ours=w_ours):
            out = ours(x_ours)
            out = out[0] if isinstance(out, tuple) else out
            x_ours.grad = None
            ours.zero_grad()
            (out * w_ours).sum().backward()
            return x_ours.grad.numpy()

        def step_theirs(theirs=theirs, x_theirs=x_theirs, w_theirs=w_theirs):
            out = theirs(x_theirs)
            out = out[0] if isinstance(out, tuple) else out
            x_theirs.grad = None
            theirs.zero_grad()
            (out * w_theirs).sum().backward()
            return x_theirs.grad.numpy()

        status = compare_results([step_ours()], [step_theirs().astype(np.float64)], 1e-3, 1e-4)
        runners = {TINY: step_ours, TORCH: step_theirs}
        limit_threads()
        gc.collect()
        gc.freeze()
        blocks = {
            n: calibrate(fn, args.warmup_ms / 1e3, args.block_ms / 1e3) for n, fn in runners.items()
        }
        samples = time_interleaved(runners, args.repeats, blocks)
        gc.unfreeze()
        rows = {}
        for n, times in samples.items():
            q1, median, q3 = np.percentile(times, [25, 50, 75])
            rows[n] = {
                "median": median * 1e3,
                "iqr_pct": 100 * (q3 - q1) / median,
                "block": blocks[n],
                "samples_s": times,
                "check": "reference" if n == TORCH else f"input gradient vs torch: {status}",
            }
        rows[TINY]["vs_torch"] = rows[TINY]["median"] / rows[TORCH]["median"]
        reports.append(
            {
                "workload": name,
                "description": description + "; forward + backward, float32",
                "unit": "ms/step",
                "notes": [],
                "results": rows,
            }
        )
    return reports


def print_table(reports):
    header = ("workload", "implementation", "median", "unit", "IQR", "x numpy", "x torch", "check")
    lines = []
    for report in reports:
        for name, row in report["results"].items():
            if "skipped" in row:
                lines.append((report["workload"], name, "-", "", "", "", "", row["skipped"]))
                continue
            lines.append(
                (
                    report["workload"],
                    name,
                    f"{row['median']:.4g}",
                    report["unit"],
                    f"{row['iqr_pct']:.1f}%",
                    f"{row['vs_numpy']:.2f}" if "vs_numpy" in row else "",
                    f"{row['vs_torch']:.2f}" if "vs_torch" in row else "",
                    row["check"],
                )
            )
    widths = [max(len(str(line[i])) for line in lines + [header]) for i in range(len(header))]
    right = {2, 4, 5, 6}

    def fmt(line):
        return "  ".join(
            str(cell).rjust(w) if i in right else str(cell).ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    previous = None
    for line in lines:
        if previous is not None and line[0] != previous:
            print()
        print(fmt(line))
        previous = line[0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed rounds per workload (default 20, --quick 5)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds, shorter blocks: a smoke run in seconds"
    )
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers as JSON")
    parser.add_argument(
        "--block-ms",
        type=float,
        default=None,
        help="target length of one timed block (default 100, --quick 20)",
    )
    parser.add_argument(
        "--warmup-ms",
        type=float,
        default=None,
        help="warmup per implementation (default 300, --quick 50)",
    )
    parser.add_argument(
        "--only",
        metavar="PREFIXES",
        help="comma-separated workload name prefixes to run, e.g. 'W1,op chain' (default: all)",
    )
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="time only the NumPy floor, tinygrad_edu (eager and compiled) and PyTorch",
    )
    parser.add_argument(
        "--skip-layers", action="store_true", help="leave out the conv1d/conv2d/GRU rows"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    if args.repeats is None:
        args.repeats = 5 if quick else 20
    if args.block_ms is None:
        args.block_ms = 20.0 if quick else 100.0
    if args.warmup_ms is None:
        args.warmup_ms = 50.0 if quick else 300.0
    return args


def main(argv=None):
    args = parse_args(argv)
    t_start = time.perf_counter()
    loaded, skipped = load_implementations()
    if args.skip_peers:
        ours = (FLOOR, TINY, COMPILED, COMPILED_LOSS, TORCH)
        loaded = [impl for impl in loaded if impl.name in ours]
    _limiter, pools = limit_threads()
    info = environment(pools, loaded, skipped)
    print_environment(info)

    print("== workloads")
    all_workloads = wl.all_workloads()
    if args.only:
        prefixes = [p.strip() for p in args.only.split(",")]
        all_workloads = [w for w in all_workloads if w.name.startswith(tuple(prefixes))]
    for workload in all_workloads:
        print(f"{workload.name}: {workload.description}")
        for note in workload.notes:
            print(f"  note: {note}")
    print(
        f"timing: {args.repeats} interleaved rounds, blocks of ~{args.block_ms:g} ms, "
        f"warmup {args.warmup_ms:g} ms; median over rounds of time per step"
    )
    print(
        f"check: parameters after {CHECK_STEPS} steps (op chain: input gradient) "
        f"against the NumPy floor"
    )
    print()

    reports = [run_workload(workload, loaded, skipped, args) for workload in all_workloads]
    if not args.skip_layers:
        for name, description, _, _ in LAYER_ROWS:
            print(f"{name}: {description}")
        reports += layer_reports(args)
    print_table(reports)
    elapsed = time.perf_counter() - t_start
    print(f"\ntotal {elapsed:.1f} s")

    if args.json:
        payload = {
            "environment": info,
            "args": vars(args),
            "elapsed_s": elapsed,
            "workloads": reports,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2))
        print(f"raw numbers written to {args.json}")


if __name__ == "__main__":
    main()
