"""Trainer under faults: exact resume from every checkpoint it writes, checkpoints that refuse to
lie (interrupted epochs, corrupted bytes, non-finite weights, mismatched trainers), devices, and
training that would otherwise go wrong without a word (non-finite losses, broadcasting losses,
malformed metrics, unusable devices)."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlbook
from dlbook.train import Checkpoint, EarlyStopping, LambdaCallback, Trainer
from dlbook.train import trainer as trainer_module

from test_trainer import DEVICES, blobs, columns, make_run

CUDA = torch.cuda.is_available()


def weights(trainer):
    return {k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def snapshot(trainer):
    """Everything a failed load must leave untouched."""
    opt = trainer.optimizer.state_dict()
    return {
        "weights": weights(trainer),
        "opt_groups": [{k: v for k, v in g.items()} for g in opt["param_groups"]],
        "opt_state": {i: {k: v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
                      for i, s in opt["state"].items()},
        "opt_type": type(trainer.optimizer),
        "history": columns(trainer.history),
        "batch_lr": list(trainer.history.batch_lr),
        "sched": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "lr": trainer.lr,
    }


def assert_unchanged(before, after):
    assert same_weights(before["weights"], after["weights"])
    assert before["opt_type"] is after["opt_type"]
    assert before["opt_groups"] == after["opt_groups"]
    assert before["opt_state"].keys() == after["opt_state"].keys()
    for i in before["opt_state"]:
        for k, v in before["opt_state"][i].items():
            w = after["opt_state"][i][k]
            assert torch.equal(v, w) if isinstance(v, torch.Tensor) else v == w
    assert before["history"] == after["history"] and before["batch_lr"] == after["batch_lr"]
    assert before["sched"] == after["sched"] and before["lr"] == after["lr"]


# ------------------------------------------------------------------------------------------------
# exact resume from the files the Checkpoint callback writes
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dropout, generator", [(0.2, True), (0.0, True), (0.2, False)],
                         ids=["dropout-loader-generator", "no-dropout", "dropout-global-rng"])
def test_resume_from_the_checkpoint_callbacks_file_equals_uninterrupted(tmp_path, device, dropout, generator):
    saver = Checkpoint(tmp_path / "epoch{epoch}.pt")
    full, train, val = make_run(dropout=dropout, generator=generator, callbacks=[saver], device=device)
    full.fit(train, val, epochs=5)
    assert [p.name for p in saver.saved] == [f"epoch{k}.pt" for k in range(1, 6)]

    resumed, train2, val2 = make_run(seed=7, dropout=dropout, generator=generator, device=device,
                                     callbacks=[Checkpoint(tmp_path / "again{epoch}.pt")])
    resumed.load_checkpoint(tmp_path / "epoch2.pt")
    assert resumed.epoch == 2
    resumed.fit(train2, val2, epochs=3)
    assert columns(resumed.history) == columns(full.history)
    assert resumed.history.batch_lr == full.history.batch_lr
    assert same_weights(weights(resumed), weights(full))


def test_a_checkpoint_written_by_a_callback_holds_every_callbacks_state_for_its_epoch(tmp_path):
    """Checkpoint listed before EarlyStopping must still save the stopper's state *after* its epoch."""
    def run(callbacks):
        trainer, train, val = make_run(scheduler=False, callbacks=callbacks)
        x, y = val.dataset.tensors
        return trainer, train, DataLoader(TensorDataset(x, 1 - y), batch_size=64)   # val loss rises

    full, train, flipped = run([Checkpoint(tmp_path / "e{epoch}.pt"), EarlyStopping(patience=2)])
    full.fit(train, flipped, epochs=20)
    assert full.epoch == 3 and full.stop_training

    stopper = EarlyStopping(patience=2)
    resumed, train2, flipped2 = run([Checkpoint(tmp_path / "r{epoch}.pt"), stopper])
    resumed.load_checkpoint(tmp_path / "e2.pt")
    assert stopper.wait == 1 and stopper.best_epoch == 1
    resumed.fit(train2, flipped2, epochs=20)
    assert resumed.epoch == 3 and columns(resumed.history) == columns(full.history)


