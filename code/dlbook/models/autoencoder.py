"""Autoencoders: convolutional encoder and decoder blocks, a wrapper, and two measurements.

The chapter *Autoencoders* builds these pieces inline, tests their shapes, then uses them from
here; later chapters (generative models, segmentation) reuse the upsampling blocks::

    from dlbook.models.autoencoder import AutoEncoder, ConvDecoder, ConvEncoder

    model = AutoEncoder(ConvEncoder(code_size=10), ConvDecoder(code_size=10))
    model(torch.rand(8, 1, 28, 28)).shape        # (8, 1, 28, 28): a reconstruction
    model.encode(torch.rand(8, 1, 28, 28)).shape # (8, 10): the codes

``ConvDecoder(upsample="transpose")`` doubles height and width with ``nn.ConvTranspose2d``
(kernel 3, stride 2), which produces checkerboard artefacts; ``upsample="resize"`` uses
nearest-neighbour upsampling followed by a 3x3 ``nn.Conv2d`` ("resize-convolution", Odena et
al., 2016), which cannot. :func:`checkerboard_score` measures the difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import check_int as _int
from ._checks import int_sequence as _channels

__all__ = ["conv_transpose_output_size", "down_block", "up_block", "ConvEncoder",
           "ConvDecoder", "AutoEncoder", "checkerboard_score"]

_UPSAMPLE_MODES = ("transpose", "resize")


def _activation_class(name: str, value) -> type[nn.Module] | None:
    if value is None or (isinstance(value, type) and issubclass(value, nn.Module)):
        return value
    raise TypeError(f"{name} must be an nn.Module class such as nn.Sigmoid (the class, not an instance) "
                    f"or None, got {value!r}")


def conv_transpose_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Height (or width) of the output of ``nn.ConvTranspose2d`` for an input of height ``size``.

    .. math:: o = (n - 1)s - 2p + d(k - 1) + p_\\text{out} + 1

    Parameters
    ----------
    size : int
        Input height or width ``n`` (at least 1).
    kernel_size, stride, dilation : int
        ``k``, ``s`` and ``d`` (at least 1).
    padding, output_padding : int
        ``p`` and ``p_out`` (at least 0). PyTorch requires ``output_padding`` to be smaller than
        ``stride`` or ``dilation``; this is checked too.

    Returns
    -------
    int
        The output size; a ``ValueError`` if it would not be positive.
    """
    n = _int("size", size, 1)
    k, s, d = _int("kernel_size", kernel_size, 1), _int("stride", stride, 1), _int("dilation", dilation, 1)
    p, op = _int("padding", padding, 0), _int("output_padding", output_padding, 0)
    if op >= max(s, d):
        raise ValueError(f"output_padding must be smaller than stride or dilation, got output_padding={op}, "
                         f"stride={s}, dilation={d}")
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(f"a transposed convolution with size={n}, kernel_size={k}, stride={s}, padding={p}, "
                         f"output_padding={op}, dilation={d} has no output (size {out}); reduce the padding")
    return out


def down_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """``Conv2d(kernel 3, stride 2, padding 1) -> ReLU``: halves height and width (rounding up).

    Parameters
    ----------
    in_channels, out_channels : int
    """
    _int("in_channels", in_channels, 1)
    _int("out_channels", out_channels, 1)
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1), nn.ReLU())


def up_block(in_channels: int, out_channels: int, *, mode: str = "transpose",
             activation: bool = True) -> nn.Sequential:
    """A layer that doubles height and width, then (optionally) a ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
    mode : {"transpose", "resize"}, default "transpose"
        ``"transpose"``: ``ConvTranspose2d(kernel 3, stride 2, padding 1, output_padding 1)``,
        whose kernel footprints overlap unevenly (checkerboard artefacts). ``"resize"``:
        ``Upsample(scale_factor=2, mode="nearest") -> Conv2d(kernel 3, padding 1)``, which maps a
        constant input to a constant output away from the border, whatever its weights.
    activation : bool, default True
        Append ``nn.ReLU()``; the last block of a decoder leaves it out.
    """
    _int("in_channels", in_channels, 1)
    _int("out_channels", out_channels, 1)
    if mode == "transpose":
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1,
                                                      output_padding=1)]
    elif mode == "resize":
        layers = [nn.Upsample(scale_factor=2, mode="nearest"),
                  nn.Conv2d(in_channels, out_channels, 3, padding=1)]
    else:
        raise ValueError(f"mode must be one of {_UPSAMPLE_MODES}, got {mode!r}")
    if not isinstance(activation, bool):
        raise TypeError(f"activation must be True or False, got {type(activation).__name__}")
    if activation:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_image_size(image_size: int, n_blocks: int) -> int:
    _int("image_size", image_size, 1)
    factor = 2 ** n_blocks
    if image_size % factor:
        raise ValueError(f"image_size must be divisible by 2**{n_blocks} = {factor} (one halving per block), "
                         f"got {image_size}")
    return image_size // factor


