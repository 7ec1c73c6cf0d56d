"""The asv suite and its dashboard, end to end (marked ``slow``: about a minute).

A module fixture copies the work tree into a temporary git repository with
three commits, records a small history with ``asv run --python=same --quick``
(the whole suite on the last commit, the floor ratios on the others), and
publishes it with ``benchmarks/dashboard.py``. The tests then check that every
benchmark still runs on the current code (the smoke run CI used to make),
that the published dashboard has the three commits, and, where Chromium is
installed, that the page renders its graphs in a headless browser.

``.ci/run`` runs this file with ``-m slow``; the default ``pytest`` run
skips it (see ``conftest.py``). Skipped with the reason where asv, git or
Chromium is missing.
"""

import functools
import http.server
import json
import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLOOR_RATIO = "bench_ratio.FloorRatio.track_floor_ratio"


def _run(command, cwd, env, timeout=600):
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """(repository, [commit hashes, oldest first], environment) with results published."""
    pytest.importorskip("asv")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    tmp = tmp_path_factory.mktemp("asv")
    repo, home = tmp / "repo", tmp / "home"
    home.mkdir()
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)

    env = dict(os.environ)
    # asv keeps its machine list in ~/.asv-machine.json: use a temporary home,
    # but keep the user's caches (dashboard.py's npm copies, matplotlib's fonts).
    env["XDG_CACHE_HOME"] = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    env["HOME"] = str(home)
    env["TINYGRAD_EDU_RATIO_ROUNDS"] = "3"  # a smoke run of the floor ratios
    env["ASV_PYTHONPATH"] = str(repo)  # time the copy's tinygrad_edu (asv drops PYTHONPATH)
    for key, value in {
        "GIT_AUTHOR_NAME": "asv test",
        "GIT_AUTHOR_EMAIL": "asv-test@localhost",
        "GIT_COMMITTER_NAME": "asv test",
        "GIT_COMMITTER_EMAIL": "asv-test@localhost",
    }.items():
        env[key] = value

    def git(*args):
        return _run(["git", *args], repo, env).strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    for n in (2, 3):
        (repo / "asv-test-history.txt").write_text(f"commit {n}\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"commit {n}")
    commits = git("rev-list", "--reverse", "main").split()

    asv = [sys.executable, "-m", "asv"]
    _run([*asv, "machine", "--yes", "--machine", "asv-test"], repo, env)
    for commit in commits:
        bench = [] if commit == commits[-1] else ["--bench", r"^bench_ratio\."]
        _run(
            [
                *asv,
                "run",
                "--python=same",
                "--quick",
                "--show-stderr",
                "--machine",
                "asv-test",
                "--set-commit-hash",
                commit,
                *bench,
            ],
            repo,
            env,
        )
    out = _run([sys.executable, "benchmarks/dashboard.py"], repo, env)
    return repo, commits, env, out


def _results(repo, commit):
    path = next((repo / ".asv" / "results" / "asv-test").glob(f"{commit[:8]}-*.json"))
    data = json.loads(path.read_text())
    return {
        name: dict(zip(data["result_columns"], row))["result"]
        for name, row in data["results"].items()
    }


def test_every_benchmark_runs_on_the_current_code(history):
    repo, commits, _, _ = history
    results = _results(repo, commits[-1])
    listed = json.loads((repo / ".asv" / "results" / "benchmarks.json").read_text())
    names = {name for name in listed if name != "version"}
    assert names <= set(results), f"no result for {sorted(names - set(results))}"
    for name, values in results.items():
        # None: the benchmark failed; nan: it raised NotImplementedError (skipped),
        # which on the current code means the suite and the package disagree.
        bad = [v for v in values if v is None or (isinstance(v, float) and math.isnan(v))]
        assert not bad, f"{name}: {values}"
    assert len(results[FLOOR_RATIO]) >= 4 and all(v > 0 for v in results[FLOOR_RATIO])


def test_publish_writes_a_dashboard_of_the_history(history):
    repo, commits, _, _ = history
    html = repo / ".asv" / "html"
    for name in ("index.html", "index.json", "asv.js", "regressions.json"):
        assert (html / name).is_file(), name
    index = json.loads((html / "index.json").read_text())
    assert FLOOR_RATIO in index["benchmarks"]
    assert index["benchmarks"][FLOOR_RATIO]["unit"] == "x floor"
    assert set(index["revision_to_hash"].values()) == set(commits)
    graphs = list((html / "graphs").rglob(f"{FLOOR_RATIO}.json"))
    assert graphs, "no graph data for the floor ratios"
    points = json.loads(graphs[0].read_text())
    assert len(points) == len(commits)  # one point per commit, every workload measured


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(directory):
    """A static server of ``directory`` on a free loopback port (what ``asv preview`` does)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _dump_dom(url, profile):
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    (Path(profile).parent / f"{Path(profile).name}.html").write_text(result.stdout)
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_dashboard_renders_in_a_browser(history, tmp_path):
    repo, _, _, published = history
    if "needs internet" in published:
        pytest.skip(
            "asv's page loads jQuery and flot from CDNs, and benchmarks/dashboard.py "
            f"could not fetch local copies here: {published.strip()[-300:]}"
        )
    server = _serve(repo / ".asv" / "html")
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        grid = _dump_dom(base + "index.html", tmp_path / "grid")
        graph = _dump_dom(f"{base}index.html#{FLOOR_RATIO}", tmp_path / "graph")
    finally:
        server.shutdown()
    assert "failed to load" not in grid, grid[:2000]
    listed = json.loads((repo / ".asv" / "results" / "benchmarks.json").read_text())
    assert grid.count('class="btn benchmark-container"') == len(listed) - 1  # "version"
    assert "flot-base" in grid  # the summary grid drew its small graphs
    assert "flot-base" in graph, graph[-3000:]  # the ratio graph drew
    for workload in ("W1_digits_64_128_10", "W2_784_512_512_10", "op_chain_1000"):
        assert f'legendLabel">workload-{workload}<' in graph  # one line per workload
