"""Image data sets as tensors: decoded once, kept in memory, no per-item PIL decoding.

What is kept: the decoded tensors of each MNIST split (at most two entries, train and test), keyed
by the resolved paths and file identities (device, inode, size, modification time) of the two files
they were decoded from. Every :func:`load_mnist` call first asks the registry for the files again,
which finds them afresh (``root``, ``$DLBOOK_DATA``, the cache) and re-hashes them (see
:mod:`dlbook.data.registry`, "What a process trusts"); only if that gives the very same files are
the kept tensors reused. So pointing ``$DLBOOK_DATA`` elsewhere, or damaging a file, is noticed at
the next call, at the cost of hashing the two files (about 10 ms for the training split).
"""

from __future__ import annotations

import gzip
import math
import os
import threading
import zlib
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
    """Decode an IDX file (optionally gzip-compressed), the format MNIST is distributed in.

    Raises
    ------
    DataError
        The file is not valid gzip, not IDX, or holds a different number of bytes than its header
        promises.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path} is not a valid gzip file ({err}); delete it and fetch it again") from err
    if not raw:
        raise DataError(f"{path} is empty, not an IDX file")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataError(f"{path}: the IDX header is truncated ({len(raw)} bytes, but {ndim} dimensions need "
                        f"{offset})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a huge header cannot overflow
    if len(raw) - offset != expected:
        raise DataError(f"{path}: IDX header promises shape {shape} ({expected} bytes) "
                        f"but the file holds {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


# Decoded MNIST splits, {train: (key, images, labels)}; see the module docstring.
_decoded: dict[bool, tuple[tuple, torch.Tensor, torch.Tensor]] = {}
_decoded_lock = threading.Lock()


def _identity(path: Path) -> tuple:
    st = path.stat()
    return str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _decode_mnist(prefix: str, images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DataError(f"MNIST {prefix}: {images_path} holds images of shape {images.shape} and {labels_path} "
                        f"labels of shape {labels.shape}; expected (N, 28, 28) and (N,)")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def load_mnist(train: bool = True, *, root: str | os.PathLike | None = None,
               download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load MNIST as two tensors.

    Parameters
    ----------
    train : bool, default True
        The 60,000 training images (True) or the 10,000 test images (False).
    root : path-like, optional
        An existing folder searched before ``$DLBOOK_DATA`` and the cache (layout ``MNIST/raw/*.gz``).
    download : bool, optional
        Allow downloading when no local copy exists (default: yes, unless ``$DLBOOK_OFFLINE`` is
        ``1``, ``true``, ``yes`` or ``on``).

    Returns
    -------
    images : torch.Tensor
        ``uint8`` tensor of shape ``(N, 28, 28)``, grey levels 0 (background) to 255 (ink).
    labels : torch.Tensor
        ``int64`` tensor of shape ``(N,)`` with digits 0 to 9.

    Every call finds and checksums the two files again (about 10 ms for the training split), so a
    changed ``$DLBOOK_DATA`` or a damaged file is noticed; the decoding (about 0.2 s) is done once
    per split and file, and reused only while the same files are found. Every call returns fresh
    copies, so modifying them in place is safe.

    Raises
    ------
    DataUnavailableError, ChecksumError, DataError
        As :func:`~dlbook.data.registry.fetch_file`; ``DataError`` also if a file does not decode.
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    prefix = "train" if train else "t10k"
    images_path = fetch_file("mnist", f"{prefix}-images-idx3-ubyte.gz", root=root, download=download)
    labels_path = fetch_file("mnist", f"{prefix}-labels-idx1-ubyte.gz", root=root, download=download)
    key = (_identity(images_path), _identity(labels_path))
    with _decoded_lock:
        kept = _decoded.get(train)
        if kept is None or kept[0] != key:
            kept = (key, *_decode_mnist(prefix, images_path, labels_path))
            _decoded[train] = kept
    _, images, labels = kept
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
