"""Tests of tinygrad_edu.data: datasets, IDX reading, splits, scalers, DataLoader."""

from __future__ import annotations

import gzip
import math
import random

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu import data
from tinygrad_edu.backend import get_default_backend
from tinygrad_edu.data import datasets

# ------------------------------------------------------------------ digits


def test_load_digits_shapes_dtypes_and_pixel_range():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    assert set(np.unique(y)) == set(range(10))


# ----------------------------------------------------------------- MNIST-1D


@pytest.fixture(scope="module")
def mnist1d(tmp_path_factory):
    """Generate MNIST-1D once per session into a temporary XDG cache."""
    cache_home = tmp_path_factory.mktemp("xdg_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache_home))
        arrays = data.load_mnist1d()
    return cache_home / "tinygrad_edu", arrays


@pytest.fixture
def fast_generator(mnist1d, monkeypatch):
    """Replace the generator by the fixture's arrays and count the calls."""
    _, (X_train, y_train, X_test, y_test) = mnist1d
    calls = []

    def generate():
        calls.append(1)
        return {
            "X_train": X_train,
            "y_train": y_train,
            "X_test": X_test,
            "y_test": y_test,
        }

    monkeypatch.setattr(datasets, "generate_mnist1d", generate)
    return calls


def test_mnist1d_shapes_dtypes_and_classes(mnist1d):
    _, (X_train, y_train, X_test, y_test) = mnist1d
    assert X_train.shape == (4000, 40) and X_test.shape == (1000, 40)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert X_train.dtype == X_test.dtype == np.float64
    assert y_train.dtype == y_test.dtype == np.int64
    assert set(np.unique(y_train)) == set(np.unique(y_test)) == set(range(10))


def test_mnist1d_matches_the_default_seed_42_dataset(mnist1d):
    _, (X_train, y_train, _, y_test) = mnist1d
    np.testing.assert_array_equal(y_train[:10], [2, 6, 4, 5, 6, 6, 6, 0, 3, 1])
    np.testing.assert_array_equal(
        np.bincount(y_test), [102, 104, 89, 106, 106, 98, 99, 96, 98, 102]
    )
    np.testing.assert_allclose(X_train[0, :3], [-0.33200567, -0.47191037, -0.77869708], rtol=1e-6)


def test_mnist1d_generator_is_deterministic_and_keeps_global_rng(mnist1d):
    _, cached = mnist1d
    random.seed(7)
    np.random.seed(7)
    generated = data.generate_mnist1d()
    assert random.random() == random.Random(7).random()
    assert np.random.random() == np.random.RandomState(7).random_sample()
    for name, array in zip(datasets.MNIST1D_SHAPES, cached, strict=True):
        np.testing.assert_array_equal(generated[name], array)


def test_mnist1d_cache_is_a_pickle_free_npz_written_atomically(mnist1d):
    folder, arrays = mnist1d
    assert [path.name for path in folder.iterdir()] == [datasets.MNIST1D_CACHE_FILE]
    with np.load(folder / datasets.MNIST1D_CACHE_FILE, allow_pickle=False) as stored:
        assert sorted(stored.files) == sorted(datasets.MNIST1D_SHAPES)
        for name, array in zip(datasets.MNIST1D_SHAPES, arrays, strict=True):
            np.testing.assert_array_equal(stored[name], array)


def test_mnist1d_second_load_reads_the_cache(mnist1d, fast_generator):
    folder, arrays = mnist1d
    loaded = data.load_mnist1d(cache_dir=folder)
    assert fast_generator == []
    for array, reloaded in zip(arrays, loaded, strict=True):
        np.testing.assert_array_equal(array, reloaded)


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04truncated"])
def test_mnist1d_corrupt_cache_is_regenerated(tmp_path, mnist1d, fast_generator, content):
    (tmp_path / datasets.MNIST1D_CACHE_FILE).write_bytes(content)
    X_train, *_ = data.load_mnist1d(cache_dir=tmp_path)
    assert fast_generator == [1] and X_train.shape == (4000, 40)
    assert data.load_mnist1d(cache_dir=tmp_path)[0].shape == (4000, 40)
    assert fast_generator == [1]


def test_mnist1d_cache_with_wrong_shapes_is_regenerated(tmp_path, fast_generator):
    wrong = {name: np.zeros(3) for name in datasets.MNIST1D_SHAPES}
    np.savez(tmp_path / datasets.MNIST1D_CACHE_FILE, **wrong)
    assert data.load_mnist1d(cache_dir=tmp_path)[0].shape == (4000, 40)
    assert fast_generator == [1]


def test_mnist1d_unwritable_cache_warns_and_still_returns_data(tmp_path, fast_generator):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.warns(UserWarning, match="could not cache"):
        X_train, *_ = data.load_mnist1d(cache_dir=blocker / "cache")
    assert X_train.shape == (4000, 40)


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / "tinygrad_edu"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / ".cache" / "tinygrad_edu"


# -------------------------------------------------------------- MNIST (IDX)

IDX_TYPE_CODES = {
    "uint8": 0x08,
    "int8": 0x09,
    "int16": 0x0B,
    "int32": 0x0C,
    "float32": 0x0D,
    "float64": 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, IDX_TYPE_CODES[array.dtype.name], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_tiny_mnist(folder, gz=False, n_train=5, n_test=3):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        if gz:
            with gzip.open(folder / (name + ".gz"), "wb") as file:
                file.write(idx_bytes(array))
        else:
            (folder / name).write_bytes(idx_bytes(array))
    return [arrays[name] for name in data.mnist.MNIST_FILES]


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_raw_and_gzipped_idx(tmp_path, gz):
    expected = write_tiny_mnist(tmp_path, gz=gz)
    X_train, y_train, X_test, y_test = data.load_mnist(tmp_path)
    assert X_train.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    for array, loaded in zip(expected, (X_train, y_train, X_test, y_test), strict=True):
        np.testing.assert_array_equal(loaded, array)


def test_load_mnist_finds_the_torchvision_layout(tmp_path):
    write_tiny_mnist(tmp_path / "MNIST" / "raw", gz=True)
    assert data.load_mnist(tmp_path)[0].shape == (5, 28, 28)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_read_idx_every_type_code(tmp_path, dtype):
    array = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    (tmp_path / "file.idx").write_bytes(idx_bytes(array))
    loaded = data.read_idx(tmp_path / "file.idx")
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_load_mnist_missing_folder_says_what_to_put_where(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="train-images-idx3-ubyte.*t10k-labels-idx1-ubyte"
    ) as error:
        data.load_mnist(tmp_path / "nowhere")
    assert "nowhere" in str(error.value)


def test_load_mnist_missing_file_is_named(tmp_path):
    write_tiny_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="lacks t10k-labels-idx1-ubyte"):
        data.load_mnist(tmp_path)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda content: b"\x01\x02" + content[2:],  # bad magic
        lambda content: content[:-1],  # truncated data
        lambda content: content + b"\x00",  # trailing bytes
        lambda content: content[:6],  # truncated header
    ],
    ids=["magic", "truncated", "trailing", "header"],
)
def test_load_mnist_malformed_file_is_named(tmp_path, corrupt):
    write_tiny_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte"):
        data.load_mnist(tmp_path)


