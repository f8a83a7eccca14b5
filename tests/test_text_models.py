"""Tests of dlbook.models.text: the vocabulary, bag batches, pretrained rows and the bag classifier."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from dlbook.models.text import EmbeddingBagClassifier, Vocab, build_vocab, collate_bags, pretrained_embeddings

DOCS = [["the", "cat", "sat"], ["the", "dog", "sat", "down"], ["a", "cat"], ["the", "end"]]


def test_vocab_orders_by_count_then_first_appearance():
    vocab = build_vocab(DOCS)
    assert vocab.itos == ["<pad>", "<unk>", "the", "cat", "sat", "dog", "down", "a", "end"]
    assert (vocab.pad_index, vocab.unk_index) == (0, 1)
    counts = Counter(t for d in DOCS for t in d)
    assert vocab.itos[2:] == [w for w, _ in counts.most_common()]
    assert build_vocab(counts).itos == vocab.itos          # counts give the same vocabulary
    assert build_vocab(DOCS).itos == vocab.itos            # and so does a second run


def test_max_size_min_freq_and_specials():
    assert build_vocab(DOCS, min_freq=2).itos == ["<pad>", "<unk>", "the", "cat", "sat"]
    assert build_vocab(DOCS, max_size=4).itos == ["<pad>", "<unk>", "the", "cat"]
    plain = build_vocab(DOCS, specials=())
    assert plain.itos[0] == "the" and plain.unk_index is None and plain.pad_index is None
    with pytest.raises(KeyError, match="no unk_token"):
        plain.encode(["zebra"])


def test_encode_maps_unknown_words_and_truncates():
    vocab = build_vocab(DOCS)
    ids = vocab.encode(["the", "zebra", "cat", "sat"], max_tokens=3)
    assert ids.dtype == torch.int64 and ids.tolist() == [2, 1, 3]
    assert vocab.decode(ids) == ["the", "<unk>", "cat"]
    assert "cat" in vocab and "zebra" not in vocab and len(vocab) == 9


@pytest.mark.parametrize("call, error, match", [
    (lambda: build_vocab(["the cat"]), TypeError, "got a str"),
    (lambda: build_vocab(DOCS, min_freq=0), ValueError, "min_freq"),
    (lambda: build_vocab(DOCS, max_size=1), ValueError, "no room"),
    (lambda: build_vocab({"the": -1}), ValueError, "non-negative int"),
    (lambda: build_vocab(DOCS, specials=("<pad>", "<pad>")), ValueError, "distinct"),
    (lambda: build_vocab(DOCS).encode("the cat"), TypeError, "not one str"),
    (lambda: Vocab(["a", "a"]), ValueError, "twice"),
    (lambda: Vocab(["a", "b"]), ValueError, "unk_token"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_collate_bags_concatenates_and_marks_the_starts():
    batch = [(torch.tensor([5, 6, 7]), 0), (torch.tensor([8]), 2), (torch.tensor([9, 10]), 1)]
    (ids, offsets), labels = collate_bags(batch)
    assert ids.tolist() == [5, 6, 7, 8, 9, 10]
    assert offsets.tolist() == [0, 3, 4] and offsets.dtype == torch.int64
    assert labels.tolist() == [0, 2, 1] and labels.dtype == torch.int64
    with pytest.raises(ValueError, match="empty document"):
        collate_bags([(torch.tensor([1]), 0), (torch.tensor([], dtype=torch.int64), 1)])
    with pytest.raises(ValueError, match="empty"):
        collate_bags([])


def test_bag_mean_equals_the_masked_mean_of_padded_embeddings():
    torch.manual_seed(0)
    model = EmbeddingBagClassifier(12, 4, 3)
    docs = [torch.tensor([2, 3, 4]), torch.tensor([5]), torch.tensor([6, 7])]
    (ids, offsets), _ = collate_bags([(d, 0) for d in docs])
    pooled = model.embedding(ids, offsets)
    expected = torch.stack([model.embedding.weight[d].mean(0) for d in docs])
    torch.testing.assert_close(pooled, expected)
    # The same documents padded with index 0: padding_idx leaves the pads out of the mean.
    padded = nn.utils.rnn.pad_sequence(docs, batch_first=True)
    twin = EmbeddingBagClassifier(12, 4, 3, weights=model.embedding.weight.detach(), padding_idx=0)
    torch.testing.assert_close(twin.embedding(padded), expected)


def test_frozen_pretrained_table_stays_fixed_and_the_model_learns():
    torch.manual_seed(0)
    weights = torch.randn(20, 5)
    docs = [(torch.randint(2, 20, (int(n),)), int(n) % 2) for n in torch.randint(1, 8, (64,))]
    loader = DataLoader(docs, batch_size=16, collate_fn=collate_bags)
    for freeze in (True, False):
        model = EmbeddingBagClassifier(20, 5, 2, weights=weights, freeze=freeze)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
        losses = []
        for _ in range(30):
            for (ids, offsets), y in loader:
                loss = nn.functional.cross_entropy(model(ids, offsets), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        assert np.mean(losses[-4:]) < np.mean(losses[:4])
        assert torch.equal(model.embedding.weight, weights) == freeze


def test_classifier_refuses_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        EmbeddingBagClassifier(10, 4, 2, mode="median")
    with pytest.raises(ValueError, match="freeze=True needs"):
        EmbeddingBagClassifier(10, 4, 2, freeze=True)
    with pytest.raises(ValueError, match="shape"):
        EmbeddingBagClassifier(10, 4, 2, weights=torch.zeros(10, 3))
    with pytest.raises(ValueError, match="vocab_size"):
        EmbeddingBagClassifier(0, 4, 2)
    model = EmbeddingBagClassifier(10, 4, 2)
    with pytest.raises(ValueError, match="need offsets"):
        model(torch.tensor([1, 2]))
    assert model(torch.tensor([[1, 2], [3, 4]])).shape == (2, 2)


def test_pretrained_rows_follow_the_vocabulary():
    from gensim.models import KeyedVectors

    kv = KeyedVectors(3)
    kv.add_vectors(["cat", "the"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    vocab = build_vocab(DOCS)
    weights, found = pretrained_embeddings(vocab, kv)
    assert weights.shape == (len(vocab), 3) and weights.dtype == torch.float32
    assert found.tolist() == [w in ("the", "cat") for w in vocab.itos]
    assert weights[vocab["the"]].tolist() == [4, 5, 6] and weights[vocab["cat"]].tolist() == [1, 2, 3]
    assert weights[~found].abs().sum() == 0
    same, _ = pretrained_embeddings(vocab.itos, {"the": [4, 5, 6], "cat": [1, 2, 3]})
    assert torch.equal(same, weights)
    with pytest.raises(TypeError, match="KeyedVectors"):
        pretrained_embeddings(vocab, [1, 2])
