"""The tinygrad-edu command: train, sweep, info, resume, plots and error messages."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import cli, optim
from tinygrad_edu.serialization import load
from tinygrad_edu.train.recipes import OPTIMIZERS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_cli(capsys, *argv):
    """``tinygrad-edu argv...`` in this process: (exit status, stdout, stderr)."""
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def result_line(out, name):
    """The number on the final ``test <name>: <value>`` line."""
    match = re.search(rf"^test {name}: ([0-9.]+)%?$", out, re.MULTILINE)
    assert match, f"no 'test {name}:' line in:\n{out}"
    return float(match.group(1))


def assert_valid_png(path):
    content = path.read_bytes()
    assert content.startswith(PNG_SIGNATURE)
    assert len(content) > 5_000
    image = pytest.importorskip("matplotlib.image").imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def assert_same_weights(path_a, path_b):
    a, b = load(path_a), load(path_b)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy(), err_msg=name)


# ------------------------------------------------------------------ train
def test_default_train_reaches_97_percent_on_digits(capsys):
    """The real default run (300 epochs; about 10 s on 2 cores)."""
    status, out, _ = run_cli(capsys, "train", "--no-progress")
    assert status == 0
    assert result_line(out, "accuracy") >= 97.0
    assert "adam lr 0.001, hidden 128" in out
    assert re.search(r"^accuracy\s+\S+%\s+\S+%\s+\S+%$", out, re.MULTILINE)


def test_train_plot_and_save(capsys, tmp_path):
    plot, saved = tmp_path / "curves.png", tmp_path / "model.safetensors"
    status, out, _ = run_cli(
        capsys, "train", "--epochs", 4, "--plot", plot, "--save", saved, "--no-progress"
    )
    assert status == 0
    assert_valid_png(plot)
    assert sorted(load(saved)) == ["0.bias", "0.weight", "3.bias", "3.weight"]
    assert 10.0 < result_line(out, "accuracy") <= 100.0


def test_train_shows_progress_on_stderr(capsys):
    status, _, err = run_cli(capsys, "train", "--dataset", "xor", "--epochs", 2)
    assert status == 0
    assert "epoch 2/2" in err and "batch" in err


def test_franke_regression_reaches_r2_of_0_9(capsys):
    status, out, _ = run_cli(
        capsys, "train", "--dataset", "franke", "--epochs", 40, "--no-progress"
    )
    assert status == 0
    assert result_line(out, "R2") >= 0.9
    assert "noise-free" in out


@pytest.mark.parametrize("dataset", ["moons", "spirals"])
def test_small_datasets_train(capsys, dataset):
    status, out, _ = run_cli(capsys, "train", "--dataset", dataset, "--epochs", 30, "--no-progress")
    assert status == 0
    assert result_line(out, "accuracy") >= 85.0


def test_array_api_strict_backend_matches_numpy(capsys, tmp_path):
    results = {}
    for backend in ("numpy", "array_api_strict"):
        saved = tmp_path / f"{backend}.safetensors"
        status, out, _ = run_cli(
            capsys, "train", "--backend", backend, "--epochs", 3, "--save", saved, "--no-progress"
        )
        assert status == 0 and f"backend {backend}" in out
        results[backend] = (result_line(out, "accuracy"), load(saved))
    assert results["numpy"][0] == pytest.approx(results["array_api_strict"][0], abs=1.0)
    for name, weight in results["numpy"][1].items():
        np.testing.assert_allclose(
            results["array_api_strict"][1][name].numpy(), weight.numpy(), rtol=1e-4, atol=1e-5
        )


# every row of the table but adam, the default that other tests train
@pytest.mark.parametrize("optimizer", [name for name in OPTIMIZERS if name != "adam"])
def test_every_optimizer_trains(capsys, optimizer):
    status, out, _ = run_cli(
        capsys,
        "train",
        "--dataset",
        "xor",
        "--optimizer",
        optimizer,
        "--epochs",
        15,
        "--no-progress",
    )
    assert status == 0
    assert f"{optimizer} lr" in out
    assert result_line(out, "accuracy") >= 75.0


# ------------------------------------------------------------------ resume
def test_interrupted_and_resumed_cli_run_is_bit_exact(capsys, tmp_path, monkeypatch):
    """Ctrl-C inside epoch 4 of 6, then --resume: the same weights as one uninterrupted run."""
    full, resumed = tmp_path / "full.safetensors", tmp_path / "resumed.safetensors"
    checkpoint = tmp_path / "run.ckpt"
    common = ("train", "--epochs", 6, "--hidden", 32, "--no-progress")
    assert run_cli(capsys, *common, "--save", full)[0] == 0

    original_step, calls = optim.Adam.step, []

    def step_then_interrupt(self, closure=None):
        calls.append(1)
        if len(calls) == 3 * 20 + 5:  # 20 batches per epoch: a few steps into epoch 4
            raise KeyboardInterrupt
        return original_step(self, closure)

    monkeypatch.setattr(optim.Adam, "step", step_then_interrupt)
    status, _, err = run_cli(capsys, *common, "--checkpoint", checkpoint)
    assert status == 130
    assert f"interrupted after 3 epochs; checkpoint in {checkpoint}" in err
    monkeypatch.setattr(optim.Adam, "step", original_step)

    status, out, _ = run_cli(
        capsys, "train", "--resume", checkpoint, "--save", resumed, "--no-progress"
    )
    assert status == 0 and "6 epochs" in out and "hidden 32" in out
    assert_same_weights(full, resumed)


# ------------------------------------------------------------------ sweep and info
def test_sweep_prints_the_grid_and_writes_a_heatmap(capsys, tmp_path):
    heatmap = tmp_path / "sweep.png"
    status, out, _ = run_cli(
        capsys,
        "sweep",
        "--dataset",
        "xor",
        "--epochs",
        3,
        "--lrs",
        0.01,
        0.1,
        "--param",
        "hidden",
        "--values",
        4,
        "8,8",
        "--out",
        heatmap,
    )
    assert status == 0
    assert_valid_png(heatmap)
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("hidden \\ lr"))
    assert header.split()[-2:] == ["0.01", "0.1"]
    rows = [line.split() for line in lines if re.match(r"^(4|8,8)\s+[0-9.]+\s+[0-9.]+$", line)]
    assert [row[0] for row in rows] == ["4", "8,8"]
    assert all(0.0 <= float(value) <= 100.0 for row in rows for value in row[1:])
    assert re.search(r"^best: hidden=\S+, lr=\S+ \(val accuracy [0-9.]+%\)$", out, re.MULTILINE)


def test_sweep_over_optimizers(capsys, tmp_path):
    status, out, _ = run_cli(
        capsys,
        "sweep",
        "--dataset",
        "xor",
        "--epochs",
        2,
        "--lrs",
        0.05,
        "--param",
        "optimizer",
        "--values",
        "sgd",
        "adam",
        "--out",
        tmp_path / "s.png",
    )
    assert status == 0
    assert "optimizer=sgd lr=0.05: val accuracy" in out
    assert "optimizer=adam lr=0.05: val accuracy" in out


def test_diverging_runs_are_reported(capsys, tmp_path):
    diverging = ("--dataset", "franke", "--optimizer", "sgd", "--hidden", 8, "--epochs", 1)
    status, out, err = run_cli(capsys, "train", *diverging[:-2], "--lr", 1e3, "--no-progress")
    assert status == 1 and out == ""
    assert "training loss became" in err and err.count("\n") == 1
    heatmap = tmp_path / "sweep.png"
    status, out, _ = run_cli(
        capsys,
        "sweep",
        *diverging[:4],
        "--values",
        8,
        "--epochs",
        1,
        "--lrs",
        0.1,
        1e3,
        "--out",
        heatmap,
    )
    assert status == 0
    assert re.search(r"^8\s+[0-9.]+\s+diverged$", out, re.MULTILINE)
    assert "best: hidden=8, lr=0.1" in out
    assert_valid_png(heatmap)


def test_info_lists_backends(capsys):
    status, out, _ = run_cli(capsys, "info")
    assert status == 0
    assert "tinygrad_edu 0.1.0" in out
    assert "numpy" in out and "array_api_strict" in out
    assert "default dtype: float32" in out


def test_help_lists_the_dataset_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert re.search(r"^digits\s+128\s+relu\s+0.5\s+adam\s+0.001\s+64\s+300$", out, re.MULTILINE)
    assert "mnist1d" in out and "franke" in out


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["train", "--dataset", "cifar"], 2, "argument --dataset: invalid choice: 'cifar'"),
        (["train", "--lr", "-0.1"], 2, "argument --lr: must be a positive number, got -0.1"),
        (["train", "--lr", "fast"], 2, "argument --lr: not a number: 'fast'"),
        (["train", "--epochs", "0"], 2, "argument --epochs: must be a positive integer"),
        (["train", "--backend", "cupy"], 2, "argument --backend: 'cupy' is not available"),
        (["train", "--backend", "matlab"], 2, "argument --backend: invalid choice: 'matlab'"),
        (
            ["train", "--resume", "no/such/checkpoint"],
            1,
            "checkpoint 'no/such/checkpoint' does not exist",
        ),
        (["train", "--plot", "no/such/folder/curves.png"], 1, "the folder"),
        (["train", "--hidden", "64,x"], 2, "argument --hidden: must be comma-separated"),
        (["train", "--optimizer", "adam", "--momentum", "0.9"], 2, "adam has no momentum"),
        (["sweep", "--lr", "0.1"], 2, "the learning rate is swept; use --lrs"),
        (["sweep", "--param", "weight_decay", "--values", "-1"], 2, "must be a number >= 0"),
        (["fly"], 2, "invalid choice: 'fly'"),
    ],
)
def test_errors_are_one_line_without_traceback(capsys, argv, status, message):
    got_status, out, err = run_cli(capsys, *argv)
    assert got_status == status
    assert err.count("\n") == 1 and err.startswith("tinygrad-edu: error: ")
    assert message in err
    assert "Traceback" not in err and out == ""


def test_resume_refuses_other_settings_and_foreign_files(capsys, tmp_path):
    checkpoint, weights = tmp_path / "run.ckpt", tmp_path / "weights.safetensors"
    assert (
        run_cli(
            capsys,
            "train",
            "--dataset",
            "xor",
            "--epochs",
            1,
            "--checkpoint",
            checkpoint,
            "--save",
            weights,
            "--no-progress",
        )[0]
        == 0
    )
    status, _, err = run_cli(capsys, "train", "--resume", checkpoint, "--hidden", "4")
    assert status == 2 and "--hidden: 4 differs from the checkpoint's 8" in err
    status, _, err = run_cli(capsys, "train", "--resume", weights)
    assert status == 1 and "not a training checkpoint" in err


@pytest.mark.parametrize(
    ("example", "short_run"),
    [
        ("universal_approximation.py", ["--epochs", "2"]),
        ("optimizer_comparison.py", ["--steps", "3"]),
        ("franke_regression.py", ["--epochs", "2"]),
    ],
)
def test_examples_write_their_figures(tmp_path, example, short_run):
    figure = tmp_path / "figure.png"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / example), "--out", str(figure), *short_run],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"figure written to {figure}" in result.stdout
    assert_valid_png(figure)


def test_module_entry_point_reports_errors_without_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", "train", "--lr", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        result.stderr == "tinygrad-edu: error: argument --lr: must be a positive number, got -1\n"
    )
