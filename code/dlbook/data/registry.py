"""The data registry: every data set the book uses, where it comes from, and how to get it.

Each data set names its files, their canonical download URLs (mirrors after the original), their
SHA-256 checksums and the licence. :func:`fetch_file` finds a file in this order:

1. ``$DLBOOK_DATA`` (one folder, or several separated by ``os.pathsep``): an offline bundle or a
   folder you filled by hand. The file is checksummed; a corrupt file raises :class:`ChecksumError`.
2. The user cache, ``$XDG_CACHE_HOME/dlbook`` (``~/.cache/dlbook`` by default). A corrupt cached
   file is set aside and downloaded again.
3. A download from the listed URLs, with a progress bar, into a temporary file that is checksummed
   and then atomically renamed into the cache. A partial or corrupt download is never used.

Offline, or with ``download=False`` / ``DLBOOK_OFFLINE=1``, a missing file raises
:class:`DataUnavailableError`, which says which data set and file, which URLs, and where to put a
copy. The layout under every root is the same: ``<root>/<file.path>``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "RemoteFile",
    "DatasetInfo",
    "DataError",
    "DataUnavailableError",
    "ChecksumError",
    "register",
    "get_dataset_info",
    "list_datasets",
    "data_roots",
    "cache_dir",
    "fetch_file",
    "fetch",
]

_CHUNK = 1 << 20


class DataError(RuntimeError):
    """Base class of the registry's errors."""


class DataUnavailableError(DataError, FileNotFoundError):
    """A file is in no data root and could not be downloaded."""


