"""Training: the :class:`Trainer`, its :class:`History`, callbacks, metrics and the LR range test."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Trainer": ".trainer", "LRRangeTestResult": ".trainer", "History": ".history",
    "Callback": ".callbacks", "Checkpoint": ".callbacks", "EarlyStopping": ".callbacks",
    "LambdaCallback": ".callbacks", "TensorBoardLogger": ".callbacks",
    "accuracy": ".metrics", "binary_accuracy": ".metrics", "predicted_classes": ".metrics",
    "read_tensorboard_scalars": ".tensorboard",
    "FeatureRecorder": ".hooks", "lr_trace": ".schedules",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "Trainer", "History", "LRRangeTestResult",
    "Callback", "Checkpoint", "EarlyStopping", "LambdaCallback", "TensorBoardLogger",
    "accuracy", "binary_accuracy", "predicted_classes", "read_tensorboard_scalars",
    "FeatureRecorder", "lr_trace",
]
