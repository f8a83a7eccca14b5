"""Tests of dlbook.models.embeddings.vocab_coverage: shares, the OOV list, inputs it accepts and
refuses, and the real GloVe vectors of the bundle."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import bundle_dir

from dlbook.models.embeddings import Coverage, vocab_coverage

BUNDLE = bundle_dir()
needs_bundle = pytest.mark.skipif(BUNDLE is None, reason="no offline data bundle on this machine")

TOKENS = ["the", "cat", "sat", "on", "the", "mat", "the", "snark", "sat", "boojum", "snark"]
KNOWN = {"the", "cat", "sat", "on", "mat"}


def test_shares_and_oov_from_a_token_list():
    cov = vocab_coverage(TOKENS, KNOWN)
    assert isinstance(cov, Coverage)
    assert (cov.n_tokens, cov.n_types) == (11, 7)
    assert cov.token_share == pytest.approx(8 / 11) and cov.type_share == pytest.approx(5 / 7)
    assert cov.oov == Counter({"snark": 2, "boojum": 1})
    assert list(cov.oov) == ["snark", "boojum"]  # most frequent first


def test_counts_mapping_gives_the_same_answer_as_the_token_list():
    assert vocab_coverage(Counter(TOKENS), KNOWN) == vocab_coverage(TOKENS, KNOWN)
    assert vocab_coverage(dict(Counter(TOKENS)), list(KNOWN)) == vocab_coverage(TOKENS, KNOWN)


def test_ignored_words_leave_every_count():
    cov = vocab_coverage(TOKENS + ["[PAD]"] * 5, KNOWN, ignore=("[PAD]", "boojum"))
    assert (cov.n_tokens, cov.n_types) == (10, 6)
    assert cov.oov == Counter({"snark": 2})
    assert vocab_coverage(TOKENS + ["[PAD]"], KNOWN, ignore="[PAD]").n_tokens == 11


def test_full_and_zero_coverage():
    full = vocab_coverage(["the", "cat"], KNOWN)
    assert (full.token_share, full.type_share, full.oov) == (1.0, 1.0, Counter())
    none = vocab_coverage(["snark"], KNOWN)
    assert (none.token_share, none.type_share) == (0.0, 0.0)


def test_keyed_vectors_are_looked_up_by_their_index():
    from gensim.models import KeyedVectors
    import numpy as np

    kv = KeyedVectors(3)
    kv.add_vectors(["the", "cat"], np.zeros((2, 3), dtype=np.float32))
    cov = vocab_coverage(["the", "cat", "dog", "the"], kv)
    assert cov.token_share == pytest.approx(0.75) and cov.oov == Counter({"dog": 1})


@pytest.mark.parametrize("tokens, vectors, error, match", [
    ("the cat", KNOWN, TypeError, "not a str"),
    (["the", 3], KNOWN, TypeError, "strings"),
    (["the"], 42, TypeError, "vectors must be"),
    (["the"], "the", TypeError, "vectors must be"),
    ({"the": -1}, KNOWN, ValueError, "non-negative int"),
    ({"the": 1.5}, KNOWN, ValueError, "non-negative int"),
    ([], KNOWN, ValueError, "no word"),
    (["[PAD]"], KNOWN, ValueError, "no word"),
])
def test_bad_input_is_named(tokens, vectors, error, match):
    kwargs = {"ignore": ["[PAD]"]} if tokens == ["[PAD]"] else {}
    with pytest.raises(error, match=match):
        vocab_coverage(tokens, vectors, **kwargs)


@needs_bundle
def test_the_bundles_glove_covers_common_english():
    from dlbook.data import load_glove

    glove = load_glove(root=BUNDLE, download=False)
    cov = vocab_coverage("alice was beginning to get very tired of sitting by her sister".split()
                         + ["gryphon", "n't"], glove)
    assert cov.oov == Counter({"gryphon": 1})  # rare in news and Wikipedia; "n't" is a GloVe token
    assert cov.n_tokens == 14
