"""Synthetic data sets, generated from a seed so that every chapter sees the same numbers."""

from __future__ import annotations

import numpy as np

__all__ = ["make_linear_regression", "split_indices"]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def make_linear_regression(n: int = 100, *, b: float = 1.0, w: float = 2.0, noise: float = 0.1,
                           x_scale: float = 1.0, seed: int | np.random.Generator | None = 42
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Points on the line ``y = b + w x`` plus Gaussian noise.

    Parameters
    ----------
    n : int, default 100
        Number of points.
    b, w : float
        True intercept (bias) and slope (weight).
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to ``y``.
    x_scale : float, default 1.0
        ``x`` is uniform on ``[0, x_scale)``.
    seed : int or numpy.random.Generator, default 42

    Returns
    -------
    x, y : numpy.ndarray
        Two ``float64`` arrays of shape ``(n, 1)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if x_scale <= 0:
        raise ValueError(f"x_scale must be > 0, got {x_scale}")
    rng = _rng(seed)
    x = rng.uniform(0.0, x_scale, size=(n, 1))
    y = b + w * x + noise * rng.standard_normal((n, 1))
    return x, y


def split_indices(n: int, val_fraction: float = 0.2, *, seed: int | np.random.Generator | None = 42
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` and cut it into training and validation indices.

    Returns
    -------
    train_idx, val_idx : numpy.ndarray
        Disjoint integer arrays; ``len(val_idx) == round(n * val_fraction)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    n_val = int(round(n * val_fraction))
    if n_val == 0 or n_val == n:
        raise ValueError(f"val_fraction={val_fraction} leaves an empty split for n={n}")
    idx = _rng(seed).permutation(n)
    return idx[n_val:], idx[:n_val]
