"""Tests of dlbook.models.gan: shapes and ranges of both GAN pairs, the DCGAN initialisation, the
losses' values and gradients, a few training steps that move the losses the expected way, and
clear errors for bad arguments."""

import math

import pytest
import torch
from torch import nn

import dlbook
from dlbook.models.gan import (DCGANDiscriminator, DCGANGenerator, LinearDiscriminator, LinearGenerator,
                               dcgan_init_, discriminator_loss, gan_step, generator_loss)


# ---------------------------------------------------------------------------------------------
# shapes and ranges
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 8, 8)])
def test_linear_pair_shapes_and_ranges(shape):
    G = LinearGenerator(latent_dim=5, hidden=(16, 32), image_shape=shape)
    D = LinearDiscriminator(image_shape=shape, hidden=(32, 16))
    x = G(torch.randn(7, 5))
    assert x.shape == (7, *shape) and x.dtype == torch.float32
    assert isinstance(G[-2], nn.Tanh) and x.abs().max() <= 1
    with torch.no_grad():
        G[-3].bias.fill_(30.0)  # pre-activations far beyond 1: the tanh still bounds them
    assert torch.allclose(G(torch.randn(7, 5)), torch.ones(7, *shape))
    logits = D(x)
    assert logits.shape == (7,)
    assert any(isinstance(m, nn.BatchNorm1d) for m in G.modules())
    assert any(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in D.modules())


@pytest.mark.parametrize("image_size, gch, dch", [(28, (32, 16), (16, 32)), (32, (16, 8, 4), (4, 8, 16)),
                                                  (64, (8, 8, 8, 8), (8, 8, 8, 8)), (14, (8,), (8,))])
def test_dcgan_pair_shapes_and_ranges(image_size, gch, dch):
    G = DCGANGenerator(latent_dim=6, channels=gch, out_channels=3, image_size=image_size)
    D = DCGANDiscriminator(in_channels=3, channels=dch, image_size=image_size)
    for z in (torch.randn(4, 6), torch.randn(4, 6, 1, 1)):  # both noise layouts
        x = G(z)
        assert x.shape == (4, 3, image_size, image_size)
        assert x.abs().max() <= 1
        assert D(x).shape == (4,)
    assert G.image_shape == D.image_shape == (3, image_size, image_size)


def test_dcgan_follows_the_guidelines():
    G, D = DCGANGenerator(), DCGANDiscriminator()
    kinds_g = {type(m) for m in G.modules()}
    kinds_d = {type(m) for m in D.modules()}
    # no pooling and no fully connected layers anywhere
    for kinds in (kinds_g, kinds_d):
        assert not kinds & {nn.Linear, nn.MaxPool2d, nn.AvgPool2d}
    assert nn.ConvTranspose2d in kinds_g and nn.ReLU in kinds_g and isinstance(G[-1], nn.Tanh)
    assert nn.Conv2d in kinds_d and nn.LeakyReLU in kinds_d and nn.ReLU not in kinds_d
    # no BatchNorm right after the discriminator's input layer, nor on the generator's output
    assert isinstance(D[0], nn.Conv2d) and isinstance(D[1], nn.LeakyReLU)
    assert isinstance(G[-2], nn.ConvTranspose2d)
    strided = [m for m in D.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 2


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=64, channels=(128, 64))
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    bn = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    gammas = torch.cat([m.weight for m in bn])
    assert abs(gammas.mean().item() - 1) < 0.01 and 0.01 < gammas.std().item() < 0.03
    assert all((m.bias == 0).all() for m in bn)
    lin = dcgan_init_(nn.Linear(500, 400))
    assert (lin.bias == 0).all() and abs(lin.weight.std().item() - 0.02) < 1e-3


def test_generators_check_their_noise_and_discriminators_their_images():
    G, D = DCGANGenerator(latent_dim=8, channels=(8, 4)), DCGANDiscriminator(channels=(4, 8))
    with pytest.raises(ValueError, match=r"noise of shape \(N, 8\)"):
        G(torch.randn(3, 9))
    with pytest.raises(ValueError, match=r"images of shape \(N, 1, 28, 28\)"):
        D(torch.randn(3, 1, 32, 32))
    with pytest.raises(TypeError, match="tensor"):
        LinearGenerator(latent_dim=8)([0.0] * 8)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        LinearDiscriminator()(torch.randn(3, 784))


