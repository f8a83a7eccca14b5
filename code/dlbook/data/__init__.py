"""Data: the registry of real data sets, tensor-native loaders, and synthetic generators.

>>> from dlbook.data import load_mnist
>>> images, labels = load_mnist(train=True)   # uint8 (60000, 28, 28), int64 (60000,)
"""

from . import catalog  # noqa: F401  (registers the data sets)
from .registry import (
    ChecksumError,
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
from .synthetic import make_linear_regression, split_indices
from .vision import MNIST, MNIST_CLASSES, load_mnist, read_idx

__all__ = [
    "ChecksumError", "DataError", "DatasetInfo", "DataUnavailableError", "RemoteFile",
    "cache_dir", "data_roots", "fetch", "fetch_file", "get_dataset_info", "list_datasets", "register",
    "make_linear_regression", "split_indices",
    "MNIST", "MNIST_CLASSES", "load_mnist", "read_idx",
]
