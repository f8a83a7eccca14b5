"""Texts for the language chapters, read through the registry (checksummed, cached, offline-first).

>>> names = load_names()                  # 32,033 lower-case names, for the makemore-style models
>>> text = load_tiny_shakespeare()        # 1,115,394 characters, for the GPT chapter
>>> alice = load_book("alice")            # a public-domain novel as one string
"""

from __future__ import annotations

import os

from .registry import fetch_file

__all__ = ["BOOKS", "UCI_SOURCES", "load_20newsgroups", "load_book", "load_glove", "load_names",
           "load_tiny_shakespeare", "load_uci_sentiment"]

#: The books :func:`load_book` knows: short name -> (registered data set, file name).
BOOKS = {
    "alice": ("alice", "pg11_alices_adventures_in_wonderland.txt"),
    "oz": ("oz", "pg55_the_wonderful_wizard_of_oz.txt"),
}

_GUTENBERG_START, _GUTENBERG_END = "*** START OF THE PROJECT GUTENBERG EBOOK", "*** END OF THE PROJECT GUTENBERG EBOOK"


def _read_utf8(dataset: str, name: str, root, download) -> str:
    path = fetch_file(dataset, name, root=root, download=download)
    # The file's checksum was verified, so a decoding error would be a bug in the registry entry.
    return path.read_text(encoding="utf-8").removeprefix("\ufeff")


def load_names(*, root: str | os.PathLike | None = None, download: bool | None = None) -> list[str]:
    """The 32,033 first names of makemore's ``names.txt``, in file order.

    Parameters
    ----------
    root : path-like, optional
        An existing folder searched before ``$DLBOOK_DATA`` and the cache (layout ``text/names.txt``).
    download : bool, optional
        Allow downloading when no local copy exists (default: yes, unless ``$DLBOOK_OFFLINE`` is set).

    Returns
    -------
    list of str
        Lower-case names made of the letters a to z (2 to 15 letters long), starting with
        ``"emma"`` and ending with ``"zzyzx"``.
    """
    return _read_utf8("names", "names.txt", root, download).split()


def load_tiny_shakespeare(*, root: str | os.PathLike | None = None,
                          download: bool | None = None) -> str:
    """Tiny Shakespeare as one string of 1,115,394 characters, starting ``"First Citizen:"``.

    The text uses 65 distinct characters: the 52 ASCII letters, 10 punctuation marks, the digit
    ``3``, space and newline.

    Parameters
    ----------
    root, download
        As in :func:`load_names` (layout ``text/tinyshakespeare.txt``).
    """
    return _read_utf8("tiny-shakespeare", "tinyshakespeare.txt", root, download)


def load_book(name: str, *, root: str | os.PathLike | None = None,
              download: bool | None = None) -> str:
    """A public-domain book from Project Gutenberg as one string.

    Parameters
    ----------
    name : {"alice", "oz"}
        ``"alice"``: Lewis Carroll, *Alice's Adventures in Wonderland* (eBook #11);
        ``"oz"``: L. Frank Baum, *The Wonderful Wizard of Oz* (eBook #55).
    root, download
        As in :func:`load_names`.

    Returns
    -------
    str
        The text of the book, from its title to its last line, without Project Gutenberg's
        START/END marker lines (Oz's file has them, Alice's does not) and without a byte-order
        mark. Line breaks are ``"\\n"``.
    """
    if name not in BOOKS:
        raise ValueError(f"name must be one of {sorted(BOOKS)}, got {name!r}")
    dataset, file_name = BOOKS[name]
    text = _read_utf8(dataset, file_name, root, download).replace("\r\n", "\n")
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(_GUTENBERG_START)]
    ends = [i for i, line in enumerate(lines) if line.startswith(_GUTENBERG_END)]
    if starts or ends:
        if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
            raise ValueError(f"the file of {name!r} has unexpected Gutenberg markers "
                             f"(starts at lines {starts}, ends at lines {ends})")
        lines = lines[starts[0] + 1:ends[0]]
    return "\n".join(lines).strip("\n") + "\n"


#: The three sources of the UCI sentiment sentences, in the order :func:`load_uci_sentiment` uses.
UCI_SOURCES = ("amazon", "imdb", "yelp")
_UCI_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt",
              "yelp": "yelp_labelled.txt"}


def load_uci_sentiment(source: str = "all", *, root: str | os.PathLike | None = None,
                       download: bool | None = None):
    """The UCI Sentiment Labelled Sentences: short reviews labelled negative (0) or positive (1).

    Parameters
    ----------
    source : {"all", "amazon", "imdb", "yelp"}, default "all"
        One site's 1,000 sentences, or all 3,000 (Amazon, then IMDb, then Yelp).
    root, download
        As in :func:`load_names`.

    Returns
    -------
    sentences : list of str
        In file order, without the trailing tab and label.
    labels : torch.Tensor
        ``int64`` of shape ``(len(sentences),)``; each site has 500 of each label.

    Notes
    -----
    Each line of a file is ``sentence<TAB>label``. Lines are split on ``"\\n"`` only: the IMDb file
    contains U+0085 (NEXT LINE) characters inside sentences, which ``str.splitlines`` would treat as
    line breaks.
    """
    import torch

    if source != "all" and source not in UCI_SOURCES:
        raise ValueError(f"source must be 'all' or one of {UCI_SOURCES}, got {source!r}")
    sentences, labels = [], []
    for name in UCI_SOURCES if source == "all" else (source,):
        text = _read_utf8("uci-sentiment", _UCI_FILES[name], root, download)
        for number, line in enumerate(text.rstrip("\n").split("\n"), start=1):
            sentence, tab, label = line.rpartition("\t")
            if not tab or label.strip() not in ("0", "1"):
                raise ValueError(f"{_UCI_FILES[name]}, line {number}: expected 'sentence<TAB>0 or 1', "
                                 f"got {line[:60]!r}")
            sentences.append(sentence.strip())
            labels.append(int(label))
    return sentences, torch.tensor(labels, dtype=torch.int64)


