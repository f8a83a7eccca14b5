"""Data augmentation on whole batches of image tensors, on whatever device they live.

torchvision's transforms augment one image at a time (in a ``Dataset``), and its v2 transforms,
given a batch tensor, draw *one* set of random parameters for the whole batch. Here every image
of a batch gets its own random crop and flip, in a few tensor operations::

    from dlbook.data.augment import BatchAugment

    model = nn.Sequential(BatchAugment(padding=4), net)    # augments in train mode only
    trainer = Trainer(model, ...)                            # batches arrive on the device

``BatchAugment`` is the identity in ``eval()`` mode, so ``Trainer.evaluate`` and ``predict`` see
the images unchanged. Random draws are made on the CPU (or on the device of ``generator``), so a
given seed produces the same crops and flips on a CPU and on a GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["random_crop_flip", "BatchAugment"]


def _check_images(x) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got a {x.ndim}-D tensor of shape {tuple(x.shape)}")


def _check_options(padding, flip_p, generator) -> None:
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int (pixels added on each side), got {padding!r}")
    if isinstance(flip_p, bool) or not isinstance(flip_p, (int, float)) or not 0.0 <= flip_p <= 1.0:
        raise ValueError(f"flip_p must be a probability in [0, 1], got {flip_p!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def random_crop_flip(x: torch.Tensor, padding: int = 4, flip_p: float = 0.5, *,
                     fill: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad, randomly crop back to size, and randomly flip left-right, each image independently.

    Parameters
    ----------
    x : torch.Tensor
        A batch of images ``(N, C, H, W)`` of any dtype, on any device.
    padding : int, default 4
        Pixels of ``fill`` added on every side before cropping an ``H x W`` window at a random
        offset, so each image moves by up to ``padding`` pixels in each direction. 0: no crop.
    flip_p : float, default 0.5
        Probability that an image is mirrored left-right.
    fill : float, default 0.0
        Value of the padding (0 is black for images in [0, 1] or 0..255).
    generator : torch.Generator, optional
        Source of the random draws (offsets first, then flips); the global CPU generator if
        ``None``. Draws happen on the generator's device and are then moved to ``x.device``.

    Returns
    -------
    torch.Tensor
        A new tensor with the shape, dtype and device of ``x``.
    """
    _check_images(x)
    _check_options(padding, flip_p, generator)
    n, c, h, w = x.shape
    draw = generator.device if generator is not None else torch.device("cpu")
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=draw).to(x.device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=draw).to(x.device)
    flip = (torch.rand(n, generator=generator, device=draw) < flip_p).to(x.device)
    rows = top[:, None] + torch.arange(h, device=x.device)             # (N, H) source rows
    cols = left[:, None] + torch.arange(w, device=x.device)            # (N, W) source columns
    cols = torch.where(flip[:, None], cols.flip(1), cols)               # a flip reads columns backwards
    padded = F.pad(x, (padding,) * 4, value=fill) if padding else x
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


class BatchAugment(nn.Module):
    """Random crop (with padding) and horizontal flip per image, as a layer active in train mode only.

    Put it first in a model, ``nn.Sequential(BatchAugment(), net)``: the :class:`~dlbook.train.Trainer`
    moves each batch to the device and calls the model, so the augmentation runs on the device, on
    the whole batch, only while training. In ``eval()`` mode it returns its input unchanged.

    Parameters
    ----------
    padding : int, default 4
    flip_p : float, default 0.5
    fill : float, default 0.0
        See :func:`random_crop_flip`.
    generator : torch.Generator, optional
        A private random stream (e.g. ``torch.Generator().manual_seed(0)``); the global CPU
        generator if ``None``. Its state is part of the module's ``state_dict``, so a checkpoint
        resumes with the same augmentations.
    """

    def __init__(self, padding: int = 4, flip_p: float = 0.5, *, fill: float = 0.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_options(padding, flip_p, generator)
        self.padding, self.flip_p, self.fill, self.generator = padding, float(flip_p), float(fill), generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            _check_images(x)
            return x
        return random_crop_flip(x, self.padding, self.flip_p, fill=self.fill, generator=self.generator)

    def get_extra_state(self) -> dict:
        return {} if self.generator is None else {"generator": self.generator.get_state()}

    def set_extra_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise TypeError(f"BatchAugment state must be a dict, got {type(state).__name__}")
        if "generator" in state:
            if self.generator is None:
                raise ValueError("this state holds a generator state, but this BatchAugment has no generator; "
                                 "build it with generator=torch.Generator()")
            self.generator.set_state(state["generator"].cpu())

    def extra_repr(self) -> str:
        return f"padding={self.padding}, flip_p={self.flip_p}, fill={self.fill}"
