"""Reproducibility and device helpers used by every chapter."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "get_device", "rng_state", "set_rng_state"]


def seed_everything(seed: int, *, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) from one integer.

    Parameters
    ----------
    seed : int
        A non-negative integer below 2**32.
    deterministic : bool, default True
        Also ask cuDNN for deterministic kernels (``benchmark`` off). This only matters on a GPU.

    Returns
    -------
    torch.Generator
        A fresh CPU generator seeded with ``seed``, handy for ``DataLoader(generator=...)`` or
        ``random_split(generator=...)`` so that data order does not depend on other random calls.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by worker processes
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on: ``prefer`` if given, else CUDA, else Apple MPS, else CPU.

    Parameters
    ----------
    prefer : str or torch.device, optional
        Force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``). A device that is not
        available raises ``ValueError`` rather than silently falling back, and so does ``"meta"``
        (shapes without data) or any other backend that this machine or PyTorch build lacks.

    Returns
    -------
    torch.device
    """
    if prefer is not None:
        try:
            device = torch.device(prefer)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"prefer must name a torch device such as 'cpu' or 'cuda', got {prefer!r}") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("prefer='cuda' but no CUDA GPU is available on this machine")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{device} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("prefer='mps' but Apple's MPS backend is not available on this machine")
        if device.type == "meta":
            raise ValueError("prefer='meta' names PyTorch's 'meta' device, whose tensors have shapes but no data: "
                             "nothing can be trained or evaluated on it; use 'cpu', 'cuda' or 'mps'")
        if device.type not in ("cpu", "cuda", "mps"):
            # Another accelerator (xpu, hpu, xla, ...): accept it only where its backend says it is there.
            backend = getattr(torch, device.type, None)
            available = getattr(backend, "is_available", None)
            if not (callable(available) and available()):
                raise ValueError(f"prefer={str(prefer)!r}: the {device.type!r} backend is not available in this "
                                 "PyTorch build or on this machine; use 'cpu', 'cuda' or 'mps'")
            count = getattr(backend, "device_count", None)
            if device.index is not None and callable(count) and device.index >= count():
                raise ValueError(f"{device} requested but only {count()} {device.type} device(s) exist")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def rng_state() -> dict:
    """Snapshot every global random-number generator (Python, NumPy, torch CPU and CUDA)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        # Stored as plain types and tensors so that checkpoints load with torch.load(weights_only=True).
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore a snapshot taken with :func:`rng_state`.

    The tensors of the snapshot may sit on any device (a checkpoint loaded with
    ``map_location="cuda"``, say): generator states are always CPU byte tensors, so they are
    brought back to the CPU first. CUDA states are restored for the GPUs this machine has.
    """
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    npst = state["numpy"]
    np.random.set_state((npst["kind"], npst["keys"].cpu().numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        for index, cuda_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), index)
