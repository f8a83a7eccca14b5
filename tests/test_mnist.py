"""MNIST through the registry (needs the offline bundle or a cached copy; skipped otherwise)."""

import gzip
import struct

import numpy as np
import pytest
import torch

from dlbook.data import MNIST, DataError, DataUnavailableError, fetch_file, load_mnist, read_idx


def test_train_and_test_shapes_dtypes_ranges(mnist_available):
    x, y = load_mnist(train=True)
    assert x.shape == (60000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (60000,) and y.dtype == torch.int64
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the well-known first labels
    assert torch.bincount(y).tolist()[1] == 6742  # the digit 1 is the most frequent class
    assert int(x.max()) == 255 and int(x.min()) == 0
    xt, yt = load_mnist(train=False)
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert torch.bincount(yt, minlength=10).sum() == 10000


def test_loader_returns_independent_copies(mnist_available):
    a, _ = load_mnist(train=False)
    a[0] = 0
    b, _ = load_mnist(train=False)
    assert int(b[0].sum()) > 0


def test_dataset_items(mnist_available):
    ds = MNIST(train=False)
    image, label = ds[0]
    assert len(ds) == 10000 and image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0 and int(label) == 7
    flipped = MNIST(train=False, transform=lambda t: t.flip(-1))
    assert torch.equal(flipped[0][0], image.flip(-1))


def test_read_idx_decodes_and_rejects_bad_files(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 2, 3, 4) + arr.tobytes()
    (tmp_path / "ok.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(read_idx(tmp_path / "ok.gz"), arr)
    (tmp_path / "short.idx").write_bytes(raw[:-5])
    with pytest.raises(DataError, match="holds"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "magic.idx").write_bytes(b"\x12\x34" + raw[2:])
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "magic.idx")
    (tmp_path / "broken.gz").write_bytes(gzip.compress(raw)[:20])
    with pytest.raises(DataError, match="gzip"):
        read_idx(tmp_path / "broken.gz")


def test_load_mnist_rejects_bad_arguments():
    with pytest.raises(TypeError, match="train must be True or False"):
        load_mnist(train="test")
