"""Part III's image data: the loaders on the real bundle, and on small fakes with faults."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from conftest import bundle_dir

from dlbook.data import (
    CIFAR10_CLASSES,
    OMNIGLOT_SUBSET_ALPHABETS,
    RPS_CLASSES,
    ChecksumError,
    DataError,
    DatasetInfo,
    DataUnavailableError,
    RemoteFile,
    cifar10_variant,
    get_dataset_info,
    hymenoptera_root,
    load_cifar10,
    load_omniglot,
    load_rps28,
    make_line_images,
    prepare_torchvision_weights,
    register,
)
from dlbook.data import images as images_module

BUNDLE = bundle_dir()
needs_bundle = pytest.mark.skipif(BUNDLE is None, reason="no offline data bundle on this machine")


@pytest.fixture
def real_bundle(monkeypatch, tmp_path):
    monkeypatch.setenv("DLBOOK_DATA", str(BUNDLE))
    monkeypatch.setenv("DLBOOK_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return BUNDLE


# --- the real files ------------------------------------------------------------------------------

@needs_bundle
def test_cifar10_subset_contents(real_bundle):
    assert cifar10_variant() == "subset"
    x, y = load_cifar10(train=True)
    assert x.shape == (20_000, 3, 32, 32) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert y.bincount().tolist() == [2000] * 10
    xt, yt = load_cifar10(train=False)
    assert xt.shape == (10_000, 3, 32, 32) and yt.bincount().tolist() == [1000] * 10
    assert 100 < x.float().mean() < 140  # natural images, not blank or saturated
    assert len(CIFAR10_CLASSES) == 10
    x[0].zero_()  # a caller's copy: the kept tensors are untouched
    assert load_cifar10(train=True)[0][0].any()


@needs_bundle
def test_cifar10_original_is_not_in_the_bundle_and_says_how_to_get_it(real_bundle):
    with pytest.raises(DataUnavailableError, match="cifar-10-binary.tar.gz"):
        load_cifar10(variant="original")
    with pytest.raises(ValueError, match="variant"):
        load_cifar10(variant="full")


@needs_bundle
def test_rps28_contents(real_bundle):
    x, y = load_rps28(train=True)
    assert x.shape == (2520, 3, 28, 28) and x.dtype == torch.uint8
    assert y.bincount().tolist() == [840, 840, 840]
    xt, yt = load_rps28(train=False)
    assert xt.shape == (372, 3, 28, 28) and yt.bincount().tolist() == [124, 124, 124]
    assert RPS_CLASSES == ("paper", "rock", "scissors")


@needs_bundle
def test_omniglot_contents(real_bundle):
    data = load_omniglot(size=28)
    assert data.images.shape == (4840, 1, 28, 28) and data.images.dtype == torch.float32
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    assert 0.03 < data.images.mean() < 0.2  # thin ink on paper
    assert len(data.characters) == 242 and data.alphabets == OMNIGLOT_SUBSET_ALPHABETS
    assert data.character.bincount().tolist() == [20] * 242
    assert data.drawer.bincount().tolist() == [242] * 20
    first_alphabet = {data.alphabet[i].item() for i in range(20)}
    assert first_alphabet == {0}  # the first character's drawings all belong to Balinese
    big = load_omniglot(size=105)
    assert big.images.shape[-1] == 105 and set(big.images.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="size"):
        load_omniglot(size=4)


@needs_bundle
def test_hymenoptera_root_has_the_tutorial_layout(real_bundle):
    root = hymenoptera_root()
    counts = {f"{s}/{c}": len(list((root / s / c).iterdir())) for s in ("train", "val") for c in ("ants", "bees")}
    assert counts == {"train/ants": 124, "train/bees": 121, "val/ants": 70, "val/bees": 83}


@needs_bundle
def test_mobilenet_weights_load_through_torchvision(real_bundle, tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    target = prepare_torchvision_weights(weights)
    assert target.parent == tmp_path / "torch" / "hub" / "checkpoints"
    target.write_bytes(b"damaged")  # a bad copy in the hub folder is replaced, never loaded
    prepare_torchvision_weights(weights)
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(weights.get_state_dict(weights_only=True, check_hash=True))
    assert sum(p.numel() for p in model.parameters()) == weights.meta["num_params"]
    x = torch.rand(1, 3, 224, 224)
    assert torch.equal(model.eval()(x), torchvision.models.mobilenet_v2(weights=weights).eval()(x))
    with pytest.raises(ValueError, match="no registered"):
        prepare_torchvision_weights(torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
    with pytest.raises(TypeError):
        prepare_torchvision_weights("mobilenet_v2")


# --- faults on small fakes -----------------------------------------------------------------------

def _records(labels) -> bytes:
    rng = np.random.default_rng(0)
    out = bytearray()
    for label in labels:
        out += bytes([label]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
    return bytes(out)


@pytest.fixture
def swap(request):
    """Register stand-in data sets for a test; restore the real entries afterwards."""
    saved = []

    def put(info: DatasetInfo) -> None:
        saved.append(get_dataset_info(info.name))
        register(info, replace=True)
        images_module._kept.clear()

    yield put
    for info in saved:
        register(info, replace=True)
    images_module._kept.clear()


def _file(path: str, blob: bytes, urls=()) -> RemoteFile:
    return RemoteFile(path, hashlib.sha256(blob).hexdigest(), tuple(urls), size=len(blob))


def test_cifar_subset_corrupt_and_missing_copies_are_named(isolated_data, swap):
    root, _ = isolated_data
    train, test = _records([0, 1, 2]), _records([3])
    swap(DatasetInfo("cifar10-subset", (_file("cifar10-subset/train.bin", train),
                                        _file("cifar10-subset/test.bin", test)),
                     "fake", "CC0", extra={"no_download": "derived for the bundle"}))
    (root / "cifar10-subset").mkdir()
    (root / "cifar10-subset" / "train.bin").write_bytes(train)
    x, y = load_cifar10(train=True)
    assert x.shape == (3, 3, 32, 32) and y.tolist() == [0, 1, 2]
    assert torch.equal(x[1].flatten(), torch.tensor(list(train[3074:6146]), dtype=torch.uint8))
    with pytest.raises(DataUnavailableError, match="cannot be downloaded: derived for the bundle"):
        load_cifar10(train=False, variant="subset")
    (root / "cifar10-subset" / "train.bin").write_bytes(train[:-1] + b"\x00")
    with pytest.raises(ChecksumError, match="train.bin"):
        load_cifar10(train=True)


def test_cifar_original_is_read_from_the_archive_when_the_subset_is_absent(isolated_data, swap, http_server):
    root, cache = isolated_data
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": _records([i, i]) for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = _records([9])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    blob = buf.getvalue()
    http_server.files["/cifar.tgz"] = blob
    swap(DatasetInfo("cifar10", (_file("cifar10/cifar-10-binary.tar.gz", blob, [http_server.url("/cifar.tgz")]),),
                     "fake", "CC0"))
    assert cifar10_variant() == "original"
    x, y = load_cifar10(train=True)
    assert y.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5] and x.shape == (10, 3, 32, 32)
    assert load_cifar10(train=False)[1].tolist() == [9]
    assert (cache / "cifar10" / "cifar-10-binary.tar.gz").is_file()


def test_cifar_records_that_do_not_add_up_are_an_error():
    with pytest.raises(DataError, match="whole number"):
        images_module._decode_cifar_records(b"\x00" * 3074, "x")
    with pytest.raises(DataError, match="out of range"):
        images_module._decode_cifar_records(bytes([12]) + b"\x00" * 3072, "x")


def test_rps_missing_offline_names_the_originals(isolated_data, monkeypatch):
    monkeypatch.setenv("DLBOOK_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="rps.zip"):
        load_rps28()
    monkeypatch.delenv("DLBOOK_OFFLINE")
    with pytest.raises(DataUnavailableError, match="cannot be downloaded"):
        load_rps28(download=True)


def _omniglot_zip(alphabets, drawers=2) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for a in alphabets:
            for d in range(1, drawers + 1):
                im = Image.new("1", (105, 105), 1)
                im.putpixel((d, d), 0)
                png = io.BytesIO()
                im.save(png, format="PNG")
                zf.writestr(f"images_background/{a}/character01/0001_{d:02d}.png", png.getvalue())
    return buf.getvalue()


def test_omniglot_falls_back_to_the_original_archive(isolated_data, swap, http_server):
    full = _omniglot_zip(OMNIGLOT_SUBSET_ALPHABETS + ("Bengali",))
    http_server.files["/omni.zip"] = full
    swap(DatasetInfo("omniglot", (_file("omniglot/images_background.zip", full, [http_server.url("/omni.zip")]),),
                     "fake", "MIT"))
    data = load_omniglot(size=105)
    assert len(data.characters) == 8 and "Bengali" not in {c.split("/")[0] for c in data.characters}
    assert data.drawer.tolist() == [0, 1] * 8
    assert data.images[1, 0, 2, 2] == 1.0 and data.images[1].sum() == 1.0  # ink where it was drawn


def test_omniglot_archive_without_the_alphabets_is_an_error(isolated_data, swap):
    root, _ = isolated_data
    partial = _omniglot_zip(("Greek",))
    swap(DatasetInfo("omniglot-subset", (_file("omniglot/images_background_subset.zip", partial),),
                     "fake", "MIT", extra={"no_download": "x"}))
    (root / "omniglot").mkdir()
    (root / "omniglot" / "images_background_subset.zip").write_bytes(partial)
    with pytest.raises(DataError, match="lacks the alphabets"):
        load_omniglot()


def test_hymenoptera_partial_copy_is_reported(isolated_data, swap, monkeypatch):
    root, _ = isolated_data
    a, b = b"ant", b"bee"
    swap(DatasetInfo("hymenoptera", (_file("hymenoptera_data/train/ants/a.jpg", a),
                                     _file("hymenoptera_data/val/bees/b.jpg", b)),
                     "fake", "x", extra={"no_download": "x", "archive": "http://127.0.0.1:9/none.zip"}))
    (root / "hymenoptera_data" / "train" / "ants").mkdir(parents=True)
    (root / "hymenoptera_data" / "train" / "ants" / "a.jpg").write_bytes(a)
    monkeypatch.setenv("DLBOOK_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="val/bees/b.jpg"):
        hymenoptera_root()
    (root / "hymenoptera_data" / "val" / "bees").mkdir(parents=True)
    (root / "hymenoptera_data" / "val" / "bees" / "b.jpg").write_bytes(b"bee!")
    with pytest.raises(ChecksumError, match="b.jpg"):
        hymenoptera_root()
    (root / "hymenoptera_data" / "val" / "bees" / "b.jpg").write_bytes(b)
    assert hymenoptera_root() == root / "hymenoptera_data"


# --- the line-image generator --------------------------------------------------------------------

@pytest.mark.parametrize("n_classes", [2, 3])
def test_line_images_are_lines_of_the_labelled_direction(n_classes):
    x, y = make_line_images(200, 12, n_classes=n_classes, seed=3)
    assert x.shape == (200, 1, 12, 12) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert set(x.unique().tolist()) == {0, 255}
    assert y.bincount().tolist() == [200 // n_classes + (i < 200 % n_classes) for i in range(n_classes)]
    for image, label in zip(x[:, 0], y.tolist()):
        r, c = torch.nonzero(image, as_tuple=True)
        assert len(r) >= 3
        straight = len(set(r.tolist())) == 1 or len(set(c.tolist())) == 1
        falling = torch.equal(r - r.min(), c - c.min())
        rising = torch.equal(r - r.min(), c.max() - c)
        if label == 0:
            assert straight
        elif n_classes == 2:
            assert (falling or rising) and not straight
        else:
            assert (falling if label == 1 else rising) and not straight


def test_line_images_are_seeded_and_validated():
    a, b = make_line_images(50, seed=1), make_line_images(50, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], make_line_images(50, seed=2)[0])
    for kwargs in ({"n": 0}, {"size": 4}, {"n_classes": 4}, {"n": 2.5}):
        with pytest.raises(ValueError):
            make_line_images(**kwargs)


def test_rps_contents_and_a_corrupt_copy(isolated_data, swap):
    root, _ = isolated_data
    buf = io.BytesIO()
    images = np.arange(2 * 28 * 28 * 3, dtype=np.uint64).astype(np.uint8).reshape(2, 28, 28, 3)
    np.savez(buf, images=images, labels=np.array([2, 0], np.uint8), classes=np.array(RPS_CLASSES))
    blob = buf.getvalue()
    swap(DatasetInfo("rps28", (_file("rps28/train.npz", blob), _file("rps28/test.npz", blob)),
                     "fake", "CC BY 2.0", extra={"no_download": "derived for the bundle"}))
    (root / "rps28").mkdir()
    (root / "rps28" / "train.npz").write_bytes(blob)
    x, y = load_rps28()
    assert x.shape == (2, 3, 28, 28) and y.tolist() == [2, 0]
    assert torch.equal(x[1, :, 5, 7], torch.from_numpy(images[1, 5, 7]))  # channels first, same pixels
    (root / "rps28" / "train.npz").write_bytes(blob[:-1] + b"!")
    with pytest.raises(ChecksumError, match="train.npz"):
        load_rps28()


def test_a_corrupt_weights_file_is_never_handed_to_torchvision(isolated_data, swap, tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    root, _ = isolated_data
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    good = b"pretend weights"
    swap(DatasetInfo("mobilenet-v2-imagenet", (_file("weights/mobilenet_v2-b0353104.pth", good, [weights.url]),),
                     "fake", "BSD-3-Clause"))
    (root / "weights").mkdir()
    (root / "weights" / "mobilenet_v2-b0353104.pth").write_bytes(b"pretend weightz")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ChecksumError, match="mobilenet_v2"):
        prepare_torchvision_weights(weights)
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth").exists()
    (root / "weights" / "mobilenet_v2-b0353104.pth").write_bytes(good)
    assert prepare_torchvision_weights(weights).read_bytes() == good
