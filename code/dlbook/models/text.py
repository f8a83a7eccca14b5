"""Bag-of-embeddings text classifiers: a word vocabulary, batches of bags, and the model.

The chapter *Classifying documents with embeddings* builds each piece once and then uses these::

    from dlbook.models.text import EmbeddingBagClassifier, build_vocab, collate_bags

    vocab = build_vocab(train_tokens, max_size=20_000, min_freq=2)   # "<pad>" 0, "<unk>" 1
    data = [(vocab.encode(doc), label) for doc, label in zip(train_tokens, labels)]
    loader = DataLoader(data, batch_size=64, shuffle=True, collate_fn=collate_bags)
    model = EmbeddingBagClassifier(len(vocab), 50, n_classes=6)
    (ids, offsets), y = next(iter(loader))
    logits = model(ids, offsets)                                      # (64, 6)

A batch of bags is one flat tensor of token ids plus the ``offsets`` where each document starts:
no padding, so nothing has to be masked out of the mean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["Vocab", "build_vocab", "collate_bags", "pretrained_embeddings", "EmbeddingBagClassifier"]

_BAG_MODES = ("mean", "sum", "max")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class Vocab:
    """A word vocabulary: words in a fixed order, each word's index, and the special tokens.

    Build one with :func:`build_vocab`. Indices follow ``itos``: the special tokens first, then the
    words. Words not in the vocabulary map to ``unk_token``.

    Parameters
    ----------
    itos : sequence of str
        Every token, in index order (no duplicates).
    unk_token : str or None, default "<unk>"
        The token unknown words map to; ``None`` makes :meth:`encode` raise ``KeyError`` for them.
    pad_token : str or None, default "<pad>"
        The padding token, if the vocabulary has one.

    Attributes
    ----------
    itos : list of str
        Index to string.
    stoi : dict
        String to index.
    """

    def __init__(self, itos: Sequence[str], *, unk_token: str | None = "<unk>",
                 pad_token: str | None = "<pad>") -> None:
        if isinstance(itos, str) or not all(isinstance(t, str) for t in itos):
            raise TypeError("itos must be a sequence of str")
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("itos holds the same token twice")
        for name, token in (("unk_token", unk_token), ("pad_token", pad_token)):
            if token is not None and token not in self.stoi:
                raise ValueError(f"{name} {token!r} is not in the vocabulary")
        self.unk_token, self.pad_token = unk_token, pad_token

    @property
    def unk_index(self) -> int | None:
        """Index of the unknown-word token (``None`` without one)."""
        return None if self.unk_token is None else self.stoi[self.unk_token]

    @property
    def pad_index(self) -> int | None:
        """Index of the padding token (``None`` without one)."""
        return None if self.pad_token is None else self.stoi[self.pad_token]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The index of ``token``, or of the unknown-word token."""
        index = self.stoi.get(token)
        if index is None:
            if self.unk_token is None:
                raise KeyError(f"{token!r} is not in the vocabulary, which has no unk_token")
            return self.stoi[self.unk_token]
        return index

    def encode(self, tokens: Iterable[str], max_tokens: int | None = None) -> torch.Tensor:
        """The indices of ``tokens`` as an ``int64`` tensor, cut to the first ``max_tokens``."""
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of str, not one str (split it into tokens first)")
        tokens = list(tokens)
        if max_tokens is not None:
            tokens = tokens[:_positive_int("max_tokens", max_tokens)]
        return torch.tensor([self[t] for t in tokens], dtype=torch.int64)

    def decode(self, indices: Iterable[int]) -> list[str]:
        """The tokens at ``indices`` (a tensor or a list of ints)."""
        if isinstance(indices, torch.Tensor):
            indices = indices.tolist()
        return [self.itos[i] for i in indices]

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:4])
        return f"Vocab({len(self)} tokens: {head}{', ...' if len(self) > 4 else ''})"


