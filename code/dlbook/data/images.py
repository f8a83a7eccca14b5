"""Image data sets of Part III as tensors: CIFAR-10, Rock-Paper-Scissors, Omniglot, ants and bees.

Like :func:`~dlbook.data.load_mnist`, every loader asks the registry for its files on every call
(so a changed ``$DLBOOK_DATA`` or a damaged file is noticed), decodes them once per process and
file identity, and returns fresh copies that are safe to modify.

Where the offline bundle holds a derived form of a data set (the CIFAR-10 subset, RPS at 28 px,
eight Omniglot alphabets), the loader says so in its docstring, and where the original can be
downloaded it is used when the derived form is not present.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import threading
import urllib.request
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .registry import (
    DataError,
    DataUnavailableError,
    _offline_from_env,
    data_roots,
    fetch_file,
    get_dataset_info,
)
from .vision import _identity

__all__ = [
    "CIFAR10_CLASSES", "RPS_CLASSES", "OMNIGLOT_SUBSET_ALPHABETS", "OmniglotData",
    "load_cifar10", "cifar10_variant", "load_rps28", "load_omniglot", "hymenoptera_root",
]

#: CIFAR-10's class names in label order.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
#: Rock-Paper-Scissors class names in label order (alphabetical, as ImageFolder orders them).
RPS_CLASSES = ("paper", "rock", "scissors")
#: The eight background alphabets in the offline bundle's Omniglot subset.
OMNIGLOT_SUBSET_ALPHABETS = ("Balinese", "Early_Aramaic", "Greek", "Japanese_(katakana)", "Korean",
                             "Latin", "Sanskrit", "Tagalog")

_RECORD = 1 + 3 * 32 * 32

# Decoded tensors, {key: (identity, value)}; identity = the files' identities as MNIST's cache keeps them.
_kept: dict[tuple, tuple] = {}
_kept_lock = threading.Lock()


def _decoded(key: tuple, paths: tuple[Path, ...], decode):
    ident = tuple(_identity(p) for p in paths)
    with _kept_lock:
        kept = _kept.get(key)
        if kept is None or kept[0] != ident:
            kept = (ident, decode())
            _kept[key] = kept
    return kept[1]


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def _decode_cifar_records(raw: bytes, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    if len(raw) == 0 or len(raw) % _RECORD:
        raise DataError(f"{where}: {len(raw):,} bytes is not a whole number of CIFAR-10 records "
                        f"({_RECORD} bytes each)")
    records = np.frombuffer(raw, np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{where}: label {int(labels.max())} is out of range 0-9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).copy()
    return torch.from_numpy(images), torch.from_numpy(labels)


def _cifar_subset(train: bool, root, download) -> tuple[torch.Tensor, torch.Tensor]:
    name = "train.bin" if train else "test.bin"
    path = fetch_file("cifar10-subset", f"cifar10-subset/{name}", root=root, download=False)
    return _decoded(("cifar10-subset", train), (path,),
                    lambda: _decode_cifar_records(path.read_bytes(), str(path)))


def _cifar_original(train: bool, root, download) -> tuple[torch.Tensor, torch.Tensor]:
    path = fetch_file("cifar10", "cifar-10-binary.tar.gz", root=root, download=download)

    def decode():
        names = ([f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"])
        chunks = {}
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    base = member.name.rsplit("/", 1)[-1]
                    if base in names and member.isfile():
                        chunks[base] = tar.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise DataError(f"{path} cannot be read as the CIFAR-10 archive: {err}") from err
        missing = [n for n in names if n not in chunks]
        if missing:
            raise DataError(f"{path} lacks {', '.join(missing)}")
        return _decode_cifar_records(b"".join(chunks[n] for n in names), str(path))

    return _decoded(("cifar10", train), (path,), decode)


def load_cifar10(train: bool = True, *, variant: str = "auto", root: str | os.PathLike | None = None,
                 download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load CIFAR-10 as two tensors.

    Parameters
    ----------
    train : bool, default True
        The training split (True) or the 10,000 test images (False).
    variant : {"auto", "subset", "original"}
        ``"subset"``: the offline bundle's subset, 20,000 training images (the first 2,000 of each
        class in the original order) and the full test set, decoded from JPEG copies, so the pixels
        differ slightly from the original's; sorted by class. It cannot be downloaded.
        ``"original"``: the released archive (50,000 training images, in the original order),
        downloaded from the canonical URL when no local copy exists (170 MB).
        ``"auto"`` (default): the subset if a copy is found (``root``, ``$DLBOOK_DATA``, the cache),
        otherwise the original. Check ``len(labels)`` (or :func:`cifar10_variant`) to know which.
    root, download
        As for :func:`~dlbook.data.load_mnist`.

    Returns
    -------
    images : torch.Tensor
        ``uint8`` of shape ``(N, 3, 32, 32)``, RGB.
    labels : torch.Tensor
        ``int64`` of shape ``(N,)``, indices into :data:`CIFAR10_CLASSES`.
    """
    _check_bool("train", train)
    loader = {"subset": _cifar_subset, "original": _cifar_original}
    if variant == "auto":
        variant = cifar10_variant(root=root)
    if variant not in loader:
        raise ValueError(f"variant must be 'auto', 'subset' or 'original', got {variant!r}")
    images, labels = loader[variant](train, root, download)
    return images.clone(), labels.clone()