def test_load_mnist_corrupt_gzip_is_named(tmp_path):
    write_tiny_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        data.load_mnist(tmp_path)


def test_load_mnist_images_and_labels_must_agree(tmp_path):
    write_tiny_mnist(tmp_path)
    labels = np.zeros(4, dtype=np.uint8)  # 5 training images
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*train-labels-idx1-ubyte"):
        data.load_mnist(tmp_path)


# ----------------------------------------------------------- synthetic sets


def franke_by_hand(x, y):
    return (
        0.75 * math.exp(-((9 * x - 2) ** 2) / 4 - (9 * y - 2) ** 2 / 4)
        + 0.75 * math.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10)
        + 0.5 * math.exp(-((9 * x - 7) ** 2) / 4 - (9 * y - 3) ** 2 / 4)
        - 0.2 * math.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2)
    )


def test_franke_function_at_known_points():
    # f(0, 0) = 3/4 e^-2 + 3/4 e^(-1/49 - 1/10) + 1/2 e^-14.5 - 1/5 e^-65
    assert data.franke_function(0.0, 0.0) == pytest.approx(0.76642, abs=1e-5)
    for x, y in [(0.0, 0.0), (0.2, 0.3), (0.5, 0.5), (1.0, 1.0), (0.45, 0.78)]:
        assert data.franke_function(x, y) == pytest.approx(franke_by_hand(x, y), rel=1e-12)


