"""The data registry: every data set the book uses, where it comes from, and how to get it.

Each data set names its files, their canonical download URLs (mirrors after the original), their
SHA-256 checksums and the licence. :func:`fetch_file` finds a file in this order:

1. ``root=`` (if given), then ``$DLBOOK_DATA`` (one folder, or several separated by ``os.pathsep``):
   an offline bundle or a folder you filled by hand. The file is checksummed; a corrupt file raises
   :class:`ChecksumError`. A ``root`` or ``$DLBOOK_DATA`` entry that is not an existing folder
   raises :class:`DataConfigError` (a typo would otherwise silently mean "download it instead").
2. The user cache, ``$XDG_CACHE_HOME/dlbook`` (``~/.cache/dlbook`` by default). A corrupt cached
   file is set aside as ``*.corrupt`` and downloaded again.
3. A download from the listed URLs, tried in order, with a progress bar, into a temporary
   ``.<name>.<random>.part`` file beside the target that is size- and checksum-verified and then
   atomically renamed into the cache. A partial or corrupt download is never used; whatever goes
   wrong with one URL (HTTP error, refused or dropped connection, timeout, SSL error, a reply that
   is not HTTP, a short or long transfer, a checksum mismatch), the next URL is tried, and if all
   fail, :class:`DataUnavailableError` lists every URL with what went wrong with it. Partial files
   left by a download that was killed are removed once they are an hour old.

Offline, with ``download=False`` or with ``DLBOOK_OFFLINE`` set to ``1``, ``true``, ``yes`` or ``on``
(any case; ``0``, ``false``, ``no``, ``off`` and the empty string mean online, anything else raises
:class:`DataConfigError`), a missing file raises :class:`DataUnavailableError`, which says which
data set and file, which URLs, and where to put a copy. The layout under every root is the same:
``<root>/<file.path>``. Something that is not a regular file where a file should be (a directory,
a broken link) raises :class:`DataError` naming it. A cache that cannot be written raises
:class:`CacheError`, naming the folder and how to choose another.

What a process trusts
---------------------
Nothing is trusted across calls: every :func:`fetch_file` call re-reads and re-hashes the file it
returns, so a file replaced or edited since an earlier call (even with its size and modification
time kept) is caught, and changing ``$DLBOOK_DATA`` takes effect at the next call. The registry
keeps no memo of verified files. Hashing is cheap next to using the data: finding and hashing
MNIST's four files (11.6 MB) takes about 10 ms (measured on a CPU with SHA instructions; a few
times that without them), against about 0.2 s to decompress them and 30-70 ms merely to copy
the training tensors that each ``load_mnist`` call returns. What is not covered is a file changed
between the check and the caller's own read of it.
"""

from __future__ import annotations

import glob
import hashlib
import http.client
import os
import socket
import ssl
import sys
import tempfile
import time
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
    "DataConfigError",
    "CacheError",
    "register",
    "get_dataset_info",
    "list_datasets",
    "data_roots",
    "cache_dir",
    "fetch_file",
    "fetch",
]

_CHUNK = 1 << 20
_TIMEOUT_S = 60  # per socket operation (connect, each read) of a download
_STALE_PART_S = 3600  # a .part file untouched this long belongs to a download that died
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class DataError(RuntimeError):
    """Base class of the registry's errors."""


class DataUnavailableError(DataError, FileNotFoundError):
    """A file is in no data root and could not be downloaded."""


class ChecksumError(DataError):
    """A file exists but its SHA-256 checksum is not the registered one."""


class DataConfigError(DataError, ValueError):
    """A setting of the registry is wrong: ``root``, ``$DLBOOK_DATA`` or ``$DLBOOK_OFFLINE``."""


class CacheError(DataError, OSError):
    """The user cache cannot be written (read-only, full, or not a folder)."""


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
    #: ``extra["no_download"]``: why the files have no URL (a derived file that exists only in the
    #: offline bundle); ``extra["bundled"] = False``: a file the offline bundle does not hold.
    extra: dict = field(default_factory=dict)

    def file(self, path: str) -> RemoteFile:
        """Return the :class:`RemoteFile` registered under ``path`` (its path or its base name).

        A base name shared by several files is ambiguous and raises :class:`ValueError`.
        """
        for f in self.files:
            if f.path == path:
                return f
        matches = [f for f in self.files if Path(f.path).name == path]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ValueError(f"data set {self.name!r} has several files named {path!r}: "
                             f"{', '.join(f.path for f in matches)}; give the full path")
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
    return _lookup(name, "name")


