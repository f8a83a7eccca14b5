"""A small, configurable U-Net for semantic segmentation.

The chapter *Segmentation: a class for every pixel* builds the idea and trains this network on
digit canvases; later chapters reuse it::

    from dlbook.models.unet import UNet

    net = UNet(in_channels=1, n_classes=11, channels=(16, 32, 64))
    net(torch.zeros(8, 1, 64, 64)).shape        # (8, 11, 64, 64): one logit per class and pixel
    plain = UNet(1, 11, (16, 32, 64), skips=False)  # the same decoder without skip connections

The encoder is a stack of levels, each two ``conv 3x3 -> BatchNorm -> ReLU`` blocks, with 2x2 max
pooling between levels (height and width halve, the channels grow as ``channels`` says). The
decoder climbs back level by level: it doubles height and width (a 2x2 transposed convolution with
stride 2, or bilinear interpolation followed by a 1x1 convolution), concatenates the encoder's
feature map of the same level (the *skip connection*), and applies two more conv blocks. A final
1x1 convolution gives ``n_classes`` logits per pixel (Ronneberger, Fischer and Brox, 2015).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import conv_bn_relu
from ._checks import positive_int as _positive_int

__all__ = ["UNet", "double_conv"]

_UPSAMPLE_MODES = ("transpose", "bilinear")


def double_conv(in_channels: int, out_channels: int, *, batchnorm: bool = True) -> nn.Sequential:
    """Two ``conv 3x3 -> (BatchNorm) -> ReLU`` blocks with "same" padding: one level of a U-Net.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out; the middle has ``out_channels`` too.
    batchnorm : bool, default True
        Use BatchNorm after each convolution (the original U-Net had none).

    Returns
    -------
    torch.nn.Sequential
        Keeps height and width.
    """
    return nn.Sequential(conv_bn_relu(in_channels, out_channels, batchnorm=batchnorm),
                         conv_bn_relu(out_channels, out_channels, batchnorm=batchnorm))


class UNet(nn.Module):
    """A U-Net: an encoder, a mirrored decoder, and skip connections between them.

    Parameters
    ----------
    in_channels : int, default 1
        Channels of the input images.
    n_classes : int, default 2
        Number of classes: the output has one logit map per class.
    channels : sequence of int, default (16, 32, 64)
        Channels of each level, from the top (full resolution) to the bottom. With ``L`` levels the
        deepest feature map is ``2 ** (L - 1)`` times smaller than the input, so height and width
        must be at least ``2 ** (L - 1)``. Any size is accepted: when pooling rounds an odd size
        down, the decoder pads its upsampled map by one row or column to match.
    skips : bool, default True
        Concatenate each encoder level's features to the decoder's input at that level. With
        ``False`` the decoder sees only what came up from the bottom: an encoder-decoder without
        skip connections, for comparison.
    upsample : {"transpose", "bilinear"}, default "transpose"
        How the decoder doubles height and width: a learned ``ConvTranspose2d(kernel 2, stride 2)``
        as in the paper, or fixed bilinear interpolation followed by a 1x1 convolution that sets
        the channels.
    batchnorm : bool, default True
        BatchNorm after every 3x3 convolution.

    Notes
    -----
    Shapes: input ``(N, in_channels, H, W)`` -> output ``(N, n_classes, H, W)`` (logits).
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 2, channels: Sequence[int] = (16, 32, 64), *,
                 skips: bool = True, upsample: str = "transpose", batchnorm: bool = True) -> None:
        super().__init__()
        _positive_int("in_channels", in_channels)
        _positive_int("n_classes", n_classes)
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or len(channels) < 2:
            raise TypeError(f"channels must be a sequence of at least two ints such as (16, 32, 64), "
                            f"got {channels!r}")
        channels = tuple(_positive_int(f"channels[{i}]", c) for i, c in enumerate(channels))
        if not isinstance(skips, bool):
            raise TypeError(f"skips must be True or False, got {skips!r}")
        if upsample not in _UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {_UPSAMPLE_MODES}, got {upsample!r}")
        self.in_channels, self.n_classes, self.channels = in_channels, n_classes, channels
        self.skips, self.upsample_mode = skips, upsample

        widths = (in_channels, *channels)
        self.down = nn.ModuleList(double_conv(a, b, batchnorm=batchnorm) for a, b in zip(widths, channels))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.decode = nn.ModuleList()
        for deep, shallow in zip(channels[:0:-1], channels[-2::-1]):
            if upsample == "transpose":
                self.up.append(nn.ConvTranspose2d(deep, shallow, kernel_size=2, stride=2))
            else:
                self.up.append(nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                    nn.Conv2d(deep, shallow, kernel_size=1)))
            self.decode.append(double_conv(2 * shallow if skips else shallow, shallow, batchnorm=batchnorm))
        self.head = nn.Conv2d(channels[0], n_classes, kernel_size=1)

    @property
    def min_size(self) -> int:
        """The smallest height and width the network accepts: ``2 ** (levels - 1)``."""
        return 2 ** (len(self.channels) - 1)

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a tensor of shape (N, C, H, W), got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"height and width must be at least {self.min_size} for {len(self.channels)} "
                             f"levels, got {tuple(x.shape[-2:])}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel class logits ``(N, n_classes, H, W)`` for images ``(N, in_channels, H, W)``."""
        self._check_input(x)
        features = []
        for level, block in enumerate(self.down):
            if level:
                x = self.pool(x)
            x = block(x)
            features.append(x)
        for up, block, skip in zip(self.up, self.decode, reversed(features[:-1])):
            x = up(x)
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            if dh or dw:                    # an odd size was rounded down by pooling
                x = F.pad(x, (0, dw, 0, dh))
            if self.skips:
                x = torch.cat([skip, x], dim=1)
            x = block(x)
        return self.head(x)
