"""Synthetic sequences for the recurrent and attention chapters: noisy squares drawn corner by corner.

A square has four corners, A = (-1, -1), B = (-1, 1), C = (1, 1) and D = (1, -1). A sequence
visits them in drawing order, starting at any corner and going either clockwise (A, B, C, D, A, ...:
label 1) or counter-clockwise (label 0), with Gaussian noise on every coordinate. Classifying the
direction needs the order of the points, not just the points, which is what a recurrent network
reads; predicting the last two corners from the first two is the sequence-to-sequence task.
"""

from __future__ import annotations

import numpy as np

from .synthetic import _rng

__all__ = ["SQUARE_CORNERS", "make_noisy_squares"]

_CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]], dtype=np.float32)


def __getattr__(name: str):
    # SQUARE_CORNERS is a tensor, built on first use so that importing this module needs no torch.
    if name == "SQUARE_CORNERS":
        import torch

        value = torch.from_numpy(_CORNERS.copy())
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_noisy_squares(n: int = 128, *, variable_length: bool = False, noise: float = 0.1,
                       seed: int | np.random.Generator | None = 13):
    """Draw ``n`` squares corner by corner, each labelled by its drawing direction.

    Parameters
    ----------
    n : int, default 128
        Number of sequences.
    variable_length : bool, default False
        Keep only the first ``L`` corners of each sequence, with ``L`` drawn uniformly from
        {2, 3, 4}; the points then come back as a list of tensors of different lengths.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to every coordinate (0 gives the perfect
        corners).
    seed : int or numpy.random.Generator, default 13
        Makes the sequences reproducible; another seed (say 19) gives an independent test set.

    Returns
    -------
    points : torch.Tensor or list of torch.Tensor
        ``float32`` of shape ``(n, 4, 2)`` (x, y per corner, in drawing order), or with
        ``variable_length=True`` a list of ``n`` tensors of shape ``(L, 2)``.
    directions : torch.Tensor
        ``int64`` of shape ``(n,)``: 1 = clockwise (A, B, C, D order), 0 = counter-clockwise.

    Examples
    --------
    >>> points, directions = make_noisy_squares(4, noise=0.0, seed=0)
    >>> points.shape, directions.dtype
    (torch.Size([4, 4, 2]), torch.int64)
    """
    import torch

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if not isinstance(variable_length, (bool, np.bool_)):
        raise TypeError(f"variable_length must be True or False, got {variable_length!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = _rng(seed)
    starts = rng.integers(0, 4, size=n)
    directions = rng.integers(0, 2, size=n)
    steps = np.where(directions[:, None] == 1, 1, -1) * np.arange(4)[None, :]
    order = (starts[:, None] + steps) % 4
    points = _CORNERS[order] + rng.normal(0.0, float(noise), size=(n, 4, 2)).astype(np.float32)
    labels = torch.from_numpy(directions.astype(np.int64))
    if not variable_length:
        return torch.from_numpy(points.astype(np.float32)), labels
    lengths = rng.integers(2, 5, size=n)
    return [torch.from_numpy(p[:k].copy()) for p, k in zip(points, lengths)], labels
