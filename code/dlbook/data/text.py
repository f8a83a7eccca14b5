"""Texts for the language chapters, read through the registry (checksummed, cached, offline-first).

>>> names = load_names()                  # 32,033 lower-case names, for the makemore-style models
>>> text = load_tiny_shakespeare()        # 1,115,394 characters, for the GPT chapter
>>> alice = load_book("alice")            # a public-domain novel as one string
"""

from __future__ import annotations

import os

from .registry import fetch_file

__all__ = ["BOOKS", "load_book", "load_names", "load_tiny_shakespeare"]

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
