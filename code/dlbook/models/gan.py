"""Generative adversarial networks: a linear and a convolutional (DCGAN) pair, their losses, one step.

The chapter *Generative adversarial networks* builds the linear pair and the training step
inline, checks them against these, and then trains a DCGAN from here::

    from dlbook.models.gan import DCGANDiscriminator, DCGANGenerator, gan_step

    G, D = DCGANGenerator(latent_dim=64), DCGANDiscriminator()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    logs = gan_step(G, D, opt_g, opt_d, real_images, torch.randn(64, 64))
    logs["d_loss"], logs["g_loss"], logs["d_real"], logs["d_fake"]

Images are in ``[-1, 1]`` (the generators end in ``tanh``); discriminators return one logit per
image, shape ``(N,)``, to be used with ``binary_cross_entropy_with_logits``.

The losses follow Goodfellow et al. (2014): the discriminator minimises
``-log D(x) - log(1 - D(G(z)))`` (the negative of the value function, so ``2 ln 2`` when
``D = 1/2`` everywhere); the generator minimises ``-log D(G(z))`` (the *non-saturating* loss)
or, with ``saturating=True``, ``log(1 - D(G(z)))`` (the minimax loss as written in the game).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_int as _int
from ._checks import int_sequence as _sizes

__all__ = ["LinearGenerator", "LinearDiscriminator", "DCGANGenerator", "DCGANDiscriminator",
           "dcgan_init_", "discriminator_loss", "generator_loss", "gan_step"]


def _image_shape(image_shape) -> tuple[int, int, int]:
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence) or len(image_shape) != 3:
        raise TypeError(f"image_shape must be (channels, height, width), got {image_shape!r}")
    return tuple(_int(f"image_shape[{i}]", v, 1) for i, v in enumerate(image_shape))  # type: ignore[return-value]


def _slope(negative_slope) -> float:
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"negative_slope must be a number, got {type(negative_slope).__name__}")
    if not 0 <= negative_slope < 1:
        raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope}")
    return float(negative_slope)


def _check_latent(z: torch.Tensor, latent_dim: int, who: str) -> torch.Tensor:
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{who} expects a tensor of noise vectors, got {type(z).__name__}")
    if z.ndim == 4 and z.shape[2:] == (1, 1):
        z = z.flatten(1)
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{who} expects noise of shape (N, {latent_dim}) or (N, {latent_dim}, 1, 1), "
                         f"got {tuple(z.shape)}")
    return z


def _check_images(x: torch.Tensor, shape: tuple[int, int, int], who: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who} expects a tensor of images, got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != shape:
        raise ValueError(f"{who} expects images of shape (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}")


class LinearGenerator(nn.Sequential):
    """Noise to images with fully connected layers.

    ``(Linear -> BatchNorm1d -> ReLU)`` per entry of ``hidden``, then ``Linear -> Tanh`` to
    ``C * H * W`` values and ``Unflatten`` to ``(C, H, W)``.

    Parameters
    ----------
    latent_dim : int, default 64
        Length of the noise vector ``z``.
    hidden : sequence of int, default (256, 512)
        Widths of the hidden layers.
    image_shape : (int, int, int), default (1, 28, 28)
        Shape ``(C, H, W)`` of one generated image; values in ``[-1, 1]``.
    """

    def __init__(self, latent_dim: int = 64, hidden: Sequence[int] = (256, 512),
                 image_shape: Sequence[int] = (1, 28, 28)) -> None:
        _int("latent_dim", latent_dim, 1)
        hidden = _sizes("hidden", hidden)
        image_shape = _image_shape(image_shape)
        layers: list[nn.Module] = []
        for a, b in zip((latent_dim, *hidden[:-1]), hidden):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
        layers += [nn.Linear(hidden[-1], math.prod(image_shape)), nn.Tanh(), nn.Unflatten(1, image_shape)]
        super().__init__(*layers)
        self.latent_dim, self.image_shape = latent_dim, image_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(_check_latent(z, self.latent_dim, "LinearGenerator"))


class LinearDiscriminator(nn.Sequential):
    """Images to one logit each with fully connected layers.

    ``Flatten``, then ``(Linear -> LeakyReLU)`` per entry of ``hidden``, then ``Linear`` to one
    logit; the output has shape ``(N,)``.

    Parameters
    ----------
    image_shape : (int, int, int), default (1, 28, 28)
    hidden : sequence of int, default (512, 256)
    negative_slope : float, default 0.2
        Slope of the LeakyReLU for negative inputs.
    """

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), hidden: Sequence[int] = (512, 256),
                 negative_slope: float = 0.2) -> None:
        image_shape = _image_shape(image_shape)
        hidden = _sizes("hidden", hidden)
        slope = _slope(negative_slope)
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip((math.prod(image_shape), *hidden[:-1]), hidden):
            layers += [nn.Linear(a, b), nn.LeakyReLU(slope)]
        layers += [nn.Linear(hidden[-1], 1), nn.Flatten(0)]
        super().__init__(*layers)
        self.image_shape = image_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.image_shape, "LinearDiscriminator")
        return super().forward(x)


def _first_side(image_size: int, n_doublings: int) -> int:
    factor = 2 ** n_doublings
    if image_size % factor or image_size // factor < 1:
        raise ValueError(f"image_size must be divisible by 2**{n_doublings} = {factor} (one doubling per entry of "
                         f"channels), got {image_size}")
    return image_size // factor


class DCGANGenerator(nn.Sequential):
    """The DCGAN generator (Radford et al., 2016), sized by ``image_size`` and ``channels``.

    ``z`` is read as a 1x1 image with ``latent_dim`` channels. A ``ConvTranspose2d`` whose kernel
    covers the first feature map (``image_size / 2**len(channels)`` pixels, e.g. 7 for 28 with two
    entries) projects it to ``channels[0]`` maps; each further stage is a
    ``ConvTranspose2d(kernel 4, stride 2, padding 1)`` that doubles height and width. Every stage
    but the last has ``BatchNorm2d -> ReLU``; the last outputs ``out_channels`` maps and ends in
    ``Tanh``. No pooling and no fully connected hidden layers. Weights are initialised with
    :func:`dcgan_init_`.

    Parameters
    ----------
    latent_dim : int, default 64
    channels : sequence of int, default (128, 64)
        Channels of the feature maps, from the smallest map to the largest.
    out_channels : int, default 1
    image_size : int, default 28
        Height and width of the output; divisible by ``2 ** len(channels)``.
    """

    def __init__(self, latent_dim: int = 64, channels: Sequence[int] = (128, 64), out_channels: int = 1,
                 image_size: int = 28) -> None:
        _int("latent_dim", latent_dim, 1)
        channels = _sizes("channels", channels)
        _int("out_channels", out_channels, 1)
        _int("image_size", image_size, 1)
        side = _first_side(image_size, len(channels))
        layers: list[nn.Module] = [nn.Unflatten(1, (latent_dim, 1, 1)),
                                   nn.ConvTranspose2d(latent_dim, channels[0], side, 1, 0, bias=False),
                                   nn.BatchNorm2d(channels[0]), nn.ReLU()]
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        layers += [nn.ConvTranspose2d(channels[-1], out_channels, 4, 2, 1), nn.Tanh()]
        super().__init__(*layers)
        dcgan_init_(self)
        self.latent_dim, self.image_shape = latent_dim, (out_channels, image_size, image_size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(_check_latent(z, self.latent_dim, "DCGANGenerator"))


class DCGANDiscriminator(nn.Sequential):
    """The DCGAN discriminator (Radford et al., 2016): strided convolutions down to one logit.

    Each stage is a ``Conv2d(kernel 4, stride 2, padding 1)`` that halves height and width,
    followed by ``BatchNorm2d`` (not on the first stage, as in the paper) and ``LeakyReLU``; a last
    ``Conv2d`` whose kernel covers the remaining map gives one logit per image, shape ``(N,)``.
    Weights are initialised with :func:`dcgan_init_`.

    Parameters
    ----------
    in_channels : int, default 1
    channels : sequence of int, default (64, 128)
        Output channels of the strided convolutions, from the largest map to the smallest.
    image_size : int, default 28
        Divisible by ``2 ** len(channels)``.
    negative_slope : float, default 0.2
    """

    def __init__(self, in_channels: int = 1, channels: Sequence[int] = (64, 128), image_size: int = 28,
                 negative_slope: float = 0.2) -> None:
        _int("in_channels", in_channels, 1)
        channels = _sizes("channels", channels)
        _int("image_size", image_size, 1)
        side = _first_side(image_size, len(channels))
        slope = _slope(negative_slope)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip((in_channels, *channels[:-1]), channels)):
            layers.append(nn.Conv2d(a, b, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.LeakyReLU(slope))
        layers += [nn.Conv2d(channels[-1], 1, side, 1, 0), nn.Flatten(0)]
        super().__init__(*layers)
        dcgan_init_(self)
        self.image_shape = (in_channels, image_size, image_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.image_shape, "DCGANDiscriminator")
        return super().forward(x)


@torch.no_grad()
def dcgan_init_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise ``module`` in place as in DCGAN and return it.

    Weights of every ``Conv*``, ``ConvTranspose*`` and ``Linear`` layer are drawn from
    ``N(0, std**2)`` and their biases set to 0, as Radford et al. (2016) describe
    ("zero-centered Normal distribution with standard deviation 0.02"). BatchNorm scales are drawn
    from ``N(1, std**2)`` and their shifts set to 0, the choice of PyTorch's DCGAN example (the
    paper does not specify it).

    Parameters
    ----------
    module : nn.Module
    std : float, default 0.02
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not std > 0:
        raise ValueError(f"std must be a positive number, got {std!r}")
    for m in module.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def _check_logits(name: str, logits) -> None:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of logits, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"{name} must be floating point (logits, not probabilities or labels), got {logits.dtype}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``-mean log D(x) - mean log(1 - D(G(z)))`` from logits: the negative of the value function.

    Binary cross-entropy with label 1 for the real images plus the same with label 0 for the
    generated ones. It equals ``2 ln 2`` (about 1.386) when every logit is 0 (``D = 1/2``).
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss(fake_logits: torch.Tensor, *, saturating: bool = False) -> torch.Tensor:
    """The generator's loss from the discriminator's logits for generated images.

    Parameters
    ----------
    fake_logits : torch.Tensor
        ``D``'s logits for ``G(z)``.
    saturating : bool, default False
        False: the non-saturating loss ``-mean log D(G(z))`` (BCE against label 1), whose gradient
        stays large while ``D`` rejects the fakes. True: the minimax loss
        ``mean log(1 - D(G(z)))`` (minus the BCE against label 0), whose gradient vanishes then.
    """
    _check_logits("fake_logits", fake_logits)
    if not isinstance(saturating, bool):
        raise TypeError(f"saturating must be True or False, got {type(saturating).__name__}")
    if saturating:
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def gan_step(generator: nn.Module, discriminator: nn.Module, g_optimizer: torch.optim.Optimizer,
             d_optimizer: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor, *,
             saturating: bool = False) -> dict[str, float]:
    """One discriminator update, then one generator update, on one batch.

    The fakes ``G(z)`` are made once: the discriminator step sees them detached (its loss must not
    reach the generator), the generator step sends its loss through the freshly updated
    discriminator back to the generator. Only ``g_optimizer`` changes the generator and only
    ``d_optimizer`` the discriminator; each step starts by zeroing its own gradients.

    Parameters
    ----------
    generator, discriminator : nn.Module
        In training mode; on the device of ``real`` and ``z``.
    g_optimizer, d_optimizer : torch.optim.Optimizer
        Holding the generator's and the discriminator's parameters.
    real : torch.Tensor
        A batch of real images in ``[-1, 1]``.
    z : torch.Tensor
        Noise vectors, one per generated image (any number).
    saturating : bool, default False
        Use the saturating (minimax) generator loss instead of the non-saturating one.

    Returns
    -------
    dict
        ``d_loss`` and ``g_loss`` (floats), and ``d_real``, ``d_fake``: the discriminator's mean
        probability "real" for the real and for the generated images, measured in its own step
        (before its update).
    """
    for name, m in (("generator", generator), ("discriminator", discriminator)):
        if not isinstance(m, nn.Module):
            raise TypeError(f"{name} must be an nn.Module, got {type(m).__name__}")
    for name, opt in (("g_optimizer", g_optimizer), ("d_optimizer", d_optimizer)):
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"{name} must be a torch.optim.Optimizer, got {type(opt).__name__}")
    if g_optimizer is d_optimizer:
        raise ValueError("g_optimizer and d_optimizer must be two optimizers, one per network")
    fake = generator(z)
    d_optimizer.zero_grad()
    real_logits = discriminator(real)
    fake_logits = discriminator(fake.detach())
    d_loss = discriminator_loss(real_logits, fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = generator_loss(discriminator(fake), saturating=saturating)
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item()}
