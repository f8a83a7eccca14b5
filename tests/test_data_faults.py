"""The data registry under faults: broken mirrors, bad settings, unwritable caches, files changed
behind its back, damaged MNIST files. Each fault must end in one clear error (or a good result),
never in a raw traceback or in wrong data. Nothing here touches the network: the mirrors are local
servers on 127.0.0.1 that misbehave on purpose."""

from __future__ import annotations

import builtins
import errno
import gzip
import hashlib
import os
import socket
import socketserver
import ssl
import struct
import threading
import time
import urllib.request

import numpy as np
import pytest
import torch

from conftest import PAYLOAD
from dlbook.data import (ChecksumError, DataError, DatasetInfo, DataUnavailableError, RemoteFile, cache_dir, fetch,
                         fetch_file, get_dataset_info, load_mnist, read_idx, register)
from dlbook.data import registry, vision

# ---------------------------------------------------------------------------------------------
# A local server whose mirrors fail in the ways real ones do.
# ---------------------------------------------------------------------------------------------


class _FaultyServer:
    """Raw TCP on 127.0.0.1; the first path segment says how to answer (see ``_answer``)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline(65537).decode("latin-1").split()
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                path = line[1] if len(line) > 1 else ""
                requests.append(path)
                self.wfile.write(_answer(path.split("/")[1] if path.count("/") > 1 else ""))

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def url(self, kind: str) -> str:
        return f"{self.base}/{kind}/faulty/data.bin"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _head(**headers: object) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Connection: close", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(kind: str) -> bytes:
    n = len(PAYLOAD)
    if kind == "ok":
        return _head(Content_Length=n) + PAYLOAD
    if kind == "badstatus":  # not HTTP at all: http.client raises BadStatusLine
        return b"SSH-2.0-OpenSSH_9.6\r\n\r\n"
    if kind == "incomplete":  # a chunk cut off: http.client raises IncompleteRead
        return _head(Transfer_Encoding="chunked") + b"%x\r\n" % n + PAYLOAD[: n // 4]
    if kind == "short":  # Content-Length promises n bytes, half arrive: http.client returns them silently
        return _head(Content_Length=n) + PAYLOAD[: n // 2]
    if kind == "long":  # no Content-Length, more bytes than the registered size
        return _head() + PAYLOAD + b"trailing junk" * 100
    if kind == "wrong":  # right size, wrong bytes
        return _head(Content_Length=n) + PAYLOAD[:-1] + b"X"
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.fixture
def faulty_server():
    server = _FaultyServer()
    yield server
    server.close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused/faulty/data.bin"


@pytest.fixture
def faulty_dataset():
    """Register the data set 'faulty' (one file, the test payload) with the URLs a test gives."""

    def make(*urls: str) -> DatasetInfo:
        return register(DatasetInfo(
            name="faulty", description="a data set with misbehaving mirrors", license="CC0",
            files=(RemoteFile(path="faulty/data.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest(),
                              size=len(PAYLOAD), urls=tuple(urls)),),
        ), replace=True)

    yield make
    registry._REGISTRY.pop("faulty", None)


@pytest.fixture
def toy(faulty_server, faulty_dataset):
    """The data set 'faulty' with a dead first mirror and a good second one; returns the server."""
    faulty_dataset(faulty_server.url("404"), faulty_server.url("ok"))
    return faulty_server


def _raising_urlopen(monkeypatch, marker: str, exc: BaseException) -> None:
    """Make urlopen raise ``exc`` for URLs containing ``marker``; other URLs open normally."""
    real = urllib.request.urlopen

    def urlopen(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        if marker in url:
            raise exc
        return real(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)


# ---------------------------------------------------------------------------------------------
# Every mirror is tried; when all fail, one error lists each URL with its fault.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["incomplete", "badstatus", "short", "long", "wrong", "404", "refused",
                                   "timeout", "ssl"])
def test_a_failing_mirror_falls_through_to_the_next(fault, isolated_data, faulty_server, faulty_dataset,
                                                    monkeypatch):
    first = _closed_port_url() if fault == "refused" else faulty_server.url(fault)
    if fault == "timeout":
        _raising_urlopen(monkeypatch, "/timeout/", TimeoutError("timed out"))
    if fault == "ssl":
        _raising_urlopen(monkeypatch, "/ssl/", ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"))
    faulty_dataset(first, faulty_server.url("ok"))
    path = fetch_file("faulty", "data.bin", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert path == cache_dir() / "faulty" / "data.bin"
    assert faulty_server.requests[-1] == "/ok/faulty/data.bin"
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.bin"]  # no temporary file left behind


def test_all_mirrors_failing_name_the_data_set_the_file_and_each_fault(isolated_data, faulty_server,
                                                                       faulty_dataset, monkeypatch):
    expected = {  # URL -> what its line of the error must say
        faulty_server.url("badstatus"): "BadStatusLine",
        faulty_server.url("incomplete"): "IncompleteRead",
        faulty_server.url("short"): f"{len(PAYLOAD) // 2:,} of the {len(PAYLOAD):,} bytes",
        faulty_server.url("long"): f"more than the {len(PAYLOAD):,} bytes",
        faulty_server.url("wrong"): "SHA-256",
        faulty_server.url("404"): "404 Not Found",
        faulty_server.url("timeout"): "timed out",
    }
    _raising_urlopen(monkeypatch, "/timeout/", TimeoutError("timed out"))
    faulty_dataset(*expected)
    with pytest.raises(DataUnavailableError) as info:
        fetch_file("faulty", "data.bin", progress=False)
    message = str(info.value)
    assert "'faulty'" in message and "faulty/data.bin" in message and "Download failed" in message
    lines = message.splitlines()
    for url, fault in expected.items():
        line = next((ln for ln in lines if ln.strip().startswith(url + ":")), None)
        assert line is not None, f"{url} is not reported in:\n{message}"
        said = line.split(url + ":", 1)[1]
        assert fault in said, f"the line for {url} should say {fault!r}: {line}"
    assert len(faulty_server.requests) == len(expected) - 1  # every real mirror was asked exactly once
    folder = cache_dir() / "faulty"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_stale_partial_downloads_are_cleared_and_live_ones_left(isolated_data, faulty_server, faulty_dataset):
    faulty_dataset(faulty_server.url("ok"))
    folder = cache_dir() / "faulty"
    folder.mkdir(parents=True)
    stale, live = folder / ".data.bin.4242.part", folder / ".data.bin.4243.part"
    stale.write_bytes(PAYLOAD[:100])
    live.write_bytes(PAYLOAD[:100])
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    assert fetch_file("faulty", "data.bin", progress=False).read_bytes() == PAYLOAD
    assert not stale.exists(), "a partial download left by a dead process should be removed"
    assert live.exists(), "a recent partial download may belong to a running process"


# ---------------------------------------------------------------------------------------------
# Settings: DLBOOK_DATA, root, DLBOOK_OFFLINE, download.
# ---------------------------------------------------------------------------------------------

def test_dlbook_data_naming_a_missing_folder_is_an_error(isolated_data, toy, monkeypatch, tmp_path):
    missing = tmp_path / "no-such-bundle"
    monkeypatch.setenv("DLBOOK_DATA", os.pathsep.join([str(isolated_data[0]), str(missing)]))
    with pytest.raises(DataError) as info:
        fetch_file("faulty", "data.bin", progress=False)  # online: before, it downloaded without a word
    assert isinstance(info.value, ValueError)
    assert "DLBOOK_DATA" in str(info.value) and str(missing) in str(info.value)
    assert toy.requests == []


def test_dlbook_data_naming_a_file_is_an_error(isolated_data, toy, monkeypatch, tmp_path):
    not_a_folder = tmp_path / "bundle.tar"
    not_a_folder.write_bytes(b"")
    monkeypatch.setenv("DLBOOK_DATA", str(not_a_folder))
    with pytest.raises(DataError, match="DLBOOK_DATA.*not a folder"):
        fetch_file("faulty", "data.bin", progress=False)
    assert toy.requests == []


def test_root_naming_a_missing_folder_is_an_error(isolated_data, toy, tmp_path):
    with pytest.raises(ValueError, match=r"root=.*does not exist"):
        fetch_file("faulty", "data.bin", root=tmp_path / "typo", progress=False)
    assert toy.requests == []


@pytest.mark.parametrize("where", ["DLBOOK_DATA", "cache"])
@pytest.mark.parametrize("download", [False, True])
def test_a_directory_where_the_file_should_be_is_named(where, download, isolated_data, toy):
    data_root, cache = isolated_data
    folder = (data_root if where == "DLBOOK_DATA" else cache) / "faulty" / "data.bin"
    folder.mkdir(parents=True)
    with pytest.raises(DataError) as info:
        fetch_file("faulty", "data.bin", download=download, progress=False)
    assert str(folder) in str(info.value) and "is a directory" in str(info.value)
    assert toy.requests == []
    assert folder.is_dir()  # a reader's folder is never deleted


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", "On", " on "])
def test_dlbook_offline_true_spellings_forbid_downloads(value, isolated_data, toy, monkeypatch):
    monkeypatch.setenv("DLBOOK_OFFLINE", value)
    with pytest.raises(DataUnavailableError, match="Downloading is switched off"):
        fetch_file("faulty", "data.bin", progress=False)
    assert toy.requests == []


@pytest.mark.parametrize("value", ["0", "false", "No", "off", ""])
def test_dlbook_offline_false_spellings_allow_downloads(value, isolated_data, toy, monkeypatch):
    monkeypatch.setenv("DLBOOK_OFFLINE", value)
    assert fetch_file("faulty", "data.bin", progress=False).read_bytes() == PAYLOAD


@pytest.mark.parametrize("value", ["maybe", "2", "offline", "y e s"])
def test_dlbook_offline_other_values_are_rejected(value, isolated_data, toy, monkeypatch):
    monkeypatch.setenv("DLBOOK_OFFLINE", value)
    with pytest.raises(ValueError) as info:
        fetch_file("faulty", "data.bin", progress=False)
    message = str(info.value)
    assert "DLBOOK_OFFLINE" in message and repr(value) in message and "off" in message and "on" in message
    assert toy.requests == []


def test_download_must_be_a_bool(isolated_data, toy):
    with pytest.raises(TypeError, match="download must be True, False or None"):
        fetch_file("faulty", "data.bin", download="no", progress=False)
    assert toy.requests == []


def test_bad_names_are_clear_errors(isolated_data):
    with pytest.raises(ValueError, match="unknown data set 'nope'; registered data sets: .*mnist"):
        fetch("nope")
    with pytest.raises(TypeError, match="dataset must be a str"):
        fetch_file(["mnist"], "x.gz")


def test_an_ambiguous_base_name_is_an_error(faulty_dataset):
    info = register(DatasetInfo(
        name="faulty", description="two files with the same base name", license="CC0",
        files=(RemoteFile("faulty/train/labels.txt", "0" * 64, ()), RemoteFile("faulty/test/labels.txt", "1" * 64, ())),
    ), replace=True)
    with pytest.raises(ValueError, match="labels.txt.*faulty/train/labels.txt.*faulty/test/labels.txt"):
        info.file("labels.txt")
    assert info.file("faulty/test/labels.txt").sha256 == "1" * 64


# ---------------------------------------------------------------------------------------------
# A cache that cannot be written.
# ---------------------------------------------------------------------------------------------

def _deny_writes_under(monkeypatch, folder) -> None:
    """Make every attempt to create, write, rename or delete below ``folder`` fail with EACCES.

    Tests run as root, where a chmod'ed folder stays writable, so the refusal is simulated.
    """
    folder = os.path.abspath(folder)

    def inside(p) -> bool:
        try:
            return os.path.abspath(os.fsdecode(p)).startswith(folder)
        except TypeError:  # a file descriptor
            return False

    def deny(p):
        raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(p))

    real = {name: getattr(os, name) for name in ("mkdir", "open", "rename", "replace", "unlink", "remove")}
    real_open = builtins.open

    def mkdir(p, *a, **k):
        return deny(p) if inside(p) else real["mkdir"](p, *a, **k)

    def os_open(p, flags, *a, **k):
        if inside(p) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            deny(p)
        return real["open"](p, flags, *a, **k)

    def open_(file, mode="r", *a, **k):
        if inside(file) and any(c in mode for c in "wax+"):
            deny(file)
        return real_open(file, mode, *a, **k)

    def two(name):
        def move(src, dst, *a, **k):
            return deny(dst) if inside(src) or inside(dst) else real[name](src, dst, *a, **k)
        return move

    def one(name):
        def remove(p, *a, **k):
            return deny(p) if inside(p) else real[name](p, *a, **k)
        return remove

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    for name in ("rename", "replace"):
        monkeypatch.setattr(os, name, two(name))
    for name in ("unlink", "remove"):
        monkeypatch.setattr(os, name, one(name))


def _assert_names_the_cache_and_the_ways_out(err: BaseException) -> None:
    message = str(err)
    assert isinstance(err, DataError) and isinstance(err, OSError), type(err)
    assert not isinstance(err, DataUnavailableError), "an unwritable cache is not a missing file"
    assert str(cache_dir()) in message, message
    assert "XDG_CACHE_HOME" in message and "DLBOOK_DATA" in message, message


@pytest.mark.parametrize("state", ["no cache folder yet", "cache folder exists"])
def test_a_read_only_cache_names_the_folder_and_how_to_choose_another(state, isolated_data, toy, monkeypatch):
    xdg = isolated_data[1].parent
    if state == "cache folder exists":
        (xdg / "dlbook" / "faulty").mkdir(parents=True)
    _deny_writes_under(monkeypatch, xdg)
    with pytest.raises(OSError) as info:
        fetch_file("faulty", "data.bin", progress=False)
    _assert_names_the_cache_and_the_ways_out(info.value)
    assert toy.requests == []  # nothing is downloaded that could not be kept


def test_a_cache_path_that_is_a_file_names_the_folder(isolated_data, toy):
    isolated_data[1].write_bytes(b"not a folder")  # $XDG_CACHE_HOME/dlbook is a file
    with pytest.raises(OSError) as info:
        fetch_file("faulty", "data.bin", progress=False)
    _assert_names_the_cache_and_the_ways_out(info.value)


def test_a_corrupt_cached_file_in_a_read_only_cache_names_the_folder(isolated_data, toy, monkeypatch):
    cached = isolated_data[1] / "faulty" / "data.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage")
    _deny_writes_under(monkeypatch, isolated_data[1].parent)
    with pytest.raises(OSError) as info:
        fetch_file("faulty", "data.bin", progress=False)
    _assert_names_the_cache_and_the_ways_out(info.value)
    assert str(cached) in str(info.value) and "corrupt" in str(info.value)


def test_an_unreadable_file_is_named(isolated_data, toy, monkeypatch):
    target = isolated_data[0] / "faulty" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(PAYLOAD)
    real_open = builtins.open

    def open_(file, mode="r", *a, **k):
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) == str(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", open_)
    with pytest.raises(DataError, match=f"{target}.*cannot be read.*Permission denied"):
        fetch_file("faulty", "data.bin", download=False)


# ---------------------------------------------------------------------------------------------
# What a process trusts: files changed after they were verified; load_mnist and DLBOOK_DATA.
# ---------------------------------------------------------------------------------------------

def _rewrite_keeping_size_and_mtime(path, data: bytes, *, new_inode: bool) -> None:
    st = path.stat()
    assert len(data) == st.st_size
    if new_inode:
        tmp = path.with_name(path.name + ".new")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    else:
        with open(path, "r+b") as fh:
            fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


@pytest.mark.parametrize("new_inode", [False, True], ids=["in place", "replaced"])
def test_a_file_changed_after_it_was_verified_is_refused(new_inode, isolated_data, toy):
    target = isolated_data[0] / "faulty" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(PAYLOAD)
    assert fetch_file("faulty", "data.bin", download=False) == target
    _rewrite_keeping_size_and_mtime(target, PAYLOAD[:-1] + b"X", new_inode=new_inode)
    with pytest.raises(ChecksumError, match="corrupt"):
        fetch_file("faulty", "data.bin", download=False)


def _idx(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) \
        + array.tobytes()


class _FakeMNIST:
    """A tiny MNIST (4 training and 3 test digits) registered in place of the real one."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.arrays = {
            "train-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
            "train-labels-idx1-ubyte.gz": np.array([5, 0, 4, 1], dtype=np.uint8),
            "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
            "t10k-labels-idx1-ubyte.gz": np.array([7, 2, 1], dtype=np.uint8),
        }
        self.blobs = {name: gzip.compress(_idx(a), mtime=0) for name, a in self.arrays.items()}
        self.info = DatasetInfo(
            name="mnist", description="a tiny stand-in for MNIST", license="CC0",
            files=tuple(RemoteFile(f"MNIST/raw/{name}", hashlib.sha256(blob).hexdigest(), (), size=len(blob))
                        for name, blob in self.blobs.items()),
        )

    def write(self, root, *, corrupt: bool = False) -> None:
        for name, blob in self.blobs.items():
            path = root / "MNIST" / "raw" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if corrupt:
                blob = blob[:-9] + bytes([blob[-9] ^ 0xFF]) + blob[-8:]
            path.write_bytes(blob)


