"""fit / evaluate / History / EarlyStopping / checkpoints / mlp, on small seeded problems."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import data, optim
from tinygrad_edu.models import mlp
from tinygrad_edu.serialization import save
from tinygrad_edu.train import (
    EarlyStopping,
    History,
    R2Score,
    evaluate,
    fit,
    read_checkpoint_metadata,
)


def xor_loaders(backend=None, seed=0):
    X, y = data.xor(n=200, noise=0.1, seed=seed)
    X_train, y_train, X_val, y_val, _, _ = data.train_val_test_split(
        X, y, val=0.2, test=0.0, stratify=True, seed=seed
    )
    train = data.DataLoader(X_train, y_train, batch_size=32, seed=seed, backend=backend)
    val = data.DataLoader(X_val, y_val, batch_size=64, shuffle=False, backend=backend)
    return train, val


def xor_run(backend=None, epochs=8, dropout=0.3, **fit_options):
    """A small seeded classification run with dropout (so the host RNG matters)."""
    tg.manual_seed(0)
    model = mlp([2, 16, 2], "tanh", dropout=dropout, backend=backend)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    train, val = xor_loaders(backend)
    history = fit(
        model, F.cross_entropy, optimizer, train, val, epochs=epochs, progress=False, **fit_options
    )
    return model, history


def parameters_of(model):
    return [p.numpy().copy() for p in model.parameters()]


# ------------------------------------------------------------------ fit
def test_fit_learns_xor_and_records_history(backend_name, xp):
    model, history = xor_run(backend_name, epochs=30, dropout=0.0)
    assert history.epochs == 30
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert all(len(history[key]) == 30 for key in history)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.95
    assert history.monitor == "val_accuracy" and history.higher_is_better
    best = history.best_epoch
    assert history["val_accuracy"][best] == max(history["val_accuracy"])
    assert not history.interrupted and not history.stopped_early
    X, y = data.xor(n=100, noise=0.1, seed=7)
    assert evaluate(model, X, y)["accuracy"] >= 0.95


def test_fit_regression_metrics_and_lbfgs_closure():
    X, y = data.sine1d(n=128, seed=0)
    tg.manual_seed(0)
    model = mlp([1, 16, 1], "tanh")
    optimizer = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
    loader = data.DataLoader(X, y[:, None], batch_size=128, seed=0)
    history = fit(model, F.mse_loss, optimizer, loader, epochs=5, progress=False)
    assert set(history) == {"loss", "r2", "mse", "lr", "time"}
    assert history.monitor == "loss"
    assert history["loss"][-1] < 1e-2 < history["loss"][0]
    results = evaluate(model, X, y[:, None])
    assert results["r2"] > 0.98
    with tg.no_grad():  # evaluate's mse is the model's mse after training
        direct = F.mse_loss(model(tg.tensor(X)), tg.tensor(y[:, None])).item()
    assert results["mse"] == pytest.approx(direct, rel=1e-4)  # float32 sums, two orders
    # history records the epoch's mse before that epoch's LBFGS step, which can cut the
    # error tenfold (so it is an upper bound here, not an equal)
    assert results["mse"] <= history["mse"][-1] * 1.01 and history["mse"][-1] < 1e-3


def test_fit_with_scheduler_records_learning_rates():
    tg.manual_seed(0)
    model = mlp([2, 8, 2])
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    train, _ = xor_loaders()
    history = fit(
        model, F.cross_entropy, optimizer, train, epochs=5, progress=False, scheduler=scheduler
    )
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_fit_raises_on_a_diverging_loss():
    tg.manual_seed(0)
    model = mlp([2, 8, 1])
    optimizer = optim.SGD(model.parameters(), lr=1e6)
    X, y = data.sine1d(n=64, seed=0)
    loader = data.DataLoader(np.concatenate([X, X], axis=1) * 100, y[:, None], batch_size=16)
    with pytest.raises(FloatingPointError, match="smaller learning rate"):
        with np.errstate(all="ignore"):
            fit(model, F.mse_loss, optimizer, loader, epochs=20, progress=False)


def test_fit_argument_errors():
    tg.manual_seed(0)
    model = mlp([2, 4, 2])
    optimizer = optim.Adam(model.parameters())
    train, _ = xor_loaders()
    with pytest.raises(ValueError, match="val_loader"):
        fit(model, F.cross_entropy, optimizer, train, epochs=2, early_stopping=3, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, F.cross_entropy, optimizer, train, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, F.cross_entropy, optimizer, train, epochs=1, metrics=["f1"], progress=False)
    with pytest.raises(ValueError, match="task"):
        fit(model, F.cross_entropy, optimizer, list(train), epochs=1, progress=False)


def test_fit_shows_a_progress_bar(capsys):
    tg.manual_seed(0)
    model = mlp([2, 8, 2])
    train, val = xor_loaders()
    fit(model, F.cross_entropy, optim.Adam(model.parameters()), train, val, epochs=2)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "val_accuracy" in err and "loss" in err


# ------------------------------------------------------------------ evaluate
def test_evaluate_classification_matches_numpy(backend_name, xp):
    tg.manual_seed(3)
    model = mlp([4, 5, 3], backend=backend_name)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    results = evaluate(model, X, y, loss_fn=F.cross_entropy, batch_size=16)
    with tg.no_grad():
        logits = model(tg.tensor(X.astype(np.float32), backend=backend_name)).numpy()
    predicted = logits.argmax(axis=1)
    assert results["accuracy"] == pytest.approx(np.mean(predicted == y))
    expected = np.zeros((3, 3), dtype=np.int64)
    np.add.at(expected, (y, predicted), 1)
    np.testing.assert_array_equal(results["confusion_matrix"], expected)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert results["loss"] == pytest.approx(-log_probs[np.arange(50), y].mean(), rel=1e-5)
    assert model.training  # evaluate leaves the mode as it found it
    with pytest.raises(ValueError, match="without its targets"):
        evaluate(model, X)


def test_evaluate_regression_matches_sklearn(backend_name, xp):
    metrics = pytest.importorskip("sklearn.metrics")
    tg.manual_seed(1)
    model = mlp([3, 6, 2], backend=backend_name, dtype="float64")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((70, 3))
    y = 1000.0 + rng.standard_normal((70, 2))  # a large mean: the streaming sums must not cancel
    with tg.no_grad():
        predicted = model(tg.tensor(X, backend=backend_name)).numpy()
    results = evaluate(model, X, y, batch_size=16)
    assert results["mse"] == pytest.approx(metrics.mean_squared_error(y, predicted), rel=1e-10)
    assert results["r2"] == pytest.approx(metrics.r2_score(y, predicted), rel=1e-10)


def test_r2_score_edge_cases():
    score = R2Score()
    assert math.isnan(score.compute())
    score.update(tg.tensor([1.0, 1.0]), tg.tensor([1.0, 1.0]))
    assert score.compute() == 1.0  # constant target predicted exactly
    score.update(tg.tensor([2.0]), tg.tensor([1.0]))
    assert score.compute() == 0.0


# ------------------------------------------------------------------ history, early stopping
def test_history_round_trip_and_best_epoch():
    history = History(monitor="val_loss", higher_is_better=False)
    history.append({"loss": 1.0, "val_loss": math.nan})
    history.append({"loss": 0.5, "val_loss": 0.7, "extra": 3.0})
    history.append({"loss": 0.4, "val_loss": 0.7})
    assert history.best_epoch == 1 and history.best_value == 0.7
    assert math.isnan(history["extra"][0]) and math.isnan(history["extra"][2])
    copy = History.from_dict(history.to_dict())
    assert copy.epochs == 3 and copy.best_epoch == 1
    assert copy["loss"] == [1.0, 0.5, 0.4]
    with pytest.raises(KeyError, match="accuracy"):
        history["accuracy"]


def test_early_stopping_stops_and_restores_the_best_weights():
    tg.manual_seed(0)
    model = mlp([2, 3, 1])
    stopper = EarlyStopping(patience=2, monitor="val_loss")
    stopper.attach(History("val_accuracy", higher_is_better=True))
    assert stopper.higher_is_better is False
    snapshots = []
    for epoch, value in enumerate([0.9, 0.5, 0.6, 0.55]):
        for p in model.parameters():
            p.data = p.data + 1.0
        snapshots.append(parameters_of(model))
        stopped = stopper.update(epoch, {"val_loss": value}, model)
        assert stopped == (epoch == 3)
    assert stopper.best_epoch == 1 and stopper.best_value == 0.5
    stopper.restore(model)
    for restored, best in zip(parameters_of(model), snapshots[1], strict=True):
        np.testing.assert_array_equal(restored, best)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_fit_early_stopping_ends_the_run():
    model, history = xor_run(epochs=200, dropout=0.0, early_stopping=3)
    assert history.stopped_early and history.epochs < 200
    best = history.best_epoch
    assert history.epochs == best + 4  # the best epoch, then `patience` epochs without progress
    val = xor_loaders()[1]
    assert evaluate(model, val.X, val.y)["accuracy"] == history["val_accuracy"][best]


# ------------------------------------------------------------------ checkpoints and resume
class InterruptingLoader:
    """A DataLoader stand-in that raises KeyboardInterrupt at one batch (Ctrl-C mid-epoch)."""

    def __init__(self, loader, at_epoch, at_batch):
        self.loader, self.at_epoch, self.at_batch = loader, at_epoch, at_batch
        self.y = loader.y

    def set_epoch(self, epoch):
        self.loader.set_epoch(epoch)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        epoch = self.loader.epoch
        for number, batch in enumerate(self.loader):
            if (epoch, number) == (self.at_epoch, self.at_batch):
                raise KeyboardInterrupt
            yield batch


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(backend_name, xp, tmp_path):
    reference, reference_history = xor_run(backend_name, epochs=6)
    checkpoint = tmp_path / "run.safetensors"

    tg.manual_seed(0)
    model = mlp([2, 16, 2], "tanh", dropout=0.3, backend=backend_name)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    train, val = xor_loaders(backend_name)
    interrupted = fit(
        model,
        F.cross_entropy,
        optimizer,
        InterruptingLoader(train, 3, 2),
        val,
        epochs=6,
        checkpoint=checkpoint,
        progress=False,
    )
    assert interrupted.interrupted and interrupted.epochs == 3
    assert read_checkpoint_metadata(checkpoint)["epoch"] == 3

    tg.manual_seed(123)  # a fresh process: other weights and random state until resumed
    model = mlp([2, 16, 2], "tanh", dropout=0.3, backend=backend_name)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    train, val = xor_loaders(backend_name)
    resumed = fit(
        model,
        F.cross_entropy,
        optimizer,
        train,
        val,
        epochs=6,
        resume=checkpoint,
        checkpoint=checkpoint,
        progress=False,
    )
    for got, expected in zip(parameters_of(model), parameters_of(reference), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert resumed["loss"] == reference_history["loss"]
    assert resumed["val_accuracy"] == reference_history["val_accuracy"]
    assert read_checkpoint_metadata(checkpoint)["epoch"] == 6


def test_resume_keeps_scheduler_and_early_stopping_state(tmp_path):
    def run(epochs, **options):
        tg.manual_seed(0)
        model = mlp([2, 8, 2], "tanh")
        optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        train, val = xor_loaders()
        stopper = EarlyStopping(patience=50)
        history = fit(
            model,
            F.cross_entropy,
            optimizer,
            train,
            val,
            epochs=epochs,
            scheduler=scheduler,
            early_stopping=stopper,
            progress=False,
            **options,
        )
        return model, history, stopper

    reference, reference_history, reference_stopper = run(7)
    path = tmp_path / "ck.safetensors"
    run(3, checkpoint=path)
    model, history, stopper = run(7, resume=path)
    assert history["lr"] == reference_history["lr"]
    assert stopper.state_dict() == reference_stopper.state_dict()
    for got, expected in zip(parameters_of(model), parameters_of(reference), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_resume_rejects_other_files_and_optimizers(tmp_path):
    tg.manual_seed(0)
    model = mlp([2, 4, 2])
    plain = tmp_path / "weights.safetensors"
    save(model.state_dict(), plain)
    train, _ = xor_loaders()
    with pytest.raises(ValueError, match="not a training checkpoint"):
        fit(
            model,
            F.cross_entropy,
            optim.Adam(model.parameters()),
            train,
            epochs=1,
            resume=plain,
            progress=False,
        )
    with pytest.raises(FileNotFoundError):
        fit(
            model,
            F.cross_entropy,
            optim.Adam(model.parameters()),
            train,
            epochs=1,
            resume=tmp_path / "missing.safetensors",
            progress=False,
        )
    checkpoint = tmp_path / "ck.safetensors"
    fit(
        model,
        F.cross_entropy,
        optim.Adam(model.parameters()),
        train,
        epochs=1,
        checkpoint=checkpoint,
        progress=False,
    )
    with pytest.raises(ValueError, match="Adam"):
        fit(
            model,
            F.cross_entropy,
            optim.SGD(model.parameters(), lr=0.1),
            train,
            epochs=2,
            resume=checkpoint,
            progress=False,
        )


# ------------------------------------------------------------------ mlp
def test_mlp_layers_and_errors():
    model = mlp([3, 5, 4, 2], "gelu", dropout=0.1)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "GELU", "Dropout", "Linear", "GELU", "Dropout", "Linear"]
    assert model[0].weight.shape == (3, 5)
    with pytest.raises(ValueError, match="activation"):
        mlp([2, 2], "swish")
    with pytest.raises(ValueError, match="sizes"):
        mlp([2])
    with pytest.raises(ValueError, match="dropout"):
        mlp([2, 3, 1], dropout=1.0)


# ------------------------------------------------- issue 13: resume checks everything first
def _checkpointed_run(tmp_path, epochs=2):
    path = tmp_path / "ck.safetensors"
    xor_run(epochs=epochs, dropout=0.3, checkpoint=path)
    return path


def _fresh_run_objects(groups=False):
    tg.manual_seed(1)
    model = mlp([2, 16, 2], "tanh", dropout=0.3)
    params = list(model.parameters())
    if groups:  # same parameters, another group layout
        params = [{"params": params[:2]}, {"params": params[2:], "lr": 0.01}]
    return model, optim.Adam(params, lr=0.02)


def _resume_into(model, optimizer, path):
    train, val = xor_loaders()
    return fit(model, F.cross_entropy, optimizer, train, val, epochs=4, resume=path, progress=False)


def _assert_unchanged(model, optimizer, before):
    weights, groups, random_state = before
    for got, want in zip(parameters_of(model), weights, strict=True):
        assert got.tobytes() == want.tobytes()
    assert optimizer.state == {} and len(optimizer.param_groups) == groups
    assert tg.backend.host_random().bit_generator.state == random_state


def _snapshot(model, optimizer):
    return (
        parameters_of(model),
        len(optimizer.param_groups),
        tg.backend.host_random().bit_generator.state,
    )


def test_resume_with_another_group_layout_changes_nothing(tmp_path):
    path = _checkpointed_run(tmp_path)
    model, optimizer = _fresh_run_objects(groups=True)
    before = _snapshot(model, optimizer)
    with pytest.raises(ValueError, match="ck.safetensors.*parameter groups"):
        _resume_into(model, optimizer, path)
    _assert_unchanged(model, optimizer, before)


def _edit_metadata(path, edit):
    tensors = tg.load(path)
    metadata = tg.serialization.load_metadata(path)
    edit(metadata)
    save(tensors, path, metadata=metadata)


def _set(key, value):
    def edit(metadata):
        metadata[key] = value

    return edit


def _edit_layout(change):
    def edit(metadata):
        import json

        layout = json.loads(metadata["optimizer.layout"])
        change(layout)
        metadata["optimizer.layout"] = json.dumps(layout)

    return edit


EDITS = {
    "epoch_text": (_set("epoch", "two"), "'epoch' must be a non-negative integer"),
    "epoch_negative": (_set("epoch", -1), "'epoch' must be a non-negative integer"),
    "epoch_beyond_history": (_set("epoch", 5), "'history' has 2 epochs"),
    "no_history": (lambda m: m.pop("history"), "'history' is missing"),
    "history_values": (
        lambda m: m["history"]["values"].update(loss=["a", "b"]),
        "history 'loss' must be 2 numbers",
    ),
    "random_state": (_set("host_random_state", {"bit_generator": "PCG64"}), "host_random_state"),
    "random_state_type": (_set("host_random_state", 7), "host_random_state"),
    "extra": (_set("extra", [1]), "'extra' must be a dict"),
    "lr_text": (
        _edit_layout(lambda layout: layout["param_groups"][0].update(lr="fast")),
        "'lr' is 'fast'",
    ),
    "lr_missing": (
        _edit_layout(lambda layout: layout["param_groups"][0].pop("lr")),
        "lack \\['lr'\\]",
    ),
    "layout_text": (_set("optimizer.layout", "{not json"), "not readable JSON"),
    "layout_shape": (_set("optimizer.layout", "[1, 2]"), "not shaped like state_dict"),
    "state_index": (
        _edit_layout(lambda layout: layout["state"].update({"x": {}})),
        "non-integer index",
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_checkpoint_is_one_clear_error_and_changes_nothing(tmp_path, edit):
    path = _checkpointed_run(tmp_path)
    change, message = EDITS[edit]
    _edit_metadata(path, change)
    model, optimizer = _fresh_run_objects()
    before = _snapshot(model, optimizer)
    with pytest.raises(ValueError, match=message) as raised:
        _resume_into(model, optimizer, path)
    assert "ck.safetensors" in str(raised.value) and "\n" not in str(raised.value)
    _assert_unchanged(model, optimizer, before)


def test_an_edited_scheduler_or_early_stopping_state_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"

    def run(epochs, **options):
        tg.manual_seed(0)
        model = mlp([2, 8, 2], "tanh")
        optimizer = optim.SGD(model.parameters(), lr=0.5)
        scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        train, val = xor_loaders()
        fit(
            model,
            F.cross_entropy,
            optimizer,
            train,
            val,
            epochs=epochs,
            scheduler=scheduler,
            early_stopping=EarlyStopping(patience=50),
            progress=False,
            **options,
        )
        return scheduler

    run(2, checkpoint=path)
    good = path.read_bytes()
    for key, entry, value in (("scheduler", "last_epoch", "x"), ("early_stopping", "stopped", 3)):
        _edit_metadata(
            path, lambda m, key=key, entry=entry, value=value: m[key].update({entry: value})
        )
        with pytest.raises(ValueError, match=f"ck.safetensors.*'{key}.{entry}'"):
            run(4, resume=path)
        path.write_bytes(good)
    assert run(4, resume=path).last_epoch == 4


def test_an_optimizer_state_array_of_another_shape_is_refused(tmp_path):
    path = _checkpointed_run(tmp_path)
    tensors = tg.load(path)
    metadata = tg.serialization.load_metadata(path)
    name = next(key for key in tensors if key.endswith(".exp_avg"))
    tensors[name] = tg.zeros(1, dtype=tensors[name].dtype)  # would broadcast silently
    save(tensors, path, metadata=metadata)
    model, optimizer = _fresh_run_objects()
    before = _snapshot(model, optimizer)
    with pytest.raises(ValueError, match="ck.safetensors.*'exp_avg' of parameter [0-9] has shape"):
        _resume_into(model, optimizer, path)
    _assert_unchanged(model, optimizer, before)
