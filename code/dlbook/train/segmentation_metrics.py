"""Metrics of semantic segmentation: pixel accuracy, the confusion matrix and IoU per class.

The chapter *Segmentation: a class for every pixel* computes them by hand once and checks them against
``torchmetrics``; these functions are that computation, tested::

    from dlbook.train.segmentation_metrics import iou_per_class, pixel_accuracy

    pixel_accuracy(logits, masks)          # logits (N, C, H, W) or class maps (N, H, W)
    iou_per_class(preds, masks, 11)        # tensor of 11 IoUs; nan for a class seen nowhere

Predictions may be class maps (integers, the same shape as the targets) or logits/scores with one
extra class dimension at position 1, which is reduced with ``argmax``. IoU is computed over *all*
pixels passed in (as PASCAL VOC does), not averaged image by image.
"""

from __future__ import annotations

import torch

__all__ = ["as_class_map", "pixel_accuracy", "segmentation_confusion_matrix", "iou_per_class", "mean_iou"]


def as_class_map(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Class predictions with the targets' shape: ``argmax`` over dim 1 if ``preds`` has an extra dim.

    Parameters
    ----------
    preds : torch.Tensor
        Class maps of the targets' shape, or scores of shape ``(N, C, *targets.shape[1:])``.
    targets : torch.Tensor
        Integer class maps, e.g. ``(N, H, W)``.

    Returns
    -------
    torch.Tensor
        ``int64`` class maps of the targets' shape.
    """
    if not isinstance(preds, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("preds and targets must be tensors")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise TypeError(f"targets must hold integer class indices, got dtype {targets.dtype}")
    if preds.ndim == targets.ndim + 1 and preds.ndim >= 2 and preds.shape[0] == targets.shape[0] \
            and preds.shape[2:] == targets.shape[1:]:
        preds = preds.argmax(dim=1)
    if preds.shape != targets.shape:
        raise ValueError(f"preds must be class maps of the targets' shape {tuple(targets.shape)} or scores of "
                         f"shape (N, C, ...) with N and ... as in the targets; got {tuple(preds.shape)}")
    if preds.is_floating_point() or preds.is_complex():
        raise TypeError("class-map preds must be integers; pass scores with a class dimension to take argmax")
    return preds.long()


def _keep(targets: torch.Tensor, ignore_index: int | None) -> torch.Tensor:
    if ignore_index is None:
        return torch.ones_like(targets, dtype=torch.bool)
    return targets != ignore_index


def pixel_accuracy(preds: torch.Tensor, targets: torch.Tensor, *, ignore_index: int | None = None) -> float:
    """Fraction of pixels whose predicted class equals the target class.

    Parameters
    ----------
    preds : torch.Tensor
        Class maps or scores (see :func:`as_class_map`).
    targets : torch.Tensor
        Integer class maps.
    ignore_index : int, optional
        Target value of pixels to leave out (e.g. 255 for PASCAL VOC's object borders).

    Returns
    -------
    float
        In ``[0, 1]``; usable as a :class:`~dlbook.train.Trainer` metric.
    """
    preds = as_class_map(preds, targets)
    keep = _keep(targets, ignore_index)
    n = int(keep.sum())
    if n == 0:
        raise ValueError("no pixel left to score: every target equals ignore_index")
    return float(((preds == targets) & keep).sum()) / n


def segmentation_confusion_matrix(preds: torch.Tensor, targets: torch.Tensor, n_classes: int, *,
                                  ignore_index: int | None = None) -> torch.Tensor:
    """Pixel counts ``M[t, p]``: pixels of true class ``t`` predicted as class ``p``.

    Parameters
    ----------
    preds, targets : torch.Tensor
        As for :func:`pixel_accuracy`; class values must lie in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes ``C``.
    ignore_index : int, optional
        Target value of pixels to leave out.

    Returns
    -------
    torch.Tensor
        ``int64`` of shape ``(C, C)``; rows are true classes, columns predicted ones.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
    preds = as_class_map(preds, targets)
    keep = _keep(targets, ignore_index)
    t, p = targets[keep].long(), preds[keep]
    for name, v in (("targets", t), ("preds", p)):
        if v.numel() and (v.min() < 0 or v.max() >= n_classes):
            raise ValueError(f"{name} hold classes outside 0..{n_classes - 1} "
                             f"(min {int(v.min())}, max {int(v.max())})")
    return torch.bincount(t * n_classes + p, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def iou_per_class(preds: torch.Tensor, targets: torch.Tensor, n_classes: int, *,
                  ignore_index: int | None = None) -> torch.Tensor:
    """Intersection over union of every class, over all pixels passed in.

    ``IoU_c = TP_c / (TP_c + FP_c + FN_c)``: the pixels both predicted and labelled ``c``, divided
    by the pixels predicted or labelled ``c``.

    Parameters
    ----------
    preds, targets, n_classes, ignore_index
        As for :func:`segmentation_confusion_matrix`.

    Returns
    -------
    torch.Tensor
        ``float64`` of shape ``(n_classes,)``; ``nan`` for a class that is neither predicted nor
        present (its IoU is undefined; ``torchmetrics`` reports 0 there by default).
    """
    m = segmentation_confusion_matrix(preds, targets, n_classes, ignore_index=ignore_index).double()
    tp = m.diag()
    union = m.sum(0) + m.sum(1) - tp
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


def mean_iou(preds: torch.Tensor, targets: torch.Tensor, n_classes: int, *,
             ignore_index: int | None = None) -> float:
    """Mean of :func:`iou_per_class` over the classes whose IoU is defined (mIoU)."""
    iou = iou_per_class(preds, targets, n_classes, ignore_index=ignore_index)
    defined = iou[~iou.isnan()]
    if defined.numel() == 0:
        raise ValueError("no class is present or predicted: the mean IoU is undefined")
    return float(defined.mean())
