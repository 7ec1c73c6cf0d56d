"""The tinygrad-edu command: train, sweep, info, resume, plots and error messages."""

import contextlib
import io
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
    assert re.search(
        r"^best: hidden=\S+, lr=\S+ \(val accuracy [0-9.]+%; ties: the first row, then the "
        r"first of --lrs\)$",
        out,
        re.MULTILINE,
    )


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


# ------------------------------------------------- issue 13: the command line refuses early
def _one_line_error(err):
    assert err.count("\n") == 1 and err.startswith("tinygrad-edu: error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "frozen"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize(
    ("option", "value", "status", "message"),
    [
        ("--save", "{tmp}/", 2, "argument --save: '{tmp}/' is a folder"),
        ("--checkpoint", "{tmp}", 2, "argument --checkpoint: '{tmp}' is a folder"),
        ("--plot", "{tmp}", 2, "argument --plot: '{tmp}' is a folder"),
        ("--save", "{frozen}/m.safetensors", 1, "the folder '{frozen}' is read-only"),
        ("--checkpoint", "{frozen}/run.ckpt", 1, "the folder '{frozen}' is read-only"),
        ("--plot", "{frozen}/c.png", 1, "the folder '{frozen}' is read-only"),
        ("--plot", "{tmp}/c.gif", 2, "the name must end in .png, .pdf or .svg"),
        ("--plot", "{tmp}/curves", 2, "the name must end in .png, .pdf or .svg"),
    ],
)
def test_unwritable_outputs_are_refused_before_training(
    capsys, tmp_path, read_only_folder, monkeypatch, option, value, status, message
):
    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(cli, "train_model", no_training)
    fill = {"tmp": tmp_path, "frozen": read_only_folder}
    got, out, err = run_cli(capsys, "train", option, value.format(**fill), "--no-progress")
    assert got == status and out == ""
    assert message.format(**fill) in _one_line_error(err)


def test_a_read_only_file_is_refused_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "train_model", lambda *a, **k: pytest.fail("training started"))
    frozen = tmp_path / "model.safetensors"
    frozen.write_bytes(b"old")
    frozen.chmod(0o444)
    status, _, err = run_cli(capsys, "train", "--save", frozen)
    assert status == 1 and f"cannot write '{frozen}': the file is read-only" in _one_line_error(err)
    assert frozen.read_bytes() == b"old"


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("{tmp}/", 2, "argument --out: '{tmp}/' is a folder"),
        ("{frozen}/s.png", 1, "the folder '{frozen}' is read-only"),
        ("{tmp}/s.jpg", 2, "argument --out: cannot write a figure to '{tmp}/s.jpg'"),
    ],
)
def test_sweep_refuses_an_unwritable_heatmap_before_training(
    capsys, tmp_path, read_only_folder, monkeypatch, value, status, message
):
    monkeypatch.setattr(cli, "train_model", lambda *a, **k: pytest.fail("training started"))
    fill = {"tmp": tmp_path, "frozen": read_only_folder}
    got, out, err = run_cli(capsys, "sweep", "--out", value.format(**fill))
    assert got == status and out == ""
    assert message.format(**fill) in _one_line_error(err)