def _lookup(name: str, argument: str) -> DatasetInfo:
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a str, the name of a data set ({', '.join(sorted(_REGISTRY))}), "
                        f"got {type(name).__name__} {name!r}")
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


def _not_a_folder(path: Path) -> str:
    return "is not a folder" if path.exists() else "does not exist"


def data_roots(extra: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order: ``extra`` (if given), each ``$DLBOOK_DATA`` entry, the cache.

    Raises
    ------
    DataConfigError
        ``extra`` or an entry of ``$DLBOOK_DATA`` is not an existing folder (the cache need not
        exist yet).
    """
    roots: list[Path] = []
    if extra is not None:
        if not isinstance(extra, (str, os.PathLike)):
            raise TypeError(f"root must be a path (str or os.PathLike), got {type(extra).__name__}")
        folder = Path(extra).expanduser()
        if not folder.is_dir():
            raise DataConfigError(
                f"root={os.fspath(extra)!r} {_not_a_folder(folder)}. root names a folder searched before "
                f"$DLBOOK_DATA and the cache (downloads always go to the cache, {cache_dir()}); "
                f"fix the path, create the folder, or leave root out.")
        roots.append(folder)
    for entry in os.environ.get("DLBOOK_DATA", "").split(os.pathsep):
        if entry.strip():
            folder = Path(entry.strip()).expanduser()
            if not folder.is_dir():
                raise DataConfigError(
                    f"DLBOOK_DATA names {folder}, which {_not_a_folder(folder)}. DLBOOK_DATA must name existing "
                    f"folders (separated by {os.pathsep!r}) laid out as <folder>/<registered path>, e.g. an "
                    f"offline bundle. Fix it, or unset it to use the cache ({cache_dir()}) and downloads.")
            roots.append(folder)
    roots.append(cache_dir())
    return roots


def _offline_from_env() -> bool:
    """``$DLBOOK_OFFLINE`` as a bool (unset: False); a value that is not a yes or a no raises."""
    raw = os.environ.get("DLBOOK_OFFLINE")
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise DataConfigError(
        f"DLBOOK_OFFLINE={raw!r} is not understood: set it to 1, true, yes or on to forbid downloads, "
        f"or to 0, false, no, off or nothing to allow them (any case), or unset it.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, spec: RemoteFile, dataset: str) -> None:
    """Raise ChecksumError unless ``path`` has the registered size and SHA-256 now (hashed every call)."""
    try:
        size = path.stat().st_size
        if spec.size is not None and size != spec.size:
            raise ChecksumError(
                f"{path} (file {spec.path!r} of data set {dataset!r}) has {size:,} bytes but should have "
                f"{spec.size:,}: it is truncated or not the right file. Delete it and run again to re-download "
                f"from {spec.urls[0] if spec.urls else '(no URL registered)'}, or replace it with a good copy."
            )
        actual = _sha256(path)
    except OSError as err:
        raise DataError(f"{path} (file {spec.path!r} of data set {dataset!r}) cannot be read: {err}. "
                        f"Check its permissions, or point DLBOOK_DATA at a readable copy.") from err
    if actual != spec.sha256:
        raise ChecksumError(
            f"{path} (file {spec.path!r} of data set {dataset!r}) is corrupt: SHA-256 {actual} but the "
            f"registry expects {spec.sha256}. Delete it and run again to re-download from "
            f"{spec.urls[0] if spec.urls else '(no URL registered)'}, or replace it with a good copy."
        )


def _is_present(candidate: Path, spec: RemoteFile, dataset: str, *, in_cache: bool) -> bool:
    """True if ``candidate`` is a regular file, False if nothing is there; raise if something else is."""
    if candidate.is_file():
        return True
    if candidate.is_dir():
        kind = "is a directory"
    elif candidate.is_symlink():
        kind = f"is a broken symbolic link (to {os.readlink(candidate)})"
    elif candidate.exists():
        kind = "is not a regular file"
    else:
        return False
    remedy = ("Remove it (the next call then downloads a fresh copy)" if in_cache
              else "Move it away and put the file there, or point DLBOOK_DATA elsewhere")
    raise DataError(f"{candidate} {kind}, but file {spec.path!r} of data set {dataset!r} should be there. {remedy}.")


def _cache_error(err: BaseException, action: str, spec: RemoteFile, dataset: str) -> CacheError:
    return CacheError(
        f"Cannot {action} in the dlbook cache {cache_dir()} ({type(err).__name__}: {err}); it is needed for "
        f"file {spec.path!r} of data set {dataset!r}. Choose another cache with XDG_CACHE_HOME=<a writable "
        f"folder> (dlbook then uses $XDG_CACHE_HOME/dlbook), or put the file in a folder named by DLBOOK_DATA "
        f"(or pass root=) so that nothing needs to be written.")


class _Fault(Exception):
    """What went wrong with one URL; the next URL is tried."""


class _LocalWriteError(Exception):
    """Writing a download into the cache failed; no other URL can help (raised from the OSError)."""


# What one URL can throw at us: URLError/HTTPError/timeouts/SSL/refused connections are OSErrors;
# IncompleteRead, BadStatusLine, LineTooLong... are HTTPExceptions; ValueError is a malformed URL.
_URL_FAULTS = (OSError, http.client.HTTPException, ValueError, _Fault)


def _describe(err: BaseException) -> str:
    """One line saying what went wrong with a URL."""
    if isinstance(err, _Fault):
        return str(err)
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP error {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    if isinstance(err, (TimeoutError, socket.timeout)):
        return f"timed out (no data for {_TIMEOUT_S} s): {err}"
    if isinstance(err, ssl.SSLError):
        return f"SSL error: {err}"
    if isinstance(err, http.client.RemoteDisconnected):
        return f"the server closed the connection without replying (RemoteDisconnected: {err})"
    if isinstance(err, http.client.IncompleteRead):
        return f"the connection closed in the middle of the transfer: {err}"
    if isinstance(err, http.client.BadStatusLine):
        return f"the reply is not HTTP (BadStatusLine: {err.line!r})"
    if isinstance(err, ConnectionError):
        return f"cannot connect: {type(err).__name__}: {err}"
    return f"{type(err).__name__}: {err}"


def _remove_stale_parts(dest: Path) -> None:
    """Delete ``.<name>.*.part`` files beside ``dest`` untouched for ``_STALE_PART_S`` (dead downloads)."""
    cutoff = time.time() - _STALE_PART_S
    for part in dest.parent.glob(glob.escape(f".{dest.name}.") + "*.part"):
        try:
            if part.is_file() and part.stat().st_mtime < cutoff:
                part.unlink()
        except OSError:
            pass  # gone already, or the cache is read-only (which the download itself reports)


def _download(spec: RemoteFile, dest: Path, dataset: str, progress: bool) -> None:
    """Download ``spec`` into ``dest`` via a temporary file, trying every URL in order.

    Raises DataUnavailableError listing each URL and its fault when all fail, CacheError when the
    cache cannot be written (then no further URL is tried: none could help).
    """
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cache_error(err, f"create the folder {folder}", spec, dataset) from err
    _remove_stale_parts(dest)
    errors = []
    for url in spec.urls:
        try:
            fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=folder)
        except OSError as err:
            raise _cache_error(err, f"create a temporary file in {folder}", spec, dataset) from err
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                _stream(url, out, spec, progress)
            try:
                actual = _sha256(tmp)
            except OSError as err:
                raise _LocalWriteError() from err
            if actual != spec.sha256:
                raise _Fault(f"the downloaded bytes have SHA-256 {actual} but the registry expects "
                             f"{spec.sha256}: this URL serves a different or damaged file")
            try:
                os.replace(tmp, dest)  # atomic on the same file system
            except OSError as err:
                raise _LocalWriteError() from err
            return
        except _LocalWriteError as err:
            cause = err.__cause__
            raise _cache_error(cause, f"write {dest}", spec, dataset) from cause
        except _URL_FAULTS as err:
            errors.append(f"  {url}: {_describe(err)}")
        finally:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
    tried = "\n".join(errors) if errors else "  (no URLs are registered for this file)"
    raise DataUnavailableError(_missing_message(spec, dataset, f"Download failed:\n{tried}"))


def _stream(url: str, out, spec: RemoteFile, progress: bool) -> None:
    """Copy ``url`` into the open file ``out``; raise _Fault on a short or long transfer."""
    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "dlbook (https://pypi.org/project/dlbook)"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        header = (response.headers.get("Content-Length") or "").strip()
        announced = int(header) if header.isdigit() else None
        if announced is not None and spec.size is not None and announced != spec.size:
            raise _Fault(f"the server announces {announced:,} bytes but the file has {spec.size:,}: "
                         f"this URL serves a different file")
        expected = spec.size if spec.size is not None else announced
        received = 0
        with tqdm(total=expected, unit="B", unit_scale=True, desc=Path(spec.path).name,
                  disable=not progress, file=sys.stderr, mininterval=0.5) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                received += len(chunk)
                if expected is not None and received > expected:
                    raise _Fault(f"the server sent more than the {expected:,} bytes the file has: "
                                 f"this URL serves a different file")
                try:
                    out.write(chunk)
                except OSError as err:
                    raise _LocalWriteError() from err
                bar.update(len(chunk))
        try:
            out.flush()
        except OSError as err:
            raise _LocalWriteError() from err
    if expected is not None and received != expected:
        raise _Fault(f"the transfer was cut short: received {received:,} of the {expected:,} bytes "
                     f"(the connection closed early)")


def _missing_message(spec: RemoteFile, dataset: str, reason: str) -> str:
    info = _REGISTRY.get(dataset)
    where = cache_dir() / spec.path
    urls = "\n".join(f"  {u}" for u in spec.urls) or "  (no URL registered)"
    lic = f"\nLicence: {info.license}" if info else ""
    if not spec.urls and info is not None and info.extra.get("no_download"):
        return (
            f"Data set {dataset!r}: file {spec.path!r} is not available. {reason}\n"
            f"It cannot be downloaded: {info.extra['no_download']}\n"
            f"Point DLBOOK_DATA at a folder that contains {spec.path} (for example the offline bundle)."
            f"{lic}"
        )
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

    Every call re-hashes the file it returns (nothing is trusted from an earlier call) and reads
    ``$DLBOOK_DATA``, ``$DLBOOK_OFFLINE`` and ``$XDG_CACHE_HOME`` afresh.

    Parameters
    ----------
    dataset : str
        A registered data set name (see :func:`list_datasets`).
    path : str
        The file's registered path, or just its base name.
    download : bool, optional
        Allow downloading. Defaults to True unless ``$DLBOOK_OFFLINE`` is ``1``, ``true``, ``yes``
        or ``on`` (any case).
    root : path-like, optional
        An existing folder searched before ``$DLBOOK_DATA`` (same layout).
    progress : bool, default True
        Show a progress bar while downloading.

    Raises
    ------
    DataUnavailableError
        The file is nowhere to be found and cannot be downloaded (the message lists every URL
        tried and what went wrong with it).
    ChecksumError
        A copy in ``root`` or ``$DLBOOK_DATA`` exists but is corrupt.
    DataConfigError
        ``root`` or a ``$DLBOOK_DATA`` entry is not an existing folder, or ``$DLBOOK_OFFLINE`` is
        neither a yes nor a no.
    CacheError
        The file has to be downloaded or a corrupt cached copy moved aside, but the cache cannot
        be written.
    DataError
        Something other than a regular file (e.g. a directory) is where the file should be, or the
        file cannot be read.
    TypeError
        ``dataset`` is not a str or ``download`` is not a bool or None.
    """
    info = _lookup(dataset, "dataset")
    spec = info.file(path)
    offline = _offline_from_env()
    if download is None:
        download = not offline
    elif not isinstance(download, bool):
        raise TypeError(f"download must be True, False or None (None follows DLBOOK_OFFLINE), got {download!r}")
    roots = data_roots(root)
    for r in roots[:-1]:  # user-supplied roots: a corrupt file is an error to fix, never silently skipped
        candidate = r / spec.path
        if _is_present(candidate, spec, dataset, in_cache=False):
            _check(candidate, spec, dataset)
            return candidate
    cached = roots[-1] / spec.path
    if _is_present(cached, spec, dataset, in_cache=True):
        try:
            _check(cached, spec, dataset)
            return cached
        except ChecksumError as err:
            aside = cached.with_name(cached.name + ".corrupt")
            try:
                os.replace(cached, aside)
            except OSError as move_err:
                raise _cache_error(move_err, f"move the corrupt file {cached} aside", spec, dataset) from err
            print(f"dlbook: {err}\nMoved it to {aside}; fetching a fresh copy.", file=sys.stderr)
    if not download or not spec.urls:
        searched = "\n".join(f"  {r / spec.path}" for r in roots)
        why = "Downloading is switched off and no" if download is False else "No"
        raise DataUnavailableError(_missing_message(
            spec, dataset, f"{why} copy was found at:\n{searched}"))
    _download(spec, cached, dataset, progress)
    return cached


def fetch(dataset: str, **kwargs) -> dict[str, Path]:
    """Fetch every file of a data set; return ``{registered path: local path}``.

    Keyword arguments are passed to :func:`fetch_file`.
    """
    info = _lookup(dataset, "dataset")
    return {f.path: fetch_file(dataset, f.path, **kwargs) for f in info.files}
