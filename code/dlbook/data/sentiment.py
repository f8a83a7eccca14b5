"""The UCI sentiment sentences as a fixed training/validation/test split, and the plumbing that turns
them into padded batches of word ids.

The chapter *MLPs, 1-D CNNs and LSTMs for text* introduces all of it, and *Contextual embeddings
and BERT* fine-tunes MiniLM on the same split so that the two chapters' numbers can be compared::

    from dlbook.data.sentiment import sentiment_splits, train_word_tokenizer, encode_padded

    train, val, test = sentiment_splits()                 # 2,100 / 300 / 600 sentences
    tokenizer = train_word_tokenizer(train.sentences)     # words seen twice in training, [PAD]=0, [UNK]=1
    ids, lengths = encode_padded(tokenizer, train.sentences)   # int64 (2100, L), (2100,)

For training, :class:`LengthBucketSampler` groups sentences of similar length into a batch and
:func:`trim_padding` cuts each batch to its longest sentence, so a recurrent or convolutional model
does not spend its time on padding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .synthetic import _rng

if TYPE_CHECKING:
    import torch

__all__ = ["SentimentSplit", "SentimentSplits", "sentiment_splits", "WORD_SPECIAL_TOKENS", "PAD_ID", "UNK_ID",
           "train_word_tokenizer", "encode_padded", "trim_padding", "LengthBucketSampler"]

#: The special tokens of :func:`train_word_tokenizer`, in the order of their ids.
WORD_SPECIAL_TOKENS = ("[PAD]", "[UNK]")
#: Id of the padding token ``[PAD]``.
PAD_ID = 0
#: Id of the unknown-word token ``[UNK]``.
UNK_ID = 1


class SentimentSplit(NamedTuple):
    """One part of :func:`sentiment_splits`.

    Attributes
    ----------
    sentences : list of str
        The sentences, as :func:`dlbook.data.load_uci_sentiment` returns them, in a shuffled order.
    labels : torch.Tensor
        ``int64`` of shape ``(n,)``: 0 negative, 1 positive.
    sources : list of str
        The site of each sentence: ``"amazon"``, ``"imdb"`` or ``"yelp"``.
    index : torch.Tensor
        ``int64`` of shape ``(n,)``: each sentence's position in ``load_uci_sentiment("all")``.
    """

    sentences: list[str]
    labels: torch.Tensor
    sources: list[str]
    index: torch.Tensor


class SentimentSplits(NamedTuple):
    """What :func:`sentiment_splits` returns: three disjoint :class:`SentimentSplit`."""

    train: SentimentSplit
    val: SentimentSplit
    test: SentimentSplit


def _normalise(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _check_fractions(fractions) -> tuple[float, float, float]:
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence) or len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers (train, val, test), got {fractions!r}")
    if any(isinstance(f, bool) or not isinstance(f, (int, float, np.floating)) or not f > 0 for f in fractions) \
            or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions!r}")
    return tuple(float(f) for f in fractions)


def sentiment_splits(seed: int = 0, fractions: tuple[float, float, float] = (0.7, 0.1, 0.2), *,
                     root: str | os.PathLike | None = None, download: bool | None = None) -> SentimentSplits:
    """The 3,000 UCI sentiment sentences split into training, validation and test sets.

    The split is stratified by site and label: each of the six groups (Amazon, IMDb, Yelp times
    negative, positive) of 500 sentences is cut in the proportions ``fractions``, so with the
    defaults every split holds the three sites and the two labels in equal shares (350, 50 and
    100 sentences of each group). Sentences that occur more than once (ignoring case and spacing,
    such as "Great phone." four times) always land in the same split, so no test sentence is also
    a training sentence.

    Parameters
    ----------
    seed : int, default 0
        Seed of the shuffle; the same seed always gives the same split.
    fractions : (float, float, float), default (0.7, 0.1, 0.2)
        Shares of the training, validation and test sets: positive, summing to 1. The validation
        and test sizes of each group are rounded to the nearest integer; training takes the rest.
    root, download
        As in :func:`dlbook.data.load_uci_sentiment`.

    Returns
    -------
    SentimentSplits
        ``(train, val, test)``, each a :class:`SentimentSplit` (sentences, labels, sources, index)
        in a shuffled order.

    Raises
    ------
    TypeError
        If ``seed`` is not an int.
    ValueError
        If ``seed`` is negative or ``fractions`` is not three positive numbers summing to 1.
    """
    import torch

    from .text import UCI_SOURCES, load_uci_sentiment

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    fractions = _check_fractions(fractions)
    rng = _rng(int(seed))

    sentences, labels, sources = [], [], []
    for source in UCI_SOURCES:
        s, y = load_uci_sentiment(source, root=root, download=download)
        sentences += s
        labels += y.tolist()
        sources += [source] * len(s)

    assigned: dict[str, int] = {}          # normalised sentence -> split (0 train, 1 val, 2 test)
    parts: list[list[int]] = [[], [], []]
    for source in UCI_SOURCES:
        for label in (0, 1):
            members = [i for i in range(len(sentences)) if sources[i] == source and labels[i] == label]
            groups: dict[str, list[int]] = {}
            for i in members:
                groups.setdefault(_normalise(sentences[i]), []).append(i)
            n = len(members)
            wanted = [0, round(fractions[1] * n), round(fractions[2] * n)]
            wanted[0] = n - wanted[1] - wanted[2]
            free = []
            for key, idx in groups.items():
                if key in assigned:        # a copy went to a split with an earlier group
                    parts[assigned[key]] += idx
                    wanted[assigned[key]] -= len(idx)
                else:
                    free.append(key)
            for k in rng.permutation(len(free)):
                key = free[k]
                size = len(groups[key])
                # fill test, then validation, with groups that fit; training takes the rest
                target = next((s for s in (2, 1) if 0 < size <= wanted[s]), 0)
                parts[target] += groups[key]
                wanted[target] -= size
                assigned[key] = target

    def make(idx: list[int]) -> SentimentSplit:
        idx = [idx[k] for k in rng.permutation(len(idx))]
        return SentimentSplit([sentences[i] for i in idx], torch.tensor([labels[i] for i in idx], dtype=torch.int64),
                              [sources[i] for i in idx], torch.tensor(idx, dtype=torch.int64))

    return SentimentSplits(*(make(p) for p in parts))


def train_word_tokenizer(texts: Sequence[str], min_frequency: int = 2, *, lowercase: bool = True):
    """A word-level tokenizer whose vocabulary is every word seen ``min_frequency`` times in ``texts``.

    The pipeline is that of BERT's uncased tokenizer without the subwords: the normaliser
    lower-cases and strips accents, the pre-tokenizer splits at white space and punctuation (so
    "don't!" becomes ``don``, ``'``, ``t``, ``!``), and every word becomes one id. Ids 0 and 1 are
    ``[PAD]`` and ``[UNK]``; the words follow by decreasing count (ties alphabetically), so the
    same texts always give the same ids. Words outside the vocabulary become ``[UNK]``.

    Parameters
    ----------
    texts : sequence of str
        The training texts (never the validation or test texts: their words must not decide the
        vocabulary).
    min_frequency : int, default 2
        Words seen fewer times are left out. With 2, the words seen once in training become
        ``[UNK]`` and so teach the model an embedding for unknown words, which it then uses on
        new texts.
    lowercase : bool, default True

    Returns
    -------
    tokenizers.Tokenizer
        Call ``tokenizer.encode(text).ids`` or ``tokenizer.encode_batch(texts)``; see also
        :func:`encode_padded`.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts \
            or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a non-empty sequence of str (a list of sentences)")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
        raise ValueError(f"min_frequency must be a positive int, got {min_frequency!r}")
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordLevelTrainer(min_frequency=min_frequency, special_tokens=list(WORD_SPECIAL_TOKENS),
                                        show_progress=False)
    tokenizer.train_from_iterator(list(texts), trainer)
    return tokenizer


def encode_padded(tokenizer, texts: Sequence[str], *, max_length: int | None = None):
    """Token ids of ``texts``, padded with ``[PAD]`` at the end to a common length.

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
        For instance from :func:`train_word_tokenizer`; it must know ``[PAD]``.
    texts : sequence of str
    max_length : int, optional
        Cut longer texts to their first ``max_length`` tokens. By default nothing is cut.

    Returns
    -------
    ids : torch.Tensor
        ``int64`` of shape ``(len(texts), L)``, ``L`` the longest (kept) length; padding at the end.
    lengths : torch.Tensor
        ``int64`` of shape ``(len(texts),)``: the number of real tokens of each text.
    """
    import torch

    if isinstance(texts, str) or not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a sequence of str (a list of sentences)")
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or max_length < 1):
        raise ValueError(f"max_length must be a positive int or None, got {max_length!r}")
    pad_id = tokenizer.token_to_id("[PAD]")
    if pad_id is None:
        raise ValueError("the tokenizer has no [PAD] token")
    rows = [e.ids[:max_length] for e in tokenizer.encode_batch(list(texts))]
    width = max((len(r) for r in rows), default=0)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.int64)
    return ids, torch.tensor([len(r) for r in rows], dtype=torch.int64)


