"""The texts of the language chapters: the real files through the registry, and faulty copies."""

from __future__ import annotations

import shutil

import pytest
from conftest import bundle_dir

from dlbook.data import (BOOKS, UCI_SOURCES, ChecksumError, DataUnavailableError, get_dataset_info,
                         load_20newsgroups, load_book, load_glove, load_names, load_tiny_shakespeare,
                         load_uci_sentiment)

BUNDLE = bundle_dir()
needs_bundle = pytest.mark.skipif(BUNDLE is None, reason="no offline data bundle on this machine")


@needs_bundle
def test_names_contents():
    names = load_names(root=BUNDLE, download=False)
    assert len(names) == 32_033 and names[:3] == ["emma", "olivia", "ava"] and names[-1] == "zzyzx"
    assert set("".join(names)) == set("abcdefghijklmnopqrstuvwxyz")
    assert min(map(len, names)) == 2 and max(map(len, names)) == 15


@needs_bundle
def test_tiny_shakespeare_contents():
    text = load_tiny_shakespeare(root=BUNDLE, download=False)
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    assert len(set(text)) == 65 and {c for c in text if c.isdigit()} == {"3"}


@needs_bundle
@pytest.mark.parametrize("name, title, last", [
    ("alice", "Alice’s Adventures in Wonderland", "THE END"),
    ("oz", "The Wonderful Wizard of Oz", "I’m so glad to be at home again!”"),
])
def test_books_are_whole_and_free_of_gutenberg_markers(name, title, last):
    text = load_book(name, root=BUNDLE, download=False)
    assert title in text[:200] and text.rstrip().endswith(last)
    assert "PROJECT GUTENBERG" not in text and not text.startswith("\ufeff")
    assert text.upper().count("CHAPTER") >= 24 and "\r" not in text   # contents + chapters


def test_unknown_book_is_a_clear_error():
    with pytest.raises(ValueError, match="alice"):
        load_book("hamlet")
    assert set(BOOKS) == {"alice", "oz"}


def test_text_data_sets_are_registered_with_pinned_urls_and_licences():
    for name in ("names", "tiny-shakespeare", "alice", "oz", "uci-sentiment", "20newsgroups"):
        info = get_dataset_info(name)
        assert info.license and info.citation
        for f in info.files:
            assert len(f.sha256) == 64 and f.size > 0
            assert f.urls and all(len(part) == 40 for u in f.urls
                                  for part in u.split("/") if len(part) == 40)


def _copy(dataset: str, tmp_path):
    (f,) = get_dataset_info(dataset).files
    target = tmp_path / f.path
    target.parent.mkdir(parents=True, exist_ok=True)
    return f, target


@needs_bundle
@pytest.mark.parametrize("dataset, loader", [
    ("names", load_names), ("tiny-shakespeare", load_tiny_shakespeare),
    ("alice", lambda **kw: load_book("alice", **kw)),
])
def test_a_corrupt_copy_is_refused(dataset, loader, tmp_path, isolated_data):
    f, target = _copy(dataset, tmp_path)
    shutil.copyfile(BUNDLE / f.path, target)
    with open(target, "r+b") as handle:          # flip one byte in the middle
        handle.seek(f.size // 2)
        byte = handle.read(1)
        handle.seek(f.size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ChecksumError, match=target.name):
        loader(root=tmp_path, download=False)


@needs_bundle
def test_a_truncated_copy_is_refused(tmp_path, isolated_data):
    f, target = _copy("names", tmp_path)
    target.write_bytes((BUNDLE / f.path).read_bytes()[:1000])
    with pytest.raises(ChecksumError):
        load_names(root=tmp_path, download=False)


def test_a_missing_copy_names_the_file_and_where_it_looked(isolated_data):
    with pytest.raises(DataUnavailableError, match="tinyshakespeare.txt"):
        load_tiny_shakespeare(download=False)


@needs_bundle
def test_uci_sentiment_contents():
    sentences, labels = load_uci_sentiment(root=BUNDLE, download=False)
    assert len(sentences) == 3000 and labels.shape == (3000,) and int(labels.sum()) == 1500
    for k, source in enumerate(UCI_SOURCES):
        part, part_labels = load_uci_sentiment(source, root=BUNDLE, download=False)
        assert part == sentences[1000 * k:1000 * (k + 1)] and int(part_labels.sum()) == 500
    assert not any("\t" in s or s != s.strip() for s in sentences)
    assert any("\u0085" in s for s in load_uci_sentiment("imdb", root=BUNDLE, download=False)[0])
    with pytest.raises(ValueError, match="source"):
        load_uci_sentiment("twitter")


@needs_bundle
def test_20newsgroups_contents_and_stripping():
    texts, labels, groups = load_20newsgroups("test", root=BUNDLE, download=False)
    assert len(texts) == 7532 and len(groups) == 20 and groups[0] == "alt.atheism"
    assert labels.shape == (7532,) and int(labels.min()) == 0 and int(labels.max()) == 19
    assert labels.tolist() == sorted(labels.tolist())                 # grouped by newsgroup
    raw, raw_labels, _ = load_20newsgroups("test", remove=(), root=BUNDLE, download=False)
    assert raw_labels.tolist() == labels.tolist()
    with_header = sum(t.startswith("From:") for t in raw)
    assert with_header > 7000 and sum(t.startswith("From:") for t in texts) < 0.05 * with_header
    assert sum(len(t) for t in texts) < 0.7 * sum(len(t) for t in raw)
    train, _, _ = load_20newsgroups("train", root=BUNDLE, download=False)
    assert len(train) == 11314


@pytest.mark.parametrize("kwargs", [{"subset": "all"}, {"remove": "headers"}, {"remove": ("signature",)}])
def test_20newsgroups_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        load_20newsgroups(**kwargs)


@needs_bundle
def test_glove_vectors():
    vectors = load_glove(limit=20_000, root=BUNDLE, download=False)
    assert len(vectors) == 20_000 and vectors.vector_size == 50
    assert vectors.index_to_key[:3] == ["the", ",", "."]
    (word, score), = vectors.most_similar(positive=["king", "woman"], negative=["man"], topn=1)
    assert word == "queen" and score > 0.8
    with pytest.raises(ValueError, match="limit"):
        load_glove(limit=60_000)


def test_glove_without_a_copy_and_without_downloads_is_a_clear_error(isolated_data):
    with pytest.raises(DataUnavailableError, match="glove"):
        load_glove(download=False)


@needs_bundle
def test_a_corrupt_newsgroups_archive_is_refused_not_replaced(tmp_path, isolated_data):
    f, target = _copy("20newsgroups-bundle", tmp_path)
    target.write_bytes((BUNDLE / f.path).read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumError):
        load_20newsgroups("test", root=tmp_path, download=False)
