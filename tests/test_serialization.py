"""tg.save / tg.load: safetensors round trips, metadata, atomic writes and bad files."""

import os
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, serialization
from tinygrad_edu.serialization import load, load_metadata, save


def _model(backend):
    return nn.Sequential(
        nn.Linear(4, 8, backend=backend),
        nn.BatchNorm1d(8, backend=backend),
        nn.ReLU(),
        nn.Linear(8, 2, dtype="float64", backend=backend),
    )


def test_save_then_load_round_trips_every_parameter_bit_exactly(tmp_path, backend_name, xp):
    model = _model(backend_name)
    model(tg.randn(16, 4, backend=backend_name))  # moves the BatchNorm statistics
    path = tmp_path / "model.safetensors"
    save(model.state_dict(), path)
    loaded = load(path, backend=backend_name)
    state = model.state_dict()
    assert loaded.keys() == state.keys()
    for name, tensor in state.items():
        assert loaded[name].backend == backend_name
        assert tg.backend.dtype_name(loaded[name].dtype) == tg.backend.dtype_name(tensor.dtype)
        assert loaded[name].numpy().tobytes() == tensor.numpy().tobytes(), name
    fresh = _model(backend_name)
    fresh.load_state_dict(loaded)
    for name, tensor in fresh.state_dict().items():
        assert tensor.numpy().tobytes() == state[name].numpy().tobytes(), name


def test_arrays_of_every_kind_round_trip(tmp_path, backend_name, xp):
    values = {
        "float32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "transposed": np.arange(6, dtype=np.float64).reshape(2, 3).T,  # not contiguous
        "scalar": np.asarray(2.5),
        "int64": np.array([-1, 7], dtype=np.int64),
        "bool": np.array([True, False]),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    tensors = {name: tg.tensor(v, backend=backend_name) for name, v in values.items()}
    tensors["raw_array"] = tg.tensor(values["int64"], backend=backend_name).data
    save(tensors, tmp_path / "arrays.safetensors")
    loaded = load(tmp_path / "arrays.safetensors")
    values["raw_array"] = values["int64"]
    for name, expected in values.items():
        got = loaded[name].numpy()
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected)
    assert loaded["scalar"].backend == tg.get_default_backend()


def test_metadata_round_trips_as_json(tmp_path):
    metadata = {"epoch": 12, "optimizer": {"lr": 0.001, "betas": [0.9, 0.999]}, "note": "best"}
    save({"w": tg.ones(2)}, tmp_path / "ckpt.safetensors", metadata=metadata)
    assert load_metadata(tmp_path / "ckpt.safetensors") == metadata
    save({"w": tg.ones(2)}, tmp_path / "plain.safetensors")
    assert load_metadata(tmp_path / "plain.safetensors") == {}