@pytest.mark.parametrize(("extension", "signature"), [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_figures_are_written_in_the_format_their_extension_names(
    capsys, tmp_path, extension, signature
):
    plot, heatmap = tmp_path / f"curves.{extension}", tmp_path / f"sweep.{extension}"
    status, _, err = run_cli(
        capsys, "train", "--dataset", "xor", "--epochs", 2, "--plot", plot, "--no-progress"
    )
    assert status == 0, err
    status, _, err = run_cli(
        capsys,
        "sweep",
        "--dataset",
        "xor",
        "--epochs",
        1,
        "--lrs",
        "0.01",
        "--values",
        "4",
        "--out",
        heatmap,
    )
    assert status == 0, err
    for path in (plot, heatmap):
        content = path.read_bytes()
        assert content.startswith(signature) and not content.startswith(PNG_SIGNATURE), path
        if extension == "svg":
            assert b"<svg" in content[:2000]


def test_resume_says_what_the_path_is(capsys, tmp_path):
    fifo = tmp_path / "pipe"
    if hasattr(__import__("os"), "mkfifo"):
        __import__("os").mkfifo(fifo)
    cases = [(tmp_path, "is a folder"), ("/dev/null", "is a character device")]
    if fifo.exists():
        cases.append((fifo, "is a FIFO"))
    for path, words in cases:
        status, _, err = run_cli(capsys, "train", "--resume", path)
        assert status == 1 and f"checkpoint '{path}' {words}" in _one_line_error(err)


def test_a_huge_model_is_one_line_with_its_size(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_physical_memory", lambda: 16 * 2**30)  # whatever this machine has
    status, out, err = run_cli(capsys, "train", "--hidden", "100000000", "--no-progress")
    assert status == 1 and out == ""
    message = _one_line_error(err)
    assert "64-100000000-10 has 7,500,000,010 parameters" in message
    assert "needs about 111.8 GiB" in message and "this machine's 16.0 GiB" in message


def test_momentum_must_be_below_one(capsys):
    for value in ("5", "1", "-0.1"):
        status, _, err = run_cli(capsys, "train", "--optimizer", "momentum", "--momentum", value)
        assert status == 2
        assert f"argument --momentum: must be in [0, 1), got {value}" in _one_line_error(err)


def test_large_losses_are_printed_in_scientific_notation():
    table = cli._results_table(
        {part: {"loss": 4.6e8, "accuracy": 0.5} for part in ("train", "val", "test")},
        "classification",
    )
    loss_row = table.splitlines()[1].split()
    assert loss_row == ["loss", "4.6000e+08", "4.6000e+08", "4.6000e+08"]
    assert cli._number(0.25) == "0.2500" and cli._number(float("nan")) == "nan"


def _cli_checkpoint(capsys, tmp_path, epochs=2):
    checkpoint = tmp_path / "run.ckpt"
    status, _, err = run_cli(
        capsys,
        "train",
        "--dataset",
        "xor",
        "--epochs",
        epochs,
        "--checkpoint",
        checkpoint,
        "--no-progress",
    )
    assert status == 0, err
    return checkpoint


def test_resume_with_fewer_epochs_than_done_says_so(capsys, tmp_path):
    checkpoint = _cli_checkpoint(capsys, tmp_path, epochs=3)
    for epochs in (2, 3):
        status, out, err = run_cli(capsys, "train", "--resume", checkpoint, "--epochs", epochs)
        assert status == 2 and out == ""
        assert "already holds 3 epochs" in _one_line_error(err) and "more than 3" in err


def _edit_config(path, change):
    from tinygrad_edu.serialization import load_metadata, save

    tensors, metadata = load(path), load_metadata(path)
    change(metadata["extra"]["config"])
    save(tensors, path, metadata=metadata)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("hidden"), "setting 'hidden' is missing"),
        (lambda c: c.update(epochs="two"), "setting 'epochs' is 'two', expected a positive"),
        (lambda c: c.update(hidden=[1e9]), "setting 'hidden' is [1000000000.0], not a list"),
        (lambda c: c.update(hidden=[10**12]), "has 5,000,000,000,002 parameters"),
        (lambda c: c.update(optimizer="sgdx"), "setting 'optimizer' is 'sgdx', not one of"),
        (lambda c: c.update(lr=-1), "setting 'lr' is -1, expected a positive number"),
        (lambda c: c.update(momentum=5), "setting 'momentum' is 5"),
    ],
)
def test_an_edited_cli_checkpoint_is_one_clear_line(capsys, tmp_path, change, message):
    checkpoint = _cli_checkpoint(capsys, tmp_path)
    _edit_config(checkpoint, change)
    status, out, err = run_cli(capsys, "train", "--resume", checkpoint, "--no-progress")
    assert status == 1 and out == ""
    assert message in _one_line_error(err)


@pytest.mark.parametrize("edit", ["epoch_text", "deep_json"])
def test_edited_checkpoint_metadata_is_one_clear_line(capsys, tmp_path, edit):
    from tinygrad_edu.serialization import load_metadata, save

    checkpoint = _cli_checkpoint(capsys, tmp_path)
    tensors, metadata = load(checkpoint), load_metadata(checkpoint)
    if edit == "epoch_text":
        metadata["epoch"] = "two"
        save(tensors, checkpoint, metadata=metadata)
        expected = "'epoch' must be a non-negative integer"
    else:
        import json

        import safetensors.numpy

        raw = {key: json.dumps(value) for key, value in metadata.items()}
        raw["history"] = "[" * 50_000 + "]" * 50_000
        arrays = {name: t.numpy() for name, t in tensors.items()}
        safetensors.numpy.save_file(arrays, str(checkpoint), metadata=raw)
        expected = "'history' is nested too deeply"
    status, _, err = run_cli(capsys, "train", "--resume", checkpoint, "--no-progress")
    assert status == 1 and expected in _one_line_error(err)


