"""Trainer: it learns, it resumes exactly, it schedules, clips, logs, and it rejects bad input clearly."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlbook
from dlbook.train import (Checkpoint, EarlyStopping, History, LambdaCallback, Trainer, accuracy,
                          read_tensorboard_scalars)


# Every test that saves or resumes runs on the CPU, and on a CUDA GPU when this machine has one.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="needs a CUDA GPU"))]


def blobs(n=512, seed=0):
    """Two Gaussian blobs in 2-D: an easy, fast classification problem."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + 2.5 * (y[:, None].float() * 2 - 1)
    return x, y


def make_run(seed=0, dropout=0.2, scheduler=True, generator=True, callbacks=(), device="cpu"):
    """Model, optimizer, scheduler and loaders built the same way every time."""
    dlbook.seed_everything(seed)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if scheduler else None
    gen = torch.Generator().manual_seed(seed) if generator else None
    train = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=32, shuffle=True, generator=gen)
    val = DataLoader(TensorDataset(x[400:], y[400:]), batch_size=64)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, metrics={"accuracy": accuracy}, scheduler=sched,
                      device=device, verbose=False, callbacks=list(callbacks))
    return trainer, train, val


def columns(history, drop=("time",)):
    return [{k: v for k, v in r.items() if k not in drop} for r in history]


def test_fit_lowers_the_loss_and_learns():
    trainer, train, val = make_run()
    before = trainer.evaluate(val)
    history = trainer.fit(train, val, epochs=4)
    assert len(history) == 4 and trainer.epoch == 4
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_loss"][-1] < before["loss"]
    assert history["val_accuracy"][-1] > 0.95 > before["accuracy"]
    assert set(history.keys()) >= {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time"}


def test_regression_recovers_the_line():
    dlbook.seed_everything(1)
    x, y = dlbook.data.make_linear_regression(200, seed=1)
    loader = DataLoader(TensorDataset(torch.as_tensor(x).float(), torch.as_tensor(y).float()), batch_size=16,
                        shuffle=True, generator=torch.Generator().manual_seed(1))
    model = nn.Linear(1, 1)
    trainer = Trainer(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    trainer.fit(loader, epochs=60)
    assert abs(model.weight.item() - 2) < 0.1 and abs(model.bias.item() - 1) < 0.05


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("generator", [True, False], ids=["loader-generator", "global-rng"])
def test_resume_from_checkpoint_equals_uninterrupted(tmp_path, generator, device):
    full, train, val = make_run(generator=generator, device=device)
    full.fit(train, val, epochs=6)

    first, train, val = make_run(generator=generator, device=device)
    first.fit(train, val, epochs=3)
    first.evaluate(val)        # extra work after the epoch must not change what the checkpoint holds
    first.predict(torch.zeros(3, 2))
    path = first.save_checkpoint(tmp_path / "run.pt")

    # a different init: everything must come from the file
    resumed, train2, val2 = make_run(seed=99, generator=generator, device=device)
    if generator:
        train2.generator.manual_seed(12345)
    resumed.load_checkpoint(path)
    assert resumed.epoch == 3
    resumed.fit(train2, val2, epochs=3)

    assert columns(resumed.history) == columns(full.history)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)
    assert resumed.history.batch_lr == full.history.batch_lr


@pytest.mark.parametrize("device", DEVICES)
def test_checkpoint_restores_callback_state(tmp_path, device):
    stopper = EarlyStopping(monitor="val_loss", patience=50)
    trainer, train, val = make_run(callbacks=[stopper], device=device)
    trainer.fit(train, val, epochs=2)
    path = trainer.save_checkpoint(tmp_path / "c.pt")
    fresh_stopper = EarlyStopping(monitor="val_loss", patience=50)
    other, _, _ = make_run(callbacks=[fresh_stopper], device=device)
    other.load_checkpoint(path)
    assert fresh_stopper.best == stopper.best and fresh_stopper.best_epoch == stopper.best_epoch


@pytest.mark.parametrize("device", DEVICES)
def test_load_checkpoint_errors(tmp_path, device):
    trainer, train, val = make_run(device=device)
    with pytest.raises(FileNotFoundError):
        trainer.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable dlbook checkpoint"):
        trainer.load_checkpoint(tmp_path / "junk.pt")
    torch.save({"model": {}}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a dlbook checkpoint"):
        trainer.load_checkpoint(tmp_path / "foreign.pt")
    trainer.fit(train, epochs=1)
    trainer.save_checkpoint(tmp_path / "with_sched.pt")
    no_sched, _, _ = make_run(scheduler=False, device=device)
    with pytest.raises(ValueError, match="with a scheduler"):
        no_sched.load_checkpoint(tmp_path / "with_sched.pt")


def test_epoch_scheduler_is_recorded_in_history():
    trainer, train, val = make_run()
    history = trainer.fit(train, val, epochs=5)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_plateau_scheduler_uses_the_monitored_value():
    dlbook.seed_everything(0)
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.1)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, verbose=False, device="cpu")
    x, y = blobs(64)
    # learning rate 0 in all but name: freeze the weights so the validation loss cannot improve
    for p in model.parameters():
        p.requires_grad_(False)
    model.weight.requires_grad_(True)
    loader = DataLoader(TensorDataset(x, torch.zeros_like(y)), batch_size=64)
    trainer.loss_fn = lambda out, target: (out * 0).sum() + model.weight.sum() * 0 + 1.0
    history = trainer.fit(loader, loader, epochs=3)
    assert history["lr"] == pytest.approx([1.0, 1.0, 0.1])


