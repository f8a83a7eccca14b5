"""``Trainer``: the training loop of the book, written once and tested.

The chapter *A reusable trainer* builds it step by step; every later chapter uses it::

    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      metrics={"accuracy": accuracy})
    history = trainer.fit(train_loader, val_loader, epochs=5)
    trainer.evaluate(test_loader)        # {'loss': ..., 'accuracy': ...}
    trainer.save_checkpoint("run.pt")    # resumable: model, optimizer, scheduler, history, RNG states
"""

from __future__ import annotations

import copy
import hashlib
import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ReduceLROnPlateau
from torch.utils.data import DataLoader, Dataset

from ..utils import get_device, rng_state, set_rng_state
from .callbacks import Callback, TensorBoardLogger
from .history import History

__all__ = ["Trainer", "LRRangeTestResult"]

_BATCH_SCHEDULERS = (OneCycleLR, CyclicLR, CosineAnnealingWarmRestarts)
# Format 2 adds a SHA-256 checksum and the classes of optimizer, scheduler and callbacks. Format 1
# files are refused: their RNG states could be one epoch stale, so they cannot resume exactly.
_CHECKPOINT_FORMAT = "dlbook-checkpoint-2"

# Losses that compare outputs and targets element by element. Given two different shapes they
# broadcast (an (N, 1) output against an (N,) target becomes an N x N loss) and train on the wrong
# objective with at most a warning, so the Trainer insists on equal shapes.
_ELEMENTWISE_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss,
                       nn.SoftMarginLoss)
_ELEMENTWISE_FUNCTIONS = tuple(getattr(nn.functional, name) for name in (
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "soft_margin_loss"))


def _to_device(obj, device: torch.device):
    return _map_tensors(obj, lambda t: t.to(device, non_blocking=True))


def _map_tensors(obj, fn):
    """Apply ``fn`` to every tensor in a (nested) tuple, list or dict; keep the structure."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, (list, tuple)):
        items = [_map_tensors(o, fn) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, Mapping):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _cat_outputs(outs: list):
    """Concatenate per-batch outputs along dim 0: tensors, or tuples/lists/dicts of them (multi-output models)."""
    first = outs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outs)
    if isinstance(first, (list, tuple)):
        items = [_cat_outputs([o[i] for o in outs]) for i in range(len(first))]
        return type(first)(*items) if hasattr(first, "_fields") else type(first)(items)
    if isinstance(first, Mapping):
        return {k: _cat_outputs([o[k] for o in outs]) for k in first}
    raise TypeError(f"predict() can only gather tensors, or tuples, lists or dicts of tensors; the model returned "
                    f"{type(first).__name__}")


def _batch_size(x) -> int:
    if isinstance(x, torch.Tensor):
        return x.shape[0] if x.ndim else 1
    if isinstance(x, (list, tuple)) and x:
        return _batch_size(x[0])
    if isinstance(x, Mapping) and x:
        return _batch_size(next(iter(x.values())))
    raise TypeError(f"cannot tell the batch size of inputs of type {type(x).__name__}")


def _is_torchmetric(m) -> bool:
    return all(hasattr(m, a) for a in ("update", "compute", "reset"))


def _split_batch(batch):
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError("the Trainer expects every batch to be a pair (inputs, targets), as a DataLoader over a "
                     f"TensorDataset(x, y) yields; got {type(batch).__name__}"
                     + (f" of length {len(batch)}" if isinstance(batch, (list, tuple)) else ""))


def _check_loss_shapes(loss_fn, outputs, targets) -> None:
    """Refuse different output and target shapes under an element-wise loss (see _ELEMENTWISE_LOSSES)."""
    if not (isinstance(loss_fn, _ELEMENTWISE_LOSSES) or loss_fn in _ELEMENTWISE_FUNCTIONS):
        return
    if not (isinstance(outputs, torch.Tensor) and isinstance(targets, torch.Tensor)):
        return
    if outputs.shape == targets.shape:
        return
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    out, tgt = tuple(outputs.shape), tuple(targets.shape)
    if outputs.ndim == targets.ndim + 1 and out[-1] == 1 and out[:-1] == tgt:
        hint = ("give the targets the outputs' shape, e.g. build the dataset with y.unsqueeze(1) "
                "(or y.reshape(-1, 1)), or squeeze the model's last dimension")
    elif targets.ndim == outputs.ndim + 1 and tgt[-1] == 1 and tgt[:-1] == out:
        hint = "give the outputs the targets' shape (outputs.unsqueeze(1)) or squeeze the targets' last dimension"
    else:
        hint = "make the model's outputs and the targets the same shape, e.g. with y.unsqueeze(1) or .reshape"
    raise ValueError(f"{name} compares outputs and targets element by element, but the model's outputs have shape "
                     f"{out} and the targets {tgt}; PyTorch would broadcast them into a loss over the wrong pairs "
                     f"and train on the wrong objective. Fix: {hint}.")


def _metric_value(name: str, value) -> float:
    """A metric's result as a float, or a TypeError/ValueError that names the metric."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise ValueError(f"metric {name!r} returned a {type(value).__name__} of shape {tuple(value.shape)}; a "
                             "metric must return one number for the whole batch (e.g. a mean: .mean().item())")
        return float(value.item())
    if isinstance(value, numbers.Real):          # int, float, bool and NumPy scalars
        return float(value)
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise TypeError(f"metric {name!r} returned {type(value).__name__} {shown}; a metric must return a number "
                    "(a float, or a one-element tensor) for the batch")