def test_running_out_of_memory_anyway_is_one_line(capsys, monkeypatch):
    def allocate(*args, **kwargs):
        np.ones((2**62,), dtype=np.uint8)  # NumPy's _ArrayMemoryError, a MemoryError

    monkeypatch.setattr(cli, "train_model", allocate)
    status, out, err = run_cli(capsys, "train", "--no-progress")
    assert status == 1 and out == ""
    assert "out of memory (Unable to allocate" in _one_line_error(err)


def test_sweep_checks_every_model_size_before_the_first_run(capsys, monkeypatch):
    monkeypatch.setattr(cli, "train_model", lambda *a, **k: pytest.fail("training started"))
    monkeypatch.setattr(cli, "_physical_memory", lambda: 16 * 2**30)
    status, out, err = run_cli(capsys, "sweep", "--values", "8", "100000000")
    assert status == 1 and out == ""
    assert "64-100000000-10 has 7,500,000,010 parameters" in _one_line_error(err)


# ------------------------------------------------------------------ a newcomer's first commands
def test_bare_command_prints_the_help(capsys):
    status, out, err = run_cli(capsys)
    assert status == 0 and err == ""
    assert out.startswith("usage: tinygrad-edu")
    for command in ("train", "sweep", "evaluate", "predict", "info", "--version"):
        assert command in out


@pytest.mark.parametrize("argv", [[], ["--version"]])
def test_bare_command_and_version_from_the_shell(argv):
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", *argv], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stderr == ""
    if argv:
        assert result.stdout == f"tinygrad-edu {__import__('tinygrad_edu').__version__}\n"
    else:
        assert "the following arguments are required" not in result.stdout
        assert "usage: tinygrad-edu" in result.stdout


@pytest.mark.parametrize(
    ("command", "described"),
    [
        ("sweep", "Ties go to the first row"),
        ("info", "the command that installs it"),
        ("evaluate", "test split"),
        ("predict", "one sample per row"),
    ],
)
def test_every_command_has_a_description(capsys, command, described):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert described in out


def test_sweep_has_no_lr_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--help"])
    out = capsys.readouterr().out
    assert "--lrs" in out and not re.search(r"--lr\b(?!s)", out)
    args = cli.build_parser().parse_args(["sweep", "--lrs", "0.1"])
    assert args.lr is None and args.lrs == [0.1]


def test_best_sweep_cell_and_its_ties():
    cells = [(0.9, 0, 1), (0.95, 1, 0), (0.95, 0, 2), (0.95, 0, 1)]
    assert max(cells, key=cli._best_cell_order) == (0.95, 0, 1)  # first row, then first lr


def test_sweep_heatmap_outlines_the_best_cell(tmp_path):
    from matplotlib.image import imread

    from tinygrad_edu.plotting import plot_heatmap

    grid = [[50.0, 60.0], [70.0, 65.0]]
    red = []
    for best in (None, (1, 0)):
        path = tmp_path / f"{best}.png"
        plot_heatmap(grid, ["a", "b"], ["0.1", "1"], path, "lr", "x", best=best)
        pixels = imread(path)[..., :3]
        red.append(int(((pixels[..., 0] > 0.9) & (pixels[..., 1:] < 0.15).all(axis=-1)).sum()))
    assert red[0] == 0 and red[1] > 200


def test_learning_curves_say_what_they_show(monkeypatch, tmp_path):
    from tinygrad_edu import plotting
    from tinygrad_edu.train import History

    drawn = {}
    monkeypatch.setattr(plotting, "_save", lambda figure, path: drawn.setdefault("f", figure))
    history = History()
    for loss, val_loss, acc, val_acc in [
        (1.0, 0.5, 0.5, 0.6),
        (0.5, 0.6, 0.8, 0.9),
        (0.3, 0.7, 0.9, 0.85),
    ]:
        history.append(
            {"loss": loss, "val_loss": val_loss, "accuracy": acc, "val_accuracy": val_acc}
        )
    plotting.plot_history(history, tmp_path / "c.png", loss_name="cross-entropy", dropout=True)
    loss_axis, metric_axis = drawn["f"].axes
    assert loss_axis.get_ylabel() == "cross-entropy"
    labels = [text.get_text() for text in loss_axis.get_legend().get_texts()]
    assert labels == [
        "train (running average, dropout on)",
        "validation",
        "best validation epoch (2)",
    ]
    assert plotting._best_epoch(history, "accuracy") == 2
    assert plotting._best_epoch(history, None) == 1  # lowest validation loss


