"""Samplers for imbalanced classes, and a count of what a loader really draws.

>>> from dlbook.data.samplers import make_balanced_sampler, class_counts_per_epoch
>>> sampler = make_balanced_sampler(train_labels, generator=13)
>>> loader = DataLoader(train_set, batch_size=32, sampler=sampler)
>>> class_counts_per_epoch(loader, n_classes=3, epochs=2)   # (2, 3) int64: labels drawn per epoch

The chapter *Images, transforms and samplers* builds these step by step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

__all__ = ["class_weights", "make_balanced_sampler", "class_counts_per_epoch"]


def _as_labels(labels, name: str = "labels") -> torch.Tensor:
    """``labels`` as a 1-D int64 CPU tensor of non-negative class indices, or a clear error."""
    if isinstance(labels, torch.Tensor):
        t = labels.detach().cpu()
    elif isinstance(labels, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(labels))
    elif isinstance(labels, Sequence) and not isinstance(labels, (str, bytes)):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
            raise TypeError(f"{name} must hold integer class indices")
        t = torch.as_tensor(list(labels), dtype=torch.int64)
    else:
        raise TypeError(f"{name} must be a tensor, a NumPy array or a list of ints, got {type(labels).__name__}")
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise TypeError(f"{name} must hold integer class indices, got dtype {t.dtype}")
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one class index per example), got shape {tuple(t.shape)}")
    if len(t) == 0:
        raise ValueError(f"{name} is empty")
    t = t.to(torch.int64)
    if int(t.min()) < 0:
        raise ValueError(f"{name} must be non-negative class indices, found {int(t.min())}")
    return t


def _check_n_classes(n_classes, labels: torch.Tensor | None = None, name: str = "labels") -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    if labels is not None and int(labels.max()) >= n_classes:
        raise ValueError(f"{name} holds class {int(labels.max())} but n_classes={n_classes}")
    return int(n_classes)


def class_weights(labels, n_classes: int | None = None) -> torch.Tensor:
    """One weight per class, inversely proportional to how often it occurs: ``1 / count``.

    Parameters
    ----------
    labels : tensor, ndarray or list of int
        Class index of every example, shape ``(N,)``.
    n_classes : int, optional
        Number of classes (default: ``labels.max() + 1``). A class that never occurs gets weight 0:
        no example carries it, so no example has to be drawn more often for it.

    Returns
    -------
    torch.Tensor
        ``float64`` weights of shape ``(n_classes,)``.
    """
    y = _as_labels(labels)
    n = int(y.max()) + 1 if n_classes is None else _check_n_classes(n_classes, y)
    counts = torch.bincount(y, minlength=n).double()
    weights = torch.zeros(n, dtype=torch.float64)
    present = counts > 0
    weights[present] = 1.0 / counts[present]
    return weights


def make_balanced_sampler(labels, *, num_samples: int | None = None,
                          generator: torch.Generator | int | None = None) -> WeightedRandomSampler:
    """A ``WeightedRandomSampler`` that draws every class equally often on average.

    Each example gets the weight ``1 / count`` of its class (:func:`class_weights`), so each class
    holds the same total weight; examples are drawn *with replacement*: rare examples repeat within
    an epoch and some common ones are left out.

    Parameters
    ----------
    labels : tensor, ndarray or list of int
        Class index of every example of the data set the sampler will index, shape ``(N,)``.
    num_samples : int, optional
        Indices drawn per epoch (default ``N``, so an epoch keeps its usual length).
    generator : torch.Generator or int, optional
        The sampler's own random stream: a generator, or a seed to make one. With ``None`` it draws
        from PyTorch's global generator, so the order then depends on every other random call.

    Returns
    -------
    torch.utils.data.WeightedRandomSampler
        Pass it to ``DataLoader(dataset, sampler=...)`` (without ``shuffle=True``).
    """
    y = _as_labels(labels)
    if num_samples is None:
        num_samples = len(y)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"generator must be a torch.Generator or a non-negative seed, got {generator}")
        generator = torch.Generator().manual_seed(int(generator))
    elif generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}")
    sample_weights = class_weights(y)[y]
    return WeightedRandomSampler(sample_weights, num_samples=int(num_samples), replacement=True,
                                 generator=generator)


def class_counts_per_epoch(loader: Iterable, n_classes: int, *, epochs: int = 1) -> torch.Tensor:
    """How many examples of each class ``loader`` yields in each of ``epochs`` passes.

    The loader is iterated exactly as training would iterate it, so this counts what a model
    would see (samplers, ``drop_last`` and all). Iterating draws from the loader's random
    streams: a training run started afterwards sees the batches of the *next* epochs, not these.

    Parameters
    ----------
    loader : iterable of (inputs, targets) batches
        A ``DataLoader`` or any iterable that can be iterated several times.
    n_classes : int
        Number of classes; targets must be class indices in ``[0, n_classes)``.
    epochs : int, default 1
        Number of passes to count.

    Returns
    -------
    torch.Tensor
        ``int64`` counts of shape ``(epochs, n_classes)``.
    """
    n = _check_n_classes(n_classes)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if isinstance(loader, (torch.Tensor, np.ndarray)) or not hasattr(loader, "__iter__"):
        raise TypeError(f"loader must be an iterable of (inputs, targets) batches such as a DataLoader, "
                        f"got {type(loader).__name__}")
    counts = torch.zeros(int(epochs), n, dtype=torch.int64)
    for epoch in range(int(epochs)):
        for batch in loader:
            if not (isinstance(batch, (list, tuple)) and len(batch) == 2):
                raise ValueError("loader must yield (inputs, targets) pairs")
            y = _as_labels(batch[1].reshape(-1) if isinstance(batch[1], torch.Tensor) else batch[1],
                           "the loader's targets")
            _check_n_classes(n, y, "the loader's targets")
            counts[epoch] += torch.bincount(y, minlength=n)
    return counts