def _non_finite(tensor: torch.Tensor) -> int:
    """How many entries of a floating-point or complex tensor are inf or nan (0 for other dtypes)."""
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return 0
    return int((~torch.isfinite(tensor)).sum())


def _state_digest(obj) -> str:
    """SHA-256 over a checkpoint's content: tensor bytes, dtypes and shapes, plain values, structure.

    It does not depend on where the tensors live or on how ``torch.save`` lays out the file, so the
    digest computed at save time can be checked after loading onto any device.
    """
    h = hashlib.sha256()

    def visit(o) -> None:
        if isinstance(o, torch.Tensor):
            t = o.detach().cpu().contiguous().reshape(-1)
            h.update(f"T{t.dtype}{tuple(o.shape)}:".encode())
            h.update(t.view(torch.uint8).numpy().tobytes())
        elif isinstance(o, Mapping):
            h.update(f"D{len(o)}:".encode())
            for k, v in o.items():
                visit(k)
                visit(v)
        elif isinstance(o, (list, tuple)):
            h.update(f"{type(o).__name__[0]}{len(o)}:".encode())
            for v in o:
                visit(v)
        else:
            h.update(f"{type(o).__name__}:{o!r};".encode())

    visit(obj)
    return h.hexdigest()


@dataclass
class LRRangeTestResult:
    """What :meth:`Trainer.lr_range_test` measured."""

    lrs: list[float]
    losses: list[float]          # bias-corrected exponentially smoothed losses
    raw_losses: list[float]
    suggestion: float | None = None
    stopped_early: bool = False
    extra: dict = field(default_factory=dict)

    def plot(self, ax=None):
        from ..plots import plot_lr_range_test

        return plot_lr_range_test(self, ax=ax)