def _forget_decoded_mnist() -> None:
    for name in ("_decoded", "_load_mnist_cached"):
        memo = getattr(vision, name, None)
        if memo is not None:
            getattr(memo, "cache_clear", getattr(memo, "clear", None))()


@pytest.fixture
def fake_mnist():
    real = get_dataset_info("mnist")
    fake = _FakeMNIST()
    register(fake.info, replace=True)
    _forget_decoded_mnist()
    yield fake
    register(real, replace=True)
    _forget_decoded_mnist()


def test_load_mnist_follows_dlbook_data_and_never_serves_another_roots_data(isolated_data, fake_mnist, tmp_path,
                                                                           monkeypatch):
    fake_mnist.write(isolated_data[0])
    images, labels = load_mnist(train=False)
    assert torch.equal(images, torch.from_numpy(fake_mnist.arrays["t10k-images-idx3-ubyte.gz"]))
    assert labels.tolist() == [7, 2, 1]

    corrupt = tmp_path / "corrupt-copy"
    fake_mnist.write(corrupt, corrupt=True)
    monkeypatch.setenv("DLBOOK_DATA", str(corrupt))
    with pytest.raises(ChecksumError, match="corrupt-copy"):
        load_mnist(train=False)

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DLBOOK_DATA", str(empty))
    monkeypatch.setenv("DLBOOK_OFFLINE", "1")
    with pytest.raises(DataUnavailableError):
        load_mnist(train=False)