def _newsgroups_archive(root, download):
    """The bundle's copy when one is present here, else the original archive (downloaded)."""
    from .registry import DataUnavailableError

    try:
        return fetch_file("20newsgroups-bundle", "20news-bydate.tar.gz", root=root, download=False)
    except DataUnavailableError:
        return fetch_file("20newsgroups", "20news-bydate.tar.gz", root=root, download=download)


def load_20newsgroups(subset: str = "train", *, remove: tuple[str, ...] = ("headers", "footers", "quotes"),
                      root: str | os.PathLike | None = None, download: bool | None = None):
    """20 Newsgroups ("bydate" split), read straight from the archive.

    Parameters
    ----------
    subset : {"train", "test"}, default "train"
        11,314 training posts or 7,532 test posts (the later ones by date).
    remove : tuple of {"headers", "footers", "quotes"}, default all three
        Parts of each post to strip with scikit-learn's own functions, in scikit-learn's order
        (headers, then footers, then quotes), so that a classifier cannot lean on e-mail addresses,
        signatures or quoted replies. Pass ``()`` for the raw posts.
    root, download
        As in :func:`load_names`. The offline bundle's re-archived copy is used when present;
        otherwise the original archive is downloaded (scikit-learn's mirror and checksum).

    Returns
    -------
    texts : list of str
        Decoded as Latin-1 (as scikit-learn does), ordered by group name and then file name.
    labels : torch.Tensor
        ``int64`` of shape ``(len(texts),)``, indices into ``groups``.
    groups : tuple of str
        The 20 group names in alphabetical order (``"alt.atheism"`` ... ``"talk.religion.misc"``).
    """
    import tarfile

    import torch
    from sklearn.datasets._twenty_newsgroups import (strip_newsgroup_footer, strip_newsgroup_header,
                                                     strip_newsgroup_quoting)

    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    if isinstance(remove, str) or not set(remove) <= {"headers", "footers", "quotes"}:
        raise ValueError(f"remove must be a tuple drawn from ('headers', 'footers', 'quotes'), got {remove!r}")
    prefix = f"20news-bydate-{subset}/"
    posts = []
    with tarfile.open(_newsgroups_archive(root, download), "r:gz") as archive:
        for member in archive:
            if member.isfile() and member.name.startswith(prefix):
                group, name = member.name[len(prefix):].split("/")
                posts.append((group, name, archive.extractfile(member).read().decode("latin-1")))
    posts.sort(key=lambda post: (post[0], post[1]))
    groups = tuple(sorted({group for group, _, _ in posts}))
    texts = [text for _, _, text in posts]
    for part, strip in (("headers", strip_newsgroup_header), ("footers", strip_newsgroup_footer),
                        ("quotes", strip_newsgroup_quoting)):
        if part in remove:
            texts = [strip(text) for text in texts]
    labels = torch.tensor([groups.index(group) for group, _, _ in posts], dtype=torch.int64)
    return texts, labels, groups


def load_glove(*, limit: int = 50_000, root: str | os.PathLike | None = None,
               download: bool | None = None):
    """GloVe 6B word vectors (50 dimensions) for the ``limit`` most frequent tokens, as gensim
    ``KeyedVectors``.

    Parameters
    ----------
    limit : int, default 50,000
        How many of the most frequent tokens to keep (at most 50,000, the bundle's file).
    root, download
        As in :func:`load_names`. Without a local copy of the bundle's file, and with downloads
        allowed, the same vectors come from gensim-data's ``glove-wiki-gigaword-50`` (400,000
        tokens in the same order, of which the first ``limit`` are kept).

    Returns
    -------
    gensim.models.KeyedVectors
        Lower-cased tokens (words, punctuation, numbers), most frequent first: ``vectors.index_to_key[0]``
        is ``"the"``.
    """
    from gensim.models import KeyedVectors

    from .registry import DataUnavailableError, _offline_from_env

    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50_000:
        raise ValueError(f"limit must be an int from 1 to 50,000, got {limit!r}")
    try:
        path = fetch_file("glove-50d-top50k", "glove.6B.50d.top50k.txt.gz", root=root, download=False)
    except DataUnavailableError:
        if download is False or (download is None and _offline_from_env()):
            raise
        import gensim.downloader

        full = gensim.downloader.load("glove-wiki-gigaword-50")
        vectors = KeyedVectors(full.vector_size)
        vectors.add_vectors(full.index_to_key[:limit], full.vectors[:limit])
        return vectors
    return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True, limit=limit)