@pytest.mark.parametrize("fault", ["ctrl-c", "nan"])
def test_an_interrupted_epoch_is_never_saved_under_the_last_finished_epochs_number(tmp_path, fault):
    def interrupt(trainer, step, loss):
        if trainer.epoch == 2 and step == 4:
            raise KeyboardInterrupt

    trainer, train, val = make_run()
    if fault == "ctrl-c":
        trainer.callbacks.append(LambdaCallback(on_batch_end=interrupt))
        trainer.fit(train, val, epochs=2)
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(train, val, epochs=3)
    else:
        trainer.fit(train, val, epochs=2)
        good_loss = trainer.loss_fn
        # 13 batches per epoch: the 31st update is batch 5 of epoch 3
        trainer.loss_fn = lambda out, y: good_loss(out, y) * (float("nan") if len(trainer.history.batch_lr) > 30
                                                              else 1.0)
        with pytest.raises(FloatingPointError):
            trainer.fit(train, val, epochs=3)
    assert trainer.epoch == 2
    with pytest.raises(RuntimeError, match="interrupted during epoch 3"):
        trainer.save_checkpoint(tmp_path / "after.pt")
    assert not (tmp_path / "after.pt").exists()


# ------------------------------------------------------------------------------------------------
# devices
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_checkpoint_from_any_device_loads_into_a_cpu_trainer(tmp_path, device):
    src, train, val = make_run(device=device)
    src.fit(train, val, epochs=2)
    path = src.save_checkpoint(tmp_path / "src.pt")
    dst, train2, val2 = make_run(seed=3, device="cpu")
    dst.load_checkpoint(path)
    assert same_weights(weights(dst), weights(src)) and dst.epoch == 2
    assert all(v.device.type == "cpu" for v in dst.model.state_dict().values())
    rng = dst._epoch_end_rng
    assert rng["torch"].device.type == "cpu" and rng["numpy"]["keys"].device.type == "cpu"
    dst.fit(train2, val2, epochs=1)      # restoring the RNG states and training must work
    assert np.isfinite(dst.history.last["train_loss"])


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_checkpoint_saved_on_the_cpu_resumes_on_cuda(tmp_path):
    src, train, val = make_run(device="cpu")
    src.fit(train, val, epochs=2)
    path = src.save_checkpoint(tmp_path / "cpu.pt")
    dst, train2, val2 = make_run(seed=3, device="cuda")
    dst.load_checkpoint(path)
    assert same_weights(weights(dst), weights(src))
    assert all(v.device.type == "cuda" for v in dst.model.state_dict().values())
    dst.fit(train2, val2, epochs=2)
    assert np.isfinite(dst.history.last["train_loss"]) and dst.epoch == 4


def test_rng_states_are_read_onto_the_cpu_whatever_the_trainers_device(tmp_path):
    """The CUDA failure (RNG states mapped to the trainer's device), reproduced on any machine.

    ``meta`` stands in for ``cuda``: a load that maps the file to ``trainer.device`` hands
    ``meta`` tensors to ``load_state_dict`` and ``set_rng_state`` and fails, exactly as CUDA
    tensors failed there. The file must be read onto the CPU and moved by ``load_state_dict``.
    """
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=2)
    path = trainer.save_checkpoint(tmp_path / "c.pt")
    full, train_f, val_f = make_run()
    full.fit(train_f, val_f, epochs=3)

    other, train2, val2 = make_run(seed=3)
    other.device = torch.device("meta")
    try:
        other.load_checkpoint(path)
    finally:
        other.device = torch.device("cpu")
    assert other._epoch_end_rng["torch"].device.type == "cpu"
    other.fit(train2, val2, epochs=1)
    assert columns(other.history) == columns(full.history) and same_weights(weights(other), weights(full))


@pytest.mark.parametrize("device", ["meta", "xpu", "hpu", "cuda:7"])
def test_unusable_devices_fail_when_the_trainer_is_built(device):
    kind = torch.device(device).type
    if kind == "xpu" and torch.xpu.is_available() or kind == "cuda" and torch.cuda.device_count() > 7:
        pytest.skip(f"{device} exists here")
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=kind):
        Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), device=device)
    with pytest.raises(ValueError, match=kind):
        dlbook.get_device(device)


# ------------------------------------------------------------------------------------------------
# load_checkpoint: check everything, then apply
# ------------------------------------------------------------------------------------------------
def _other_hidden(trainer):
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                   scheduler=None, device="cpu", verbose=False)


def _adam(trainer):
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    return Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=torch.optim.lr_scheduler.StepLR(opt, 2),
                   device="cpu", verbose=False)


