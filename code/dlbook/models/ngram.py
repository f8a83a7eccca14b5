"""The bigram language model as a table: counts, smoothed probabilities, sampling and scoring.

The chapter *A bigram language model by counting* builds each step by hand; these are the same
steps, for the chapters that reuse them::

    from dlbook.models.ngram import bigram_counts, bigram_probabilities, sample_words

    vocab = CharVocab.from_words(words)              # "." (index 0) marks start and end
    N = bigram_counts(words, vocab)                  # int64 (27, 27): N[i, j] = count of "ij"
    P = bigram_probabilities(N, k=1.0)               # add-one smoothing, rows sum to 1
    sample_words(P, vocab, 5, generator=torch.Generator().manual_seed(0))
    average_nll(P, xs, ys)                           # mean of -ln P[x, y] over the pairs
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..data.chars import CharVocab, make_bigram_pairs

__all__ = ["bigram_counts", "bigram_probabilities", "average_nll", "sample_words"]


def bigram_counts(words: Sequence[str], vocab: CharVocab) -> torch.Tensor:
    """How often each character follows each other one, start and end of a word included.

    Parameters
    ----------
    words : sequence of str
        The training words (a list of names, say).
    vocab : dlbook.data.CharVocab
        A vocabulary with a boundary token (index 0), as ``CharVocab.from_words`` makes.

    Returns
    -------
    torch.Tensor
        ``int64`` of shape ``(V, V)`` with ``V = len(vocab)``: entry ``[i, j]`` counts the
        pairs "character ``i`` then character ``j``"; row 0 counts first letters, column 0
        last letters.
    """
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a dlbook.data.CharVocab, got {type(vocab).__name__}")
    xs, ys = make_bigram_pairs(words, vocab)
    v = len(vocab)
    return torch.bincount(xs * v + ys, minlength=v * v).reshape(v, v)


def bigram_probabilities(counts: torch.Tensor, k: float = 0.0) -> torch.Tensor:
    """Row-normalised counts with add-``k`` smoothing: ``(N + k) / (N + k).sum(1)``.

    Parameters
    ----------
    counts : torch.Tensor
        Non-negative counts of shape ``(C, V)``: one row per context (``V`` rows for a bigram
        table, ``V * V`` for a trigram table), one column per next token.
    k : float, default 0.0
        Pseudo-count added to every cell before normalising (0: maximum likelihood, 1:
        Laplace's add-one rule). Must be ``>= 0``.

    Returns
    -------
    torch.Tensor
        ``float32`` of the shape of ``counts``; every row sums to 1. A row of zeros with ``k = 0``
        raises, since it has no distribution.
    """
    if not isinstance(counts, torch.Tensor) or counts.ndim != 2 or counts.numel() == 0:
        raise ValueError("counts must be a non-empty 2-D tensor (contexts x next tokens)")
    if bool((counts < 0).any()):
        raise ValueError("counts must be non-negative")
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not k >= 0:
        raise ValueError(f"k must be a number >= 0, got {k!r}")
    smoothed = counts.double() + k
    totals = smoothed.sum(dim=1, keepdim=True)
    if bool((totals == 0).any()):
        raise ValueError("a row of counts is all zero: use k > 0 to give it a distribution")
    return (smoothed / totals).float()


def average_nll(probs: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> float:
    """The average negative log-likelihood ``-mean(ln probs[xs, ys])`` of the pairs, in nats.

    Returns ``inf`` if one pair has probability 0.
    """
    if not isinstance(probs, torch.Tensor) or probs.ndim != 2:
        raise ValueError("probs must be a 2-D tensor of probabilities")
    if xs.shape != ys.shape or xs.ndim != 1 or len(xs) == 0:
        raise ValueError("xs and ys must be non-empty 1-D tensors of the same length")
    return float(-probs[xs, ys].double().log().mean())


def sample_words(probs: torch.Tensor, vocab: CharVocab, n: int, *,
                 generator: torch.Generator | None = None, max_len: int = 50) -> list[str]:
    """Draw ``n`` words from a bigram table, one character at a time.

    Each word starts after the boundary token (index 0); the next character is drawn from the
    row of the current one with ``torch.multinomial`` until the boundary comes up again or the
    word reaches ``max_len`` characters.

    Parameters
    ----------
    probs : torch.Tensor
        ``(V, V)`` probabilities, rows summing to 1 (the rows may be unnormalised weights).
    vocab : dlbook.data.CharVocab
    n : int
        Number of words.
    generator : torch.Generator, optional
        The source of randomness; the same seed gives the same words.
    max_len : int, default 50

    Returns
    -------
    list of str
    """
    if not isinstance(vocab, CharVocab) or vocab.boundary is None:
        raise TypeError("vocab must be a dlbook.data.CharVocab with a boundary token")
    if probs.shape != (len(vocab), len(vocab)):
        raise ValueError(f"probs must have shape {(len(vocab), len(vocab))}, got {tuple(probs.shape)}")
    for name, value in (("n", n), ("max_len", max_len)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    words = []
    for _ in range(n):
        ids, i = [], 0
        while len(ids) < max_len:
            i = int(torch.multinomial(probs[i], 1, replacement=True, generator=generator))
            if i == 0:
                break
            ids.append(i)
        words.append(vocab.decode(ids))
    return words