class ConvEncoder(nn.Sequential):
    """Images to codes: ``down_block`` per entry of ``channels``, then ``Flatten -> Linear``.

    Parameters
    ----------
    in_channels : int, default 1
    image_size : int, default 28
        Height and width of the (square) input; divisible by ``2 ** len(channels)``.
    channels : sequence of int, default (16, 32)
        Output channels of the stride-2 convolutions; each halves the height and width.
    code_size : int, default 10
        Length of the code vector.

    Attributes
    ----------
    code_size, in_channels, image_size : int
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, channels: Sequence[int] = (16, 32),
                 code_size: int = 10) -> None:
        _int("in_channels", in_channels, 1)
        channels = _channels("channels", channels)
        side = _check_image_size(image_size, len(channels))
        _int("code_size", code_size, 1)
        blocks = [down_block(a, b) for a, b in zip((in_channels, *channels[:-1]), channels)]
        super().__init__(*blocks, nn.Flatten(), nn.Linear(channels[-1] * side * side, code_size))
        self.in_channels, self.image_size, self.code_size = in_channels, image_size, code_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"ConvEncoder expects images of shape (N, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        return super().forward(x)


class ConvDecoder(nn.Sequential):
    """Codes to images: ``Linear -> ReLU -> Unflatten``, then one ``up_block`` per entry of ``channels``.

    Parameters
    ----------
    code_size : int, default 10
    out_channels : int, default 1
    image_size : int, default 28
        Height and width of the output; divisible by ``2 ** len(channels)``.
    channels : sequence of int, default (32, 16)
        Channels of the feature maps entering each upsampling block, from the smallest map
        (``channels[0]`` at ``image_size / 2**len(channels)``) to the largest; the last block
        outputs ``out_channels``.
    upsample : {"transpose", "resize"}, default "transpose"
        The kind of :func:`up_block`.
    out_activation : type of nn.Module or None, default nn.Sigmoid
        Applied to the output: ``nn.Sigmoid`` for images in [0, 1], ``nn.Tanh`` for [-1, 1],
        ``None`` for unbounded outputs.
    """

    def __init__(self, code_size: int = 10, out_channels: int = 1, image_size: int = 28,
                 channels: Sequence[int] = (32, 16), upsample: str = "transpose",
                 out_activation: type[nn.Module] | None = nn.Sigmoid) -> None:
        _int("code_size", code_size, 1)
        _int("out_channels", out_channels, 1)
        channels = _channels("channels", channels)
        side = _check_image_size(image_size, len(channels))
        if upsample not in _UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {_UPSAMPLE_MODES}, got {upsample!r}")
        out_activation = _activation_class("out_activation", out_activation)
        layers: list[nn.Module] = [nn.Linear(code_size, channels[0] * side * side), nn.ReLU(),
                                   nn.Unflatten(1, (channels[0], side, side))]
        outs = (*channels[1:], out_channels)
        for i, (a, b) in enumerate(zip(channels, outs)):
            layers.append(up_block(a, b, mode=upsample, activation=i < len(channels) - 1))
        if out_activation is not None:
            layers.append(out_activation())
        super().__init__(*layers)
        self.code_size, self.out_channels, self.image_size, self.upsample = (code_size, out_channels,
                                                                             image_size, upsample)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.code_size:
            raise ValueError(f"ConvDecoder expects codes of shape (N, {self.code_size}), got {tuple(z.shape)}")
        return super().forward(z)


class AutoEncoder(nn.Module):
    """``decoder(encoder(x))``, with the two halves reachable as ``encode`` and ``decode``.

    Parameters
    ----------
    encoder, decoder : nn.Module
        Any pair whose shapes fit: the encoder maps inputs to codes, the decoder maps codes to
        outputs of the inputs' shape (for instance :class:`ConvEncoder` and :class:`ConvDecoder`
        with the same ``code_size``, or two :class:`~dlbook.models.MLP`).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        for name, part in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(part, nn.Module):
                raise TypeError(f"{name} must be an nn.Module, got {type(part).__name__}")
        self.encoder, self.decoder = encoder, decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codes of ``x``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The outputs (reconstructions) for codes ``z``."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def checkerboard_score(images: torch.Tensor, border: int = 2) -> float:
    """The share of an image's variance that repeats every two pixels: a checkerboard detector.

    The pixels of each image (and channel) are split into the four phases ``(row % 2, col % 2)``
    of the pixel grid. The score is the variance *between* the four phase means divided by the
    total variance of the pixels (the "eta squared" of an analysis of variance), averaged over
    images and channels. It lies in [0, 1]: 1 for a pure pattern of period two (the artefact of a
    stride-2 transposed convolution on a flat input), near 0 for content that does not care about
    the parity of its coordinates, and 0 by definition for a constant image.

    Parameters
    ----------
    images : torch.Tensor
        Shape ``(N, C, H, W)`` or ``(N, H, W)``, floating point.
    border : int, default 2
        Pixels dropped at each edge first, where zero padding changes the pattern.

    Returns
    -------
    float
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, C, H, W) or (N, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point, got {images.dtype}")
    _int("border", border, 0)
    x = images.detach()
    if border:
        x = x[..., border:-border, border:-border]
    h, w = x.shape[-2] - x.shape[-2] % 2, x.shape[-1] - x.shape[-1] % 2
    if h < 2 or w < 2:
        raise ValueError(f"images of shape {tuple(images.shape)} are too small for border={border}: "
                         "at least 2x2 pixels must remain")
    x = x[..., :h, :w].double()
    phases = torch.stack([x[..., a::2, b::2].mean(dim=(-2, -1)) for a in (0, 1) for b in (0, 1)], dim=-1)
    between = phases.var(dim=-1, unbiased=False)     # the four phases hold equally many pixels
    total = x.var(dim=(-2, -1), unbiased=False)
    # A (numerically) constant image has no pattern at all: score 0, not 0/0.
    flat = total <= 1e-12 * x.abs().mean(dim=(-2, -1)).square() + 1e-300
    score = torch.where(flat, torch.zeros_like(total), between / total.clamp_min(1e-300))
    return float(score.mean())
