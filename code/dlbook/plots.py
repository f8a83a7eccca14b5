"""The book's figure style and the figures chapters draw more than once.

Call :func:`use_style` once at the top of a chapter; every figure after it shares the look.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

__all__ = ["use_style", "BOOK_COLORS", "plot_history", "plot_lr_range_test", "show_images",
           "plot_loss_contour", "plot_steps_1d", "plot_loss_surface_3d", "plot_confusion_matrix"]

#: A colour-blind-safe cycle (Okabe and Ito), used for every line the book draws.
BOOK_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.constrained_layout.use": True,
    "axes.prop_cycle": mpl.cycler(color=BOOK_COLORS),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "legend.frameon": False,
    "font.size": 10,
    "image.cmap": "viridis",
    "lines.linewidth": 2.0,
}


def use_style() -> None:
    """Apply the book's matplotlib style (colour-blind-safe colours, light grid, no top/right spines)."""
    mpl.rcParams.update(_STYLE)


def _new_axes(ax, ncols: int = 1, figsize=None):
    if ax is not None:
        return ax.figure, np.atleast_1d(ax)
    fig, axes = plt.subplots(1, ncols, figsize=figsize or (6.4 if ncols == 1 else 5.2 * ncols, 4.0))
    return fig, np.atleast_1d(axes)


