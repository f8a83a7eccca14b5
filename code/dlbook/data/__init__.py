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
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "CacheError", "ChecksumError", "DataConfigError", "DataError", "DatasetInfo", "DataUnavailableError", "RemoteFile",
    "cache_dir", "data_roots", "fetch", "fetch_file", "get_dataset_info", "list_datasets", "register",
    "make_linear_regression", "make_parabolas", "split_indices",
    "load_water_potability", "WATER_POTABILITY_FEATURES",
    "MNIST", "MNIST_CLASSES", "load_mnist", "read_idx",
]
