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
from .synthetic import make_linear_regression, make_parabolas, split_indices
from .tabular import WATER_POTABILITY_FEATURES, load_water_potability
from .vision import MNIST, MNIST_CLASSES, load_mnist, read_idx

__all__ = [
    "ChecksumError", "DataError", "DatasetInfo", "DataUnavailableError", "RemoteFile",
    "cache_dir", "data_roots", "fetch", "fetch_file", "get_dataset_info", "list_datasets", "register",
    "make_linear_regression", "make_parabolas", "split_indices",
    "load_water_potability", "WATER_POTABILITY_FEATURES",
    "MNIST", "MNIST_CLASSES", "load_mnist", "read_idx",
]