MISMATCHES = {
    "no-scheduler": (lambda t: make_run(seed=5, scheduler=False)[0], "scheduler"),
    "other-scheduler": (lambda t: make_run(seed=5, scheduler=False)[0], "ExponentialLR"),
    "extra-callback": (lambda t: make_run(seed=5, callbacks=[EarlyStopping(patience=3)])[0], "callback"),
    "sgd-into-adam": (_adam, "SGD"),
    "other-architecture": (_other_hidden, "0.weight"),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_a_failed_load_leaves_the_trainer_unchanged(tmp_path, case):
    src, train, val = make_run()
    src.fit(train, val, epochs=2)
    path = src.save_checkpoint(tmp_path / "src.pt")
    build, expected = MISMATCHES[case]
    dst = build(src)
    if case == "other-scheduler":
        dst.set_scheduler(torch.optim.lr_scheduler.ExponentialLR(dst.optimizer, gamma=0.9))
    dst.fit(*make_run(seed=5)[1:], epochs=1)     # some state of its own that must survive
    before = snapshot(dst)
    with pytest.raises(ValueError, match=expected) as info:
        dst.load_checkpoint(path)
    assert "src.pt" in str(info.value)
    assert_unchanged(before, snapshot(dst))
    dst.fit(*make_run(seed=5)[1:], epochs=1)     # and the trainer still trains
    assert dst.epoch == 2


# ------------------------------------------------------------------------------------------------
# integrity: checksum, non-finite tensors, where the file goes
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("new_bytes", [np.float32(np.inf).tobytes(), np.float32(0.25).tobytes()],
                         ids=["inf", "finite"])
def test_overwritten_bytes_are_caught_by_the_checksum(tmp_path, new_bytes):
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=1)
    path = trainer.save_checkpoint(tmp_path / "c.pt")
    weight = trainer.model[0].weight.detach().cpu().numpy().tobytes()
    data = bytearray(path.read_bytes())
    at = data.find(weight)
    assert at >= 0 and data.find(weight, at + 1) < 0
    data[at + 20:at + 24] = new_bytes
    path.write_bytes(bytes(data))
    fresh = make_run(seed=4)[0]
    before = snapshot(fresh)
    with pytest.raises(ValueError, match="c.pt.*checksum"):
        fresh.load_checkpoint(path)
    assert_unchanged(before, snapshot(fresh))


def test_a_checkpoint_without_a_matching_checksum_or_in_the_old_format_is_refused(tmp_path):
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=1)
    path = trainer.save_checkpoint(tmp_path / "c.pt")
    state = torch.load(path, weights_only=True)
    state["epoch"] = 5                                   # edited by hand, checksum left as it was
    torch.save(state, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match="edited.pt.*checksum"):
        make_run()[0].load_checkpoint(tmp_path / "edited.pt")
    del state["sha256"]
    state["format"] = "dlbook-checkpoint-1"             # what the previous version wrote
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="old.pt.*older format 'dlbook-checkpoint-1'"):
        make_run()[0].load_checkpoint(tmp_path / "old.pt")


def test_non_finite_weights_in_a_checkpoint_are_named(tmp_path):
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=1)
    with torch.no_grad():
        trainer.model[3].bias[1] = float("nan")
    path = trainer.save_checkpoint(tmp_path / "nan.pt")
    with pytest.raises(ValueError, match=r"nan\.pt.*model.*'3\.bias'.*non-finite"):
        make_run(seed=4)[0].load_checkpoint(path)


def test_non_finite_optimizer_state_in_a_checkpoint_is_named(tmp_path):
    trainer, train, val = make_run()
    trainer.fit(train, val, epochs=1)
    buf = trainer.optimizer.state[trainer.model[0].weight]["momentum_buffer"]
    buf[0, 0] = float("inf")
    path = trainer.save_checkpoint(tmp_path / "inf.pt")
    with pytest.raises(ValueError, match=r"inf\.pt.*optimizer.*momentum_buffer.*non-finite"):
        make_run(seed=4)[0].load_checkpoint(path)


