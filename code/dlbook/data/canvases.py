"""A detection and segmentation data set made from real digits: MNIST digits placed on canvases.

Each canvas holds one to a few handwritten digits at random sizes and positions, with everything a
detector or a segmenter is trained on: a tight box per digit, its class, a per-pixel class mask and
one mask per digit. Boxes never overlap, so the instance masks are disjoint and the semantic mask is
their union. The digits come from MNIST's training or test split, so canvases made for testing
hold digits no model saw during training.

>>> canvases = make_digit_canvases(8, seed=0)          # doctest: +SKIP
>>> canvases.images.shape, canvases.boxes[0]            # doctest: +SKIP
(torch.Size([8, 1, 64, 64]), tensor([[x1, y1, x2, y2], ...]))
>>> model(canvases.images, canvases.targets())          # a torchvision detector  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from .synthetic import _rng

__all__ = ["CANVAS_CLASSES", "DigitCanvases", "make_digit_canvases"]

#: Class names as torchvision's detectors number them: 0 is the background, digit d is d + 1.
CANVAS_CLASSES = ("background",) + tuple(str(d) for d in range(10))

#: Grey level (0 to 1) from which a pixel of a resized digit counts as ink, for boxes and masks.
INK_THRESHOLD = 0.5


class DigitCanvases(NamedTuple):
    """Canvases with their annotations (see :func:`make_digit_canvases`)."""

    images: "torch.Tensor"        # float32 (n, 1, size, size) in [0, 1]
    boxes: list                   # n float32 tensors (k, 4): x1, y1, x2, y2 in pixels
    labels: list                  # n int64 tensors (k,): digits 0-9
    semantic: "torch.Tensor"      # int64 (n, size, size): 0 background, d + 1 for digit d
    instances: list               # n bool tensors (k, size, size)

    def targets(self, masks: bool = False) -> list[dict]:
        """Annotations in the format of torchvision's detection models.

        Parameters
        ----------
        masks : bool, default False
            Include each digit's mask (``uint8`` of shape ``(k, size, size)``), as Mask R-CNN
            expects.

        Returns
        -------
        list of dict
            One dict per canvas with ``"boxes"`` (``float32 (k, 4)``, xyxy) and ``"labels"``
            (``int64 (k,)``, the digit plus one, because torchvision reserves 0 for the
            background), and ``"masks"`` when asked for.
        """
        out = []
        for i, (boxes, labels) in enumerate(zip(self.boxes, self.labels)):
            target = {"boxes": boxes.clone(), "labels": labels + 1}
            if masks:
                target["masks"] = self.instances[i].to(dtype=__import__("torch").uint8)
            out.append(target)
        return out


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def make_digit_canvases(n: int, *, size: int = 64, min_digits: int = 1, max_digits: int = 3,
                        digit_size: tuple[int, int] = (16, 32), train: bool = True,
                        seed: int | np.random.Generator | None = 0,
                        root: str | os.PathLike | None = None,
                        download: bool | None = None) -> DigitCanvases:
    """Place real MNIST digits on blank canvases and annotate them for detection and segmentation.

    Every digit is resized to a random square side in ``digit_size`` (antialiased bilinear), and
    placed at a random position where its ink rectangle, grown by one pixel, overlaps no other
    digit's; when no free place turns up in 100 tries, that canvas holds fewer digits (always at
    least one). A pixel is ink when its resized grey level is at least 0.5: the masks are the ink
    pixels and each box is the tightest one around its mask. The faint antialiased rim below 0.5
    stays in the image but belongs to no mask.

    Parameters
    ----------
    n : int
        Number of canvases.
    size : int, default 64
        Canvas height and width in pixels; at least ``digit_size[1]``.
    min_digits, max_digits : int, default 1 and 3
        Each canvas asks for a number of digits drawn uniformly from this range.
    digit_size : (int, int), default (16, 32)
        Smallest and largest side (pixels) of a resized 28x28 MNIST digit; at least 8.
    train : bool, default True
        Take the digits from MNIST's training split (True) or test split (False).
    seed : int or numpy.random.Generator, default 0
        Makes the canvases reproducible.
    root, download
        Passed to :func:`dlbook.data.load_mnist`.

    Returns
    -------
    DigitCanvases
        ``images`` float32 ``(n, 1, size, size)`` in [0, 1] (ink is bright); ``boxes``, a list of
        ``n`` float32 ``(k, 4)`` tensors in torchvision's ``xyxy`` convention, in pixels, with
        ``x2``/``y2`` one past the last ink column/row (so ``x2 - x1`` is the width in pixels);
        ``labels``, a list of ``n`` int64 ``(k,)`` tensors with the digits 0-9; ``semantic``,
        int64 ``(n, size, size)`` with 0 for background and ``d + 1`` for a pixel of digit ``d``;
        ``instances``, a list of ``n`` bool ``(k, size, size)`` tensors, one mask per digit in
        the order of its box. :meth:`DigitCanvases.targets` gives torchvision's target dicts.
    """
    import torch
    import torch.nn.functional as F

    from .vision import load_mnist

    n = _check_int("n", n, 1)
    size = _check_int("size", size, 8)
    min_digits = _check_int("min_digits", min_digits, 1)
    max_digits = _check_int("max_digits", max_digits, 1)
    if max_digits < min_digits:
        raise ValueError(f"max_digits ({max_digits}) must be >= min_digits ({min_digits})")
    if (not isinstance(digit_size, (tuple, list)) or len(digit_size) != 2
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in digit_size)):
        raise TypeError(f"digit_size must be a pair of ints (smallest, largest), got {digit_size!r}")
    lo, hi = int(digit_size[0]), int(digit_size[1])
    if not 8 <= lo <= hi:
        raise ValueError(f"digit_size must satisfy 8 <= smallest <= largest, got {digit_size!r}")
    if hi > size:
        raise ValueError(f"the largest digit ({hi} px) does not fit on a canvas of size {size}")
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True or False, got {train!r}")

    rng = _rng(seed)                  # a bad seed is reported before any data is read
    digits, digit_labels = load_mnist(train=bool(train), root=root, download=download)
    images = torch.zeros(n, 1, size, size)
    semantic = torch.zeros(n, size, size, dtype=torch.int64)
    all_boxes, all_labels, all_instances = [], [], []
    for i in range(n):
        wanted = int(rng.integers(min_digits, max_digits + 1))
        taken: list[tuple[int, int, int, int]] = []          # ink rectangles grown by 1 px
        boxes, labels, masks = [], [], []
        for _ in range(wanted):
            ink = None
            while ink is None or not ink.any():      # a faint digit can vanish when shrunk
                index = int(rng.integers(0, len(digits)))
                side = int(rng.integers(lo, hi + 1))
                patch = F.interpolate(digits[index].float()[None, None] / 255.0,
                                      size=(side, side), mode="bilinear", antialias=True,
                                      align_corners=False)[0, 0].clamp_(0.0, 1.0)
                ink = patch >= INK_THRESHOLD
            rows, cols = torch.nonzero(ink.any(1)).flatten(), torch.nonzero(ink.any(0)).flatten()
            r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
            # Crop to the ink plus a one-pixel rim (the antialiased edge), then find a free place.
            r0, c0 = max(r0 - 1, 0), max(c0 - 1, 0)
            r1, c1 = min(r1 + 1, side), min(c1 + 1, side)
            patch, ink = patch[r0:r1, c0:c1], ink[r0:r1, c0:c1]
            h, w = patch.shape
            for _attempt in range(100):
                y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
                if all(y + h <= ty or ty + th <= y or x + w <= tx or tx + tw <= x
                       for ty, tx, th, tw in taken):
                    break
            else:
                continue
            taken.append((y, x, h, w))
            images[i, 0, y:y + h, x:x + w] = patch
            mask = torch.zeros(size, size, dtype=torch.bool)
            mask[y:y + h, x:x + w] = ink
            semantic[i][mask] = int(digit_labels[index]) + 1
            ys, xs = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
            boxes.append([float(xs[0]), float(ys[0]), float(xs[-1]) + 1, float(ys[-1]) + 1])
            labels.append(int(digit_labels[index]))
            masks.append(mask)
        all_boxes.append(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
        all_labels.append(torch.tensor(labels, dtype=torch.int64))
        all_instances.append(torch.stack(masks) if masks else torch.zeros(0, size, size, dtype=torch.bool))
    return DigitCanvases(images, all_boxes, all_labels, semantic, all_instances)
