"""Image data sets as tensors: decoded once, kept in memory, no per-item PIL decoding."""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .registry import DataError, fetch_file

__all__ = ["load_mnist", "MNIST", "MNIST_CLASSES"]

MNIST_CLASSES = tuple(str(d) for d in range(10))

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Decode an IDX file (optionally gzip-compressed), the format MNIST is distributed in."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"{path} is not a valid gzip file ({err}); delete it and fetch it again") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise DataError(f"{path}: IDX header promises shape {shape} ({expected} bytes) "
                        f"but the file holds {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


@functools.lru_cache(maxsize=4)
def _load_mnist_cached(train: bool, root: str | None, download: bool | None) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = "train" if train else "t10k"
    images = read_idx(fetch_file("mnist", f"{prefix}-images-idx3-ubyte.gz", root=root, download=download))
    labels = read_idx(fetch_file("mnist", f"{prefix}-labels-idx1-ubyte.gz", root=root, download=download))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DataError(f"MNIST {prefix}: {images.shape[0]} images of shape {images.shape[1:]} "
                        f"but {labels.shape[0]} labels")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def load_mnist(train: bool = True, *, root: str | os.PathLike | None = None,
               download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load MNIST as two tensors.

    Parameters
    ----------
    train : bool, default True
        The 60,000 training images (True) or the 10,000 test images (False).
    root : path-like, optional
        A folder searched before ``$DLBOOK_DATA`` and the cache (layout ``MNIST/raw/*.gz``).
    download : bool, optional
        Allow downloading when no local copy exists (default: yes, unless ``DLBOOK_OFFLINE=1``).

    Returns
    -------
    images : torch.Tensor
        ``uint8`` tensor of shape ``(N, 28, 28)``, grey levels 0 (background) to 255 (ink).
    labels : torch.Tensor
        ``int64`` tensor of shape ``(N,)`` with digits 0 to 9.

    The files are decoded once per process; every call returns fresh copies, so modifying them
    in place is safe.
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    images, labels = _load_mnist_cached(train, None if root is None else str(root), download)
    return images.clone(), labels.clone()


class MNIST(Dataset):
    """MNIST as a map-style :class:`~torch.utils.data.Dataset`, with torchvision's signature.

    Unlike ``torchvision.datasets.MNIST`` no PIL image is made per item: ``data`` is one ``uint8``
    tensor, and items are ``(image, label)`` with ``image`` a ``float32`` tensor of shape
    ``(1, 28, 28)`` in [0, 1] (before ``transform``).
    """

    classes = MNIST_CLASSES

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True, transform=None,
                 target_transform=None, download: bool | None = None) -> None:
        self.data, self.targets = load_mnist(train, root=root, download=download)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        image = self.data[index].unsqueeze(0).float().div_(255)
        label = self.targets[index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label