def plot_history(history, *, metrics: Sequence[str] | None = None, log_loss: bool = False, title: str | None = None,
                 ax=None):
    """Loss curves per epoch (training and validation), plus one panel per metric.

    Parameters
    ----------
    history : dlbook.train.History
    metrics : sequence of str, optional
        Metric names to draw beside the loss (default: every metric the history logged).
    log_loss : bool, default False
        Logarithmic loss axis.
    title : str, optional
        Title of the loss panel (default "Loss per epoch").
    ax : matplotlib Axes or array of Axes, optional
        Where to draw (one Axes per panel).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if len(history) == 0:
        raise ValueError("the history is empty: train for at least one epoch before plotting")
    keys = history.keys()
    if metrics is None:
        metrics = sorted({k.split("_", 1)[1] for k in keys if k.startswith(("train_", "val_"))} - {"loss"})
    fig, axes = _new_axes(ax, 1 + len(metrics))
    if len(axes) < 1 + len(metrics):
        raise ValueError(f"need {1 + len(metrics)} axes (loss + {len(metrics)} metrics), got {len(axes)}")
    epochs = history["epoch"]
    for axis, name in zip(axes, ["loss", *metrics]):
        for split, style in (("train", "-"), ("val", "--")):
            key = f"{split}_{name}"
            if key in keys:
                values = [np.nan if v is None else v for v in history[key]]
                axis.plot(epochs, values, style, marker="o" if len(epochs) <= 30 else None, ms=3,
                          label="training" if split == "train" else "validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.set_title(title if (name == "loss" and title) else f"{name.capitalize()} per epoch")
        if name == "loss" and log_loss:
            axis.set_yscale("log")
        axis.legend()
    return fig


def plot_lr_range_test(result, *, ax=None):
    """Smoothed loss against learning rate (log axis) from :meth:`Trainer.lr_range_test`."""
    fig, axes = _new_axes(ax)
    axis = axes[0]
    axis.plot(result.lrs, result.losses, label="smoothed loss")
    axis.plot(result.lrs, result.raw_losses, alpha=0.3, lw=1, label="mini-batch loss")
    if result.suggestion is not None:
        axis.axvline(result.suggestion, color=BOOK_COLORS[1], ls=":", label=f"steepest descent: {result.suggestion:.2g}")
    axis.set_xscale("log")
    axis.set_xlabel("learning rate")
    axis.set_ylabel("loss")
    axis.set_title("Learning-rate range test")
    finite = [v for v in result.losses if np.isfinite(v)]
    if finite:
        axis.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.1)
    axis.legend()
    return fig


def _class_namer(class_names):
    """``k -> class name`` (or ``str(k)`` without names), for labels that may be tensors or NumPy ints."""
    return (lambda k: class_names[int(k)]) if class_names is not None else (lambda k: str(int(k)))


def _caption(i: int, labels, predictions, name) -> tuple[str, str]:
    """The title of image ``i``: its label, then ``→ prediction``; red where the prediction is wrong."""
    caption, color = "", "black"
    if labels is not None:
        caption = name(labels[i])
    if predictions is not None:
        caption = f"{caption}→{name(predictions[i])}" if caption else name(predictions[i])
        if labels is not None and int(predictions[i]) != int(labels[i]):
            color = BOOK_COLORS[1]
    return caption, color


def show_images(images, labels=None, predictions=None, *, ncols: int = 8, class_names=None, cmap: str = "gray",
                title: str | None = None, size: float = 1.2):
    """A grid of images with optional labels (and predictions, in red where wrong).

    ``images``: tensor or array of shape ``(N, H, W)``, ``(N, 1, H, W)``, ``(N, H, W, 3)`` or
    ``(N, 3, H, W)``. Values are shown as they are (uint8 or floats; normalised data is rescaled
    per image for display).
    """
    imgs = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    if imgs.ndim == 4 and imgs.shape[1] in (1, 3) and imgs.shape[-1] not in (1, 3):
        imgs = imgs.transpose(0, 2, 3, 1)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    if imgs.ndim not in (3, 4) or len(imgs) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C) with N > 0, got {imgs.shape}")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    n = len(imgs)
    for name, seq in (("labels", labels), ("predictions", predictions)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries for {n} images")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False, constrained_layout=True)
    name = _class_namer(class_names)
    for i, axis in enumerate(axes.flat):
        axis.axis("off")
        if i >= n:
            continue
        img = imgs[i]
        if img.dtype.kind == "f" and (img.min() < 0 or img.max() > 1):
            img = (img - img.min()) / (img.max() - img.min() + 1e-12)
        axis.imshow(img, cmap=cmap if img.ndim == 2 else None)
        caption, color = _caption(i, labels, predictions, name)
        if caption:
            axis.set_title(caption, fontsize=9, color=color, fontweight="normal")
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def plot_loss_contour(b_grid, w_grid, loss, paths=None, *, minimum=None, n_levels: int = 14, ax=None,
                      title: str | None = None, xlabel: str = "bias $b$", ylabel: str = "weight $w$",
                      colors=None, legend: bool = True):
    """Log-spaced filled contours of a loss over a 2-D parameter grid, with optimisation paths.

    Parameters
    ----------
    b_grid, w_grid, loss : numpy.ndarray
        Arrays of the same 2-D shape, as made by ``numpy.meshgrid`` and a vectorised loss.
    paths : dict of str to array-like, optional
        Label -> points of shape ``(steps + 1, 2)``; each is drawn as a line (with markers when it has
        at most 60 points) starting at a white circle.
    minimum : (float, float), optional
        Marked with a white star.
    n_levels : int, default 14
        Number of contour levels, spaced geometrically above the lowest loss.
    colors : sequence of colours, optional
        One per path (default: vermillion, orange, pink, white: all visible on viridis).
    legend : bool, default True
        Show a legend of the paths.

    Returns
    -------
    matplotlib.axes.Axes
    """
    b_grid, w_grid, loss = (np.asarray(a, dtype=float) for a in (b_grid, w_grid, loss))
    if loss.ndim != 2 or b_grid.shape != loss.shape or w_grid.shape != loss.shape:
        raise ValueError(f"b_grid, w_grid and loss must share one 2-D shape, got "
                         f"{b_grid.shape}, {w_grid.shape}, {loss.shape}")
    if n_levels < 2:
        raise ValueError(f"n_levels must be >= 2, got {n_levels}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.4))
    base = loss.min()
    span = loss - base + 1e-3 * (loss.max() - base) + 1e-12     # positive, so a log scale works
    levels = np.geomspace(span.min(), span.max(), n_levels)
    ax.contourf(b_grid, w_grid, span, levels=levels, norm=LogNorm(), cmap="viridis", alpha=0.9)
    ax.contour(b_grid, w_grid, span, levels=levels, colors="white", linewidths=0.5, alpha=0.6)
    palette = colors or [BOOK_COLORS[1], BOOK_COLORS[4], BOOK_COLORS[3], "white"]
    for (label, path), color in zip((paths or {}).items(), palette):
        path = np.asarray(path, dtype=float).reshape(-1, 2)
        many = len(path) > 60
        ax.plot(path[:, 0], path[:, 1], "-" if many else "-o", color=color, lw=1.0 if many else 1.6,
                ms=3.5, mec="white", mew=0.5, label=label, zorder=3)
        ax.plot(*path[0], "o", color="white", mec="black", ms=7, zorder=4)
    if minimum is not None:
        ax.plot(*minimum, "*", color="white", mec="black", ms=14, zorder=5)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(False)
    if paths and legend:
        ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.85)
    return ax


def plot_steps_1d(loss_fn, path, *, center: float, ax=None, color=None):
    """A 1-D loss curve around ``center`` with the gradient-descent ``path`` drawn as arrows.

    The x-range is ``center`` ± 1.1 × the farthest point of the path, so every step is visible.
    ``loss_fn`` maps a float to a float. Returns the Axes.
    """
    path = np.asarray(path, dtype=float).ravel()
    if path.size < 1:
        raise ValueError("path must contain at least the starting point")
    if ax is None:
        _, ax = plt.subplots()
    color = color or BOOK_COLORS[1]
    reach = 1.1 * max(np.abs(path - center).max(), 1e-9)
    t = np.linspace(center - reach, center + reach, 300)
    ax.plot(t, [loss_fn(v) for v in t], color="gray", lw=1.5)
    for a, z in zip(path[:-1], path[1:]):
        ax.annotate("", xy=(z, loss_fn(z)), xytext=(a, loss_fn(a)),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.3, shrinkA=2, shrinkB=2))
    ax.plot(path[1:], [loss_fn(v) for v in path[1:]], "o", color=color, ms=4, mec="white", zorder=4)
    ax.plot(path[0], loss_fn(path[0]), "o", color="white", mec="black", ms=8, zorder=5)
    ax.set(xlim=(t[0], t[-1]), ylim=(0, 1.15 * max(loss_fn(t[0]), loss_fn(t[-1]))))
    return ax


def plot_loss_surface_3d(b_grid, w_grid, loss, *, point=None, ax=None, title: str | None = None,
                         xlabel: str = "bias $b$", ylabel: str = "weight $w$", zlabel: str = "loss"):
    """A 3-D surface of a (positive) loss over a 2-D grid, coloured on a log scale.

    ``point`` = (b, w, loss) is marked with a white circle drawn above the surface.
    Returns the 3-D Axes.
    """
    if ax is None:
        ax = plt.figure(figsize=(6, 5)).add_subplot(projection="3d")
    ax.computed_zorder = False
    ax.plot_surface(b_grid, w_grid, loss, cmap="viridis", norm=LogNorm(), rstride=3, cstride=3,
                    linewidth=0.15, edgecolor="white", alpha=0.9, zorder=1)
    if point is not None:
        ax.scatter([point[0]], [point[1]], [point[2]], color="white", edgecolor="black", s=60,
                   depthshade=False, zorder=5)
    ax.set(xlabel=xlabel, ylabel=ylabel, zlabel=zlabel, title=title)
    ax.view_init(elev=32, azim=-60)
    return ax


def plot_confusion_matrix(confusion, *, class_names: Sequence[str] | None = None, normalize: str | None = None,
                          show_counts: bool = True, ax=None, title: str | None = None, cmap: str = "Blues"):
    """Draw a confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    confusion : array-like of shape (K, K)
        Counts, as returned by ``sklearn.metrics.confusion_matrix`` or torchmetrics.
    class_names : sequence of str, optional
        Tick labels, in class order (default ``0 … K-1``).
    normalize : {None, "true", "pred", "all"}, optional
        Colour and print fractions of each row ("true": the diagonal is recall), of each column
        ("pred": the diagonal is precision) or of the total; ``None`` shows counts.
    show_counts : bool, default True
        With ``normalize``, also print the raw count under each fraction.
    ax : matplotlib Axes, optional
    title : str, optional
    cmap : str, default "Blues"

    Returns
    -------
    matplotlib.axes.Axes
    """
    counts = np.asarray(confusion.cpu() if hasattr(confusion, "cpu") else confusion)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion must be a square (K, K) matrix, got shape {counts.shape}")
    k = counts.shape[0]
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names for {k} classes")
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    counts = counts.astype(float)
    denom = {None: 1.0, "all": counts.sum(), "true": counts.sum(axis=1, keepdims=True),
             "pred": counts.sum(axis=0, keepdims=True)}[normalize]
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.nan_to_num(counts / denom)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.62 * k, 0.6 + 0.55 * k))
    vmax = 1.0 if normalize else max(values.max(), 1.0)
    im = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax)
    small = k > 6                                   # smaller text for big matrices
    for i in range(k):
        for j in range(k):
            text = f"{counts[i, j]:.0f}" if normalize is None else f"{values[i, j]:.2f}"
            if normalize and show_counts:
                text += f"\n({counts[i, j]:.0f})"
            ax.text(j, i, text, ha="center", va="center", fontsize=7 if small else 9,
                    color="white" if values[i, j] > 0.6 * vmax else "black")
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names,
           xlabel="predicted class", ylabel="true class", title=title or "Confusion matrix")
    ax.grid(False)
    label = {None: "count", "true": "fraction of the true class", "pred": "fraction of the predictions",
             "all": "fraction of all examples"}[normalize]
    ax.figure.colorbar(im, ax=ax, label=label, shrink=0.8)
    return ax