def test_the_results_table_names_its_training_column_apart_from_the_curve(capsys):
    status, out, _ = run_cli(capsys, "train", "--dataset", "xor", "--epochs", 1, "--no-progress")
    assert status == 0
    assert re.search(r"^\s+train-eval\s+val\s+test$", out, re.MULTILINE)


# ------------------------------------------------------------------ using a saved model
@pytest.fixture(scope="module")
def saved_digits(tmp_path_factory):
    """A digits model trained by 'train --save' for 3 epochs, and its predictions before saving."""
    folder = tmp_path_factory.mktemp("saved")
    path = folder / "digits.safetensors"
    assert cli.main(["train", "--epochs", "3", "--no-progress", "--save", str(path)]) == 0
    # The same run again in this process (runs are bit-exact): the model as it was
    # in memory before saving, and its predictions.
    # `train` runs BLAS on one thread (--threads 1): so does this run, since OpenBLAS may
    # add in another order on two threads (seen on an AMD EPYC: 3.6e-7 apart).
    from threadpoolctl import threadpool_limits

    args = cli.build_parser().parse_args(["train", "--epochs", "3"])
    with threadpool_limits(limits=1, user_api="blas"):
        model, _, splits, _, _ = cli.train_model(cli.resolve_config(args), "numpy", progress=False)
    model.eval()
    import tinygrad_edu as tg

    with tg.no_grad():
        before = model(tg.tensor(splits.X_test, dtype="float32")).numpy()
    raw_test = splits.X_test * 16  # the pixel values 0..16 that data.load_digits gives
    return path, before, raw_test, splits


def test_load_model_rebuilds_the_saved_model(saved_digits):
    import tinygrad_edu as tg

    path, before, _, splits = saved_digits
    model = tg.train.load_model(path)
    assert not model.training
    assert [type(layer).__name__ for layer in model] == ["Linear", "ReLU", "Dropout", "Linear"]
    with tg.no_grad():
        after = model(tg.tensor(splits.X_test, dtype="float32")).numpy()
    np.testing.assert_array_equal(after, before)


def test_predict_gives_the_predictions_of_before_saving(capsys, saved_digits, tmp_path):
    path, before, raw_test, _ = saved_digits
    expected = before.argmax(axis=1)
    np.save(tmp_path / "x.npy", raw_test)
    np.savetxt(tmp_path / "x.csv", raw_test, delimiter=",")
    status, out, err = run_cli(capsys, "predict", path, tmp_path / "x.npy")
    assert status == 0 and err == ""
    np.testing.assert_array_equal([int(line) for line in out.splitlines()], expected)
    for suffix in ("npy", "csv"):
        out_file = tmp_path / f"p.{suffix}"
        status, out, _ = run_cli(capsys, "predict", path, tmp_path / "x.csv", "--out", out_file)
        assert status == 0 and out == f"{len(expected)} predictions written to {out_file}\n"
        got = np.load(out_file) if suffix == "npy" else np.loadtxt(out_file, dtype=np.int64)
        np.testing.assert_array_equal(got, expected)
    status, out, _ = run_cli(capsys, "predict", path, tmp_path / "x.npy")  # one row, 1-D
    np.save(tmp_path / "one.npy", raw_test[0])
    status, out, _ = run_cli(capsys, "predict", path, tmp_path / "one.npy")
    assert status == 0 and out == f"{expected[0]}\n"


