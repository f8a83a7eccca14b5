"""Digit canvases for detection and segmentation, and the plots that draw them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlbook.data import CANVAS_CLASSES, make_digit_canvases  # noqa: E402
from dlbook.vision_plots import draw_boxes, mask_to_rgb  # noqa: E402


@pytest.fixture(scope="module")
def canvases(mnist_available):
    return make_digit_canvases(120, size=64, min_digits=1, max_digits=4, train=False, seed=5)


def test_shapes_dtypes_and_ranges(canvases):
    c = canvases
    assert c.images.shape == (120, 1, 64, 64) and c.images.dtype == torch.float32
    assert 0.0 <= float(c.images.min()) and float(c.images.max()) <= 1.0
    assert c.semantic.shape == (120, 64, 64) and c.semantic.dtype == torch.int64
    assert int(c.semantic.min()) == 0 and int(c.semantic.max()) <= 10
    counts = [len(b) for b in c.boxes]
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) > 1
    for boxes, labels, inst in zip(c.boxes, c.labels, c.instances):
        assert boxes.dtype == torch.float32 and labels.dtype == torch.int64
        assert inst.dtype == torch.bool and inst.shape == (len(boxes), 64, 64)
        assert len(labels) == len(boxes) and labels.min() >= 0 and labels.max() <= 9
    assert len(CANVAS_CLASSES) == 11 and CANVAS_CLASSES[1] == "0"


def test_boxes_inside_the_canvas_and_not_overlapping(canvases):
    from torchvision.ops import box_iou

    for boxes in canvases.boxes:
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        iou = box_iou(boxes, boxes) - torch.eye(len(boxes))
        assert float(iou.max()) == 0.0


def test_masks_consistent_with_boxes_labels_and_image(canvases):
    c = canvases
    for i, (boxes, labels, inst) in enumerate(zip(c.boxes, c.labels, c.instances)):
        assert int(inst.sum(0).max()) <= 1                          # disjoint instances
        rebuilt = torch.zeros(64, 64, dtype=torch.int64)
        for box, label, mask in zip(boxes, labels, inst):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            tight = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1],
                                 dtype=torch.float32)
            assert torch.equal(tight, box)                            # box = tight around mask
            rebuilt[mask] = int(label) + 1
        assert torch.equal(rebuilt, c.semantic[i])                    # semantic = union
        ink = c.images[i, 0] >= 0.5
        assert torch.equal(ink, c.semantic[i] > 0)                    # masks = ink pixels


def test_digits_come_from_the_requested_split_and_look_like_mnist(canvases):
    # Every digit class appears, and a box holds a bright stroke, not noise.
    labels = torch.cat(canvases.labels)
    assert set(labels.tolist()) == set(range(10))
    areas = torch.cat([(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) for b in canvases.boxes])
    assert float(areas.min()) >= 8 and float(areas.max()) <= 32 * 32


def test_deterministic_for_a_seed(canvases):
    again = make_digit_canvases(120, size=64, min_digits=1, max_digits=4, train=False, seed=5)
    assert torch.equal(again.images, canvases.images)
    assert all(torch.equal(a, b) for a, b in zip(again.boxes, canvases.boxes))
    other = make_digit_canvases(5, size=64, train=False, seed=6)
    assert not torch.equal(other.images, canvases.images[:5])


def test_targets_for_torchvision(canvases):
    targets = canvases.targets(masks=True)
    assert len(targets) == 120
    t = targets[0]
    assert set(t) == {"boxes", "labels", "masks"}
    assert torch.equal(t["labels"], canvases.labels[0] + 1)          # 0 is the background
    assert t["masks"].dtype == torch.uint8 and t["masks"].shape[0] == len(t["boxes"])
    t["boxes"][0, 0] = -99.0                                          # a copy, not a view
    assert float(canvases.boxes[0][0, 0]) != -99.0
    assert set(canvases.targets()[1]) == {"boxes", "labels"}


def test_a_torchvision_detector_trains_on_the_targets(canvases):
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.rpn import AnchorGenerator

    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, stride=2, padding=1),
                                   torch.nn.ReLU())
    backbone.out_channels = 8
    model = FasterRCNN(backbone, num_classes=11, min_size=64, max_size=64,
                       image_mean=[0.5], image_std=[0.5],
                       rpn_anchor_generator=AnchorGenerator(((16, 32),), ((1.0,),)))
    losses = model(list(canvases.images[:4]), canvases.targets()[:4])
    assert set(losses) >= {"loss_classifier", "loss_box_reg", "loss_objectness"}
    assert all(torch.isfinite(v) for v in losses.values())


@pytest.mark.parametrize("kwargs, error", [
    ({"n": 0}, ValueError), ({"size": 4}, ValueError), ({"min_digits": 3, "max_digits": 2}, ValueError),
    ({"digit_size": (4, 20)}, ValueError), ({"digit_size": (20, 16)}, ValueError),
    ({"digit_size": 20}, TypeError), ({"size": 24, "digit_size": (16, 32)}, ValueError),
    ({"train": "yes"}, TypeError), ({"seed": -2}, ValueError),
])
def test_bad_arguments(kwargs, error):
    args = {"n": 2, **kwargs}
    with pytest.raises(error):
        make_digit_canvases(**args)


def test_draw_boxes_covers_exactly_the_box_pixels():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((20, 20)))
    patches = draw_boxes(ax, torch.tensor([[2.0, 3.0, 7.0, 9.0]]), labels=[4], scores=[0.87],
                         class_names=CANVAS_CLASSES)
    (rect,) = patches
    assert rect.get_xy() == (1.5, 2.5) and rect.get_width() == 5 and rect.get_height() == 6
    assert ax.texts[0].get_text() == "3 0.87"
    assert draw_boxes(ax, torch.zeros(0, 4)) == []
    plt.close(fig)


@pytest.mark.parametrize("boxes, kwargs", [
    (torch.zeros(3), {}), (torch.tensor([[5.0, 0, 2, 4]]), {}),
    (torch.tensor([[0.0, 0, float("nan"), 4]]), {}), (torch.tensor([[0.0, 0, 2, 4]]), {"labels": [1, 2]}),
])
def test_draw_boxes_bad_input(boxes, kwargs):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError):
        draw_boxes(ax, boxes, **kwargs)
    plt.close(fig)


def test_mask_to_rgb():
    mask = torch.tensor([[0, 1], [2, 1]])
    rgb = mask_to_rgb(mask, 3)
    assert rgb.shape == (2, 2, 3) and np.allclose(rgb[0, 0], 0.0)
    assert np.allclose(rgb[0, 1], rgb[1, 1]) and not np.allclose(rgb[0, 1], rgb[1, 0])
    for bad, n in ((mask, 2), (mask.float() + 0.5, 3), (mask[None], 3), (mask, 1)):
        with pytest.raises(ValueError):
            mask_to_rgb(bad, n)
