"""Tests of dlbook.models.unet and dlbook.train.segmentation_metrics: output shapes for many input
sizes, skips on and off, a few training steps that lower the loss, metrics on hand-checked cases
and against torchmetrics, and bad arguments."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

import dlbook
from dlbook.models.unet import UNet, double_conv
from dlbook.train.segmentation_metrics import (as_class_map, iou_per_class, mean_iou, pixel_accuracy,
                                               segmentation_confusion_matrix)


# ---------------------------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("skips", [True, False])
@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
@pytest.mark.parametrize("size", [(4, 4), (16, 16), (13, 13), (31, 20), (64, 64)])
def test_output_has_the_input_size_and_one_map_per_class(skips, upsample, size):
    net = UNet(3, 5, (4, 8, 16), skips=skips, upsample=upsample)
    y = net(torch.randn(2, 3, *size))
    assert y.shape == (2, 5, *size)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()


def test_two_and_four_levels():
    assert UNet(1, 2, (4, 8))(torch.randn(1, 1, 9, 9)).shape == (1, 2, 9, 9)
    net = UNet(1, 3, (4, 8, 16, 32))
    assert net.min_size == 8
    assert net(torch.randn(1, 1, 40, 24)).shape == (1, 3, 40, 24)


def test_skips_change_only_the_decoder_inputs():
    with_skips, without = UNet(1, 11, (8, 16, 32)), UNet(1, 11, (8, 16, 32), skips=False)
    first = [blk[0][0] for blk in with_skips.decode]
    assert [c.in_channels for c in first] == [32, 16]          # up-sampled + skipped features
    assert [blk[0][0].in_channels for blk in without.decode] == [16, 8]
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # the difference is exactly the weights that read the skipped channels (3x3 kernels, no bias)
    assert n(with_skips) - n(without) == 9 * (16 * 16 + 8 * 8)


def test_skip_flag_is_what_carries_fine_detail():
    """With the bottleneck frozen, a change in the top level reaches the output only through skips."""
    torch.manual_seed(0)
    x = torch.randn(1, 1, 8, 8)
    for skips in (True, False):
        net = UNet(1, 2, (4, 8), skips=skips).eval()
        with torch.no_grad():
            bottom = net.down[1](net.pool(net.down[0](x)))
            net.down[1].register_forward_hook(lambda m, a, out: bottom)
            base = net(x)
            h = net.down[0].register_forward_hook(lambda m, a, out: out + 1.0)
            changed = net(x)
            h.remove()
        assert torch.allclose(changed, base) is (not skips)


def test_a_few_steps_lower_the_loss():
    dlbook.seed_everything(0)
    x = torch.rand(8, 1, 16, 16)
    y = (x[:, 0] > 0.5).long() + (x[:, 0] > 0.8).long()       # three classes from the brightness
    net = UNet(1, 3, (8, 16))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_double_conv_keeps_the_size():
    block = double_conv(3, 6)
    assert block(torch.randn(2, 3, 7, 9)).shape == (2, 6, 7, 9)
    plain = double_conv(3, 6, batchnorm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())


@pytest.mark.parametrize("kwargs, error", [
    (dict(in_channels=0), ValueError), (dict(in_channels=1.5), TypeError), (dict(n_classes=0), ValueError),
    (dict(channels=(16,)), TypeError), (dict(channels="16"), TypeError), (dict(channels=(16, 0)), ValueError),
    (dict(skips="yes"), TypeError), (dict(upsample="nearest"), ValueError),
])
def test_bad_arguments_raise(kwargs, error):
    with pytest.raises(error):
        UNet(**kwargs)


def test_bad_inputs_raise_with_the_expected_shape():
    net = UNet(1, 2, (4, 8, 16))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        net(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="at least 4"):
        net(torch.randn(2, 1, 3, 16))
    with pytest.raises(ValueError):
        net(torch.randn(1, 16, 16))
    with pytest.raises(TypeError):
        net([[0.0]])


# ---------------------------------------------------------------------------------------------
# the metrics
# ---------------------------------------------------------------------------------------------
TARGET = torch.tensor([[[0, 0, 1],
                        [0, 2, 1]]])
PRED = torch.tensor([[[0, 1, 1],
                      [0, 2, 2]]])


def test_metrics_on_a_case_checked_by_hand():
    assert pixel_accuracy(PRED, TARGET) == pytest.approx(4 / 6)
    m = segmentation_confusion_matrix(PRED, TARGET, 4)
    assert m.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    iou = iou_per_class(PRED, TARGET, 4)
    # class 0: 2 / 3; class 1: 1 / (2 + 2 - 1) = 1/3; class 2: 1 / (1 + 2 - 1) = 1/2; class 3 unseen
    assert iou[:3].tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 2])
    assert math.isnan(iou[3])
    assert mean_iou(PRED, TARGET, 4) == pytest.approx((2 / 3 + 1 / 3 + 1 / 2) / 3)


def test_logits_are_reduced_with_argmax():
    logits = F.one_hot(PRED, 4).permute(0, 3, 1, 2).float() * 5 - 1
    assert torch.equal(as_class_map(logits, TARGET), PRED)
    assert pixel_accuracy(logits, TARGET) == pytest.approx(4 / 6)
    assert torch.allclose(iou_per_class(logits, TARGET, 4), iou_per_class(PRED, TARGET, 4), equal_nan=True)


def test_perfect_and_ignored_pixels():
    assert pixel_accuracy(TARGET, TARGET) == 1.0
    assert iou_per_class(TARGET, TARGET, 3).tolist() == [1.0, 1.0, 1.0]
    target = TARGET.clone()
    target[0, 0, 1] = 255                      # the one wrong class-0 pixel is ignored
    assert pixel_accuracy(PRED, target, ignore_index=255) == pytest.approx(4 / 5)
    assert iou_per_class(PRED, target, 3, ignore_index=255)[0] == pytest.approx(1.0)


def test_metrics_agree_with_torchmetrics_on_random_maps():
    g = torch.Generator().manual_seed(3)
    target = torch.randint(0, 6, (4, 12, 12), generator=g)
    pred = torch.where(torch.rand(4, 12, 12, generator=g) < 0.6, target,
                       torch.randint(0, 6, (4, 12, 12), generator=g))
    jac = MulticlassJaccardIndex(num_classes=6, average=None)(pred, target)
    acc = MulticlassAccuracy(num_classes=6, average="micro")(pred, target)
    torch.testing.assert_close(iou_per_class(pred, target, 6).float(), jac)
    assert pixel_accuracy(pred, target) == pytest.approx(acc.item())


def test_bad_metric_inputs_raise():
    with pytest.raises(ValueError, match="shape"):
        pixel_accuracy(torch.zeros(2, 3, dtype=torch.long), TARGET)
    with pytest.raises(TypeError, match="integer"):
        pixel_accuracy(PRED, TARGET.float())
    with pytest.raises(TypeError):
        pixel_accuracy(PRED.float(), TARGET)
    with pytest.raises(ValueError, match="outside"):
        iou_per_class(PRED, TARGET, 2)
    with pytest.raises(ValueError, match="n_classes"):
        iou_per_class(PRED, TARGET, 0)
    with pytest.raises(ValueError, match="ignore_index"):
        pixel_accuracy(PRED, torch.full_like(TARGET, 255), ignore_index=255)
