"""FeatureRecorder: records detached outputs of named modules and always removes its hooks."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

import dlbook
from dlbook.train.hooks import FeatureRecorder


def small_cnn() -> nn.Sequential:
    dlbook.seed_everything(0)
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 2, 3)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc", nn.Linear(2 * 4 * 4, 3))]))


def n_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_records_detached_outputs_with_the_right_shapes():
    model = small_cnn()
    x = torch.randn(5, 1, 10, 10, requires_grad=True)
    with FeatureRecorder(model, ["conv1", "relu1", "pool1", "fc"]) as rec:
        assert rec.attached and n_hooks(model) == 4
        out = model(x)
    assert not rec.attached and n_hooks(model) == 0
    assert rec["conv1"].shape == (5, 2, 8, 8)
    assert rec["pool1"].shape == (5, 2, 4, 4)
    assert torch.equal(rec["relu1"], rec["conv1"].clamp_min(0))
    assert torch.equal(rec["fc"], out.detach())
    assert all(not t.requires_grad and t.grad_fn is None for _, t in rec.items())
    assert rec.keys() == ["conv1", "relu1", "pool1", "fc"]
    assert "fc" in rec and "flatten" not in rec


def test_recording_does_not_change_outputs_or_gradients():
    model = small_cnn()
    x = torch.randn(4, 1, 10, 10)
    plain = model(x)
    plain.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with FeatureRecorder(model):
        hooked = model(x)
        hooked.sum().backward()
    assert torch.equal(plain, hooked)
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))


def test_default_names_are_the_leaf_modules_and_batches_are_concatenated():
    model = small_cnn()
    rec = FeatureRecorder(model)
    assert rec.keys() == ["conv1", "relu1", "pool1", "flatten", "fc"]
    with rec:
        model(torch.randn(3, 1, 10, 10))
        model(torch.randn(2, 1, 10, 10))
    assert rec["flatten"].shape == (5, 32)
    rec.clear()
    with pytest.raises(ValueError, match="nothing recorded"):
        rec["fc"]


def test_hooks_are_removed_even_when_the_block_raises():
    model = small_cnn()
    with pytest.raises(RuntimeError):
        with FeatureRecorder(model, ["conv1", "fc"]) as rec:
            model(torch.randn(2, 1, 10, 10))
            model(torch.randn(2, 3, 10, 10))  # wrong number of channels: conv2d raises
    assert n_hooks(model) == 0 and not rec.attached
    assert rec["conv1"].shape == (2, 2, 8, 8)  # what was recorded before the error is kept
    model(torch.randn(1, 1, 10, 10))
    assert len(rec.outputs["conv1"]) == 1  # and nothing is recorded after it


def test_hooks_are_removed_on_keyboard_interrupt_too():
    model = small_cnn()
    with pytest.raises(KeyboardInterrupt):
        with FeatureRecorder(model, ["relu1"]):
            raise KeyboardInterrupt
    assert n_hooks(model) == 0


def test_attach_and_remove_by_hand():
    model = small_cnn()
    rec = FeatureRecorder(model, "pool1").attach()
    with pytest.raises(RuntimeError, match="already attached"):
        rec.attach()
    model(torch.randn(1, 1, 10, 10))
    rec.remove()
    rec.remove()  # removing twice is harmless
    assert n_hooks(model) == 0 and rec["pool1"].shape == (1, 2, 4, 4)
    assert "detached" in repr(rec)


def test_works_with_the_trainer_predict():
    model = small_cnn()
    trainer = dlbook.Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                             device="cpu", verbose=False)
    with FeatureRecorder(model, ["fc"]) as rec:
        logits = trainer.predict(torch.randn(7, 1, 10, 10), batch_size=3)
    assert torch.equal(rec["fc"], logits)


def test_tuple_outputs_are_detached_element_by_element():
    lstm = nn.LSTM(3, 4, batch_first=True)
    model = nn.Sequential(OrderedDict([("lstm", lstm)]))
    with FeatureRecorder(model, ["lstm"]) as rec:
        model(torch.randn(2, 5, 3))
    (seq, (h, c)), = rec["lstm"]
    assert seq.shape == (2, 5, 4) and h.shape == (1, 2, 4) and not seq.requires_grad


class _TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4)

    def forward(self, x):
        h = self.body(x)
        return {"a": h, "b": [h * 2]}


def test_dict_outputs_are_detached_too():
    model = nn.Sequential(OrderedDict([("heads", _TwoHeads())]))
    with FeatureRecorder(model, ["heads"]) as rec:
        model(torch.randn(2, 3))
    out, = rec["heads"]
    assert not out["a"].requires_grad and not out["b"][0].requires_grad and out["a"].shape == (2, 4)


@pytest.mark.parametrize("names, error, match", [
    (["conv9"], ValueError, "no module"), ([], ValueError, "empty"), (["fc", "fc"], ValueError, "more than once"),
    ([3], TypeError, "str")])
def test_bad_names_are_refused(names, error, match):
    with pytest.raises(error, match=match):
        FeatureRecorder(small_cnn(), names)


def test_bad_model_and_unknown_key():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        FeatureRecorder(lambda x: x)
    rec = FeatureRecorder(small_cnn(), ["fc"])
    with pytest.raises(KeyError, match="not recorded"):
        rec["conv1"]
