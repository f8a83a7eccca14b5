"""A small Faster R-CNN for small images, built from torchvision's own parts.

The chapter *Object detection* explains every part and trains this detector on canvases of
MNIST digits (:func:`dlbook.data.make_digit_canvases`)::

    from dlbook.models.detection import (SmallBackbone, build_faster_rcnn, crop_classifier,
                                         DetectionLosses, detection_collate, detect)

    backbone = SmallBackbone(in_channels=1, widths=(32, 64, 64))   # stride 4, 64 channels
    classifier = crop_classifier(backbone, num_classes=11)         # pretrain on digit crops ...
    model = build_faster_rcnn(backbone, num_classes=11, image_size=64)  # ... then detect
    trainer = Trainer(DetectionLosses(model), total_loss, optimizer)
    trainer.fit(DataLoader(list(zip(images, targets)), batch_size=8, collate_fn=detection_collate))
    predictions = detect(model, test_images)      # one dict of boxes, labels, scores per image

torchvision's ``FasterRCNN`` is made for photographs: it resizes every image so that its shorter
side is 800 pixels and keeps up to 2,000 region proposals per image. :func:`build_faster_rcnn`
keeps the image size and scales the proposal counts down to what a canvas of a few digits needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ._checks import positive_int as _positive_int

__all__ = ["SmallBackbone", "crop_classifier", "build_faster_rcnn", "DetectionLosses", "detection_collate",
           "total_loss", "LOSS_NAMES", "detect"]

#: The four losses a torchvision Faster R-CNN returns in training mode, in the order it returns them.
LOSS_NAMES = ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg")


def _positive_numbers(name: str, values, kind=(int, float)) -> tuple:
    if not isinstance(values, (tuple, list)) or not values:
        raise TypeError(f"{name} must be a non-empty tuple of numbers, got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, kind) or v <= 0:
            raise ValueError(f"{name} must hold positive numbers, got {values!r}")
    return tuple(values)


class SmallBackbone(nn.Sequential):
    """A plain convolutional trunk: ``conv-BN-ReLU`` blocks, 2x2 max pooling between them.

    Parameters
    ----------
    in_channels : int, default 1
        Channels of the input images (1 for grey canvases).
    widths : tuple of int, default (32, 64, 64)
        Output channels of each block. Every block but the last is followed by a 2x2 max pooling,
        so the feature map is ``2 ** (len(widths) - 1)`` times smaller than the image.

    Attributes
    ----------
    out_channels : int
        Channels of the feature map, ``widths[-1]``: torchvision's detectors read this attribute.
    stride : int
        How many image pixels one feature-map cell spans.
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (32, 64, 64)) -> None:
        from .blocks import conv_bn_relu

        _positive_int("in_channels", in_channels)
        if not isinstance(widths, (tuple, list)) or not widths:
            raise TypeError(f"widths must be a non-empty tuple of ints, got {widths!r}")
        for w in widths:
            _positive_int("every entry of widths", w)
        layers: list[nn.Module] = []
        previous = in_channels
        for i, width in enumerate(widths):
            layers.append(conv_bn_relu(previous, width))
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            previous = width
        super().__init__(*layers)
        self.out_channels = int(widths[-1])
        self.stride = 2 ** (len(widths) - 1)


def crop_classifier(backbone: nn.Module, num_classes: int, *, grid: int = 7) -> nn.Sequential:
    """A classifier of image crops that shares ``backbone``: pooling to a fixed grid, then a linear layer.

    The head average-pools the feature map to ``grid x grid`` cells (for 28-pixel crops and a
    backbone of stride 4 that is the 7 x 7 map itself), flattens it and applies one linear layer,
    so the classifier sees where in the crop each feature is, as a detector's box head does.
    Training it trains the backbone's weights too (they are the same module), which is how the
    chapter pretrains the detector's backbone on crops of digits and of background.

    Parameters
    ----------
    backbone : nn.Module
        Maps images to feature maps; must have an ``out_channels`` attribute.
    num_classes : int
        Number of classes, background included (11 for the digit canvases).
    grid : int, default 7
        Side of the pooled grid.
    """
    if not isinstance(backbone, nn.Module) or not hasattr(backbone, "out_channels"):
        raise TypeError("backbone must be an nn.Module with an out_channels attribute, such as SmallBackbone()")
    _positive_int("num_classes", num_classes)
    _positive_int("grid", grid)
    return nn.Sequential(backbone, nn.AdaptiveAvgPool2d(grid), nn.Flatten(),
                         nn.Linear(backbone.out_channels * grid * grid, num_classes))