def test_evaluate_prints_the_test_metrics_of_training(capsys, saved_digits):
    path, before, _, splits = saved_digits
    status, out, err = run_cli(capsys, "evaluate", path)
    assert status == 0 and err == ""
    accuracy = 100 * float((before.argmax(axis=1) == splits.y_test).mean())
    assert result_line(out, "accuracy") == round(accuracy, 1)
    assert "digits, hidden 128, relu, float32, seed 0" in out


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["evaluate", "{dir}/missing.safetensors"], 1, "no such model file"),
        (["evaluate", "{model}", "--dataset", "xor"], 2, "xor has 2 input features, the model"),
        (["evaluate", "{weights}"], 1, "was not written by 'tinygrad-edu train --save'"),
        (["predict", "{model}", "{dir}/wide.npy"], 1, "the model takes rows of 64 features"),
        (["predict", "{model}", "{dir}/x.txt"], 2, "must be a .npy or .csv file"),
        (["predict", "{model}", "{dir}/bad.csv"], 1, "is not comma-separated numbers"),
        (["predict", "{model}", "{dir}/wide.npy", "--out", "{dir}/p.json"], 2, "must end in .npy"),
        (["predict", "{model}"], 2, "the following arguments are required: INPUT"),
    ],
)
def test_saved_model_errors_are_one_line(capsys, saved_digits, tmp_path, argv, status, message):
    import tinygrad_edu as tg
    from tinygrad_edu import nn

    tg.save(nn.Linear(64, 10).state_dict(), tmp_path / "weights.safetensors")
    np.save(tmp_path / "wide.npy", np.zeros((2, 65)))
    (tmp_path / "x.txt").write_text("1 2 3")
    (tmp_path / "bad.csv").write_text("1,2,x\n")
    names = {"dir": tmp_path, "model": saved_digits[0], "weights": tmp_path / "weights.safetensors"}
    got_status, out, err = run_cli(capsys, *(arg.format(**names) for arg in argv))
    assert got_status == status, err
    assert err.count("\n") == 1 and err.startswith("tinygrad-edu: error: ")
    assert message in err and "Traceback" not in err and out == ""


@pytest.fixture(scope="module")
def saved_mnist1d(tmp_path_factory):
    """The paper's CNN and GRU trained by 'train --dataset mnist1d --model M --save' for one
    epoch: ``{name: (path, stdout of training, logits of the test split before saving)}``."""
    import tinygrad_edu as tg

    folder, saved = tmp_path_factory.mktemp("mnist1d"), {}
    for name in ("cnn", "gru"):
        path = folder / f"{name}.safetensors"
        argv = ["train", "--dataset", "mnist1d", "--model", name, "--epochs", "1"]
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            assert cli.main([*argv, "--no-progress", "--save", str(path)]) == 0
        # The same run again in this process, on one BLAS thread as the command runs
        # (then runs are bit-exact): the model before saving.
        config = cli.resolve_config(cli.build_parser().parse_args(argv))
        with cli._blas_threads(1):
            model, _, splits, _, _ = cli.train_model(config, "numpy", progress=False)
            with tg.no_grad():
                before = model.eval()(tg.tensor(splits.X_test, dtype="float32")).numpy()
        saved[name] = (path, output.getvalue(), before, splits)
    return saved


@pytest.mark.parametrize("name", ["cnn", "gru"])
def test_a_saved_cnn_or_gru_is_rebuilt_bit_for_bit(capsys, saved_mnist1d, name, tmp_path):
    import tinygrad_edu as tg

    path, trained, before, splits = saved_mnist1d[name]
    assert tg.load_metadata(path)["model"] == {
        "builder": "mnist1d_model",
        "arguments": {"name": name},
        "input_features": 40,
    }
    model = tg.train.load_model(path)
    assert type(model) is type(tg.models.mnist1d_model(name)) and not model.training
    with cli._blas_threads(1), tg.no_grad():
        after = model(tg.tensor(splits.X_test, dtype="float32")).numpy()
    np.testing.assert_array_equal(after, before)
    status, out, err = run_cli(capsys, "evaluate", path)
    assert status == 0 and err == ""
    assert result_line(out, "accuracy") == result_line(trained, "accuracy")
    assert f"mnist1d, model {name}, float32, seed 0" in out
    np.save(tmp_path / "x.npy", splits.X_test[:7])
    status, out, err = run_cli(capsys, "predict", path, tmp_path / "x.npy")
    assert status == 0 and err == ""
    np.testing.assert_array_equal([int(line) for line in out.splitlines()], before[:7].argmax(1))


