"""Tests of dlbook.models.blocks: ResidualBlock, InceptionBlock and conv_bn_relu."""

import pytest
import torch
from torch import nn

import dlbook
from dlbook.models.blocks import InceptionBlock, ResidualBlock, conv_bn_relu
from conftest import fit_steps


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_residual_block_keeps_shape_with_identity_shortcut():
    block = ResidualBlock(8, 8)
    assert isinstance(block.shortcut, nn.Identity) and not block.projection
    assert block(torch.randn(2, 8, 10, 10)).shape == (2, 8, 10, 10)
    # two bias-free 3x3 convolutions and two BatchNorms (weight and bias each)
    assert n_params(block) == 2 * 8 * 8 * 9 + 2 * 2 * 8


@pytest.mark.parametrize("c_in, c_out, stride, out_hw", [(8, 16, 1, 10), (8, 8, 2, 5), (8, 16, 2, 5)])
def test_residual_block_projects_when_channels_or_stride_change(c_in, c_out, stride, out_hw):
    block = ResidualBlock(c_in, c_out, stride=stride)
    assert block.projection
    conv = block.shortcut[0]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == (stride, stride)
    assert conv.in_channels == c_in and conv.out_channels == c_out and conv.bias is None
    assert block(torch.randn(3, c_in, 10, 10)).shape == (3, c_out, out_hw, out_hw)


def test_residual_block_computes_relu_of_body_plus_shortcut():
    dlbook.seed_everything(0)
    x = torch.randn(4, 6, 7, 7)
    for block in (ResidualBlock(6, 6), ResidualBlock(6, 12, stride=2)):
        block.eval()
        expected = torch.relu(block.body(x) + block.shortcut(x))
        assert torch.allclose(block(x), expected)
    plain = ResidualBlock(6, 12, stride=2, skip=False).eval()
    assert plain.shortcut is None and not plain.projection
    assert torch.allclose(plain(x), torch.relu(plain.body(x)))
    assert (plain(x) >= 0).all()


def test_residual_block_with_zero_body_passes_its_input_through():
    """With the last BatchNorm scaled to zero, F(x) = 0 and the block is ReLU(x): the identity
    on non-negative inputs, which a plain block cannot represent this way."""
    block = ResidualBlock(5, 5).eval()
    nn.init.zeros_(block.body[4].weight)
    x = torch.rand(2, 5, 6, 6)
    assert torch.allclose(block(x), x)


def test_plain_block_has_the_same_body_and_no_extra_parameters():
    """skip=False removes the shortcut and nothing else: same body, no projection weights."""
    torch.manual_seed(4)
    res = ResidualBlock(4, 8, stride=2)
    torch.manual_seed(4)
    plain = ResidualBlock(4, 8, stride=2, skip=False)
    for a, b in zip(res.body.parameters(), plain.body.parameters()):
        assert torch.equal(a, b)
    assert n_params(res) - n_params(plain) == 4 * 8 + 2 * 8   # 1x1 conv and its BatchNorm


def test_residual_network_learns_a_few_steps():
    dlbook.seed_everything(2)
    x = torch.randn(64, 1, 8, 8)
    y = (x[:, 0, :4].mean(dim=(1, 2)) > x[:, 0, 4:].mean(dim=(1, 2))).long()   # top half brighter?
    net = nn.Sequential(conv_bn_relu(1, 8), ResidualBlock(8, 8), ResidualBlock(8, 16, stride=2),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    losses = fit_steps(net, x, y, lr=1e-2, steps=30)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("kwargs, error", [
    (dict(in_channels=0, out_channels=4), ValueError),
    (dict(in_channels=4, out_channels=2.0), TypeError),
    (dict(in_channels=4, out_channels=4, stride=0), ValueError),
    (dict(in_channels=4, out_channels=4, skip="yes"), TypeError),
])
def test_residual_block_rejects_bad_arguments(kwargs, error):
    name = next(k for k, v in kwargs.items() if v in (0, 2.0, "yes"))
    with pytest.raises(error, match=name):
        ResidualBlock(**kwargs)


def test_blocks_reject_inputs_with_the_wrong_number_of_channels():
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        ResidualBlock(4, 4)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        InceptionBlock(4, 2, 2, 2, 2)(torch.zeros(1, 4, 8))


def test_inception_block_concatenates_four_branches_of_equal_size():
    block = InceptionBlock(192, 64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16)
    assert block.out_channels == 256 and len(block.branches) == 4
    x = torch.randn(2, 192, 9, 9)
    out = block(x)
    assert out.shape == (2, 256, 9, 9)
    block.eval()
    parts = [b(x) for b in block.branches]
    assert [p.shape[1] for p in parts] == [64, 128, 32, 32]
    assert torch.equal(block(x), torch.cat(parts, dim=1))


def test_inception_block_parameter_counts_match_googlenet_3a():
    """Without BatchNorm, the weights of inception (3a) number 163,328 (plus 368 biases); the
    naive module without 1x1 reductions has 387,072 weights and passes the 192 pooled channels on."""
    reduced = InceptionBlock(192, 64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16, batchnorm=False)
    weights = sum(p.numel() for name, p in reduced.named_parameters() if name.endswith("weight"))
    assert weights == 163_328 and n_params(reduced) == 163_328 + 64 + 96 + 128 + 16 + 32 + 32
    naive = InceptionBlock(192, 64, 128, 32, None, batchnorm=False)
    weights = sum(p.numel() for name, p in naive.named_parameters() if name.endswith("weight"))
    assert weights == 192 * (64 + 9 * 128 + 25 * 32) and naive.out_channels == 64 + 128 + 32 + 192
    assert naive(torch.randn(1, 192, 5, 5)).shape == (1, 416, 5, 5)
    bn = InceptionBlock(192, 64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16)
    assert not any(isinstance(m, nn.Conv2d) and m.bias is not None for m in bn.modules())


def test_inception_network_learns_a_few_steps():
    dlbook.seed_everything(3)
    x = torch.randn(48, 3, 8, 8)
    y = (x[:, 0] > x[:, 1]).float().mean(dim=(1, 2)).gt(0.5).long()
    block = InceptionBlock(3, 4, 8, 4, 4, reduce_3x3=4, reduce_5x5=2)
    net = nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(block.out_channels, 2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = nn.functional.cross_entropy(net(x), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


@pytest.mark.parametrize("kwargs, name, error", [
    (dict(out_pool=0), "out_pool", ValueError),
    (dict(reduce_3x3=-1), "reduce_3x3", ValueError),
    (dict(reduce_5x5=1.5), "reduce_5x5", TypeError),
])
def test_inception_block_rejects_bad_channel_counts(kwargs, name, error):
    args = dict(in_channels=4, out_1x1=2, out_3x3=2, out_5x5=2, out_pool=2) | kwargs
    with pytest.raises(error, match=name):
        InceptionBlock(**args)


def test_conv_bn_relu_keeps_size_and_rejects_even_kernels():
    unit = conv_bn_relu(3, 5, 3)
    assert unit(torch.randn(2, 3, 7, 7)).shape == (2, 5, 7, 7)
    assert unit[0].bias is None and isinstance(unit[1], nn.BatchNorm2d)
    assert conv_bn_relu(3, 5, 1, batchnorm=False)[0].bias is not None
    with pytest.raises(ValueError, match="kernel_size"):
        conv_bn_relu(3, 5, 2)
