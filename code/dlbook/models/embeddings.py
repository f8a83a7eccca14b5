"""Helpers for word embeddings: how much of a corpus a set of pretrained vectors covers.

The chapter *Word embeddings* introduces it::

    from dlbook.models.embeddings import vocab_coverage

    glove = dlbook.data.load_glove()                 # gensim KeyedVectors, 50,000 words
    cov = vocab_coverage(tokens, glove)              # tokens: a list of str, or a Counter
    cov.token_share, cov.type_share                  # e.g. 0.97, 0.87
    cov.oov.most_common(5)                           # the most frequent words without a vector
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping
from typing import NamedTuple

__all__ = ["Coverage", "vocab_coverage"]


class Coverage(NamedTuple):
    """What :func:`vocab_coverage` returns.

    Attributes
    ----------
    token_share : float
        Share of the running tokens (counted with repetition) that have a vector.
    type_share : float
        Share of the distinct words (types) that have a vector.
    n_tokens : int
        Number of tokens counted (ignored words excluded).
    n_types : int
        Number of distinct words counted (ignored words excluded).
    oov : collections.Counter
        Every out-of-vocabulary word with its count; ``oov.most_common(k)`` lists the most
        frequent ones.
    """

    token_share: float
    type_share: float
    n_tokens: int
    n_types: int
    oov: Counter


def _known_words(vectors) -> Container[str]:
    """A container that answers ``word in ...``: gensim ``KeyedVectors`` give their index."""
    key_to_index = getattr(vectors, "key_to_index", None)
    if isinstance(key_to_index, Mapping):
        return key_to_index
    if isinstance(vectors, str) or not isinstance(vectors, Container):
        raise TypeError("vectors must be gensim KeyedVectors or a container of words (a set, a "
                        f"dict, a list), got {type(vectors).__name__}")
    return vectors


def vocab_coverage(tokens: Iterable[str] | Mapping[str, int], vectors, *,
                   ignore: Iterable[str] = ()) -> Coverage:
    """How much of a corpus a vocabulary of pretrained vectors covers, by tokens and by types.

    Parameters
    ----------
    tokens : iterable of str, or mapping of str to int
        The corpus as a sequence of tokens (for instance ``["alice", "was", ...]``), or already
        counted (a ``collections.Counter`` or any ``{word: count}`` mapping with non-negative
        integer counts).
    vectors : gensim.models.KeyedVectors or container of str
        The words that have a vector. ``KeyedVectors`` are looked up through their
        ``key_to_index``; any other container through ``word in vectors``.
    ignore : iterable of str, default ()
        Words left out of every count, for instance special tokens such as ``"[PAD]"``.

    Returns
    -------
    Coverage
        ``(token_share, type_share, n_tokens, n_types, oov)``.

    Raises
    ------
    TypeError
        If ``tokens`` is a single string, holds a non-string, or ``vectors`` cannot answer
        ``word in vectors``.
    ValueError
        If a count is negative or not an integer, or nothing is left to count.

    Examples
    --------
    >>> cov = vocab_coverage(["the", "cat", "sat", "the", "snark"], {"the", "cat", "sat"})
    >>> round(cov.token_share, 2), round(cov.type_share, 2), cov.oov
    (0.8, 0.75, Counter({'snark': 1}))
    """
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of words or a {word: count} mapping, not a str")
    known = _known_words(vectors)
    if isinstance(tokens, Mapping):
        counts = Counter()
        for word, count in tokens.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"tokens: the count of {word!r} must be a non-negative int, "
                                 f"got {count!r}")
            counts[word] += count
    else:
        counts = Counter(tokens)
    ignored = set([ignore] if isinstance(ignore, str) else ignore)
    counts = Counter({w: n for w, n in counts.items() if w not in ignored and n > 0})
    for word in counts:
        if not isinstance(word, str):
            raise TypeError(f"tokens must be strings, got {type(word).__name__} ({word!r})")
    n_tokens, n_types = sum(counts.values()), len(counts)
    if n_types == 0:
        raise ValueError("tokens holds no word to count (empty, or every word ignored)")
    oov = Counter({w: n for w, n in counts.items() if w not in known})
    # most frequent first; ties keep the corpus order (Counter preserves insertion order)
    oov = Counter(dict(oov.most_common()))
    return Coverage(token_share=1 - sum(oov.values()) / n_tokens, type_share=1 - len(oov) / n_types,
                    n_tokens=n_tokens, n_types=n_types, oov=oov)