def test_load_mnist_refuses_a_file_changed_after_it_was_decoded(isolated_data, fake_mnist):
    fake_mnist.write(isolated_data[0])
    assert load_mnist(train=True)[1].tolist() == [5, 0, 4, 1]
    target = isolated_data[0] / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    blob = target.read_bytes()
    _rewrite_keeping_size_and_mtime(target, blob[:-9] + bytes([blob[-9] ^ 0xFF]) + blob[-8:], new_inode=False)
    with pytest.raises(ChecksumError):
        load_mnist(train=True)


def test_load_mnist_still_decodes_once(isolated_data, fake_mnist, monkeypatch):
    fake_mnist.write(isolated_data[0])
    calls = []
    real = vision.read_idx
    monkeypatch.setattr(vision, "read_idx", lambda path: calls.append(path) or real(path))
    first = load_mnist(train=False)
    second = load_mnist(train=False)
    assert len(calls) == 2 and all(torch.equal(a, b) for a, b in zip(first, second))


# ---------------------------------------------------------------------------------------------
# Damaged IDX files.
# ---------------------------------------------------------------------------------------------

def test_read_idx_reports_a_damaged_gzip_stream(tmp_path):
    rng = np.random.default_rng(0)
    blob = bytearray(gzip.compress(_idx(rng.integers(0, 8, (25, 28, 28), dtype=np.uint8)), mtime=0))
    blob[500] ^= 0xFF  # inside the deflate stream: zlib.error, not OSError
    (tmp_path / "damaged.gz").write_bytes(bytes(blob))
    with pytest.raises(DataError, match="damaged.gz.*gzip"):
        read_idx(tmp_path / "damaged.gz")


def test_read_idx_reports_a_truncated_header(tmp_path):
    (tmp_path / "header.idx").write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">I", 60000))
    with pytest.raises(DataError, match="header.idx.*header is truncated"):
        read_idx(tmp_path / "header.idx")
    (tmp_path / "empty.idx").write_bytes(b"")
    with pytest.raises(DataError, match="empty.idx.*empty"):
        read_idx(tmp_path / "empty.idx")


def test_read_idx_does_not_overflow_on_a_huge_header(tmp_path):
    # 2**22 * 2**22 * 2**20 = 2**64 elements: wraps to 0 in int64, so 0 bytes of data looked right
    (tmp_path / "huge.idx").write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 2**22, 2**22, 2**20))
    with pytest.raises(DataError, match="huge.idx.*promises shape"):
        read_idx(tmp_path / "huge.idx")
