"""Sweeps on a Dask cluster, and training on Dask arrays whose graph does not grow.

Every cluster here is a ``LocalCluster`` started and closed by the test (or
by this module's fixture), with worker processes, no dashboard and ports
that are closed again at the end. Skipped when Dask's ``distributed`` is not
installed.
"""

import os
import signal
import statistics
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
psutil = pytest.importorskip("psutil")  # a dependency of distributed

import tinygrad_edu as tg  # noqa: E402
import tinygrad_edu.nn.functional as F  # noqa: E402
from tinygrad_edu import cli, nn, optim  # noqa: E402
from tinygrad_edu.train import read_results, sweep  # noqa: E402

# franke with plain SGD: lr 0.1 trains, lr 1000 diverges (a FloatingPointError)
FRANKE = ("--dataset", "franke", "--optimizer", "sgd", "--epochs", 1, "--param", "hidden")


def run_cli(capsys, *argv):
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def table_of(out: str) -> str:
    """The grid the sweep prints, from its title to the ``best:`` line."""
    lines = out.splitlines()
    start = lines.index("val r2") if "val r2" in lines else lines.index("val accuracy (%)")
    end = next(i for i, line in enumerate(lines) if line.startswith("best:"))
    return "\n".join(lines[start : end + 1])


def outcomes(records):
    """What a run computed (not how long it took): config, status, metrics, error."""
    return [(r["config"], r["status"], r["metrics"], r["error"]) for r in records]


def worker_processes() -> list:
    """Child processes, but multiprocessing's resource tracker (it outlives its users)."""
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(child.cmdline())
    ]


def listening_ports() -> set:
    return {c.laddr.port for c in psutil.Process().net_connections("inet") if c.status == "LISTEN"}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def xor_configs(epochs: int, lrs=(0.03, 0.1, 0.3)) -> list[dict]:
    base = cli.resolve_config(cli.build_parser().parse_args(["train", "--dataset", "xor"]))
    return [
        {**base, "hidden": [width], "lr": lr, "epochs": epochs} for width in (4, 8) for lr in lrs
    ]


# ------------------------------------------------------------ sweeps
def test_two_worker_sweep_prints_the_serial_table_and_records_the_diverged_run(capsys, tmp_path):
    before = listening_ports()
    grid = ("--values", 4, 8, "--lrs", 0.1, 1e3, "--no-progress", "--out")
    status, serial_out, _ = run_cli(
        capsys, "sweep", *FRANKE, *grid, tmp_path / "a.png", "--results", tmp_path / "a.jsonl"
    )
    assert status == 0
    status, cluster_out, _ = run_cli(
        capsys,
        "sweep",
        *FRANKE,
        *grid,
        tmp_path / "b.png",
        "--results",
        tmp_path / "b.jsonl",
        "--workers",
        2,
    )
    assert status == 0
    assert table_of(cluster_out) == table_of(serial_out)
    assert "diverged" in table_of(serial_out)
    serial, on_cluster = read_results(tmp_path / "a.jsonl"), read_results(tmp_path / "b.jsonl")
    assert outcomes(on_cluster) == outcomes(serial)  # bitwise: floats compared with ==
    assert [r["status"] for r in serial] == ["ok", "failed", "ok", "failed"]
    assert all(r["error"].startswith("FloatingPointError: ") for r in serial[1::2])
    # the LocalCluster is gone: no worker process left, no port left listening
    assert worker_processes() == []
    assert listening_ports() <= before