def cifar10_variant(*, root: str | os.PathLike | None = None) -> str:
    """Which CIFAR-10 variant ``load_cifar10(variant="auto")`` loads: ``"subset"`` or ``"original"``."""
    spec = get_dataset_info("cifar10-subset").file("cifar10-subset/train.bin")
    for r in data_roots(root):
        if (r / spec.path).is_file():
            return "subset"
    return "original"


def load_rps28(train: bool = True, *, root: str | os.PathLike | None = None,
               download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load Rock-Paper-Scissors at 28x28 pixels (every image of the original set, resized).

    Returns ``uint8`` images ``(N, 3, 28, 28)`` and ``int64`` labels indexing :data:`RPS_CLASSES`
    (2,520 training images, 840 per class; 372 test images, 124 per class). The 28-pixel files
    exist only in the offline bundle (see its ``MANIFEST.md``); without them this raises
    :class:`~dlbook.data.DataUnavailableError` naming the 300-pixel originals.
    """
    _check_bool("train", train)
    path = fetch_file("rps28", "train.npz" if train else "test.npz", root=root, download=download)

    def decode():
        try:
            with np.load(path, allow_pickle=False) as npz:
                images, labels, classes = npz["images"], npz["labels"], tuple(npz["classes"].tolist())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise DataError(f"{path} is not a readable RPS archive ({err})") from err
        if classes != RPS_CLASSES or images.ndim != 4 or images.shape[1:] != (28, 28, 3):
            raise DataError(f"{path}: unexpected contents (classes {classes}, images {images.shape})")
        return (torch.from_numpy(images.transpose(0, 3, 1, 2).copy()),
                torch.from_numpy(labels.astype(np.int64)))

    images, labels = _decoded(("rps28", train), (path,), decode)
    return images.clone(), labels.clone()


class OmniglotData(NamedTuple):
    """Omniglot drawings with their labels (see :func:`load_omniglot`)."""

    images: torch.Tensor      #: float32 (N, 1, size, size), ink 1.0, paper 0.0
    character: torch.Tensor   #: int64 (N,), index into ``characters``
    alphabet: torch.Tensor    #: int64 (N,), index into ``alphabets``
    drawer: torch.Tensor      #: int64 (N,), 0-19
    alphabets: tuple          #: alphabet names
    characters: tuple         #: "Alphabet/characterNN" names


def _omniglot_members(zf: zipfile.ZipFile, alphabets) -> dict[str, list[str]]:
    wanted = {}
    for name in zf.namelist():
        parts = name.split("/")
        if len(parts) == 4 and parts[0] == "images_background" and parts[3].endswith(".png"):
            if parts[1] in alphabets:
                wanted.setdefault(f"{parts[1]}/{parts[2]}", []).append(name)
    return wanted


def _decode_omniglot(path: Path, size: int):
    from PIL import Image

    try:
        with zipfile.ZipFile(path) as zf:
            members = _omniglot_members(zf, OMNIGLOT_SUBSET_ALPHABETS)
            characters = tuple(sorted(members))
            found = {c.split("/")[0] for c in characters}
            if found != set(OMNIGLOT_SUBSET_ALPHABETS):
                missing = sorted(set(OMNIGLOT_SUBSET_ALPHABETS) - found)
                raise DataError(f"{path} lacks the alphabets {', '.join(missing)}")
            images, char_ids, alpha_ids, drawers = [], [], [], []
            for ci, char in enumerate(characters):
                for name in sorted(members[char]):
                    with Image.open(io.BytesIO(zf.read(name))) as im:
                        im = im.convert("L")
                        if size != im.size[0]:
                            im = im.resize((size, size), Image.Resampling.BOX)
                        images.append(255 - np.asarray(im, dtype=np.uint8))
                    char_ids.append(ci)
                    alpha_ids.append(OMNIGLOT_SUBSET_ALPHABETS.index(char.split("/")[0]))
                    drawers.append(int(name.rsplit("_", 1)[1][:2]) - 1)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{path} cannot be read as an Omniglot archive ({err})") from err
    stack = torch.from_numpy(np.stack(images)).unsqueeze(1).float().div_(255)
    return OmniglotData(stack, torch.tensor(char_ids), torch.tensor(alpha_ids), torch.tensor(drawers),
                        OMNIGLOT_SUBSET_ALPHABETS, characters)


def load_omniglot(*, size: int = 28, root: str | os.PathLike | None = None,
                  download: bool | None = None) -> OmniglotData:
    """Load eight Omniglot alphabets: 242 characters, each drawn once by 20 people (4,840 images).

    The offline bundle holds these alphabets repacked (byte-identical PNGs); without it the
    original ``images_background.zip`` (all 30 alphabets, 9.5 MB) is downloaded and the same eight
    are read from it, so both give the same data.

    Parameters
    ----------
    size : int, default 28
        Side of the returned images; the 105-pixel drawings are reduced by box (area) averaging.

    Returns
    -------
    OmniglotData
        ``images`` float32 ``(4840, 1, size, size)`` with ink 1 and paper 0, and int64 labels
        ``character`` (0-241), ``alphabet`` (0-7) and ``drawer`` (0-19), plus the names.
    """
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 105:
        raise ValueError(f"size must be an int from 8 to 105, got {size!r}")
    try:
        path = fetch_file("omniglot-subset", "images_background_subset.zip", root=root, download=False)
    except DataUnavailableError:
        path = fetch_file("omniglot", "images_background.zip", root=root, download=download)
    data = _decoded(("omniglot", size), (path,), lambda: _decode_omniglot(path, size))
    return OmniglotData(data.images.clone(), data.character.clone(), data.alphabet.clone(),
                        data.drawer.clone(), data.alphabets, data.characters)


def hymenoptera_root(*, root: str | os.PathLike | None = None, download: bool | None = None) -> Path:
    """Return a folder holding the ants-and-bees images, every file checksum-verified.

    The folder has ``train/ants``, ``train/bees``, ``val/ants`` and ``val/bees`` (245 and 153
    images), ready for :class:`torchvision.datasets.ImageFolder`. It is found under ``root``,
    ``$DLBOOK_DATA`` or the cache (as ``hymenoptera_data/``); otherwise the PyTorch tutorial's
    archive is downloaded, unpacked into the cache and every file checked against the registry.
    Note that ``train/ants`` holds one GIF (``imageNotFound.gif``), as the original archive does;
    ``ImageFolder`` skips it (GIF is not among its image extensions) and finds 244 training images.
    """
    info = get_dataset_info("hymenoptera")
    if download is None:
        download = not _offline_from_env()
    try:
        paths = [fetch_file("hymenoptera", f.path, root=root, download=False) for f in info.files]
    except DataUnavailableError:
        if not download:
            raise
        _unpack_hymenoptera(info.extra["archive"])
        paths = [fetch_file("hymenoptera", f.path, root=root, download=False) for f in info.files]
    folders = {p.parents[2] for p in paths}  # <root>/hymenoptera_data/<split>/<class>/<file>
    if len(folders) != 1:
        raise DataError("the ants-and-bees files were found in several places: "
                        + ", ".join(sorted(map(str, folders)))
                        + "; keep one complete copy (remove partial ones)")
    return folders.pop()


def _unpack_hymenoptera(url: str) -> None:
    from .registry import cache_dir

    dest = cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive = Path(tmp) / "hymenoptera_data.zip"
        try:
            with urllib.request.urlopen(url, timeout=60) as reply, open(archive, "wb") as out:
                shutil.copyfileobj(reply, out)
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        except (OSError, zipfile.BadZipFile) as err:
            raise DataUnavailableError(f"could not download and unpack {url}: {err}") from err
        target = dest / "hymenoptera_data"
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(Path(tmp) / "hymenoptera_data"), str(target))