def build_vocab(token_lists: Iterable[Iterable[str]] | Mapping[str, int], *, max_size: int | None = None,
                min_freq: int = 1, specials: Sequence[str] = ("<pad>", "<unk>")) -> Vocab:
    """A vocabulary of the most frequent words, after the special tokens.

    Parameters
    ----------
    token_lists : iterable of lists of str, or a mapping word -> count
        The tokenised training documents (never validation or test ones), or their counts.
    max_size : int, optional
        At most this many entries in all, special tokens included.
    min_freq : int, default 1
        Keep only words seen at least this often.
    specials : sequence of str, default ("<pad>", "<unk>")
        Tokens placed first, in this order (``"<pad>"`` gets index 0). ``"<pad>"`` and ``"<unk>"``,
        if present, become the vocabulary's ``pad_token`` and ``unk_token``.

    Returns
    -------
    Vocab
        Words sorted by decreasing count; ties keep the order of first appearance (as
        ``collections.Counter.most_common`` does), so the result is the same run after run.
    """
    if isinstance(token_lists, Mapping):
        counts = Counter(token_lists)
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 0
                   for c in counts.values()):
            raise ValueError("token_lists given as a mapping must map words to non-negative int counts")
    else:
        counts = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("token_lists must hold lists of tokens, got a str (split documents first)")
            counts.update(tokens)
    min_freq = _positive_int("min_freq", min_freq)
    if isinstance(specials, str) or len(set(specials)) != len(specials):
        raise ValueError(f"specials must be a sequence of distinct str, got {specials!r}")
    if max_size is not None and _positive_int("max_size", max_size) < len(specials):
        raise ValueError(f"max_size={max_size} leaves no room for the {len(specials)} special tokens")
    room = None if max_size is None else max_size - len(specials)
    words = [w for w, c in counts.most_common() if c >= min_freq and w not in specials]
    itos = list(specials) + words[:room]
    return Vocab(itos, unk_token="<unk>" if "<unk>" in specials else None,
                 pad_token="<pad>" if "<pad>" in specials else None)


def collate_bags(batch: Sequence[tuple[torch.Tensor, torch.Tensor | int]]):
    """Turn ``[(ids, label), ...]`` into ``((ids, offsets), labels)`` for ``nn.EmbeddingBag``.

    ``ids`` is every document's token ids concatenated into one 1-D tensor; ``offsets[i]`` is where
    document ``i`` starts in it. Use it as a ``DataLoader``'s ``collate_fn``; the
    :class:`~dlbook.train.Trainer` then calls ``model(ids, offsets)``.

    Raises ``ValueError`` for an empty document: a bag with no token has no mean.
    """
    if not batch:
        raise ValueError("batch is empty")
    docs, labels = zip(*batch)
    for i, doc in enumerate(docs):
        if not isinstance(doc, torch.Tensor) or doc.ndim != 1:
            raise TypeError(f"item {i}: the ids must be a 1-D tensor, got {type(doc).__name__}")
        if doc.numel() == 0:
            raise ValueError(f"item {i} is an empty document; drop empty documents before batching")
    lengths = torch.tensor([len(d) for d in docs])
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)[:-1]])
    return (torch.cat(docs), offsets), torch.as_tensor(labels, dtype=torch.int64)


