"""Figures of what a convolutional network has learned (its filters and feature maps), and of what
a detector or a segmenter sees (boxes drawn on an image, class masks in colour).

Both functions draw in the book's style (:func:`dlbook.plots.use_style`) and return the
matplotlib Figure, so a chapter can add a title or save it::

    fig = plot_filters(model.conv1.weight)                    # one panel per 3x3 kernel
    with FeatureRecorder(model, ["conv1", "relu1"]) as rec:
        model(images)
    fig = plot_feature_maps(dict(rec.items()), images=images, labels=labels)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .plots import _caption, _class_namer

__all__ = ["plot_filters", "plot_feature_maps", "draw_boxes", "mask_to_rgb"]


def _as_array(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as err:  # pragma: no cover - exotic inputs
            raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}") from err
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {x.dtype}")
    return x.astype(float)


def _annotate(axis, kernel: np.ndarray, vmax: float) -> None:
    for (r, c), v in np.ndenumerate(kernel):
        strong = vmax > 0 and abs(v) > 0.6 * vmax
        axis.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                  color="white" if strong else "black")


def plot_filters(weight, *, ncols: int = 8, annotate: bool | None = None, cmap: str = "RdBu_r",
                 title: str | None = None, size: float = 1.1, colorbar: bool = True):
    """Draw the kernels of a convolution layer as small images on one shared colour scale.

    Parameters
    ----------
    weight : torch.Tensor or numpy.ndarray
        The layer's weight, shape ``(out_channels, in_channels, kH, kW)`` (as in
        ``nn.Conv2d.weight``); ``(out_channels, kH, kW)`` or one ``(kH, kW)`` kernel also work.
    ncols : int, default 8
        With one input channel, filters are laid out left to right in rows of ``ncols``. With
        several input channels each row is one filter and each column one input channel.
    annotate : bool, optional
        Write each weight's value in its cell (default: only for kernels of at most 5 x 5).
    cmap : str, default "RdBu_r"
        A diverging colour map: the scale is symmetric around 0, so negative weights are blue
        and positive ones red.
    title : str, optional
        Figure title.
    size : float, default 1.1
        Size of one panel in inches.
    colorbar : bool, default True
        Add one colour bar for all panels (one extra Axes in ``fig.axes``).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per kernel (plus the colour bar's).
    """
    w = _as_array(weight, "weight")
    if w.ndim == 2:
        w = w[None, None]
    elif w.ndim == 3:
        w = w[:, None]
    if w.ndim != 4 or min(w.shape) < 1:
        raise ValueError(f"weight must have shape (out, in, kH, kW), (out, kH, kW) or (kH, kW), got {w.shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if not size > 0:
        raise ValueError(f"size must be positive, got {size}")
    n_out, n_in, kh, kw = w.shape
    if annotate is None:
        annotate = kh * kw <= 25
    if n_in == 1:
        cols = min(ncols, n_out)
        rows = int(np.ceil(n_out / cols))
        panels = [(i, 0, i // cols, i % cols) for i in range(n_out)]
    else:
        rows, cols = n_out, n_in
        panels = [(o, c, o, c) for o in range(n_out) for c in range(n_in)]
    vmax = float(np.abs(w).max()) or 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + (0.9 if colorbar else 0.2),
                                                  size * rows + (0.5 if title else 0.2)),
                             squeeze=False, constrained_layout=True)
    used = set()
    image = None
    for o, c, r, col in panels:
        axis = axes[r, col]
        used.add((r, col))
        image = axis.imshow(w[o, c], cmap=cmap, vmin=-vmax, vmax=vmax)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.grid(False)
        if annotate:
            _annotate(axis, w[o, c], vmax)
        if n_in == 1:
            axis.set_title(f"filter {o}", fontsize=8, fontweight="normal")
        else:
            if o == 0:
                axis.set_title(f"input channel {c}", fontsize=8, fontweight="normal")
            if c == 0:
                axis.set_ylabel(f"filter {o}", fontsize=8)
    for (r, col), axis in np.ndenumerate(axes):
        if (r, col) not in used:
            fig.delaxes(axis)
    if colorbar:
        fig.colorbar(image, ax=[axes[r, c] for r, c in sorted(used)], shrink=0.85, label="weight")
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def _maps_dict(maps) -> dict[str, np.ndarray]:
    if isinstance(maps, Mapping):
        items = list(maps.items())
    else:
        items = [("", maps)]
    if not items:
        raise ValueError("maps is empty: pass {layer name: outputs of shape (N, C, H, W)}")
    out = {}
    for name, value in items:
        if not isinstance(name, str):
            raise TypeError(f"maps must be keyed by layer names (str), got {type(name).__name__}")
        a = _as_array(value, f"maps[{name!r}]")
        if a.ndim == 2:          # (N, features), e.g. a linear layer: one strip per image
            a = a[:, None, None, :]
        elif a.ndim == 3:        # (N, H, W): one channel
            a = a[:, None]
        if a.ndim != 4 or a.shape[0] < 1:
            raise ValueError(f"maps[{name!r}] must have shape (N, C, H, W), (N, H, W) or (N, features) with "
                             f"N > 0, got {a.shape}")
        out[name] = a
    sizes = {name: a.shape[0] for name, a in out.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"every entry of maps must hold the same number of images, got {sizes}")
    return out


def plot_feature_maps(maps, *, images=None, labels=None, predictions=None,
                      class_names: Sequence[str] | None = None, max_images: int = 10,
                      max_channels: int | None = None, cmap: str = "gray", size: float = 0.9,
                      title: str | None = None):
    """Draw feature maps as a grid: one column per image, one row per (layer, channel).

    Parameters
    ----------
    maps : dict of str to tensor, or one tensor
        Layer name -> outputs for a batch, shape ``(N, C, H, W)``; ``(N, H, W)`` is one channel
        and ``(N, features)`` (a linear layer's output) is drawn as a ``1 x features`` strip.
        Every entry must hold the same N. A :class:`dlbook.train.hooks.FeatureRecorder` gives
        them with ``dict(recorder.items())``.
    images : tensor, optional
        The inputs, shape ``(N, 1 or 3, H, W)`` or ``(N, H, W)``, drawn as the first row.
    labels, predictions : sequence of int, optional
        Written above the images (a wrong prediction in the book's warning colour).
    class_names : sequence of str, optional
        Names for the labels and predictions.
    max_images : int, default 10
        Draw at most this many images (columns).
    max_channels : int, optional
        Draw at most this many channels per layer.
    cmap : str, default "gray"
    size : float, default 0.9
        Size of one panel in inches.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``(rows) x (images)`` Axes, where rows = the input row (if ``images``) plus one row per
        drawn channel of every layer.

    Notes
    -----
    Each row has its own colour scale, shared by all images in the row: within a row, brighter
    means a larger value, so the images can be compared; across rows the scales differ.
    """
    layers = _maps_dict(maps)
    n_total = next(iter(layers.values())).shape[0]
    for name, value in (("max_images", max_images), ("max_channels", max_channels)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    n = min(n_total, max_images)
    imgs = None
    if images is not None:
        imgs = _as_array(images, "images")
        if imgs.ndim == 4 and imgs.shape[1] in (1, 3):
            imgs = imgs.transpose(0, 2, 3, 1)
        if imgs.ndim == 4 and imgs.shape[-1] == 1:
            imgs = imgs[..., 0]
        if imgs.ndim not in (3, 4) or imgs.shape[0] != n_total:
            raise ValueError(f"images must have shape (N, C, H, W) or (N, H, W) with the maps' N = {n_total}, "
                             f"got {np.shape(images)}")
    for name, seq in (("labels", labels), ("predictions", predictions)):
        if seq is not None and len(seq) != n_total:
            raise ValueError(f"{name} has {len(seq)} entries for {n_total} images")
    rows: list[tuple[str, np.ndarray]] = []
    for name, a in layers.items():
        channels = a.shape[1] if max_channels is None else min(a.shape[1], max_channels)
        for c in range(channels):
            label = name if a.shape[1] == 1 else f"{name}[{c}]"
            rows.append((label, a[:n, c]))
    n_rows = len(rows) + (imgs is not None)
    fig, axes = plt.subplots(n_rows, n, figsize=(size * n + 0.9, size * n_rows + (0.4 if title else 0.1)),
                             squeeze=False, constrained_layout=True)
    name_of = _class_namer(class_names)
    r0 = 0
    if imgs is not None:
        for i in range(n):
            axis = axes[0, i]
            img = imgs[i]
            lo, hi = img.min(), img.max()
            axis.imshow((img - lo) / (hi - lo + 1e-12), cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            caption, color = _caption(i, labels, predictions, name_of)
            if caption:
                axis.set_title(caption, fontsize=8, color=color, fontweight="normal")
        axes[0, 0].set_ylabel("input", fontsize=8, rotation=0, ha="right", va="center")
        r0 = 1
    for r, (label, block) in enumerate(rows, start=r0):
        lo, hi = float(block.min()), float(block.max())
        if hi <= lo:
            hi = lo + 1.0
        for i in range(n):
            axes[r, i].imshow(block[i], cmap=cmap, vmin=lo, vmax=hi, aspect="auto" if block.shape[1] == 1 else None)
        axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
        axis.grid(False)
        for spine in axis.spines.values():
            spine.set_visible(False)
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def _boxes_array(boxes, name: str = "boxes") -> np.ndarray:
    arr = _as_array(boxes, name)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (k, 4) in xyxy format, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite coordinates")
    if (arr[:, 2] < arr[:, 0]).any() or (arr[:, 3] < arr[:, 1]).any():
        raise ValueError(f"{name} must be xyxy with x2 >= x1 and y2 >= y1 (convert other formats "
                         "with torchvision.ops.box_convert first)")
    return arr


def draw_boxes(ax, boxes, labels=None, scores=None, *, class_names: Sequence[str] | None = None,
               color: str | None = None, linewidth: float = 1.5, fontsize: float = 7.0):
    """Draw boxes in ``xyxy`` pixel coordinates on an axis that shows an image.

    Parameters
    ----------
    ax : matplotlib Axes
        Usually one where ``ax.imshow(image)`` drew the image; pixel ``(row, col)`` spans
        ``col - 0.5 .. col + 0.5``, so a box from ``x1`` to ``x2`` is drawn from ``x1 - 0.5`` to
        ``x2 - 0.5`` and covers exactly its pixels.
    boxes : tensor or array of shape (k, 4)
        ``x1, y1, x2, y2`` per box (torchvision's convention).
    labels : sequence of int, optional
        One class per box, written above it (through ``class_names`` when given).
    scores : sequence of float, optional
        One confidence per box, written after the label with two decimals.
    class_names : sequence of str, optional
        Names indexed by label.
    color : str, optional
        Edge and caption colour (default: the book's first colour).
    linewidth, fontsize : float
        Box line width and caption size.

    Returns
    -------
    list of matplotlib.patches.Rectangle
        The rectangles drawn, in the order of ``boxes``.
    """
    from matplotlib.patches import Rectangle

    from .plots import BOOK_COLORS

    arr = _boxes_array(boxes)
    k = len(arr)
    labels_arr = None if labels is None else _as_array(labels, "labels").reshape(-1)
    scores_arr = None if scores is None else _as_array(scores, "scores").reshape(-1)
    for name, values in (("labels", labels_arr), ("scores", scores_arr)):
        if values is not None and len(values) != k:
            raise ValueError(f"{name} has {len(values)} entries for {k} boxes")
    namer = _class_namer(class_names)
    color = color or BOOK_COLORS[0]
    patches = []
    for j, (x1, y1, x2, y2) in enumerate(arr):
        rect = Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=color,
                         linewidth=linewidth)
        ax.add_patch(rect)
        patches.append(rect)
        parts = []
        if labels_arr is not None:
            parts.append(str(namer(int(labels_arr[j]))))
        if scores_arr is not None:
            parts.append(f"{scores_arr[j]:.2f}")
        if parts:
            ax.text(x1 - 0.5, y1 - 1.0, " ".join(parts), color="white", fontsize=fontsize,
                    va="bottom", ha="left",
                    bbox=dict(facecolor=color, edgecolor="none", pad=1.0, alpha=0.85))
    return patches


def mask_to_rgb(mask, n_classes: int, *, background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Colour a mask of class indices: class 0 in ``background``, the others in distinct colours.

    Parameters
    ----------
    mask : tensor or array of ints, shape (H, W)
        Class index per pixel, from 0 to ``n_classes - 1``.
    n_classes : int
        Number of classes, background included (at most 21).
    background : RGB triple, default black

    Returns
    -------
    numpy.ndarray
        ``float`` RGB image of shape ``(H, W, 3)`` in [0, 1], ready for ``imshow``. The same class
        always gets the same colour, so panels of one figure can be compared.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or not 2 <= n_classes <= 21:
        raise ValueError(f"n_classes must be an int from 2 to 21, got {n_classes!r}")
    arr = _as_array(mask, "mask")
    if arr.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {arr.shape}")
    if (arr != np.round(arr)).any() or arr.min(initial=0) < 0 or arr.max(initial=0) >= n_classes:
        raise ValueError(f"mask must hold class indices from 0 to {n_classes - 1}")
    palette = np.vstack([np.asarray(background, dtype=float).reshape(1, 3),
                         plt.get_cmap("tab20")(np.arange(n_classes - 1))[:, :3]])
    return palette[arr.astype(int)]