class Trainer:
    """Train, evaluate and checkpoint a PyTorch model.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` on construction.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> scalar tensor``, e.g. ``nn.MSELoss()``. Under an element-wise
        loss (``MSELoss``, ``L1Loss``, ``SmoothL1Loss``, ``HuberLoss``, ``BCELoss``,
        ``BCEWithLogitsLoss``, ``SoftMarginLoss`` or their functional forms) outputs and targets must
        have the same shape: a mismatch such as ``(N, 1)`` against ``(N,)``, which PyTorch would
        broadcast, raises ``ValueError``.
    optimizer : torch.optim.Optimizer
        Built over ``model.parameters()``.
    metrics : dict, optional
        ``{name: metric}``: plain functions ``f(outputs, targets) -> float`` (averaged over the
        epoch, weighted by batch size) or ``torchmetrics`` objects (updated per batch, computed per
        epoch). Logged as ``train_<name>`` and ``val_<name>``. They receive the model's outputs and
        the targets as they are: for a multi-output model (a tuple or dict of tensors, with a loss
        that combines them) each metric picks its part, e.g. ``lambda out, y: accuracy(out[0], y[0])``.
    device : str or torch.device, optional
        Defaults to :func:`dlbook.get_device` (CUDA, then MPS, then CPU). A device this machine
        cannot train on (missing, ``"meta"``, an unavailable backend) raises ``ValueError`` here.
    scheduler : torch.optim.lr_scheduler.LRScheduler or ReduceLROnPlateau, optional
        Stepped once per epoch, or once per batch for ``OneCycleLR``, ``CyclicLR`` and
        ``CosineAnnealingWarmRestarts``. ``ReduceLROnPlateau`` is stepped with ``monitor``.
    scheduler_step : {"epoch", "batch"}, optional
        Override the automatic choice above.
    monitor : str, default "val_loss"
        The logged value a plateau scheduler watches (falls back to ``train_loss`` without
        validation data).
    clip_grad_norm, clip_grad_value : float, optional
        Clip gradients by global norm, or element-wise by value, before every optimizer step.
    callbacks : iterable of Callback, optional
    log_dir : path-like, optional
        Also log every epoch to TensorBoard in this folder.
    verbose : bool, default True
        Print one line per epoch during ``fit``.

    Notes
    -----
    The logged ``train_loss`` (and ``train_<metric>``) is the mean over the epoch's batches,
    weighted by batch size, of the values computed *while training*: in train mode (dropout
    active, BatchNorm normalising with each batch's statistics) and with the weights changing
    from one batch to the next. ``val_loss`` and ``val_<metric>`` are computed after the epoch, in
    eval mode (no dropout, BatchNorm with its running statistics) with the epoch's final weights.
    The two are therefore not directly comparable: with dropout, ``train_loss`` can stay above
    ``val_loss``. For a like-for-like number call ``evaluate(train_loader)``.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable, optimizer: torch.optim.Optimizer, *,
                 metrics: Mapping[str, Callable] | None = None, device: str | torch.device | None = None,
                 scheduler=None, scheduler_step: str | None = None, monitor: str = "val_loss",
                 clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
                 callbacks: Iterable[Callback] | None = None, log_dir: str | os.PathLike | None = None,
                 verbose: bool = True) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable (e.g. nn.MSELoss()), got {type(loss_fn).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        model_params = {id(p) for p in model.parameters()}
        opt_params = [p for g in optimizer.param_groups for p in g["params"]]
        if not opt_params or not any(id(p) in model_params for p in opt_params):
            raise ValueError("optimizer does not hold any of the model's parameters; build it with "
                             "torch.optim.X(model.parameters(), ...)")
        for name, value in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value}")
        try:
            self.device = get_device(device)   # an unusable device fails here, not deep inside fit()
        except ValueError as err:
            raise ValueError(f"Trainer(device={device!r}): {err}") from None
        self.model = model.to(self.device)
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.metrics = self._check_metrics(metrics)
        self._metric_sets = {split: {k: copy.deepcopy(m).to(self.device) if _is_torchmetric(m) else m
                                     for k, m in self.metrics.items()} for split in ("train", "val")}
        self.scheduler = None
        self.scheduler_step = None
        self.monitor = monitor
        self.set_scheduler(scheduler, scheduler_step)
        self.clip_grad_norm = clip_grad_norm
        self.clip_grad_value = clip_grad_value
        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be dlbook.train.Callback instances, got {type(cb).__name__}")
        if log_dir is not None:
            self.callbacks.append(TensorBoardLogger(log_dir))
        self.verbose = verbose
        self.history = History()
        self.stop_training = False
        self._epoch_end_rng: dict | None = None      # RNG states at the end of the last epoch
        self._epoch_end_loader_rng: dict | None = None
        self._resume: dict | None = None              # RNG states to restore when fit() resumes
        self._epoch_in_progress: int | None = None    # set while an epoch runs; left set if it is interrupted

    # ------------------------------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _check_metrics(metrics) -> dict:
        if metrics is None:
            return {}
        if not isinstance(metrics, Mapping):
            raise TypeError("metrics must be a dict {name: metric}, e.g. {'accuracy': dlbook.train.accuracy}")
        for name, m in metrics.items():
            if not isinstance(name, str) or not name or name.startswith(("train_", "val_")) or name == "loss":
                raise ValueError(f"invalid metric name {name!r}: use a plain name such as 'accuracy'")
            if not (callable(m) or _is_torchmetric(m)):
                raise TypeError(f"metric {name!r} must be a function f(outputs, targets) or a torchmetrics Metric")
        return dict(metrics)

    def set_scheduler(self, scheduler, step: str | None = None) -> None:
        """Attach (or, with ``None``, remove) a learning-rate scheduler bound to this optimizer."""
        if scheduler is None:
            self.scheduler, self.scheduler_step = None, None
            return
        if getattr(scheduler, "optimizer", None) is not self.optimizer:
            raise ValueError("the scheduler must be built on this trainer's optimizer")
        if step is None:
            step = "batch" if isinstance(scheduler, _BATCH_SCHEDULERS) else "epoch"
        if step not in ("epoch", "batch"):
            raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {step!r}")
        if step == "batch" and isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError("ReduceLROnPlateau needs an epoch-level metric: use scheduler_step='epoch'")
        self.scheduler, self.scheduler_step = scheduler, step

    @property
    def epoch(self) -> int:
        """Number of epochs trained so far (across ``fit`` calls and resumed checkpoints)."""
        return len(self.history)

    @property
    def lr(self) -> float:
        """The current learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    # ------------------------------------------------------------------------------------------
    # the loop
    # ------------------------------------------------------------------------------------------
    def _forward(self, x):
        if isinstance(x, (list, tuple)):
            return self.model(*x)
        if isinstance(x, Mapping):
            return self.model(**x)
        return self.model(x)

    def _loss(self, outputs, y):
        _check_loss_shapes(self.loss_fn, outputs, y)   # shapes only: no GPU synchronisation
        return self.loss_fn(outputs, y)

    def _update_metrics(self, split: str, outputs, y, n: int, sums: dict) -> None:
        for name, m in self._metric_sets[split].items():
            if _is_torchmetric(m):
                m.update(outputs, y)
            else:
                sums[name] = sums.get(name, 0.0) + _metric_value(name, m(outputs, y)) * n

    def _finish_metrics(self, split: str, sums: dict, count: int) -> dict:
        out = {}
        for name, m in self._metric_sets[split].items():
            if _is_torchmetric(m):
                out[name] = _metric_value(name, m.compute())
                m.reset()
            else:
                out[name] = sums[name] / count
        return out

    def _reset_metrics(self, split: str) -> None:
        for m in self._metric_sets[split].values():   # a previous pass may have stopped half-way
            if _is_torchmetric(m):
                m.reset()

    def _train_epoch(self, loader, epoch: int) -> dict:
        self.model.train()
        self._reset_metrics("train")
        total, count, sums = torch.zeros((), device=self.device), 0, {}
        batch_sched = self.scheduler if self.scheduler_step == "batch" else None
        warm_restarts = isinstance(batch_sched, CosineAnnealingWarmRestarts)
        n_batches = len(loader) if hasattr(loader, "__len__") else None
        for i, batch in enumerate(loader):
            x, y = _to_device(_split_batch(batch), self.device)
            self.history.batch_lr.append(self.lr)
            outputs = self._forward(x)
            loss = self._loss(outputs, y)
            finite = torch.isfinite(loss.detach()).all()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # Stop at the first non-finite loss, before the optimizer step spreads it into the weights.
            # On a GPU, reading `finite` waits for the device (one synchronisation per step). Reading
            # it after backward() has been queued lets forward and backward run before the host waits,
            # so the cost is the launch latency of the optimizer step, not a stall of the pipeline.
            # On the CPU the check is free. (A per-batch callback or metric that reads the loss syncs anyway.)
            if not bool(finite):
                self.optimizer.zero_grad(set_to_none=True)
                self._raise_non_finite("training", loss, epoch, i, n_batches)
            if self.clip_grad_value is not None:
                nn.utils.clip_grad_value_(self.model.parameters(), self.clip_grad_value)
            if self.clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.optimizer.step()
            if batch_sched is not None:
                if warm_restarts and n_batches:
                    batch_sched.step(epoch - 1 + (i + 1) / n_batches)
                else:
                    batch_sched.step()
            n = _batch_size(x)
            total += loss.detach() * n
            count += n
            if self.metrics:
                self._update_metrics("train", _map_tensors(outputs, torch.Tensor.detach), y, n, sums)
            for cb in self.callbacks:
                cb.on_batch_end(self, i, loss.detach())
        if count == 0:
            raise ValueError("the training loader yielded no batches")
        loss_value = float(total) / count
        if not math.isfinite(loss_value):   # every batch was finite, but their sum overflowed
            raise FloatingPointError(f"the training loss of epoch {epoch} summed to {loss_value} although every "
                                     "batch loss was finite: the losses are too large; try a lower learning rate, "
                                     "gradient clipping, or check the data for NaN/inf values")
        logs = {"train_loss": loss_value}
        logs.update({f"train_{k}": v for k, v in self._finish_metrics("train", sums, count).items()})
        return logs

    def _raise_non_finite(self, split: str, loss, epoch: int | None, index: int, n_batches: int | None):
        where = f"in epoch {epoch}, batch {index + 1}" if epoch is not None else f"at batch {index + 1}"
        where += f" of {n_batches}" if n_batches else ""
        value = float(loss.detach().reshape(-1)[~torch.isfinite(loss.detach().reshape(-1))][0])
        if split == "training":
            update = len(self.history.batch_lr)
            self.history.batch_lr.pop()        # this update did not happen
            raise FloatingPointError(
                f"the training loss became {value} {where} (update {update} of this trainer); "
                "training stopped before this update, so the weights are those after the previous one. Try a lower "
                "learning rate, gradient clipping, or check the data for NaN/inf values")
        raise FloatingPointError(
            f"the validation loss became {value} {where}: the model's outputs or the validation data hold "
            "NaN/inf values (check the data, or whether training diverged, e.g. with a lower learning rate)")

    @torch.no_grad()
    def _eval_loader(self, loader, split: str = "val", epoch: int | None = None, check_finite: bool = False) -> dict:
        was_training = self.model.training
        self.model.eval()
        self._reset_metrics(split)
        try:
            total, count, sums = torch.zeros((), device=self.device), 0, {}
            batch_losses = []   # kept on the device: finiteness is checked once, at the end of the pass
            for batch in loader:
                x, y = _to_device(_split_batch(batch), self.device)
                outputs = self._forward(x)
                n = _batch_size(x)
                loss = self._loss(outputs, y).detach()
                total += loss * n
                count += n
                if check_finite:
                    batch_losses.append(loss.reshape(-1))
                if self.metrics:
                    self._update_metrics(split, outputs, y, n, sums)
            if count == 0:
                raise ValueError("the evaluation loader yielded no batches")
            loss_value = float(total) / count
            if check_finite and not math.isfinite(loss_value):
                bad = [i for i, ok in enumerate(torch.isfinite(torch.cat(batch_losses)).tolist()) if not ok]
                index = bad[0] if bad else len(batch_losses) - 1
                self._raise_non_finite("validation", batch_losses[index], epoch, index, len(batch_losses))
            out = {"loss": loss_value}
            out.update(self._finish_metrics(split, sums, count))
            return out
        finally:
            self.model.train(was_training)

    def fit(self, train_loader: Iterable, val_loader: Iterable | None = None, epochs: int = 1, *,
            verbose: bool | None = None) -> History:
        """Train for ``epochs`` more epochs; return the whole :class:`History` (all epochs so far).

        After each epoch: validate (if ``val_loader``), step an epoch-level scheduler, record the
        epoch, call the callbacks. A callback may set ``trainer.stop_training = True``.

        Raises ``FloatingPointError`` at the first non-finite training loss (before that batch's
        update, naming the epoch and batch) or non-finite validation loss. If ``fit`` stops inside
        an epoch (that error, Ctrl-C, any exception), the model holds part of an epoch:
        :meth:`save_checkpoint` refuses until an epoch completes or a checkpoint is loaded.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
            if loader is not None and (isinstance(loader, (torch.Tensor, Dataset)) or not hasattr(loader, "__iter__")):
                raise TypeError(f"{name} must be an iterable of (inputs, targets) batches such as a DataLoader, "
                                f"got {type(loader).__name__}")
        verbose = self.verbose if verbose is None else verbose
        if self._resume is not None:  # continuing from a checkpoint: put the random streams back
            set_rng_state(self._resume["rng"])
            self._set_loader_rng(train_loader, self._resume.get("loader_rng"))
            self._resume = None
        self.stop_training = False
        last_epoch = self.epoch + epochs       # fixes the width of the printed epoch column
        for cb in self.callbacks:
            cb.on_fit_start(self)
        try:
            for _ in range(epochs):
                epoch = self.epoch + 1
                for cb in self.callbacks:
                    cb.on_epoch_start(self, epoch)
                start, lr = time.perf_counter(), self.lr
                self._epoch_in_progress = epoch    # cleared only once the epoch is recorded
                logs = {"epoch": epoch}
                logs.update(self._train_epoch(train_loader, epoch))
                if val_loader is not None:
                    logs.update({f"val_{k}": v for k, v in
                                 self._eval_loader(val_loader, epoch=epoch, check_finite=True).items()})
                logs["lr"] = lr
                if self.scheduler is not None and self.scheduler_step == "epoch":
                    if isinstance(self.scheduler, ReduceLROnPlateau):
                        key = self.monitor if logs.get(self.monitor) is not None else "train_loss"
                        self.scheduler.step(logs[key])
                    else:
                        self.scheduler.step()
                logs["time"] = time.perf_counter() - start
                # The epoch is complete: snapshot the random streams *before* the callbacks run, so
                # that a checkpoint written by a callback resumes where the next epoch starts.
                self._epoch_end_rng = rng_state()
                self._epoch_end_loader_rng = self._get_loader_rng(train_loader)
                self.history.append(logs)
                self._epoch_in_progress = None
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, logs)
                for cb in self.callbacks:      # every callback's state is final (Checkpoint saves here)
                    cb.on_epoch_complete(self, epoch, logs)
                if verbose:
                    print(self._format_logs(logs, last_epoch))
                if self.stop_training:
                    break
        finally:
            for cb in self.callbacks:
                cb.on_fit_end(self)
        return self.history

    def _format_logs(self, logs: dict, last_epoch: int) -> str:
        width = len(str(last_epoch))
        parts = [f"epoch {logs['epoch']:>{width}}"]
        parts += [f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch", "lr", "time") and v is not None]
        parts.append(f"lr {logs['lr']:.3g}")
        return "  ".join(parts)

    # ------------------------------------------------------------------------------------------
    # evaluation and prediction
    # ------------------------------------------------------------------------------------------
    def evaluate(self, loader: Iterable) -> dict:
        """Mean loss and metrics over ``loader`` in evaluation mode, e.g. ``{'loss': 0.3, 'accuracy': 0.9}``."""
        if isinstance(loader, (torch.Tensor, Dataset)) or not hasattr(loader, "__iter__"):
            raise TypeError(f"evaluate() takes an iterable of (inputs, targets) batches such as a DataLoader, "
                            f"got {type(loader).__name__}")
        return self._eval_loader(loader, split="val")   # a non-finite loss is returned, not raised

    @torch.no_grad()
    def predict(self, inputs, batch_size: int = 1024) -> torch.Tensor:
        """Model outputs for ``inputs`` in evaluation mode, on the CPU.

        A model with several outputs (a tuple, list or dict of tensors) gets the same structure
        back, each part concatenated over the batches.

        ``inputs`` may be a tensor or NumPy array (one row per example; fed in chunks of
        ``batch_size``), or a DataLoader yielding ``(inputs, targets)`` pairs or plain inputs.
        """
        if isinstance(inputs, np.ndarray):
            inputs = torch.as_tensor(inputs, dtype=torch.float32 if inputs.dtype.kind == "f" else None)
        if isinstance(inputs, torch.Tensor):
            if inputs.ndim == 0:
                raise ValueError("predict() needs a batch: a tensor with one row per example")
            batches: Iterable = inputs.split(batch_size)
        elif isinstance(inputs, DataLoader) or (hasattr(inputs, "__iter__") and not isinstance(inputs, Dataset)):
            batches = (b[0] if isinstance(b, (list, tuple)) and len(b) == 2 else b for b in inputs)
        else:
            raise TypeError(f"predict() takes a tensor, a NumPy array or a DataLoader, got {type(inputs).__name__}")
        was_training = self.model.training
        self.model.eval()
        try:
            outs = [_map_tensors(self._forward(_to_device(x, self.device)), torch.Tensor.cpu) for x in batches]
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict() got no inputs")
        return _cat_outputs(outs)

    # ------------------------------------------------------------------------------------------
    # checkpoints
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _loader_generators(loader) -> dict:
        gens = {}
        if isinstance(loader, DataLoader):
            if loader.generator is not None:
                gens["loader"] = loader.generator
            sampler_gen = getattr(loader.sampler, "generator", None)
            if sampler_gen is not None and sampler_gen is not loader.generator:
                gens["sampler"] = sampler_gen
        return gens

    def _get_loader_rng(self, loader) -> dict:
        return {k: g.get_state() for k, g in self._loader_generators(loader).items()}

    def _set_loader_rng(self, loader, states: dict | None) -> None:
        if not states:
            return
        gens = self._loader_generators(loader)
        for key, state in states.items():
            if key in gens:
                gens[key].set_state(state)

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Save everything needed to resume: model, optimizer, scheduler, epoch, history, RNG states.

        The random-number states are those at the end of the last finished epoch, so a run resumed
        from this file continues exactly as the uninterrupted run would have. A SHA-256 checksum of
        the content is stored with it and verified by :meth:`load_checkpoint`. The file is written
        to a temporary name and renamed, so a failed save leaves no partial file behind.

        Raises
        ------
        RuntimeError
            If the last :meth:`fit` stopped inside an epoch (Ctrl-C, a non-finite loss, any error):
            the model then holds weights from part-way through that epoch, which would be saved
            under the number of the last *finished* epoch. Nothing is written.
        IsADirectoryError
            If ``path`` is a directory.
        """
        path = Path(path)
        if self._epoch_in_progress is not None:
            raise RuntimeError(
                f"training was interrupted during epoch {self._epoch_in_progress}: the model holds weights from "
                f"part-way through it, while the history ends at epoch {self.epoch}, so no checkpoint can describe "
                "this state and nothing was saved. Resume from the last file the Checkpoint callback wrote, or "
                "call fit() to complete an epoch and save then.")
        if path.is_dir():
            raise IsADirectoryError(f"cannot save a checkpoint to {path}: it is a directory; give a file name "
                                    f"such as {path / 'checkpoint.pt'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": _CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_class": type(self.optimizer).__name__,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scheduler_class": type(self.scheduler).__name__ if self.scheduler is not None else None,
            "history": self.history.to_dict(),
            "rng": self._epoch_end_rng if self._epoch_end_rng is not None else rng_state(),
            "loader_rng": self._epoch_end_loader_rng or {},
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "callback_classes": [type(cb).__name__ for cb in self.callbacks],
        }
        state["sha256"] = _state_digest(state)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            torch.save(state, str(tmp))
            os.replace(tmp, path)
        except BaseException:   # also Ctrl-C: never leave the temporary file behind
            tmp.unlink(missing_ok=True)
            raise
        return path

    def load_checkpoint(self, path: str | os.PathLike, *, resume_rng: bool = True) -> "Trainer":
        """Restore a checkpoint written by :meth:`save_checkpoint` into this trainer.

        Build the trainer exactly as before (same model class, optimizer, scheduler, callbacks),
        then load. The next :meth:`fit` continues the run; with ``resume_rng`` it also restores
        the random-number streams, so shuffling and dropout match an uninterrupted run.

        The file is read onto the CPU and the weights and optimizer state are then copied to the
        model's device, so a checkpoint saved on a GPU loads on a CPU and the other way round.
        Everything is checked before anything is changed: a file that is corrupted (checksum),
        holds non-finite weights or optimizer state, or does not fit this trainer (architecture,
        optimizer, scheduler or callbacks differ) raises ``ValueError`` saying what is wrong, and
        leaves the trainer as it was.
        """
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a directory, not a checkpoint file")
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        try:
            # Onto the CPU, whatever this trainer's device: RNG states must stay CPU byte tensors
            # (set_rng_state, Generator.set_state); load_state_dict moves the rest to the model.
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated or foreign file: say which
            raise ValueError(f"{path} is not a readable dlbook checkpoint ({type(err).__name__}: {err})") from err
        fmt = state.get("format") if isinstance(state, dict) else None
        if fmt != _CHECKPOINT_FORMAT:
            if isinstance(fmt, str) and fmt.startswith("dlbook-checkpoint-"):
                raise ValueError(f"{path} is a dlbook checkpoint in the older format {fmt!r}, which cannot be resumed "
                                 f"exactly (expected {_CHECKPOINT_FORMAT!r}); its weights are under "
                                 "torch.load(path, weights_only=True)['model']")
            raise ValueError(f"{path} is not a dlbook checkpoint (expected format {_CHECKPOINT_FORMAT!r})")
        digest = state.pop("sha256", None)
        if digest != _state_digest(state):
            raise ValueError(f"{path} is corrupted: its SHA-256 checksum does not match its content (bytes changed "
                             "on disk or in transfer); nothing was loaded. Use another checkpoint.")
        history = self._check_checkpoint(path, state)
        self._apply_callback_states(path, state["callbacks"])
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.history = history
        self._epoch_end_rng = state["rng"]
        self._epoch_end_loader_rng = state.get("loader_rng") or {}
        self._resume = {"rng": state["rng"], "loader_rng": self._epoch_end_loader_rng} if resume_rng else None
        self._epoch_in_progress = None
        self.model.train()
        return self

    def _check_checkpoint(self, path: Path, state: dict) -> History:
        """Raise ValueError unless ``state`` is finite and fits this trainer; return its History."""
        required = ("epoch", "model", "optimizer", "optimizer_class", "scheduler", "scheduler_class", "history",
                    "rng", "loader_rng", "callbacks", "callback_classes")
        missing = [k for k in required if k not in state]
        if missing:
            raise ValueError(f"{path} is not a complete dlbook checkpoint: it lacks {missing}")
        bad = [f"model tensor {name!r} has {k} non-finite value(s) out of {t.numel()}"
               for name, t in state["model"].items() if isinstance(t, torch.Tensor) and (k := _non_finite(t))]
        for index, param_state in state["optimizer"].get("state", {}).items():
            bad += [f"optimizer state {key!r} of parameter {index} has {k} non-finite value(s) out of {t.numel()}"
                    for key, t in param_state.items() if isinstance(t, torch.Tensor) and (k := _non_finite(t))]
        if bad:
            raise ValueError(f"{path} holds inf or nan values, so training cannot continue from it: "
                             + "; ".join(bad[:6]) + ("; ..." if len(bad) > 6 else "")
                             + ". Nothing was loaded; resume from an earlier checkpoint.")

        problems = []
        own = self.model.state_dict()
        saved = state["model"]
        missing_keys = [k for k in own if k not in saved]
        unexpected = [k for k in saved if k not in own]
        if missing_keys:
            problems.append(f"the model has tensors the checkpoint lacks: {missing_keys[:6]}")
        if unexpected:
            problems.append(f"the checkpoint has model tensors this model lacks: {unexpected[:6]}")
        shapes = [f"{k!r} is {tuple(saved[k].shape)} in the checkpoint but {tuple(own[k].shape)} in this model"
                  for k in own if k in saved and isinstance(saved[k], torch.Tensor)
                  and tuple(saved[k].shape) != tuple(own[k].shape)]
        if shapes:
            problems.append("model tensor shapes differ: " + "; ".join(shapes[:6]))
        opt_cls = type(self.optimizer).__name__
        if state["optimizer_class"] != opt_cls:
            problems.append(f"the checkpoint's optimizer is {state['optimizer_class']} but this trainer's is {opt_cls}")
        else:
            saved_groups = [len(g["params"]) for g in state["optimizer"]["param_groups"]]
            own_groups = [len(g["params"]) for g in self.optimizer.param_groups]
            if saved_groups != own_groups:
                problems.append(f"the optimizer's parameter groups hold {saved_groups} parameters in the checkpoint "
                                f"but {own_groups} in this trainer")
        sched_cls = type(self.scheduler).__name__ if self.scheduler is not None else None
        if (state["scheduler"] is None) != (self.scheduler is None):
            problems.append("the checkpoint was saved " + ("without a scheduler" if state["scheduler"] is None else
                            f"with a scheduler ({state['scheduler_class']})") + " but this trainer "
                            + (f"has one ({sched_cls})" if self.scheduler is not None else "has none"))
        elif state["scheduler_class"] != sched_cls:
            problems.append(f"the checkpoint's scheduler is {state['scheduler_class']} "
                            f"but this trainer's is {sched_cls}")
        own_cbs = [type(cb).__name__ for cb in self.callbacks]
        if list(state["callback_classes"]) != own_cbs or len(state["callbacks"]) != len(self.callbacks):
            problems.append(f"the checkpoint holds the states of {len(state['callbacks'])} callback(s) "
                            f"{list(state['callback_classes'])} but this trainer has {len(own_cbs)}: {own_cbs}")
        try:
            history = History.from_dict(state["history"])
        except (TypeError, ValueError) as err:
            problems.append(f"its history is malformed ({err})")
            history = None
        if problems:
            raise ValueError(f"{path} does not fit this trainer, so nothing was loaded:\n- " + "\n- ".join(problems)
                             + "\nBuild the trainer as the one that saved it (same model, optimizer, scheduler and "
                               "callbacks), then load.")
        return history

    def _apply_callback_states(self, path: Path, states: list) -> None:
        """Load every callback's state, or none: a callback that rejects its state undoes the others."""
        previous = [cb.state_dict() for cb in self.callbacks]
        for i, (cb, cb_state) in enumerate(zip(self.callbacks, states)):
            try:
                cb.load_state_dict(cb_state)
            except Exception as err:
                for done, old in zip(self.callbacks[:i], previous[:i]):
                    done.load_state_dict(old)
                raise ValueError(f"{path}: callback {type(cb).__name__} could not load its saved state "
                                 f"({type(err).__name__}: {err}); nothing was loaded") from err

    # ------------------------------------------------------------------------------------------
    # learning-rate range test
    # ------------------------------------------------------------------------------------------
    def lr_range_test(self, loader: Iterable, *, start_lr: float = 1e-7, end_lr: float = 10.0,
                      num_iter: int = 100, mode: str = "exp", smooth: float = 0.05,
                      diverge: float = 5.0) -> LRRangeTestResult:
        """Sweep the learning rate from ``start_lr`` to ``end_lr`` over ``num_iter`` mini-batches.

        The loss is smoothed with a bias-corrected exponential moving average (weight ``smooth``
        on the newest value); the sweep stops early once it exceeds ``diverge`` times the best
        smoothed loss. Model, optimizer and random states are restored afterwards, so the test
        leaves the trainer exactly as it found it. ``suggestion`` is the learning rate where the
        smoothed loss fell fastest (a common starting point; read the plot, too).
        """
        if not 0 < start_lr < end_lr:
            raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
        if mode not in ("exp", "linear"):
            raise ValueError(f"mode must be 'exp' or 'linear', got {mode!r}")
        if num_iter < 2:
            raise ValueError(f"num_iter must be >= 2, got {num_iter}")
        if not 0 < smooth <= 1:
            raise ValueError(f"smooth must be in (0, 1], got {smooth}")
        saved = (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()), rng_state(),
                 self.model.training)
        lrs, raw, smoothed = [], [], []
        avg, best, stopped = 0.0, math.inf, False
        try:
            self.model.train()
            batches = iter(loader)
            for i in range(num_iter):
                frac = i / (num_iter - 1)
                lr = start_lr * (end_lr / start_lr) ** frac if mode == "exp" else start_lr + (end_lr - start_lr) * frac
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                try:
                    batch = next(batches)
                except StopIteration:  # cycle the loader if it is shorter than num_iter
                    batches = iter(loader)
                    batch = next(batches)
                x, y = _to_device(_split_batch(batch), self.device)
                loss = self._loss(self._forward(x), y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
                self.optimizer.step()
                value = float(loss.detach())
                avg = (1 - smooth) * avg + smooth * value
                corrected = avg / (1 - (1 - smooth) ** (i + 1))
                lrs.append(lr)
                raw.append(value)
                smoothed.append(corrected)
                best = min(best, corrected)
                if not math.isfinite(corrected) or corrected > diverge * best:
                    stopped = True
                    break
        finally:
            self.model.load_state_dict(saved[0])
            self.optimizer.load_state_dict(saved[1])
            set_rng_state(saved[2])
            self.model.train(saved[3])
        suggestion = None
        # Skip the first tenth of the sweep (the moving average is still warming up) and the
        # diverging tail; the suggestion is where the smoothed loss falls fastest in between.
        skip = max(2, len(smoothed) // 10)
        end = len(smoothed) - 1 if stopped else len(smoothed)
        if end - skip >= 3:
            x = np.log10(lrs[:end]) if mode == "exp" else np.asarray(lrs[:end])
            slopes = np.gradient(np.asarray(smoothed[:end]), x)[skip:]
            finite = np.where(np.isfinite(slopes))[0]
            if finite.size:
                suggestion = float(lrs[skip + finite[np.argmin(slopes[finite])]])
        return LRRangeTestResult(lrs, smoothed, raw, suggestion, stopped)

    # ------------------------------------------------------------------------------------------
    def plot_history(self, **kwargs):
        """Plot losses (and metrics) per epoch; see :func:`dlbook.plots.plot_history`."""
        from ..plots import plot_history

        return plot_history(self.history, **kwargs)

    def __repr__(self) -> str:
        return (f"Trainer(model={type(self.model).__name__}, optimizer={type(self.optimizer).__name__}, "
                f"device={self.device}, epochs_trained={self.epoch})")
