"""Sweeps: one run per configuration (and seed), here or on a Dask cluster.

A sweep is embarrassingly parallel: each run trains its own model from its own
seed and shares nothing with the others. ``sweep(run, configs)`` calls
``run(config)`` for every configuration, in this process or, given a
``distributed.Client``, as one Dask task per configuration on the cluster's
workers. A run computes exactly what it would compute here (same code, same
seed, same BLAS thread count), so the metrics are bitwise the same either way.

Each finished run becomes a record::

    {"config": {...}, "status": "ok", "metrics": {"val_accuracy": 0.97, ...},
     "error": None, "seconds": 1.2}

A run that raises (a diverging loss, a bad value) is recorded with
``"status": "failed"`` and its error, and the sweep goes on. A worker process
that dies mid-run loses nothing: the scheduler runs its task again on another
worker (Dask retries a task whose worker died up to
``distributed.scheduler.allowed-failures`` times, 3 by default; past that the
run is recorded as failed with Dask's ``KilledWorker`` error).

``results=PATH`` keeps the records in a JSON-lines file, rewritten
(atomically) after every finished run, so a crash loses only the runs in
flight; ``resume=PATH`` reads such a file and runs only what it does not hold.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable

STATUSES = ("ok", "failed")


def sweep(
    run: Callable[[dict], dict],
    configs: Iterable[dict],
    *,
    seeds: Iterable[int] | None = None,
    client=None,
    results: str | None = None,
    resume: str | None = None,
    progress: bool = False,
    callback: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Run ``run(config)`` for every configuration; one record per run, in order.

    Parameters
    ----------
    run : callable
        ``run(config) -> {metric name: number}``. With a ``client`` it runs on
        the workers, so it must pickle: a module-level function (or a
        ``functools.partial`` of one) that the workers can import.
    configs : iterable of dicts
        The settings of each run, JSON values only (they go into the results
        file and identify a run on ``resume``).
    seeds : iterable of ints, optional
        Run every configuration once per seed, with ``config["seed"] = seed``
        (configurations first, then seeds: ``[c0 s0, c0 s1, c1 s0, ...]``).
    client : distributed.Client, optional
        Run each configuration as one task on this Dask cluster; serially in
        this process when None.
    results : str, optional
        JSON-lines file of the records so far, rewritten after every run.
    resume : str, optional
        A results file from an earlier sweep: its runs (ok or failed) are not
        run again and their records are returned as they are. It may hold only
        runs of this sweep. ``results`` defaults to it.
    progress : bool
        A tqdm bar over finished runs (on stderr).
    callback : callable, optional
        Called with each new record as it finishes (in finishing order).

    Returns
    -------
    list of dicts
        The records (see the module docstring), in the order of the runs.

    Examples
    --------
    >>> from tinygrad_edu.train import sweep
    >>> def run(config):
    ...     if config["x"] < 0:
    ...         raise ValueError("x must be >= 0")
    ...     return {"root": config["x"] ** 0.5}
    >>> [(r["status"], r["metrics"] or r["error"]) for r in sweep(run, [{"x": 4}, {"x": -1}])]
    [('ok', {'root': 2.0}), ('failed', 'ValueError: x must be >= 0')]
    """
    tasks = [dict(config) for config in configs]
    if seeds is not None:
        seeds = list(seeds)
        tasks = [{**config, "seed": seed} for config in tasks for seed in seeds]
    keys = [_key(config) for config in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("sweep: the same configuration appears more than once")
    records: dict[int, dict] = {}
    if resume is not None:
        records = _resumed_records(resume, keys)
        results = resume if results is None else results
    if results is not None:
        _check_writable(results)
    todo = [i for i in range(len(tasks)) if i not in records]
    # Imported here, as train/loop.py does: tqdm costs ~20 ms of `import tinygrad_edu`.
    # Not tqdm.auto: that warns on import in a notebook kernel without ipywidgets.
    from tqdm import tqdm

    bar = tqdm(
        total=len(tasks), initial=len(records), disable=not progress, unit="run", desc="sweep"
    )

    def finished(index: int, record: dict) -> None:
        records[index] = record
        if results is not None:
            _write_records(results, [records[i] for i in sorted(records)])
        bar.update(1)
        if callback is not None:
            callback(record)

    try:
        if results is not None and records:
            _write_records(results, [records[i] for i in sorted(records)])
        if client is None:
            for index in todo:
                finished(index, run_one(run, tasks[index]))
        else:
            _run_on_cluster(client, run, tasks, todo, finished)
    finally:
        bar.close()
    return [records[i] for i in range(len(tasks))]


def run_one(run: Callable[[dict], dict], config: dict) -> dict:
    """One run as a record: its metrics, or the error it raised (the sweep's task)."""
    started = time.perf_counter()
    try:
        metrics = {str(name): float(value) for name, value in run(dict(config)).items()}
    except Exception as err:  # recorded, so that one bad configuration does not stop a sweep
        return _record(config, "failed", None, _error_text(err), started)
    return _record(config, "ok", metrics, None, started)


def _run_on_cluster(client, run, tasks, todo, finished) -> None:
    from distributed import as_completed

    # pure=False: every call is a new task, even for a configuration run before
    index_of = {
        client.submit(
            run_one, run, tasks[i], pure=False, key=f"sweep-run-{i}-{os.urandom(6).hex()}"
        ): i
        for i in todo
    }
    try:
        for future in as_completed(index_of):
            index = index_of[future]
            if future.status == "error":  # lost beyond Dask's retries (KilledWorker)
                record = _record(tasks[index], "failed", None, _error_text(future.exception()))
            else:
                record = future.result()
            finished(index, record)
            future.release()
    finally:
        client.cancel(list(index_of))


def _record(config, status, metrics, error, started=None) -> dict:
    seconds = None if started is None else time.perf_counter() - started
    return {
        "config": config,
        "status": status,
        "metrics": metrics,
        "error": error,
        "seconds": seconds,
    }


def _error_text(err: BaseException) -> str:
    lines = traceback.format_exception_only(type(err), err)
    return " ".join(" ".join(lines).split())  # one line, whatever the message holds


def _key(config: dict) -> str:
    try:
        return json.dumps(config, sort_keys=True, allow_nan=True)
    except TypeError as err:
        raise TypeError(f"sweep: configurations must hold JSON values only: {err}") from None


# ------------------------------------------------------------ the results file
def read_results(path: str) -> list[dict]:
    """The records of a results file (JSON lines), checked; a clear error if it is not one."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"sweep results file {path!r} does not exist") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path!r} line {number}: not JSON ({err.msg})") from None
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("config"), dict)
            or record.get("status") not in STATUSES
        ):
            raise ValueError(
                f"{path!r} line {number}: not a sweep record (needs 'config' and 'status')"
            )
        records.append(record)
    return records


def _resumed_records(path: str, keys: list[str]) -> dict[int, dict]:
    index_of = {key: i for i, key in enumerate(keys)}
    records = {}
    for record in read_results(path):
        key = _key(record["config"])
        if key not in index_of:
            raise ValueError(
                f"resume file {path!r} holds a run that is not part of this sweep: {key}"
            )
        records[index_of[key]] = record
    return records


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {folder!r} does not exist")


def _write_records(path: str, records: list[dict]) -> None:
    """All ``records`` as JSON lines, atomically: a temporary file, then ``os.replace``."""
    text = "".join(json.dumps(record, allow_nan=True) + "\n" for record in records)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".sweep-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