def test_metadata_written_by_other_tools_comes_back_as_text(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = str(tmp_path / "foreign.safetensors")
    safetensors_numpy.save_file({"w": np.ones(2)}, path, metadata={"format": "pt"})
    assert load_metadata(path) == {"format": "pt"}
    np.testing.assert_array_equal(load(path)["w"].numpy(), np.ones(2))


def test_save_rejects_what_it_cannot_store(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="'epoch'.*metadata"):
        save({"w": tg.ones(2), "epoch": 3}, path)
    with pytest.raises(TypeError, match="names must be strings"):
        save({0: tg.ones(2)}, path)
    with pytest.raises(TypeError, match="'model'.*JSON"):
        save({"w": tg.ones(2)}, path, metadata={"model": nn.Linear(1, 1)})
    with pytest.raises(TypeError, match="dict"):
        save([tg.ones(2)], path)
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        save({"w": tg.ones(2)}, tmp_path / "no_such_folder" / "x.safetensors")
    assert not path.exists()


class _HalfWriter:
    """A file that writes half of what it is given, then fails (a crash mid-write)."""

    def __init__(self, file):
        self.file = file

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def write(self, data):
        self.file.write(data[: len(data) // 2])
        self.file.flush()
        raise OSError("disk on fire")


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_crash_while_saving_leaves_the_previous_file_intact(tmp_path, monkeypatch, failing):
    path = tmp_path / "model.safetensors"
    save({"w": tg.ones(3)}, path, metadata={"epoch": 1})
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    if failing == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: _HalfWriter(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="disk on fire"):
        save({"w": tg.zeros(1000)}, path, metadata={"epoch": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind
    assert load_metadata(path) == {"epoch": 1}


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save({"w": tg.ones(3)}, path)
    save({"v": tg.zeros(2)}, str(path))
    assert list(load(path)) == ["v"]
    assert os.listdir(tmp_path) == ["model.safetensors"]


def _valid_bytes(tmp_path):
    path = tmp_path / "valid.safetensors"
    save({"w": tg.ones(4, 4), "b": tg.zeros(4)}, path, metadata={"epoch": 1})
    return path.read_bytes()


@pytest.mark.parametrize("keep", [0, 4, 8, 30, -1], ids=lambda k: f"keep{k}")
def test_truncated_file_raises_value_error_naming_it(tmp_path, keep):
    payload = _valid_bytes(tmp_path)
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(payload[:keep])
    for reader in (load, load_metadata):
        with pytest.raises(ValueError, match="truncated.safetensors"):
            reader(path)


@pytest.mark.parametrize(
    "content",
    [
        b"not a safetensors file at all, just some text",
        (10**15).to_bytes(8, "little") + b"{}",
        (2).to_bytes(8, "little") + b"[]",
        (9).to_bytes(8, "little") + b'{"w": 1}',
        b"\x80\x04\x95" + bytes(64),  # the start of a pickle
    ],
    ids=["text", "huge_header", "json_list", "bad_entry", "pickle"],
)
def test_corrupt_or_foreign_file_raises_value_error_naming_it(tmp_path, content):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="corrupt.safetensors"):
        load(path)
    with pytest.raises(ValueError, match="corrupt.safetensors"):
        load_metadata(path)


def test_flipped_header_byte_is_caught(tmp_path):
    payload = bytearray(_valid_bytes(tmp_path))
    payload[10] = ord("!")  # inside the JSON header
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(bytes(payload))
    with pytest.raises(ValueError, match="flipped.safetensors"):
        load(path)


def test_missing_file_raises_file_not_found_naming_it(tmp_path):
    for reader in (load, load_metadata):
        with pytest.raises(FileNotFoundError, match="absent.safetensors"):
            reader(tmp_path / "absent.safetensors")


def test_serialization_and_nn_never_use_pickle():
    files = [serialization.__file__] + [
        os.path.join(os.path.dirname(nn.__file__), name)
        for name in os.listdir(os.path.dirname(nn.__file__))
        if name.endswith(".py")
    ]
    for file in files:
        source = open(file, encoding="utf-8").read()
        assert "import pickle" not in source and "pickle." not in source, file


# ------------------------------------------------- issue 13: files that never half-happen
def test_save_through_a_symlink_writes_the_target(tmp_path):
    target = tmp_path / "real.safetensors"
    save({"w": tg.ones(2)}, target)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    save({"v": tg.zeros(3)}, link)
    assert link.is_symlink()  # the link stays a link, as with open() and torch.save
    assert list(load(target)) == ["v"]
    assert sorted(os.listdir(tmp_path)) == ["link.safetensors", "real.safetensors"]


def test_save_refuses_a_read_only_file_and_keeps_the_mode_of_others(tmp_path):
    path = tmp_path / "frozen.safetensors"
    save({"w": tg.ones(2)}, path)
    before = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="frozen.safetensors.*read-only"):
        save({"w": tg.zeros(2)}, path)
    assert path.read_bytes() == before and (path.stat().st_mode & 0o777) == 0o444
    other = tmp_path / "private.safetensors"
    save({"w": tg.ones(2)}, other)
    other.chmod(0o640)
    save({"w": tg.zeros(2)}, other)
    assert (other.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path).count(".tmp") == 0 and len(os.listdir(tmp_path)) == 2


def test_a_killed_writer_leaves_temporaries_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "model.safetensors"
    killed = (
        "import os, signal, tinygrad_edu as tg\n"
        "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"tg.save({{'w': tg.ones(1000)}}, {str(path)!r})\n"
    )
    run = subprocess.run([sys.executable, "-c", killed], check=False)
    assert run.returncode == -9
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".tmp")]) == 1
    old_style = tmp_path / f".model.safetensors.{'a' * 32}.tmp"  # an older version's name
    old_style.write_bytes(b"x")
    live = tmp_path / f".model.safetensors.{os.getppid()}-{'b' * 32}.tmp"  # a live writer's
    live.write_bytes(b"x")
    unrelated = tmp_path / f".other.safetensors.{'c' * 32}.tmp"
    unrelated.write_bytes(b"x")
    save({"w": tg.zeros(2)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, live.name, unrelated.name])


