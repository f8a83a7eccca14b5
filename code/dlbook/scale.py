"""The heavy chapters' one scale switch: the ``cpu`` or the ``gpu`` profile.

A heavy (★) chapter must execute on a laptop CPU inside its time budget, and the book also shows it
trained at full size on a GPU. Both runs use the same code; only sizes differ (subset sizes,
epochs, widths). The profile comes from the environment variable ``DLBOOK_PROFILE`` (``cpu`` when
unset); the deploy workflow's GPU job sets it to ``gpu``::

    from dlbook.scale import settings, RunClock

    S = settings(cpu=dict(n_train=5_000, epochs=4), gpu=dict(n_train=50_000, epochs=30))
    clock = RunClock()
    ...                                          # train with S.n_train, S.epochs
    glue("run_profile", S.profile)               # the page says which profile made it,
    glue("run_device", describe_device(device))  # on what,
    glue("run_wallclock", clock.minutes())       # and in how long (the determinism check skips
                                                 # glue names that end in "_wallclock")

The book's tests read each heavy chapter's ``settings(cpu=..., gpu=...)`` call without running it
and check that both profiles give valid sizes and that the ``gpu`` sizes are the larger ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["PROFILES", "PROFILE_ENV", "profile", "settings", "Settings", "check_settings", "RunClock",
           "describe_device"]

#: The profiles, smallest first.
PROFILES = ("cpu", "gpu")
#: The environment variable that selects the profile.
PROFILE_ENV = "DLBOOK_PROFILE"


def profile() -> str:
    """The profile this process runs: ``$DLBOOK_PROFILE`` (``cpu`` or ``gpu``), ``cpu`` if unset.

    Raises ``ValueError`` for any other value, so that a typo never silently runs the wrong scale.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower() or "cpu"
    if value not in PROFILES:
        raise ValueError(f"{PROFILE_ENV} must be one of {', '.join(PROFILES)} (or unset for cpu), "
                         f"got {os.environ[PROFILE_ENV]!r}")
    return value


class Settings(Mapping):
    """The sizes of one profile: read them as attributes (``S.epochs``) or keys (``S["epochs"]``)."""

    def __init__(self, profile_name: str, values: Mapping[str, Any]) -> None:
        self._values = dict(values)
        self.profile = profile_name

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(f"no setting {name!r} in the {self.__dict__.get('profile')} profile; "
                                 f"have {sorted(self.__dict__.get('_values', {}))}") from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Settings({self.profile!r}: {inner})"


def _is_size(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_settings(cpu: Mapping[str, Any], gpu: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``cpu`` and ``gpu`` are valid sizes of the same run.

    Both must name the same settings; every value must be a positive number (an int, or a float
    such as a learning rate), or the same non-numeric value in both (a string, a tuple of layer
    widths is compared element-wise); no ``gpu`` size may be smaller than its ``cpu`` size, and at
    least one must be larger (else there is no point in a GPU profile).
    """
    if not isinstance(cpu, Mapping) or not isinstance(gpu, Mapping):
        raise TypeError("cpu and gpu must be dicts of settings, e.g. cpu=dict(epochs=4)")
    if set(cpu) != set(gpu):
        raise ValueError(f"the cpu and gpu profiles must name the same settings; only in cpu: "
                         f"{sorted(set(cpu) - set(gpu))}, only in gpu: {sorted(set(gpu) - set(cpu))}")
    if not cpu:
        raise ValueError("settings() needs at least one size")
    larger = False
    for key in cpu:
        a, b = cpu[key], gpu[key]
        pairs = list(zip(a, b)) if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) else [(a, b)]
        if isinstance(a, (tuple, list)) and (not isinstance(b, (tuple, list)) or len(a) != len(b)):
            raise ValueError(f"setting {key!r}: cpu {a!r} and gpu {b!r} must have the same length")
        for x, y in pairs:
            if _is_size(x) and _is_size(y):
                if y < x:
                    raise ValueError(f"setting {key!r}: the gpu value {b!r} is smaller than the cpu value {a!r}")
                larger |= y > x
            elif _is_size(x) or _is_size(y) or x != y:
                raise ValueError(f"setting {key!r}: cpu {a!r} and gpu {b!r} must both be positive numbers, "
                                 "or equal non-numeric values")
    if not larger:
        raise ValueError("the gpu profile must make at least one size larger than the cpu profile")


def settings(*, cpu: Mapping[str, Any], gpu: Mapping[str, Any], profile_name: str | None = None) -> Settings:
    """The sizes for the profile this process runs (see :func:`profile`).

    Parameters
    ----------
    cpu, gpu : dict
        The sizes of each profile, checked with :func:`check_settings`.
    profile_name : str, optional
        Force a profile instead of reading ``$DLBOOK_PROFILE`` (tests use this).
    """
    check_settings(cpu, gpu)
    chosen = profile() if profile_name is None else profile_name
    if chosen not in PROFILES:
        raise ValueError(f"profile_name must be one of {PROFILES}, got {chosen!r}")
    return Settings(chosen, cpu if chosen == "cpu" else gpu)


class RunClock:
    """A wall clock started when created: how long a heavy chapter's run took, for its page."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def seconds(self) -> float:
        """Seconds since the clock was made."""
        return time.perf_counter() - self._start

    def minutes(self) -> str:
        """The elapsed time as text, e.g. ``'3.4 minutes'``."""
        return f"{self.seconds() / 60:.1f} minutes"


def describe_device(device) -> str:
    """A reader-facing name for a torch device: ``'NVIDIA H200 (cuda:0)'`` or ``'CPU, 1 thread'``."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"CPU, {n} thread{'s' if n != 1 else ''}"
    return str(device)
