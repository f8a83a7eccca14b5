"""The fixed split of the UCI sentiment sentences, the word-level tokenizer, padding and length buckets."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from conftest import bundle_dir
from torch.utils.data import DataLoader, TensorDataset

from dlbook.data import UCI_SOURCES, load_uci_sentiment
from dlbook.data.sentiment import (PAD_ID, UNK_ID, LengthBucketSampler, SentimentSplits, encode_padded,
                                   sentiment_splits, train_word_tokenizer, trim_padding)

BUNDLE = bundle_dir()
needs_bundle = pytest.mark.skipif(BUNDLE is None, reason="no offline data bundle on this machine")


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


@pytest.fixture(scope="module")
def splits() -> SentimentSplits:
    return sentiment_splits(root=BUNDLE, download=False)


@needs_bundle
def test_sizes_types_and_stratification(splits):
    assert [len(p.sentences) for p in splits] == [2100, 300, 600]
    for part, per_group in zip(splits, (350, 50, 100)):
        assert len(part.labels) == len(part.sources) == len(part.index) == len(part.sentences)
        assert part.labels.dtype == torch.int64 and part.index.dtype == torch.int64
        assert set(part.labels.tolist()) == {0, 1}
        groups = Counter(zip(part.sources, part.labels.tolist()))
        assert groups == {(s, y): per_group for s in UCI_SOURCES for y in (0, 1)}


@needs_bundle
def test_splits_are_disjoint_cover_everything_and_match_the_loader(splits):
    sentences, labels = load_uci_sentiment(root=BUNDLE, download=False)
    indices = [set(p.index.tolist()) for p in splits]
    assert not (indices[0] & indices[1] or indices[0] & indices[2] or indices[1] & indices[2])
    assert set().union(*indices) == set(range(3000))
    site_of = [s for s in UCI_SOURCES for _ in range(1000)]
    for part in splits:
        for i, sentence, label, source in zip(part.index.tolist(), part.sentences, part.labels.tolist(),
                                              part.sources):
            assert sentences[i] == sentence and int(labels[i]) == label and site_of[i] == source


@needs_bundle
def test_copies_of_a_sentence_share_a_split(splits):
    keys = [{_key(s) for s in p.sentences} for p in splits]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    # the data do contain repeated sentences, so the test is not vacuous
    counts = Counter(_key(s) for p in splits for s in p.sentences)
    assert sum(n > 1 for n in counts.values()) >= 10


@needs_bundle
def test_the_split_is_deterministic_and_depends_on_the_seed(splits):
    again = sentiment_splits(root=BUNDLE, download=False)
    for a, b in zip(splits, again):
        assert a.sentences == b.sentences and torch.equal(a.labels, b.labels) and torch.equal(a.index, b.index)
    other = sentiment_splits(1, root=BUNDLE, download=False)
    assert set(other.test.index.tolist()) != set(splits.test.index.tolist())
    # the order within a split is shuffled too, not grouped by site
    assert splits.train.sources[:30] != sorted(splits.train.sources[:30])


@needs_bundle
def test_other_fractions():
    parts = sentiment_splits(3, (0.8, 0.1, 0.1), root=BUNDLE, download=False)
    assert [len(p.sentences) for p in parts] == [2400, 300, 300]


@pytest.mark.parametrize("kwargs, error", [
    (dict(seed="0"), TypeError), (dict(seed=1.5), TypeError), (dict(seed=True), TypeError),
    (dict(seed=-1), ValueError), (dict(fractions=(0.5, 0.5)), ValueError),
    (dict(fractions=(0.7, 0.2, 0.2)), ValueError), (dict(fractions=(0.9, 0.1, 0.0)), ValueError),
    (dict(fractions="abc"), ValueError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        sentiment_splits(**kwargs, root=BUNDLE, download=False)


TEXTS = ["Great phone, great price!", "Not great.", "The price is bad.", "bad bad PHONE"]


def test_tokenizer_ids_specials_order_and_unknown_words():
    tok = train_word_tokenizer(TEXTS)
    vocab = tok.get_vocab()
    assert vocab["[PAD]"] == PAD_ID == 0 and vocab["[UNK]"] == UNK_ID == 1
    # counts: great 3, bad 3, phone 2, price 2, . 2; the rest once. Ties alphabetical.
    words = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])[2:]]
    assert words == ["bad", "great", ".", "phone", "price"]
    enc = tok.encode("GREAT phones!")
    assert enc.tokens == ["great", "[UNK]", "[UNK]"] and enc.ids == [vocab["great"], 1, 1]
    every = train_word_tokenizer(TEXTS, min_frequency=1)
    assert "phone" in every.get_vocab() and "not" in every.get_vocab() and every.get_vocab_size() == 12
    assert train_word_tokenizer(TEXTS).get_vocab() == vocab


@pytest.mark.parametrize("texts, min_frequency, error", [
    ("a string", 2, TypeError), ([], 2, TypeError), (["ok", 3], 2, TypeError),
    (TEXTS, 0, ValueError), (TEXTS, 1.5, ValueError),
])
def test_tokenizer_bad_arguments(texts, min_frequency, error):
    with pytest.raises(error):
        train_word_tokenizer(texts, min_frequency)


def test_encode_padded_pads_at_the_end_and_truncates():
    tok = train_word_tokenizer(TEXTS)
    ids, lengths = encode_padded(tok, ["great", "bad phone price .", "zzz"])
    assert ids.dtype == lengths.dtype == torch.int64
    assert ids.shape == (3, 4) and lengths.tolist() == [1, 4, 1]
    assert (ids[0, 1:] == PAD_ID).all() and ids[2, 0] == UNK_ID and (ids[1] != PAD_ID).all()
    cut, cut_lengths = encode_padded(tok, ["bad phone price ."], max_length=2)
    assert cut.shape == (1, 2) and cut_lengths.tolist() == [2]
    with pytest.raises(ValueError):
        encode_padded(tok, ["x"], max_length=0)
    with pytest.raises(TypeError):
        encode_padded(tok, "great")


def test_trim_padding_cuts_each_batch_to_its_longest_row():
    ids = torch.tensor([[5, 6, 0, 0, 0], [7, 0, 0, 0, 0], [8, 9, 4, 0, 0]])
    loader = DataLoader(TensorDataset(ids, torch.tensor([0, 1, 0])), batch_size=2, collate_fn=trim_padding)
    shapes = [tuple(x.shape) for x, _ in loader]
    assert shapes == [(2, 2), (1, 3)]
    x, y = trim_padding([(torch.zeros(4, dtype=torch.long), torch.tensor(1))])
    assert x.shape == (1, 1) and y.tolist() == [1]


def test_length_buckets_cover_every_index_once_with_similar_lengths():
    lengths = torch.randint(1, 60, (1000,), generator=torch.Generator().manual_seed(0))
    sampler = LengthBucketSampler(lengths, 32, generator=torch.Generator().manual_seed(1))
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000)) and all(1 <= len(b) <= 32 for b in batches)
    spread = sum(int(lengths[b].max() - lengths[b].min()) for b in batches) / len(batches)
    assert spread < 10            # random batches of 32 would span most of 1..59
    assert batches != list(sampler)  # a new order every epoch
    again = list(LengthBucketSampler(lengths, 32, generator=torch.Generator().manual_seed(1)))
    assert again == batches       # repeatable with the same generator
    assert len(LengthBucketSampler(lengths[:50], 16, bucket_size=20)) == 5   # 20 + 20 + 10 -> 2 + 2 + 1


@pytest.mark.parametrize("kwargs, error", [
    (dict(lengths=[], batch_size=4), ValueError), (dict(lengths=[1.0, 2.0], batch_size=4), ValueError),
    (dict(lengths=[1, 2], batch_size=0), ValueError), (dict(lengths=[1, 2], batch_size=4, bucket_size=2), ValueError),
    (dict(lengths=[1, 2], batch_size=1, generator=0), TypeError),
])
def test_length_buckets_bad_arguments(kwargs, error):
    with pytest.raises(error):
        LengthBucketSampler(**kwargs)