@pytest.mark.parametrize("which", ["digits", "cnn"])
def test_a_file_saved_before_the_model_was_recorded_still_loads(
    saved_digits, saved_mnist1d, which, tmp_path
):
    """Without the "model" metadata: the MLP's widths from its weights, the paper's
    models by the name in the config."""
    import tinygrad_edu as tg

    if which == "digits":
        path, before, _, splits = saved_digits
    else:
        path, _, before, splits = saved_mnist1d[which]
    older = tmp_path / "older.safetensors"
    metadata = {key: value for key, value in tg.load_metadata(path).items() if key != "model"}
    tg.save(tg.load(path), older, metadata=metadata)
    with cli._blas_threads(1), tg.no_grad():
        after = tg.train.load_model(older)(tg.tensor(splits.X_test, dtype="float32")).numpy()
        again = tg.train.load_model(path)(tg.tensor(splits.X_test, dtype="float32")).numpy()
    np.testing.assert_array_equal(after, again)
    if which == "cnn":
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"builder": "os.system", "arguments": {}, "input_features": 40}, "unknown builder"),
        (
            {"builder": "mnist1d_model", "arguments": {"name": "resnet"}, "input_features": 40},
            "unknown model 'resnet'",
        ),
        (
            {"builder": "mnist1d_model", "arguments": {"name": "gru"}, "input_features": 40},
            "missing",
        ),
        (
            {"builder": "mnist1d_model", "arguments": {"width": 3}, "input_features": 40},
            "unexpected keyword argument 'width'",
        ),
        ({"builder": "mnist1d_model", "arguments": [], "input_features": 40}, "are not a dict"),
        ({"builder": "mlp", "arguments": {}, "input_features": 0}, "not a positive int"),
        ("cnn", "metadata is not"),
    ],
)
def test_a_model_that_cannot_be_rebuilt_is_one_line(capsys, saved_mnist1d, tmp_path, spec, message):
    import tinygrad_edu as tg

    path = saved_mnist1d["cnn"][0]
    broken = tmp_path / "broken.safetensors"
    metadata = {**tg.load_metadata(path), "model": spec}
    tg.save(tg.load(path), broken, metadata=metadata)
    for argv in (["evaluate", broken], ["predict", broken, broken]):
        status, out, err = run_cli(capsys, *argv)
        assert status == 1 and out == ""
        assert err.count("\n") == 1 and err.startswith("tinygrad-edu: error: ")
        assert "cannot rebuild the model" in err and message in err, err
    with pytest.raises(ValueError, match="cannot rebuild the model"):
        tg.train.load_model(broken)


def test_save_of_a_module_suggests_its_state_dict(tmp_path):
    import tinygrad_edu as tg
    from tinygrad_edu import nn

    with pytest.raises(TypeError, match=r"got Sequential; pass model.state_dict\(\)"):
        tg.save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "m.safetensors")


# ------------------------------------------------------------------ installing backends
def test_info_and_backend_errors_give_the_install_command(capsys, monkeypatch):
    from tinygrad_edu import backend

    real = backend.describe()
    missing = dict(real["backends"])
    missing["jax"] = {**missing["jax"], "available": False, "reason": "ModuleNotFoundError: jax"}
    monkeypatch.setattr(cli.backends, "describe", lambda: {**real, "backends": missing})
    status, out, _ = run_cli(capsys, "info")
    assert status == 0
    assert "  jax: ModuleNotFoundError: jax; install: pip install jax" in out
    assert 'pip install -e ".[backends]"' in out
    for name in cli.backends.KNOWN_BACKENDS:
        assert cli.INSTALL_HINTS[name].startswith("pip install")
    if "cupy" not in backend.available_backends():
        status, _, err = run_cli(capsys, "train", "--backend", "cupy")
        assert status == 2 and 'install it with: pip install -e ".[gpu]"' in err


# ------------------------------------------------------------------ the examples' --out
@pytest.mark.parametrize(
    ("example", "short_run", "default_name"),
    [
        ("universal_approximation.py", ["--epochs", "1"], "universal_approximation.png"),
        ("optimizer_comparison.py", ["--steps", "2"], "optimizer_comparison.png"),
        ("franke_regression.py", ["--epochs", "1"], "franke_regression.png"),
    ],
)
def test_examples_take_a_folder_or_a_png_for_out(tmp_path, example, short_run, default_name):
    def run(out):
        return subprocess.run(
            [sys.executable, str(EXAMPLES / example), "--out", out, *short_run],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )

    result = run(".")
    assert result.returncode == 0, result.stderr
    assert_valid_png(tmp_path / default_name)
    assert not (tmp_path / ".png").exists()
    result = run("figure.jpg")
    assert result.returncode == 2 and "give a folder or a file ending in .png" in result.stderr
    assert "Traceback" not in result.stderr


def test_dask_example_without_dask_says_what_to_install(tmp_path):
    blocker = tmp_path / "sitecustomize.py"  # makes 'import dask' fail in the child
    blocker.write_text(
        "import sys\n"
        "class _NoDask:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('dask', 'distributed'):\n"
        "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
        "sys.meta_path.insert(0, _NoDask())\n"
    )
    import os

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "dask_digits.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr == 'dask_digits.py needs dask: pip install "dask[array]" distributed\n'
