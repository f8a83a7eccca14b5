"""Training: the :class:`Trainer`, its :class:`History`, callbacks, metrics and the LR range test."""

from .callbacks import Callback, Checkpoint, EarlyStopping, LambdaCallback, TensorBoardLogger
from .history import History
from .metrics import accuracy, binary_accuracy, predicted_classes
from .tensorboard import read_tensorboard_scalars
from .trainer import LRRangeTestResult, Trainer

__all__ = [
    "Trainer", "History", "LRRangeTestResult",
    "Callback", "Checkpoint", "EarlyStopping", "LambdaCallback", "TensorBoardLogger",
    "accuracy", "binary_accuracy", "predicted_classes", "read_tensorboard_scalars",
]