def test_batch_scheduler_steps_every_batch():
    dlbook.seed_everything(0)
    x, y = blobs(320)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=30)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, verbose=False)
    assert trainer.scheduler_step == "batch"
    history = trainer.fit(loader, epochs=3)
    lrs = history.batch_lr
    assert len(lrs) == 30
    peak = int(np.argmax(lrs))
    assert 5 <= peak <= 12 and lrs[peak] == pytest.approx(1.0, rel=0.02) and lrs[-1] < 0.01


def test_gradient_clipping_bounds_each_update():
    dlbook.seed_everything(0)
    x, y = blobs(64)
    loader = DataLoader(TensorDataset(x * 100, y), batch_size=64)
    model = nn.Linear(2, 2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=1.0),
                      clip_grad_norm=0.01, verbose=False)
    before = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
    trainer.fit(loader, epochs=1)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert float((after - before).norm()) <= 0.01 + 1e-6


def test_gradient_clipping_by_value():
    dlbook.seed_everything(0)
    x, y = blobs(64)
    model = nn.Linear(2, 2)
    seen = []
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0),
                      clip_grad_value=1e-3, verbose=False,
                      callbacks=[LambdaCallback(on_batch_end=lambda t, i, loss: seen.append(
                          max(float(p.grad.abs().max()) for p in model.parameters())))])
    trainer.fit(DataLoader(TensorDataset(x * 100, y), batch_size=64), epochs=1)
    assert seen and max(seen) <= 1e-3 + 1e-9


def test_early_stopping_stops_and_restores_best():
    trainer, train, val = make_run(scheduler=False)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    trainer.callbacks.append(stopper)
    # validate against flipped labels: the better the model learns, the worse this "validation" loss gets
    x, y = val.dataset.tensors
    flipped = DataLoader(TensorDataset(x, 1 - y), batch_size=64)
    history = trainer.fit(train, flipped, epochs=40)
    assert len(history) == 3 and trainer.stop_training
    assert stopper.best_epoch == 1 and stopper.best == history["val_loss"][0]
    assert trainer.evaluate(flipped)["loss"] == pytest.approx(stopper.best, rel=1e-5)


def test_checkpoint_callback_writes_files(tmp_path):
    trainer, train, val = make_run()
    saver = Checkpoint(tmp_path / "epoch{epoch}.pt", every=2)
    trainer.callbacks.append(saver)
    trainer.fit(train, val, epochs=4)
    assert [p.name for p in saver.saved] == ["epoch2.pt", "epoch4.pt"]
    assert all(p.is_file() for p in saver.saved)