def test_saving_onto_a_directory_says_so_and_leaves_no_temporary_file(tmp_path):
    trainer, train, val = make_run()
    trainer.fit(train, epochs=1)
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(IsADirectoryError, match="ckpt.*is a directory"):
        trainer.save_checkpoint(tmp_path / "ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert list((tmp_path / "ckpt").iterdir()) == []


def test_a_failed_write_leaves_neither_a_temporary_nor_a_partial_file(tmp_path, monkeypatch):
    trainer, train, val = make_run()
    trainer.fit(train, epochs=1)
    good = trainer.save_checkpoint(tmp_path / "run.pt")
    content = good.read_bytes()

    def full_disk(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpo")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trainer_module.torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        trainer.save_checkpoint(tmp_path / "run.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]
    assert (tmp_path / "run.pt").read_bytes() == content     # the previous good file survives


# ------------------------------------------------------------------------------------------------
# training that would go wrong without a word
# ------------------------------------------------------------------------------------------------
def test_a_nan_in_the_data_stops_training_at_that_batch_with_finite_weights():
    x, y = blobs(320)
    x[70, 0] = float("nan")                         # row 70: batch 3 of 10 (batches of 32, in order)
    trainer, _, _ = make_run(scheduler=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    trainer.fit(DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32), epochs=1)
    with pytest.raises(FloatingPointError, match=r"training loss .*nan.* epoch 2, batch 3\b") as info:
        trainer.fit(loader, epochs=1)
    assert "lower learning rate" in str(info.value)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert trainer.epoch == 1


def test_an_infinite_validation_loss_stops_training():
    seen = []
    trainer, train, val = make_run(scheduler=False, callbacks=[
        LambdaCallback(on_epoch_end=lambda t, e, logs: seen.append(logs["val_loss"]))])
    x, y = val.dataset.tensors
    x = x.clone()
    x[100, 1] = float("inf")                        # batch 2 of the validation loader (batches of 64)
    bad_val = DataLoader(TensorDataset(x, y), batch_size=64)
    with pytest.raises(FloatingPointError, match=r"validation loss .* epoch 1, batch 2\b"):
        trainer.fit(train, bad_val, epochs=2)
    assert seen == [] and trainer.epoch == 0


ELEMENTWISE = {
    "MSELoss": (nn.MSELoss(), torch.float32),
    "L1Loss": (nn.L1Loss(), torch.float32),
    "SmoothL1Loss": (nn.SmoothL1Loss(), torch.float32),
    "HuberLoss": (nn.HuberLoss(), torch.float32),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss(), torch.float32),
    "BCELoss": (nn.BCELoss(), torch.float32),
    "mse_loss": (nn.functional.mse_loss, torch.float32),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_a_shape_mismatch_under_an_element_wise_loss_is_an_error(name):
    loss_fn, dtype = ELEMENTWISE[name]
    dlbook.seed_everything(0)
    x = torch.rand(64, 1)
    y = (3 * x).squeeze(1).clamp(0, 1).to(dtype)   # shape (64,): the classic mistake
    layers = [nn.Linear(1, 1)] + ([nn.Sigmoid()] if name == "BCELoss" else [])
    model = nn.Sequential(*layers)
    trainer = Trainer(model, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), device="cpu", verbose=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in (lambda: trainer.fit(loader, epochs=1), lambda: trainer.evaluate(loader)):
            with pytest.raises(ValueError, match=r"\(32, 1\).*\(32,\).*unsqueeze"):
                call()
    # equal shapes train as before
    good = DataLoader(TensorDataset(x, y.unsqueeze(1)), batch_size=32)
    trainer.fit(good, epochs=1)


@pytest.mark.parametrize("returned, error", [
    ("high", TypeError), (None, TypeError), ("per-sample", ValueError), ([0.5], TypeError)])
def test_a_metric_returning_something_other_than_a_number_is_named(returned, error):
    def bad_metric(outputs, targets):
        if returned == "per-sample":
            return (outputs.argmax(1) == targets).float()
        return returned

    trainer, train, val = make_run(scheduler=False)
    trainer = Trainer(trainer.model, trainer.loss_fn, trainer.optimizer, metrics={"hit_rate": bad_metric},
                      device="cpu", verbose=False)
    with pytest.raises(error, match="hit_rate"):
        trainer.fit(train, epochs=1)
    with pytest.raises(error, match="hit_rate"):
        trainer.evaluate(val)


def test_metrics_returning_numbers_of_any_kind_are_accepted():
    trainer, train, val = make_run(scheduler=False)
    metrics = {"py": lambda o, t: 0.5, "np": lambda o, t: np.float32(0.5), "tensor": lambda o, t: torch.tensor(0.5),
               "one": lambda o, t: torch.tensor([0.5]), "int": lambda o, t: 1}
    trainer = Trainer(trainer.model, trainer.loss_fn, trainer.optimizer, metrics=metrics, device="cpu",
                      verbose=False)
    out = trainer.evaluate(val)
    assert out["py"] == out["np"] == out["tensor"] == out["one"] == 0.5 and out["int"] == 1.0
