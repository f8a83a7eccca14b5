"""Learning-rate schedules without training: the values a scheduler would produce.

A PyTorch scheduler changes the hyperparameters of its optimizer's parameter groups each time it
is stepped. To see a schedule, step it and read the learning rate, no model or data needed::

    from torch.optim.lr_scheduler import OneCycleLR
    from dlbook.train.schedules import lr_trace

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    lrs = lr_trace(OneCycleLR(opt, max_lr=0.1, total_steps=100), steps=100)

``lr_trace`` puts the scheduler and the optimizer back as it found them, so the same scheduler can
then drive a real training run.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Sequence

from torch.optim.lr_scheduler import ReduceLROnPlateau

__all__ = ["lr_trace"]

# Stepping a scheduler before its optimizer has stepped makes PyTorch warn that the first value of
# the schedule would be skipped. lr_trace reads every value before stepping, so nothing is skipped.
_ORDER_WARNING = r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"


def lr_trace(scheduler, steps: int, *, metrics: Sequence[float] | None = None, key: str = "lr",
             group: int = 0) -> list[float]:
    """The values of one hyperparameter over ``steps`` steps of a scheduler.

    Entry ``i`` is the value in effect for optimisation step (or epoch) ``i``: it is read before
    the scheduler's ``i``-th ``step()``, just as a training loop uses the learning rate and then
    steps the scheduler. Afterwards the scheduler's state and the optimizer's hyperparameters are
    restored, so the scheduler is left exactly as it was.

    Parameters
    ----------
    scheduler : torch.optim.lr_scheduler.LRScheduler or ReduceLROnPlateau
        A scheduler bound to its optimizer. It is stepped with no argument, so a schedule defined
        over epochs (``StepLR``) gives one value per epoch, one defined over batches
        (``OneCycleLR``, ``CyclicLR``) one value per batch.
    steps : int
        How many values to return (a positive int).
    metrics : sequence of float, optional
        Required for ``ReduceLROnPlateau`` (and refused otherwise): the monitored value after each
        epoch, e.g. validation losses; at least ``steps`` of them. Entry ``i`` is the learning rate
        of epoch ``i``, and ``metrics[i]`` is what that epoch measured.
    key : str, default "lr"
        The parameter-group hyperparameter to record, e.g. ``"momentum"`` for SGD or ``"betas"``
        for Adam (for ``betas`` the first coefficient, the one schedulers cycle, is recorded).
    group : int, default 0
        Which parameter group of the optimizer to read.

    Returns
    -------
    list of float
        ``steps`` values.

    Raises
    ------
    TypeError
        If ``scheduler`` is not a scheduler bound to an optimizer, or ``metrics`` holds non-numbers.
    ValueError
        If ``steps`` is not a positive int, ``metrics`` is missing, too short or given to a scheduler
        that does not use it, or ``key`` or ``group`` does not exist.
    """
    optimizer = getattr(scheduler, "optimizer", None)
    if optimizer is None or not callable(getattr(scheduler, "step", None)) \
            or not hasattr(optimizer, "param_groups"):
        raise TypeError("scheduler must be a torch.optim.lr_scheduler scheduler built on an optimizer, "
                        f"got {type(scheduler).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau:
        if metrics is None:
            raise ValueError("ReduceLROnPlateau is stepped with the monitored value: pass metrics=, "
                             "e.g. one validation loss per epoch")
        metrics = list(metrics)
        if len(metrics) < steps:
            raise ValueError(f"metrics has {len(metrics)} values but steps={steps} needs at least {steps}")
        if not all(isinstance(m, numbers.Real) and not isinstance(m, bool) for m in metrics[:steps]):
            raise TypeError("metrics must hold numbers (floats), e.g. history['val_loss']")
    elif metrics is not None:
        raise ValueError(f"metrics is only for ReduceLROnPlateau; {type(scheduler).__name__} "
                         "is stepped without a value")
    groups = optimizer.param_groups
    if isinstance(group, bool) or not isinstance(group, numbers.Integral) or not 0 <= group < len(groups):
        raise ValueError(f"group must be an int in [0, {len(groups)}), got {group!r}")
    if key not in groups[group] or key == "params":
        names = [k for k in groups[group] if k != "params"]
        raise ValueError(f"key {key!r} is not a hyperparameter of parameter group {group}; it has {names}")

    saved_scheduler = copy.deepcopy(scheduler.state_dict())
    saved_groups = [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"} for g in groups]
    values: list[float] = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_ORDER_WARNING, category=UserWarning)
            for i in range(steps):
                value = groups[group][key]
                values.append(float(value[0] if isinstance(value, (tuple, list)) else value))
                if i == steps - 1:   # the last value is read; a further step could overrun a schedule
                    break
                if plateau:
                    scheduler.step(metrics[i])
                else:
                    scheduler.step()
    finally:
        scheduler.load_state_dict(saved_scheduler)
        for g, saved in zip(groups, saved_groups):
            g.update(saved)
    return values
