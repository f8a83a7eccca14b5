"""The bigram table: counts, add-k probabilities, scoring and sampling."""

import math

import pytest
import torch

from dlbook.data import CharVocab, make_bigram_pairs
from dlbook.models.ngram import average_nll, bigram_counts, bigram_probabilities, sample_words

WORDS = ["emma", "olivia", "ava", "anna"]


@pytest.fixture
def vocab():
    return CharVocab.from_words(WORDS)


def test_counts_match_a_hand_count(vocab):
    N = bigram_counts(WORDS, vocab)
    assert N.shape == (len(vocab), len(vocab)) and N.dtype == torch.int64
    hand = torch.zeros_like(N)
    for w in WORDS:
        ids = [0] + vocab.encode(w) + [0]
        for a, b in zip(ids, ids[1:]):
            hand[a, b] += 1
    assert torch.equal(N, hand)
    assert int(N.sum()) == sum(len(w) + 1 for w in WORDS)
    assert int(N[0].sum()) == int(N[:, 0].sum()) == len(WORDS)   # starts and ends
    s = vocab.stoi
    assert int(N[s["a"], 0]) == 4 and int(N[s["n"], s["n"]]) == 1


def test_probabilities_rows_sum_to_one_and_smoothing_flattens(vocab):
    N = bigram_counts(WORDS, vocab)
    with pytest.raises(ValueError, match="all zero"):
        bigram_probabilities(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="2-D"):
        bigram_probabilities(torch.ones(27))
    trigram = bigram_probabilities(torch.ones(9, 3), k=0.5)     # more contexts than tokens
    assert trigram.shape == (9, 3) and torch.allclose(trigram, torch.full((9, 3), 1 / 3))
    P0 = bigram_probabilities(N, k=1.0)
    torch.testing.assert_close(P0.sum(1), torch.ones(len(vocab)))
    assert bool((P0 > 0).all())
    big = bigram_probabilities(N, k=1e9)
    torch.testing.assert_close(big, torch.full_like(big, 1 / len(vocab)))
    # maximum likelihood: exactly the counts' shares
    Pml = bigram_probabilities(N)
    torch.testing.assert_close(Pml[0], N[0].float() / len(WORDS))


@pytest.mark.parametrize("bad", [-1, float("nan"), "1", True])
def test_probabilities_refuse_a_bad_k(vocab, bad):
    with pytest.raises(ValueError, match="k must"):
        bigram_probabilities(bigram_counts(WORDS, vocab), k=bad)


def test_average_nll_uniform_and_unseen(vocab):
    xs, ys = make_bigram_pairs(WORDS, vocab)
    V = len(vocab)
    assert average_nll(torch.full((V, V), 1 / V), xs, ys) == pytest.approx(math.log(V))
    Pml = bigram_probabilities(bigram_counts(WORDS, vocab))
    assert math.isinf(average_nll(Pml, *make_bigram_pairs(["eve"], vocab)))  # "ev" unseen
    # the counting model is the maximum-likelihood table: smoothing can only raise the loss
    assert average_nll(Pml, xs, ys) < average_nll(bigram_probabilities(
        bigram_counts(WORDS, vocab), k=0.5), xs, ys)


def test_sampling_is_reproducible_and_follows_the_table(vocab):
    P = bigram_probabilities(bigram_counts(WORDS, vocab))
    a = sample_words(P, vocab, 20, generator=torch.Generator().manual_seed(3))
    b = sample_words(P, vocab, 20, generator=torch.Generator().manual_seed(3))
    assert a == b and len(a) == 20
    seen = {(x, y) for w in WORDS for x, y in zip("." + w, w + ".")}
    for w in a:                                         # only bigrams of the table occur
        assert all((x, y) in seen for x, y in zip("." + w, w + "."))
    capped = sample_words(bigram_probabilities(torch.ones(len(vocab), len(vocab))), vocab, 5,
                          generator=torch.Generator().manual_seed(0), max_len=3)
    assert all(len(w) <= 3 for w in capped)


def test_bad_arguments(vocab):
    P = bigram_probabilities(bigram_counts(WORDS, vocab), k=1.0)
    with pytest.raises(ValueError, match="n must"):
        sample_words(P, vocab, 0)
    with pytest.raises(ValueError, match="shape"):
        sample_words(P[:3, :3], vocab, 1)
    with pytest.raises(TypeError, match="CharVocab"):
        bigram_counts(WORDS, {"a": 1})
    with pytest.raises(ValueError, match="same length"):
        average_nll(P, torch.tensor([0, 1]), torch.tensor([1]))