def test_franke_samples_unit_square_with_gaussian_noise():
    X, y = data.franke(5000, noise=0.0, seed=3)
    assert X.shape == (5000, 2) and y.shape == (5000,)
    assert X.min() >= 0 and X.max() < 1
    np.testing.assert_allclose(y, data.franke_function(X[:, 0], X[:, 1]))
    X_noisy, y_noisy = data.franke(5000, noise=0.1, seed=3)
    np.testing.assert_array_equal(X_noisy, X)
    residual = y_noisy - y
    assert abs(residual.mean()) < 0.01 and residual.std() == pytest.approx(0.1, rel=0.05)


CLASSIFICATION_SETS = [
    (data.xor, {}, 2),
    (data.two_moons, {}, 2),
    (data.spirals, {}, 3),
    (data.spirals, {"classes": 5}, 5),
]


@pytest.mark.parametrize("make, kwargs, classes", CLASSIFICATION_SETS)
def test_classification_sets_shapes_balance_and_seeding(make, kwargs, classes):
    X, y = make(101, noise=0.1, seed=1, **kwargs)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == classes and counts.max() - counts.min() <= 1
    X_again, y_again = make(101, noise=0.1, seed=1, **kwargs)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, make(101, noise=0.1, seed=2, **kwargs)[0])


def test_xor_without_noise_is_the_truth_table():
    X, y = data.xor(40, noise=0.0)
    np.testing.assert_array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))
    assert len(np.unique(X, axis=0)) == 4


def test_two_moons_points_lie_on_their_half_circles():
    X, y = data.two_moons(200, noise=0.0)
    centres = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(X - centres, axis=1), 1.0)
    assert (X[y == 0, 1] >= 0).all() and (X[y == 1, 1] <= 0.5).all()


def test_sine1d_shape_and_values():
    X, y = data.sine1d(300, noise=0.0, seed=0)
    assert X.shape == (300, 1) and y.shape == (300,)
    assert X.min() >= -np.pi and X.max() < np.pi
    np.testing.assert_allclose(y, np.sin(X[:, 0]))


# ------------------------------------------------------------------- splits


def test_split_sizes_cover_every_sample_once():
    X, y = np.arange(200).reshape(100, 2), np.arange(100)
    X_train, y_train, X_val, y_val, X_test, y_test = data.train_val_test_split(
        X, y, val=0.1, test=0.2
    )
    assert (len(X_train), len(X_val), len(X_test)) == (70, 10, 20)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_val, y_test])), np.arange(100))
    for X_part, y_part in [(X_train, y_train), (X_val, y_val), (X_test, y_test)]:
        np.testing.assert_array_equal(X_part, X[y_part])


def test_split_is_seeded():
    X, y = np.arange(50), np.arange(50)
    first = data.train_val_test_split(X, y, seed=4)
    for part, again in zip(first, data.train_val_test_split(X, y, seed=4), strict=True):
        np.testing.assert_array_equal(part, again)
    assert not np.array_equal(first[0], data.train_val_test_split(X, y, seed=5)[0])


def test_split_with_empty_validation_part():
    X_train, _, X_val, y_val, X_test, _ = data.train_val_test_split(
        np.zeros((10, 3)), np.arange(10), val=0.0
    )
    assert X_val.shape == (0, 3) and y_val.shape == (0,)
    assert len(X_train) == 8 and len(X_test) == 2


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [700, 200, 100])
    X = np.arange(1000)
    parts = data.train_val_test_split(X, y, val=0.15, test=0.25, stratify=True, seed=0)
    _, y_train, _, y_val, _, y_test = parts
    assert (len(y_train), len(y_val), len(y_test)) == (600, 150, 250)
    for y_part in (y_train, y_val, y_test):
        expected = len(y_part) * np.array([0.7, 0.2, 0.1])
        assert np.abs(np.bincount(y_part, minlength=3) - expected).max() <= 1
    np.testing.assert_array_equal(np.sort(np.concatenate(parts[::2])), X)


def test_stratified_split_is_not_ordered_by_class():
    y = np.arange(300) % 3
    _, y_train, *_ = data.train_val_test_split(np.arange(300), y, stratify=True)
    assert not np.array_equal(y_train[:3], y_train[3:6])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"val": -0.1},
        {"test": 1.0},
        {"val": 0.5, "test": 0.5},
        {"val": float("nan")},
        {"test": 1.5},
    ],
)
def test_split_rejects_bad_fractions(kwargs):
    with pytest.raises(ValueError, match="val|test"):
        data.train_val_test_split(np.zeros(10), np.zeros(10), **kwargs)


