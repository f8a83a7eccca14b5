"""Convolutional blocks and the small CIFAR CNN: dlbook.models.cnn."""

import pytest
import torch
from torch import nn

import dlbook
from dlbook.models.cnn import CifarCNN, ConvBlock, LinearBlock
from conftest import fit_steps


def test_conv_block_layers_and_shapes():
    block = ConvBlock(3, 8, dropout=0.2)
    assert list(dict(block.named_children())) == ["conv", "act", "drop", "pool"]
    assert block(torch.zeros(2, 3, 32, 32)).shape == (2, 8, 16, 16)      # same padding, then pool 2
    plain = ConvBlock(3, 8, kernel_size=5, pool=1)
    assert list(dict(plain.named_children())) == ["conv", "act"]
    assert plain(torch.zeros(2, 3, 10, 10)).shape == (2, 8, 10, 10)      # padding 5 // 2 = 2 keeps size
    assert ConvBlock(3, 8, padding=0, pool=1)(torch.zeros(1, 3, 10, 10)).shape == (1, 8, 8, 8)
    bn = ConvBlock(3, 8, batchnorm=True)
    assert isinstance(bn.norm, nn.BatchNorm2d) and bn.conv.bias is None
    assert isinstance(ConvBlock(3, 8, activation=nn.ELU).act, nn.ELU)


def test_linear_block():
    block = LinearBlock(10, 4, dropout=0.5)
    assert list(dict(block.named_children())) == ["linear", "act", "drop"]
    assert block(torch.zeros(3, 10)).shape == (3, 4)


def test_default_network_is_the_classic_two_block_cifar_cnn():
    model = CifarCNN()
    assert model.flat_features == 8 * 8 * 64
    assert sum(p.numel() for p in model.parameters()) == 545_098
    assert model(torch.zeros(5, 3, 32, 32)).shape == (5, 10)
    assert [name for name, _ in model.named_children()] == ["features", "flatten", "classifier"]
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())


def test_other_sizes_and_dropout_layers():
    model = CifarCNN(channels=(4, 8, 16), hidden=(), n_classes=3, in_channels=1, image_size=24,
                     conv_dropout=0.1, fc_dropout=0.3)
    assert model.flat_features == 16 * 3 * 3
    assert model(torch.zeros(2, 1, 24, 24)).shape == (2, 3)
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 3   # no hidden layer: no fc dropout
    two = CifarCNN(hidden=(32, 16), fc_dropout=0.5)
    assert sum(isinstance(m, nn.Dropout) for m in two.modules()) == 2


def test_dropout_makes_train_mode_random_and_eval_mode_deterministic():
    torch.manual_seed(0)
    model = CifarCNN(channels=(4, 8), hidden=(16,), conv_dropout=0.3, fc_dropout=0.5)
    x = torch.randn(4, 3, 32, 32)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_a_few_training_steps_lower_the_loss():
    dlbook.seed_everything(0)
    x = torch.rand(32, 3, 16, 16)
    y = torch.arange(32) % 4                      # arbitrary labels: the network must memorise them
    model = CifarCNN(channels=(8, 16), hidden=(32,), n_classes=4, image_size=16, conv_dropout=0.1)
    losses = fit_steps(model, x, y, lr=3e-3, steps=40)
    assert losses[-1] < 0.5 * losses[0]


def test_batchnorm_network_trains_too():
    dlbook.seed_everything(1)
    x = torch.rand(64, 3, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    model = CifarCNN(channels=(8,), hidden=(), n_classes=2, image_size=8, batchnorm=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = nn.functional.cross_entropy(model(x), y).item()
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("make, match", [
    (lambda: ConvBlock(0, 8), "in_channels"),
    (lambda: ConvBlock(3, 8, padding=-1), "padding"),
    (lambda: ConvBlock(3, 8, dropout=1.0), "dropout"),
    (lambda: ConvBlock(3, 8, pool=0), "pool"),
    (lambda: CifarCNN(channels=()), "channels"),
    (lambda: CifarCNN(channels=(8, -1)), r"channels\[1\]"),
    (lambda: CifarCNN(image_size=20, channels=(8, 8, 8)), "divisible"),
    (lambda: CifarCNN(fc_dropout=-0.1), "fc_dropout"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_size_that_is_not_an_int_is_a_type_error():
    with pytest.raises(TypeError, match="out_features must be an int"):
        LinearBlock(4, 2.5)


def test_activation_must_be_a_class():
    with pytest.raises(TypeError, match="activation"):
        ConvBlock(3, 8, activation=nn.ReLU())