def build_faster_rcnn(backbone: nn.Module, num_classes: int, *, image_size: int,
                      anchor_sizes: Sequence[float] = (12, 18, 24), aspect_ratios: Sequence[float] = (1.0, 2.0),
                      roi_output_size: int = 7, sampling_ratio: int = 2, representation_size: int = 128,
                      image_mean: Sequence[float] | None = None, image_std: Sequence[float] | None = None,
                      **kwargs):
    """A torchvision ``FasterRCNN`` around ``backbone``, sized for small images.

    Parameters
    ----------
    backbone : nn.Module
        Returns one feature map (a tensor) per image batch and has an ``out_channels`` attribute.
    num_classes : int
        Number of classes **including** the background class 0 (11 for digits 0-9).
    image_size : int
        The images' side in pixels. Passed as ``min_size`` and ``max_size`` to the model's
        transform, which then leaves images of this size unscaled (its default, 800, would blow
        a 64-pixel canvas up more than twelve times).
    anchor_sizes : tuple of float, default (12, 18, 24)
        Anchor sizes in image pixels (the square root of the anchor's area). The defaults suit
        the digits of :func:`dlbook.data.make_digit_canvases` on 64-pixel canvases.
    aspect_ratios : tuple of float, default (1.0, 2.0)
        Anchor height / width ratios; every size is combined with every ratio (digits are
        taller than wide).
    roi_output_size : int, default 7
        Side of the grid that ``MultiScaleRoIAlign`` samples from each proposal.
    sampling_ratio : int, default 2
        Sampling points per grid cell and direction that ``MultiScaleRoIAlign`` averages
        (``sampling_ratio ** 2`` bilinear samples per cell).
    representation_size : int, default 128
        Width of the two fully connected layers of the box head.
    image_mean, image_std : tuple of float, optional
        Per-channel normalisation inside the model; default 0 and 1 for every channel of the
        backbone's first convolution, that is, none (the images are used as they are).
    **kwargs
        Any other ``FasterRCNN`` argument, overriding the small-image defaults used here:
        ``rpn_pre_nms_top_n_train=300``, ``rpn_post_nms_top_n_train=100``,
        ``rpn_pre_nms_top_n_test=300``, ``rpn_post_nms_top_n_test=50``,
        ``rpn_batch_size_per_image=64``, ``box_batch_size_per_image=32``,
        ``box_detections_per_img=20``.

    Returns
    -------
    torchvision.models.detection.FasterRCNN
    """
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.rpn import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign

    if not isinstance(backbone, nn.Module) or not hasattr(backbone, "out_channels"):
        raise TypeError("backbone must be an nn.Module with an out_channels attribute, such as SmallBackbone()")
    _positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(f"num_classes counts the background too, so it must be at least 2, got {num_classes}")
    _positive_int("image_size", image_size)
    _positive_int("roi_output_size", roi_output_size)
    _positive_int("sampling_ratio", sampling_ratio)
    _positive_int("representation_size", representation_size)
    sizes = _positive_numbers("anchor_sizes", anchor_sizes)
    ratios = _positive_numbers("aspect_ratios", aspect_ratios)
    first_conv = next((m for m in backbone.modules() if isinstance(m, nn.Conv2d)), None)
    channels = first_conv.in_channels if first_conv is not None else 1
    image_mean = [0.0] * channels if image_mean is None else list(image_mean)
    image_std = [1.0] * channels if image_std is None else list(image_std)
    if len(image_mean) != channels or len(image_std) != channels:
        raise ValueError(f"image_mean and image_std need one value per input channel ({channels}), got "
                         f"{len(image_mean)} and {len(image_std)}")
    options = dict(rpn_pre_nms_top_n_train=300, rpn_post_nms_top_n_train=100, rpn_pre_nms_top_n_test=300,
                   rpn_post_nms_top_n_test=50, rpn_batch_size_per_image=64, box_batch_size_per_image=32,
                   box_detections_per_img=20)
    options.update(kwargs)
    anchors = AnchorGenerator(sizes=(sizes,), aspect_ratios=(ratios,))
    roi_pool = MultiScaleRoIAlign(featmap_names=["0"], output_size=roi_output_size,
                                  sampling_ratio=sampling_ratio)
    c = backbone.out_channels
    box_head = TwoMLPHead(c * roi_output_size ** 2, representation_size)
    box_predictor = FastRCNNPredictor(representation_size, num_classes)
    return FasterRCNN(backbone, num_classes=None, min_size=image_size, max_size=image_size,
                      image_mean=image_mean, image_std=image_std, rpn_anchor_generator=anchors,
                      box_roi_pool=roi_pool, box_head=box_head, box_predictor=box_predictor, **options)


