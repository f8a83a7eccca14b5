"""dlbook.train.schedules.lr_trace: the values a scheduler produces, with nothing left changed."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ReduceLROnPlateau, StepLR

from dlbook.train import Trainer
from dlbook.train.schedules import lr_trace


def sgd(lr=0.1, momentum=0.9):
    return torch.optim.SGD([nn.Parameter(torch.zeros(3))], lr=lr, momentum=momentum)


def test_step_lr_values_are_those_a_training_loop_uses():
    opt = sgd(lr=0.01)
    assert lr_trace(StepLR(opt, step_size=2, gamma=0.1), 6) == pytest.approx(
        [0.01, 0.01, 0.001, 0.001, 1e-4, 1e-4])


def test_trace_matches_what_the_trainer_applies_per_batch():
    """Per-batch scheduler: the trace equals the learning rates Trainer records for every update."""
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=0.1, total_steps=12)
    expected = lr_trace(sched, 12)
    x, y = torch.randn(24, 2), torch.randn(24, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=6)
    trainer = Trainer(model, nn.MSELoss(), opt, scheduler=sched, device="cpu", verbose=False)
    trainer.fit(loader, epochs=3)
    assert trainer.history.batch_lr == pytest.approx(expected)


def test_plateau_trace_follows_the_metrics():
    opt = sgd(lr=0.1)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    losses = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87]
    lrs = lr_trace(sched, len(losses), metrics=losses)
    # epochs 3 and 4 fail to improve on 0.9 -> cut after epoch 4; 6 and 7 fail on 0.8 -> cut after 7
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    assert lr_trace(sched, 3, metrics=[1.0, 2.0, 3.0]) == pytest.approx([0.1, 0.1, 0.1])


def test_scheduler_and_optimizer_are_restored():
    opt = sgd(lr=0.05, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=0.5, total_steps=20)
    before_sched = sched.state_dict()
    before_groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    first = lr_trace(sched, 20)
    assert sched.state_dict() == before_sched
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == before_groups
    assert lr_trace(sched, 20) == first   # the same scheduler again: the same values
    # and it still drives a real run from its first value
    assert opt.param_groups[0]["lr"] == pytest.approx(first[0])


def test_one_cycle_shape_and_momentum_trace():
    opt = sgd(lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.3)
    lrs = lr_trace(sched, 100)
    peak = max(range(100), key=lrs.__getitem__)
    assert 25 <= peak <= 32 and lrs[peak] == pytest.approx(1.0, rel=1e-3)
    assert lrs[0] == pytest.approx(1.0 / 25) and lrs[-1] < lrs[0] / 1000
    moms = lr_trace(sched, 100, key="momentum")
    assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85, abs=1e-3)


def test_adam_betas_records_the_first_coefficient():
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = CyclicLR(opt, base_lr=1e-4, max_lr=1e-2, step_size_up=5)
    betas = lr_trace(sched, 11, key="betas")
    assert betas[0] == pytest.approx(0.9) and betas[5] == pytest.approx(0.8)


def test_cyclic_triangular2_halves_the_amplitude():
    opt = sgd(lr=0.01)
    lrs = lr_trace(CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=4, mode="triangular2"), 17)
    assert lrs[4] == pytest.approx(1.0) and lrs[12] == pytest.approx(0.5) and lrs[16] == pytest.approx(0.0)


def test_warm_restarts_and_a_second_group():
    model = nn.Sequential(nn.Linear(1, 1), nn.Linear(1, 1))
    opt = torch.optim.SGD([{"params": model[0].parameters()},
                           {"params": model[1].parameters(), "lr": 1.0}], lr=0.1)
    sched = CosineAnnealingWarmRestarts(opt, T_0=4)
    lrs = lr_trace(sched, 9, group=1)
    assert lrs[0] == pytest.approx(1.0) and lrs[4] == pytest.approx(1.0) and lrs[8] == pytest.approx(1.0)
    assert lrs[2] == pytest.approx(0.5)
    assert math.isclose(lr_trace(sched, 1)[0], 0.1)


def test_no_order_warning_is_emitted():
    opt = sgd()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lr_trace(StepLR(opt, step_size=1), 3)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, "steps"),
    ({"steps": 2.5}, ValueError, "steps"),
    ({"steps": True}, ValueError, "steps"),
    ({"steps": 3, "metrics": [1.0, 2.0, 3.0]}, ValueError, "only for ReduceLROnPlateau"),
    ({"steps": 3, "key": "betas"}, ValueError, "key 'betas'"),
    ({"steps": 3, "key": "params"}, ValueError, "key 'params'"),
    ({"steps": 3, "group": 1}, ValueError, "group"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    sched = StepLR(sgd(), step_size=1)
    with pytest.raises(error, match=match):
        lr_trace(sched, **kwargs)


def test_plateau_needs_enough_numeric_metrics():
    sched = ReduceLROnPlateau(sgd())
    with pytest.raises(ValueError, match="metrics="):
        lr_trace(sched, 3)
    with pytest.raises(ValueError, match="at least 3"):
        lr_trace(sched, 3, metrics=[1.0, 2.0])
    with pytest.raises(TypeError, match="numbers"):
        lr_trace(sched, 2, metrics=["a", "b"])


def test_not_a_scheduler():
    with pytest.raises(TypeError, match="scheduler"):
        lr_trace(sgd(), 3)
    with pytest.raises(TypeError, match="scheduler"):
        lr_trace(None, 3)


def test_plateau_trace_matches_the_trainer_epoch_by_epoch():
    """Given the validation losses a run logged, the trace is the run's per-epoch learning rate."""
    torch.manual_seed(1)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(32, 3), torch.randn(32, 1)   # pure noise: the validation loss soon stalls
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(16, 3), torch.randn(16, 1)))
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    trainer = Trainer(model, nn.MSELoss(), opt, scheduler=sched, device="cpu", verbose=False)
    history = trainer.fit(loader, val, epochs=10)
    fresh = ReduceLROnPlateau(sgd(lr=0.5, momentum=0.0), factor=0.5, patience=1)
    traced = lr_trace(fresh, 10, metrics=history["val_loss"])
    assert traced == pytest.approx(history["lr"])
    assert min(traced) < 0.5   # the schedule did cut at least once
