"""The benchmark tools run and report consistent numbers (no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_compare_runs_and_checks_every_implementation(tmp_path):
    out = tmp_path / "run.json"
    command = [
        sys.executable,
        str(BENCHMARKS / "compare.py"),
        "--only",
        "W3,op chain",
        "--skip-peers",
        "--repeats",
        "1",
        "--block-ms",
        "1",
        "--warmup-ms",
        "1",
        "--json",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    names = [w["workload"] for w in report["workloads"]]
    assert names == ["W3 franke 2-32-32-1", "op chain 1000 ops"]
    for workload in report["workloads"]:
        ours = workload["results"]["tinygrad_edu"]
        assert ours["check"] == "ok" and ours["median"] > 0 and ours["vs_numpy"] > 0


def test_breakdown_phases_add_up_to_the_step():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import breakdown
        import workloads
    finally:
        sys.path.remove(str(BENCHMARKS))
    r = breakdown.breakdown(workloads.franke_regression(), calls=20)
    assert all(r[key] > 0 for key in ("floor step", "forward", "whole step"))
    assert r["forward"] + r["backward"] + r["update"] == pytest.approx(r["whole step"])
    assert r["step / floor"] == pytest.approx(r["whole step"] / r["floor step"])
