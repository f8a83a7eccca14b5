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
    "PatchEmbedding": ".vit", "VisionTransformer": ".vit", "patchify": ".vit",
    "causal_mask": ".transformer", "padding_mask": ".transformer", "sinusoidal_encoding": ".transformer",
    "PositionalEncoding": ".transformer", "EncoderLayer": ".transformer", "DecoderLayer": ".transformer",
    "TransformerEncoder": ".transformer", "TransformerDecoder": ".transformer",
    "SequenceClassifier": ".recurrent", "RECURRENT_CELLS": ".recurrent",
    "EncoderDecoder": ".seq2seq", "AttentionDecoder": ".seq2seq",
    "MultiHeadAttention": ".attention",
    "UNet": ".unet", "double_conv": ".unet",
    "LinearGenerator": ".gan", "LinearDiscriminator": ".gan", "DCGANGenerator": ".gan",
    "DCGANDiscriminator": ".gan", "dcgan_init_": ".gan", "discriminator_loss": ".gan",
    "generator_loss": ".gan", "gan_step": ".gan",
    "vocab_coverage": ".embeddings", "Coverage": ".embeddings",
    "SmallBackbone": ".detection", "crop_classifier": ".detection", "build_faster_rcnn": ".detection",
    "DetectionLosses": ".detection", "detection_collate": ".detection", "total_loss": ".detection",
    "detect": ".detection", "LOSS_NAMES": ".detection",
    "Vocab": ".text", "build_vocab": ".text", "collate_bags": ".text", "pretrained_embeddings": ".text",
    "EmbeddingBagClassifier": ".text",
    "MeanEmbeddingClassifier": ".text_classifiers", "TextCNN": ".text_classifiers",
    "BiLSTMClassifier": ".text_classifiers",
    "bigram_counts": ".ngram", "bigram_probabilities": ".ngram", "average_nll": ".ngram",
    "sample_words": ".ngram",
    "GPTConfig": ".gpt", "GPT": ".gpt", "CausalSelfAttention": ".gpt", "random_blocks": ".gpt",
    "estimate_loss": ".gpt",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = list(_EXPORTS)