@pytest.mark.parametrize("failing", ["payload", "open", "chmod"])
def test_no_temporary_survives_an_exception_at_any_stage(tmp_path, monkeypatch, failing):
    path = tmp_path / "model.safetensors"
    save({"w": tg.ones(3)}, path)
    path.chmod(0o600)

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    target = {
        "payload": (safetensors_numpy_module(), "save"),
        "open": (os, "fdopen"),
        "chmod": (os, "chmod"),
    }[failing]
    monkeypatch.setattr(*target, crash)
    with pytest.raises(OSError, match="disk on fire"):
        save({"w": tg.zeros(1000)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.safetensors"]


def safetensors_numpy_module():
    import safetensors.numpy

    return safetensors.numpy


def _fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.safetensors"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["dev_zero", "dev_urandom", "fifo", "folder"])
def test_load_refuses_what_is_not_a_regular_file_before_reading(tmp_path, kind):
    if kind.startswith("dev_"):
        device = "/dev/" + kind[4:]
        if not os.path.exists(device):
            pytest.skip(f"no {device}")
        path = tmp_path / f"{kind}.safetensors"
        path.symlink_to(device)
        what = "character device"
    elif kind == "fifo":
        path, what = _fifo(tmp_path), "FIFO"
    else:
        path, what = tmp_path / "folder.safetensors", "folder"
        path.mkdir()
    for reader in (load, load_metadata):  # a FIFO would block open(): it must not be opened
        raised = _in_a_thread(reader, path, seconds=10)
        assert isinstance(raised, ValueError), raised
        assert re.search(f"{path.name}.*{what}", str(raised)), raised


def _in_a_thread(function, *args, seconds):
    """The exception ``function(*args)`` raised (None if none) or TimeoutError if it hangs."""
    import threading

    outcome = [TimeoutError(f"{function.__name__} still running after {seconds} s")]

    def target():
        try:
            function(*args)
            outcome[0] = None
        except BaseException as err:  # noqa: BLE001 - handed to the test
            outcome[0] = err

    worker = threading.Thread(target=target, daemon=True)  # daemon: a hung open() cannot block exit
    worker.start()
    worker.join(seconds)
    return outcome[0]


def test_load_refuses_a_header_longer_than_the_file(tmp_path):
    path = tmp_path / "huge.safetensors"
    path.write_bytes((1 << 40).to_bytes(8, "little") + b"{}" + bytes(100))
    for reader in (load, load_metadata):
        with pytest.raises(ValueError, match="huge.safetensors.*header of 1099511627776 bytes"):
            reader(path)


def test_deeply_nested_metadata_is_a_value_error_naming_the_file(tmp_path):
    safetensors_numpy = safetensors_numpy_module()
    path = str(tmp_path / "deep.safetensors")
    deep = "[" * 100_000 + "]" * 100_000
    safetensors_numpy.save_file({"w": np.ones(2)}, path, metadata={"config": deep})
    with pytest.raises(ValueError, match="deep.safetensors.*'config'.*nested"):
        load_metadata(path)
    nested = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ValueError, match="'config'.*nested"):
        save({"w": tg.ones(2)}, tmp_path / "x.safetensors", metadata={"config": nested})


def test_a_tensor_named_like_the_header_key_is_refused_and_the_old_file_kept(tmp_path):
    path = tmp_path / "model.safetensors"
    save({"w": tg.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="__metadata__"):
        save({"__metadata__": tg.ones(2)}, path)
    assert path.read_bytes() == before