def pretrained_embeddings(vocab: Vocab | Sequence[str], vectors) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``(len(vocab), d)`` matrix holding each word's pretrained vector, rows aligned to ``vocab``.

    Parameters
    ----------
    vocab : Vocab or sequence of str
        The words, in index order.
    vectors : gensim KeyedVectors or mapping word -> vector
        E.g. :func:`dlbook.data.load_glove`. Words are looked up as they are (GloVe is lower-case).

    Returns
    -------
    weights : torch.Tensor
        ``float32``; rows of words without a vector (and of special tokens) are zero.
    found : torch.Tensor
        ``bool`` of shape ``(len(vocab),)``: which rows were filled.
    """
    itos = vocab.itos if isinstance(vocab, Vocab) else list(vocab)
    if hasattr(vectors, "key_to_index") and hasattr(vectors, "vectors"):
        index, table = vectors.key_to_index, np.asarray(vectors.vectors)
        lookup = {w: table[i] for w, i in index.items()}
    elif isinstance(vectors, Mapping):
        lookup = vectors
    else:
        raise TypeError(f"vectors must be gensim KeyedVectors or a dict word -> vector, got {type(vectors).__name__}")
    if not lookup:
        raise ValueError("vectors is empty")
    dim = len(next(iter(lookup.values())))
    weights = torch.zeros(len(itos), dim)
    found = torch.zeros(len(itos), dtype=torch.bool)
    for i, word in enumerate(itos):
        vec = lookup.get(word)
        if vec is not None:
            weights[i] = torch.as_tensor(np.array(vec, dtype=np.float32))
            found[i] = True
    return weights, found


class EmbeddingBagClassifier(nn.Module):
    """Average (or sum, or max) the embeddings of a document's tokens, then a linear layer.

    Parameters
    ----------
    vocab_size : int
        Rows of the embedding table.
    embed_dim : int
        Size of each word vector.
    n_classes : int
        Number of logits.
    mode : {"mean", "sum", "max"}, default "mean"
        How ``nn.EmbeddingBag`` pools a document's vectors.
    weights : torch.Tensor, optional
        A ``(vocab_size, embed_dim)`` matrix to start from (e.g. :func:`pretrained_embeddings`);
        default: ``nn.EmbeddingBag``'s random N(0, 1) initialisation.
    freeze : bool, default False
        Keep the embedding table fixed (only with ``weights``): only the linear layer learns.
    padding_idx : int, optional
        A token id left out of every bag (for padded 2-D input).

    Notes
    -----
    Forward: ``model(ids, offsets)`` with a flat ``ids`` tensor and the start of each document in
    ``offsets`` (as :func:`collate_bags` makes them), or ``model(ids)`` with a 2-D ``(N, L)`` tensor of
    equal-length documents. Returns logits ``(N, n_classes)``.
    """

    def __init__(self, vocab_size: int, embed_dim: int, n_classes: int, *, mode: str = "mean",
                 weights: torch.Tensor | None = None, freeze: bool = False, padding_idx: int | None = None) -> None:
        super().__init__()
        vocab_size = _positive_int("vocab_size", vocab_size)
        embed_dim = _positive_int("embed_dim", embed_dim)
        n_classes = _positive_int("n_classes", n_classes)
        if mode not in _BAG_MODES:
            raise ValueError(f"mode must be one of {_BAG_MODES}, got {mode!r}")
        if padding_idx is not None and not (isinstance(padding_idx, int) and 0 <= padding_idx < vocab_size):
            raise ValueError(f"padding_idx must be an index below vocab_size={vocab_size}, got {padding_idx!r}")
        if weights is None:
            if freeze:
                raise ValueError("freeze=True needs pretrained weights: a frozen random table would never learn")
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode=mode, padding_idx=padding_idx)
        else:
            if not isinstance(weights, torch.Tensor) or tuple(weights.shape) != (vocab_size, embed_dim):
                shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
                raise ValueError(f"weights must be a tensor of shape ({vocab_size}, {embed_dim}), got {shape}")
            self.embedding = nn.EmbeddingBag.from_pretrained(weights.float().clone(), freeze=freeze, mode=mode,
                                                             padding_idx=padding_idx)
        self.linear = nn.Linear(embed_dim, n_classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor | None = None) -> torch.Tensor:
        if ids.ndim == 1 and offsets is None:
            raise ValueError("1-D ids need offsets (where each document starts); or pass a 2-D (N, L) tensor")
        if ids.ndim == 2 and offsets is not None:
            raise ValueError("2-D ids are one document per row: pass them without offsets")
        return self.linear(self.embedding(ids, offsets))
