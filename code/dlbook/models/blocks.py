"""Building blocks of modern CNNs: a residual block and an Inception module.

The chapter *Building blocks of modern CNNs* builds both and explains them; later chapters reuse
them::

    from dlbook.models.blocks import InceptionBlock, ResidualBlock

    block = ResidualBlock(16, 32, stride=2)        # 1x1 projection shortcut: channels and size change
    block(torch.zeros(8, 16, 28, 28)).shape        # (8, 32, 14, 14)
    inception = InceptionBlock(192, 64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16)
    inception.out_channels                         # 256 = 64 + 128 + 32 + 32
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResidualBlock", "InceptionBlock", "conv_bn_relu"]


def _check_channels(**sizes) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be a positive number of channels, got {value}")


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, *, stride: int = 1,
                 batchnorm: bool = True) -> nn.Sequential:
    """``Conv2d -> BatchNorm2d -> ReLU`` with "same" padding for odd kernels.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int, default 3
        An odd size; the padding ``kernel_size // 2`` keeps height and width (at stride 1).
    stride : int, default 1
    batchnorm : bool, default True
        With BatchNorm the convolution has no bias (BatchNorm's shift replaces it); without it,
        the block is ``Conv2d (with bias) -> ReLU``.
    """
    _check_channels(in_channels=in_channels, out_channels=out_channels)
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                                         padding=kernel_size // 2, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """The basic residual block of He et al. (2016): ``ReLU(F(x) + shortcut(x))``.

    ``F`` is ``conv3x3 (stride) -> BN -> ReLU -> conv3x3 -> BN``, both convolutions without bias.
    The shortcut is the identity when input and output have the same shape; when the number of
    channels or the stride changes it is a *projection*, ``conv1x1 (stride) -> BN``.

    Parameters
    ----------
    in_channels, out_channels : int
    stride : int, default 1
        Stride of the first 3x3 convolution (and of the projection): 2 halves height and width.
    skip : bool, default True
        ``False`` builds the same block without its shortcut, ``ReLU(F(x))``: the "plain" network
        for comparisons. It then has no projection either.

    Attributes
    ----------
    body : nn.Sequential
        The residual branch ``F``.
    shortcut : nn.Module or None
        ``nn.Identity()``, the projection (an ``nn.Sequential`` of ``Conv2d`` and ``BatchNorm2d``),
        or ``None`` when ``skip=False``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, skip: bool = True) -> None:
        super().__init__()
        _check_channels(in_channels=in_channels, out_channels=out_channels)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        if not isinstance(skip, bool):
            raise TypeError(f"skip must be True or False, got {type(skip).__name__}")
        self.in_channels, self.out_channels, self.stride, self.skip = in_channels, out_channels, stride, skip
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module | None
        if not skip:
            self.shortcut = None
        elif stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    @property
    def projection(self) -> bool:
        """Whether the shortcut is a 1x1 projection (rather than the identity or none)."""
        return isinstance(self.shortcut, nn.Sequential)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResidualBlock expects input of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        out = self.body(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return torch.relu(out)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}, skip={self.skip}"


class InceptionBlock(nn.Module):
    """An Inception module (Szegedy et al., 2015): four parallel branches, concatenated.

    The branches see the same input and keep its height and width:

    1. a 1x1 convolution with ``out_1x1`` channels;
    2. a 3x3 convolution with ``out_3x3`` channels, after a 1x1 reduction to ``reduce_3x3``;
    3. a 5x5 convolution with ``out_5x5`` channels, after a 1x1 reduction to ``reduce_5x5``;
    4. 3x3 max-pooling (stride 1), then a 1x1 projection to ``out_pool`` channels.

    Their outputs are concatenated along the channel dimension. Every convolution is followed by
    BatchNorm (if ``batchnorm``) and ReLU, as in :func:`conv_bn_relu`.

    Parameters
    ----------
    in_channels, out_1x1, out_3x3, out_5x5 : int
    out_pool : int or None
        Channels of the pooling branch's projection; ``None`` passes the pooled input on
        unchanged (``in_channels`` channels), as in the paper's "naive" module.
    reduce_3x3, reduce_5x5 : int or None, optional
        Channels of the 1x1 reductions; ``None`` (the default) omits the reduction, so the 3x3 or
        5x5 convolution reads all ``in_channels``.
    batchnorm : bool, default True

    Attributes
    ----------
    out_channels : int
        ``out_1x1 + out_3x3 + out_5x5 + (out_pool or in_channels)``.
    branches : nn.ModuleList
        The four branches, in the order above.
    """

    def __init__(self, in_channels: int, out_1x1: int, out_3x3: int, out_5x5: int, out_pool: int | None, *,
                 reduce_3x3: int | None = None, reduce_5x5: int | None = None, batchnorm: bool = True) -> None:
        super().__init__()
        _check_channels(in_channels=in_channels, out_1x1=out_1x1, out_3x3=out_3x3, out_5x5=out_5x5)
        optional = {"out_pool": out_pool, "reduce_3x3": reduce_3x3, "reduce_5x5": reduce_5x5}
        _check_channels(**{k: v for k, v in optional.items() if v is not None})
        self.in_channels = in_channels

        def reduced(reduce: int | None, out: int, kernel: int) -> nn.Sequential:
            if reduce is None:
                return conv_bn_relu(in_channels, out, kernel, batchnorm=batchnorm)
            return nn.Sequential(conv_bn_relu(in_channels, reduce, 1, batchnorm=batchnorm),
                                 conv_bn_relu(reduce, out, kernel, batchnorm=batchnorm))

        pool: list[nn.Module] = [nn.MaxPool2d(3, stride=1, padding=1)]
        if out_pool is not None:
            pool.append(conv_bn_relu(in_channels, out_pool, 1, batchnorm=batchnorm))
        self.branches = nn.ModuleList([
            conv_bn_relu(in_channels, out_1x1, 1, batchnorm=batchnorm),
            reduced(reduce_3x3, out_3x3, 3),
            reduced(reduce_5x5, out_5x5, 5),
            nn.Sequential(*pool),
        ])
        self.out_channels = out_1x1 + out_3x3 + out_5x5 + (in_channels if out_pool is None else out_pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"InceptionBlock expects input of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        return torch.cat([branch(x) for branch in self.branches], dim=1)
