"""Tests of dlbook.models.pretrained: freezing, counting, finding the head, precomputing features.

Small random models only: nothing here needs the data bundle or pretrained weights.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlbook.models.pretrained import classifier_head, count_parameters, extract_features, freeze


def small_cnn(n_classes: int = 3) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, n_classes))


# ------------------------------------------------------------------------------------------------
# freeze and count_parameters
# ------------------------------------------------------------------------------------------------

def test_freeze_turns_off_every_gradient_and_returns_the_module():
    net = small_cnn()
    total = count_parameters(net)
    assert total == 3 * 8 * 9 + 8 + 2 * 8 + 8 * 16 + 16 + 16 * 3 + 3
    assert count_parameters(net, trainable_only=True) == total
    assert freeze(net[:6]) is not None
    assert all(not p.requires_grad for p in net[:6].parameters())
    assert count_parameters(net, trainable_only=True) == 8 * 16 + 16 + 16 * 3 + 3
    assert net.training, "freezing must not switch the module to eval mode"


def test_a_frozen_body_stays_put_while_the_new_head_learns():
    net = small_cnn(n_classes=2)
    freeze(net)
    net[-1] = nn.Linear(16, 2)            # a new head trains by default
    body_before = [p.clone() for p in net[:-1].parameters()]
    head_before = net[-1].weight.clone()
    torch.manual_seed(1)
    x = torch.randn(32, 3, 8, 8)
    net.eval()                             # no dropout or batch statistics: a clean loss curve
    with torch.no_grad():                  # labels the head can express: a split of the features
        score = net[:-1](x) @ torch.randn(16)
    y = (score > score.median()).long()
    params = [p for p in net.parameters() if p.requires_grad]
    assert len(params) == 2
    opt = torch.optim.Adam(params, lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
    assert all(torch.equal(a, b) for a, b in zip(body_before, net[:-1].parameters()))
    assert not torch.equal(head_before, net[-1].weight)


def test_shared_parameters_are_counted_once():
    layer = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(layer, nn.ReLU(), layer)) == 20


@pytest.mark.parametrize("bad", [None, "net", torch.zeros(2)])
def test_bad_modules_are_refused(bad):
    with pytest.raises(TypeError, match="module"):
        freeze(bad)
    with pytest.raises(TypeError, match="module"):
        count_parameters(bad)
    with pytest.raises(TypeError, match="model"):
        classifier_head(bad)


def test_trainable_only_must_be_a_bool():
    with pytest.raises(TypeError, match="trainable_only"):
        count_parameters(nn.Linear(2, 2), trainable_only="yes")


# ------------------------------------------------------------------------------------------------
# classifier_head
# ------------------------------------------------------------------------------------------------

def test_classifier_head_finds_the_last_linear_layer():
    net = small_cnn(n_classes=5)
    name, layer = classifier_head(net)
    assert name == "8" and layer is net[8] and layer.out_features == 5
    net.set_submodule(name, nn.Linear(layer.in_features, 2))
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 2)


@pytest.mark.parametrize("builder, expected, in_features", [
    ("resnet18", "fc", 512), ("mobilenet_v2", "classifier.1", 1280), ("vgg11", "classifier.6", 4096),
    ("alexnet", "classifier.6", 4096)])
def test_classifier_head_on_torchvision_architectures(builder, expected, in_features):
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):              # structure only: no memory, no weights, no download
        net = getattr(torchvision.models, builder)(weights=None)
    name, layer = classifier_head(net)
    assert (name, layer.in_features, layer.out_features) == (expected, in_features, 1000)


def test_a_model_without_linear_layers_has_no_head():
    with pytest.raises(ValueError, match="no nn.Linear"):
        classifier_head(nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU()))


# ------------------------------------------------------------------------------------------------
# extract_features
# ------------------------------------------------------------------------------------------------

def body_of(net: nn.Sequential) -> nn.Sequential:
    return net[:6]                          # conv ... flatten: 8 features per image


def test_features_equal_the_eval_mode_outputs_in_any_batch_size():
    net = small_cnn()
    body = body_of(net)
    body.train()
    x = torch.randn(37, 3, 8, 8)
    with torch.no_grad():
        expected = body.eval()(x)
    body.train()
    for batch_size in (1, 8, 64):
        feats = extract_features(body, x, batch_size=batch_size, device="cpu")
        assert feats.shape == (37, 8) and feats.dtype == torch.float32 and feats.device.type == "cpu"
        torch.testing.assert_close(feats, expected, rtol=1e-5, atol=1e-6)
    assert body.training, "the model's training mode is restored"
    plain = extract_features(body, x, device="cpu", channels_last=False)
    torch.testing.assert_close(plain, expected, rtol=1e-5, atol=1e-6)


def test_features_are_deterministic_and_leave_batchnorm_statistics_alone():
    body = body_of(small_cnn())
    x = torch.randn(20, 3, 8, 8)
    before = body[1].running_mean.clone()
    a = extract_features(body, x, device="cpu")
    b = extract_features(body, x, device="cpu")
    assert torch.equal(a, b)
    assert torch.equal(before, body[1].running_mean)


def test_features_from_a_dataloader_of_pairs_keep_the_order():
    body = body_of(small_cnn())
    x, y = torch.randn(25, 3, 8, 8), torch.arange(25)
    loader = DataLoader(TensorDataset(x, y), batch_size=7, shuffle=False)
    torch.testing.assert_close(extract_features(body, loader, device="cpu"),
                               extract_features(body, x, device="cpu"))
    only_inputs = [x[:10], x[10:]]
    torch.testing.assert_close(extract_features(body, only_inputs, device="cpu"),
                               extract_features(body, x, device="cpu"))


def test_a_head_trained_on_precomputed_features_learns_and_can_be_reattached():
    torch.manual_seed(3)
    body = freeze(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten()))
    x = torch.randn(64, 3, 8, 8)
    feats = extract_features(body, x, device="cpu")
    assert feats.shape == (64, 32)
    score = feats @ torch.randn(32)
    y = (score > score.median()).long()    # a rule the features can express
    assert not feats.requires_grad and not feats.is_inference()
    head = nn.Linear(32, 2)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(feats), y)
        loss.backward()                   # features computed under no_grad can be trained on
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], (losses[0], losses[-1])
    full = nn.Sequential(body, head).eval()
    with torch.no_grad():
        torch.testing.assert_close(full(x), head(feats), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_features_computed_on_the_gpu_come_back_to_the_cpu():
    body = body_of(small_cnn())
    x = torch.randn(10, 3, 8, 8)
    feats = extract_features(body, x, device="cuda")
    assert feats.device.type == "cpu"
    torch.testing.assert_close(feats, extract_features(body, x, device="cpu"), rtol=1e-4, atol=1e-5)


def test_extract_features_rejects_bad_input():
    body = body_of(small_cnn())
    x = torch.randn(4, 3, 8, 8)
    with pytest.raises(TypeError, match="model"):
        extract_features(lambda t: t, x)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            extract_features(body, x, batch_size=bad)
    with pytest.raises(ValueError, match="at least one example"):
        extract_features(body, torch.zeros(0, 3, 8, 8), device="cpu")
    with pytest.raises(ValueError, match="no batches"):
        extract_features(body, [], device="cpu")
    with pytest.raises(TypeError, match="iterable of batches"):
        extract_features(body, 42, device="cpu")
    with pytest.raises(TypeError, match="every batch"):
        extract_features(body, [[1, 2, 3]], device="cpu")
    with pytest.raises(TypeError, match="return a tensor"):
        extract_features(_ReturnsTuple(), x, device="cpu")


class _ReturnsTuple(nn.Module):
    def forward(self, x):
        return x, x
