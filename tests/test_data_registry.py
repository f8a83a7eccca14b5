"""The data registry: lookup order, checksums, downloads, and the errors a reader sees."""

import re

import pytest

from conftest import PAYLOAD, bundle_dir
from dlbook.data import (ChecksumError, DataUnavailableError, RemoteFile, fetch, fetch_file, get_dataset_info,
                         list_datasets, register)


def test_file_in_dlbook_data_is_used_and_verified(isolated_data, fake_dataset, http_server):
    data_root, cache = isolated_data
    target = data_root / "toy" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(PAYLOAD)
    assert fetch_file("toy", "data.bin") == target
    assert http_server.requests == []  # nothing downloaded
    assert not (cache / "toy").exists()


def test_download_falls_back_to_mirror_caches_and_is_reused(isolated_data, fake_dataset, http_server):
    _, cache = isolated_data
    path = fetch_file("toy", "toy/data.bin", progress=False)
    assert path == cache / "toy" / "data.bin"
    assert path.read_bytes() == PAYLOAD
    assert http_server.requests == ["/gone/toy/data.bin", "/mirror/toy/data.bin"]
    assert fetch_file("toy", "data.bin") == path
    assert len(http_server.requests) == 2  # the second call is served from the cache
    assert not list(path.parent.glob("*.part"))


def test_missing_offline_names_dataset_file_url_and_remedy(isolated_data, fake_dataset):
    with pytest.raises(DataUnavailableError) as info:
        fetch_file("toy", "data.bin", download=False)
    message = str(info.value)
    assert "'toy'" in message and "toy/data.bin" in message
    assert "/gone/toy/data.bin" in message and "/mirror/toy/data.bin" in message  # canonical URL and mirror
    assert "DLBOOK_DATA" in message and "save it as" in message
    assert isinstance(info.value, FileNotFoundError)


def test_dlbook_offline_environment_variable_disables_downloads(isolated_data, fake_dataset, http_server, monkeypatch):
    monkeypatch.setenv("DLBOOK_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="Downloading is switched off"):
        fetch_file("toy", "data.bin")
    assert http_server.requests == []


def test_every_url_failing_raises_with_each_error_listed(isolated_data, fake_dataset, http_server):
    http_server.files.clear()
    with pytest.raises(DataUnavailableError) as info:
        fetch_file("toy", "data.bin", progress=False)
    message = str(info.value)
    # Count the status code as a word: the server's random port can contain "404" too (40471).
    assert "Download failed" in message and len(re.findall(r"\b404\b", message)) == 2, message
    assert not any((isolated_data[1] / "toy").glob("*")) if (isolated_data[1] / "toy").exists() else True


def test_corrupt_download_is_never_used(isolated_data, fake_dataset, http_server):
    http_server.files["/mirror/toy/data.bin"] = PAYLOAD[:-1] + b"X"
    with pytest.raises(DataUnavailableError, match="SHA-256"):
        fetch_file("toy", "data.bin", progress=False)
    folder = isolated_data[1] / "toy"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_corrupt_file_in_dlbook_data_raises_checksum_error(isolated_data, fake_dataset, http_server):
    target = isolated_data[0] / "toy" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(PAYLOAD[:-1] + b"X")
    with pytest.raises(ChecksumError) as info:
        fetch_file("toy", "data.bin")
    assert str(target) in str(info.value) and "corrupt" in str(info.value)
    assert http_server.requests == []  # a bad bundle is reported, not papered over


def test_truncated_file_is_reported_as_truncated(isolated_data, fake_dataset):
    target = isolated_data[0] / "toy" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(PAYLOAD[: len(PAYLOAD) // 2])
    with pytest.raises(ChecksumError, match="truncated"):
        fetch_file("toy", "data.bin")


def test_corrupt_cached_file_is_set_aside_and_downloaded_again(isolated_data, fake_dataset, http_server, capsys):
    cached = isolated_data[1] / "toy" / "data.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage")
    path = fetch_file("toy", "data.bin", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert (cached.parent / "data.bin.corrupt").read_bytes() == b"garbage"
    assert "fetching a fresh copy" in capsys.readouterr().err


def test_fetch_returns_every_file(isolated_data, fake_dataset):
    paths = fetch("toy", progress=False)
    assert list(paths) == ["toy/data.bin"] and paths["toy/data.bin"].is_file()


def test_root_argument_is_searched_first(isolated_data, fake_dataset, tmp_path):
    other = tmp_path / "elsewhere"
    (other / "toy").mkdir(parents=True)
    (other / "toy" / "data.bin").write_bytes(PAYLOAD)
    assert fetch_file("toy", "data.bin", root=other) == other / "toy" / "data.bin"


def test_unknown_names_raise_value_errors():
    with pytest.raises(ValueError, match="unknown data set 'nope'.*mnist"):
        get_dataset_info("nope")
    with pytest.raises(ValueError, match="has no file 'x.gz'"):
        fetch_file("mnist", "x.gz")


def test_registry_rejects_bad_entries():
    with pytest.raises(ValueError, match="relative path"):
        RemoteFile(path="/abs/file", sha256="0" * 64, urls=())
    with pytest.raises(ValueError, match="relative path"):
        RemoteFile(path="../escape", sha256="0" * 64, urls=())
    with pytest.raises(ValueError, match="64 lowercase hex"):
        RemoteFile(path="a/b", sha256="abc", urls=())
    with pytest.raises(TypeError, match="tuple of URLs"):
        RemoteFile(path="a/b", sha256="0" * 64, urls="http://x")
    with pytest.raises(ValueError, match="already registered"):
        register(get_dataset_info("mnist"))
    with pytest.raises(TypeError):
        register({"name": "x"})


def test_catalog_checksums_match_the_offline_bundle():
    """Every registered file's SHA-256 must equal the bundle's SHA256SUMS entry."""
    bundle = bundle_dir()
    if bundle is None or not (bundle / "SHA256SUMS").is_file():
        pytest.skip("no offline data bundle on this machine")
    sums = {}
    for line in (bundle / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*").removeprefix("./")] = digest
    checked = 0
    for name in list_datasets():
        if get_dataset_info(name).extra.get("bundled", True) is False:
            continue  # an original the bundle replaces with a derived form (e.g. the CIFAR-10 archive)
        for f in get_dataset_info(name).files:
            assert f.path in sums, f"{name}: {f.path} is registered but not in the bundle's SHA256SUMS"
            assert sums[f.path] == f.sha256, f.path
            assert (bundle / f.path).stat().st_size == f.size, f.path
            checked += 1
    assert checked >= 5


def test_every_registered_file_has_urls_and_licence():
    for name in list_datasets():
        info = get_dataset_info(name)
        assert info.license and info.description
        for f in info.files:
            assert all(u.startswith(("http://", "https://")) for u in f.urls)
            # a file without a URL must say why it cannot be downloaded and what to use instead
            assert f.urls or len(info.extra.get("no_download", "")) > 20, f"{name}: {f.path}"
