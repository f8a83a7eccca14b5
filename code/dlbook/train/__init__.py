"""Training: the :class:`Trainer`, its :class:`History`, callbacks, metrics and the LR range test."""

from .._lazy import lazy_exports

_EXPORTS = {
    "Trainer": ".trainer", "LRRangeTestResult": ".trainer", "History": ".history",
    "Callback": ".callbacks", "Checkpoint": ".callbacks", "EarlyStopping": ".callbacks",
    "LambdaCallback": ".callbacks", "TensorBoardLogger": ".callbacks",
    "accuracy": ".metrics", "binary_accuracy": ".metrics", "predicted_classes": ".metrics",
    "read_tensorboard_scalars": ".tensorboard",
    "FeatureRecorder": ".hooks", "lr_trace": ".schedules",
    "pixel_accuracy": ".segmentation_metrics", "iou_per_class": ".segmentation_metrics",
    "mean_iou": ".segmentation_metrics", "segmentation_confusion_matrix": ".segmentation_metrics",
    "as_class_map": ".segmentation_metrics",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "Trainer", "History", "LRRangeTestResult",
    "Callback", "Checkpoint", "EarlyStopping", "LambdaCallback", "TensorBoardLogger",
    "accuracy", "binary_accuracy", "predicted_classes", "read_tensorboard_scalars",
    "FeatureRecorder", "lr_trace",
    "pixel_accuracy", "iou_per_class", "mean_iou", "segmentation_confusion_matrix", "as_class_map",
]