def test_a_killed_worker_loses_nothing(client):
    configs = xor_configs(epochs=6)
    serial = sweep(cli.sweep_run, configs)
    worker_pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(record):
        if killed:
            return
        busy = [address for address, keys in client.processing().items() if keys]
        pid = worker_pids[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    on_cluster = sweep(cli.sweep_run, configs, client=client, callback=kill_a_busy_worker)
    assert killed, "no worker was busy when the first run finished"
    assert outcomes(on_cluster) == outcomes(serial)
    client.wait_for_workers(2, timeout=60)  # the nanny starts a new worker process
    assert killed[0] not in client.run(os.getpid).values()


@pytest.mark.parametrize("on_cluster", [False, True], ids=["serial", "cluster"])
def test_a_failing_configuration_is_recorded_and_the_sweep_goes_on(client, on_cluster, tmp_path):
    def raises_for_negative(config):  # local: pickled by value for the workers
        if config["x"] < 0:
            raise ValueError(f"x must be >= 0, got {config['x']}")
        return {"root": config["x"] ** 0.5, "seed": config["seed"]}

    results = tmp_path / "runs.jsonl"
    records = sweep(
        raises_for_negative,
        [{"x": 4.0}, {"x": -1.0}, {"x": 9.0}],
        seeds=[0, 1],
        client=client if on_cluster else None,
        results=results,
    )
    assert [(r["config"]["x"], r["config"]["seed"], r["status"]) for r in records] == [
        (4.0, 0, "ok"),
        (4.0, 1, "ok"),
        (-1.0, 0, "failed"),
        (-1.0, 1, "failed"),
        (9.0, 0, "ok"),
        (9.0, 1, "ok"),
    ]
    assert records[2]["error"] == "ValueError: x must be >= 0, got -1.0"
    assert records[2]["metrics"] is None and records[5]["metrics"] == {"root": 3.0, "seed": 1.0}
    assert outcomes(read_results(results)) == outcomes(records)


def test_resume_runs_only_what_the_file_lacks(capsys, tmp_path):
    results = tmp_path / "runs.jsonl"
    grid = ("--values", 4, "--no-progress", "--out", tmp_path / "s.png")
    status, first, _ = run_cli(
        capsys, "sweep", *FRANKE, *grid, "--lrs", 0.1, 0.03, "--results", results
    )
    assert status == 0 and len(read_results(results)) == 2
    status, resumed, _ = run_cli(
        capsys, "sweep", *FRANKE, *grid, "--lrs", 0.1, 0.03, 1e3, "--resume", results
    )
    assert status == 0
    assert "lr=0.1:" in first and "lr=0.1:" not in resumed  # not run again
    assert "lr=1000: val r2 diverged" in resumed
    assert len(read_results(results)) == 3
    full = tmp_path / "full.jsonl"
    run_cli(capsys, "sweep", *FRANKE, *grid, "--lrs", 0.1, 0.03, 1e3, "--results", full)
    assert outcomes(read_results(results)) == outcomes(read_results(full))
    # a file from another sweep is refused in one line
    status, _, err = run_cli(capsys, "sweep", *FRANKE, *grid, "--lrs", 0.3, "--resume", results)
    assert status == 1 and "not part of this sweep" in err and err.count("\n") == 1


def test_bad_results_files_and_cluster_options_get_one_line(capsys, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"config": {}, "status": "ok"}\nnot json\n')
    grid = ("--values", 4, "--lrs", 0.1, "--no-progress", "--out", tmp_path / "s.png")
    for argv, message in [
        (("--resume", broken), "line 2: not JSON"),
        (("--resume", tmp_path / "missing.jsonl"), "does not exist"),
        (("--results", tmp_path / "no" / "r.jsonl"), "does not exist"),
        (("--workers", 0), "must be a positive integer"),
        (("--workers", 2, "--scheduler", "tcp://127.0.0.1:1"), "not allowed with argument"),
    ]:
        status, _, err = run_cli(capsys, "sweep", *FRANKE, *grid, *argv)
        assert status in (1, 2) and message in err and err.count("\n") == 1, (argv, err)


def test_a_sweep_refuses_multithreaded_workers(capsys, tmp_path):
    cluster = distributed.LocalCluster(
        # in-process workers: dashboard_address=None would still try port 8787; :0 picks a free one
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address=":0",
    )
    with cluster:
        status, _, err = run_cli(
            capsys,
            "sweep",
            *FRANKE,
            "--values",
            4,
            "--lrs",
            0.1,
            "--no-progress",
            "--out",
            tmp_path / "s.png",
            "--scheduler",
            cluster.scheduler_address,
        )
    assert status == 2 and "needs single-threaded workers" in err and err.count("\n") == 1


# ------------------------------------------------------------ training on Dask arrays
def test_dask_training_graph_and_step_time_stay_flat():
    """200 Adam steps on Dask arrays: the parameters' and moments' graphs keep one
    task per chunk (Optimizer.step persists them), and the last 20 steps cost about
    as much as 20 steps after warm-up. Time is this process's CPU time (the
    synchronous scheduler computes in this thread), compared as a ratio, so the
    machine's speed and the load of other processes cancel. Without the persist
    (measured) the weight's graph grows by 44 tasks a step, 1,758 after 40
    steps, and the step time doubles between steps 10 and 40."""
    import dask

    rng = np.random.default_rng(0)
    X = da.from_array(rng.standard_normal((64, 4)), chunks=(32, 4))
    y = da.from_array(X.compute() @ np.array([[1.0], [-2.0], [0.5], [0.0]]), chunks=(32, 1))
    tg.manual_seed(0)
    model = nn.Linear(4, 1).to(backend="dask", dtype="float64")
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    inputs, targets = tg.tensor(X), tg.tensor(y)

    def graph_sizes():
        arrays = [p.data for p in model.parameters()]
        arrays += [
            v
            for state in optimizer.state.values()
            for v in state.values()
            if isinstance(v, da.Array)
        ]
        return [len(a.__dask_graph__()) for a in arrays]

    seconds, sizes = [], []
    with dask.config.set(scheduler="synchronous"):
        first_loss = F.mse_loss(model(inputs), targets).item()
        for _ in range(200):
            started = time.process_time()
            optimizer.zero_grad()
            F.mse_loss(model(inputs), targets).backward()
            optimizer.step()
            seconds.append(time.process_time() - started)
            sizes.append(graph_sizes())
        last_loss = F.mse_loss(model(inputs), targets).item()
    assert len(sizes[0]) == 6 and max(sizes[0]) == 1  # w, b and their two moments: 1 task
    assert all(s == sizes[0] for s in sizes)
    early, late = statistics.median(seconds[10:30]), statistics.median(seconds[-20:])
    assert late / early < 2.0, f"step time grew: {early * 1e3:.1f} ms -> {late * 1e3:.1f} ms"
    assert last_loss < 0.1 * first_loss


def test_lbfgs_on_dask_follows_numpy_and_keeps_its_graphs_flat():
    """One L-BFGS step of 6 iterations on least squares: the same iterates as on
    NumPy, and the parameters and remembered (s, y) pairs hold one task per chunk."""
    import dask

    rng = np.random.default_rng(0)
    X_np = rng.standard_normal((40, 3))
    y_np = X_np @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(40)

    def fitted(backend):
        X = tg.tensor(da.from_array(X_np, chunks=(20, 3)) if backend == "dask" else X_np)
        y = tg.tensor(da.from_array(y_np, chunks=20) if backend == "dask" else y_np)
        w = tg.zeros(3, dtype="float64", backend=backend, requires_grad=True)
        optimizer = optim.LBFGS([w], max_iter=6)

        def closure():
            optimizer.zero_grad()
            loss = ((X @ w - y) ** 2).mean()
            loss.backward()
            return loss

        optimizer.step(closure)
        return w, optimizer.state[w]

    with dask.config.set(scheduler="synchronous"):
        w_dask, state = fitted("dask")
        w_numpy, _ = fitted("numpy")
        np.testing.assert_allclose(w_dask.numpy(), w_numpy.numpy(), rtol=1e-10, atol=1e-12)
    assert state["n_iter"] == 6 and len(state["old_dirs"]) == 5
    arrays = [w_dask.data, state["d"], *state["old_dirs"], *state["old_stps"]]
    assert all(len(a.__dask_graph__()) == 1 for a in arrays)