def test_split_rejects_mismatched_lengths_and_no_training_left():
    with pytest.raises(ValueError, match="length"):
        data.train_val_test_split(np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError, match="no training"):
        data.train_val_test_split(np.zeros(2), np.zeros(2), val=0.4, test=0.4)


# ------------------------------------------------------------------ scalers


def test_standardizer_uses_training_statistics_only():
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(100, 4))
    X_train, _, _, _, X_test, _ = data.train_val_test_split(X, np.zeros(100), val=0.0, test=0.3)
    scaler = data.Standardizer().fit(X_train)
    np.testing.assert_allclose(scaler.mean, X_train.mean(axis=0))
    np.testing.assert_allclose(scaler.std, X_train.std(axis=0))
    np.testing.assert_allclose(
        scaler.transform(X_test), (X_test - X_train.mean(0)) / X_train.std(0)
    )
    assert not np.allclose(scaler.mean, X.mean(axis=0))
    scaled = scaler.transform(X_train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), X_train)


def test_standardizer_constant_feature_gets_std_one():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = data.Standardizer()
    np.testing.assert_array_equal(scaler.fit_transform(X), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(scaler.std, [1.0, 1.0])


def test_min_max_scaler_range_constant_feature_and_inverse():
    X = np.array([[0.0, 2.0, 7.0], [5.0, 4.0, 7.0], [10.0, 3.0, 7.0]])
    scaler = data.MinMaxScaler()
    np.testing.assert_allclose(scaler.fit_transform(X), [[0, 0, 0], [0.5, 1, 0], [1, 0.5, 0]])
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X)
    symmetric = data.MinMaxScaler(feature_range=(-1, 1)).fit(X)
    np.testing.assert_allclose(symmetric.transform(X)[:, 0], [-1, 0, 1])
    with pytest.raises(ValueError, match="feature_range"):
        data.MinMaxScaler(feature_range=(1, 1))


@pytest.mark.parametrize("scaler", [data.Standardizer(), data.MinMaxScaler()])
def test_scaler_used_before_fit_raises(scaler):
    with pytest.raises(RuntimeError, match="fit"):
        scaler.transform(np.zeros((2, 2)))


# --------------------------------------------------------------- DataLoader


def test_loader_length_with_and_without_drop_last():
    X, y = np.zeros((10, 3)), np.zeros(10)
    assert len(data.DataLoader(X, y, batch_size=4)) == 3
    assert len(data.DataLoader(X, y, batch_size=4, drop_last=True)) == 2
    assert len(data.DataLoader(X, y, batch_size=5, drop_last=True)) == 2
    assert len(data.DataLoader(X, y, batch_size=20, drop_last=True)) == 0


def test_loader_order_is_seeded_per_epoch():
    X, y = np.zeros((50, 2)), np.zeros(50)
    loader = data.DataLoader(X, y, batch_size=8, seed=3)
    same_seed = data.DataLoader(X, y, batch_size=8, seed=3)
    other_seed = data.DataLoader(X, y, batch_size=8, seed=4)
    np.testing.assert_array_equal(loader.sample_order(0), same_seed.sample_order(0))
    np.testing.assert_array_equal(np.sort(loader.sample_order(0)), np.arange(50))
    assert not np.array_equal(loader.sample_order(0), loader.sample_order(1))
    assert not np.array_equal(loader.sample_order(0), other_seed.sample_order(0))
    unshuffled = data.DataLoader(X, y, batch_size=8, shuffle=False)
    np.testing.assert_array_equal(unshuffled.sample_order(5), np.arange(50))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"batch_size": 2, "seed": -1}, "seed"),
    ],
)
def test_loader_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.DataLoader(np.zeros((4, 2)), np.zeros(4), **kwargs)
    with pytest.raises(ValueError, match="length"):
        data.DataLoader(np.zeros((4, 2)), np.zeros(5), batch_size=2)


@pytest.fixture
def host_tensor(monkeypatch):
    """Stand in for ``tinygrad_edu.tensor``: record the arrays it is given."""
    calls = []

    def tensor(array, dtype=None, backend=None, device=None, requires_grad=False):
        calls.append((backend, device))
        return array

    monkeypatch.setattr(tinygrad_edu, "tensor", tensor, raising=False)
    return calls


