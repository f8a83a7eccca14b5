"""Architectures that chapters build once and then reuse."""

from .._lazy import lazy_exports

_EXPORTS = {
    "MLP": ".mlp",
    "ConvBlock": ".cnn", "LinearBlock": ".cnn", "CifarCNN": ".cnn",
    "ResidualBlock": ".blocks", "InceptionBlock": ".blocks", "conv_bn_relu": ".blocks",
    "AutoEncoder": ".autoencoder", "ConvEncoder": ".autoencoder", "ConvDecoder": ".autoencoder",
    "up_block": ".autoencoder", "down_block": ".autoencoder", "checkerboard_score": ".autoencoder",
    "conv_transpose_output_size": ".autoencoder",
    "freeze": ".pretrained", "count_parameters": ".pretrained", "classifier_head": ".pretrained",
    "extract_features": ".pretrained", "minilm_path": ".pretrained",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = list(_EXPORTS)
