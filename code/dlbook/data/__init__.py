"""Data: the registry of real data sets, tensor-native loaders, and synthetic generators.

>>> from dlbook.data import load_mnist
>>> images, labels = load_mnist(train=True)   # uint8 (60000, 28, 28), int64 (60000,)

The registry (and the catalog that fills it) load with the package; loaders and generators load
on first use, so a chapter that only makes synthetic data never imports the MNIST reader.
"""

from .._lazy import lazy_exports
from . import catalog  # noqa: F401  (registers the data sets)
from .registry import (
    CacheError,
    ChecksumError,
    DataConfigError,
    DataError,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    cache_dir,
    data_roots,
    fetch,
    fetch_file,
    get_dataset_info,
    list_datasets,
    register,
)

_EXPORTS = {
    "make_linear_regression": ".synthetic", "make_parabolas": ".synthetic", "split_indices": ".synthetic",
    "load_water_potability": ".tabular", "WATER_POTABILITY_FEATURES": ".tabular",
    "MNIST": ".vision", "MNIST_CLASSES": ".vision", "load_mnist": ".vision", "read_idx": ".vision",
    "make_line_images": ".synthetic",
    "CIFAR10_CLASSES": ".images", "RPS_CLASSES": ".images", "OMNIGLOT_SUBSET_ALPHABETS": ".images",
    "OmniglotData": ".images", "load_cifar10": ".images", "cifar10_variant": ".images",
    "load_rps28": ".images", "load_omniglot": ".images", "hymenoptera_root": ".images",
    "prepare_torchvision_weights": ".weights",
    "class_weights": ".samplers", "make_balanced_sampler": ".samplers", "class_counts_per_epoch": ".samplers",
    "BatchAugment": ".augment", "random_crop_flip": ".augment",
    "SQUARE_CORNERS": ".sequences", "make_noisy_squares": ".sequences",
    "CANVAS_CLASSES": ".canvases", "DigitCanvases": ".canvases", "make_digit_canvases": ".canvases",
    "BOOKS": ".text", "load_book": ".text", "load_names": ".text", "load_tiny_shakespeare": ".text",
    "UCI_SOURCES": ".text", "load_uci_sentiment": ".text", "load_20newsgroups": ".text", "load_glove": ".text",
    "CharVocab": ".chars", "make_bigram_pairs": ".chars", "make_context_windows": ".chars", "split_words": ".chars",
    "CO2_FREQUENCIES": ".timeseries", "load_co2": ".timeseries", "make_windows": ".timeseries",
    "clean_book": ".tokenize", "split_sentences": ".tokenize", "book_sentences": ".tokenize",
    "train_tokenizer": ".tokenize", "SPECIAL_TOKENS": ".tokenize", "ABBREVIATIONS": ".tokenize",
    "TOKENIZER_KINDS": ".tokenize",
    "sentiment_splits": ".sentiment", "SentimentSplit": ".sentiment", "SentimentSplits": ".sentiment",
    "train_word_tokenizer": ".sentiment", "encode_padded": ".sentiment", "trim_padding": ".sentiment",
    "LengthBucketSampler": ".sentiment", "PAD_ID": ".sentiment", "UNK_ID": ".sentiment",
    "WORD_SPECIAL_TOKENS": ".sentiment",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "CacheError", "ChecksumError", "DataConfigError", "DataError", "DatasetInfo", "DataUnavailableError", "RemoteFile",
    "cache_dir", "data_roots", "fetch", "fetch_file", "get_dataset_info", "list_datasets", "register",
    "make_linear_regression", "make_parabolas", "split_indices",
    "load_water_potability", "WATER_POTABILITY_FEATURES",
    "MNIST", "MNIST_CLASSES", "load_mnist", "read_idx",
    "make_line_images",
    "CIFAR10_CLASSES", "RPS_CLASSES", "OMNIGLOT_SUBSET_ALPHABETS", "OmniglotData", "load_cifar10",
    "cifar10_variant", "load_rps28", "load_omniglot", "hymenoptera_root",
    "prepare_torchvision_weights",
    "class_weights", "make_balanced_sampler", "class_counts_per_epoch",
    "BatchAugment", "random_crop_flip",
    "SQUARE_CORNERS", "make_noisy_squares",
    "CANVAS_CLASSES", "DigitCanvases", "make_digit_canvases",
    "BOOKS", "load_book", "load_names", "load_tiny_shakespeare",
    "UCI_SOURCES", "load_uci_sentiment", "load_20newsgroups", "load_glove",
    "CharVocab", "make_bigram_pairs", "make_context_windows", "split_words",
    "CO2_FREQUENCIES", "load_co2", "make_windows",
    "clean_book", "split_sentences", "book_sentences", "train_tokenizer", "SPECIAL_TOKENS", "ABBREVIATIONS",
    "TOKENIZER_KINDS",
    "sentiment_splits", "SentimentSplit", "SentimentSplits", "train_word_tokenizer", "encode_padded",
    "trim_padding", "LengthBucketSampler", "PAD_ID", "UNK_ID", "WORD_SPECIAL_TOKENS",
]