def test_loader_batches_follow_the_epoch_order(host_tensor):
    X = np.arange(22, dtype=np.int64).reshape(11, 2)
    y = np.arange(11)
    loader = data.DataLoader(X, y, batch_size=4, seed=1, backend="numpy", device="cpu")
    for epoch in range(2):
        batches = list(loader)
        order = loader.sample_order(epoch)
        assert [len(y_batch) for _, y_batch in batches] == [4, 4, 3]
        np.testing.assert_array_equal(np.concatenate([y_batch for _, y_batch in batches]), order)
        np.testing.assert_array_equal(np.concatenate([X_batch for X_batch, _ in batches]), X[order])
    assert loader.epoch == 2
    assert set(host_tensor) == {("numpy", "cpu")}


def test_loader_without_backend_uses_the_default_backend(host_tensor):
    list(data.DataLoader(np.zeros((3, 2)), np.zeros(3), batch_size=2))
    assert host_tensor == [(get_default_backend(), None)] * 4


def test_loader_resumes_an_epoch_with_set_epoch(host_tensor):
    X, y = np.arange(30.0).reshape(15, 2), np.arange(15)
    loader = data.DataLoader(X, y, batch_size=4, seed=9)
    epochs = [[y_batch for _, y_batch in loader] for _ in range(3)]
    resumed = data.DataLoader(X, y, batch_size=4, seed=9)
    resumed.set_epoch(2)
    for original, again in zip(epochs[2], [y_batch for _, y_batch in resumed], strict=True):
        np.testing.assert_array_equal(original, again)
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))


def test_loader_drop_last_gives_only_full_batches(host_tensor):
    loader = data.DataLoader(np.zeros((10, 3)), np.arange(10), batch_size=4, drop_last=True)
    assert [X_batch.shape for X_batch, _ in loader] == [(4, 3), (4, 3)]


def test_loader_casts_features_and_float_targets_but_not_labels(host_tensor):
    X = np.arange(12, dtype=np.uint8).reshape(6, 2)
    X_batch, y_batch = next(iter(data.DataLoader(X, np.arange(6, dtype=np.int32), batch_size=6)))
    assert X_batch.dtype == np.float32 and y_batch.dtype == np.int32
    X_batch, y_batch = next(
        iter(data.DataLoader(X, np.linspace(0, 1, 6), batch_size=6, dtype="float64"))
    )
    assert X_batch.dtype == np.float64 and y_batch.dtype == np.float64
    _, y_batch = next(iter(data.DataLoader(X, np.linspace(0, 1, 6), batch_size=6)))
    assert y_batch.dtype == np.float32


@pytest.fixture
def tg():
    if not hasattr(tinygrad_edu, "Tensor"):
        pytest.skip("tinygrad_edu.tensor is not available yet")
    return tinygrad_edu


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_loader_yields_tensors_on_the_backend(tg, backend):
    X, y = data.two_moons(10, noise=0.1)
    loader = data.DataLoader(X, y, batch_size=4, backend=backend, seed=2)
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    X_batch, y_batch = batches[0]
    assert isinstance(X_batch, tg.Tensor) and isinstance(y_batch, tg.Tensor)
    assert X_batch.shape == (4, 2) and y_batch.shape == (4,)
    assert "float32" in str(X_batch.dtype) and "int64" in str(y_batch.dtype)
    assert batches[-1][0].shape == (2, 2)
    order = loader.sample_order(0)
    np.testing.assert_array_equal(X_batch.numpy(), X[order[:4]].astype(np.float32))
    np.testing.assert_array_equal(y_batch.numpy(), y[order[:4]])
    assert tg.tensor(np.zeros(1), backend=backend).backend == X_batch.backend


def test_loader_follows_the_default_backend_and_accepts_tensors(tg):
    X, y = data.xor(8, noise=0.1)
    loader = data.DataLoader(tg.tensor(X), tg.tensor(y), batch_size=8, shuffle=False)
    with tg.default_backend("array_api_strict"):
        X_batch, y_batch = next(iter(loader))
    assert X_batch.backend == y_batch.backend == "array_api_strict"
    np.testing.assert_array_equal(X_batch.numpy(), X.astype(np.float32))
    np.testing.assert_array_equal(y_batch.numpy(), y)
