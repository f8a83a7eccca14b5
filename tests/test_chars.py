"""Character vocabularies and the training pairs of the character-level language models."""

import pytest
import torch

from dlbook.data import CharVocab, make_bigram_pairs, make_context_windows, split_words

WORDS = ["emma", "olivia", "ava"]


def test_vocab_numbers_sorted_characters_after_the_boundary():
    vocab = CharVocab.from_words(WORDS)
    assert vocab.itos == [".", "a", "e", "i", "l", "m", "o", "v"] and len(vocab) == 8
    assert vocab.stoi["."] == 0 and vocab.decode(vocab.encode("olivia")) == "olivia"
    assert vocab.decode(torch.tensor([1, 7, 1])) == "ava"
    text_vocab = CharVocab.from_text("To be,\nor not")
    assert text_vocab.boundary is None and text_vocab.itos[0] == "\n"


@pytest.mark.parametrize("make", [
    lambda: CharVocab([]), lambda: CharVocab(["ab"]), lambda: CharVocab("ab", boundary="a"),
    lambda: CharVocab("ab", boundary=".."),
])
def test_vocab_bad_input(make):
    with pytest.raises(ValueError):
        make()


def test_encode_and_decode_refuse_what_they_cannot_map():
    vocab = CharVocab.from_words(WORDS)
    with pytest.raises(ValueError, match="'z'"):
        vocab.encode("zoe")
    with pytest.raises(ValueError, match="outside"):
        vocab.decode([0, 8])


def test_bigram_pairs_wrap_each_word_in_boundaries():
    vocab = CharVocab.from_words(WORDS)
    xs, ys = make_bigram_pairs(["emma"], vocab)
    pairs = [vocab.itos[x] + vocab.itos[y] for x, y in zip(xs.tolist(), ys.tolist())]
    assert pairs == [".e", "em", "mm", "ma", "a."]
    xs, ys = make_bigram_pairs(WORDS, vocab)
    assert len(xs) == sum(len(w) + 1 for w in WORDS) and xs.dtype == torch.int64
    assert int((xs == 0).sum()) == int((ys == 0).sum()) == len(WORDS)


def test_context_windows_slide_over_each_word():
    vocab = CharVocab.from_words(WORDS)
    X, Y = make_context_windows(["emma"], vocab, block_size=3)
    rows = [vocab.decode(x) + "->" + vocab.itos[y] for x, y in zip(X, Y.tolist())]
    assert rows == ["...->e", "..e->m", ".em->m", "emm->a", "mma->."]
    X, Y = make_context_windows(WORDS, vocab, block_size=5)
    assert X.shape == (sum(len(w) + 1 for w in WORDS), 5) and Y.shape == (X.shape[0],)
    # The context of every example is the previous block_size targets (within the word).
    X1, Y1 = make_context_windows(WORDS, vocab, block_size=1)
    assert torch.equal(X1[:, 0], make_bigram_pairs(WORDS, vocab)[0])


def test_pairs_need_a_boundary_and_a_list():
    text_vocab = CharVocab.from_text("abc")
    with pytest.raises(ValueError):
        make_bigram_pairs(["abc"], text_vocab)
    with pytest.raises(TypeError):
        make_context_windows("emma", CharVocab.from_words(WORDS))
    with pytest.raises(ValueError):
        make_context_windows(WORDS, CharVocab.from_words(WORDS), block_size=0)


def test_split_words_is_a_seeded_partition():
    words = [f"w{i}" for i in range(1000)]
    train, val, test = split_words(words, seed=1)
    assert (len(train), len(val), len(test)) == (800, 100, 100)
    assert sorted(train + val + test) == sorted(words)
    assert split_words(words, seed=1) == (train, val, test)
    assert split_words(words, seed=2)[0] != train
    with pytest.raises(ValueError):
        split_words(words, (0.8, 0.3, 0.1))
