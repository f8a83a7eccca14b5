"""Plain metric functions ``metric(outputs, targets) -> float``.

The :class:`~dlbook.train.Trainer` also accepts ``torchmetrics`` metric objects; these functions
cover the common cases without state and are averaged over an epoch weighted by batch size.
"""

from __future__ import annotations

import torch

__all__ = ["accuracy", "binary_accuracy", "predicted_classes"]


def predicted_classes(outputs: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Class predictions from model outputs.

    ``(N, C)`` outputs with ``C > 1`` give ``argmax`` over classes; ``(N,)`` or ``(N, 1)`` outputs
    are read as binary logits and compared with ``threshold`` (0 for logits, i.e. probability 0.5).
    """
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(dim=1)
    if outputs.ndim in (1, 2):
        return (outputs.reshape(-1) > threshold).long()
    raise ValueError(f"expected outputs of shape (N, C), (N, 1) or (N,), got {tuple(outputs.shape)}")


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of correct predictions; multi-class (argmax) or binary logits (threshold 0)."""
    preds = predicted_classes(outputs)
    targets = targets.reshape(-1)
    if preds.shape[0] != targets.shape[0]:
        raise ValueError(f"outputs hold {preds.shape[0]} predictions but targets hold {targets.shape[0]} labels")
    return (preds == targets.long()).float().mean().item()


def binary_accuracy(outputs: torch.Tensor, targets: torch.Tensor, threshold: float = 0.5,
                    from_logits: bool = True) -> float:
    """Accuracy of binary predictions; ``threshold`` is a probability."""
    probs = torch.sigmoid(outputs) if from_logits else outputs
    preds = (probs.reshape(-1) >= threshold).long()
    return (preds == targets.reshape(-1).long()).float().mean().item()
