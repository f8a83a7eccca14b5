"""Reading TensorBoard logs back, so that a static page can plot what TensorBoard would show."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["read_tensorboard_scalars"]


def read_tensorboard_scalars(log_dir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series written under ``log_dir``: ``{tag: [(step, value), ...]}``, sorted by step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        raise FileNotFoundError(f"no TensorBoard log folder at {log_dir}")
    series: dict[str, list[tuple[int, float]]] = {}
    event_dirs = sorted({p.parent for p in log_dir.rglob("events.out.tfevents.*")})
    if not event_dirs:
        raise FileNotFoundError(f"{log_dir} holds no TensorBoard event files")
    for d in event_dirs:
        acc = EventAccumulator(str(d), size_guidance={"scalars": 0})
        acc.Reload()
        prefix = "" if d == log_dir else f"{d.relative_to(log_dir).as_posix()}/"
        for tag in acc.Tags()["scalars"]:
            series.setdefault(prefix + tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return {tag: sorted(values) for tag, values in series.items()}
