"""Synthetic data sets, generated from a seed so that every chapter sees the same numbers."""

from __future__ import annotations

import numpy as np

__all__ = ["make_linear_regression", "make_parabolas", "make_line_images", "split_indices"]


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


def make_parabolas(n_per_class: int = 1000, *, gap: float = 0.6, curvature: float = 1.0,
                   noise: float = 0.1, x_range: float = 1.5, shuffle: bool = True,
                   seed: int | np.random.Generator | None = 42) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of points, each along its own parabola: a set no straight line can separate.

    Class 0 lies around ``x2 = curvature * x1**2 - gap / 2`` and class 1 around
    ``x2 = curvature * x1**2 + gap / 2``: the same parabola shifted up and down, so the classes
    are separated by the curve ``x2 = curvature * x1**2`` but by no line. Gaussian noise of
    standard deviation ``noise`` is added to ``x2``. Finally both features are centred, so the
    cloud sits around the origin, which is what a network's first layer expects.

    Parameters
    ----------
    n_per_class : int, default 1000
        Points in each class (the data set is balanced).
    gap : float, default 0.6
        Vertical distance between the two parabolas; with ``noise`` it sets how much they overlap.
    curvature : float, default 1.0
        The ``a`` of ``a * x1**2``; must be non-zero (0 makes the set linearly separable).
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to ``x2``.
    x_range : float, default 1.5
        ``x1`` is uniform on ``[-x_range, x_range]``.
    shuffle : bool, default True
        Shuffle the rows (otherwise class 0 comes first).
    seed : int or numpy.random.Generator, default 42

    Returns
    -------
    X : numpy.ndarray
        ``float32`` array of shape ``(2 * n_per_class, 2)``.
    y : numpy.ndarray
        ``int64`` array of 0s and 1s, shape ``(2 * n_per_class,)``.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive int, got {n_per_class!r}")
    if gap <= 0:
        raise ValueError(f"gap must be > 0, got {gap}")
    if curvature == 0:
        raise ValueError("curvature must be non-zero (a flat 'parabola' makes the classes linearly separable)")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if x_range <= 0:
        raise ValueError(f"x_range must be > 0, got {x_range}")
    rng = _rng(seed)
    x1 = rng.uniform(-x_range, x_range, size=2 * n_per_class)
    y = np.repeat(np.array([0, 1], dtype=np.int64), n_per_class)
    offset = np.where(y == 1, gap / 2, -gap / 2)
    x2 = curvature * x1 ** 2 + offset + noise * rng.standard_normal(2 * n_per_class)
    X = np.stack([x1, x2], axis=1)
    X -= X.mean(axis=0)
    if shuffle:
        order = rng.permutation(2 * n_per_class)
        X, y = X[order], y[order]
    return X.astype(np.float32), y


def make_line_images(n: int = 300, size: int = 10, *, n_classes: int = 2,
                     seed: int | np.random.Generator | None = 13):
    """Draw ``n`` small greyscale images, each holding one straight line, labelled by its direction.

    Every line is at least 3 pixels long (at most ``size``), at a random position, fully inside
    the image. Classes are balanced up to rounding and shuffled.

    Parameters
    ----------
    n : int, default 300
        Number of images.
    size : int, default 10
        Height and width in pixels (at least 5).
    n_classes : {2, 3}
        2: label 0 = horizontal or vertical line, 1 = diagonal (either direction).
        3: label 0 = horizontal or vertical, 1 = diagonal ``\\`` (top left to bottom right),
        2 = anti-diagonal ``/``.
    seed : int or numpy.random.Generator, default 13
        Makes the images reproducible.

    Returns
    -------
    images : torch.Tensor
        ``uint8`` of shape ``(n, 1, size, size)``: 0 background, 255 on the line.
    labels : torch.Tensor
        ``int64`` of shape ``(n,)``.
    """
    import torch

    for name, value, low in (("n", n, 1), ("size", size, 5)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if n_classes not in (2, 3) or isinstance(n_classes, bool):
        raise ValueError(f"n_classes must be 2 or 3, got {n_classes!r}")
    rng = _rng(seed)
    labels = rng.permutation(np.arange(n) % n_classes)
    images = np.zeros((n, 1, size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        length = int(rng.integers(3, size + 1))
        if label == 0:
            fixed = int(rng.integers(0, size))
            start = int(rng.integers(0, size - length + 1))
            if rng.random() < 0.5:
                images[i, 0, fixed, start:start + length] = 255
            else:
                images[i, 0, start:start + length, fixed] = 255
        else:
            falling = label == 1 if n_classes == 3 else bool(rng.random() < 0.5)
            r0 = int(rng.integers(0, size - length + 1))
            c0 = int(rng.integers(0, size - length + 1))
            steps = np.arange(length)
            rows = r0 + steps
            cols = c0 + steps if falling else c0 + length - 1 - steps
            images[i, 0, rows, cols] = 255
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
