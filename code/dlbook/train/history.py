"""What a training run leaves behind: one record per epoch."""

from __future__ import annotations

import math
from typing import Iterator

__all__ = ["History"]


class History:
    """Per-epoch records of a training run.

    Each record is a dict such as ``{"epoch": 3, "train_loss": 0.21, "val_loss": 0.25,
    "train_accuracy": 0.93, "val_accuracy": 0.92, "lr": 0.1, "time": 1.4}``.
    Index by a key to get that column across epochs:

    >>> history["val_loss"]          # doctest: +SKIP
    [0.41, 0.30, 0.25]

    ``batch_lr`` holds the learning rate used at every optimisation step (useful with per-batch
    schedulers such as one-cycle).
    """

    def __init__(self, records: list[dict] | None = None, batch_lr: list[float] | None = None) -> None:
        self.records: list[dict] = [dict(r) for r in (records or [])]
        self.batch_lr: list[float] = list(batch_lr or [])

    # -- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records)

    def __getitem__(self, key: str) -> list:
        if not isinstance(key, str):
            raise TypeError(f"index a History with a column name such as 'val_loss', got {key!r}")
        if key not in self.keys():
            raise KeyError(f"no column {key!r} in this history; columns: {', '.join(self.keys()) or '(empty)'}")
        return [r.get(key) for r in self.records]

    def __contains__(self, key: str) -> bool:
        return key in self.keys()

    def keys(self) -> list[str]:
        """Column names, in first-seen order."""
        seen: dict[str, None] = {}
        for r in self.records:
            seen.update(dict.fromkeys(r))
        return list(seen)

    @property
    def last(self) -> dict:
        """The latest epoch's record."""
        if not self.records:
            raise IndexError("the history is empty: no epoch has finished yet")
        return self.records[-1]

    def best(self, key: str = "val_loss", mode: str = "min") -> dict:
        """The record with the lowest (``mode="min"``) or highest (``"max"``) value of ``key``."""
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        rows = [r for r in self.records if r.get(key) is not None and not math.isnan(r[key])]
        if not rows:
            raise ValueError(f"no epoch has a value for {key!r}")
        pick = min if mode == "min" else max
        return pick(rows, key=lambda r: r[key])

    # -- writing -------------------------------------------------------------------------------
    def append(self, record: dict) -> None:
        self.records.append(dict(record))

    # -- conversion ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain Python data (safe for ``torch.save`` with ``weights_only`` loading, and for JSON)."""
        return {"records": [dict(r) for r in self.records], "batch_lr": list(self.batch_lr)}

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        """Rebuild a History from :meth:`to_dict`'s output; malformed data raise TypeError/ValueError."""
        if not isinstance(data, dict):
            raise TypeError("History.from_dict expects a dict with 'records' and 'batch_lr', "
                            f"got {type(data).__name__}")
        records, batch_lr = data.get("records", []), data.get("batch_lr", [])
        if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict) for r in records):
            raise ValueError("History.from_dict: 'records' must be a list of dicts, one per epoch")
        if not isinstance(batch_lr, (list, tuple)) or not all(isinstance(v, (int, float)) for v in batch_lr):
            raise ValueError("History.from_dict: 'batch_lr' must be a list of numbers")
        return cls(records, batch_lr)

    def to_dataframe(self):
        """The records as a pandas DataFrame indexed by epoch (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.records).set_index("epoch")

    def plot(self, **kwargs):
        """Shortcut for :func:`dlbook.plots.plot_history`."""
        from ..plots import plot_history

        return plot_history(self, **kwargs)

    def __repr__(self) -> str:
        if not self.records:
            return "History(empty)"
        last = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in self.last.items() if k != "time")
        return f"History({len(self)} epochs; last: {last})"