def test_torchmetrics_metric_matches_plain_accuracy():
    torchmetrics = pytest.importorskip("torchmetrics")
    trainer, train, val = make_run(dropout=0.0)
    trainer.fit(train, val, epochs=1)
    plain = trainer.evaluate(val)["accuracy"]
    tm = Trainer(trainer.model, nn.CrossEntropyLoss(), trainer.optimizer, verbose=False,
                 metrics={"accuracy": torchmetrics.classification.MulticlassAccuracy(num_classes=2, average="micro")})
    assert tm.evaluate(val)["accuracy"] == pytest.approx(plain, abs=1e-6)


def test_predict_accepts_tensors_arrays_and_loaders_and_restores_mode():
    trainer, train, val = make_run()
    x = torch.randn(10, 2)
    trainer.model.train()
    out = trainer.predict(x, batch_size=3)
    assert out.shape == (10, 2) and trainer.model.training
    assert torch.allclose(trainer.predict(x.numpy()), out)
    assert trainer.predict(val).shape == (112, 2)
    with pytest.raises(TypeError, match="tensor, a NumPy array or a DataLoader"):
        trainer.predict(3.0)
    with pytest.raises(ValueError, match="one row per example"):
        trainer.predict(torch.tensor(1.0))


def test_verbose_prints_one_line_per_epoch(capsys):
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=2, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2") and "val_loss" in lines[1]


def test_tensorboard_logging_round_trips(tmp_path):
    pytest.importorskip("tensorboard")
    trainer, train, val = make_run()
    trainer.callbacks.clear()
    trainer = Trainer(trainer.model, trainer.loss_fn, trainer.optimizer, metrics={"accuracy": accuracy},
                      log_dir=tmp_path / "runs", verbose=False)
    history = trainer.fit(train, val, epochs=3)
    scalars = read_tensorboard_scalars(tmp_path / "runs")
    assert [s for s, _ in scalars["loss/train"]] == [1, 2, 3]
    assert [v for _, v in scalars["loss/val"]] == pytest.approx(history["val_loss"], rel=1e-6)
    assert "accuracy/val" in scalars and "lr" in scalars
    with pytest.raises(FileNotFoundError):
        read_tensorboard_scalars(tmp_path / "nowhere")


def test_lr_range_test_leaves_the_trainer_untouched():
    trainer, train, val = make_run()
    state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    lr_before = trainer.lr
    result = trainer.lr_range_test(train, start_lr=1e-4, end_lr=100, num_iter=60)
    assert all(torch.equal(state[k], v) for k, v in trainer.model.state_dict().items())
    assert trainer.lr == lr_before
    assert len(result.lrs) == len(result.losses) <= 60
    assert all(b > a for a, b in zip(result.lrs, result.lrs[1:]))
    assert result.stopped_early  # lr = 100 diverges
    assert result.suggestion is not None and 1e-4 < result.suggestion < 100


def test_nan_loss_raises_a_clear_error():
    trainer, train, val = make_run(scheduler=False)
    trainer.loss_fn = lambda out, y: out.sum() * float("nan")
    with pytest.raises(FloatingPointError, match="lower learning rate"):
        trainer.fit(train, epochs=1)


