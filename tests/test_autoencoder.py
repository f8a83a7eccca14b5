"""Tests of dlbook.models.autoencoder: block shapes, the transposed-convolution size formula,
the checkerboard score, and a few training steps that lower the reconstruction loss."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.models import MLP
from dlbook.models.autoencoder import (AutoEncoder, ConvDecoder, ConvEncoder, checkerboard_score,
                                       conv_transpose_output_size, down_block, up_block)


# ---------------------------------------------------------------------------------------------
# shapes of the blocks
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, out", [(28, 14), (14, 7), (13, 7), (7, 4), (1, 1)])
def test_down_block_halves_rounding_up(size, out):
    block = down_block(3, 5)
    y = block(torch.randn(2, 3, size, size))
    assert y.shape == (2, 5, out, out)
    assert (y >= 0).all()  # ends in a ReLU


@pytest.mark.parametrize("mode", ["transpose", "resize"])
@pytest.mark.parametrize("size", [1, 4, 7, 14])
def test_up_block_doubles_in_both_modes(mode, size):
    block = up_block(6, 4, mode=mode)
    y = block(torch.randn(3, 6, size, size))
    assert y.shape == (3, 4, 2 * size, 2 * size)
    assert (y >= 0).all()
    last = up_block(6, 1, mode=mode, activation=False)
    assert not any(isinstance(m, nn.ReLU) for m in last.modules())
    assert (last(torch.randn(3, 6, size, size)) < 0).any()


def test_up_block_layers_are_the_documented_ones():
    t = up_block(8, 4)[0]
    assert isinstance(t, nn.ConvTranspose2d)
    assert (t.kernel_size, t.stride, t.padding, t.output_padding) == ((3, 3), (2, 2), (1, 1), (1, 1))
    r = up_block(8, 4, mode="resize")
    assert isinstance(r[0], nn.Upsample) and r[0].scale_factor == 2 and r[0].mode == "nearest"
    assert isinstance(r[1], nn.Conv2d) and r[1].kernel_size == (3, 3) and r[1].padding == (1, 1)


@pytest.mark.parametrize("channels, image_size, code_size", [((16, 32), 28, 10), ((8,), 28, 2),
                                                             ((4, 8, 16), 32, 7)])
def test_encoder_and_decoder_shapes(channels, image_size, code_size):
    enc = ConvEncoder(in_channels=3, image_size=image_size, channels=channels, code_size=code_size)
    dec = ConvDecoder(code_size=code_size, out_channels=3, image_size=image_size,
                      channels=tuple(reversed(channels)))
    x = torch.rand(5, 3, image_size, image_size)
    z = enc(x)
    assert z.shape == (5, code_size)
    y = dec(z)
    assert y.shape == x.shape
    assert ((y > 0) & (y < 1)).all()  # the sigmoid


def test_decoder_output_activation_options():
    z = torch.randn(4, 10)
    tanh = ConvDecoder(out_activation=nn.Tanh)(z)
    assert tanh.shape == (4, 1, 28, 28) and (tanh.abs() < 1).all()
    raw = ConvDecoder(out_activation=None)
    assert not isinstance(raw[-1], (nn.Sigmoid, nn.Tanh))
    resize = ConvDecoder(upsample="resize")
    assert resize.upsample == "resize"
    assert any(isinstance(m, nn.Upsample) for m in resize.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in resize.modules())


def test_default_parameter_counts():
    enc, dec = ConvEncoder(), ConvDecoder()
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(enc) == (1 * 16 * 9 + 16) + (16 * 32 * 9 + 32) + (32 * 49 * 10 + 10)
    assert n(dec) == (10 * 32 * 49 + 32 * 49) + (32 * 16 * 9 + 16) + (16 * 1 * 9 + 1)


def test_autoencoder_wraps_any_pair():
    model = AutoEncoder(ConvEncoder(code_size=4), ConvDecoder(code_size=4))
    x = torch.rand(2, 1, 28, 28)
    assert model.encode(x).shape == (2, 4)
    assert torch.equal(model(x), model.decode(model.encode(x)))
    mlp = AutoEncoder(MLP(784, [32], 3), nn.Sequential(MLP(3, [32], 784), nn.Unflatten(1, (1, 28, 28))))
    assert mlp(x).shape == x.shape


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_wrong_shapes_are_named():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ConvEncoder()(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        ConvDecoder()(torch.rand(2, 9))


@pytest.mark.parametrize("build, exc, words", [
    (lambda: ConvEncoder(image_size=30), ValueError, "image_size"),
    (lambda: ConvEncoder(channels=()), TypeError, "channels"),
    (lambda: ConvEncoder(channels=(16, 0)), ValueError, r"channels\[1\]"),
    (lambda: ConvEncoder(code_size=2.5), TypeError, "code_size"),
    (lambda: ConvDecoder(upsample="bilinear"), ValueError, "upsample"),
    (lambda: ConvDecoder(out_activation=nn.Sigmoid()), TypeError, "out_activation"),
    (lambda: up_block(4, 4, mode="deconv"), ValueError, "mode"),
    (lambda: up_block(4, 4, activation=1), TypeError, "activation"),
    (lambda: down_block(0, 4), ValueError, "in_channels"),
    (lambda: AutoEncoder(lambda x: x, nn.Identity()), TypeError, "encoder"),
])
def test_bad_arguments_raise_clear_errors(build, exc, words):
    with pytest.raises(exc, match=words):
        build()


# ---------------------------------------------------------------------------------------------
# the transposed-convolution output size
# ---------------------------------------------------------------------------------------------
def test_transposed_size_formula_matches_pytorch():
    checked = 0
    for n, k, s, p, op, d in itertools.product(range(1, 8), range(1, 5), range(1, 4), range(3), range(3),
                                               range(1, 3)):
        if op >= max(s, d) or (n - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            continue
        layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
        expected = layer(torch.zeros(1, 1, n, n)).shape[-1]
        assert conv_transpose_output_size(n, k, s, p, op, d) == expected, (n, k, s, p, op, d)
        checked += 1
    assert checked > 500


def test_transposed_size_rejects_impossible_settings():
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_size(7, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="no output"):
        conv_transpose_output_size(1, 1, padding=1)
    with pytest.raises(TypeError, match="size"):
        conv_transpose_output_size(7.0, 3)
    with pytest.raises(ValueError, match="stride"):
        conv_transpose_output_size(7, 3, stride=0)


# ---------------------------------------------------------------------------------------------
# the checkerboard score
# ---------------------------------------------------------------------------------------------
def test_checkerboard_score_extremes():
    pattern = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).repeat(6, 6)[None, None]   # 12x12
    assert checkerboard_score(pattern) == pytest.approx(1.0)
    assert checkerboard_score(torch.full((3, 2, 10, 10), 0.7)) == 0.0
    assert checkerboard_score(torch.zeros(2, 10, 10)) == 0.0           # (N, H, W) accepted
    smooth = torch.linspace(0, 1, 64).reshape(1, 1, 8, 8).repeat(1, 1, 2, 2)
    assert checkerboard_score(smooth) < 0.1


def test_checkerboard_score_mixture_is_the_variance_share():
    torch.manual_seed(0)
    noise = torch.randn(1, 1, 40, 40)
    stripes = torch.tensor([1.0, -1.0]).repeat(20)[None, None, None, :].expand(1, 1, 40, 40)
    score = checkerboard_score(noise + stripes, border=0)
    assert 0.4 < score < 0.6   # stripe variance 1, noise variance about 1


def test_transposed_convolution_paints_a_checkerboard_and_resize_convolution_does_not():
    dlbook.seed_everything(0)
    flat = torch.ones(1, 8, 8, 8)
    with torch.no_grad():
        transposed = up_block(8, 8, activation=False)(flat)
        resized = up_block(8, 8, mode="resize", activation=False)(flat)
    assert checkerboard_score(transposed) > 0.99
    assert checkerboard_score(resized) < 1e-9


def test_checkerboard_score_bad_input():
    with pytest.raises(TypeError, match="floating"):
        checkerboard_score(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="shape"):
        checkerboard_score(torch.zeros(8, 8))
    with pytest.raises(ValueError, match="too small"):
        checkerboard_score(torch.zeros(1, 1, 5, 5), border=2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        checkerboard_score([[0.0]])


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_a_few_training_steps_lower_the_reconstruction_loss(upsample):
    dlbook.seed_everything(3)
    x = torch.zeros(16, 1, 28, 28)
    rows = torch.randint(4, 24, (16,))
    for i, r in enumerate(rows):     # one bright horizontal bar per image, at a random height
        x[i, 0, r:r + 3, 4:24] = 1.0
    model = AutoEncoder(ConvEncoder(channels=(8, 16), code_size=4),
                        ConvDecoder(code_size=4, channels=(16, 8), upsample=upsample))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        before = F.mse_loss(model(x), x).item()
    for _ in range(20):
        loss = F.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = F.mse_loss(model(x), x).item()
    assert after < 0.5 * before, (before, after)
