"""The small Faster R-CNN of the object-detection chapter: parts, shapes, training, bad input."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from dlbook.models.detection import (LOSS_NAMES, DetectionLosses, SmallBackbone, build_faster_rcnn,
                                     crop_classifier, detect, detection_collate, total_loss)
from dlbook.train import Trainer


def rectangles(n: int, seed: int = 0):
    """Canvases of 64 x 64 with one or two bright objects: filled squares (class 1) or hollow ones
    (class 2). Needs no data files."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 64, 64)
    targets = []
    for i in range(n):
        boxes, labels = [], []
        for k in range(int(torch.randint(1, 3, (1,), generator=g))):
            side = int(torch.randint(10, 20, (1,), generator=g))
            x = 32 * k + int(torch.randint(0, 32 - side + 1, (1,), generator=g))
            y = int(torch.randint(0, 64 - side + 1, (1,), generator=g))
            label = int(torch.randint(1, 3, (1,), generator=g))
            images[i, 0, y:y + side, x:x + side] = 1.0
            if label == 2:
                images[i, 0, y + 3:y + side - 3, x + 3:x + side - 3] = 0.0
            boxes.append([x, y, x + side, y + side])
            labels.append(label)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32),
                        "labels": torch.tensor(labels, dtype=torch.int64)})
    return images, targets


def small_model(num_classes: int = 3):
    torch.manual_seed(0)
    return build_faster_rcnn(SmallBackbone(1, (8, 16, 16)), num_classes, image_size=64)


def test_backbone_shapes_and_attributes():
    backbone = SmallBackbone(in_channels=3, widths=(8, 16, 24))
    out = backbone(torch.zeros(2, 3, 64, 48))
    assert out.shape == (2, 24, 16, 12)
    assert backbone.out_channels == 24 and backbone.stride == 4
    assert SmallBackbone(widths=(4,)).stride == 1


@pytest.mark.parametrize("kwargs, error", [
    (dict(in_channels=0), ValueError), (dict(in_channels=1.5), TypeError),
    (dict(widths=()), TypeError), (dict(widths=(8, 0)), ValueError), (dict(widths=16), TypeError),
])
def test_backbone_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        SmallBackbone(**kwargs)


def test_crop_classifier_shares_the_backbone():
    backbone = SmallBackbone(1, (8, 16, 16))
    classifier = crop_classifier(backbone, 11)
    assert classifier(torch.zeros(5, 1, 28, 28)).shape == (5, 11)
    assert classifier[0] is backbone
    with pytest.raises(TypeError, match="out_channels"):
        crop_classifier(nn.ReLU(), 11)
    with pytest.raises(ValueError, match="num_classes"):
        crop_classifier(backbone, 0)


def test_model_in_eval_mode_returns_one_dict_per_image():
    model = small_model().eval()
    with torch.no_grad():
        out = model([torch.rand(1, 64, 64), torch.rand(1, 64, 64)])
    assert len(out) == 2
    for d in out:
        k = len(d["scores"])
        assert d["boxes"].shape == (k, 4) and d["labels"].shape == (k,)
        assert k <= 20 and d["boxes"].dtype == torch.float32 and d["labels"].dtype == torch.int64
        assert (d["boxes"] >= 0).all() and (d["boxes"] <= 64).all()
    assert model.transform.min_size == (64,) and model.transform.max_size == 64
    assert model.rpn.anchor_generator.num_anchors_per_location() == [6]
    assert model.roi_heads.box_predictor.cls_score.out_features == 3


def test_factory_options_can_be_overridden():
    model = build_faster_rcnn(SmallBackbone(1, (4, 8)), 5, image_size=32, anchor_sizes=(8,),
                              aspect_ratios=(1.0,), box_detections_per_img=7, rpn_post_nms_top_n_test=10)
    assert model.roi_heads.detections_per_img == 7
    assert model.rpn._post_nms_top_n["testing"] == 10
    assert model.rpn.anchor_generator.num_anchors_per_location() == [1]
    assert model.roi_heads.box_predictor.bbox_pred.out_features == 20


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_classes=1), ValueError, "background"),
    (dict(num_classes=2.0), TypeError, "num_classes"),
    (dict(image_size=0), ValueError, "image_size"),
    (dict(anchor_sizes=()), TypeError, "anchor_sizes"),
    (dict(aspect_ratios=(1.0, -2.0)), ValueError, "aspect_ratios"),
    (dict(image_mean=(0.5, 0.5)), ValueError, "one value per input channel"),
    (dict(sampling_ratio=0), ValueError, "sampling_ratio"),
])
def test_factory_rejects_bad_arguments(kwargs, error, match):
    args = dict(num_classes=3, image_size=64) | kwargs
    with pytest.raises(error, match=match):
        build_faster_rcnn(SmallBackbone(), **args)


def test_factory_needs_a_backbone_with_out_channels():
    with pytest.raises(TypeError, match="out_channels"):
        build_faster_rcnn(nn.ReLU(), 3, image_size=64)


def test_collate_and_total_loss():
    images, targets = rectangles(3)
    (batch, batch_targets), again = detection_collate(list(zip(images, targets)))
    assert batch.shape == (3, 1, 64, 64) and len(batch_targets) == 3 and again == batch_targets
    assert total_loss({"a": torch.tensor(1.0), "b": torch.tensor(2.5)}).item() == 3.5
    with pytest.raises(ValueError):
        detection_collate([])
    with pytest.raises(ValueError):
        detection_collate([images[0]])
    with pytest.raises(TypeError):
        total_loss({})


def test_a_few_training_steps_with_the_trainer_lower_the_loss():
    images, targets = rectangles(16, seed=1)
    model = small_model()
    loader = DataLoader(list(zip(images, targets)), batch_size=8, shuffle=False, collate_fn=detection_collate)
    trainer = Trainer(DetectionLosses(model), total_loss, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                      metrics={name: (lambda out, y, name=name: out[name]) for name in LOSS_NAMES},
                      device="cpu", verbose=False)
    history = trainer.fit(loader, epochs=6)
    losses = history["train_loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    assert set(history.keys()) >= {f"train_{n}" for n in LOSS_NAMES}
    parts = sum(history[f"train_{n}"][-1] for n in LOSS_NAMES)
    assert parts == pytest.approx(losses[-1], rel=1e-5)


def test_losses_wrapper_refuses_eval_mode_and_detect_restores_the_mode():
    model = small_model()
    wrapper = DetectionLosses(model).eval()
    images, targets = rectangles(2)
    with pytest.raises(RuntimeError, match="eval mode"):
        wrapper(images, targets)
    model.train()
    out = detect(wrapper, images, batch_size=1)
    assert model.training and len(out) == 2
    assert all(set(d) == {"boxes", "labels", "scores"} and d["boxes"].device.type == "cpu" for d in out)
    with pytest.raises(ValueError, match="images"):
        detect(model, images[0])
    with pytest.raises(ValueError, match="batch_size"):
        detect(model, images, batch_size=0)
    with pytest.raises(TypeError):
        DetectionLosses("not a model")