def test_bad_arguments_raise_clear_errors():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        Trainer(lambda x: x, nn.MSELoss(), opt)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        Trainer(model, "mse", opt)
    with pytest.raises(TypeError, match="optimizer must be"):
        Trainer(model, nn.MSELoss(), "sgd")
    with pytest.raises(ValueError, match="does not hold any of the model's parameters"):
        Trainer(model, nn.MSELoss(), torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1))
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive"):
        Trainer(model, nn.MSELoss(), opt, clip_grad_norm=0)
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="built on this trainer's optimizer"):
        Trainer(model, nn.MSELoss(), opt, scheduler=torch.optim.lr_scheduler.StepLR(other, 1))
    with pytest.raises(ValueError, match="invalid metric name"):
        Trainer(model, nn.MSELoss(), opt, metrics={"val_acc": accuracy})
    with pytest.raises(TypeError, match="must be a function"):
        Trainer(model, nn.MSELoss(), opt, metrics={"acc": 3})
    with pytest.raises(TypeError, match="Callback instances"):
        Trainer(model, nn.MSELoss(), opt, callbacks=[print])
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, verbose=False)
    x, y = blobs(32)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        trainer.fit(DataLoader(TensorDataset(x, y)), epochs=0)
    with pytest.raises(TypeError, match="train_loader must be an iterable"):
        trainer.fit(x, epochs=1)
    with pytest.raises(TypeError, match="evaluate\\(\\) takes an iterable"):
        trainer.evaluate(TensorDataset(x, y))
    with pytest.raises(ValueError, match="pair \\(inputs, targets\\)"):
        trainer.fit([(x, y, y)], epochs=1)
    with pytest.raises(ValueError, match="yielded no batches"):
        trainer.fit([], epochs=1)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        trainer.lr_range_test([(x, y)], start_lr=1, end_lr=0.1)
    with pytest.raises(KeyError, match="monitors 'val_loss'"):
        Trainer(model, nn.CrossEntropyLoss(), opt, verbose=False,
                callbacks=[EarlyStopping()]).fit([(x, y)], epochs=1)


def test_history_api():
    h = History([{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9}, {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7}])
    assert h["val_loss"] == [0.9, 0.7] and h.last["epoch"] == 2 and h.best()["epoch"] == 2
    assert h.best("train_loss", mode="max")["epoch"] == 1
    assert History.from_dict(h.to_dict()).records == h.records
    assert h.to_dataframe().loc[2, "train_loss"] == 0.5
    with pytest.raises(KeyError, match="no column 'acc'"):
        h["acc"]
    with pytest.raises(IndexError):
        History().last
    with pytest.raises(ValueError, match="mode"):
        h.best(mode="lowest")


def test_a_two_headed_model_trains_with_metrics_and_predicts_both_heads():
    """Multi-output models: metrics get the (detached) tuple, predict() returns a tuple of tensors."""
    from dlbook.train import accuracy

    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Linear(4, 8)
            self.a, self.b = torch.nn.Linear(8, 3), torch.nn.Linear(8, 2)

        def forward(self, x):
            h = torch.relu(self.body(x))
            return self.a(h), self.b(h)

    torch.manual_seed(0)
    x = torch.randn(64, 4)
    ya, yb = (x[:, 0] > 0).long() + (x[:, 1] > 0).long(), (x[:, 2] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, ya, yb), batch_size=16)
    pairs = [(xb, (a, b)) for xb, a, b in loader]

    def loss_fn(out, y):
        return torch.nn.functional.cross_entropy(out[0], y[0]) + torch.nn.functional.cross_entropy(out[1], y[1])

    seen = []

    def acc_a(out, y):
        seen.append(out[0].requires_grad)
        return accuracy(out[0], y[0])

    model = TwoHeads()
    trainer = Trainer(model, loss_fn, torch.optim.Adam(model.parameters(), lr=0.05), device="cpu",
                      metrics={"acc_a": acc_a, "acc_b": lambda out, y: accuracy(out[1], y[1])}, verbose=False)
    trainer.fit(pairs, pairs, epochs=15)
    assert trainer.history["train_loss"][-1] < trainer.history["train_loss"][0]
    assert trainer.history["val_acc_b"][-1] > 0.8
    assert not any(seen)  # metrics never see tensors that still carry the autograd graph
    out = trainer.predict(x, batch_size=10)
    assert isinstance(out, tuple) and out[0].shape == (64, 3) and out[1].shape == (64, 2)
    by_dict = Trainer(_DictOut(model), loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu",
                      verbose=False)
    got = by_dict.predict(x, batch_size=10)
    assert set(got) == {"a", "b"} and torch.allclose(got["a"], out[0])


class _DictOut(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        a, b = self.inner(x)
        return {"a": a, "b": b}


def test_verbose_epoch_column_keeps_its_width(capsys):
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=8, verbose=True)
    trainer.fit(train, val, epochs=3, verbose=True)          # continues to epoch 11
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line[:8] for line in lines[:8]] == [f"epoch {k} " for k in range(1, 9)]
    assert [line[:8] for line in lines[8:]] == ["epoch  9", "epoch 10", "epoch 11"]
