"""Characters as integers: the vocabulary and the training pairs of the character-level language
models (bigram counts, the bigram network, the MLP model, the GPT).

>>> words = ["emma", "ava"]
>>> vocab = CharVocab.from_words(words)           # "." marks a word's start and end, index 0
>>> vocab.encode("ava"), vocab.decode([1, 4, 1])
([1, 4, 1], 'ava')
>>> make_context_windows(words, vocab, block_size=2)[0][:3].tolist()
[[0, 0], [0, 2], [2, 3]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .synthetic import _rng

__all__ = ["CharVocab", "make_bigram_pairs", "make_context_windows", "split_words"]


class CharVocab:
    """A character vocabulary: sorted characters, with an optional boundary token at index 0.

    Parameters
    ----------
    chars : iterable of str
        The characters to number (each a single character; duplicates are ignored).
    boundary : str or None, default "."
        A token that marks where a word starts and ends (makemore's "."), given index 0. ``None``
        for running text such as a play, where the newline character already separates lines.

    Attributes
    ----------
    itos : list of str
        Index to character.
    stoi : dict of str to int
        Character to index.
    """

    def __init__(self, chars: Iterable[str], *, boundary: str | None = ".") -> None:
        chars = set(chars)
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("chars must be a non-empty collection of single characters")
        if boundary is not None:
            if not isinstance(boundary, str) or len(boundary) != 1:
                raise ValueError(f"boundary must be one character or None, got {boundary!r}")
            if boundary in chars:
                raise ValueError(f"the boundary token {boundary!r} also occurs in the data")
        self.boundary = boundary
        self.itos = ([boundary] if boundary is not None else []) + sorted(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_words(cls, words: Iterable[str], *, boundary: str | None = ".") -> CharVocab:
        """The vocabulary of every character in ``words``."""
        return cls({c for w in words for c in w}, boundary=boundary)

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of every character of a running text, without a boundary token."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return cls(set(text), boundary=None)

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} tokens, boundary={self.boundary!r})"

    def encode(self, text: str) -> list[int]:
        """Indices of the characters of ``text`` (a character outside the vocabulary raises)."""
        try:
            return [self.stoi[c] for c in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The string of the indices ``ids`` (a list, or a 1-D tensor or array)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self):
                raise ValueError(f"index {i!r} is outside the vocabulary of {len(self)} tokens")
            out.append(self.itos[i])
        return "".join(out)


def _check_words(words) -> None:
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise TypeError("words must be a sequence of strings (a list of names, say), not "
                        f"{type(words).__name__}")


def make_bigram_pairs(words: Sequence[str], vocab: CharVocab):
    """Every (current, next) character pair of every word, with the boundary at both ends.

    ``"emma"`` gives the five pairs ``.e``, ``em``, ``mm``, ``ma`` and ``a.``.

    Returns
    -------
    xs, ys : torch.Tensor
        ``int64`` tensors of shape ``(N,)``: the current and the next character's index.
    """
    import torch

    _check_words(words)
    if vocab.boundary is None:
        raise ValueError("bigram pairs of words need a vocabulary with a boundary token")
    xs, ys = [], []
    for w in words:
        ids = [0] + vocab.encode(w) + [0]
        xs.extend(ids[:-1])
        ys.extend(ids[1:])
    return torch.tensor(xs, dtype=torch.int64), torch.tensor(ys, dtype=torch.int64)


def make_context_windows(words: Sequence[str], vocab: CharVocab, block_size: int = 3):
    """Training examples of a fixed-context model: the ``block_size`` previous characters of
    every character of every word (padded with the boundary token), and that character.

    For ``block_size=3``, ``"emma"`` gives ``... -> e``, ``..e -> m``, ``.em -> m``,
    ``emm -> a`` and ``mma -> .`` (the last one teaches the model to stop).

    Returns
    -------
    X : torch.Tensor
        ``int64`` of shape ``(N, block_size)``.
    Y : torch.Tensor
        ``int64`` of shape ``(N,)``.
    """
    import torch

    _check_words(words)
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be an int >= 1, got {block_size!r}")
    if vocab.boundary is None:
        raise ValueError("context windows of words need a vocabulary with a boundary token")
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for i in vocab.encode(w) + [0]:
            X.append(context)
            Y.append(i)
            context = context[1:] + [i]
    return (torch.tensor(X, dtype=torch.int64).reshape(-1, block_size),
            torch.tensor(Y, dtype=torch.int64))


def split_words(words: Sequence[str], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), *,
                seed: int | np.random.Generator | None = 42) -> tuple[list[str], list[str], list[str]]:
    """Shuffle ``words`` and cut them into training, validation and test lists.

    Parameters
    ----------
    words : sequence of str
    fractions : (float, float, float), default (0.8, 0.1, 0.1)
        Shares of the three splits; they must be positive and sum to 1.
    seed : int or numpy.random.Generator, default 42

    Returns
    -------
    train, val, test : list of str
        Disjoint, together a permutation of ``words``; sizes rounded down except ``test``.
    """
    _check_words(words)
    if len(fractions) != 3 or any(not isinstance(f, (int, float)) or f <= 0 for f in fractions) \
            or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions!r}")
    order = _rng(seed).permutation(len(words))
    n_train, n_val = int(fractions[0] * len(words)), int(fractions[1] * len(words))
    shuffled = [words[i] for i in order]
    return shuffled[:n_train], shuffled[n_train:n_train + n_val], shuffled[n_train + n_val:]
