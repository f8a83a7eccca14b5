"""Callbacks: small objects the Trainer calls at fixed points of ``fit``.

Subclass :class:`Callback` and override the hooks you need. A callback with state worth
resuming (early stopping's patience counter, say) implements ``state_dict`` /
``load_state_dict``; the Trainer stores it in checkpoints.

At the end of an epoch the Trainer records the epoch (history, random-number states), then calls
every callback's ``on_epoch_end``, then every callback's ``on_epoch_complete``. By then the state
of every callback is final for that epoch, which is why :class:`Checkpoint` saves there. Callbacks
should not draw from the global random generators: an uninterrupted run would see those draws and
a run resumed from a checkpoint would not.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "Checkpoint", "TensorBoardLogger", "LambdaCallback"]


class Callback:
    """Base class: every hook does nothing."""

    def on_fit_start(self, trainer: "Trainer") -> None: ...

    def on_epoch_start(self, trainer: "Trainer", epoch: int) -> None: ...

    def on_batch_end(self, trainer: "Trainer", step: int, loss: torch.Tensor) -> None: ...

    def on_epoch_end(self, trainer: "Trainer", epoch: int, logs: dict) -> None: ...

    def on_epoch_complete(self, trainer: "Trainer", epoch: int, logs: dict) -> None:
        """After every callback's ``on_epoch_end``: the epoch and all callback states are final."""

    def on_fit_end(self, trainer: "Trainer") -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class LambdaCallback(Callback):
    """Wrap plain functions as a callback, e.g. ``LambdaCallback(on_epoch_end=lambda t, e, logs: ...)``."""

    def __init__(self, **hooks) -> None:
        allowed = {"on_fit_start", "on_epoch_start", "on_batch_end", "on_epoch_end", "on_epoch_complete",
                   "on_fit_end"}
        unknown = set(hooks) - allowed
        if unknown:
            raise ValueError(f"unknown hook(s) {sorted(unknown)}; choose from {sorted(allowed)}")
        for name, fn in hooks.items():
            if not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
            setattr(self, name, fn)


def _check_mode(mode: str) -> str:
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model's weights from the best epoch are put back at the end.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = True) -> None:
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode, self.restore_best = _check_mode(mode), restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self._best_weights: dict | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs or logs[self.monitor] is None:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r} but the epoch logs only have "
                           f"{sorted(k for k, v in logs.items() if v is not None)}")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._best_weights = copy.deepcopy(trainer.model.state_dict())
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True

    def on_fit_end(self, trainer):
        if self.restore_best and self._best_weights is not None and trainer.stop_training:
            trainer.model.load_state_dict(self._best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_weights": self._best_weights}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self._best_weights = state["best_weights"]


class Checkpoint(Callback):
    """Save a resumable checkpoint at the end of epochs.

    The file is written once every callback has finished the epoch (``on_epoch_complete``), so it
    holds the state of callbacks listed after this one too, and resuming from it reproduces the
    uninterrupted run exactly.

    Parameters
    ----------
    path : path-like
        Where to write. ``{epoch}`` in the name is replaced by the epoch number.
    every : int, default 1
        Save every ``every`` epochs (ignored when ``monitor`` is given).
    monitor : str, optional
        Save only when this logged value improves (e.g. ``"val_loss"``), keeping the best model.
    """

    def __init__(self, path: str | os.PathLike, every: int = 1, monitor: str | None = None,
                 mode: str = "min") -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.path, self.every, self.monitor, self.mode = str(path), every, monitor, _check_mode(mode)
        self.best = math.inf if mode == "min" else -math.inf
        self.saved: list[Path] = []
        self._due: Path | None = None   # the file to write once the epoch is complete

    def on_epoch_end(self, trainer, epoch, logs):
        # Decide (and update ``best``) now; write in on_epoch_complete, once every callback is done.
        self._due = None
        if self.monitor is not None:
            value = logs.get(self.monitor)
            if value is None:
                raise KeyError(f"Checkpoint monitors {self.monitor!r}, which this run does not log")
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        elif epoch % self.every:
            return
        self._due = Path(self.path.format(epoch=epoch))

    def on_epoch_complete(self, trainer, epoch, logs):
        path, self._due = self._due, None
        if path is None:
            return
        trainer.save_checkpoint(path)
        self.saved.append(path)

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class TensorBoardLogger(Callback):
    """Write every epoch's logged values as TensorBoard scalars under ``log_dir``.

    Tags are ``loss/train``, ``loss/val``, ``<metric>/train``, ``<metric>/val`` and ``lr``, so
    TensorBoard draws training and validation curves of the same quantity together.
    Read them back with :func:`dlbook.train.read_tensorboard_scalars`.
    """

    def __init__(self, log_dir: str | os.PathLike) -> None:
        self.log_dir = str(log_dir)
        self.writer = None

    def on_fit_start(self, trainer):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, trainer, epoch, logs):
        for key, value in logs.items():
            if key in ("epoch", "time") or value is None:
                continue
            if key.startswith(("train_", "val_")):
                split, name = key.split("_", 1)
                tag = f"{name}/{split}"
            else:
                tag = key
            self.writer.add_scalar(tag, value, epoch)

    def on_fit_end(self, trainer):
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None
