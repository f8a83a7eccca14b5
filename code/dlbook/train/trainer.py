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
import math
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
_CHECKPOINT_FORMAT = "dlbook-checkpoint-1"


def _to_device(obj, device: torch.device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(o, device) for o in obj)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


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
        ``loss_fn(outputs, targets) -> scalar tensor``, e.g. ``nn.MSELoss()``.
    optimizer : torch.optim.Optimizer
        Built over ``model.parameters()``.
    metrics : dict, optional
        ``{name: metric}``: plain functions ``f(outputs, targets) -> float`` (averaged over the
        epoch, weighted by batch size) or ``torchmetrics`` objects (updated per batch, computed per
        epoch). Logged as ``train_<name>`` and ``val_<name>``.
    device : str or torch.device, optional
        Defaults to :func:`dlbook.get_device` (CUDA, then MPS, then CPU).
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
        self.device = get_device(device)
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

    def _update_metrics(self, split: str, outputs, y, n: int, sums: dict) -> None:
        for name, m in self._metric_sets[split].items():
            if _is_torchmetric(m):
                m.update(outputs, y)
            else:
                sums[name] = sums.get(name, 0.0) + float(m(outputs, y)) * n

    def _finish_metrics(self, split: str, sums: dict, count: int) -> dict:
        out = {}
        for name, m in self._metric_sets[split].items():
            if _is_torchmetric(m):
                out[name] = float(m.compute())
                m.reset()
            else:
                out[name] = sums[name] / count
        return out

    def _train_epoch(self, loader, epoch: int) -> dict:
        self.model.train()
        total, count, sums = torch.zeros((), device=self.device), 0, {}
        batch_sched = self.scheduler if self.scheduler_step == "batch" else None
        warm_restarts = isinstance(batch_sched, CosineAnnealingWarmRestarts)
        n_batches = len(loader) if hasattr(loader, "__len__") else None
        for i, batch in enumerate(loader):
            x, y = _to_device(_split_batch(batch), self.device)
            self.history.batch_lr.append(self.lr)
            outputs = self._forward(x)
            loss = self.loss_fn(outputs, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
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
                self._update_metrics("train", outputs.detach(), y, n, sums)
            for cb in self.callbacks:
                cb.on_batch_end(self, i, loss.detach())
        if count == 0:
            raise ValueError("the training loader yielded no batches")
        loss_value = float(total) / count
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"the training loss became {loss_value} in epoch {epoch}; try a lower learning "
                                     "rate, gradient clipping, or check the data for NaN/inf values")
        logs = {"train_loss": loss_value}
        logs.update({f"train_{k}": v for k, v in self._finish_metrics("train", sums, count).items()})
        return logs

    @torch.no_grad()
    def _eval_loader(self, loader, split: str = "val") -> dict:
        was_training = self.model.training
        self.model.eval()
        try:
            total, count, sums = torch.zeros((), device=self.device), 0, {}
            for batch in loader:
                x, y = _to_device(_split_batch(batch), self.device)
                outputs = self._forward(x)
                n = _batch_size(x)
                total += self.loss_fn(outputs, y).detach() * n
                count += n
                if self.metrics:
                    self._update_metrics(split, outputs, y, n, sums)
            if count == 0:
                raise ValueError("the evaluation loader yielded no batches")
            out = {"loss": float(total) / count}
            out.update(self._finish_metrics(split, sums, count))
            return out
        finally:
            self.model.train(was_training)

    def fit(self, train_loader: Iterable, val_loader: Iterable | None = None, epochs: int = 1, *,
            verbose: bool | None = None) -> History:
        """Train for ``epochs`` more epochs; return the whole :class:`History` (all epochs so far).

        After each epoch: validate (if ``val_loader``), step an epoch-level scheduler, record the
        epoch, call the callbacks. A callback may set ``trainer.stop_training = True``.
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
        for cb in self.callbacks:
            cb.on_fit_start(self)
        try:
            for _ in range(epochs):
                epoch = self.epoch + 1
                for cb in self.callbacks:
                    cb.on_epoch_start(self, epoch)
                start, lr = time.perf_counter(), self.lr
                logs = {"epoch": epoch}
                logs.update(self._train_epoch(train_loader, epoch))
                if val_loader is not None:
                    logs.update({f"val_{k}": v for k, v in self._eval_loader(val_loader).items()})
                logs["lr"] = lr
                if self.scheduler is not None and self.scheduler_step == "epoch":
                    if isinstance(self.scheduler, ReduceLROnPlateau):
                        key = self.monitor if logs.get(self.monitor) is not None else "train_loss"
                        self.scheduler.step(logs[key])
                    else:
                        self.scheduler.step()
                logs["time"] = time.perf_counter() - start
                self.history.append(logs)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, logs)
                self._epoch_end_rng = rng_state()
                self._epoch_end_loader_rng = self._get_loader_rng(train_loader)
                if verbose:
                    print(self._format_logs(logs, epochs))
                if self.stop_training:
                    break
        finally:
            for cb in self.callbacks:
                cb.on_fit_end(self)
        return self.history

    def _format_logs(self, logs: dict, epochs: int) -> str:
        width = len(str(self.epoch - 1 + epochs))
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
        return self._eval_loader(loader, split="val")

    @torch.no_grad()
    def predict(self, inputs, batch_size: int = 1024) -> torch.Tensor:
        """Model outputs for ``inputs`` in evaluation mode, on the CPU.

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
            outs = [self._forward(_to_device(x, self.device)).cpu() for x in batches]
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict() got no inputs")
        return torch.cat(outs)

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
        from this file continues exactly as the uninterrupted run would have.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": _CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": self.history.to_dict(),
            "rng": self._epoch_end_rng if self._epoch_end_rng is not None else rng_state(),
            "loader_rng": self._epoch_end_loader_rng or {},
            "callbacks": [cb.state_dict() for cb in self.callbacks],
        }
        tmp = path.with_name(path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)
        return path

    def load_checkpoint(self, path: str | os.PathLike, *, resume_rng: bool = True) -> "Trainer":
        """Restore a checkpoint written by :meth:`save_checkpoint` into this trainer.

        Build the trainer exactly as before (same model class, optimizer, scheduler, callbacks),
        then load. The next :meth:`fit` continues the run; with ``resume_rng`` it also restores
        the random-number streams, so shuffling and dropout match an uninterrupted run.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as err:  # a truncated or foreign file: say which
            raise ValueError(f"{path} is not a readable dlbook checkpoint ({type(err).__name__}: {err})") from err
        if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a dlbook checkpoint (expected format {_CHECKPOINT_FORMAT!r})")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("the checkpoint was saved " + ("without" if state["scheduler"] is None else "with")
                             + " a scheduler but this trainer " + ("has one" if self.scheduler else "has none"))
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.history = History.from_dict(state["history"])
        saved_cbs = state.get("callbacks", [])
        if len(saved_cbs) != len(self.callbacks):
            raise ValueError(f"the checkpoint holds {len(saved_cbs)} callback states but this trainer has "
                             f"{len(self.callbacks)} callbacks; build it with the same callbacks")
        for cb, cb_state in zip(self.callbacks, saved_cbs):
            cb.load_state_dict(cb_state)
        self._epoch_end_rng = state["rng"]
        self._epoch_end_loader_rng = state.get("loader_rng") or {}
        self._resume = {"rng": state["rng"], "loader_rng": self._epoch_end_loader_rng} if resume_rng else None
        self.model.train()
        return self

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
                loss = self.loss_fn(self._forward(x), y)
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