@pytest.mark.parametrize("make, message", [
    (lambda: DCGANGenerator(image_size=30), "divisible by 2\\*\\*2"),
    (lambda: DCGANDiscriminator(channels=(8, 8, 8)), "divisible by 2\\*\\*3"),
    (lambda: DCGANGenerator(channels=()), "non-empty sequence"),
    (lambda: DCGANGenerator(latent_dim=0), "latent_dim must be a positive int"),
    (lambda: DCGANGenerator(latent_dim=2.5), "latent_dim must be an int"),
    (lambda: LinearGenerator(hidden=(16, 0)), r"hidden\[1\] must be a positive int"),
    (lambda: LinearGenerator(image_shape=(28, 28)), r"\(channels, height, width\)"),
    (lambda: LinearDiscriminator(negative_slope=1.5), r"negative_slope must be in \[0, 1\)"),
    (lambda: DCGANDiscriminator(negative_slope="0.2"), "negative_slope must be a number"),
    (lambda: dcgan_init_("model"), "module must be an nn.Module"),
    (lambda: dcgan_init_(nn.Linear(2, 2), std=0), "std must be a positive number"),
])
def test_bad_arguments_raise_naming_them(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------
def test_losses_at_the_equilibrium_and_against_their_formulas():
    zero = torch.zeros(10)
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert generator_loss(zero).item() == pytest.approx(math.log(2))
    assert generator_loss(zero, saturating=True).item() == pytest.approx(-math.log(2))
    real, fake = torch.randn(50), torch.randn(50)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    torch.testing.assert_close(discriminator_loss(real, fake),
                               -(d_real.log().mean() + (1 - d_fake).log().mean()))
    torch.testing.assert_close(generator_loss(fake), -d_fake.log().mean())
    torch.testing.assert_close(generator_loss(fake, saturating=True), (1 - d_fake).log().mean())


def test_the_saturating_loss_loses_its_gradient_where_the_fakes_are_rejected():
    logits = torch.tensor([-8.0, 0.0, 8.0], requires_grad=True)  # D(G(z)) ~ 0.0003, 0.5, 0.9997
    (g_ns,) = torch.autograd.grad(generator_loss(logits) * 3, logits)
    (g_sat,) = torch.autograd.grad(generator_loss(logits, saturating=True) * 3, logits)
    d = torch.sigmoid(logits.detach())
    torch.testing.assert_close(g_ns, -(1 - d))  # d/ds of -log sigmoid(s)
    torch.testing.assert_close(g_sat, -d)  # d/ds of log(1 - sigmoid(s))
    assert g_sat[0].abs() < 1e-3 < 0.99 < g_ns[0].abs()


def test_losses_refuse_what_is_not_a_float_tensor():
    with pytest.raises(TypeError, match="fake_logits must be a tensor"):
        generator_loss([0.0])
    with pytest.raises(TypeError, match="real_logits must be floating point"):
        discriminator_loss(torch.ones(3, dtype=torch.long), torch.zeros(3))
    with pytest.raises(TypeError, match="saturating must be True or False"):
        generator_loss(torch.zeros(3), saturating=1)


# ---------------------------------------------------------------------------------------------
# training steps
# ---------------------------------------------------------------------------------------------
def _pair(kind):
    if kind == "linear":
        return LinearGenerator(8, (32,), (1, 8, 8)), LinearDiscriminator((1, 8, 8), (32,))
    return (DCGANGenerator(8, (16, 8), image_size=8), DCGANDiscriminator(1, (8, 16), image_size=8))


def _real(n, generator):
    """Bright squares on a dark background, in [-1, 1]."""
    x = -torch.ones(n, 1, 8, 8)
    x[:, :, 2:6, 2:6] = 0.8 + 0.2 * torch.rand(n, 1, 4, 4, generator=generator)
    return x


@pytest.mark.parametrize("kind", ["linear", "dcgan"])
def test_discriminator_steps_lower_its_loss_and_separate_real_from_fake(kind):
    g = dlbook.seed_everything(0)
    G, D = _pair(kind)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.SGD(G.parameters(), lr=0.0)  # the generator stands still
    real, z = _real(64, g), torch.randn(64, 8, generator=g)
    before = {k: p.clone() for k, p in G.state_dict().items() if p.is_floating_point()}
    logs = [gan_step(G, D, opt_g, opt_d, real, z) for _ in range(30)]
    assert logs[-1]["d_loss"] < 0.5 * logs[0]["d_loss"]
    assert logs[-1]["d_real"] > 0.8 and logs[-1]["d_fake"] < 0.35
    assert logs[0]["d_real"] - logs[0]["d_fake"] < 0.2  # at the start it could not tell
    assert logs[-1]["g_loss"] > logs[0]["g_loss"]  # a better D means a worse G loss
    for k, p in G.state_dict().items():  # lr 0: only BatchNorm's running statistics may move
        if k in before and "running" not in k:
            torch.testing.assert_close(p, before[k])


@pytest.mark.parametrize("kind", ["linear", "dcgan"])
@pytest.mark.parametrize("saturating", [False, True])
def test_generator_steps_lower_its_loss_against_a_fixed_discriminator(kind, saturating):
    g = dlbook.seed_everything(1)
    G, D = _pair(kind)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.0)  # the discriminator stands still
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real, z = _real(64, g), torch.randn(64, 8, generator=g)
    D_before = {k: p.clone() for k, p in D.state_dict().items()}
    logs = [gan_step(G, D, opt_g, opt_d, real, z, saturating=saturating) for _ in range(30)]
    assert logs[-1]["g_loss"] < logs[0]["g_loss"] - 0.1
    assert logs[-1]["d_fake"] > logs[0]["d_fake"]  # the fakes fool D more often
    for k, p in D.state_dict().items():
        if "running" not in k and "num_batches" not in k:
            torch.testing.assert_close(p, D_before[k])


def test_a_short_gan_run_is_deterministic_and_finite():
    runs = []
    for _ in range(2):
        g = dlbook.seed_everything(2)
        G, D = _pair("dcgan")
        opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        runs.append([gan_step(G, D, opt_g, opt_d, _real(16, g), torch.randn(16, 8, generator=g))
                     for _ in range(5)])
    assert runs[0] == runs[1]
    assert all(math.isfinite(v) for log in runs[0] for v in log.values())


def test_gan_step_checks_its_arguments():
    G, D = _pair("linear")
    opt = torch.optim.Adam(list(G.parameters()) + list(D.parameters()))
    x, z = torch.zeros(4, 1, 8, 8), torch.zeros(4, 8)
    with pytest.raises(ValueError, match="two optimizers"):
        gan_step(G, D, opt, opt, x, z)
    with pytest.raises(TypeError, match="discriminator must be an nn.Module"):
        gan_step(G, lambda t: t, opt, torch.optim.SGD(G.parameters(), lr=0.1), x, z)
    with pytest.raises(TypeError, match="d_optimizer must be a torch.optim.Optimizer"):
        gan_step(G, D, opt, "adam", x, z)
