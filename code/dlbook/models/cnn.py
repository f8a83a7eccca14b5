"""Convolutional building blocks and a small CNN for 32x32 colour images such as CIFAR-10.

The chapter *CIFAR-10: a real CNN* writes these blocks inline, then uses them from here::

    from dlbook.models.cnn import CifarCNN, ConvBlock

    model = CifarCNN(channels=(32, 64), hidden=(128,), conv_dropout=0.25, fc_dropout=0.5)
    model(torch.zeros(8, 3, 32, 32)).shape        # torch.Size([8, 10]): logits

Every block is an ``nn.Sequential`` with named children, so it prints layer by layer and its
``state_dict`` keys read like ``features.0.conv.weight``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from ._checks import positive_int as _positive_int, probability as _probability

__all__ = ["ConvBlock", "LinearBlock", "CifarCNN"]


def _activation(activation) -> nn.Module:
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise TypeError("activation must be an nn.Module class such as nn.ReLU (the class, not an instance), "
                    f"got {activation!r}")


class ConvBlock(nn.Sequential):
    """``Conv2d -> [BatchNorm2d] -> activation -> [Dropout] -> [MaxPool2d]``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the block's input and output.
    kernel_size : int, default 3
    padding : int, optional
        Zero padding of the convolution; by default ``kernel_size // 2``, which keeps height and
        width unchanged for odd kernel sizes ("same" padding).
    dropout : float, default 0.0
        Probability of the (element-wise) dropout after the activation; no dropout layer if 0.
    pool : int, default 2
        Kernel size and stride of the max pooling; ``1`` means no pooling layer.
    batchnorm : bool, default False
        Put a ``BatchNorm2d`` between convolution and activation (the convolution then has no bias,
        which the normalisation would cancel).
    activation : type of nn.Module, default nn.ReLU

    Notes
    -----
    ReLU and dropout commute: dropout multiplies each value by 0 or by ``1/(1-p) > 0``, and ReLU
    keeps the sign, so ``relu(dropout(x))`` equals ``dropout(relu(x))`` for the same mask. The
    block applies dropout after the activation, the usual order for other activations.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 padding: int | None = None, dropout: float = 0.0, pool: int = 2,
                 batchnorm: bool = False, activation: type[nn.Module] = nn.ReLU) -> None:
        _positive_int("in_channels", in_channels)
        _positive_int("out_channels", out_channels)
        _positive_int("kernel_size", kernel_size)
        _positive_int("pool", pool)
        if padding is None:
            padding = kernel_size // 2
        elif isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be a non-negative int or None, got {padding!r}")
        dropout = _probability("dropout", dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv"] = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding,
                                   bias=not batchnorm)
        if batchnorm:
            layers["norm"] = nn.BatchNorm2d(out_channels)
        layers["act"] = _activation(activation)
        if dropout:
            layers["drop"] = nn.Dropout(dropout)
        if pool > 1:
            layers["pool"] = nn.MaxPool2d(pool)
        super().__init__(layers)


class LinearBlock(nn.Sequential):
    """``Linear -> activation -> [Dropout]``: one hidden layer of a classifier head.

    Parameters
    ----------
    in_features, out_features : int
    dropout : float, default 0.0
        Probability of the dropout after the activation; no dropout layer if 0.
    activation : type of nn.Module, default nn.ReLU
    """

    def __init__(self, in_features: int, out_features: int, *, dropout: float = 0.0,
                 activation: type[nn.Module] = nn.ReLU) -> None:
        _positive_int("in_features", in_features)
        _positive_int("out_features", out_features)
        dropout = _probability("dropout", dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["linear"] = nn.Linear(in_features, out_features)
        layers["act"] = _activation(activation)
        if dropout:
            layers["drop"] = nn.Dropout(dropout)
        super().__init__(layers)


class CifarCNN(nn.Sequential):
    """A small CNN classifier: ``features`` (ConvBlocks) -> ``flatten`` -> ``classifier``.

    Each :class:`ConvBlock` keeps the spatial size with padded 3x3 convolutions and halves it with
    2x2 max pooling, so after ``k`` blocks an ``image_size`` image is ``image_size / 2**k`` pixels
    on a side, and the first linear layer takes ``channels[-1] * (image_size / 2**k)**2`` inputs.
    The defaults give the classic two-block network for CIFAR-10
    (``Conv 3->32, pool, Conv 32->64, pool, Linear 4096->128, Linear 128->10``; 545,098 parameters).

    Parameters
    ----------
    channels : sequence of int, default (32, 64)
        Output channels of the convolutional blocks.
    hidden : sequence of int, default (128,)
        Widths of the hidden linear layers (may be empty).
    n_classes : int, default 10
        Number of outputs (logits; use ``nn.CrossEntropyLoss``).
    in_channels : int, default 3
    image_size : int, default 32
        Height and width of the (square) input; must be divisible by ``2 ** len(channels)``.
    conv_dropout, fc_dropout : float, default 0.0
        Dropout probability in every convolutional block, and after every hidden linear layer.
    batchnorm : bool, default False
        BatchNorm in every convolutional block.
    """

    def __init__(self, channels: Sequence[int] = (32, 64), hidden: Sequence[int] = (128,),
                 n_classes: int = 10, *, in_channels: int = 3, image_size: int = 32,
                 conv_dropout: float = 0.0, fc_dropout: float = 0.0, batchnorm: bool = False) -> None:
        channels, hidden = list(channels), list(hidden)
        if not channels:
            raise ValueError("channels must name at least one convolutional block, e.g. (32, 64)")
        for i, c in enumerate(channels):
            _positive_int(f"channels[{i}]", c)
        for i, h in enumerate(hidden):
            _positive_int(f"hidden[{i}]", h)
        _positive_int("n_classes", n_classes)
        _positive_int("in_channels", in_channels)
        _positive_int("image_size", image_size)
        _probability("conv_dropout", conv_dropout)
        _probability("fc_dropout", fc_dropout)
        shrink = 2 ** len(channels)
        if image_size % shrink:
            raise ValueError(f"image_size must be divisible by 2**len(channels) = {shrink} (each block halves "
                             f"it), got image_size={image_size} with {len(channels)} blocks")
        blocks = [ConvBlock(a, b, dropout=conv_dropout, batchnorm=batchnorm)
                  for a, b in zip([in_channels, *channels[:-1]], channels)]
        side = image_size // shrink
        widths = [channels[-1] * side * side, *hidden]
        head: list[nn.Module] = [LinearBlock(a, b, dropout=fc_dropout) for a, b in zip(widths[:-1], widths[1:])]
        head.append(nn.Linear(widths[-1], n_classes))
        super().__init__(OrderedDict(features=nn.Sequential(*blocks), flatten=nn.Flatten(),
                                     classifier=nn.Sequential(*head)))
        self.flat_features = widths[0]