class ChecksumError(DataError):
    """A file exists but its SHA-256 checksum is not the registered one."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set.

    Parameters
    ----------
    path : str
        Where the file lives below any data root, with ``/`` separators, e.g.
        ``"MNIST/raw/train-images-idx3-ubyte.gz"``.
    sha256 : str
        The expected SHA-256 hex digest.
    urls : tuple of str
        Download URLs, tried in order (the canonical original first, then mirrors).
    size : int, optional
        Expected size in bytes, used to report truncated files clearly.
    """

    path: str
    sha256: str
    urls: tuple[str, ...]
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.path or self.path.startswith("/") or ".." in Path(self.path).parts:
            raise ValueError(f"RemoteFile.path must be a relative path inside a data root, got {self.path!r}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"RemoteFile.sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if isinstance(self.urls, str):
            raise TypeError("RemoteFile.urls must be a tuple of URLs, not a single string")


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: its files and where it came from."""

    name: str
    files: tuple[RemoteFile, ...]
    description: str
    license: str
    citation: str = ""
    homepage: str = ""
    extra: dict = field(default_factory=dict)

    def file(self, path: str) -> RemoteFile:
        """Return the :class:`RemoteFile` registered under ``path`` (its path or its base name)."""
        for f in self.files:
            if f.path == path or Path(f.path).name == path:
                return f
        names = ", ".join(f.path for f in self.files)
        raise ValueError(f"data set {self.name!r} has no file {path!r}; its files are: {names}")


_REGISTRY: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo, *, replace: bool = False) -> DatasetInfo:
    """Add a data set to the registry (``replace=True`` to overwrite an existing entry)."""
    if not isinstance(info, DatasetInfo):
        raise TypeError(f"register() takes a DatasetInfo, got {type(info).__name__}")
    if info.name in _REGISTRY and not replace:
        raise ValueError(f"a data set named {info.name!r} is already registered")
    _REGISTRY[info.name] = info
    return info


def get_dataset_info(name: str) -> DatasetInfo:
    """Return the registered :class:`DatasetInfo` called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise ValueError(f"unknown data set {name!r}; registered data sets: {known}") from None


def list_datasets() -> list[str]:
    """Names of all registered data sets."""
    return sorted(_REGISTRY)


def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/dlbook``, by default ``~/.cache/dlbook``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlbook"


def data_roots(extra: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order: ``extra`` (if given), each ``$DLBOOK_DATA`` entry, the cache."""
    roots: list[Path] = []
    if extra is not None:
        roots.append(Path(extra).expanduser())
    for entry in os.environ.get("DLBOOK_DATA", "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry.strip()).expanduser())
    roots.append(cache_dir())
    return roots


# Files already checksummed in this process, keyed by (path, size, mtime): hashing is done once.
_verified: set[tuple[str, int, int]] = set()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, spec: RemoteFile, dataset: str) -> None:
    """Raise ChecksumError unless ``path`` has the registered size and SHA-256."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _verified:
        return
    if spec.size is not None and st.st_size != spec.size:
        raise ChecksumError(
            f"{path} (file {spec.path!r} of data set {dataset!r}) has {st.st_size:,} bytes but should have "
            f"{spec.size:,}: it is truncated or not the right file. Delete it and run again to re-download "
            f"from {spec.urls[0] if spec.urls else '(no URL registered)'}, or replace it with a good copy."
        )
    actual = _sha256(path)
    if actual != spec.sha256:
        raise ChecksumError(
            f"{path} (file {spec.path!r} of data set {dataset!r}) is corrupt: SHA-256 {actual} but the "
            f"registry expects {spec.sha256}. Delete it and run again to re-download from "
            f"{spec.urls[0] if spec.urls else '(no URL registered)'}, or replace it with a good copy."
        )
    _verified.add(key)


def _download(spec: RemoteFile, dest: Path, dataset: str, progress: bool) -> None:
    """Download ``spec`` into ``dest`` via a temporary file; raise DataUnavailableError on failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in spec.urls:
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        try:
            _stream(url, tmp, spec, progress)
            actual = _sha256(tmp)
            if actual != spec.sha256:
                raise ChecksumError(f"downloaded file has SHA-256 {actual}, expected {spec.sha256}")
            os.replace(tmp, dest)  # atomic on the same file system
            return
        except (OSError, ChecksumError, ValueError) as err:  # URLError and HTTPError are OSErrors
            errors.append(f"  {url}: {type(err).__name__}: {err}")
        finally:
            if tmp.exists():
                tmp.unlink()
    tried = "\n".join(errors) if errors else "  (no URLs are registered for this file)"
    raise DataUnavailableError(_missing_message(spec, dataset, f"Download failed:\n{tried}"))


def _stream(url: str, tmp: Path, spec: RemoteFile, progress: bool) -> None:
    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "dlbook (https://pypi.org/project/dlbook)"})
    with urllib.request.urlopen(request, timeout=60) as response, open(tmp, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or spec.size
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(spec.path).name,
                  disable=not progress, file=sys.stderr, mininterval=0.5) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))


def _missing_message(spec: RemoteFile, dataset: str, reason: str) -> str:
    info = _REGISTRY.get(dataset)
    where = cache_dir() / spec.path
    urls = "\n".join(f"  {u}" for u in spec.urls) or "  (no URL registered)"
    lic = f"\nLicence: {info.license}" if info else ""
    return (
        f"Data set {dataset!r}: file {spec.path!r} is not available. {reason}\n"
        f"To supply it by hand, download it from one of\n{urls}\n"
        f"and save it as {where}\n"
        f"or point DLBOOK_DATA at a folder that contains {spec.path} (for example an offline bundle)."
        f"{lic}"
    )


def fetch_file(dataset: str, path: str, *, download: bool | None = None, root: str | os.PathLike | None = None,
               progress: bool = True) -> Path:
    """Return a local, checksum-verified path to one file of a registered data set.

    Parameters
    ----------
    dataset : str
        A registered data set name (see :func:`list_datasets`).
    path : str
        The file's registered path, or just its base name.
    download : bool, optional
        Allow downloading. Defaults to True unless the environment sets ``DLBOOK_OFFLINE=1``.
    root : path-like, optional
        A folder searched before ``$DLBOOK_DATA`` (same layout).
    progress : bool, default True
        Show a progress bar while downloading.

    Raises
    ------
    DataUnavailableError
        The file is nowhere to be found and cannot be downloaded.
    ChecksumError
        A copy in ``root`` or ``$DLBOOK_DATA`` exists but is corrupt.
    """
    info = get_dataset_info(dataset)
    spec = info.file(path)
    if download is None:
        download = os.environ.get("DLBOOK_OFFLINE", "").strip().lower() not in {"1", "true", "yes"}
    roots = data_roots(root)
    cache = cache_dir()
    for r in roots[:-1]:  # user-supplied roots: a corrupt file is an error to fix, never silently skipped
        candidate = r / spec.path
        if candidate.is_file():
            _check(candidate, spec, dataset)
            return candidate
    cached = cache / spec.path
    if cached.is_file():
        try:
            _check(cached, spec, dataset)
            return cached
        except ChecksumError as err:
            aside = cached.with_name(cached.name + ".corrupt")
            shutil.move(cached, aside)
            print(f"dlbook: {err}\nMoved it to {aside}; fetching a fresh copy.", file=sys.stderr)
    if not download:
        searched = "\n".join(f"  {r / spec.path}" for r in roots)
        raise DataUnavailableError(_missing_message(
            spec, dataset, f"Downloading is switched off and no copy was found at:\n{searched}"))
    _download(spec, cached, dataset, progress)
    _check(cached, spec, dataset)
    return cached


def fetch(dataset: str, **kwargs) -> dict[str, Path]:
    """Fetch every file of a data set; return ``{registered path: local path}``.

    Keyword arguments are passed to :func:`fetch_file`.
    """
    info = get_dataset_info(dataset)
    return {f.path: fetch_file(dataset, f.path, **kwargs) for f in info.files}
