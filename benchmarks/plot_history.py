"""Draw the history of the tracked floor ratios from asv's results.

    python benchmarks/plot_history.py [--out docs/images/performance-ratio-history.png]
                                      [--machine NAME] [--branch main]

Reads ``.asv/results/<machine>/*.json`` (what ``asv run`` wrote), keeps the
``bench_ratio.FloorRatio.track_floor_ratio`` values and draws one line per
workload over the commits of ``--branch``, oldest on the left, in the order
git lists them (first parent). Commits without results, and workloads a
commit could not run (skipped: it predates them), leave gaps. This is the
picture in docs/performance.md; to make your own, run the history first
(``asv run --bench '^bench_ratio\\.' --steps 20 main``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_RATIO = "bench_ratio.FloorRatio.track_floor_ratio"
LABELS = {
    "W1_digits_64_128_10": "W1 digits 64-128-10, batch 64",
    "W2_784_512_512_10": "W2 784-512-512-10, batch 256",
    "W3_2_32_32_1_tanh": "W3 2-32-32-1 tanh, batch 16",
    "op_chain_1000": "op chain, 1000 ops on 8 values",
}


def load_results(results_dir: Path, machine: str | None):
    """({commit hash: {workload: ratio}}, machine name, machine info)."""
    machines = [p for p in results_dir.iterdir() if (p / "machine.json").exists()]
    if machine:
        machines = [p for p in machines if p.name == machine]
    if not machines:
        raise SystemExit(f"no asv results in {results_dir} (run `asv run` first)")
    # The machine with the most results, unless one was named.
    chosen = max(machines, key=lambda p: len(list(p.glob("*.json"))))
    history = {}
    for path in sorted(chosen.glob("*.json"), key=lambda p: p.stat().st_mtime):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        row = data.get("results", {}).get(FLOOR_RATIO)
        if row is None:
            continue
        entry = dict(zip(data["result_columns"], row))
        values = history.setdefault(data["commit_hash"], {})
        for combo, value in zip(itertools.product(*entry["params"]), entry["result"]):
            if isinstance(value, (int, float)) and not math.isnan(value):
                values[combo[0].strip("'")] = value
    info = json.loads((chosen / "machine.json").read_text())
    return history, chosen.name, info


def first_parent_commits(branch: str) -> list[str]:
    out = subprocess.run(
        ["git", "rev-list", "--first-parent", "--reverse", branch],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def draw(history, commits, machine, info, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [c for c in commits if history.get(c)]
    if not measured:
        raise SystemExit("none of the branch's commits has floor-ratio results")
    workloads = [w for w in LABELS if any(w in history[c] for c in measured)]
    workloads += sorted({w for c in measured for w in history[c]} - set(workloads))
    x = list(range(len(measured)))

    fig, ax = plt.subplots(figsize=(11, 4.8), dpi=110)
    for workload in workloads:
        ys = [history[c].get(workload, math.nan) for c in measured]
        ax.plot(
            x, ys, marker="o", markersize=3.5, linewidth=1.4, label=LABELS.get(workload, workload)
        )
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.text(x[0], 0.97, "NumPy floor = 1", va="top", ha="left", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("tinygrad_edu time / hand-written NumPy time")
    ax.set_xticks(x)
    ax.set_xticklabels([c[:7] for c in measured], rotation=90, fontsize=7, family="monospace")
    ax.set_xlabel("commit on main, oldest first")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    cpu = info.get("cpu", "?")
    ax.set_title(
        "Floor ratios per commit (asv track_floor_ratio, CPU time, one BLAS thread)\n"
        f"machine {machine}: {cpu}, {info.get('num_cpu', '?')} CPUs",
        fontsize=9,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"{out}: {len(measured)} commits, {len(workloads)} workloads")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / ".asv" / "results")
    parser.add_argument("--machine", help="asv machine name (default: the one with most results)")
    parser.add_argument("--branch", default="main")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "images" / "performance-ratio-history.png"
    )
    args = parser.parse_args(argv)
    history, machine, info = load_results(args.results, args.machine)
    draw(history, first_parent_commits(args.branch), machine, info, args.out)


if __name__ == "__main__":
    main()