def trim_padding(batch, pad_id: int = PAD_ID):
    """A ``collate_fn`` for a ``DataLoader`` over ``TensorDataset(ids, labels)`` padded at the end:
    stack the examples, then drop the columns that are padding in every row of the batch.

    Returns
    -------
    (ids, labels)
        ``ids`` of shape ``(B, l)`` with ``l`` the longest sentence of the batch (at least 1).
    """
    from torch.utils.data import default_collate

    ids, labels = default_collate(batch)
    if ids.ndim != 2:
        raise ValueError(f"trim_padding expects examples (ids, label) with 1-D ids, got ids of shape "
                         f"{tuple(ids.shape[1:])}")
    longest = int((ids != pad_id).sum(dim=1).max()) if ids.numel() else 0
    return ids[:, :max(longest, 1)], labels


class LengthBucketSampler:
    """Batches of indices whose examples have similar lengths, in a random order every epoch.

    Each epoch the indices are shuffled, cut into buckets of ``bucket_size`` examples, each
    bucket is sorted by length and cut into batches, and the batches are shuffled. A batch then
    holds sentences of similar length, so little of it is padding, while which sentences meet in
    a batch still changes from epoch to epoch. Pass it to a ``DataLoader`` as ``batch_sampler``.

    Parameters
    ----------
    lengths : sequence of int or 1-D tensor
        The length of every example.
    batch_size : int
    bucket_size : int, optional
        Examples sorted together; default ``20 * batch_size``.
    generator : torch.Generator, optional
        Source of the shuffles (for repeatable epochs).
    """

    def __init__(self, lengths, batch_size: int, *, bucket_size: int | None = None, generator=None) -> None:
        import torch

        lengths = torch.as_tensor(lengths)
        if lengths.ndim != 1 or lengths.numel() == 0 or lengths.is_floating_point():
            raise ValueError("lengths must be a non-empty 1-D sequence of ints")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        bucket_size = 20 * batch_size if bucket_size is None else bucket_size
        if isinstance(bucket_size, bool) or not isinstance(bucket_size, int) or bucket_size < batch_size:
            raise ValueError(f"bucket_size must be an int >= batch_size, got {bucket_size!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        self.lengths, self.batch_size, self.bucket_size, self.generator = lengths, batch_size, bucket_size, generator

    def __len__(self) -> int:
        n = len(self.lengths)
        full, rest = divmod(n, self.bucket_size)
        return full * -(-self.bucket_size // self.batch_size) + -(-rest // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        import torch

        order = torch.randperm(len(self.lengths), generator=self.generator)
        batches = []
        for start in range(0, len(order), self.bucket_size):
            bucket = order[start:start + self.bucket_size]
            bucket = bucket[torch.argsort(self.lengths[bucket], stable=True)]
            batches += [bucket[i:i + self.batch_size].tolist() for i in range(0, len(bucket), self.batch_size)]
        for k in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[k]