class DetectionLosses(nn.Module):
    """Wrap a torchvision detector so that :class:`dlbook.train.Trainer` can train it.

    A torchvision detector computes its own losses: in training mode, ``model(images, targets)``
    returns a dict of loss tensors. The ``Trainer`` calls ``model(*inputs)`` and then
    ``loss_fn(outputs, targets)``; with this wrapper, batches made by :func:`detection_collate`
    and ``loss_fn=``:func:`total_loss`, that computes exactly those losses and their sum.

    Only training goes through the wrapper: a detector evaluated in eval mode returns detections,
    not losses, so measure it with :func:`detect` and a detection metric instead of
    ``Trainer.evaluate``.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        if not isinstance(detector, nn.Module):
            raise TypeError(f"detector must be an nn.Module, got {type(detector).__name__}")
        self.detector = detector

    def forward(self, images, targets: Sequence[Mapping]) -> dict:
        if not self.training:
            raise RuntimeError("DetectionLosses only computes training losses; torchvision's detectors return "
                               "detections in eval mode. Evaluate with dlbook.models.detection.detect and a "
                               "detection metric such as torchmetrics' MeanAveragePrecision")
        return self.detector(list(images), list(targets))


def total_loss(losses: Mapping[str, torch.Tensor], targets=None) -> torch.Tensor:
    """The sum of a detector's losses: the ``loss_fn`` to use with :class:`DetectionLosses`."""
    if not isinstance(losses, Mapping) or not losses:
        raise TypeError("losses must be the non-empty dict of loss tensors a detector returns in training mode")
    return sum(losses.values())


def detection_collate(items):
    """Collate ``(image, target)`` pairs into the batches that :class:`DetectionLosses` expects.

    Images of one size are stacked into an ``(N, C, H, W)`` tensor; targets stay a list of dicts
    (each image has its own number of boxes). The batch is ``((images, targets), targets)``:
    the detector's inputs, then the targets again as the ``Trainer``'s targets.
    """
    items = list(items)
    if not items or not all(isinstance(i, (tuple, list)) and len(i) == 2 for i in items):
        raise ValueError("detection_collate expects a non-empty list of (image, target) pairs")
    images = torch.stack([image for image, _ in items])
    targets = [dict(target) for _, target in items]
    return (images, targets), targets


@torch.no_grad()
def detect(model: nn.Module, images, *, batch_size: int = 64, device=None) -> list[dict]:
    """Run a torchvision detector in eval mode; return its detections on the CPU.

    Parameters
    ----------
    model : nn.Module
        A torchvision detection model (or a :class:`DetectionLosses` around one).
    images : tensor (N, C, H, W) or sequence of (C, H, W) tensors
    batch_size : int, default 64
    device : str or torch.device, optional
        Where to compute (default: where the model's parameters are).

    Returns
    -------
    list of dict
        One dict per image with ``"boxes"`` (float32 ``(k, 4)``, xyxy), ``"labels"`` (int64
        ``(k,)``) and ``"scores"`` (float32 ``(k,)``, highest first). The model's training or eval
        mode is restored afterwards.
    """
    if isinstance(model, DetectionLosses):
        model = model.detector
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    _positive_int("batch_size", batch_size)
    if isinstance(images, torch.Tensor) and images.ndim != 4:
        raise ValueError(f"images must be a (N, C, H, W) tensor or a list of (C, H, W) tensors, got shape "
                         f"{tuple(images.shape)}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[dict] = []
    try:
        for start in range(0, len(images), batch_size):
            batch = [image.to(device) for image in images[start:start + batch_size]]
            out += [{k: v.cpu() for k, v in d.items()} for d in model(batch)]
    finally:
        model.train(was_training)
    return out
